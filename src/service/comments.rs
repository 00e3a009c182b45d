//! Comments (SPEC §5, exchange of experience): replies from the fediverse land here
//! from `federation::receive` (pending unless the sender's domain is trusted); editors
//! moderate them and answer with a `Note` that mentions the author, so Mastodon
//! notifies them.

use chrono::Utc;
use url::Url;
use uuid::Uuid;

use crate::activitypub::activities::{Create, ObjectRef};
use crate::db;
use crate::db::actors::ActorRecord;
use crate::db::comments::{Comment, CommentState, NewComment};
use crate::db::deliveries::Audience;
use crate::domain::{Action, Collectivite, SafeHtml};
use crate::error::{AppError, AppResult, FieldError};
use crate::federation::activities::{activity_id, public, queued};
use crate::federation::objects::comment::{ReplyJson, comment_to_as};
use crate::state::AppState;

/// Longest comment kept, in characters of HTML.
pub const MAX_COMMENT_CHARS: usize = 20_000;

/// The local action a reply is about: the action itself, or the action of the
/// comment it answers. `None` when it answers something that is not ours.
pub async fn reply_target(state: &AppState, in_reply_to: &Url) -> AppResult<Option<Action>> {
    if let Some(action) = state.store.action_by_ap_id(in_reply_to).await? {
        return Ok(action.owner.local.then_some(action));
    }
    if let Some(comment) = state.store.comment_by_ap_id(in_reply_to).await? {
        let action = state.store.action_by_ap_id(&comment.action_ap_id).await?;
        return Ok(action.filter(|a| a.owner.local));
    }
    Ok(None)
}

/// Seconds a sender over a moderation cap is asked to wait (`Retry-After`).
pub const OVER_CAP_RETRY_AFTER: u64 = 3600;

/// Refuses a new comment that would wait for moderation while its author, or its
/// author's domain, already has `[moderation]`'s cap of pending comments: a sender
/// cannot bury the queue. Logged; the inbox answers `429` with `Retry-After`.
async fn check_pending_caps(state: &AppState, author: &ActorRecord) -> AppResult<()> {
    let settings = &state.settings.moderation;
    let (mine, domain) = state
        .store
        .pending_comments_from(author.id, &author.domain)
        .await?;
    let over = |count: i64, cap: u32| cap > 0 && count >= i64::from(cap);
    let reason = if over(mine, settings.max_pending_per_actor) {
        format!(
            "{} a déjà {} en attente de modération",
            author.ap_id,
            crate::domain::french::count(mine, "commentaire", "commentaires")
        )
    } else if over(domain, settings.max_pending_per_domain) {
        format!(
            "{} a déjà {} en attente de modération",
            author.domain,
            crate::domain::french::count(domain, "commentaire", "commentaires")
        )
    } else {
        return Ok(());
    };
    tracing::warn!(author = %author.ap_id, reason, "comment refused: moderation cap reached");
    Err(AppError::RateLimited {
        message: format!("{reason} : réessayez plus tard"),
        retry_after: OVER_CAP_RETRY_AFTER,
    })
}

/// Stores an inbound reply from `author` to a local action (or a comment on it).
/// Returns false when nothing changed (an older version, another author's id).
///
/// # Errors
/// [`AppError::RateLimited`] for a new comment over a moderation cap
/// ([`check_pending_caps`]).
pub async fn receive_reply(
    state: &AppState,
    reply: &ReplyJson,
    author: &ActorRecord,
    action: &Action,
) -> AppResult<bool> {
    let trusted =
        crate::config::domain_listed(&state.settings.moderation.trusted_domains, &author.domain);
    let known = state.store.comment_by_ap_id(&reply.id).await?;
    let is_new = known.is_none();
    // Waiting already (an edit of a comment not yet moderated): its editors were told.
    let waiting = known.is_some_and(|c| c.state == CommentState::Pending);
    if !trusted && is_new {
        check_pending_caps(state, author).await?;
    }
    let content: String = reply.content.chars().take(MAX_COMMENT_CHARS).collect();
    let url = reply
        .url
        .iter()
        .filter_map(crate::federation::inbox::id_of)
        .find(|u| matches!(u.scheme(), "http" | "https") && u.origin() == author.ap_id.origin());
    let (published, updated) =
        crate::federation::objects::remote_dates(reply.published, reply.updated, Utc::now());
    let author_name = if author.name.is_empty() {
        &author.username
    } else {
        &author.name
    };
    let handle = format!("{}@{}", author.username, author.domain);
    // Editors are told of a comment that comes to wait for them: a new one, or an
    // approved one edited (back to moderation); not of each edit of one that waits
    // already (a peer editing it again and again would otherwise mail them each time).
    let notice = if trusted || waiting {
        None
    } else {
        crate::service::notifications::comment_pending(state, action, (author_name, &handle))
            .await?
    };
    let stored = state
        .store
        .upsert_remote_comment(
            &NewComment {
                ap_id: &reply.id,
                action_db_id: action.db_id,
                in_reply_to: &reply.in_reply_to,
                author_id: author.id,
                content_html: SafeHtml::sanitize_bounded(&content).as_str(),
                url: url.as_ref(),
                state: if trusted {
                    CommentState::Approved
                } else {
                    CommentState::Pending
                },
                published,
                updated,
            },
            notice.as_ref(),
        )
        .await?;
    if stored.is_some() {
        state.mail_wakeup.notify_one();
        tracing::info!(comment = %reply.id, action = %action.ap_id, trusted, "comment received");
    }
    Ok(stored.is_some())
}

/// The `Note` of a local comment as published, mentioning the author it answers.
///
/// # Errors
/// Storage failures.
pub async fn note_of(state: &AppState, comment: &Comment) -> AppResult<serde_json::Value> {
    let answered = match state.store.comment_by_ap_id(&comment.in_reply_to).await? {
        Some(answered) if answered.author_id != comment.author_id => Some(answered),
        _ => None,
    };
    Ok(comment_to_as(
        comment,
        state,
        answered
            .as_ref()
            .map(|a| (&a.author_ap_id, a.author_handle.as_str())),
    ))
}

/// A moderator approves or rejects a comment.
///
/// # Errors
/// [`AppError::NotFound`] for an unknown comment.
pub async fn moderate(state: &AppState, comment: &Comment, approve: bool) -> AppResult<Comment> {
    let new_state = if approve {
        CommentState::Approved
    } else {
        CommentState::Rejected
    };
    state.store.set_comment_state(comment.id, new_state).await?;
    state
        .store
        .comment(comment.id)
        .await?
        .ok_or_else(|| AppError::NotFound("commentaire disparu".into()))
}

/// The owner of `action` answers it (or one of its comments, `answering`): a `Note`
/// published at once, delivered to the owner's followers and to the author answered.
///
/// # Errors
/// [`AppError::Validation`] on `content` when empty or too long.
pub async fn reply(
    state: &AppState,
    author: &Collectivite,
    action: &Action,
    answering: Option<&Comment>,
    markdown: &str,
) -> AppResult<Comment> {
    let markdown = markdown.trim();
    if markdown.is_empty() {
        return Err(AppError::Validation(vec![FieldError::new(
            "content",
            "le commentaire est vide".to_string(),
        )]));
    }
    let html = SafeHtml::from_markdown(markdown);
    if html.as_str().chars().count() > MAX_COMMENT_CHARS {
        return Err(AppError::Validation(vec![FieldError::new(
            "content",
            format!("le commentaire dépasse {MAX_COMMENT_CHARS} caractères"),
        )]));
    }
    let uuid = Uuid::now_v7();
    let ap_id = state.url(&format!("/comments/{uuid}"));
    let in_reply_to = answering.map_or(&action.ap_id, |c| &c.ap_id).clone();
    let mentioned = match answering {
        Some(comment) if comment.author_id != author.id => {
            state.store.actor_by_id(comment.author_id).await?
        }
        _ => None,
    };
    let now = Utc::now();
    let new = NewComment {
        ap_id: &ap_id,
        action_db_id: action.db_id,
        in_reply_to: &in_reply_to,
        author_id: author.id,
        content_html: html.as_str(),
        url: None,
        state: CommentState::Approved,
        published: now,
        updated: now,
    };
    // The Note as it will be stored (the row is read back only after the commit).
    let draft = Comment {
        id: 0,
        uuid,
        ap_id: ap_id.clone(),
        action_db_id: action.db_id,
        action_ap_id: action.ap_id.clone(),
        action_name: action.data.name.clone(),
        action_owner_id: action.owner.id,
        in_reply_to: in_reply_to.clone(),
        author_id: author.id,
        author_ap_id: author.ap_id.clone(),
        author_name: author.profile.name.clone(),
        author_handle: String::new(),
        author_type: "Organization".into(),
        local: true,
        content_html: html.as_str().to_string(),
        url: None,
        state: CommentState::Approved,
        published: now,
        updated: now,
    };
    let handle = mentioned
        .as_ref()
        .map(|m| format!("{}@{}", m.username, m.domain));
    let note = comment_to_as(
        &draft,
        state,
        mentioned
            .as_ref()
            .zip(handle.as_deref())
            .map(|(m, h)| (&m.ap_id, h)),
    );
    let audience = Audience::FollowersAndInboxes(
        author.id,
        mentioned
            .iter()
            .filter(|m| !m.local)
            .map(|m| (m.delivery_inbox().clone(), m.domain.clone()))
            .collect(),
    );
    let mut to = vec![public()];
    to.extend(mentioned.iter().map(|m| m.ap_id.clone()));
    let create = queued(
        &Create::note(
            activity_id(state),
            author.ap_id.clone(),
            to,
            ObjectRef(note),
        ),
        author.id,
        &ap_id,
        audience,
    );
    let mut tx = crate::service::begin_as(state, author.id).await?;
    let id = db::comments::insert_local_comment(&mut tx, uuid, &new).await?;
    db::activities::store_activity(&mut tx, &create).await?;
    tx.commit().await?;
    let comment = state
        .store
        .comment(id)
        .await?
        .ok_or_else(|| AppError::NotFound("commentaire disparu".into()))?;
    state.delivery_wakeup.notify_one();
    Ok(comment)
}

//! Follows (SPEC §3 "Follow lifecycle"): a local actor (a collectivité, or the instance
//! actor for aggregators) follows a remote one found by WebFinger or by URL, and can
//! undo it; remote followers are answered with a signed `Accept`. Every activity is
//! stored and queued in the same transaction as the follow it concerns.

use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;
use activitypub_federation::fetch::webfinger::webfinger_resolve_actor;
use url::Url;

use crate::activitypub::activities::{Accept, Follow, ObjectRef, Reject, Undo};
use crate::activitypub::ids::parse_id;
use crate::db;
use crate::db::activities::NewActivity;
use crate::db::actors::ActorRecord;
use crate::db::deliveries::Audience;
use crate::db::follows::{FollowRecord, FollowState};
use crate::error::{AppError, AppResult, FieldError};
use crate::federation::activities::{activity_id, queued};
use crate::state::AppState;

/// How a follow is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// `Accept`.
    Accept,
    /// `Reject`.
    Reject,
}

/// Builds `Accept` or `Reject` (`answer`) of `follow` by `followed`, addressed to
/// `follower`.
pub fn answer_activity(
    state: &AppState,
    followed: &ActorRecord,
    follower: &ActorRecord,
    answer: Answer,
    follow: &Follow,
) -> NewActivity {
    let (id, actor, to) = (
        activity_id(state),
        followed.ap_id.clone(),
        follower.ap_id.clone(),
    );
    let audience = Audience::Inboxes(vec![(follower.inbox.clone(), follower.domain.clone())]);
    let request = ObjectRef::embed(follow);
    match answer {
        Answer::Accept => queued(
            &Accept::answer(id, actor, to, request),
            followed.id,
            &follower.ap_id,
            audience,
        ),
        Answer::Reject => queued(
            &Reject::answer(id, actor, to, request),
            followed.id,
            &follower.ap_id,
            audience,
        ),
    }
}

/// Records the follow `ap_id` of `follower_id` to `followed_id`
/// and, in the same transaction, the activity asking or answering it.
async fn record(
    state: &AppState,
    ap_id: &Url,
    (follower_id, followed_id): (i64, i64),
    follow_state: FollowState,
    activity: &NewActivity,
) -> AppResult<FollowRecord> {
    // The local side signs the activity: still live, its row locked.
    let mut tx = crate::service::begin_as(state, activity.actor_id).await?;
    let follow =
        db::follows::upsert_follow(&mut tx, ap_id, follower_id, followed_id, follow_state).await?;
    db::activities::store_activity(&mut tx, activity).await?;
    tx.commit().await?;
    Ok(follow)
}

/// A remote actor's `Follow` (`follow`) of the local actor `followed`:
/// accepted, its `Accept` queued in the same transaction.
pub(crate) async fn accept_follower(
    state: &AppState,
    follow: &Follow,
    follower: &ActorRecord,
    followed: &ActorRecord,
) -> AppResult<FollowRecord> {
    let accept = answer_activity(state, followed, follower, Answer::Accept, follow);
    record(
        state,
        &follow.id,
        (follower.id, followed.id),
        FollowState::Accepted,
        &accept,
    )
    .await
}

/// Finds a remote actor from `acct:user@host`, `user@host`, `@user@host` or its URL.
///
/// # Errors
/// [`AppError::Validation`] on `target` when it cannot be resolved.
pub async fn resolve_target(data: &Data<AppState>, target: &str) -> AppResult<ActorRecord> {
    let target = target.trim();
    let invalid = |message: String| AppError::Validation(vec![FieldError::new("target", message)]);
    let host = match target.split_once("://") {
        Some((_, rest)) => rest.split(['/', '?', '#']).next().unwrap_or_default(),
        None => target.rsplit('@').next().unwrap_or_default(),
    };
    if !host.is_empty() && data.blocks.domain(host) {
        return Err(invalid(format!(
            "le domaine {host} est bloqué sur ce nœud (ou absent de sa liste d'autorisation)"
        )));
    }
    let result = if target.starts_with("http://") || target.starts_with("https://") {
        let url = Url::parse(target).map_err(|e| invalid(format!("adresse invalide : {e}")))?;
        ObjectId::<ActorRecord>::from(url).dereference(data).await
    } else {
        let handle = target.trim_start_matches("acct:").trim_start_matches('@');
        if !handle.contains('@') {
            return Err(invalid(format!(
                "« {target} » : acct:utilisateur@domaine ou l'adresse de l'acteur attendu"
            )));
        }
        webfinger_resolve_actor::<AppState, ActorRecord>(handle, data).await
    };
    let actor = result.map_err(|e| invalid(format!("« {target} » introuvable : {e}")))?;
    if data.blocks.actor(&actor.ap_id) {
        return Err(invalid(format!("{} est bloqué sur ce nœud", actor.ap_id)));
    }
    Ok(actor)
}

/// `follower` (local) follows `target`: a pending follow and its `Follow`, queued.
///
/// # Errors
/// Unresolvable target, following oneself, storage failure.
pub async fn follow(
    data: &Data<AppState>,
    follower: &ActorRecord,
    target: &str,
) -> AppResult<(FollowRecord, ActorRecord)> {
    let followed = resolve_target(data, target).await?;
    if followed.local {
        return Err(AppError::Validation(vec![FieldError::new(
            "target",
            "cet acteur est hébergé sur ce nœud",
        )]));
    }
    if let Some(existing) = data.store.follow_between(follower.id, followed.id).await? {
        if existing.state == FollowState::Accepted {
            return Ok((existing, followed));
        }
    }
    let follow = Follow::send(
        activity_id(data),
        follower.ap_id.clone(),
        followed.ap_id.clone(),
    );
    let activity = queued(
        &follow,
        follower.id,
        &followed.ap_id,
        Audience::Inboxes(vec![(followed.inbox.clone(), followed.domain.clone())]),
    );
    let follow = record(
        data,
        &follow.id,
        (follower.id, followed.id),
        FollowState::Pending,
        &activity,
    )
    .await?;
    data.delivery_wakeup.notify_one();
    Ok((follow, followed))
}

/// Undoes a follow of `follower`: `Undo{Follow}` to the followed actor, follow removed.
///
/// # Errors
/// [`AppError::NotFound`] when the follow is not `follower`'s.
pub async fn unfollow(state: &AppState, follower: &ActorRecord, follow_id: i64) -> AppResult<()> {
    let follow = state
        .store
        .follow_by_id(follow_id)
        .await?
        .filter(|f| f.follower_id == follower.id)
        .ok_or_else(|| AppError::NotFound(format!("aucun abonnement {follow_id}")))?;
    let followed = state
        .store
        .actor_by_id(follow.followed_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("aucun abonnement {follow_id}")))?;
    let undone = match follow.ap_id.as_deref().and_then(parse_id) {
        Some(id) => ObjectRef::embed(&Follow::embedded(
            id,
            follower.ap_id.clone(),
            &followed.ap_id,
        )),
        // A follow recorded without its activity (imports) has no id to name: `null`,
        // as it always was; the followed actor matches actor and object.
        None => {
            let mut undone = Follow::embedded(
                followed.ap_id.clone(),
                follower.ap_id.clone(),
                &followed.ap_id,
            )
            .value();
            undone["id"] = serde_json::Value::Null;
            ObjectRef(undone)
        }
    };
    let undo = queued(
        &Undo::follow(
            activity_id(state),
            follower.ap_id.clone(),
            followed.ap_id.clone(),
            undone,
        ),
        follower.id,
        &followed.ap_id,
        Audience::Inboxes(vec![(followed.inbox.clone(), followed.domain.clone())]),
    );
    let mut tx = crate::service::begin_as(state, follower.id).await?;
    db::follows::delete_follow(&mut tx, follow.id).await?;
    db::activities::store_activity(&mut tx, &undo).await?;
    tx.commit().await?;
    state.delivery_wakeup.notify_one();
    Ok(())
}

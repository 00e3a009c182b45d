//! The admin's comments page (SPEC §5): the moderation queue, and replies to
//! published comments.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use super::Editor;
use crate::db::comments::{Comment, CommentState};
use crate::domain::Collectivite;
use crate::error::{AppError, AppResult};
use crate::service;
use crate::state::AppState;
use crate::web::pages::{french_date, html};

use super::exchange::*;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/c/{username}/commentaires", get(comments_page))
        .route(
            "/admin/c/{username}/commentaires/{id}/{decision}",
            post(comment_decision),
        )
}

// ---------------------------------------------------------------------------------
// Comments

/// A comment on one of the collectivité's actions.
pub struct CommentItem {
    id: i64,
    action_name: String,
    action_url: Option<String>,
    author_name: String,
    author_handle: String,
    author_url: Option<String>,
    /// Sanitised when stored.
    content: String,
    date: String,
    pending: bool,
    /// The reply typed (kept on error).
    reply: String,
    reply_error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/exchange_comments.html")]
pub(super) struct CommentsPage {
    node_name: String,
    csrf: String,
    username: String,
    name: String,
    notice: Option<String>,
    error: Option<String>,
    pending: Vec<CommentItem>,
    /// All the comments waiting, when more than this page shows.
    pending_total: i64,
    /// The next page of the queue (older arrivals), when there is one.
    older: Option<String>,
    published: Vec<CommentItem>,
}

/// How many published comments the page offers to answer.
pub(super) const PUBLISHED_SHOWN: usize = 30;
/// Comments waiting for moderation shown per page, newest arrival first.
pub(super) const PENDING_PAGE: i64 = 50;

/// `?apres=ID`: the page of the queue after the comment `ID`.
#[derive(Debug, Deserialize)]
pub struct QueuePage {
    apres: Option<i64>,
}

pub(super) fn comment_item(comment: &Comment, reply: Option<(&str, &Outcome)>) -> CommentItem {
    CommentItem {
        id: comment.id,
        action_name: comment.action_name.clone(),
        action_url: web_link(&comment.action_ap_id),
        author_name: comment.author_name.clone(),
        author_handle: comment.author_handle.clone(),
        author_url: comment
            .url
            .as_ref()
            .and_then(web_link)
            .or_else(|| web_link(&comment.author_ap_id)),
        content: comment.content_html.clone(),
        date: french_date(comment.published),
        pending: comment.state == CommentState::Pending,
        reply: reply
            .map(|(typed, _)| typed.to_string())
            .unwrap_or_default(),
        reply_error: reply.and_then(|(_, outcome)| field_message(&outcome.errors, "content")),
    }
}

pub(super) async fn render_comments(
    state: &AppState,
    editor: &Editor,
    c: &Collectivite,
    reply: Option<(i64, &str)>,
    outcome: Outcome,
    after: Option<i64>,
) -> AppResult<Response> {
    let typed = |comment: &Comment| {
        reply
            .filter(|(id, _)| *id == comment.id)
            .map(|(_, text)| (text, &outcome))
    };
    let waiting = state
        .store
        .comments_to_moderate(CommentState::Pending, Some(c.id), after, PENDING_PAGE)
        .await?;
    let older = (waiting.len() as i64 == PENDING_PAGE)
        .then(|| waiting.last())
        .flatten()
        .map(|last| {
            format!(
                "/admin/c/{}/commentaires?apres={}",
                c.profile.username, last.id
            )
        });
    let pending = waiting
        .iter()
        .map(|comment| comment_item(comment, typed(comment)))
        .collect();
    let pending_total = state
        .store
        .count_comments_to_moderate(CommentState::Pending, c.id)
        .await?;
    let published = state
        .store
        .comments_to_moderate(
            CommentState::Approved,
            Some(c.id),
            None,
            4 * PUBLISHED_SHOWN as i64,
        )
        .await?
        .iter()
        .filter(|comment| comment.author_id != c.id)
        .take(PUBLISHED_SHOWN)
        .map(|comment| comment_item(comment, typed(comment)))
        .collect();
    let mut error = outcome.error.clone();
    if let Some(others) = other_messages(&outcome.errors, &["content"]) {
        error = Some(others);
    }
    html(
        outcome.status(),
        &CommentsPage {
            node_name: state.settings.node.name.clone(),
            csrf: editor.session.csrf_token.clone(),
            username: c.profile.username.to_string(),
            name: c.profile.name.clone(),
            notice: outcome.notice.clone(),
            error,
            pending,
            pending_total,
            older,
            published,
        },
    )
}

/// `GET /admin/c/{username}/commentaires`: comments to moderate, and the latest
/// published ones, each with a reply form.
pub async fn comments_page(
    State(state): State<AppState>,
    editor: Editor,
    Path(username): Path<String>,
    Query(done): Query<Done>,
    Query(page): Query<QueuePage>,
) -> AppResult<Response> {
    let c = editor.collectivite(&username)?;
    render_comments(&state, &editor, c, None, Outcome::notice(&done), page.apres).await
}

/// A moderation button or the reply form.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct CommentForm {
    csrf: String,
    content: String,
}

/// `POST /admin/c/{username}/commentaires/{id}/{approuver|rejeter|repondre}`.
pub async fn comment_decision(
    State(state): State<AppState>,
    editor: Editor,
    Path((username, id, decision)): Path<(String, String, String)>,
    Form(form): Form<CommentForm>,
) -> AppResult<Response> {
    editor.check_csrf(&form.csrf)?;
    let c = editor.collectivite(&username)?;
    let comment = state
        .store
        .comment(parse_id("commentaire", &id)?)
        .await?
        .filter(|comment| comment.action_owner_id == c.id)
        .ok_or_else(|| not_found("commentaire", &id))?;
    let page = format!("/admin/c/{}/commentaires", c.profile.username);
    match decision.as_str() {
        "approuver" | "rejeter" => {
            let approve = decision == "approuver";
            service::comments::moderate(&state, &comment, approve).await?;
            Ok(done(&page, if approve { "approuve" } else { "rejete" }))
        }
        "repondre" => {
            let action = state
                .store
                .action_by_ap_id(&comment.action_ap_id)
                .await?
                .filter(|a| a.owner.id == c.id && a.deleted.is_none())
                .ok_or_else(|| AppError::Gone("cette action a été supprimée".into()))?;
            match service::comments::reply(&state, c, &action, Some(&comment), &form.content).await
            {
                Ok(_) => Ok(done(&page, "reponse")),
                Err(error) if shown_on_page(&error) => {
                    render_comments(
                        &state,
                        &editor,
                        c,
                        Some((comment.id, &form.content)),
                        Outcome::failed(&error),
                        None,
                    )
                    .await
                }
                Err(error) => Err(error),
            }
        }
        _ => Err(not_found("commentaire", &id)),
    }
}

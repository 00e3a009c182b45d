//! `/api/v1/actions/{id}/comments` and `/api/v1/moderation/comments`: comments on
//! actions (SPEC §5, §6): reading them, the owner's replies, and their moderation.
//! Handlers extract and check the token; the work is in `service::comments`.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Bearer, MaybeBearer};
use super::{ApiJson, not_found, parse_id};
use crate::db::comments::{Comment, CommentState};
use crate::domain::FieldError;
use crate::error::{AppError, AppResult, Problem};
use crate::service;
use crate::state::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/actions/{id}/comments",
            get(list_comments).post(create_comment),
        )
        .route("/api/v1/moderation/comments", get(moderation_comments))
        .route("/api/v1/comments/{id}/{decision}", post(moderate_comment))
}

/// A comment.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommentView {
    /// Comment id (for moderation).
    pub id: i64,
    /// ActivityPub id.
    pub ap_id: String,
    /// The action's id.
    pub action: String,
    /// The action's name.
    pub action_name: String,
    /// What it answers.
    pub in_reply_to: String,
    /// Author's id.
    pub author: String,
    /// Author's name.
    pub author_name: String,
    /// Author's `user@domain`.
    pub author_handle: String,
    /// Sanitised HTML.
    pub content: String,
    /// `pending`, `approved` or `rejected`.
    pub state: CommentState,
    /// Written on this node.
    pub local: bool,
    /// Published.
    pub published: DateTime<Utc>,
}

impl From<Comment> for CommentView {
    fn from(c: Comment) -> Self {
        Self {
            id: c.id,
            ap_id: c.ap_id.to_string(),
            action: c.action_ap_id.to_string(),
            action_name: c.action_name,
            in_reply_to: c.in_reply_to.to_string(),
            author: c.author_ap_id.to_string(),
            author_name: c.author_name,
            author_handle: c.author_handle,
            content: c.content_html,
            state: c.state,
            local: c.local,
            published: c.published,
        }
    }
}

/// A reply by the action's owner.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    /// Markdown.
    pub content: Option<String>,
    /// Id of the comment answered (its author is mentioned and notified); none: the
    /// action itself.
    pub in_reply_to: Option<i64>,
}

/// Approved comments of an action, oldest first (every comment for its editors).
#[utoipa::path(get, path = "/api/v1/actions/{id}/comments", tag = "mutualisation",
    params(("id" = String, Path, description = "Action uuid")),
    responses((status = 200, description = "Comments", body = [CommentView])))]
pub async fn list_comments(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MaybeBearer(token): MaybeBearer,
) -> AppResult<axum::Json<Vec<CommentView>>> {
    let action = service::permissions::live_action(&state, &id).await?;
    let editor = token
        .as_ref()
        .is_some_and(|t| t.admin || t.actor_id == Some(action.owner.id));
    let comments = state.store.comments_of_action(action.db_id, editor).await?;
    Ok(axum::Json(
        comments.into_iter().map(CommentView::from).collect(),
    ))
}

/// The owner replies (a `Note` to its followers, mentioning the author answered).
#[utoipa::path(post, path = "/api/v1/actions/{id}/comments", tag = "mutualisation",
    params(("id" = String, Path, description = "Action uuid")),
    request_body = CommentBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Published", body = CommentView),
        (status = 422, description = "Empty or too long", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_comment(
    State(state): State<AppState>,
    Path(id): Path<String>,
    bearer: Bearer,
    ApiJson(body): ApiJson<CommentBody>,
) -> AppResult<impl IntoResponse> {
    let action = service::permissions::live_action(&state, &id).await?;
    if !action.owner.local {
        return Err(not_found("action", &id));
    }
    bearer.require_collectivite(action.owner.id)?;
    let author = state
        .store
        .collectivite_by_id(action.owner.id)
        .await?
        .ok_or_else(|| not_found("collectivité", &id))?;
    let answering = match body.in_reply_to {
        Some(comment_id) => Some(
            state
                .store
                .comment(comment_id)
                .await?
                .filter(|c| c.action_db_id == action.db_id)
                .ok_or_else(|| {
                    AppError::Validation(vec![FieldError::new(
                        "in_reply_to",
                        format!("aucun commentaire {comment_id} sur cette action"),
                    )])
                })?,
        ),
        None => None,
    };
    let content = body.content.unwrap_or_default();
    let comment =
        service::comments::reply(&state, &author, &action, answering.as_ref(), &content).await?;
    Ok((StatusCode::CREATED, axum::Json(CommentView::from(comment))))
}

/// `?state=&limit=&after=`.
#[derive(Debug, Deserialize)]
pub struct StateQuery {
    state: Option<String>,
    limit: Option<String>,
    after: Option<String>,
}

/// Comments listed per page by default, and at most.
const COMMENTS_PAGE: (i64, i64) = (100, 500);

/// Comments to moderate on this collectivité's actions (any local one for an admin
/// token), `state=pending` by default, by arrival, newest first; `limit` per page
/// (1–500, 100 by default), the next page `after` the last id of this one (given as
/// a `Link: <…>; rel="next"` header when the page is full).
#[utoipa::path(get, path = "/api/v1/moderation/comments", tag = "mutualisation",
    params(
        ("state" = Option<String>, Query, description = "`pending` (default), `approved` or `rejected`"),
        ("limit" = Option<i64>, Query, description = "Comments per page, 1–500 (100)"),
        ("after" = Option<i64>, Query, description = "The last comment id of the previous page"),
    ),
    security(("bearer" = [])),
    responses((status = 200, description = "Comments, newest arrival first", body = [CommentView])))]
pub async fn moderation_comments(
    State(state): State<AppState>,
    Query(query): Query<StateQuery>,
    bearer: Bearer,
) -> AppResult<Response> {
    let mut errors = crate::domain::FieldErrors::default();
    let wanted = match query.state.as_deref() {
        None => Some(CommentState::Pending),
        Some(s) => {
            let parsed = CommentState::parse(s);
            if parsed.is_none() {
                errors.push(
                    "state",
                    format!("« {s} » : pending, approved ou rejected attendu"),
                );
            }
            parsed
        }
    };
    let limit = match query.limit.as_deref().map(str::parse::<i64>) {
        None => COMMENTS_PAGE.0,
        Some(Ok(n)) if (1..=COMMENTS_PAGE.1).contains(&n) => n,
        Some(_) => {
            errors.push("limit", format!("un entier de 1 à {}", COMMENTS_PAGE.1));
            COMMENTS_PAGE.0
        }
    };
    let after = match query.after.as_deref().map(str::parse::<i64>) {
        None => None,
        Some(Ok(id)) if id > 0 => Some(id),
        Some(_) => {
            errors.push("after", "l'identifiant d'un commentaire attendu");
            None
        }
    };
    let wanted = errors.finish(|| wanted.expect("BUG: checked"))?;
    let owner = if bearer.0.admin {
        None
    } else {
        bearer.0.actor_id
    };
    let comments = state
        .store
        .comments_to_moderate(wanted, owner, after, limit)
        .await?;
    let next = (comments.len() as i64 == limit)
        .then(|| comments.last())
        .flatten()
        .map(|last| {
            state.url(&format!(
                "/api/v1/moderation/comments?state={}&limit={limit}&after={}",
                wanted.as_str(),
                last.id
            ))
        });
    let mut response = axum::Json(
        comments
            .into_iter()
            .map(CommentView::from)
            .collect::<Vec<_>>(),
    )
    .into_response();
    if let Some(next) = next {
        response.headers_mut().insert(
            axum::http::header::LINK,
            axum::http::HeaderValue::from_str(&format!("<{next}>; rel=\"next\""))
                .expect("BUG: a URL is a header value"),
        );
    }
    Ok(response)
}

/// Approve or reject a comment (`approve` or `reject`).
#[utoipa::path(post, path = "/api/v1/comments/{id}/{decision}", tag = "mutualisation",
    params(("id" = i64, Path, description = "Comment id"), ("decision" = String, Path, description = "`approve` or `reject`")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Moderated", body = CommentView),
        (status = 403, description = "Not the action owner's token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn moderate_comment(
    State(state): State<AppState>,
    Path((id, decision)): Path<(String, String)>,
    bearer: Bearer,
) -> AppResult<axum::Json<CommentView>> {
    let approve = match decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(not_found("route", &decision)),
    };
    let comment = state
        .store
        .comment(parse_id("commentaire", &id)?)
        .await?
        .ok_or_else(|| not_found("commentaire", &id))?;
    bearer.require_collectivite(comment.action_owner_id)?;
    let comment = service::comments::moderate(&state, &comment, approve).await?;
    Ok(axum::Json(CommentView::from(comment)))
}

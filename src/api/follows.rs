//! `/api/v1/collectivites/{username}/follows` and `…/followers` (SPEC §6): a
//! collectivité follows other nodes' actors (WebFinger, then a signed `Follow`), lists
//! and undoes its follows, and lists its followers.

use activitypub_federation::config::Data;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiJson;
use super::auth::Bearer;
use super::collectivites::find_local;
use crate::db::actors::ActorRecord;
use crate::db::follows::FollowListing;
use crate::error::{AppError, AppResult, FieldError, Problem};
use crate::service;
use crate::state::AppState;

/// The follow routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/collectivites/{username}/follows",
            get(list_follows).post(create_follow),
        )
        .route(
            "/api/v1/collectivites/{username}/follows/{id}",
            delete(delete_follow),
        )
        .route(
            "/api/v1/collectivites/{username}/followers",
            get(list_followers),
        )
}

/// What to follow.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowBody {
    /// `acct:user@host` (or `user@host`) or the actor's URL.
    pub target: Option<String>,
}

/// A follow, either way.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowView {
    /// Follow id (for `DELETE …/follows/{id}`).
    pub id: i64,
    /// The other actor's id.
    pub actor: String,
    /// Its `user@domain`.
    pub handle: String,
    /// Its name.
    pub name: String,
    /// `pending`, `accepted` or `rejected`.
    pub state: String,
    /// Since.
    pub published: DateTime<Utc>,
}

impl From<FollowListing> for FollowView {
    fn from(f: FollowListing) -> Self {
        Self {
            id: f.id,
            handle: format!("{}@{}", f.actor_username, f.actor_domain),
            actor: f.actor_ap_id,
            name: f.actor_name,
            state: f.state.as_str().to_string(),
            published: f.published,
        }
    }
}

async fn local_actor(state: &AppState, username: &str, bearer: &Bearer) -> AppResult<ActorRecord> {
    let collectivite = find_local(state, username).await?;
    bearer.require_collectivite(collectivite.id)?;
    state
        .store
        .actor_by_id(collectivite.id)
        .await?
        .ok_or_else(|| AppError::NotFound(username.to_string()))
}

/// Follow a remote actor (sends a signed `Follow`; the answer arrives later).
#[utoipa::path(post, path = "/api/v1/collectivites/{username}/follows", tag = "follows",
    params(("username" = String, Path, description = "Follower")),
    request_body = FollowBody,
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Follow sent", body = FollowView),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another collectivité's token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Target not found", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_follow(
    State(state): State<AppState>,
    data: Data<AppState>,
    Path(username): Path<String>,
    bearer: Bearer,
    ApiJson(body): ApiJson<FollowBody>,
) -> AppResult<impl IntoResponse> {
    let follower = local_actor(&state, &username, &bearer).await?;
    let target = body
        .target
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| AppError::Validation(vec![FieldError::new("target", "obligatoire")]))?;
    let (follow, followed) = service::follows::follow(&data, &follower, &target).await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(FollowView {
            id: follow.id,
            actor: followed.ap_id.to_string(),
            handle: format!("{}@{}", followed.username, followed.domain),
            name: followed.name,
            state: follow.state.as_str().to_string(),
            published: follow.published,
        }),
    ))
}

/// What a collectivité follows.
#[utoipa::path(get, path = "/api/v1/collectivites/{username}/follows", tag = "follows",
    params(("username" = String, Path, description = "Follower")),
    security(("bearer" = [])),
    responses((status = 200, description = "Follows, newest first", body = [FollowView])))]
pub async fn list_follows(
    State(state): State<AppState>,
    Path(username): Path<String>,
    bearer: Bearer,
) -> AppResult<axum::Json<Vec<FollowView>>> {
    let actor = local_actor(&state, &username, &bearer).await?;
    let follows = state.store.following_of(actor.id).await?;
    Ok(axum::Json(
        follows.into_iter().map(FollowView::from).collect(),
    ))
}

/// Stop following (sends `Undo{Follow}`).
#[utoipa::path(delete, path = "/api/v1/collectivites/{username}/follows/{id}", tag = "follows",
    params(("username" = String, Path, description = "Follower"), ("id" = i64, Path, description = "Follow id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Undone"),
        (status = 404, description = "Unknown follow", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_follow(
    State(state): State<AppState>,
    Path((username, id)): Path<(String, String)>,
    bearer: Bearer,
) -> AppResult<StatusCode> {
    let actor = local_actor(&state, &username, &bearer).await?;
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::NotFound(format!("aucun abonnement « {id} »")))?;
    service::follows::unfollow(&state, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who follows a collectivité (its editors only).
#[utoipa::path(get, path = "/api/v1/collectivites/{username}/followers", tag = "follows",
    params(("username" = String, Path, description = "Followed")),
    security(("bearer" = [])),
    responses((status = 200, description = "Followers, newest first", body = [FollowView])))]
pub async fn list_followers(
    State(state): State<AppState>,
    Path(username): Path<String>,
    bearer: Bearer,
) -> AppResult<axum::Json<Vec<FollowView>>> {
    let actor = local_actor(&state, &username, &bearer).await?;
    let followers = state.store.followers_of(actor.id).await?;
    Ok(axum::Json(
        followers.into_iter().map(FollowView::from).collect(),
    ))
}

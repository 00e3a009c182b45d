//! `/api/v1/moderation/blocks`: blocks of domains and actors (node-admin token;
//! SPEC §6): their activities get `403`, nothing is fetched from or sent to them. The
//! allow-list and block-list files are in [`super::domains`].

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::Bearer;
use super::{ApiJson, parse_id};
use crate::db::moderation::Block;
use crate::error::{AppResult, Problem};
use crate::service;
use crate::state::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/moderation/blocks",
            get(list_blocks).post(create_block),
        )
        .route("/api/v1/moderation/blocks/{id}", delete(delete_block))
}

/// A block to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockBody {
    /// A domain (`spam.example`) or an actor's id (URL).
    pub target: Option<String>,
    /// Why (shown to other moderators).
    pub reason: Option<String>,
}

/// Blocked domains and actors (node-admin token).
#[utoipa::path(get, path = "/api/v1/moderation/blocks", tag = "mutualisation",
    security(("bearer" = [])),
    responses((status = 200, description = "Blocks", body = [Block])))]
pub async fn list_blocks(
    State(state): State<AppState>,
    bearer: Bearer,
) -> AppResult<axum::Json<Vec<Block>>> {
    bearer.require_admin()?;
    Ok(axum::Json(state.store.blocks().await?))
}

/// Block a domain or an actor (node-admin token): its activities get `403`, nothing
/// is fetched from or sent to it.
#[utoipa::path(post, path = "/api/v1/moderation/blocks", tag = "mutualisation",
    request_body = BlockBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Blocked", body = Block),
        (status = 422, description = "Not a domain or actor URL", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_block(
    State(state): State<AppState>,
    bearer: Bearer,
    ApiJson(body): ApiJson<BlockBody>,
) -> AppResult<impl IntoResponse> {
    bearer.require_admin()?;
    let block = service::moderation::block(
        &state,
        body.target.as_deref().unwrap_or_default(),
        body.reason.as_deref().unwrap_or_default(),
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(block)))
}

/// Lift a block (node-admin token).
#[utoipa::path(delete, path = "/api/v1/moderation/blocks/{id}", tag = "mutualisation",
    params(("id" = i64, Path, description = "Block id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Lifted")))]
pub async fn delete_block(
    State(state): State<AppState>,
    Path(id): Path<String>,
    bearer: Bearer,
) -> AppResult<StatusCode> {
    bearer.require_admin()?;
    service::moderation::unblock(&state, parse_id("blocage", &id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

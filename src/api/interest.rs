//! `/api/v1/actions/{id}/interest`: who liked or shared an action from the fediverse
//! (`Like`, `Announce`; SPEC §5).

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::AppResult;
use crate::service;
use crate::state::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/actions/{id}/interest", get(interest))
}

/// Someone interested in an action.
#[derive(Debug, Serialize, ToSchema)]
pub struct InterestView {
    /// `Like` or `Announce`.
    pub kind: String,
    /// Actor id.
    pub actor: String,
    /// Name.
    pub name: String,
    /// `user@domain`.
    pub handle: String,
    /// A collectivité (`Organization`)?
    pub collectivite: bool,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Who liked or shared an action from the fediverse, newest first.
#[utoipa::path(get, path = "/api/v1/actions/{id}/interest", tag = "mutualisation",
    params(("id" = String, Path, description = "Action uuid")),
    responses((status = 200, description = "Likes and shares", body = [InterestView])))]
pub async fn interest(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<axum::Json<Vec<InterestView>>> {
    let action = service::permissions::live_action(&state, &id).await?;
    let list = state.store.interest_in(action.db_id).await?;
    Ok(axum::Json(
        list.into_iter()
            .map(|i| InterestView {
                collectivite: i.actor_type == "Organization",
                handle: format!("{}@{}", i.actor_username, i.actor_domain),
                name: if i.actor_name.is_empty() {
                    i.actor_username
                } else {
                    i.actor_name
                },
                actor: i.actor_ap_id,
                kind: i.kind,
                created_at: i.created_at,
            })
            .collect(),
    ))
}

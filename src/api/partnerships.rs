//! `/api/v1/…/partnership-requests`: partnership requests sent and received, answered
//! and ended (SPEC §5, §6). Handlers extract and check the token; the work is in
//! `service::partnerships`.

use activitypub_federation::config::Data;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;
use utoipa::ToSchema;

use super::auth::Bearer;
use super::collectivites::find_local;
use super::{ApiJson, not_found, parse_id};
use crate::db::partnerships::{Partnership, PartnershipState};
use crate::domain::FieldError;
use crate::error::{AppError, AppResult, Problem};
use crate::service;
use crate::state::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/collectivites/{username}/partnership-requests",
            get(list_requests).post(create_request),
        )
        .route("/api/v1/partnership-requests/{id}", delete(end_partnership))
        .route(
            "/api/v1/partnership-requests/{id}/{decision}",
            post(answer_request),
        )
}

/// One side of a partnership.
#[derive(Debug, Serialize, ToSchema)]
pub struct SideView {
    /// Actor id.
    pub id: String,
    /// `user@domain`.
    pub handle: String,
    /// Name.
    pub name: String,
}

/// A partnership request, sent or received.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartnershipView {
    /// Request id (for `…/accept`, `…/reject`, `DELETE`).
    pub id: i64,
    /// `sent` or `received`, from the collectivité asked about (or the requester's
    /// side when listed otherwise).
    pub direction: String,
    /// The action's id.
    pub action: String,
    /// The action's name.
    pub action_name: String,
    /// `pending`, `accepted`, `rejected` or `left`.
    pub state: PartnershipState,
    /// Who asks.
    pub requester: SideView,
    /// Who owns the action.
    pub owner: SideView,
    /// Asked at.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl PartnershipView {
    fn new(p: Partnership, sent: bool) -> Self {
        let side = |s: crate::db::partnerships::Side| SideView {
            handle: format!("{}@{}", s.username, s.domain),
            id: s.ap_id.to_string(),
            name: s.name,
        };
        Self {
            id: p.id,
            direction: if sent { "sent" } else { "received" }.into(),
            action: p.action_ap_id.to_string(),
            action_name: p.action_name,
            state: p.state,
            requester: side(p.requester),
            owner: side(p.owner),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// What to join.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnershipBody {
    /// The action's id (URL), on this node or another.
    pub action: Option<String>,
}

/// `?direction=`.
#[derive(Debug, Deserialize)]
pub struct DirectionQuery {
    direction: Option<String>,
}

/// Ask to join an action open to partners: sends `Join` as this collectivité.
#[utoipa::path(post, path = "/api/v1/collectivites/{username}/partnership-requests", tag = "mutualisation",
    params(("username" = String, Path, description = "The collectivité asking")),
    request_body = PartnershipBody,
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Request sent", body = PartnershipView),
        (status = 403, description = "Another collectivité's token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown action, not open to partners, already a partner", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_request(
    data: Data<AppState>,
    Path(username): Path<String>,
    bearer: Bearer,
    ApiJson(body): ApiJson<PartnershipBody>,
) -> AppResult<impl IntoResponse> {
    let requester = find_local(&data, &username).await?;
    bearer.require_collectivite(requester.id)?;
    let action = body
        .action
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| AppError::Validation(vec![FieldError::new("action", "obligatoire")]))?;
    let action = Url::parse(action)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| {
            AppError::Validation(vec![FieldError::new(
                "action",
                "l'adresse (URL) de l'action est attendue",
            )])
        })?;
    let partnership = service::partnerships::request(&data, &requester, &action).await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(PartnershipView::new(partnership, true)),
    ))
}

/// Partnership requests a collectivité sent or received (`direction=sent|received`,
/// default received), newest first.
#[utoipa::path(get, path = "/api/v1/collectivites/{username}/partnership-requests", tag = "mutualisation",
    params(("username" = String, Path, description = "Collectivité"),
        ("direction" = Option<String>, Query, description = "`received` (default) or `sent`")),
    security(("bearer" = [])),
    responses((status = 200, description = "Requests", body = [PartnershipView])))]
pub async fn list_requests(
    State(state): State<AppState>,
    Path(username): Path<String>,
    Query(query): Query<DirectionQuery>,
    bearer: Bearer,
) -> AppResult<axum::Json<Vec<PartnershipView>>> {
    let collectivite = find_local(&state, &username).await?;
    bearer.require_collectivite(collectivite.id)?;
    let sent = match query.direction.as_deref() {
        None | Some("received") => false,
        Some("sent") => true,
        Some(other) => {
            return Err(AppError::Validation(vec![FieldError::new(
                "direction",
                format!("« {other} » : received ou sent attendu"),
            )]));
        }
    };
    let list = state.store.partnerships_of(collectivite.id, sent).await?;
    Ok(axum::Json(
        list.into_iter()
            .map(|p| PartnershipView::new(p, sent))
            .collect(),
    ))
}

async fn find_partnership(state: &AppState, id: &str) -> AppResult<Partnership> {
    state
        .store
        .partnership(parse_id("demande de partenariat", id)?)
        .await?
        .ok_or_else(|| not_found("demande de partenariat", id))
}

/// Accept or reject a received request (`accept` or `reject`); on accept the action's
/// partners gain the requester and an `Update` goes to followers and partners.
#[utoipa::path(post, path = "/api/v1/partnership-requests/{id}/{decision}", tag = "mutualisation",
    params(("id" = i64, Path, description = "Request id"), ("decision" = String, Path, description = "`accept` or `reject`")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Answered", body = PartnershipView),
        (status = 403, description = "Not the owner's token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already answered", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn answer_request(
    State(state): State<AppState>,
    Path((id, decision)): Path<(String, String)>,
    bearer: Bearer,
) -> AppResult<axum::Json<PartnershipView>> {
    let accept = match decision.as_str() {
        "accept" => true,
        "reject" => false,
        _ => return Err(not_found("route", &decision)),
    };
    let partnership = find_partnership(&state, &id).await?;
    if !partnership.owner.local {
        return Err(AppError::Forbidden(
            "seul le porteur de l'action répond à une demande".into(),
        ));
    }
    bearer.require_collectivite(partnership.owner.id)?;
    let answered = service::partnerships::answer(&state, &partnership, accept).await?;
    Ok(axum::Json(PartnershipView::new(answered, false)))
}

/// End an accepted partnership: the partner leaves (`Leave`), or the owner removes
/// the partner.
#[utoipa::path(delete, path = "/api/v1/partnership-requests/{id}", tag = "mutualisation",
    params(("id" = i64, Path, description = "Request id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Ended", body = PartnershipView),
        (status = 409, description = "Not an accepted partnership", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn end_partnership(
    State(state): State<AppState>,
    Path(id): Path<String>,
    bearer: Bearer,
) -> AppResult<axum::Json<PartnershipView>> {
    let partnership = find_partnership(&state, &id).await?;
    // The token's collectivité is the side that ends it (an admin token: the local one).
    let sides = [&partnership.requester, &partnership.owner];
    let side = sides
        .into_iter()
        .filter(|s| s.local)
        .find(|s| bearer.0.admin || bearer.0.actor_id == Some(s.id))
        .ok_or_else(|| {
            AppError::Forbidden("ce jeton n'est pas celui d'une collectivité du partenariat".into())
        })?;
    let by = state
        .store
        .collectivite_by_id(side.id)
        .await?
        .ok_or_else(|| not_found("collectivité", &side.id.to_string()))?;
    let sent = by.id == partnership.requester.id;
    let ended = service::partnerships::end(&state, &partnership, &by).await?;
    Ok(axum::Json(PartnershipView::new(ended, sent)))
}

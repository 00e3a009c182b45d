//! `/api/v1/admission`: admission of remote collectivités on an aggregator (issue 19;
//! node-admin token): the actors and their state, a decision (approve, refuse,
//! suspend, unsuspend), and the inbound activities held past a spam bound (release
//! or delete).

use activitypub_federation::config::Data;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Bearer;
use super::{ApiJson, parse_id};
use crate::db::admission::{Candidate, HeldActivity};
use crate::error::{AppResult, Problem};
use crate::federation::receive::{Applied, release_held};
use crate::service::admission::{Verdict, decide};
use crate::state::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/admission",
            get(list_admission).post(decide_admission),
        )
        .route("/api/v1/admission/held", get(list_held))
        .route("/api/v1/admission/held/{id}", delete(delete_held))
        .route("/api/v1/admission/held/{id}/release", post(release))
}

/// A remote collectivité and its admission.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdmissionView {
    /// Actor id (URL).
    pub actor: String,
    /// Name it claims.
    pub name: String,
    /// `user@domain`.
    pub handle: String,
    /// INSEE code it claims.
    pub insee: Option<String>,
    /// SIREN it claims.
    pub siren: Option<String>,
    /// Official website.
    pub website: Option<String>,
    /// When its website was verified (null: not verified).
    pub website_verified_at: Option<DateTime<Utc>>,
    /// `pending` (waiting for a decision), `listed`, `approved`, `refused` or
    /// `suspended`.
    pub state: String,
    /// Its actions are in the directory.
    pub listed: bool,
    /// When suspended.
    pub suspended_at: Option<DateTime<Utc>>,
    /// Its live actions stored here.
    pub actions: i64,
    /// Its activities held.
    pub held: i64,
}

impl AdmissionView {
    /// The view of `candidate` under the node's policy.
    pub fn of(state: &AppState, c: Candidate) -> Self {
        let admission = state.settings.aggregator.effective_admission();
        let listed = c.listed(admission);
        let word = if c.suspended_at.is_some() {
            "suspended"
        } else if let Some(decision) = c.admission.as_deref() {
            if decision == "approved" {
                "approved"
            } else {
                "refused"
            }
        } else if listed {
            "listed"
        } else {
            "pending"
        };
        AdmissionView {
            handle: format!("{}@{}", c.username, c.domain),
            actor: c.ap_id,
            name: c.name,
            insee: c.insee,
            siren: c.siren,
            website: c.website,
            website_verified_at: c.website_verified_at,
            state: word.into(),
            listed,
            suspended_at: c.suspended_at,
            actions: c.action_count,
            held: c.held_count,
        }
    }
}

/// The admission policy and the remote collectivités.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdmissionList {
    /// `aggregator.admission` in force (`open` on a node that is not an aggregator).
    pub admission: String,
    /// Remote collectivités, by name.
    pub actors: Vec<AdmissionView>,
}

/// A decision.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// The actor's id (URL).
    pub actor: Option<String>,
    /// `approve`, `refuse`, `suspend` or `unsuspend`.
    pub decision: Option<String>,
}

/// An activity held past a spam bound.
#[derive(Debug, Serialize, ToSchema)]
pub struct HeldView {
    /// Id.
    pub id: i64,
    /// The activity's id.
    pub activity_id: String,
    /// Its type.
    pub kind: String,
    /// Its sender.
    pub actor: String,
    /// Why it was held.
    pub reason: String,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
}

impl From<HeldActivity> for HeldView {
    fn from(h: HeldActivity) -> Self {
        HeldView {
            id: h.id,
            activity_id: h.ap_id,
            kind: h.kind,
            actor: h.actor_ap_id,
            reason: h.reason,
            received_at: h.received_at,
        }
    }
}

/// What releasing did.
#[derive(Debug, Serialize, ToSchema)]
pub struct Released {
    /// True when the activity changed something; false when it was ignored.
    pub applied: bool,
    /// Why it was ignored.
    pub reason: Option<String>,
}

/// The admission policy and remote collectivités (node-admin token).
#[utoipa::path(get, path = "/api/v1/admission", tag = "mutualisation",
    security(("bearer" = [])),
    responses((status = 200, description = "Admission", body = AdmissionList)))]
pub async fn list_admission(
    State(state): State<AppState>,
    bearer: Bearer,
) -> AppResult<axum::Json<AdmissionList>> {
    bearer.require_admin()?;
    let actors = state.store.admission_candidates().await?;
    Ok(axum::Json(AdmissionList {
        admission: state
            .settings
            .aggregator
            .effective_admission()
            .as_str()
            .into(),
        actors: actors
            .into_iter()
            .map(|c| AdmissionView::of(&state, c))
            .collect(),
    }))
}

/// Approve, refuse, suspend or reinstate a remote collectivité (node-admin token).
#[utoipa::path(post, path = "/api/v1/admission", tag = "mutualisation",
    request_body = DecisionBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Decided", body = AdmissionView),
        (status = 404, description = "Unknown actor", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad actor or decision", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn decide_admission(
    State(state): State<AppState>,
    bearer: Bearer,
    ApiJson(body): ApiJson<DecisionBody>,
) -> AppResult<axum::Json<AdmissionView>> {
    bearer.require_admin()?;
    let verdict = Verdict::parse(body.decision.as_deref().unwrap_or_default())?;
    let actor = decide(&state, body.actor.as_deref().unwrap_or_default(), verdict).await?;
    Ok(axum::Json(AdmissionView::of(&state, actor)))
}

/// Activities held past a spam bound, oldest first (node-admin token).
#[utoipa::path(get, path = "/api/v1/admission/held", tag = "mutualisation",
    security(("bearer" = [])),
    responses((status = 200, description = "Held activities", body = [HeldView])))]
pub async fn list_held(
    State(state): State<AppState>,
    bearer: Bearer,
) -> AppResult<axum::Json<Vec<HeldView>>> {
    bearer.require_admin()?;
    let held = state.store.held_activities().await?;
    Ok(axum::Json(held.into_iter().map(HeldView::from).collect()))
}

/// Release a held activity: applied as if just received (node-admin token).
#[utoipa::path(post, path = "/api/v1/admission/held/{id}/release", tag = "mutualisation",
    params(("id" = i64, Path, description = "Held activity id")),
    security(("bearer" = [])),
    responses((status = 200, description = "Released", body = Released)))]
pub async fn release(
    data: Data<AppState>,
    Path(id): Path<String>,
    bearer: Bearer,
) -> AppResult<axum::Json<Released>> {
    bearer.require_admin()?;
    let applied = release_held(&data, parse_id("activité retenue", &id)?).await?;
    Ok(axum::Json(match applied {
        Applied::Done => Released {
            applied: true,
            reason: None,
        },
        Applied::Ignored(reason) => Released {
            applied: false,
            reason: Some(reason),
        },
    }))
}

/// Delete a held activity unapplied (node-admin token).
#[utoipa::path(delete, path = "/api/v1/admission/held/{id}", tag = "mutualisation",
    params(("id" = i64, Path, description = "Held activity id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_held(
    State(state): State<AppState>,
    Path(id): Path<String>,
    bearer: Bearer,
) -> AppResult<StatusCode> {
    bearer.require_admin()?;
    let id = parse_id("activité retenue", &id)?;
    if !state.store.delete_held(id).await? {
        return Err(super::not_found("activité retenue", &id.to_string()));
    }
    Ok(StatusCode::NO_CONTENT)
}

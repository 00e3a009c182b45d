//! `/api/v1/moderation/reports`: `Flag` reports received, and marking them handled
//! (node-admin token; SPEC §6).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Bearer;
use super::{not_found, parse_id};
use crate::error::AppResult;
use crate::state::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/moderation/reports", get(list_reports))
        .route(
            "/api/v1/moderation/reports/{id}/resolve",
            post(resolve_report),
        )
}

/// A `Flag` report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    /// Report id.
    pub id: i64,
    /// Who reported.
    pub reporter: String,
    /// What (ids on this node).
    pub objects: Vec<String>,
    /// Their words.
    pub content: String,
    /// Received.
    pub created_at: DateTime<Utc>,
    /// Handled.
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Reports received (node-admin token), open ones first.
#[utoipa::path(get, path = "/api/v1/moderation/reports", tag = "mutualisation",
    security(("bearer" = [])),
    responses((status = 200, description = "Reports", body = [ReportView])))]
pub async fn list_reports(
    State(state): State<AppState>,
    bearer: Bearer,
) -> AppResult<axum::Json<Vec<ReportView>>> {
    bearer.require_admin()?;
    let reports = state.store.reports(false).await?;
    Ok(axum::Json(
        reports
            .into_iter()
            .map(|r| ReportView {
                id: r.id,
                reporter: r.reporter,
                objects: serde_json::from_str(&r.objects).unwrap_or_default(),
                content: r.content,
                created_at: r.created_at,
                resolved_at: r.resolved_at,
            })
            .collect(),
    ))
}

/// Mark a report handled (node-admin token).
#[utoipa::path(post, path = "/api/v1/moderation/reports/{id}/resolve", tag = "mutualisation",
    params(("id" = i64, Path, description = "Report id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Handled")))]
pub async fn resolve_report(
    State(state): State<AppState>,
    Path(id): Path<String>,
    bearer: Bearer,
) -> AppResult<StatusCode> {
    bearer.require_admin()?;
    if !state
        .store
        .resolve_report(parse_id("signalement", &id)?)
        .await?
    {
        return Err(not_found("signalement ouvert", &id));
    }
    Ok(StatusCode::NO_CONTENT)
}

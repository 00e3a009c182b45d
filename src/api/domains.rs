//! The domain policy through the API (node-admin token): allowed domains for
//! allow-list mode, and blocks and allows as Mastodon CSV files
//! ([`crate::service::domain_policy`]). Blocks one by one are in
//! [`super::blocks`].

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use serde::Deserialize;
use utoipa::ToSchema;

use super::ApiJson;
use super::auth::Bearer;
use crate::db::moderation::DomainAllow;
use crate::error::{AppError, AppResult, Problem};
use crate::service::domain_policy::{self, ImportReport, List};
use crate::state::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/moderation/allows",
            get(list_allows).post(create_allow),
        )
        .route("/api/v1/moderation/allows/{id}", delete(delete_allow))
        .route("/api/v1/moderation/blocks/export", get(export_blocks))
        .route("/api/v1/moderation/blocks/import", post(import_blocks))
        .route("/api/v1/moderation/allows/export", get(export_allows))
        .route("/api/v1/moderation/allows/import", post(import_allows))
}

/// `POST /api/v1/moderation/allows`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllowBody {
    /// A domain (`ville.example`); its subdomains are allowed too.
    pub domain: Option<String>,
    /// Why (shown to other moderators).
    pub reason: Option<String>,
}

/// Allowed domains (node-admin token); they matter when `federation.allowlist_mode`
/// is on.
#[utoipa::path(get, path = "/api/v1/moderation/allows", tag = "mutualisation",
    security(("bearer" = [])),
    responses((status = 200, description = "Allowed domains", body = [DomainAllow])))]
pub async fn list_allows(
    State(state): State<AppState>,
    bearer: Bearer,
) -> AppResult<axum::Json<Vec<DomainAllow>>> {
    bearer.require_admin()?;
    Ok(axum::Json(state.store.allows().await?))
}

/// Allow a domain (node-admin token), effective at once.
#[utoipa::path(post, path = "/api/v1/moderation/allows", tag = "mutualisation",
    request_body = AllowBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Allowed", body = DomainAllow),
        (status = 422, description = "Not a domain", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_allow(
    State(state): State<AppState>,
    bearer: Bearer,
    ApiJson(body): ApiJson<AllowBody>,
) -> AppResult<impl IntoResponse> {
    bearer.require_admin()?;
    let allowed = domain_policy::allow(
        &state,
        body.domain.as_deref().unwrap_or_default(),
        body.reason.as_deref().unwrap_or_default(),
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(allowed)))
}

/// Remove an allowed domain (node-admin token).
#[utoipa::path(delete, path = "/api/v1/moderation/allows/{id}", tag = "mutualisation",
    params(("id" = i64, Path, description = "Allowed domain id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "Unknown id", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_allow(
    State(state): State<AppState>,
    Path(id): Path<String>,
    bearer: Bearer,
) -> AppResult<StatusCode> {
    bearer.require_admin()?;
    let id = id
        .parse()
        .map_err(|_| AppError::NotFound(format!("aucun domaine autorisé « {id} »")))?;
    domain_policy::disallow(&state, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn export(state: &AppState, list: List, file: &str) -> AppResult<axum::response::Response> {
    let csv = domain_policy::export(state, list).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        csv,
    )
        .into_response())
}

async fn import(state: &AppState, list: List, body: &Bytes) -> AppResult<axum::Json<ImportReport>> {
    let text = std::str::from_utf8(body)
        .map_err(|_| AppError::BadRequest("le fichier CSV doit être encodé en UTF-8".into()))?;
    Ok(axum::Json(domain_policy::import(state, list, text).await?))
}

/// Blocked domains as Mastodon's domain-block CSV (node-admin token).
#[utoipa::path(get, path = "/api/v1/moderation/blocks/export", tag = "mutualisation",
    security(("bearer" = [])),
    responses((status = 200, description = "`#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate`", body = String, content_type = "text/csv")))]
pub async fn export_blocks(
    State(state): State<AppState>,
    bearer: Bearer,
) -> AppResult<axum::response::Response> {
    bearer.require_admin()?;
    export(&state, List::Blocks, "domain_blocks.csv").await
}

/// Import domain blocks from a CSV body: Mastodon's export, or one domain per line
/// (node-admin token). `suspend` and `silence` block, `noop` is skipped; refused lines
/// are reported with their numbers while the others go in.
#[utoipa::path(post, path = "/api/v1/moderation/blocks/import", tag = "mutualisation",
    request_body(content = String, content_type = "text/csv"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "What was imported", body = ImportReport),
        (status = 400, description = "Not UTF-8 CSV", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn import_blocks(
    State(state): State<AppState>,
    bearer: Bearer,
    body: Bytes,
) -> AppResult<axum::Json<ImportReport>> {
    bearer.require_admin()?;
    import(&state, List::Blocks, &body).await
}

/// Allowed domains as Mastodon's domain-allow CSV (`#domain`; node-admin token).
#[utoipa::path(get, path = "/api/v1/moderation/allows/export", tag = "mutualisation",
    security(("bearer" = [])),
    responses((status = 200, description = "`#domain`", body = String, content_type = "text/csv")))]
pub async fn export_allows(
    State(state): State<AppState>,
    bearer: Bearer,
) -> AppResult<axum::response::Response> {
    bearer.require_admin()?;
    export(&state, List::Allows, "domain_allows.csv").await
}

/// Import allowed domains from a CSV body (`#domain` header or one per line;
/// node-admin token).
#[utoipa::path(post, path = "/api/v1/moderation/allows/import", tag = "mutualisation",
    request_body(content = String, content_type = "text/csv"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "What was imported", body = ImportReport),
        (status = 400, description = "Not UTF-8 CSV", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn import_allows(
    State(state): State<AppState>,
    bearer: Bearer,
    body: Bytes,
) -> AppResult<axum::Json<ImportReport>> {
    bearer.require_admin()?;
    import(&state, List::Allows, &body).await
}

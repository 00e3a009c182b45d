//! `/api/v1/collectivites`: create (node admin), list, show and edit collectivités.
//! The body is the draft [`CollectiviteBody`] (`domain::drafts`), whose conversion into a
//! `NewCollectivite` validates it and fills what the editor left out from the
//! referential.

pub use crate::service::collectivites::find_local;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Serialize;
use url::Url;
use utoipa::ToSchema;

use super::auth::Bearer;
use super::{ApiJson, merge_patch};
use crate::domain::drafts::CollectiviteBody;
use crate::domain::{
    Collectivite, CollectiviteKind, GeoPoint, Label, PostalAddress, VerifiedBy, WebsiteCheck,
};
use crate::error::{AppError, AppResult, Problem};
use crate::referential::Referential;
use crate::service;
use crate::state::AppState;

/// The collectivité routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/collectivites",
            get(list_collectivites).post(create_collectivite),
        )
        .route(
            "/api/v1/collectivites/{username}",
            get(get_collectivite)
                .patch(update_collectivite)
                .delete(delete_collectivite),
        )
        .route(
            "/api/v1/collectivites/{username}/website/check",
            axum::routing::post(check_website),
        )
}

/// A collectivité as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CollectiviteView {
    /// Username.
    pub username: String,
    /// `username@domain`, to follow from the fediverse.
    pub handle: String,
    /// ActivityPub id (also its page).
    pub id: Url,
    /// Display name.
    pub name: String,
    /// Presentation.
    pub summary: Option<String>,
    /// Kind.
    pub kind: CollectiviteKind,
    /// COG code.
    pub insee: Option<String>,
    /// SIREN.
    pub siren: Option<String>,
    /// EPCI SIREN.
    pub epci_siren: Option<String>,
    /// EPCI name, from the referential.
    pub epci_name: Option<String>,
    /// Département code.
    pub departement: Option<String>,
    /// Département name.
    pub departement_name: Option<String>,
    /// Région code.
    pub region: Option<String>,
    /// Région name.
    pub region_name: Option<String>,
    /// Population.
    pub population: Option<i64>,
    /// Town-hall point.
    pub location: Option<GeoPoint>,
    /// Postal address.
    pub address: Option<PostalAddress>,
    /// Official website.
    pub website: Option<Url>,
    /// When the official website was last verified (it links back with `rel="me"`,
    /// or the node is on its domain); `null`: not verified, shown "non vérifiée".
    pub website_verified_at: Option<DateTime<Utc>>,
    /// How: `rel-me` or `domain`.
    pub website_verified_by: Option<VerifiedBy>,
    /// Logo.
    pub icon: Option<Url>,
    /// Labels.
    pub labels: Vec<Label>,
    /// Created.
    pub published: DateTime<Utc>,
    /// Last change.
    pub updated: DateTime<Utc>,
}

impl From<&Collectivite> for CollectiviteView {
    fn from(c: &Collectivite) -> Self {
        let referential = Referential::global();
        let p = &c.profile;
        Self {
            username: p.username.to_string(),
            handle: c.handle(),
            id: c.ap_id.clone(),
            name: p.name.clone(),
            summary: p.summary.clone(),
            kind: p.kind,
            insee: p.insee.as_ref().map(|v| v.to_string()),
            siren: p.siren.as_ref().map(|v| v.to_string()),
            epci_siren: p.epci_siren.as_ref().map(|v| v.to_string()),
            epci_name: p
                .epci_siren
                .as_ref()
                .and_then(|s| referential.epci(s.as_ref()))
                .map(|e| e.nom.clone()),
            departement: p.departement.clone(),
            departement_name: p
                .departement
                .as_deref()
                .and_then(|d| referential.departement(d))
                .map(|d| d.nom.clone()),
            region: p.region.clone(),
            region_name: p
                .region
                .as_deref()
                .and_then(|r| referential.region(r))
                .map(|r| r.nom.clone()),
            population: p.population,
            location: p.location,
            address: p.address.clone(),
            website: p.website.clone(),
            website_verified_at: c.website_check.verified_at,
            website_verified_by: c.website_check.verified_by,
            icon: p.icon.clone(),
            labels: p.labels.clone(),
            published: c.published,
            updated: c.updated,
        }
    }
}

/// What `DELETE /api/v1/collectivites/{username}` did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeletedView {
    /// The username, which stays reserved.
    pub username: String,
    /// Its former ActivityPub id (now a `Tombstone`, `410 Gone`).
    pub id: String,
    /// Its actions, tombstoned.
    pub actions: u64,
    /// Deliveries of its `Delete` queued for followers and partners.
    pub deliveries: i64,
}

/// Delete a collectivité (node-admin token): `Delete{Actor}` goes to its followers and
/// remote partners; then it and its actions answer `410 Gone`, WebFinger `404`
/// (SPEC §11).
#[utoipa::path(delete, path = "/api/v1/collectivites/{username}", tag = "collectivites",
    params(("username" = String, Path, description = "Username")),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Deleted; its Delete is being delivered", body = DeletedView),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Already deleted", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_collectivite(
    State(state): State<AppState>,
    Path(username): Path<String>,
    bearer: Bearer,
) -> AppResult<impl IntoResponse> {
    bearer.require_admin()?;
    let collectivite = find_local(&state, &username).await?;
    let deleted = service::collectivites::delete_collectivite(&state, &collectivite).await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(DeletedView {
            username: collectivite.profile.username.to_string(),
            id: collectivite.ap_id.to_string(),
            actions: deleted.actions,
            deliveries: deleted.deliveries,
        }),
    ))
}

/// The last check of a collectivité's official website.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebsiteCheckView {
    /// Official website.
    pub website: Url,
    /// When it was last verified; `null`: not verified.
    pub website_verified_at: Option<DateTime<Utc>>,
    /// How: `rel-me` or `domain`.
    pub website_verified_by: Option<VerifiedBy>,
    /// The last check.
    pub website_checked_at: Option<DateTime<Utc>>,
    /// Why it failed, in French.
    pub website_check_error: Option<String>,
}

/// Check a collectivité's official website now (its editor's or a node-admin token):
/// its page must link back to the collectivité with `rel="me"` (`<a>` or `<link>`), or
/// this node be on the website's domain. Answers the recorded outcome.
#[utoipa::path(post, path = "/api/v1/collectivites/{username}/website/check", tag = "collectivites",
    params(("username" = String, Path, description = "Username")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Checked (verified or not: see the fields)", body = WebsiteCheckView),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another collectivité's token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No official website", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn check_website(
    State(state): State<AppState>,
    Path(username): Path<String>,
    bearer: Bearer,
) -> AppResult<axum::Json<WebsiteCheckView>> {
    let collectivite = find_local(&state, &username).await?;
    bearer.require_collectivite(collectivite.id)?;
    let no_website = || {
        AppError::Validation(vec![crate::domain::FieldError::new(
            "website",
            "la collectivité n'a pas de site officiel : renseignez-le dans son profil",
        )])
    };
    let website = collectivite
        .profile
        .website
        .clone()
        .ok_or_else(no_website)?;
    let check: WebsiteCheck = service::verification::check_now(&state, collectivite.id)
        .await?
        .ok_or_else(no_website)?;
    Ok(axum::Json(WebsiteCheckView {
        website,
        website_verified_at: check.verified_at,
        website_verified_by: check.verified_by,
        website_checked_at: check.checked_at,
        website_check_error: check.error,
    }))
}

/// Create a collectivité (node-admin token).
#[utoipa::path(post, path = "/api/v1/collectivites", tag = "collectivites",
    request_body = CollectiviteBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = CollectiviteView),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Username taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_collectivite(
    State(state): State<AppState>,
    bearer: Bearer,
    ApiJson(body): ApiJson<CollectiviteBody>,
) -> AppResult<impl IntoResponse> {
    bearer.require_admin()?;
    let profile = body.into_profile()?;
    let collectivite = service::collectivites::create_collectivite(&state, profile).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CollectiviteView::from(&collectivite)),
    ))
}

/// List the collectivités hosted on this node.
#[utoipa::path(get, path = "/api/v1/collectivites", tag = "collectivites",
    responses((status = 200, description = "Hosted collectivités, by name", body = [CollectiviteView])))]
pub async fn list_collectivites(
    State(state): State<AppState>,
) -> AppResult<axum::Json<Vec<CollectiviteView>>> {
    let all = state.store.local_collectivites().await?;
    Ok(axum::Json(all.iter().map(CollectiviteView::from).collect()))
}

/// Show one collectivité.
#[utoipa::path(get, path = "/api/v1/collectivites/{username}", tag = "collectivites",
    params(("username" = String, Path, description = "Username")),
    responses(
        (status = 200, description = "The collectivité", body = CollectiviteView),
        (status = 404, description = "Unknown", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_collectivite(
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> AppResult<axum::Json<CollectiviteView>> {
    let collectivite = find_local(&state, &username).await?;
    Ok(axum::Json(CollectiviteView::from(&collectivite)))
}

/// Edit a collectivité (JSON merge patch: given fields replace, `null` clears).
#[utoipa::path(patch, path = "/api/v1/collectivites/{username}", tag = "collectivites",
    params(("username" = String, Path, description = "Username")),
    request_body(content = CollectiviteBody, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = CollectiviteView),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another collectivité's token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_collectivite(
    State(state): State<AppState>,
    Path(username): Path<String>,
    bearer: Bearer,
    ApiJson(patch): ApiJson<serde_json::Value>,
) -> AppResult<axum::Json<CollectiviteView>> {
    let collectivite = find_local(&state, &username).await?;
    bearer.require_collectivite(collectivite.id)?;
    if !patch.is_object() {
        return Err(AppError::BadRequest("un objet JSON est attendu".into()));
    }
    let mut current = serde_json::to_value(CollectiviteBody::from(&collectivite.profile))
        .map_err(anyhow::Error::from)?;
    merge_patch(&mut current, &patch);
    let body: CollectiviteBody = serde_json::from_value(current).map_err(|e| {
        AppError::Validation(vec![crate::domain::FieldError::new("body", e.to_string())])
    })?;
    let profile = body.into_profile()?;
    let updated =
        service::collectivites::update_collectivite(&state, &collectivite, profile).await?;
    Ok(axum::Json(CollectiviteView::from(&updated)))
}

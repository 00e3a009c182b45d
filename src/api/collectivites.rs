//! `/api/v1/collectivites`: create (node admin), list, show and edit collectivités.
//! [`CollectiviteBody`] → [`NewCollectivite`] is the only conversion from API input, and
//! fills what the editor left out from the referential (INSEE code, EPCI SIREN,
//! département or région code).

pub use crate::service::collectivites::find_local;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;
use utoipa::ToSchema;

use super::auth::Bearer;
use super::{ApiJson, merge_patch};
use crate::domain::{
    Collectivite, CollectiviteKind, GeoPoint, InseeCode, Label, NewCollectivite, PostalAddress,
    Siren, Username,
};
use crate::error::{AppError, AppResult, FieldErrors, Problem};
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
}

/// A point given as `{"lat": …, "lon": …}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PointBody {
    /// Latitude (-90..90).
    #[serde(alias = "latitude")]
    pub lat: f64,
    /// Longitude (-180..180).
    #[serde(alias = "longitude")]
    pub lon: f64,
}

/// A collectivité profile as sent by an editor. Only `username` is always required;
/// for a commune, `insee` fills the rest from the referential.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectiviteBody {
    /// `[a-z0-9_-]{1,64}`, part of the federated address; cannot change later.
    pub username: Option<String>,
    /// `commune` (default), `epci`, `departement`, `region`, `syndicat`, `association`, `autre`.
    pub kind: Option<String>,
    /// Display name; defaults to the referential's name.
    pub name: Option<String>,
    /// A few sentences about the collectivité and its digital policy.
    pub summary: Option<String>,
    /// COG code (required for a commune).
    pub insee: Option<String>,
    /// SIREN.
    pub siren: Option<String>,
    /// SIREN of the EPCI.
    pub epci_siren: Option<String>,
    /// Département code.
    pub departement: Option<String>,
    /// Région code.
    pub region: Option<String>,
    /// Population.
    pub population: Option<i64>,
    /// Town-hall point.
    pub location: Option<PointBody>,
    /// Postal address.
    pub address: Option<PostalAddress>,
    /// Website (http or https).
    pub website: Option<String>,
    /// Logo URL.
    pub icon: Option<String>,
    /// Labels « Territoires, Villes et Villages Internet ».
    pub labels: Option<Vec<Label>>,
}

/// Maximum length of a name.
pub const NAME_MAX: usize = 200;
/// Maximum length of a summary.
pub const SUMMARY_MAX: usize = 2000;

/// Parses an `http(s)` URL field.
pub fn parse_web_url(value: &str) -> Result<Url, String> {
    match Url::parse(value.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => Ok(url),
        _ => Err(format!(
            "« {value} » n'est pas une adresse web (http:// ou https://)"
        )),
    }
}

impl CollectiviteBody {
    /// Validates the body and completes it from the referential.
    ///
    /// # Errors
    /// [`AppError::Validation`] listing every invalid field.
    pub fn into_profile(self) -> AppResult<NewCollectivite> {
        let mut errors = FieldErrors::default();
        let referential = Referential::global();
        let username = match self.username.as_deref() {
            None => {
                errors.push("username", "obligatoire");
                None
            }
            Some(u) => errors.check("username", Username::parse(u)).filter(|u| {
                // Theme slugs, dep-* and reg-* name the aggregator's groups.
                let reserved = crate::federation::groups::GroupKind::parse(u.as_ref()).is_some();
                if reserved {
                    errors.push(
                        "username",
                        format!(
                            "« {u} » est réservé aux fils thématiques et territoriaux de l'annuaire"
                        ),
                    );
                }
                !reserved
            }),
        };
        let kind = match self.kind.as_deref() {
            None => Some(CollectiviteKind::Commune),
            Some(k) => errors.check("kind", CollectiviteKind::parse(k)),
        };
        let insee = self
            .insee
            .as_deref()
            .and_then(|i| errors.check("insee", InseeCode::parse(i)));
        let commune = match &insee {
            Some(code) => {
                let found = referential.commune(code);
                if found.is_none() {
                    errors.push(
                        "insee",
                        format!("aucune commune actuelle n'a le code INSEE « {code} »"),
                    );
                }
                found
            }
            None => {
                if kind == Some(CollectiviteKind::Commune) && self.insee.is_none() {
                    errors.push("insee", "obligatoire pour une commune");
                }
                None
            }
        };
        let siren = self
            .siren
            .as_deref()
            .and_then(|s| errors.check("siren", Siren::parse(s)))
            .or_else(|| commune.and_then(|c| Siren::parse(&c.siren).ok()));
        let epci_siren = self
            .epci_siren
            .as_deref()
            .and_then(|s| errors.check("epci_siren", Siren::parse(s)))
            .or_else(|| commune.and_then(|c| Siren::parse(&c.epci_siren).ok()));
        let epci = match kind {
            Some(CollectiviteKind::Epci) => {
                siren.as_ref().and_then(|s| referential.epci(s.as_ref()))
            }
            _ => None,
        };
        let departement = self
            .departement
            .clone()
            .or_else(|| commune.map(|c| c.departement.clone()));
        if let Some(code) = &departement {
            if referential.departement(code).is_none() {
                errors.push("departement", format!("département « {code} » inconnu"));
            }
        }
        let region = self
            .region
            .clone()
            .or_else(|| commune.map(|c| c.region.clone()))
            .or_else(|| {
                departement
                    .as_deref()
                    .and_then(|d| referential.departement(d))
                    .map(|d| d.region.clone())
            });
        if let Some(code) = &region {
            if referential.region(code).is_none() {
                errors.push("region", format!("région « {code} » inconnue"));
            }
        }
        let referential_name = commune
            .map(|c| c.nom.clone())
            .or_else(|| epci.map(|e| e.nom.clone()))
            .or_else(|| match kind {
                Some(CollectiviteKind::Departement) => departement
                    .as_deref()
                    .and_then(|d| referential.departement(d))
                    .map(|d| d.nom.clone()),
                Some(CollectiviteKind::Region) => region
                    .as_deref()
                    .and_then(|r| referential.region(r))
                    .map(|r| r.nom.clone()),
                _ => None,
            });
        let name = match self.name.as_deref().map(str::trim) {
            Some("") => {
                errors.push("name", "ne peut pas être vide");
                None
            }
            Some(n) if n.chars().count() > NAME_MAX => {
                errors.push("name", format!("{NAME_MAX} caractères au plus"));
                None
            }
            Some(n) => Some(n.to_string()),
            None => {
                if referential_name.is_none() {
                    errors.push("name", "obligatoire (aucun nom trouvé dans le référentiel)");
                }
                referential_name
            }
        };
        let summary = self
            .summary
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        if summary
            .as_ref()
            .is_some_and(|s| s.chars().count() > SUMMARY_MAX)
        {
            errors.push("summary", format!("{SUMMARY_MAX} caractères au plus"));
        }
        let population = self
            .population
            .or_else(|| commune.and_then(|c| c.population))
            .or_else(|| epci.and_then(|e| e.population));
        if population.is_some_and(|p| p < 0) {
            errors.push("population", "ne peut pas être négative");
        }
        let location = match self.location {
            Some(point) => match GeoPoint::new(point.lat, point.lon) {
                Ok(point) => Some(point),
                Err((field, message)) => {
                    errors.push(format!("location.{}", &field[..3]), message);
                    None
                }
            },
            None => commune.and_then(|c| c.point()),
        };
        let address = self.address.or_else(|| {
            commune.map(|c| PostalAddress {
                street: None,
                postal_code: c.postal_code().map(str::to_string),
                locality: Some(c.nom.clone()),
            })
        });
        let website = self
            .website
            .as_deref()
            .and_then(|w| errors.check("website", parse_web_url(w)));
        let icon = self
            .icon
            .as_deref()
            .and_then(|w| errors.check("icon", parse_web_url(w)));
        let labels = self.labels.unwrap_or_default();
        for (i, label) in labels.iter().enumerate() {
            if let Err((field, message)) = label.validate() {
                errors.push(format!("labels[{i}].{field}"), message);
            }
        }
        errors.finish(|| NewCollectivite {
            username: username.expect("BUG: checked"),
            name: name.expect("BUG: checked"),
            summary,
            kind: kind.expect("BUG: checked"),
            insee,
            siren,
            epci_siren,
            departement,
            region,
            population,
            location,
            address,
            website,
            icon,
            labels,
        })
    }
}

impl From<&NewCollectivite> for CollectiviteBody {
    fn from(p: &NewCollectivite) -> Self {
        Self {
            username: Some(p.username.to_string()),
            kind: Some(p.kind.as_str().to_string()),
            name: Some(p.name.clone()),
            summary: p.summary.clone(),
            insee: p.insee.as_ref().map(|v| v.to_string()),
            siren: p.siren.as_ref().map(|v| v.to_string()),
            epci_siren: p.epci_siren.as_ref().map(|v| v.to_string()),
            departement: p.departement.clone(),
            region: p.region.clone(),
            population: p.population,
            location: p.location.map(|l| PointBody {
                lat: l.lat,
                lon: l.lon,
            }),
            address: p.address.clone(),
            website: p.website.as_ref().map(|u| u.to_string()),
            icon: p.icon.as_ref().map(|u| u.to_string()),
            labels: Some(p.labels.clone()),
        }
    }
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
    /// Website.
    pub website: Option<Url>,
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
        AppError::Validation(vec![crate::error::FieldError::new("body", e.to_string())])
    })?;
    let profile = body.into_profile()?;
    let updated =
        service::collectivites::update_collectivite(&state, &collectivite, profile).await?;
    Ok(axum::Json(CollectiviteView::from(&updated)))
}

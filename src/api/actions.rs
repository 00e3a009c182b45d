//! `/api/v1/…/actions`: publish, read, edit and delete actions (SPEC §2, §6).
//! [`ActionBody`] is the editor's JSON (also the file format of `maillage action create`);
//! `TryFrom<ActionBody> for NewAction` validates every field and reports them all.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use url::Url;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::{Bearer, MaybeBearer};
use super::collectivites::{NAME_MAX, find_local, parse_web_url};
use super::{ApiJson, merge_patch};
use crate::domain::{
    Action, Contact, GeoPoint, InseeCode, LinkRef, NewAction, Phase, Place, PostalAddress,
    Provider, RichText, Siren, Software, Status, TextFormat, ThemeSlug,
};
use crate::error::{AppError, AppResult, FieldError, FieldErrors, Problem};
use crate::service;
use crate::state::AppState;

/// The action routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/collectivites/{username}/actions",
            get(list_actions).post(create_action),
        )
        .route(
            "/api/v1/actions/{id}",
            get(get_action).patch(update_action).delete(delete_action),
        )
        .route("/api/v1/actions/{id}/nearby", get(list_nearby))
}

/// Maximum length of a summary (Mastodon shows it whole).
pub const SUMMARY_MAX: usize = 500;
/// Maximum length of `content`, `results` and `recommendations` as written.
pub const TEXT_MAX: usize = 50_000;
/// Maximum number of items in each list (places, software, links…).
pub const LIST_MAX: usize = 50;

/// A place of an action.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceBody {
    /// Name of the place.
    pub name: Option<String>,
    /// Latitude (-90..90).
    #[serde(alias = "latitude")]
    pub lat: Option<f64>,
    /// Longitude (-180..180).
    #[serde(alias = "longitude")]
    pub lon: Option<f64>,
    /// Commune code; fills name and point from the referential when they are missing.
    pub insee: Option<String>,
    /// Postal address.
    pub address: Option<PostalAddress>,
}

/// A piece of software.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SoftwareBody {
    /// Name.
    pub name: Option<String>,
    /// Home page.
    pub url: Option<String>,
    /// SPDX licence id.
    pub licence: Option<String>,
    /// SILL id.
    pub sill_id: Option<String>,
    /// Comptoir du Libre id.
    pub comptoir_id: Option<String>,
    /// Wikidata id (`Q…`).
    pub wikidata: Option<String>,
}

/// A provider.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderBody {
    /// Company name.
    pub name: Option<String>,
    /// SIREN.
    pub siren: Option<String>,
    /// Website.
    pub url: Option<String>,
}

/// A link or an image.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    /// Address.
    pub url: Option<String>,
    /// Description.
    pub description: Option<String>,
}

/// A contact person.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    /// Name.
    pub name: Option<String>,
    /// Role.
    pub role: Option<String>,
    /// E-mail.
    pub email: Option<String>,
}

/// An action as written by an editor (SPEC §2 field names).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    /// Title (required, 200 characters at most).
    pub name: Option<String>,
    /// Subtitle: what it is, in one or two sentences (shown by Mastodon).
    pub summary: Option<String>,
    /// What it is (required), in `format`.
    pub content: Option<String>,
    /// `markdown` (default) or `html`, for `content`, `results` and `recommendations`.
    pub format: Option<TextFormat>,
    /// What came of it.
    pub results: Option<String>,
    /// What others should know before doing the same.
    pub recommendations: Option<String>,
    /// `idee`, `etude`, `realisation` (default) or `service`.
    pub phase: Option<String>,
    /// `en-cours` (default), `en-pause`, `abandonne` or `termine`.
    pub status: Option<String>,
    /// Theme slugs (at least one).
    pub themes: Option<Vec<String>>,
    /// Places; the collectivité's town hall when empty.
    pub location: Option<Vec<PlaceBody>>,
    /// Start date (`YYYY-MM-DD`).
    pub start_date: Option<String>,
    /// End date (`YYYY-MM-DD`), not before the start.
    pub end_date: Option<String>,
    /// Budget in euros.
    pub budget_eur: Option<i64>,
    /// Other authorities are invited to join (appel à mutualisation).
    pub open_to_partners: Option<bool>,
    /// Software used.
    pub software: Option<Vec<SoftwareBody>>,
    /// Providers.
    pub providers: Option<Vec<ProviderBody>>,
    /// Links.
    pub links: Option<Vec<LinkBody>>,
    /// Images.
    pub images: Option<Vec<LinkBody>>,
    /// Contacts (published only with `contacts_public`).
    pub contacts: Option<Vec<ContactBody>>,
    /// The people listed consent to their contact being published.
    pub contacts_public: Option<bool>,
}

fn required_text(
    errors: &mut FieldErrors,
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Option<String> {
    match value.map(str::trim) {
        None => {
            errors.push(field, "obligatoire");
            None
        }
        Some("") => {
            errors.push(field, "ne peut pas être vide");
            None
        }
        Some(text) if text.chars().count() > max => {
            errors.push(field, format!("trop long : {max} caractères au plus"));
            None
        }
        Some(text) => Some(text.to_string()),
    }
}

fn optional_text(
    errors: &mut FieldErrors,
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Option<String> {
    match value.map(str::trim) {
        None | Some("") => None,
        Some(text) if text.chars().count() > max => {
            errors.push(field, format!("trop long : {max} caractères au plus"));
            None
        }
        Some(text) => Some(text.to_string()),
    }
}

fn list<T>(errors: &mut FieldErrors, field: &str, value: Option<Vec<T>>) -> Vec<T> {
    let items = value.unwrap_or_default();
    if items.len() > LIST_MAX {
        errors.push(field, format!("{LIST_MAX} éléments au plus"));
        return Vec::new();
    }
    items
}

fn date(errors: &mut FieldErrors, field: &str, value: Option<&str>) -> Option<NaiveDate> {
    let value = value.map(str::trim).filter(|v| !v.is_empty())?;
    errors.check(
        field,
        NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .map_err(|_| format!("« {value} » n'est pas une date AAAA-MM-JJ")),
    )
}

fn place(errors: &mut FieldErrors, i: usize, body: PlaceBody) -> Option<Place> {
    let field = |name: &str| format!("location[{i}].{name}");
    let referential = crate::referential::Referential::global();
    let insee = body
        .insee
        .as_deref()
        .and_then(|code| errors.check(field("insee"), InseeCode::parse(code)));
    let commune = insee.as_ref().and_then(|code| referential.commune(code));
    if insee.is_some() && commune.is_none() {
        errors.push(field("insee"), "aucune commune actuelle n'a ce code INSEE");
    }
    let point = match (body.lat, body.lon) {
        (Some(lat), Some(lon)) => match GeoPoint::new(lat, lon) {
            Ok(point) => Some(point),
            Err((which, message)) => {
                errors.push(field(&which[..3]), message);
                None
            }
        },
        (None, None) => commune.and_then(|c| c.point()),
        (Some(_), None) => {
            errors.push(
                field("lon"),
                "longitude manquante (lat et lon vont ensemble)",
            );
            None
        }
        (None, Some(_)) => {
            errors.push(
                field("lat"),
                "latitude manquante (lat et lon vont ensemble)",
            );
            None
        }
    };
    let name = body
        .name
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .or_else(|| commune.map(|c| c.nom.clone()));
    let Some(name) = name else {
        errors.push(field("name"), "obligatoire (ou un code INSEE)");
        return None;
    };
    Some(Place {
        name,
        point,
        insee,
        address: body.address.filter(|a| !a.is_empty()),
    })
}

impl TryFrom<ActionBody> for NewAction {
    type Error = AppError;

    fn try_from(body: ActionBody) -> Result<Self, AppError> {
        let mut errors = FieldErrors::default();
        let format = body.format.unwrap_or_default();
        let name = required_text(&mut errors, "name", body.name.as_deref(), NAME_MAX);
        let summary = optional_text(&mut errors, "summary", body.summary.as_deref(), SUMMARY_MAX);
        let content = required_text(&mut errors, "content", body.content.as_deref(), TEXT_MAX)
            .map(|text| RichText::render(&text, format));
        let results = optional_text(&mut errors, "results", body.results.as_deref(), TEXT_MAX)
            .map(|text| RichText::render(&text, format));
        let recommendations = optional_text(
            &mut errors,
            "recommendations",
            body.recommendations.as_deref(),
            TEXT_MAX,
        )
        .map(|text| RichText::render(&text, format));
        let phase = match body.phase.as_deref() {
            None => Some(Phase::Realisation),
            Some(p) => errors.check("phase", Phase::parse(p)),
        };
        let status = match body.status.as_deref() {
            None => Some(Status::EnCours),
            Some(s) => errors.check("status", Status::parse(s)),
        };
        let mut themes: Vec<ThemeSlug> = Vec::new();
        match body.themes {
            None => errors.push("themes", "obligatoire : au moins un thème"),
            Some(list) if list.is_empty() => errors.push("themes", "au moins un thème"),
            Some(list) => {
                for (i, slug) in list.iter().enumerate() {
                    if let Some(theme) =
                        errors.check(format!("themes[{i}]"), ThemeSlug::parse(slug))
                    {
                        if !themes.contains(&theme) {
                            themes.push(theme);
                        }
                    }
                }
            }
        }
        let locations: Vec<Place> = list(&mut errors, "location", body.location)
            .into_iter()
            .enumerate()
            .filter_map(|(i, p)| place(&mut errors, i, p))
            .collect();
        let start_date = date(&mut errors, "start_date", body.start_date.as_deref());
        let end_date = date(&mut errors, "end_date", body.end_date.as_deref());
        if let (Some(start), Some(end)) = (start_date, end_date) {
            if end < start {
                errors.push(
                    "end_date",
                    format!("la date de fin ({end}) précède la date de début ({start})"),
                );
            }
        }
        if body.budget_eur.is_some_and(|b| b < 0) {
            errors.push("budget_eur", "ne peut pas être négatif");
        }
        let software = list(&mut errors, "software", body.software)
            .into_iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let field = |n: &str| format!("software[{i}].{n}");
                let name = required_text(&mut errors, &field("name"), s.name.as_deref(), NAME_MAX)?;
                Some(Software {
                    name,
                    url: s
                        .url
                        .as_deref()
                        .and_then(|u| errors.check(field("url"), parse_web_url(u))),
                    licence: optional_text(
                        &mut errors,
                        &field("licence"),
                        s.licence.as_deref(),
                        100,
                    ),
                    sill_id: optional_text(
                        &mut errors,
                        &field("sill_id"),
                        s.sill_id.as_deref(),
                        50,
                    ),
                    comptoir_id: optional_text(
                        &mut errors,
                        &field("comptoir_id"),
                        s.comptoir_id.as_deref(),
                        50,
                    ),
                    wikidata: optional_text(
                        &mut errors,
                        &field("wikidata"),
                        s.wikidata.as_deref(),
                        50,
                    ),
                })
            })
            .collect();
        let providers = list(&mut errors, "providers", body.providers)
            .into_iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let field = |n: &str| format!("providers[{i}].{n}");
                let name = required_text(&mut errors, &field("name"), p.name.as_deref(), NAME_MAX)?;
                Some(Provider {
                    name,
                    siren: p
                        .siren
                        .as_deref()
                        .and_then(|s| errors.check(field("siren"), Siren::parse(s))),
                    url: p
                        .url
                        .as_deref()
                        .and_then(|u| errors.check(field("url"), parse_web_url(u))),
                })
            })
            .collect();
        let link_list =
            |field: &str, value: Option<Vec<LinkBody>>, errors: &mut FieldErrors| -> Vec<LinkRef> {
                list(errors, field, value)
                    .into_iter()
                    .enumerate()
                    .filter_map(|(i, l)| {
                        let Some(url) = l.url.as_deref() else {
                            errors.push(format!("{field}[{i}].url"), "obligatoire");
                            return None;
                        };
                        Some(LinkRef {
                            url: errors.check(format!("{field}[{i}].url"), parse_web_url(url))?,
                            description: optional_text(
                                errors,
                                &format!("{field}[{i}].description"),
                                l.description.as_deref(),
                                500,
                            ),
                        })
                    })
                    .collect()
            };
        let links = link_list("links", body.links, &mut errors);
        let images = link_list("images", body.images, &mut errors);
        let contacts = list(&mut errors, "contacts", body.contacts)
            .into_iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let field = |n: &str| format!("contacts[{i}].{n}");
                let name = required_text(&mut errors, &field("name"), c.name.as_deref(), NAME_MAX)?;
                let email = optional_text(&mut errors, &field("email"), c.email.as_deref(), 254);
                if let Some(email) = &email {
                    let ok = email.split_once('@').is_some_and(|(user, host)| {
                        !user.is_empty()
                            && host.contains('.')
                            && !email.contains(char::is_whitespace)
                    });
                    if !ok {
                        errors.push(
                            field("email"),
                            format!("« {email} » n'est pas une adresse e-mail"),
                        );
                    }
                }
                Some(Contact {
                    name,
                    role: optional_text(&mut errors, &field("role"), c.role.as_deref(), NAME_MAX),
                    email,
                })
            })
            .collect();
        errors.finish(|| NewAction {
            name: name.expect("BUG: checked"),
            summary,
            content: content.expect("BUG: checked"),
            results,
            recommendations,
            phase: phase.expect("BUG: checked"),
            status: status.expect("BUG: checked"),
            themes,
            locations,
            start_date,
            end_date,
            budget_eur: body.budget_eur,
            open_to_partners: body.open_to_partners.unwrap_or(false),
            software,
            providers,
            links,
            images,
            contacts,
            contacts_public: body.contacts_public.unwrap_or(false),
        })
    }
}

fn text_back(text: &RichText) -> String {
    text.source.clone().unwrap_or_else(|| text.html.to_string())
}

impl From<&NewAction> for ActionBody {
    fn from(d: &NewAction) -> Self {
        let format = if d.content.source.is_some() {
            TextFormat::Markdown
        } else {
            TextFormat::Html
        };
        Self {
            name: Some(d.name.clone()),
            summary: d.summary.clone(),
            content: Some(text_back(&d.content)),
            format: Some(format),
            results: d.results.as_ref().map(text_back),
            recommendations: d.recommendations.as_ref().map(text_back),
            phase: Some(d.phase.as_str().into()),
            status: Some(d.status.as_str().into()),
            themes: Some(d.themes.iter().map(|t| t.to_string()).collect()),
            location: Some(
                d.locations
                    .iter()
                    .map(|p| PlaceBody {
                        name: Some(p.name.clone()),
                        lat: p.point.map(|x| x.lat),
                        lon: p.point.map(|x| x.lon),
                        insee: p.insee.as_ref().map(|i| i.to_string()),
                        address: p.address.clone(),
                    })
                    .collect(),
            ),
            start_date: d.start_date.map(|x| x.to_string()),
            end_date: d.end_date.map(|x| x.to_string()),
            budget_eur: d.budget_eur,
            open_to_partners: Some(d.open_to_partners),
            software: Some(
                d.software
                    .iter()
                    .map(|s| SoftwareBody {
                        name: Some(s.name.clone()),
                        url: s.url.as_ref().map(|u| u.to_string()),
                        licence: s.licence.clone(),
                        sill_id: s.sill_id.clone(),
                        comptoir_id: s.comptoir_id.clone(),
                        wikidata: s.wikidata.clone(),
                    })
                    .collect(),
            ),
            providers: Some(
                d.providers
                    .iter()
                    .map(|p| ProviderBody {
                        name: Some(p.name.clone()),
                        siren: p.siren.as_ref().map(|s| s.to_string()),
                        url: p.url.as_ref().map(|u| u.to_string()),
                    })
                    .collect(),
            ),
            links: Some(d.links.iter().map(link_back).collect()),
            images: Some(d.images.iter().map(link_back).collect()),
            contacts: Some(
                d.contacts
                    .iter()
                    .map(|c| ContactBody {
                        name: Some(c.name.clone()),
                        role: c.role.clone(),
                        email: c.email.clone(),
                    })
                    .collect(),
            ),
            contacts_public: Some(d.contacts_public),
        }
    }
}

fn link_back(l: &LinkRef) -> LinkBody {
    LinkBody {
        url: Some(l.url.to_string()),
        description: l.description.clone(),
    }
}

/// Who owns an action, as shown with it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OwnerView {
    /// Username.
    pub username: String,
    /// `username@domain`.
    pub handle: String,
    /// Display name.
    pub name: String,
    /// Actor id.
    pub id: Url,
}

impl OwnerView {
    /// The owner of `action`.
    pub fn of(action: &Action) -> Self {
        Self {
            username: action.owner.username.clone(),
            handle: format!("{}@{}", action.owner.username, action.owner.domain),
            name: action.owner.name.clone(),
            id: action.owner.ap_id.clone(),
        }
    }
}

/// An action as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionView {
    /// Public id.
    pub uuid: Uuid,
    /// ActivityPub id (also its page).
    pub id: Url,
    /// HTML page.
    pub url: Url,
    /// Owner.
    pub collectivite: OwnerView,
    /// Title.
    pub name: String,
    /// Subtitle.
    pub summary: Option<String>,
    /// Sanitised HTML.
    pub content: String,
    /// Markdown source, when written in Markdown.
    pub content_source: Option<String>,
    /// Results (HTML).
    pub results: Option<String>,
    /// Recommendations (HTML).
    pub recommendations: Option<String>,
    /// Phase.
    pub phase: Phase,
    /// Status.
    pub status: Status,
    /// Theme slugs.
    pub themes: Vec<String>,
    /// Places.
    pub location: Vec<Place>,
    /// Start.
    pub start_date: Option<NaiveDate>,
    /// End.
    pub end_date: Option<NaiveDate>,
    /// Budget in euros.
    pub budget_eur: Option<i64>,
    /// Partners (actor ids).
    pub partners: Vec<Url>,
    /// Open to partners.
    pub open_to_partners: bool,
    /// Software.
    pub software: Vec<Software>,
    /// Providers.
    pub providers: Vec<Provider>,
    /// Links.
    pub links: Vec<LinkRef>,
    /// Images.
    pub images: Vec<LinkRef>,
    /// Contacts: shown when public, or to the owner's token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contacts: Option<Vec<Contact>>,
    /// Consent to publish the contacts.
    pub contacts_public: bool,
    /// First published.
    pub published: DateTime<Utc>,
    /// Last updated.
    pub updated: DateTime<Utc>,
}

impl ActionView {
    /// The view of `action`; `show_contacts` for the owner even without consent.
    pub fn new(action: &Action, show_contacts: bool) -> Self {
        let d = &action.data;
        Self {
            uuid: action.id.0,
            id: action.ap_id.clone(),
            url: action.url.clone(),
            collectivite: OwnerView::of(action),
            name: d.name.clone(),
            summary: d.summary.clone(),
            content: d.content.html.to_string(),
            content_source: d.content.source.clone(),
            results: d.results.as_ref().map(|r| r.html.to_string()),
            recommendations: d.recommendations.as_ref().map(|r| r.html.to_string()),
            phase: d.phase,
            status: d.status,
            themes: d.themes.iter().map(|t| t.to_string()).collect(),
            location: d.locations.clone(),
            start_date: d.start_date,
            end_date: d.end_date,
            budget_eur: d.budget_eur,
            partners: action.partners.clone(),
            open_to_partners: d.open_to_partners,
            software: d.software.clone(),
            providers: d.providers.clone(),
            links: d.links.clone(),
            images: d.images.clone(),
            contacts: (d.contacts_public || show_contacts).then(|| d.contacts.clone()),
            contacts_public: d.contacts_public,
            published: action.published,
            updated: action.updated,
        }
    }
}

/// An action of another collectivité near an action ("projets proches").
#[derive(Debug, Serialize, ToSchema)]
pub struct NearbyView {
    /// Public id (its own `/nearby` works on the node that holds it).
    pub uuid: Uuid,
    /// ActivityPub id.
    pub id: Url,
    /// HTML page (on its own node).
    pub url: Url,
    /// Owner: the collectivité to contact.
    pub collectivite: OwnerView,
    /// Title.
    pub name: String,
    /// Subtitle.
    pub summary: Option<String>,
    /// Phase.
    pub phase: Phase,
    /// Theme slugs.
    pub themes: Vec<String>,
    /// The theme slugs it shares with the action asked about.
    pub shared_themes: Vec<String>,
    /// Last updated.
    pub updated: DateTime<Utc>,
}

impl NearbyView {
    /// The view of `near`, an action near `action`.
    pub fn new(action: &Action, near: &Action) -> Self {
        Self {
            uuid: near.id.0,
            id: near.ap_id.clone(),
            url: near.url.clone(),
            collectivite: OwnerView::of(near),
            name: near.data.name.clone(),
            summary: near.data.summary.clone(),
            phase: near.data.phase,
            themes: near.data.themes.iter().map(|t| t.to_string()).collect(),
            shared_themes: near
                .data
                .themes
                .iter()
                .filter(|t| action.data.themes.contains(t))
                .map(|t| t.to_string())
                .collect(),
            updated: near.updated,
        }
    }
}

/// A page of actions.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionList {
    /// Actions, newest first.
    pub items: Vec<ActionView>,
    /// Number of live actions of the collectivité.
    pub total: i64,
    /// Cursor of the next page, if any.
    pub next: Option<String>,
}

/// `?limit=&cursor=` of a list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// Items per page (1..100, default 20).
    pub limit: Option<String>,
    /// Cursor from the previous page's `next`.
    pub cursor: Option<String>,
}

fn parse_uuid(id: &str) -> AppResult<Uuid> {
    Uuid::parse_str(id).map_err(|_| {
        AppError::NotFound(format!("« {id} » n'est pas un identifiant d'action (UUID)"))
    })
}

/// A local, live action, or 404 / 410.
pub(crate) async fn find_action(state: &AppState, id: &str) -> AppResult<Action> {
    let action = state
        .store
        .action(parse_uuid(id)?)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("aucune action « {id} »")))?;
    if let Some(when) = action.deleted {
        return Err(AppError::Gone(format!(
            "l'action « {} » a été supprimée le {}",
            action.data.name,
            when.format("%d/%m/%Y")
        )));
    }
    Ok(action)
}

fn owns(token: Option<&crate::db::tokens::TokenRecord>, action: &Action) -> bool {
    token.is_some_and(|t| t.admin || t.actor_id == Some(action.owner.id))
}

/// Publish an action.
#[utoipa::path(post, path = "/api/v1/collectivites/{username}/actions", tag = "actions",
    params(("username" = String, Path, description = "Owner")),
    request_body = ActionBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Published", body = ActionView),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another collectivité's token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown collectivité", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_action(
    State(state): State<AppState>,
    Path(username): Path<String>,
    bearer: Bearer,
    ApiJson(body): ApiJson<ActionBody>,
) -> AppResult<impl IntoResponse> {
    let owner = find_local(&state, &username).await?;
    bearer.require_collectivite(owner.id)?;
    let data = NewAction::try_from(body)?;
    let action = service::actions::create_action(&state, &owner, data).await?;
    let location = action.ap_id.to_string();
    Ok((
        StatusCode::CREATED,
        [(axum::http::header::LOCATION, location)],
        axum::Json(ActionView::new(&action, true)),
    ))
}

/// List a collectivité's actions, newest first.
#[utoipa::path(get, path = "/api/v1/collectivites/{username}/actions", tag = "actions",
    params(("username" = String, Path, description = "Owner"), ListQuery),
    responses(
        (status = 200, description = "A page of actions", body = ActionList),
        (status = 400, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown collectivité", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_actions(
    State(state): State<AppState>,
    Path(username): Path<String>,
    Query(query): Query<ListQuery>,
    MaybeBearer(token): MaybeBearer,
) -> AppResult<axum::Json<ActionList>> {
    let owner = find_local(&state, &username).await?;
    let limit = match query.limit.as_deref() {
        None => 20,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=100).contains(l))
            .ok_or_else(|| {
                AppError::Validation(vec![FieldError::new("limit", "un entier de 1 à 100")])
            })?,
    };
    let cursor = query
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<i64>().map_err(|_| {
                AppError::Validation(vec![FieldError::new("cursor", "curseur invalide")])
            })
        })
        .transpose()?;
    let actions = state.store.actions_of(owner.id, cursor, limit).await?;
    let total = state.store.count_actions_of(owner.id).await?;
    let next = (actions.len() as i64 == limit)
        .then(|| actions.last().map(|a| a.db_id.to_string()))
        .flatten();
    Ok(axum::Json(ActionList {
        items: actions
            .iter()
            .map(|a| ActionView::new(a, owns(token.as_ref(), a)))
            .collect(),
        total,
        next,
    }))
}

/// Read an action.
#[utoipa::path(get, path = "/api/v1/actions/{id}", tag = "actions",
    params(("id" = Uuid, Path, description = "Action UUID")),
    responses(
        (status = 200, description = "The action", body = ActionView),
        (status = 404, description = "Unknown", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Deleted", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_action(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MaybeBearer(token): MaybeBearer,
) -> AppResult<axum::Json<ActionView>> {
    let action = find_action(&state, &id).await?;
    let show_contacts = owns(token.as_ref(), &action);
    Ok(axum::Json(ActionView::new(&action, show_contacts)))
}

/// "Projets proches" (issue 18): up to 5 live actions of other collectivités on the
/// same themes and with similar words, best first (most shared themes, then text
/// similarity of title and summary, then the latest updated), from every action this
/// node holds (an aggregator: the network it follows); blocked domains left out.
#[utoipa::path(get, path = "/api/v1/actions/{id}/nearby", tag = "actions",
    params(("id" = Uuid, Path, description = "Action UUID")),
    responses(
        (status = 200, description = "Nearby actions, best first (possibly none)", body = [NearbyView]),
        (status = 404, description = "Unknown", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Deleted", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_nearby(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<axum::Json<Vec<NearbyView>>> {
    let action = find_action(&state, &id).await?;
    let nearby = service::nearby::nearby(&state, &action).await?;
    Ok(axum::Json(
        nearby
            .iter()
            .map(|near| NearbyView::new(&action, near))
            .collect(),
    ))
}

/// Edit an action (JSON merge patch: given fields replace, `null` clears); validated
/// like a creation, then an `Update` is published.
#[utoipa::path(patch, path = "/api/v1/actions/{id}", tag = "actions",
    params(("id" = Uuid, Path, description = "Action UUID")),
    request_body(content = ActionBody, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = ActionView),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another collectivité's token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Deleted", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_action(
    State(state): State<AppState>,
    Path(id): Path<String>,
    bearer: Bearer,
    ApiJson(patch): ApiJson<serde_json::Value>,
) -> AppResult<axum::Json<ActionView>> {
    let action = find_action(&state, &id).await?;
    if !action.local {
        return Err(AppError::Forbidden(
            "cette action est publiée par un autre nœud".into(),
        ));
    }
    bearer.require_collectivite(action.owner.id)?;
    if !patch.is_object() {
        return Err(AppError::BadRequest("un objet JSON est attendu".into()));
    }
    let mut current =
        serde_json::to_value(ActionBody::from(&action.data)).map_err(anyhow::Error::from)?;
    merge_patch(&mut current, &patch);
    let body: ActionBody = serde_json::from_value(current)
        .map_err(|e| AppError::Validation(vec![FieldError::new("body", e.to_string())]))?;
    let data = NewAction::try_from(body)?;
    let updated = service::actions::update_action(&state, &action, data).await?;
    Ok(axum::Json(ActionView::new(&updated, true)))
}

/// Delete an action: it becomes a `Tombstone` and a `Delete` is published.
#[utoipa::path(delete, path = "/api/v1/actions/{id}", tag = "actions",
    params(("id" = Uuid, Path, description = "Action UUID")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another collectivité's token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Already deleted", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_action(
    State(state): State<AppState>,
    Path(id): Path<String>,
    bearer: Bearer,
) -> AppResult<StatusCode> {
    let action = find_action(&state, &id).await?;
    if !action.local {
        return Err(AppError::Forbidden(
            "cette action est publiée par un autre nœud".into(),
        ));
    }
    bearer.require_collectivite(action.owner.id)?;
    service::actions::delete_action(&state, &action).await?;
    Ok(StatusCode::NO_CONTENT)
}

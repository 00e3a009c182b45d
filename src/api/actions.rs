//! `/api/v1/…/actions`: publish, read, edit and delete actions (SPEC §2, §6).
//! The body is the draft [`ActionBody`] (`domain::drafts`), validated there; who may
//! read or edit an action is `service::permissions`.

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
use super::collectivites::find_local;
use super::{ApiJson, merge_patch};
use crate::domain::drafts::ActionBody;
use crate::domain::{
    Action, Contact, FieldError, LinkRef, NewAction, Phase, Place, Provider, Software, Status,
};
use crate::error::{AppError, AppResult, Problem};
use crate::service;
use crate::service::permissions;
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
    /// Its official website.
    pub website: Option<Url>,
    /// When its official website was last verified; `null`: not verified ("non
    /// vérifiée").
    pub website_verified_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl OwnerView {
    /// The owner of `action`.
    pub fn of(action: &Action) -> Self {
        Self {
            username: action.owner.username.clone(),
            handle: format!("{}@{}", action.owner.username, action.owner.domain),
            name: action.owner.name.clone(),
            id: action.owner.ap_id.clone(),
            website: action.owner.website.clone(),
            website_verified_at: action.owner.website_verified_at,
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
        (status = 410, description = "The collectivité was deleted (also while the request ran)", body = Problem, content_type = "application/problem+json"),
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
    let action = permissions::live_action(&state, &id).await?;
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
    let action = permissions::live_action(&state, &id).await?;
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
    let action = permissions::editable_action(&state, &id).await?;
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
    let action = permissions::editable_action(&state, &id).await?;
    bearer.require_collectivite(action.owner.id)?;
    service::actions::delete_action(&state, &action).await?;
    Ok(StatusCode::NO_CONTENT)
}

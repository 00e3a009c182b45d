//! The admin's forms for one collectivité (SPEC §5): its profile, its actions (list,
//! publish, edit, delete) and the import of a spreadsheet.
//!
//! Forms are read from the raw `application/x-www-form-urlencoded` body (browsers repeat
//! the `themes` key, which `axum::Form` cannot read), turned into the drafts
//! ([`ActionBody`], [`CollectiviteBody`], `domain::drafts`) and validated by the same code
//! as the API.
//! Invalid fields come back next to their inputs with everything typed kept (`422`).
//! Every `POST` checks the session's CSRF token; an editor only reaches the
//! collectivités it edits (`404` otherwise).

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

use super::Editor;
use crate::domain::drafts::{
    ActionBody, CollectiviteBody, LinkBody, PlaceBody, ProviderBody, SoftwareBody,
};
use crate::domain::{
    Action, Collectivite, GeoPoint, NewAction, Phase, Place, PostalAddress, Status, TextFormat,
};
use crate::domain::{FieldError, InvalidFields};
use crate::error::{AppError, AppResult};
use crate::referential::Referential;
use crate::service;
use crate::service::import::{ImportReport, RowOutcome};
use crate::state::AppState;
use crate::taxonomy::Taxonomy;
use crate::web::pages::{french_date, html};

/// Actions listed per page in the admin.
const PAGE_SIZE: i64 = 100;

/// Form routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/c/{username}/profil",
            get(profile_form).post(save_profile),
        )
        .route("/admin/c/{username}/actions", get(list_actions))
        .route(
            "/admin/c/{username}/actions/nouvelle",
            get(new_action_form).post(create_action),
        )
        .route(
            "/admin/c/{username}/actions/{id}",
            get(edit_action_form).post(update_action),
        )
        .route(
            "/admin/c/{username}/actions/{id}/supprimer",
            post(delete_action),
        )
        .route(
            "/admin/c/{username}/import",
            get(import_form).post(import_file),
        )
}

// ---------------------------------------------------------------------------------------
// Form reading and errors

/// A url-encoded form: every value of every key, in order (line ends as `\n`).
struct FormData(Vec<(String, String)>);

impl FormData {
    fn parse(bytes: &[u8]) -> Self {
        Self(
            url::form_urlencoded::parse(bytes)
                .map(|(k, v)| (k.into_owned(), v.replace("\r\n", "\n")))
                .collect(),
        )
    }

    /// The first value of `key`, or `""`.
    fn get(&self, key: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// Every value of `key`.
    fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }
}

/// Errors of a form, by input name; `general` for what no input shows.
#[derive(Debug, Default)]
struct FormErrors {
    fields: HashMap<&'static str, Vec<String>>,
    general: Vec<String>,
}

impl FormErrors {
    fn push(&mut self, field: &'static str, message: impl Into<String>) {
        self.fields.entry(field).or_default().push(message.into());
    }

    fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.general.is_empty()
    }

    /// The messages of `field`, joined.
    fn message(&self, field: &str) -> String {
        self.fields
            .get(field)
            .map(|m| m.join(" ; "))
            .unwrap_or_default()
    }

    /// Adds the API's field errors, each on the input `input_of` names (or `general`).
    /// Inputs that already have an error of the form itself keep only that one.
    fn add_api(
        &mut self,
        errors: Vec<FieldError>,
        input_of: impl Fn(&str) -> Option<&'static str>,
        message_of: impl Fn(&FieldError) -> String,
    ) {
        let before: Vec<&'static str> = self.fields.keys().copied().collect();
        for error in errors {
            match input_of(&error.field) {
                Some(input) if before.contains(&input) => {}
                Some(input) => self.push(input, message_of(&error)),
                None => self
                    .general
                    .push(format!("{} : {}", error.field, error.message)),
            }
        }
    }

    /// The error summary at the top of a page: `(input id, label, message)` in the
    /// order of `inputs`, then the general errors.
    fn summary(&self, inputs: &[(&'static str, &'static str)]) -> Vec<SummaryItem> {
        let mut items: Vec<SummaryItem> = inputs
            .iter()
            .filter(|(name, _)| self.fields.contains_key(name))
            .map(|(name, label)| SummaryItem {
                anchor: name.to_string(),
                label: label.to_string(),
                message: self.message(name),
            })
            .collect();
        items.extend(self.general.iter().map(|message| SummaryItem {
            anchor: String::new(),
            label: String::new(),
            message: message.clone(),
        }));
        items
    }
}

/// One line of the error summary.
pub struct SummaryItem {
    anchor: String,
    label: String,
    message: String,
}

/// An input as the templates show it.
pub struct Field {
    name: &'static str,
    label: &'static str,
    value: String,
    hint: &'static str,
    error: String,
    /// `aria-describedby`: the hint's and the error's ids.
    described: String,
    /// Marked "(obligatoire)" and `required` (the server checks it all the same).
    required: bool,
}

impl Field {
    fn new(
        name: &'static str,
        label: &'static str,
        value: impl Into<String>,
        hint: &'static str,
        errors: &FormErrors,
    ) -> Self {
        let error = errors.message(name);
        let mut ids = Vec::new();
        if !hint.is_empty() {
            ids.push(format!("{name}-aide"));
        }
        if !error.is_empty() {
            ids.push(format!("{name}-erreur"));
        }
        Self {
            name,
            label,
            value: value.into(),
            hint,
            error,
            described: ids.join(" "),
            required: false,
        }
    }

    /// The same field, marked required.
    fn required(mut self) -> Self {
        self.required = true;
        self
    }
}

/// An option of a `<select>`.
pub struct Choice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

fn choices<T: Copy>(
    all: &[T],
    value: &str,
    key: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
) -> Vec<Choice> {
    all.iter()
        .map(|item| Choice {
            value: key(*item),
            label: label(*item),
            selected: key(*item) == value,
        })
        .collect()
}

/// The non-empty lines (or `separators`-separated items) of a text, trimmed.
fn items(text: &str, separators: &[char]) -> Vec<String> {
    text.split(|c| c == '\n' || separators.contains(&c))
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_string)
        .collect()
}

fn optional(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

/// A whole number typed with spaces or a unit (`15 000 €`, `12 345`).
fn parse_integer(text: &str) -> Result<Option<i64>, ()> {
    let compact: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '€' && *c != '\u{202f}')
        .collect();
    if compact.is_empty() {
        return Ok(None);
    }
    compact.parse::<i64>().map(Some).map_err(|_| ())
}

/// A coordinate, with a decimal point or a French decimal comma.
fn parse_coordinate(text: &str) -> Result<Option<f64>, ()> {
    let text = text.trim().replace(',', ".");
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .map(Some)
        .ok_or(())
}

fn not_found_action(id: &str) -> AppError {
    AppError::NotFound(format!("aucune action « {id} » pour cette collectivité"))
}

/// A live, local action of `owner`; `404` for any other (`410` once deleted).
async fn owned_action(state: &AppState, owner: &Collectivite, id: &str) -> AppResult<Action> {
    use service::permissions::ActionDenied;
    service::permissions::owned_action(state, owner, id)
        .await
        .map_err(|denied| match denied {
            ActionDenied::Deleted { name, when } => AppError::Gone(format!(
                "l'action « {name} » a été supprimée le {}",
                french_date(when)
            )),
            ActionDenied::Store(error) => error.into(),
            ActionDenied::NotAnId(_) | ActionDenied::Unknown(_) | ActionDenied::Remote => {
                not_found_action(id)
            }
        })
}

// ---------------------------------------------------------------------------------------
// Actions: list and delete

/// An action in the admin list.
pub struct ActionRow {
    name: String,
    url: String,
    phase: &'static str,
    status: &'static str,
    updated: String,
    uuid: String,
}

#[derive(Template)]
#[template(path = "admin/actions.html")]
struct ActionsPage {
    node_name: String,
    csrf: String,
    username: String,
    collectivite: String,
    /// "3 actions publiées".
    total_text: String,
    rows: Vec<ActionRow>,
    /// Cursor of the next page.
    next: Option<i64>,
}

/// `?avant=` (the next page of the list).
#[derive(Debug, Deserialize, Default)]
pub struct ListQuery {
    avant: Option<String>,
}

/// `GET /admin/c/{username}/actions`: the collectivité's live actions, newest first.
pub async fn list_actions(
    State(state): State<AppState>,
    editor: Editor,
    Path(username): Path<String>,
    Query(query): Query<ListQuery>,
) -> AppResult<Response> {
    let owner = editor.collectivite(&username)?;
    let before = query.avant.as_deref().and_then(|c| c.parse::<i64>().ok());
    let actions = state.store.actions_of(owner.id, before, PAGE_SIZE).await?;
    let next = (actions.len() as i64 == PAGE_SIZE)
        .then(|| actions.last().map(|a| a.db_id))
        .flatten();
    html(
        StatusCode::OK,
        &ActionsPage {
            node_name: state.settings.node.name.clone(),
            csrf: editor.session.csrf_token.clone(),
            username: owner.profile.username.to_string(),
            collectivite: owner.profile.name.clone(),
            total_text: crate::web::words::count(
                state.store.count_actions_of(owner.id).await?,
                "action publiée",
                "actions publiées",
            ),
            rows: actions
                .iter()
                .map(|a| ActionRow {
                    name: a.data.name.clone(),
                    url: a.ap_id.to_string(),
                    phase: a.data.phase.label(),
                    status: a.data.status.label(),
                    updated: french_date(a.updated),
                    uuid: a.id.to_string(),
                })
                .collect(),
            next,
        },
    )
}

/// `POST /admin/c/{username}/actions/{id}/supprimer`: deletes (a `Delete` is published).
pub async fn delete_action(
    State(state): State<AppState>,
    editor: Editor,
    Path((username, id)): Path<(String, String)>,
    body: Bytes,
) -> AppResult<Response> {
    let form = FormData::parse(&body);
    editor.check_csrf(&form.get("csrf"))?;
    let owner = editor.collectivite(&username)?;
    let action = owned_action(&state, owner, &id).await?;
    service::actions::delete_action(&state, &action).await?;
    Ok(Redirect::to(&format!("/admin/c/{username}/actions")).into_response())
}

// ---------------------------------------------------------------------------------------
// Actions: publish and edit

/// What the action form holds, as typed.
#[derive(Debug, Clone, Default, PartialEq)]
struct ActionValues {
    name: String,
    summary: String,
    content: String,
    results: String,
    recommendations: String,
    phase: String,
    status: String,
    themes: Vec<String>,
    open_to_partners: bool,
    start_date: String,
    end_date: String,
    budget_eur: String,
    insee: String,
    lat: String,
    lon: String,
    software: String,
    providers: String,
    links: String,
}

/// The action form's inputs, in page order, with their labels (error summary).
const ACTION_INPUTS: [(&str, &str); 18] = [
    ("name", "Titre"),
    ("summary", "Sous-titre"),
    ("content", "Description"),
    ("results", "Résultats"),
    ("recommendations", "Recommandations"),
    ("phase", "Phase"),
    ("status", "Statut"),
    ("themes", "Thèmes"),
    ("open_to_partners", "Ouverte aux partenaires"),
    ("start_date", "Date de début"),
    ("end_date", "Date de fin"),
    ("budget_eur", "Budget"),
    ("insee", "Codes INSEE des lieux"),
    ("lat", "Latitude"),
    ("lon", "Longitude"),
    ("software", "Logiciels"),
    ("providers", "Prestataires"),
    ("links", "Liens"),
];

/// The collectivité's town hall as a place: what an action naming no place gets.
fn town_hall(owner: &Collectivite) -> Option<Place> {
    let profile = &owner.profile;
    profile.location.map(|point| Place {
        name: profile.name.clone(),
        point: Some(point),
        insee: profile.insee.clone(),
        address: profile.address.clone(),
    })
}

fn same_point(a: GeoPoint, b: GeoPoint) -> bool {
    (a.lat - b.lat).abs() < 1e-6 && (a.lon - b.lon).abs() < 1e-6
}

/// The place inputs showing `places`: nothing for the town hall alone; the INSEE
/// codes, and the first place's point when it is not its commune's.
fn place_inputs(places: &[Place], owner: &Collectivite) -> (String, String, String) {
    let town_hall: Vec<Place> = town_hall(owner).into_iter().collect();
    if places.is_empty() || places == town_hall.as_slice() {
        return Default::default();
    }
    let codes: Vec<String> = places
        .iter()
        .filter_map(|p| p.insee.as_ref().map(|c| c.to_string()))
        .collect();
    let first = &places[0];
    let commune_point = first
        .insee
        .as_ref()
        .and_then(|code| Referential::global().commune(code))
        .and_then(|c| c.point());
    let (lat, lon) = match (first.point, commune_point) {
        (Some(point), Some(commune)) if same_point(point, commune) => Default::default(),
        (Some(point), _) => (point.lat.to_string(), point.lon.to_string()),
        (None, _) => Default::default(),
    };
    (codes.join(", "), lat, lon)
}

fn text_source(text: &crate::domain::RichText) -> String {
    text.source
        .clone()
        .unwrap_or_else(|| text.html.as_str().to_string())
}

impl ActionValues {
    fn from_form(form: &FormData) -> Self {
        Self {
            name: form.get("name"),
            summary: form.get("summary"),
            content: form.get("content"),
            results: form.get("results"),
            recommendations: form.get("recommendations"),
            phase: form.get("phase"),
            status: form.get("status"),
            themes: form.all("themes"),
            open_to_partners: form.has("open_to_partners"),
            start_date: form.get("start_date"),
            end_date: form.get("end_date"),
            budget_eur: form.get("budget_eur"),
            insee: form.get("insee"),
            lat: form.get("lat"),
            lon: form.get("lon"),
            software: form.get("software"),
            providers: form.get("providers"),
            links: form.get("links"),
        }
    }

    /// A new action's defaults.
    fn blank() -> Self {
        Self {
            phase: Phase::Realisation.as_str().into(),
            status: Status::EnCours.as_str().into(),
            ..Self::default()
        }
    }

    /// The form of a stored action.
    fn from_action(action: &Action, owner: &Collectivite) -> Self {
        let d = &action.data;
        let (insee, lat, lon) = place_inputs(&d.locations, owner);
        let lines = |names: Vec<String>| names.join("\n");
        Self {
            name: d.name.clone(),
            summary: d.summary.clone().unwrap_or_default(),
            content: text_source(&d.content),
            results: d.results.as_ref().map(text_source).unwrap_or_default(),
            recommendations: d
                .recommendations
                .as_ref()
                .map(text_source)
                .unwrap_or_default(),
            phase: d.phase.as_str().into(),
            status: d.status.as_str().into(),
            themes: d.themes.iter().map(|t| t.to_string()).collect(),
            open_to_partners: d.open_to_partners,
            start_date: d.start_date.map(|x| x.to_string()).unwrap_or_default(),
            end_date: d.end_date.map(|x| x.to_string()).unwrap_or_default(),
            budget_eur: d.budget_eur.map(|x| x.to_string()).unwrap_or_default(),
            insee,
            lat,
            lon,
            software: lines(d.software.iter().map(|s| s.name.clone()).collect()),
            providers: lines(d.providers.iter().map(|p| p.name.clone()).collect()),
            links: lines(d.links.iter().map(|l| l.url.to_string()).collect()),
        }
    }

    /// The API body of these values; what the form itself finds wrong (numbers) goes
    /// to `errors`. When editing, what the form does not show is kept from `existing`
    /// (software details, link descriptions, places as stored, images, contacts).
    fn to_body(
        &self,
        owner: &Collectivite,
        existing: Option<&Action>,
        errors: &mut FormErrors,
    ) -> ActionBody {
        let stored = existing.map(|a| ActionBody::from(&a.data));
        let format = match existing {
            Some(a) if a.data.content.source.is_none() => TextFormat::Html,
            _ => TextFormat::Markdown,
        };
        let budget_eur = parse_integer(&self.budget_eur).unwrap_or_else(|()| {
            errors.push(
                "budget_eur",
                format!(
                    "« {} » n'est pas un montant en euros entier (ex. 15000)",
                    self.budget_eur.trim()
                ),
            );
            None
        });
        let mut coordinate = |field: &'static str, text: &str| {
            parse_coordinate(text).unwrap_or_else(|()| {
                errors.push(
                    field,
                    format!("« {} » n'est pas un nombre (ex. 50.6726)", text.trim()),
                );
                None
            })
        };
        let lat = coordinate("lat", &self.lat);
        let lon = coordinate("lon", &self.lon);
        let places_unchanged = existing.is_some_and(|a| {
            place_inputs(&a.data.locations, owner)
                == (self.insee.clone(), self.lat.clone(), self.lon.clone())
        });
        let location = if places_unchanged {
            stored.as_ref().and_then(|s| s.location.clone())
        } else {
            let codes = items(&self.insee, &[',', ';', ' ']);
            if codes.is_empty() && lat.is_none() && lon.is_none() {
                None
            } else if codes.is_empty() {
                Some(vec![PlaceBody {
                    name: Some(owner.profile.name.clone()),
                    lat,
                    lon,
                    ..PlaceBody::default()
                }])
            } else {
                Some(
                    codes
                        .into_iter()
                        .enumerate()
                        .map(|(i, code)| PlaceBody {
                            insee: Some(code),
                            lat: lat.filter(|_| i == 0),
                            lon: lon.filter(|_| i == 0),
                            ..PlaceBody::default()
                        })
                        .collect(),
                )
            }
        };
        let software = items(&self.software, &[])
            .into_iter()
            .map(|name| {
                stored
                    .iter()
                    .flat_map(|s| s.software.iter().flatten())
                    .find(|s| s.name.as_deref() == Some(name.as_str()))
                    .cloned()
                    .unwrap_or(SoftwareBody {
                        name: Some(name),
                        ..SoftwareBody::default()
                    })
            })
            .collect();
        let providers = items(&self.providers, &[])
            .into_iter()
            .map(|name| {
                stored
                    .iter()
                    .flat_map(|s| s.providers.iter().flatten())
                    .find(|p| p.name.as_deref() == Some(name.as_str()))
                    .cloned()
                    .unwrap_or(ProviderBody {
                        name: Some(name),
                        ..ProviderBody::default()
                    })
            })
            .collect();
        let links = items(&self.links, &[])
            .into_iter()
            .map(|url| {
                let description = existing
                    .iter()
                    .flat_map(|a| a.data.links.iter())
                    .find(|l| l.url.as_str() == url)
                    .and_then(|l| l.description.clone());
                LinkBody {
                    url: Some(url),
                    description,
                }
            })
            .collect();
        ActionBody {
            name: Some(self.name.clone()),
            summary: optional(&self.summary),
            content: Some(self.content.clone()),
            format: Some(format),
            results: optional(&self.results),
            recommendations: optional(&self.recommendations),
            phase: optional(&self.phase),
            status: optional(&self.status),
            themes: Some(self.themes.clone()),
            location,
            start_date: optional(&self.start_date),
            end_date: optional(&self.end_date),
            budget_eur,
            open_to_partners: Some(self.open_to_partners),
            software: Some(software),
            providers: Some(providers),
            links: Some(links),
            images: stored.as_ref().and_then(|s| s.images.clone()),
            contacts: stored.as_ref().and_then(|s| s.contacts.clone()),
            contacts_public: stored.as_ref().and_then(|s| s.contacts_public),
        }
    }

    /// Validates like the API: the action, or the errors by input.
    fn validate(
        &self,
        owner: &Collectivite,
        existing: Option<&Action>,
    ) -> AppResult<Result<NewAction, FormErrors>> {
        let mut errors = FormErrors::default();
        let body = self.to_body(owner, existing, &mut errors);
        let codes = items(&self.insee, &[',', ';', ' ']);
        match NewAction::try_from(body) {
            Ok(data) if errors.is_empty() => Ok(Ok(data)),
            Ok(_) => Ok(Err(errors)),
            Err(InvalidFields(list)) => {
                errors.add_api(list, action_input, |e| action_message(e, &codes));
                Ok(Err(errors))
            }
        }
    }
}

/// The input showing an [`ActionBody`] field (`themes[0]` → `themes`,
/// `location[0].insee` → `insee`).
fn action_input(field: &str) -> Option<&'static str> {
    let head = field.split(['[', '.']).next().unwrap_or(field);
    let leaf = field.rsplit('.').next().unwrap_or(field);
    Some(match head {
        "location" => match leaf {
            "lat" => "lat",
            "lon" => "lon",
            _ => "insee",
        },
        "images" | "contacts" | "contacts_public" | "format" => return None,
        other => ACTION_INPUTS
            .iter()
            .find(|(name, _)| *name == other)
            .map(|(name, _)| *name)?,
    })
}

/// The message shown for an API error: the item it is about for lists (`ligne 2 : …`,
/// the INSEE code), without the long list of possible themes.
fn action_message(error: &FieldError, codes: &[String]) -> String {
    let index = error
        .field
        .split_once('[')
        .and_then(|(_, rest)| rest.split_once(']'))
        .and_then(|(i, _)| i.parse::<usize>().ok());
    let head = error.field.split(['[', '.']).next().unwrap_or("");
    match (head, index) {
        ("themes", _) => error
            .message
            .split(" ; ")
            .next()
            .unwrap_or(&error.message)
            .to_string(),
        ("location", Some(i)) if error.field.ends_with(".insee") => match codes.get(i) {
            Some(code) if !error.message.contains(code.as_str()) => {
                format!("« {code} » : {}", error.message)
            }
            _ => error.message.clone(),
        },
        ("software" | "providers" | "links", Some(i)) => {
            format!("ligne {} : {}", i + 1, error.message)
        }
        _ => error.message.clone(),
    }
}

/// A theme checkbox.
pub struct ThemeChoice {
    slug: String,
    label: String,
    description: String,
    checked: bool,
}

/// The themes of one axe.
pub struct AxeChoice {
    label: String,
    themes: Vec<ThemeChoice>,
}

#[derive(Template)]
#[template(path = "admin/action_form.html")]
struct ActionFormPage {
    node_name: String,
    csrf: String,
    username: String,
    collectivite: String,
    /// The action's public page when editing.
    public_url: Option<String>,
    action_path: String,
    submit: &'static str,
    title: String,
    summary: Vec<SummaryItem>,
    f: ActionFields,
    /// Map picker: tile URL (empty: the France outline), attribution, and the town
    /// hall to centre on when no point is typed.
    tiles: String,
    attribution: String,
    /// Who serves the tiles and what the browser tells them (empty without tiles).
    tiles_notice: String,
    center: Option<(f64, f64)>,
}

/// The inputs of the action form.
pub struct ActionFields {
    name: Field,
    summary: Field,
    content: Field,
    results: Field,
    recommendations: Field,
    phase: Field,
    phases: Vec<Choice>,
    status: Field,
    statuses: Vec<Choice>,
    themes: Field,
    axes: Vec<AxeChoice>,
    open_to_partners: bool,
    start_date: Field,
    end_date: Field,
    budget_eur: Field,
    insee: Field,
    lat: Field,
    lon: Field,
    software: Field,
    providers: Field,
    links: Field,
}

impl ActionFields {
    fn new(v: &ActionValues, e: &FormErrors, html_format: bool) -> Self {
        let taxonomy = Taxonomy::global();
        let axes = taxonomy
            .axes
            .iter()
            .map(|axe| AxeChoice {
                label: axe.label.clone(),
                themes: axe
                    .themes
                    .iter()
                    .map(|t| ThemeChoice {
                        slug: t.slug.clone(),
                        label: t.label.clone(),
                        description: t.description.clone(),
                        checked: v.themes.iter().any(|s| s.trim() == t.slug),
                    })
                    .collect(),
            })
            .collect();
        let text_hint = if html_format {
            "Texte en HTML (l'action a été publiée ainsi)."
        } else {
            "Mise en forme simple : **gras**, *italique*, une liste avec « - » en début de ligne, un lien avec [texte](https://…)."
        };
        Self {
            name: Field::new("name", "Titre", &v.name, "200 caractères au plus.", e).required(),
            summary: Field::new(
                "summary",
                "Sous-titre",
                &v.summary,
                "En une ou deux phrases : ce que c'est. C'est ce texte que verront les personnes qui suivent votre collectivité depuis Mastodon.",
                e,
            ),
            content: Field::new("content", "Description", &v.content, text_hint, e).required(),
            results: Field::new("results", "Résultats", &v.results, "Ce qu'elle a donné.", e),
            recommendations: Field::new(
                "recommendations",
                "Recommandations",
                &v.recommendations,
                "Ce qu'il faut savoir avant de faire de même.",
                e,
            ),
            phase: Field::new("phase", "Phase", &v.phase, "", e),
            phases: choices(Phase::ALL, &v.phase, Phase::as_str, Phase::label),
            status: Field::new("status", "Statut", &v.status, "", e),
            statuses: choices(Status::ALL, &v.status, Status::as_str, Status::label),
            themes: Field::new("themes", "Thèmes", "", "Au moins un.", e),
            axes,
            open_to_partners: v.open_to_partners,
            start_date: Field::new("start_date", "Date de début", &v.start_date, "", e),
            end_date: Field::new("end_date", "Date de fin", &v.end_date, "", e),
            budget_eur: Field::new(
                "budget_eur",
                "Budget (euros)",
                &v.budget_eur,
                "Un montant entier, sans centimes.",
                e,
            ),
            insee: Field::new(
                "insee",
                "Codes INSEE des lieux",
                &v.insee,
                "Séparés par des virgules (ex. 59378, 59350) ; vide : la mairie de la collectivité.",
                e,
            ),
            lat: Field::new(
                "lat",
                "Latitude",
                &v.lat,
                "Facultatif : un point précis (ex. 50.6726), sinon celui de la commune.",
                e,
            ),
            lon: Field::new("lon", "Longitude", &v.lon, "Facultatif (ex. 3.0970).", e),
            software: Field::new("software", "Logiciels", &v.software, "Un nom par ligne.", e),
            providers: Field::new(
                "providers",
                "Prestataires",
                &v.providers,
                "Un nom par ligne.",
                e,
            ),
            links: Field::new(
                "links",
                "Liens",
                &v.links,
                "Une adresse web par ligne (https://…).",
                e,
            ),
        }
    }
}

struct FormContext<'a> {
    state: &'a AppState,
    editor: &'a Editor,
    owner: &'a Collectivite,
    existing: Option<&'a Action>,
}

impl FormContext<'_> {
    fn render(
        &self,
        status: StatusCode,
        values: &ActionValues,
        errors: &FormErrors,
    ) -> AppResult<Response> {
        let username = self.owner.profile.username.to_string();
        let html_format = self
            .existing
            .is_some_and(|a| a.data.content.source.is_none());
        let (action_path, submit, title, public_url) = match self.existing {
            Some(action) => (
                format!("/admin/c/{username}/actions/{}", action.id),
                "Enregistrer",
                format!("Modifier « {} »", action.data.name),
                Some(action.ap_id.to_string()),
            ),
            None => (
                format!("/admin/c/{username}/actions/nouvelle"),
                "Publier",
                "Publier une action".to_string(),
                None,
            ),
        };
        // The same tiles as the public pages (`map.provider`), and the same notice.
        let (tiles, attribution, tiles_notice) = self.state.settings.map.for_pages();
        html(
            status,
            &ActionFormPage {
                node_name: self.state.settings.node.name.clone(),
                csrf: self.editor.session.csrf_token.clone(),
                username,
                collectivite: self.owner.profile.name.clone(),
                public_url,
                action_path,
                submit,
                title,
                summary: errors.summary(&ACTION_INPUTS),
                f: ActionFields::new(values, errors, html_format),
                tiles,
                attribution,
                tiles_notice,
                center: self.owner.profile.location.map(|p| (p.lat, p.lon)),
            },
        )
    }
}

/// `GET /admin/c/{username}/actions/nouvelle`.
pub async fn new_action_form(
    State(state): State<AppState>,
    editor: Editor,
    Path(username): Path<String>,
) -> AppResult<Response> {
    let owner = editor.collectivite(&username)?;
    let context = FormContext {
        state: &state,
        editor: &editor,
        owner,
        existing: None,
    };
    context.render(
        StatusCode::OK,
        &ActionValues::blank(),
        &FormErrors::default(),
    )
}

/// `POST /admin/c/{username}/actions/nouvelle`: publishes, or shows the form again with
/// the errors (`422`).
pub async fn create_action(
    State(state): State<AppState>,
    editor: Editor,
    Path(username): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    let form = FormData::parse(&body);
    editor.check_csrf(&form.get("csrf"))?;
    let owner = editor.collectivite(&username)?;
    let values = ActionValues::from_form(&form);
    match values.validate(owner, None)? {
        Ok(data) => {
            service::actions::create_action(&state, owner, data).await?;
            Ok(Redirect::to(&format!("/admin/c/{username}/actions")).into_response())
        }
        Err(errors) => FormContext {
            state: &state,
            editor: &editor,
            owner,
            existing: None,
        }
        .render(StatusCode::UNPROCESSABLE_ENTITY, &values, &errors),
    }
}

/// `GET /admin/c/{username}/actions/{id}`: the form of a stored action.
pub async fn edit_action_form(
    State(state): State<AppState>,
    editor: Editor,
    Path((username, id)): Path<(String, String)>,
) -> AppResult<Response> {
    let owner = editor.collectivite(&username)?;
    let action = owned_action(&state, owner, &id).await?;
    let values = ActionValues::from_action(&action, owner);
    FormContext {
        state: &state,
        editor: &editor,
        owner,
        existing: Some(&action),
    }
    .render(StatusCode::OK, &values, &FormErrors::default())
}

/// `POST /admin/c/{username}/actions/{id}`: saves (an `Update` is published), or shows
/// the form again with the errors (`422`).
pub async fn update_action(
    State(state): State<AppState>,
    editor: Editor,
    Path((username, id)): Path<(String, String)>,
    body: Bytes,
) -> AppResult<Response> {
    let form = FormData::parse(&body);
    editor.check_csrf(&form.get("csrf"))?;
    let owner = editor.collectivite(&username)?;
    let action = owned_action(&state, owner, &id).await?;
    let values = ActionValues::from_form(&form);
    match values.validate(owner, Some(&action))? {
        Ok(mut data) => {
            if data.locations.is_empty() {
                data.locations.extend(town_hall(owner));
            }
            service::actions::update_action(&state, &action, data).await?;
            Ok(Redirect::to(&format!("/admin/c/{username}/actions")).into_response())
        }
        Err(errors) => FormContext {
            state: &state,
            editor: &editor,
            owner,
            existing: Some(&action),
        }
        .render(StatusCode::UNPROCESSABLE_ENTITY, &values, &errors),
    }
}

// ---------------------------------------------------------------------------------------
// Profile

/// What the profile form holds, as typed.
#[derive(Debug, Clone, Default)]
struct ProfileValues {
    name: String,
    summary: String,
    website: String,
    insee: String,
    siren: String,
    population: String,
    street: String,
    postal_code: String,
    locality: String,
}

const PROFILE_INPUTS: [(&str, &str); 9] = [
    ("name", "Nom"),
    ("summary", "Présentation"),
    ("website", "Site web"),
    ("insee", "Code INSEE"),
    ("siren", "SIREN"),
    ("population", "Population"),
    ("street", "Adresse"),
    ("postal_code", "Code postal"),
    ("locality", "Commune"),
];

impl ProfileValues {
    fn from_profile(c: &Collectivite) -> Self {
        let p = &c.profile;
        let address = p.address.clone().unwrap_or_default();
        Self {
            name: p.name.clone(),
            summary: p.summary.clone().unwrap_or_default(),
            website: p
                .website
                .as_ref()
                .map(|u| u.to_string())
                .unwrap_or_default(),
            insee: p.insee.as_ref().map(|c| c.to_string()).unwrap_or_default(),
            siren: p.siren.as_ref().map(|s| s.to_string()).unwrap_or_default(),
            population: p.population.map(|n| n.to_string()).unwrap_or_default(),
            street: address.street.unwrap_or_default(),
            postal_code: address.postal_code.unwrap_or_default(),
            locality: address.locality.unwrap_or_default(),
        }
    }

    fn from_form(form: &FormData) -> Self {
        Self {
            name: form.get("name"),
            summary: form.get("summary"),
            website: form.get("website"),
            insee: form.get("insee"),
            siren: form.get("siren"),
            population: form.get("population"),
            street: form.get("street"),
            postal_code: form.get("postal_code"),
            locality: form.get("locality"),
        }
    }

    /// The API body: the stored profile with these values. A field left empty is filled
    /// from the referential; a new INSEE code also refreshes what came from the old one
    /// when it was left as shown.
    fn to_body(&self, current: &Collectivite, errors: &mut FormErrors) -> CollectiviteBody {
        let shown = Self::from_profile(current);
        let mut body = CollectiviteBody::from(&current.profile);
        // Only a code of the referential refreshes the rest (a typo shows its error
        // alone, the other fields as typed).
        let insee_changed = self.insee.trim() != shown.insee
            && crate::domain::InseeCode::parse(&self.insee)
                .ok()
                .and_then(|code| Referential::global().commune(&code))
                .is_some();
        let kept = |typed: &str, shown: &str| insee_changed && typed.trim() == shown;
        body.name = optional(&self.name).filter(|_| !kept(&self.name, &shown.name));
        body.summary = optional(&self.summary);
        body.website = optional(&self.website);
        body.insee = optional(&self.insee);
        body.siren = optional(&self.siren).filter(|_| !kept(&self.siren, &shown.siren));
        body.population = match parse_integer(&self.population) {
            Ok(n) => n.filter(|_| !kept(&self.population, &shown.population)),
            Err(()) => {
                errors.push(
                    "population",
                    format!(
                        "« {} » n'est pas un nombre d'habitants",
                        self.population.trim()
                    ),
                );
                None
            }
        };
        let address_shown = [&shown.street, &shown.postal_code, &shown.locality];
        let address_typed = [&self.street, &self.postal_code, &self.locality];
        let address_kept = insee_changed
            && address_typed
                .iter()
                .zip(address_shown)
                .all(|(typed, shown)| typed.trim() == shown.as_str());
        body.address = Some(PostalAddress {
            street: optional(&self.street),
            postal_code: optional(&self.postal_code),
            locality: optional(&self.locality),
        })
        .filter(|a| !a.is_empty() && !address_kept);
        if insee_changed {
            body.epci_siren = None;
            body.departement = None;
            body.region = None;
            body.location = None;
        }
        body
    }
}

fn profile_input(field: &str) -> Option<&'static str> {
    let head = field.split(['[', '.']).next().unwrap_or(field);
    PROFILE_INPUTS
        .iter()
        .find(|(name, _)| *name == head)
        .map(|(name, _)| *name)
}

/// Facts of the profile that follow from the referential.
pub struct ProfileFacts {
    handle: String,
    kind: &'static str,
    epci: String,
    departement: String,
    region: String,
    location: String,
}

#[derive(Template)]
#[template(path = "admin/profile.html")]
struct ProfilePage {
    node_name: String,
    csrf: String,
    username: String,
    collectivite: String,
    saved: bool,
    facts: ProfileFacts,
    summary: Vec<SummaryItem>,
    name: Field,
    description: Field,
    website: Field,
    insee: Field,
    siren: Field,
    population: Field,
    street: Field,
    postal_code: Field,
    locality: Field,
}

impl ProfilePage {
    fn new(
        state: &AppState,
        editor: &Editor,
        owner: &Collectivite,
        v: &ProfileValues,
        e: &FormErrors,
        saved: bool,
    ) -> Self {
        let referential = Referential::global();
        let p = &owner.profile;
        let facts = ProfileFacts {
            handle: owner.handle(),
            kind: p.kind.label(),
            epci: p
                .epci_siren
                .as_ref()
                .and_then(|s| referential.epci(s.as_ref()))
                .map(|e| e.nom.clone())
                .unwrap_or_default(),
            departement: p
                .departement
                .as_deref()
                .and_then(|d| referential.departement(d))
                .map(|d| format!("{} ({})", d.nom, d.code))
                .unwrap_or_default(),
            region: p
                .region
                .as_deref()
                .and_then(|r| referential.region(r))
                .map(|r| r.nom.clone())
                .unwrap_or_default(),
            location: p
                .location
                .map(|l| format!("{}, {}", l.lat, l.lon))
                .unwrap_or_default(),
        };
        Self {
            node_name: state.settings.node.name.clone(),
            csrf: editor.session.csrf_token.clone(),
            username: p.username.to_string(),
            collectivite: p.name.clone(),
            saved,
            facts,
            summary: e.summary(&PROFILE_INPUTS),
            name: Field::new(
                "name",
                "Nom",
                &v.name,
                "Vide : le nom du référentiel (code INSEE).",
                e,
            ),
            description: Field::new(
                "summary",
                "Présentation",
                &v.summary,
                "Quelques phrases sur la collectivité et sa politique numérique.",
                e,
            ),
            website: Field::new("website", "Site web", &v.website, "https://…", e),
            insee: Field::new(
                "insee",
                "Code INSEE",
                &v.insee,
                "5 caractères (ex. 59378). Un nouveau code remplit SIREN, population, adresse, département et région depuis le référentiel.",
                e,
            ),
            siren: Field::new(
                "siren",
                "SIREN",
                &v.siren,
                "9 chiffres ; vide : celui du référentiel.",
                e,
            ),
            population: Field::new(
                "population",
                "Population",
                &v.population,
                "Vide : celle du référentiel.",
                e,
            ),
            street: Field::new("street", "Adresse (numéro et rue)", &v.street, "", e),
            postal_code: Field::new("postal_code", "Code postal", &v.postal_code, "", e),
            locality: Field::new("locality", "Commune", &v.locality, "", e),
        }
    }
}

/// `?enregistre` after a save.
#[derive(Debug, Deserialize, Default)]
pub struct SavedQuery {
    enregistre: Option<String>,
}

/// `GET /admin/c/{username}/profil`.
pub async fn profile_form(
    State(state): State<AppState>,
    editor: Editor,
    Path(username): Path<String>,
    Query(query): Query<SavedQuery>,
) -> AppResult<Response> {
    let owner = editor.collectivite(&username)?;
    let values = ProfileValues::from_profile(owner);
    html(
        StatusCode::OK,
        &ProfilePage::new(
            &state,
            &editor,
            owner,
            &values,
            &FormErrors::default(),
            query.enregistre.is_some(),
        ),
    )
}

/// `POST /admin/c/{username}/profil`: saves through the service, or shows the form
/// again with the errors (`422`).
pub async fn save_profile(
    State(state): State<AppState>,
    editor: Editor,
    Path(username): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    let form = FormData::parse(&body);
    editor.check_csrf(&form.get("csrf"))?;
    let owner = editor.collectivite(&username)?;
    let values = ProfileValues::from_form(&form);
    let mut errors = FormErrors::default();
    let body = values.to_body(owner, &mut errors);
    let result = body.into_profile();
    let outcome = match result {
        Ok(profile) if errors.is_empty() => {
            match service::collectivites::update_collectivite(&state, owner, profile).await {
                Ok(_) => None,
                Err(AppError::Validation(list)) => Some(list),
                Err(other) => return Err(other),
            }
        }
        Ok(_) => Some(Vec::new()),
        Err(InvalidFields(list)) => Some(list),
    };
    match outcome {
        None => Ok(Redirect::to(&format!("/admin/c/{username}/profil?enregistre")).into_response()),
        Some(list) => {
            errors.add_api(list, profile_input, |e| e.message.clone());
            html(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ProfilePage::new(&state, &editor, owner, &values, &errors, false),
            )
        }
    }
}

// ---------------------------------------------------------------------------------------
// Import

/// A row of the import report.
pub struct ReportRow {
    line: u64,
    name: String,
    outcome: &'static str,
    /// The action's admin page.
    link: Option<String>,
    errors: Vec<String>,
}

/// An import's result, for the page.
pub struct ReportView {
    summary: String,
    created: usize,
    updated: usize,
    unchanged: usize,
    deleted: usize,
    rejected: usize,
    rows: Vec<ReportRow>,
}

impl ReportView {
    fn new(report: &ImportReport, username: &str) -> Self {
        let edit = |id: &Uuid| Some(format!("/admin/c/{username}/actions/{id}"));
        Self {
            summary: report.summary(),
            created: report.created(),
            updated: report.updated(),
            unchanged: report.unchanged(),
            deleted: report.deleted(),
            rejected: report.rejected(),
            rows: report
                .rows
                .iter()
                .map(|row| {
                    let (outcome, link, errors) = match &row.outcome {
                        RowOutcome::Created(id) => ("créée", edit(id), Vec::new()),
                        RowOutcome::Updated(id) => ("mise à jour", edit(id), Vec::new()),
                        RowOutcome::Unchanged(id) => ("inchangée", edit(id), Vec::new()),
                        RowOutcome::Deleted(_) => (
                            "ignorée : supprimée depuis l'import précédent",
                            None,
                            Vec::new(),
                        ),
                        RowOutcome::Rejected(errors) => (
                            "rejetée",
                            None,
                            errors
                                .iter()
                                .map(|e| match e.column {
                                    Some(column) => format!("{column} : {}", e.message),
                                    None => e.message.clone(),
                                })
                                .collect(),
                        ),
                    };
                    ReportRow {
                        line: row.line,
                        name: row.name.clone().unwrap_or_default(),
                        outcome,
                        link,
                        errors,
                    }
                })
                .collect(),
        }
    }
}

/// A column of the import file, for the page.
pub struct ColumnHelp {
    name: &'static str,
    required: bool,
    help: &'static str,
}

fn column_help() -> Vec<ColumnHelp> {
    use crate::service::import::Column;
    Column::ALL
        .into_iter()
        .map(|column| ColumnHelp {
            name: column.name(),
            required: Column::REQUIRED.contains(&column),
            help: match column {
                Column::Reference => {
                    "votre identifiant de l'action : réimporter le fichier met l'action à jour au lieu de la dupliquer"
                }
                Column::Nom => "le titre",
                Column::SousTitre => "une ou deux phrases",
                Column::Description => "ce que c'est (mise en forme simple : **gras**, *italique*, listes avec « - »)",
                Column::Resultats => "ce qu'elle a donné (même mise en forme)",
                Column::Recommandations => "ce qu'il faut savoir avant de faire de même",
                Column::Phase => "idee, etude, realisation (par défaut) ou service",
                Column::Statut => "en-cours (par défaut), en-pause, abandonne ou termine",
                Column::Themes => "slugs des thèmes séparés par | ou ,",
                Column::Insee => "codes INSEE des communes concernées, séparés par | ou ,",
                Column::DateDebut | Column::DateFin => "AAAA-MM-JJ ou JJ/MM/AAAA",
                Column::BudgetEur => "montant en euros",
                Column::OuvertAuxPartenaires => "oui ou non (appel à mutualisation)",
                Column::Logiciels | Column::Prestataires => "noms séparés par |",
                Column::Liens => "adresses web séparées par |",
            },
        })
        .collect()
}

#[derive(Template)]
#[template(path = "admin/import.html")]
struct ImportPage {
    node_name: String,
    csrf: String,
    username: String,
    collectivite: String,
    error: String,
    report: Option<ReportView>,
    columns: Vec<ColumnHelp>,
    themes: Vec<(String, String)>,
}

impl ImportPage {
    fn new(state: &AppState, editor: &Editor, owner: &Collectivite) -> Self {
        Self {
            node_name: state.settings.node.name.clone(),
            csrf: editor.session.csrf_token.clone(),
            username: owner.profile.username.to_string(),
            collectivite: owner.profile.name.clone(),
            error: String::new(),
            report: None,
            columns: column_help(),
            themes: Taxonomy::global()
                .themes()
                .map(|t| (t.slug.clone(), t.label.clone()))
                .collect(),
        }
    }
}

/// `GET /admin/c/{username}/import`.
pub async fn import_form(
    State(state): State<AppState>,
    editor: Editor,
    Path(username): Path<String>,
) -> AppResult<Response> {
    let owner = editor.collectivite(&username)?;
    html(StatusCode::OK, &ImportPage::new(&state, &editor, owner))
}

/// The parts of an upload form: its CSRF token, an optional `list` choice, the file.
#[derive(Debug, Default)]
pub(super) struct Upload {
    pub(super) csrf: String,
    pub(super) list: String,
    pub(super) file: Option<Vec<u8>>,
}

/// Reads the `csrf`, `list` and `file` parts of an upload (the CSV import of actions,
/// the domain lists); an empty file counts as none.
pub(super) async fn read_upload(multipart: &mut Multipart) -> Result<Upload, String> {
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            format!(
                "fichier trop volumineux : {} Mo au plus",
                crate::startup::BODY_LIMIT / (1024 * 1024)
            )
        } else {
            format!("envoi illisible : {}", e.body_text())
        }
    };
    let mut upload = Upload::default();
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("csrf") => upload.csrf = field.text().await.map_err(unreadable)?,
            Some("list") => upload.list = field.text().await.map_err(unreadable)?,
            Some("file") => {
                let bytes = field.bytes().await.map_err(unreadable)?;
                if !bytes.is_empty() {
                    upload.file = Some(bytes.to_vec());
                }
            }
            _ => {}
        }
    }
    Ok(upload)
}

/// `POST /admin/c/{username}/import` (`multipart/form-data`, fields `csrf` and `file`):
/// imports the rows and shows the report; a file that cannot be read at all is shown
/// as an error (`422`).
pub async fn import_file(
    State(state): State<AppState>,
    editor: Editor,
    Path(username): Path<String>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> AppResult<Response> {
    let upload = match multipart {
        Ok(mut multipart) => read_upload(&mut multipart).await,
        Err(rejection) => Err(rejection.body_text()),
    };
    let Upload { csrf, file, .. } = match upload {
        Ok(upload) => upload,
        // Nothing of the form could be read, not even its token.
        Err(message) => return Err(AppError::BadRequest(message)),
    };
    editor.check_csrf(&csrf)?;
    let owner = editor.collectivite(&username)?;
    let mut page = ImportPage::new(&state, &editor, owner);
    let Some(bytes) = file else {
        page.error = "choisissez un fichier CSV à importer".into();
        return html(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    match service::import::import_csv(&state, owner, &bytes, |_| {}).await {
        Ok(report) => {
            page.report = Some(ReportView::new(&report, &username));
            html(StatusCode::OK, &page)
        }
        Err(AppError::BadRequest(message)) => {
            page.error = message;
            html(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(other) => Err(other),
    }
}

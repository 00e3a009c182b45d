//! The admin's action pages (SPEC §5): the list, publish, edit and delete. The form
//! becomes an [`ActionBody`] draft and is validated by `domain::drafts`, as the API's
//! JSON is; invalid fields come back next to their inputs with everything typed kept
//! (`422`). Every `POST` checks the session's CSRF token; an editor only reaches the
//! collectivités it edits (`404` otherwise).

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::Editor;
use crate::domain::drafts::{ActionBody, LinkBody, PlaceBody, ProviderBody, SoftwareBody};
use crate::domain::{Action, Collectivite, GeoPoint, NewAction, Phase, Place, Status, TextFormat};
use crate::domain::{FieldError, InvalidFields};
use crate::error::AppResult;
use crate::referential::Referential;
use crate::service;
use crate::state::AppState;
use crate::taxonomy::Taxonomy;
use crate::web::pages::{french_date, html};

use super::forms::*;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
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
}

/// Actions listed per page in the admin.
const PAGE_SIZE: i64 = 100;

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
pub(super) struct ActionsPage {
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
pub(super) struct ActionValues {
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
pub(super) const ACTION_INPUTS: [(&str, &str); 18] = [
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
pub(super) fn town_hall(owner: &Collectivite) -> Option<Place> {
    let profile = &owner.profile;
    profile.location.map(|point| Place {
        name: profile.name.clone(),
        point: Some(point),
        insee: profile.insee.clone(),
        address: profile.address.clone(),
    })
}

pub(super) fn same_point(a: GeoPoint, b: GeoPoint) -> bool {
    (a.lat - b.lat).abs() < 1e-6 && (a.lon - b.lon).abs() < 1e-6
}

/// The place inputs showing `places`: nothing for the town hall alone; the INSEE
/// codes, and the first place's point when it is not its commune's.
pub(super) fn place_inputs(places: &[Place], owner: &Collectivite) -> (String, String, String) {
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

pub(super) fn text_source(text: &crate::domain::RichText) -> String {
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
pub(super) fn action_input(field: &str) -> Option<&'static str> {
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
pub(super) fn action_message(error: &FieldError, codes: &[String]) -> String {
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
pub(super) struct ActionFormPage {
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

pub(super) struct FormContext<'a> {
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

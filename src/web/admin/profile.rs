//! The admin's profile page (SPEC §5): the collectivité's profile as a
//! [`CollectiviteBody`] draft, validated by `domain::drafts` and saved through
//! `service::collectivites`; errors next to their inputs (`422`).

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

use super::Editor;
use crate::domain::InvalidFields;
use crate::domain::drafts::CollectiviteBody;
use crate::domain::{Collectivite, PostalAddress};
use crate::error::{AppError, AppResult};
use crate::referential::Referential;
use crate::service;
use crate::state::AppState;
use crate::web::pages::html;

use super::forms::*;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/c/{username}/profil",
            get(profile_form).post(save_profile),
        )
        .route(
            "/admin/c/{username}/profil/verifier",
            axum::routing::post(check_website),
        )
}

/// Where the official website's check stands, and what to put on the website.
pub(super) struct WebsiteBox {
    /// The official website, if any.
    website: Option<String>,
    /// "7 décembre 2026", when verified.
    verified: Option<String>,
    /// "lien rel=me" or "domaine officiel".
    by: &'static str,
    /// The last check, "7 décembre 2026 à 14 h 05".
    checked: Option<String>,
    /// Why it failed.
    error: Option<String>,
    /// `<a rel="me" …>` to copy.
    link: String,
    /// `<link rel="me" …>` to copy.
    head_link: String,
}

impl WebsiteBox {
    fn of(owner: &Collectivite) -> Self {
        let check = &owner.website_check;
        Self {
            website: owner.profile.website.as_ref().map(|w| w.to_string()),
            verified: check.verified_at.map(crate::web::words::date),
            by: match check.verified_by {
                Some(crate::domain::VerifiedBy::Domain) => "le nœud est sur le domaine du site",
                _ => "le site renvoie vers cette collectivité (lien rel=\"me\")",
            },
            checked: check.checked_at.map(crate::web::words::date_time),
            error: check.error.clone(),
            link: service::verification::link_to_copy(&owner.ap_id),
            head_link: service::verification::head_link_to_copy(&owner.ap_id),
        }
    }
}

/// `POST /admin/c/{username}/profil/verifier`: "Vérifier maintenant".
pub async fn check_website(
    State(state): State<AppState>,
    editor: Editor,
    Path(username): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    let form = FormData::parse(&body);
    editor.check_csrf(&form.get("csrf"))?;
    let owner = editor.collectivite(&username)?;
    service::verification::check_now(&state, owner.id).await?;
    Ok(Redirect::to(&format!("/admin/c/{username}/profil#site-officiel")).into_response())
}

// ---------------------------------------------------------------------------------------
// Profile

/// What the profile form holds, as typed.
#[derive(Debug, Clone, Default)]
pub(super) struct ProfileValues {
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

pub(super) const PROFILE_INPUTS: [(&str, &str); 9] = [
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

pub(super) fn profile_input(field: &str) -> Option<&'static str> {
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
pub(super) struct ProfilePage {
    node_name: String,
    csrf: String,
    username: String,
    collectivite: String,
    saved: bool,
    facts: ProfileFacts,
    site: WebsiteBox,
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
            site: WebsiteBox::of(owner),
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

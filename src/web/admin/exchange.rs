//! What the admin's exchange pages share (SPEC §5, §6): the notice after a form
//! ([`Done`]), the CSRF-only form, errors by field, what a re-rendered page shows of a
//! failed form ([`Outcome`]). The pages: `partnerships.rs` (ask to join an action,
//! answer the requests received, end a partnership), `comments.rs` (moderate and
//! answer), `follows.rs`, `blocks.rs` (the node's blocks and reports, node admins
//! only; the domain policy on the same page is in [`super::domains`]). Every POST
//! carries the session's CSRF token; a form with invalid input comes back (`422`) with
//! the error next to its field and what was typed; success redirects back to the page
//! (`303`) with a short notice. The work is done by `service`, as for the JSON API.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use url::Url;

use crate::error::{AppError, AppResult, FieldError};

/// `?fait=`: what the last form did, shown once after its redirect.
#[derive(Debug, Deserialize, Default)]
pub struct Done {
    pub(super) fait: Option<String>,
}

impl Done {
    /// The notice for a known code (anything else shows nothing).
    pub(super) fn notice(&self) -> Option<String> {
        let text = match self.fait.as_deref()? {
            "demande" => {
                "Demande envoyée : la collectivité porteuse de l'action l'acceptera ou la refusera."
            }
            "acceptee" => {
                "Demande acceptée : la collectivité est désormais partenaire de l'action."
            }
            "refusee" => "Demande refusée.",
            "terminee" => "Le partenariat a pris fin.",
            "approuve" => "Commentaire approuvé : il est affiché sur la page de l'action.",
            "rejete" => "Commentaire rejeté : il reste masqué.",
            "reponse" => "Réponse publiée.",
            "abonnement" => {
                "Abonnement demandé : il sera actif une fois accepté par l'autre serveur."
            }
            "desabonnement" => "Abonnement retiré.",
            "blocage" => "Blocage enregistré : il s'applique immédiatement.",
            "leve" => "Blocage levé.",
            "autorisation" => "Domaine autorisé : l'autorisation s'applique immédiatement.",
            "retire" => "Domaine retiré des domaines autorisés.",
            "traite" => "Signalement marqué comme traité.",
            _ => return None,
        };
        Some(text.to_string())
    }
}

/// A form with only the CSRF token (buttons).
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct CsrfForm {
    pub(super) csrf: String,
}

pub(super) fn not_found(what: &str, id: &str) -> AppError {
    AppError::NotFound(format!("aucun(e) {what} « {id} » pour cette collectivité"))
}

pub(super) fn parse_id(what: &str, id: &str) -> AppResult<i64> {
    id.parse().map_err(|_| not_found(what, id))
}

/// The message of the errors on `field` (joined), if any.
pub(super) fn field_message(errors: &[FieldError], field: &str) -> Option<String> {
    let messages: Vec<&str> = errors
        .iter()
        .filter(|e| e.field == field)
        .map(|e| e.message.as_str())
        .collect();
    (!messages.is_empty()).then(|| messages.join(" ; "))
}

/// The message of errors on other fields than `known` (shown at the top of the page).
pub(super) fn other_messages(errors: &[FieldError], known: &[&str]) -> Option<String> {
    let messages: Vec<String> = errors
        .iter()
        .filter(|e| !known.contains(&e.field.as_str()))
        .map(|e| format!("{} : {}", e.field, e.message))
        .collect();
    (!messages.is_empty()).then(|| messages.join(" ; "))
}

/// Back to a page after a form, with the notice `code`.
pub(super) fn done(path: &str, code: &str) -> Response {
    Redirect::to(&format!("{path}?fait={code}")).into_response()
}

/// A link target only when it is a web address.
pub(super) fn web_link(url: &Url) -> Option<String> {
    matches!(url.scheme(), "http" | "https").then(|| url.to_string())
}

pub(super) fn display_name(name: &str, username: &str) -> String {
    if name.trim().is_empty() {
        username.to_string()
    } else {
        name.to_string()
    }
}

/// What a re-rendered page shows of a failed form.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    pub(super) status: Option<StatusCode>,
    pub(super) notice: Option<String>,
    pub(super) error: Option<String>,
    pub(super) errors: Vec<FieldError>,
}

impl Outcome {
    pub(super) fn notice(done: &Done) -> Self {
        Self {
            notice: done.notice(),
            ..Self::default()
        }
    }

    /// A refused form: field errors next to their fields, others at the top.
    pub(super) fn failed(error: &AppError) -> Self {
        let (errors, message) = match error {
            AppError::Validation(errors) => (errors.clone(), None),
            AppError::Conflict {
                field: Some(field),
                message,
            } => (vec![FieldError::new(field.clone(), message.clone())], None),
            other => (Vec::new(), Some(other.to_string())),
        };
        Self {
            status: Some(error.status()),
            notice: None,
            error: message,
            errors,
        }
    }

    pub(super) fn status(&self) -> StatusCode {
        self.status.unwrap_or(StatusCode::OK)
    }
}

/// An error a page shows itself (the user can act on it); others propagate.
pub(super) fn shown_on_page(error: &AppError) -> bool {
    matches!(
        error,
        AppError::Validation(_)
            | AppError::Conflict { .. }
            | AppError::Gone(_)
            | AppError::NotFound(_)
    )
}

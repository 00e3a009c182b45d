//! Owns the one error type of the HTTP layer, [`AppError`], and its rendering as
//! RFC 9457 `application/problem+json`. Internal causes are logged once here and never
//! sent to clients; validation errors carry one entry per field.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::StoreError;
/// The entries of [`AppError::Validation`]: one invalid field, from the domain's
/// validation (`domain::fields`).
pub use crate::domain::FieldError;
use crate::domain::InvalidFields;

/// Result alias for handlers and services.
pub type AppResult<T, E = AppError> = std::result::Result<T, E>;

/// Every error a handler can return; each becomes a problem+json response.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request body or parameters are malformed (not JSON, wrong types…).
    #[error("{0}")]
    BadRequest(String),
    /// One or more fields are invalid.
    #[error("invalid fields")]
    Validation(Vec<FieldError>),
    /// No or invalid credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Valid credentials, but not for this resource.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing here.
    #[error("{0}")]
    NotFound(String),
    /// It was here and has been deleted.
    #[error("{0}")]
    Gone(String),
    /// The request conflicts with existing data (a username taken…).
    #[error("{message}")]
    Conflict {
        /// The field that conflicts, if any.
        field: Option<String>,
        /// What conflicts, in French.
        message: String,
    },
    /// The request body has a content type we do not take.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The request body is too large.
    #[error("request body too large")]
    PayloadTooLarge,
    /// This client's share is used for now (too many attempts, requests, exports…):
    /// `429` with `Retry-After`.
    #[error("{message}")]
    RateLimited {
        /// What to do, in French.
        message: String,
        /// Seconds to wait.
        retry_after: u64,
    },
    /// A bounded resource of the node is busy: `503` with `Retry-After`.
    #[error("{message}")]
    Unavailable {
        /// What to do, in French.
        message: String,
        /// Seconds to wait.
        retry_after: u64,
    },
    /// A bug or an infrastructure failure; logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The RFC 9457 body sent for every error.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary, French first then English.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// What happened, for a person.
    pub detail: String,
    /// Per-field errors, for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl AppError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Gone(_) => StatusCode::GONE,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Seconds to wait before trying again, when the error says so (`Retry-After`).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::RateLimited { retry_after, .. }
            | AppError::Unavailable { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// The problem document sent to the client (safe part only).
    pub fn problem(&self) -> Problem {
        let (slug, title) = match self {
            AppError::BadRequest(_) => ("bad-request", "Requête invalide / Bad request"),
            AppError::Validation(_) => ("validation", "Données invalides / Invalid data"),
            AppError::Unauthorized(_) => (
                "unauthorized",
                "Authentification requise / Authentication required",
            ),
            AppError::Forbidden(_) => ("forbidden", "Accès refusé / Forbidden"),
            AppError::NotFound(_) => ("not-found", "Introuvable / Not found"),
            AppError::Gone(_) => ("gone", "Supprimé / Gone"),
            AppError::Conflict { .. } => ("conflict", "Conflit / Conflict"),
            AppError::UnsupportedMediaType(_) => (
                "unsupported-media-type",
                "Type de contenu non pris en charge / Unsupported media type",
            ),
            AppError::PayloadTooLarge => (
                "payload-too-large",
                "Requête trop volumineuse / Payload too large",
            ),
            AppError::RateLimited { .. } => {
                ("too-many-requests", "Trop de requêtes / Too many requests")
            }
            AppError::Unavailable { .. } => (
                "unavailable",
                "Service momentanément indisponible / Service unavailable",
            ),
            AppError::Internal(_) => ("internal", "Erreur interne / Internal error"),
        };
        let detail = match self {
            AppError::Validation(errors) => format!(
                "{} : {}",
                crate::domain::french::count(
                    errors.len() as i64,
                    "champ invalide",
                    "champs invalides"
                ),
                errors
                    .iter()
                    .map(|e| e.field.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            AppError::Internal(_) => {
                "Une erreur interne est survenue ; elle a été journalisée.".to_string()
            }
            AppError::PayloadTooLarge => {
                "Le corps de la requête dépasse la taille autorisée.".into()
            }
            other => other.to_string(),
        };
        let errors = match self {
            AppError::Validation(errors) => errors.clone(),
            AppError::Conflict {
                field: Some(field),
                message,
            } => vec![FieldError::new(field.clone(), message.clone())],
            _ => Vec::new(),
        };
        Problem {
            kind: format!("https://w3id.org/maillage/problems#{slug}"),
            title: title.to_string(),
            status: self.status().as_u16(),
            detail,
            errors,
        }
    }
}

impl From<InvalidFields> for AppError {
    fn from(InvalidFields(errors): InvalidFields) -> Self {
        AppError::Validation(errors)
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        if error.is_lock_conflict() {
            tracing::warn!(%error, "transaction aborted by the database; the client may retry");
            return AppError::Unavailable {
                message: "Conflit momentané avec une autre écriture : réessayez.".into(),
                retry_after: 1,
            };
        }
        match error {
            StoreError::Conflict(constraint) => AppError::Conflict {
                field: None,
                message: format!("Cette valeur existe déjà ({constraint})."),
            },
            StoreError::Corrupt(message) => {
                AppError::Internal(anyhow::anyhow!("corrupt row: {message}"))
            }
            StoreError::Database(error) => AppError::Internal(error.into()),
            StoreError::Migrate(error) => AppError::Internal(error.into()),
            StoreError::Refused(message) => AppError::Conflict {
                field: None,
                message,
            },
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(error) = &self {
            // Logged once here with the whole cause chain; the client gets the safe part.
            tracing::error!(error = format!("{error:#}"), "internal error");
        }
        let mut response = problem_response(self.status(), &self.problem());
        if let Some(retry_after) = self.retry_after() {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_str(&retry_after.to_string()).expect("BUG: digits"),
            );
        }
        response
    }
}

/// Serialises `problem` with the `application/problem+json` content type.
pub fn problem_response(status: StatusCode, problem: &Problem) -> Response {
    let body = serde_json::to_vec(problem).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FieldErrors;

    #[test]
    fn internal_errors_do_not_leak() {
        let error = AppError::Internal(anyhow::anyhow!("password=hunter2 in connection string"));
        let problem = error.problem();
        assert_eq!(problem.status, 500);
        assert!(!problem.detail.contains("hunter2"));
    }

    #[test]
    fn validation_lists_fields() {
        let mut errors = FieldErrors::default();
        errors.push("name", "obligatoire");
        errors.push("themes[0]", "inconnu");
        let error = AppError::from(errors.finish(|| ()).unwrap_err());
        let problem = error.problem();
        assert_eq!(problem.status, 422);
        assert_eq!(problem.errors.len(), 2);
        assert!(problem.detail.contains("themes[0]"));
    }
}

//! Owns the JSON API under `/api/v1` (SPEC §6) and its OpenAPI document: one file per
//! resource with its DTOs (`…Body` in, `…View` out) and their conversion to domain
//! values. Handlers extract, call one [`crate::service`] function, and respond.

pub mod actions;
pub mod admission;
pub mod auth;
pub mod blocks;
pub mod collectivites;
pub mod comments;
pub mod directory;
pub mod domains;
pub mod follows;
pub mod interest;
pub mod openapi;
pub mod partnerships;
pub mod reports;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};

use crate::error::{AppError, AppResult, FieldError};
use crate::state::AppState;

/// Every API route, plus `/api/openapi.json`.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(collectivites::router())
        .merge(actions::router())
        .merge(follows::router())
        .merge(partnerships::router())
        .merge(comments::router())
        .merge(interest::router())
        .merge(reports::router())
        .merge(blocks::router())
        .merge(admission::router())
        .merge(domains::router())
        .merge(directory::router())
        .merge(openapi::router())
}

/// `404` for an id of `what` this node does not know (or cannot read).
fn not_found(what: &str, id: &str) -> AppError {
    AppError::NotFound(format!("aucun(e) {what} « {id} » sur ce nœud"))
}

/// The numeric id of a `what` in a path, or `404`.
fn parse_id(what: &str, id: &str) -> AppResult<i64> {
    id.parse().map_err(|_| not_found(what, id))
}

/// `Json` whose rejections are problem+json (400 malformed, 415 wrong type, 422 wrong
/// shape with the field path, 413 too large, 422 for a string holding a NUL byte,
/// which no field takes and PostgreSQL cannot store).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        // Read once (within the body limit), checked, then parsed as `Json` would.
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|rejection| AppError::from(JsonRejection::from(rejection)))?;
        if let Some(field) = crate::input::nul_field(&bytes) {
            return Err(crate::input::nul_error(field));
        }
        let request = Request::from_parts(parts, Body::from(bytes));
        let axum::Json(value) = axum::Json::<T>::from_request(request, state).await?;
        Ok(ApiJson(value))
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(error) => {
                // axum's message is "Failed to deserialize the JSON body into the target
                // type: <path>: <serde message>"; keep the path and the serde message.
                let text = error.body_text();
                let detail = text
                    .split_once("target type: ")
                    .map(|(_, rest)| rest.to_string())
                    .unwrap_or(text);
                let (field, message) = match detail.split_once(": ") {
                    Some((path, message)) if !path.contains(' ') => {
                        (path.to_string(), message.to_string())
                    }
                    _ => ("body".to_string(), detail.clone()),
                };
                AppError::Validation(vec![FieldError::new(field, message)])
            }
            JsonRejection::JsonSyntaxError(error) => {
                AppError::BadRequest(format!("JSON invalide : {}", error.body_text()))
            }
            JsonRejection::MissingJsonContentType(_) => AppError::UnsupportedMediaType(
                "le corps doit être du JSON (Content-Type: application/json)".into(),
            ),
            JsonRejection::BytesRejection(error) => {
                if error.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::PayloadTooLarge
                } else {
                    AppError::BadRequest(error.body_text())
                }
            }
            other => AppError::BadRequest(other.body_text()),
        }
    }
}

/// Applies an RFC 7396 JSON merge patch: objects merge, `null` removes, the rest replaces.
pub fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    use serde_json::Value;
    match patch {
        Value::Object(patch) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            let target = target.as_object_mut().expect("BUG: just made an object");
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(key);
                } else {
                    merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
        other => *target = other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::merge_patch;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc7396() {
        let mut target = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut target, &json!({"a": "z", "c": {"f": null}}));
        assert_eq!(target, json!({"a": "z", "c": {"d": "e"}}));
    }
}

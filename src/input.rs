//! Owns the checks every request passes before routing: no NUL byte in the path, the
//! query string or a form body once percent-decoded (PostgreSQL cannot store one in
//! text, and no name, code or handle holds one), answered `400` problem+json (an HTML
//! page for browsers, through `web::html_errors`). JSON bodies of the API are checked
//! by [`crate::api::ApiJson`] ([`nul_field`]); inbound activities strip NULs from the
//! texts they keep (`federation::inbox`).

use axum::body::Body;
use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{AppError, FieldError};

/// True when `text` (percent-encoded) decodes to something holding a NUL byte: only
/// `%00` does (a literal NUL cannot reach here, the HTTP parser refuses it; `%C0%80`
/// is not UTF-8 and is refused as such where it is decoded).
fn encodes_nul(text: &[u8]) -> bool {
    text.windows(3).any(|w| w == b"%00") || text.contains(&0)
}

/// The middleware: refuses a NUL in the path, the query or a form body.
pub async fn reject_nul(request: Request, next: Next) -> Response {
    let uri = request.uri();
    if encodes_nul(uri.path().as_bytes()) {
        return AppError::BadRequest("l'adresse contient un octet nul (%00)".into())
            .into_response();
    }
    if uri.query().is_some_and(|q| encodes_nul(q.as_bytes())) {
        return AppError::BadRequest(
            "un paramètre de la requête contient un octet nul (%00)".into(),
        )
        .into_response();
    }
    let form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return next.run(request).await;
    }
    // Forms are small; a larger body is refused as too large further on anyway.
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, crate::startup::BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(_) => return AppError::PayloadTooLarge.into_response(),
    };
    if encodes_nul(&bytes) {
        return AppError::BadRequest("un champ du formulaire contient un octet nul (%00)".into())
            .into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The first field of a JSON document whose key or string value holds a NUL, as a
/// path (`name`, `location[0].name`); `None` when there is none. Cheap for the usual
/// body: the document is parsed only when its text holds a `\u0000` escape.
pub fn nul_field(json: &[u8]) -> Option<String> {
    if !has_nul_escape(json) {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(json).ok()?;
    find_nul(&value, String::new())
}

/// True when the JSON text holds the escape `\u0000` (an odd run of backslashes before
/// `u0000`: `\\u0000` is a backslash followed by the text `u0000`).
fn has_nul_escape(json: &[u8]) -> bool {
    json.windows(5).enumerate().any(|(at, w)| {
        w == b"u0000" && json[..at].iter().rev().take_while(|b| **b == b'\\').count() % 2 == 1
    })
}

fn find_nul(value: &serde_json::Value, path: String) -> Option<String> {
    use serde_json::Value;
    let here = || {
        Some(if path.is_empty() {
            "body".into()
        } else {
            path.clone()
        })
    };
    match value {
        Value::String(s) if s.contains('\0') => here(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| find_nul(item, format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            let inner = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if key.contains('\0') {
                Some(inner.replace('\0', "\\u0000"))
            } else {
                find_nul(item, inner)
            }
        }),
        _ => None,
    }
}

/// The validation error for a NUL in the JSON field `field`.
pub fn nul_error(field: String) -> AppError {
    AppError::Validation(vec![FieldError::new(
        field,
        "contient un octet nul (\\u0000), refusé",
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_bytes_are_found() {
        assert!(encodes_nul(b"/logiciels/%00"));
        assert!(encodes_nul(b"resource=acct:a%00@b"));
        assert!(!encodes_nul(b"/logiciels/%2500"));
        assert!(!encodes_nul(b"q=100%"));
        assert_eq!(
            nul_field(br#"{"name": "a\u0000b", "x": 1}"#).as_deref(),
            Some("name")
        );
        assert_eq!(
            nul_field(br#"{"location": [{"name": "ok"}, {"name": "\u0000"}]}"#).as_deref(),
            Some("location[1].name")
        );
        assert_eq!(
            nul_field(br#"{"name": "\\u0000"}"#),
            None,
            "an escaped backslash"
        );
        assert_eq!(
            nul_field(br#"{"name": "\\\u0000"}"#).as_deref(),
            Some("name")
        );
        assert_eq!(nul_field(br#"{"name": "plain"}"#), None);
    }
}

//! Owns the server-rendered HTML pages (French, accessible, no JavaScript): view structs
//! built from domain values (`…Page`), askama templates in `templates/`, and the HTML
//! rendering of errors. ActivityPub URLs hand over here when a browser asks for HTML.

pub mod accessibility;
pub mod admin;
pub mod assets;
pub mod directory_pages;
pub mod pages;
pub mod words;

use axum::Router;
use axum::http::header;
use axum::response::Response;
use axum::routing::get;

use crate::state::AppState;

/// Page routes (the rest are negotiated from [`crate::federation::routes`]).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home_page))
        .route("/themes/{slug}", get(directory_pages::theme_page))
        .route(
            "/departements/{code}",
            get(directory_pages::departement_page),
        )
        .route("/regions/{code}", get(directory_pages::region_page))
        .route("/logiciels/{name}", get(directory_pages::software_page))
        .route("/prestataires/{name}", get(directory_pages::provider_page))
        .route("/statistiques", get(directory_pages::stats_page))
        .route("/accessibilite", get(accessibility::accessibility_page))
        .route(
            "/actions/{id}/signaler",
            axum::routing::post(pages::report_action),
        )
        .route("/static/{*path}", get(assets::asset))
        .merge(admin::router())
}

/// Renders problem+json errors as an HTML page, same status, for clients asking for HTML
/// (browsers following a link to a missing actor or action). `Retry-After` (on `429` and
/// `503`) stays on the page. (`Connection: close` for an unread body is set by
/// `server::serve` around the whole router, after this layer: nothing to keep here.)
pub async fn html_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let wants_html = crate::federation::routes::wants_html(request.headers());
    let response = next.run(request).await;
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !wants_html || !is_problem {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let problem: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let text = |key: &str| {
        problem
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    let mut page = pages::message_response(parts.status, text("title"), text("detail"));
    if let Some(value) = parts.headers.get(header::RETRY_AFTER) {
        page.headers_mut()
            .insert(header::RETRY_AFTER, value.clone());
    }
    page
}

//! `GET /accessibilite`: the RGAA 4.1 accessibility declaration French law asks every
//! public service website to publish (article 47 of law 2005-102, decree 2019-768):
//! the conformance measured and how, what is not accessible and its alternative, how
//! to report a problem (`node.contact`), and the Défenseur des droits recourse.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::pages::html;
use crate::error::AppResult;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "accessibility.html")]
struct AccessibilityPage {
    node_name: String,
    version: &'static str,
    /// `node.contact` as written, and as a link target.
    contact: Option<(String, String)>,
}

/// `GET /accessibilite`.
pub async fn accessibility_page(State(state): State<AppState>) -> AppResult<Response> {
    let node = &state.settings.node;
    html(
        StatusCode::OK,
        &AccessibilityPage {
            node_name: node.name.clone(),
            version: env!("CARGO_PKG_VERSION"),
            contact: node
                .contact_href()
                .map(|href| (node.contact.trim().to_string(), href)),
        },
    )
}

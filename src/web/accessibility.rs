//! `GET /accessibilite`: the RGAA 4.1 accessibility declaration French law asks every
//! public service website to publish (article 47 of law 2005-102, decree 2019-768):
//! the conformance measured and how, what is not accessible and its alternative, how
//! to report a problem (`node.contact`), and the Défenseur des droits recourse; and
//! the status every page's footer states (`[accessibility]`: "non conforme" until an
//! audit measures more).

use askama::Template;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use super::pages::html;
use crate::config::Conformance;
use crate::error::AppResult;
use crate::state::AppState;

tokio::task_local! {
    /// The node's declared status while one of its requests is answered.
    static STATUS: Conformance;
}

/// Middleware: answers the request with the node's declared status at hand for the
/// footer every page includes (`templates/accessibility_status.html`), so that no
/// page's view has to carry it.
pub async fn with_status(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let status = state.settings.accessibility.conformance();
    STATUS.scope(status, next.run(request)).await
}

/// The status for the footer of the page being rendered: "non conforme" outside a
/// request (what the law requires without an audit).
pub fn footer_status() -> &'static str {
    STATUS
        .try_with(|status| *status)
        .unwrap_or(Conformance::None)
        .label()
}

/// The audit the declaration reports.
struct Audit {
    /// Its day, in French.
    date: String,
    by: String,
    rate: u8,
}

#[derive(Template)]
#[template(path = "accessibility.html")]
struct AccessibilityPage {
    node_name: String,
    version: &'static str,
    /// `node.contact` as written, and as a link target.
    contact: Option<(String, String)>,
    /// "non conforme", "partiellement conforme" or "totalement conforme".
    status: &'static str,
    audit: Option<Audit>,
    schema_url: String,
    action_plan_url: String,
}

/// `GET /accessibilite`.
pub async fn accessibility_page(State(state): State<AppState>) -> AppResult<Response> {
    let node = &state.settings.node;
    let declared = &state.settings.accessibility;
    let audit = declared
        .audit_day()
        .zip(declared.compliance_rate)
        .map(|(day, rate)| Audit {
            date: crate::domain::french::day(day),
            by: declared.audited_by.trim().to_string(),
            rate,
        });
    html(
        StatusCode::OK,
        &AccessibilityPage {
            node_name: node.name.clone(),
            version: env!("CARGO_PKG_VERSION"),
            contact: node
                .contact_href()
                .map(|href| (node.contact.trim().to_string(), href)),
            status: declared.conformance().label(),
            audit,
            schema_url: declared.schema_url.trim().to_string(),
            action_plan_url: declared.action_plan_url.trim().to_string(),
        },
    )
}

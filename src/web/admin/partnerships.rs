//! The admin's partnerships page (SPEC §5): ask to join an action (a `Join`),
//! answer the requests received, end a partnership.

use activitypub_federation::config::Data;
use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use url::Url;

use super::Editor;
use crate::db::partnerships::{Partnership, PartnershipState, Side};
use crate::domain::Collectivite;
use crate::error::{AppError, AppResult, FieldError};
use crate::service;
use crate::state::AppState;
use crate::web::pages::{french_date, html};

use super::exchange::*;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/c/{username}/partenariats",
            get(partnerships_page).post(join),
        )
        .route("/admin/c/{username}/partenariats/demander", post(join))
        .route(
            "/admin/c/{username}/partenariats/{id}/{decision}",
            post(partnership_decision),
        )
}

// ---------------------------------------------------------------------------------
// Partnerships

/// One partnership request, from the side of the collectivité shown.
pub struct PartnershipItem {
    id: i64,
    action_name: String,
    action_url: Option<String>,
    /// The other collectivité.
    other_name: String,
    other_url: Option<String>,
    other_handle: String,
    state: &'static str,
    pending: bool,
    accepted: bool,
    date: String,
}

impl PartnershipItem {
    fn new(p: &Partnership, other: &Side) -> Self {
        Self {
            id: p.id,
            action_name: p.action_name.clone(),
            action_url: web_link(&p.action_ap_id),
            other_name: display_name(&other.name, &other.username),
            other_url: web_link(&other.ap_id),
            other_handle: format!("{}@{}", other.username, other.domain),
            state: p.state.label(),
            pending: p.state == PartnershipState::Pending,
            accepted: p.state == PartnershipState::Accepted,
            date: french_date(p.updated_at),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/exchange_partnerships.html")]
pub(super) struct PartnershipsPage {
    node_name: String,
    csrf: String,
    username: String,
    name: String,
    notice: Option<String>,
    error: Option<String>,
    action: String,
    action_error: Option<String>,
    received: Vec<PartnershipItem>,
    sent: Vec<PartnershipItem>,
}

pub(super) async fn render_partnerships(
    state: &AppState,
    editor: &Editor,
    c: &Collectivite,
    action: String,
    outcome: Outcome,
) -> AppResult<Response> {
    let received = state
        .store
        .partnerships_of(c.id, false)
        .await?
        .iter()
        .map(|p| PartnershipItem::new(p, &p.requester))
        .collect();
    let sent = state
        .store
        .partnerships_of(c.id, true)
        .await?
        .iter()
        .map(|p| PartnershipItem::new(p, &p.owner))
        .collect();
    let mut error = outcome.error.clone();
    if let Some(others) = other_messages(&outcome.errors, &["action"]) {
        error = Some(others);
    }
    html(
        outcome.status(),
        &PartnershipsPage {
            node_name: state.settings.node.name.clone(),
            csrf: editor.session.csrf_token.clone(),
            username: c.profile.username.to_string(),
            name: c.profile.name.clone(),
            notice: outcome.notice.clone(),
            error,
            action,
            action_error: field_message(&outcome.errors, "action"),
            received,
            sent,
        },
    )
}

/// `GET /admin/c/{username}/partenariats`: the join form, requests received and sent.
pub async fn partnerships_page(
    State(state): State<AppState>,
    editor: Editor,
    Path(username): Path<String>,
    Query(done): Query<Done>,
) -> AppResult<Response> {
    let c = editor.collectivite(&username)?;
    render_partnerships(&state, &editor, c, String::new(), Outcome::notice(&done)).await
}

/// The join form.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct JoinForm {
    csrf: String,
    action: String,
}

pub(super) fn action_url(typed: &str) -> AppResult<Url> {
    let invalid = |message: &str| AppError::Validation(vec![FieldError::new("action", message)]);
    if typed.is_empty() {
        return Err(invalid(
            "obligatoire : collez l'adresse (URL) de la page de l'action",
        ));
    }
    Url::parse(typed)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| {
            invalid("l'adresse (URL) de l'action est attendue, par exemple https://exemple.fr/actions/…")
        })
}

/// `POST /admin/c/{username}/partenariats[/demander]`: asks to join an action (a `Join`
/// to its owner). The page's form posts to the page itself, so that a session expired
/// meanwhile brings the editor back to the page after signing in.
pub async fn join(
    data: Data<AppState>,
    editor: Editor,
    Path(username): Path<String>,
    Form(form): Form<JoinForm>,
) -> AppResult<Response> {
    editor.check_csrf(&form.csrf)?;
    let c = editor.collectivite(&username)?;
    let typed = form.action.trim();
    let result = match action_url(typed) {
        Ok(url) => service::partnerships::request(&data, c, &url).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(_) => Ok(done(
            &format!("/admin/c/{}/partenariats", c.profile.username),
            "demande",
        )),
        Err(error) if shown_on_page(&error) => {
            render_partnerships(
                &data,
                &editor,
                c,
                typed.to_string(),
                Outcome::failed(&error),
            )
            .await
        }
        Err(error) => Err(error),
    }
}

/// `POST /admin/c/{username}/partenariats/{id}/{accepter|refuser|terminer}`.
pub async fn partnership_decision(
    State(state): State<AppState>,
    editor: Editor,
    Path((username, id, decision)): Path<(String, String, String)>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    editor.check_csrf(&form.csrf)?;
    let c = editor.collectivite(&username)?;
    let partnership = state
        .store
        .partnership(parse_id("demande de partenariat", &id)?)
        .await?
        .filter(|p| p.owner.id == c.id || p.requester.id == c.id)
        .ok_or_else(|| not_found("demande de partenariat", &id))?;
    let (result, code) = match decision.as_str() {
        "accepter" | "refuser" if partnership.owner.id == c.id => {
            let accept = decision == "accepter";
            (
                service::partnerships::answer(&state, &partnership, accept).await,
                if accept { "acceptee" } else { "refusee" },
            )
        }
        "terminer" => (
            service::partnerships::end(&state, &partnership, c).await,
            "terminee",
        ),
        _ => return Err(not_found("demande de partenariat", &id)),
    };
    match result {
        Ok(_) => Ok(done(
            &format!("/admin/c/{}/partenariats", c.profile.username),
            code,
        )),
        Err(error) if shown_on_page(&error) => {
            render_partnerships(&state, &editor, c, String::new(), Outcome::failed(&error)).await
        }
        Err(error) => Err(error),
    }
}

//! Sign-in, sign-out and the dashboard of the web admin.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Editor, session_cookie};
use crate::db::comments::CommentState;
use crate::db::partnerships::PartnershipState;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::pages::html;

/// `?suivant=` (where to go after signing in).
#[derive(Debug, Deserialize, Default)]
pub struct Next {
    suivant: Option<String>,
}

/// A path on this node only (no open redirect), and one that fits in a `Location`
/// header (a control character would turn the redirect into a `500`).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with("/admin")
                && !path.starts_with("//")
                && !path.chars().any(char::is_control) =>
        {
            path.to_string()
        }
        _ => "/admin".into(),
    }
}

#[derive(Template)]
#[template(path = "admin/login.html")]
struct LoginPage {
    node_name: String,
    username: String,
    error: Option<String>,
    next: String,
}

/// `GET /admin/connexion`.
pub async fn login_form(
    State(state): State<AppState>,
    Query(next): Query<Next>,
) -> AppResult<Response> {
    html(
        StatusCode::OK,
        &LoginPage {
            node_name: state.settings.node.name.clone(),
            username: String::new(),
            error: None,
            next: safe_next(next.suivant.as_deref()),
        },
    )
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    suivant: Option<String>,
}

/// `POST /admin/connexion`: opens a session, or shows the form again with the error
/// (`401`, `429` after too many failures, `503` when password checks are all busy,
/// both with `Retry-After`) and the name typed.
pub async fn login(
    State(state): State<AppState>,
    super::ClientIp(ip): super::ClientIp,
    Form(form): Form<LoginForm>,
) -> AppResult<Response> {
    let next = safe_next(form.suivant.as_deref());
    // The client's address (behind a trusted proxy, the one it forwards); `None` for
    // the proxy's own requests, which only the per-account limit counts.
    match crate::service::users::login(&state, &form.username, &form.password, ip).await {
        Ok((token, _)) => {
            let mut response = Redirect::to(&next).into_response();
            response
                .headers_mut()
                .insert(header::SET_COOKIE, session_cookie(&state, Some(&token)));
            Ok(response)
        }
        Err(
            error @ (AppError::Unauthorized(_)
            | AppError::RateLimited { .. }
            | AppError::Unavailable { .. }),
        ) => {
            let mut response = html(
                error.status(),
                &LoginPage {
                    node_name: state.settings.node.name.clone(),
                    username: form.username,
                    error: Some(error.to_string()),
                    next,
                },
            )?;
            if let Some(wait) = error.retry_after() {
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_str(&wait.to_string()).expect("BUG: digits"),
                );
            }
            Ok(response)
        }
        Err(other) => Err(other),
    }
}

/// The sign-out form.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// `POST /admin/deconnexion`.
pub async fn logout(
    State(state): State<AppState>,
    editor: Editor,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    editor.check_csrf(&form.csrf)?;
    crate::service::users::logout(&state, &editor.token).await?;
    let mut response = Redirect::to("/admin/connexion").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, None));
    Ok(response)
}

/// One collectivité on the dashboard.
pub struct DashboardItem {
    /// Username.
    pub username: String,
    /// Name.
    pub name: String,
    /// Live actions.
    pub actions: i64,
    /// Partnership requests waiting for an answer.
    pub requests: usize,
    /// Comments waiting for moderation.
    pub comments: usize,
    /// `@user@domain`.
    pub handle: String,
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct DashboardPage {
    node_name: String,
    csrf: String,
    user: String,
    admin: bool,
    items: Vec<DashboardItem>,
}

/// `GET /admin`: the editor's collectivités and what waits for them.
pub async fn dashboard(State(state): State<AppState>, editor: Editor) -> AppResult<Response> {
    let mut items = Vec::new();
    for c in &editor.collectivites {
        let requests = state
            .store
            .partnerships_of(c.id, false)
            .await?
            .iter()
            .filter(|p| p.state == PartnershipState::Pending)
            .count();
        let comments = state
            .store
            .comments_to_moderate(CommentState::Pending, Some(c.id))
            .await?
            .len();
        items.push(DashboardItem {
            username: c.profile.username.to_string(),
            name: c.profile.name.clone(),
            actions: state.store.count_actions_of(c.id).await?,
            requests,
            comments,
            handle: format!("{}@{}", c.profile.username.as_ref(), c.domain),
        });
    }
    html(
        StatusCode::OK,
        &DashboardPage {
            node_name: state.settings.node.name.clone(),
            csrf: editor.session.csrf_token.clone(),
            user: editor.session.user.username.clone(),
            admin: editor.session.user.admin,
            items,
        },
    )
}

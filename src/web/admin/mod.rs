//! The editors' web admin (`/admin`, SPEC §5): French, server-rendered, no JavaScript
//! needed except the map picker. Sign-in with a cookie session ([`Editor`]), a CSRF
//! token in every form ([`Editor::check_csrf`]; the sign-in form's own, before any
//! session, is [`LoginToken`]), and pages per collectivité the editor edits. Handlers
//! call `service`, like the JSON API.

pub mod actions;
pub mod admission;
pub mod blocks;
pub mod comments;
pub mod domains;
pub mod exchange;
pub mod follows;
pub mod forms;
pub mod import;
pub mod notifications;
pub mod pages;
pub mod partnerships;
pub mod profile;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::db::users::Session;
use crate::domain::Collectivite;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Name of the session cookie.
pub const COOKIE: &str = "maillage_session";

/// The admin routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(pages::dashboard))
        .route(
            "/admin/connexion",
            get(pages::login_form).post(pages::login),
        )
        .route("/admin/deconnexion", post(pages::logout))
        .merge(profile::router())
        .merge(actions::router())
        .merge(import::router())
        .merge(partnerships::router())
        .merge(comments::router())
        .merge(follows::router())
        .merge(blocks::router())
        .merge(admission::router())
        .merge(domains::router())
        .merge(notifications::router())
}

/// A signed-in editor: the session and the collectivités it may edit.
#[derive(Debug, Clone)]
pub struct Editor {
    /// The session (user and CSRF token).
    pub session: Session,
    /// The cookie's token (to sign out).
    pub token: String,
    /// Collectivités this account edits, by name.
    pub collectivites: Vec<Collectivite>,
}

impl Editor {
    /// Refuses a form whose CSRF token is not this session's.
    ///
    /// # Errors
    /// [`AppError::Forbidden`].
    pub fn check_csrf(&self, token: &str) -> AppResult<()> {
        use subtle_compare::equal;
        if equal(token.as_bytes(), self.session.csrf_token.as_bytes()) {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "formulaire expiré ou d'une autre origine : rechargez la page et recommencez"
                    .into(),
            ))
        }
    }

    /// The collectivité `username` if this editor edits it.
    ///
    /// # Errors
    /// [`AppError::NotFound`] otherwise (the same for one that exists elsewhere).
    pub fn collectivite(&self, username: &str) -> AppResult<&Collectivite> {
        self.collectivites
            .iter()
            .find(|c| c.profile.username.as_ref() == username)
            .ok_or_else(|| {
                AppError::NotFound(format!("vous n'éditez pas de collectivité « {username} »"))
            })
    }
}

/// The client's address when the server knows it (rate limit of sign-ins).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<std::net::IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0.ip());
        Ok(ClientIp(crate::limits::client_ip(
            peer,
            &parts.headers,
            &state.settings.limits.trusted_proxies,
        )))
    }
}

mod subtle_compare {
    /// Compares in time independent of where the inputs differ.
    pub fn equal(a: &[u8], b: &[u8]) -> bool {
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// The value of the cookie `name` from the `Cookie` header (128 characters at most).
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// The session token from the `Cookie` header.
pub fn cookie_token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, COOKIE)
}

/// Name of the sign-in form's cookie (login CSRF, before any session exists).
pub const LOGIN_COOKIE: &str = "maillage_connexion";

/// The sign-in form's token, double-submitted: sent in a cookie only this site's own
/// pages send back (`SameSite=Strict`, `HttpOnly`, on the sign-in path only) and in a
/// hidden field. Another site can make a browser post the form (login CSRF: the
/// victim signed in to the attacker's account), but can neither read nor set the
/// cookie, so it cannot write the matching field.
pub struct LoginToken(pub String);

impl LoginToken {
    /// The token of the browser's cookie when it has a well-formed one (several tabs
    /// keep working), a new random one otherwise.
    pub fn of(headers: &HeaderMap) -> Self {
        match cookie(headers, LOGIN_COOKIE) {
            Some(token) if token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()) => {
                LoginToken(token)
            }
            _ => {
                let mut bytes = [0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
                LoginToken(hex::encode(bytes))
            }
        }
    }

    /// True when the form's field `submitted` matches the browser's cookie.
    pub fn submitted_with(headers: &HeaderMap, submitted: &str) -> bool {
        cookie(headers, LOGIN_COOKIE).is_some_and(|expected| {
            !submitted.is_empty()
                && subtle_compare::equal(submitted.as_bytes(), expected.as_bytes())
        })
    }

    /// The `Set-Cookie` value holding this token (two hours), or (`None`) removing it.
    pub fn cookie(state: &AppState, token: Option<&Self>) -> HeaderValue {
        let secure = secure_attribute(state);
        let value = match token {
            Some(token) => format!(
                "{LOGIN_COOKIE}={}; Path=/admin/connexion; HttpOnly; SameSite=Strict; Max-Age=7200{secure}",
                token.0
            ),
            None => format!(
                "{LOGIN_COOKIE}=; Path=/admin/connexion; HttpOnly; SameSite=Strict; Max-Age=0{secure}"
            ),
        };
        HeaderValue::from_str(&value).expect("BUG: cookie values are ASCII")
    }
}

/// `; Secure` outside debug mode (plain-http development).
fn secure_attribute(state: &AppState) -> &'static str {
    if state.settings.federation.debug {
        ""
    } else {
        "; Secure"
    }
}

/// The `Set-Cookie` value opening (`Some(token)`) or closing a session.
pub fn session_cookie(state: &AppState, token: Option<&str>) -> HeaderValue {
    let secure = secure_attribute(state);
    let value = match token {
        Some(token) => format!(
            "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            crate::service::users::SESSION_DAYS * 86_400
        ),
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&value).expect("BUG: cookie values are ASCII")
}

impl FromRequestParts<AppState> for Editor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_login = || {
            let next = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/admin");
            let encoded: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
            Redirect::to(&format!("/admin/connexion?suivant={encoded}")).into_response()
        };
        let Some(token) = cookie_token(&parts.headers) else {
            return Err(to_login());
        };
        let session = match crate::service::users::session(state, &token).await {
            Ok(Some(session)) => session,
            Ok(None) => return Err(to_login()),
            Err(error) => return Err(error.into_response()),
        };
        let collectivites = state
            .store
            .collectivites_of_user(&session.user)
            .await
            .map_err(|e| AppError::from(e).into_response())?;
        Ok(Editor {
            session,
            token,
            collectivites,
        })
    }
}

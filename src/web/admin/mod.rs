//! The editors' web admin (`/admin`, SPEC §5): French, server-rendered, no JavaScript
//! needed except the map picker. Sign-in with a cookie session ([`Editor`]), a CSRF
//! token in every form ([`Editor::check_csrf`]), and pages per collectivité the editor
//! edits. Handlers call `service`, like the JSON API.

pub mod domains;
pub mod exchange;
pub mod forms;
pub mod pages;

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
        .merge(forms::router())
        .merge(exchange::router())
        .merge(domains::router())
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

/// The session token from the `Cookie` header.
pub fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// The `Set-Cookie` value opening (`Some(token)`) or closing a session.
pub fn session_cookie(state: &AppState, token: Option<&str>) -> HeaderValue {
    let secure = if state.settings.federation.debug {
        ""
    } else {
        "; Secure"
    };
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

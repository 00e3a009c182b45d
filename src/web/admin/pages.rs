//! Sign-in, sign-out and the dashboard of the web admin.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Editor, LoginToken, session_cookie};
use crate::db::comments::CommentState;
use crate::db::partnerships::PartnershipState;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::pages::html;
use crate::web::words;

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
    csrf: String,
}

/// The sign-in form with `error`, the name typed and the form's token (also set as its
/// cookie).
fn login_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    username: String,
    error: Option<String>,
    next: String,
) -> AppResult<Response> {
    let token = LoginToken::of(headers);
    let mut response = html(
        status,
        &LoginPage {
            node_name: state.settings.node.name.clone(),
            username,
            error,
            next,
            csrf: token.0.clone(),
        },
    )?;
    response
        .headers_mut()
        .append(header::SET_COOKIE, LoginToken::cookie(state, Some(&token)));
    Ok(response)
}

/// `GET /admin/connexion`.
pub async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(next): Query<Next>,
) -> AppResult<Response> {
    login_page(
        &state,
        &headers,
        StatusCode::OK,
        String::new(),
        None,
        safe_next(next.suivant.as_deref()),
    )
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    suivant: Option<String>,
    /// The form's token ([`LoginToken`]).
    #[serde(default)]
    csrf: String,
}

/// `POST /admin/connexion`: opens a session, or shows the form again with the error
/// and the name typed: `403` without the form's token (before anything else is
/// checked), `401`, `429` after too many failures, `503` when password checks are all
/// busy (both with `Retry-After`).
pub async fn login(
    State(state): State<AppState>,
    super::ClientIp(ip): super::ClientIp,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> AppResult<Response> {
    let next = safe_next(form.suivant.as_deref());
    if !LoginToken::submitted_with(&headers, &form.csrf) {
        return login_page(
            &state,
            &headers,
            StatusCode::FORBIDDEN,
            form.username,
            Some(
                "ce formulaire de connexion a expiré ou ne vient pas de ce site : \
                 saisissez à nouveau votre mot de passe ci-dessous"
                    .into(),
            ),
            next,
        );
    }
    // The client's address (behind a trusted proxy, the one it forwards); `None` for
    // the proxy's own requests, which only the per-account limit counts.
    match crate::service::users::login(&state, &form.username, &form.password, ip).await {
        Ok((token, _)) => {
            let mut response = Redirect::to(&next).into_response();
            let headers = response.headers_mut();
            headers.insert(header::SET_COOKIE, session_cookie(&state, Some(&token)));
            headers.append(header::SET_COOKIE, LoginToken::cookie(&state, None));
            Ok(response)
        }
        Err(
            error @ (AppError::Unauthorized(_)
            | AppError::RateLimited { .. }
            | AppError::Unavailable { .. }),
        ) => {
            let mut response = login_page(
                &state,
                &headers,
                error.status(),
                form.username,
                Some(error.to_string()),
                next,
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
    /// `@user@domain`.
    pub handle: String,
    /// "3 actions publiées".
    pub actions_text: String,
    /// "1 demande de partenariat en attente".
    pub requests_text: String,
    /// "2 commentaires à modérer".
    pub comments_text: String,
}

/// An unread notice on the dashboard.
pub struct NoticeView {
    /// One French sentence.
    pub summary: String,
    /// The admin page to act on it.
    pub link: String,
    /// "7 décembre 2026 à 14 h 05".
    pub when: String,
}

/// The notification settings form: values shown, and its error if refused.
#[derive(Default)]
pub struct NotifySettingsForm {
    /// The address field.
    pub email: String,
    /// The chosen mode's word.
    pub mode: String,
    /// The error on the address or the mode, if the form was refused.
    pub error: String,
    /// The id of the field in error (`email`, or the first mode's radio button).
    pub error_field: String,
    /// Just saved.
    pub saved: bool,
}

/// A notification mode as a radio button.
pub struct ModeChoice {
    /// Stored word.
    pub value: &'static str,
    /// French label.
    pub label: &'static str,
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct DashboardPage {
    node_name: String,
    csrf: String,
    user: String,
    admin: bool,
    items: Vec<DashboardItem>,
    notices: Vec<NoticeView>,
    unread_text: String,
    /// The ids of the notices shown, for "mark as read".
    shown_notices: String,
    settings: NotifySettingsForm,
    modes: Vec<ModeChoice>,
    smtp: bool,
    /// Node admins: "1 collectivité en attente d'admission, 2 activités retenues".
    admission_text: String,
    /// For node admins: codes several collectivités claim, none verified
    /// ("INSEE 59378 : 2 collectivités").
    unsettled: Vec<String>,
}

/// `?notifications=enregistrees` after the settings form was saved.
#[derive(Debug, Deserialize, Default)]
pub struct DashboardQuery {
    notifications: Option<String>,
}

/// `GET /admin`: the editor's collectivités, what waits for them, its unread notices
/// and its notification settings.
pub async fn dashboard(
    State(state): State<AppState>,
    editor: Editor,
    Query(query): Query<DashboardQuery>,
) -> AppResult<Response> {
    let user = &editor.session.user;
    let settings = NotifySettingsForm {
        email: user.email.clone().unwrap_or_default(),
        mode: user.notify_mode().as_str().to_string(),
        error: String::new(),
        error_field: String::new(),
        saved: query.notifications.as_deref() == Some("enregistrees"),
    };
    render_dashboard(&state, &editor, settings, StatusCode::OK).await
}

/// Notices shown on the dashboard at most.
pub(super) const NOTICES_SHOWN: i64 = 50;

/// The dashboard with `settings` in its notification form, answered with `status`.
///
/// # Errors
/// Storage failures.
pub async fn render_dashboard(
    state: &AppState,
    editor: &Editor,
    settings: NotifySettingsForm,
    status: StatusCode,
) -> AppResult<Response> {
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
            .count_comments_to_moderate(CommentState::Pending, c.id)
            .await?;
        let actions = state.store.count_actions_of(c.id).await?;
        items.push(DashboardItem {
            username: c.profile.username.to_string(),
            name: c.profile.name.clone(),
            actions_text: words::count(actions, "action publiée", "actions publiées"),
            requests_text: words::count(
                requests as i64,
                "demande de partenariat en attente",
                "demandes de partenariat en attente",
            ),
            comments_text: words::count(
                comments,
                "commentaire à modérer",
                "commentaires à modérer",
            ),
            handle: format!("{}@{}", c.profile.username.as_ref(), c.domain),
        });
    }
    let (notices, unread) = state
        .store
        .unread_notices(editor.session.user.id, NOTICES_SHOWN)
        .await?;
    let shown_notices = notices
        .iter()
        .map(|n| n.id.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let admission_text = if editor.session.user.admin {
        let admission = state.settings.aggregator.effective_admission();
        let pending = state
            .store
            .admission_candidates()
            .await?
            .iter()
            .filter(|c| c.pending(admission))
            .count();
        format!(
            "{}, {}",
            words::count(
                pending as i64,
                "collectivité en attente d'admission",
                "collectivités en attente d'admission"
            ),
            words::count(
                state.store.count_held().await?,
                "activité retenue",
                "activités retenues"
            )
        )
    } else {
        String::new()
    };
    let unsettled = if editor.session.user.admin {
        state
            .store
            .unsettled_codes()
            .await?
            .into_iter()
            .map(|u| {
                format!(
                    "{} {} : {}",
                    u.kind,
                    u.code,
                    words::count(u.actors, "collectivité", "collectivités")
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    html(
        status,
        &DashboardPage {
            node_name: state.settings.node.name.clone(),
            csrf: editor.session.csrf_token.clone(),
            user: editor.session.user.username.clone(),
            admin: editor.session.user.admin,
            items,
            unread_text: words::count(unread, "notification non lue", "notifications non lues"),
            notices: notices
                .into_iter()
                .map(|n| NoticeView {
                    summary: n.summary,
                    link: n.link,
                    when: words::date_time(n.created_at),
                })
                .collect(),
            shown_notices,
            settings,
            modes: crate::domain::NotifyMode::ALL
                .into_iter()
                .map(|m| ModeChoice {
                    value: m.as_str(),
                    label: m.label(),
                })
                .collect(),
            smtp: state.settings.smtp.enabled(),
            admission_text,
            unsettled,
        },
    )
}

//! The editor's notices on the dashboard (issue 18): mark them read, and the
//! notification settings form (address and rhythm of the mails).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Router};
use serde::Deserialize;

use super::Editor;
use super::pages::{NotifySettingsForm, render_dashboard};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/notifications/lues", post(mark_read))
        .route("/admin/compte/notifications", post(save_settings))
}

/// `POST /admin/notifications/lues`.
#[derive(Debug, Deserialize)]
pub struct ReadForm {
    csrf: String,
    /// The ids of the notices the page showed, comma-separated (a page drawn
    /// before this field existed marks nothing).
    #[serde(default)]
    lues: String,
}

/// Marks the notices the dashboard showed as read (not those beyond its page, nor
/// those arrived since).
async fn mark_read(
    State(state): State<AppState>,
    editor: Editor,
    Form(form): Form<ReadForm>,
) -> AppResult<Response> {
    editor.check_csrf(&form.csrf)?;
    state
        .store
        .mark_notices_read(editor.session.user.id, &shown_ids(&form.lues))
        .await?;
    Ok(Redirect::to("/admin#notifications-recues").into_response())
}

/// The ids of `lues` (`12,11,9`), the dashboard's page at most; others ignored.
fn shown_ids(lues: &str) -> Vec<i64> {
    lues.split(',')
        .filter_map(|id| id.trim().parse().ok())
        .take(super::pages::NOTICES_SHOWN as usize)
        .collect()
}

/// `POST /admin/compte/notifications`.
#[derive(Debug, Deserialize)]
pub struct SettingsForm {
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    mode: String,
}

/// Saves the address and the rhythm, or shows the dashboard again with the error.
async fn save_settings(
    State(state): State<AppState>,
    editor: Editor,
    Form(form): Form<SettingsForm>,
) -> AppResult<Response> {
    editor.check_csrf(&form.csrf)?;
    let user = &editor.session.user;
    match crate::service::users::set_notifications(&state, user, Some(&form.email), &form.mode)
        .await
    {
        Ok(_) => {
            Ok(Redirect::to("/admin?notifications=enregistrees#notifications").into_response())
        }
        Err(AppError::Validation(errors)) => {
            let error = errors
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join(" ; ");
            let error_field = match errors.first().map(|e| e.field.as_str()) {
                Some("mode") => format!("mode-{}", crate::domain::NotifyMode::ALL[0].as_str()),
                _ => "email".to_string(),
            };
            let settings = NotifySettingsForm {
                email: form.email,
                mode: form.mode,
                error,
                error_field,
                saved: false,
            };
            render_dashboard(&state, &editor, settings, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(other) => Err(other),
    }
}

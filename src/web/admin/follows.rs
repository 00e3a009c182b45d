//! The admin's follows page: who the collectivité follows and who follows it, and
//! the follow form (a signed `Follow`, `Undo{Follow}` to stop).

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
use crate::db::follows::FollowListing;
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
            "/admin/c/{username}/abonnements",
            get(follows_page).post(follow),
        )
        .route(
            "/admin/c/{username}/abonnements/{id}/retirer",
            post(unfollow),
        )
}

// ---------------------------------------------------------------------------------
// Follows

/// A follow, either way.
pub struct FollowItem {
    id: i64,
    name: String,
    handle: String,
    url: Option<String>,
    state: &'static str,
    date: String,
}

impl From<&FollowListing> for FollowItem {
    fn from(f: &FollowListing) -> Self {
        Self {
            id: f.id,
            name: display_name(&f.actor_name, &f.actor_username),
            handle: format!("{}@{}", f.actor_username, f.actor_domain),
            url: Url::parse(&f.actor_ap_id).ok().as_ref().and_then(web_link),
            state: f.state.label(),
            date: french_date(f.published),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/exchange_follows.html")]
pub(super) struct FollowsPage {
    node_name: String,
    csrf: String,
    username: String,
    name: String,
    handle: String,
    notice: Option<String>,
    error: Option<String>,
    target: String,
    target_error: Option<String>,
    following: Vec<FollowItem>,
    followers: Vec<FollowItem>,
}

pub(super) async fn render_follows(
    state: &AppState,
    editor: &Editor,
    c: &Collectivite,
    target: String,
    outcome: Outcome,
) -> AppResult<Response> {
    let following = state
        .store
        .following_of(c.id)
        .await?
        .iter()
        .map(FollowItem::from)
        .collect();
    let followers = state
        .store
        .followers_of(c.id)
        .await?
        .iter()
        .map(FollowItem::from)
        .collect();
    let mut error = outcome.error.clone();
    if let Some(others) = other_messages(&outcome.errors, &["target"]) {
        error = Some(others);
    }
    html(
        outcome.status(),
        &FollowsPage {
            node_name: state.settings.node.name.clone(),
            csrf: editor.session.csrf_token.clone(),
            username: c.profile.username.to_string(),
            name: c.profile.name.clone(),
            handle: c.handle(),
            notice: outcome.notice.clone(),
            error,
            target,
            target_error: field_message(&outcome.errors, "target"),
            following,
            followers,
        },
    )
}

/// `GET /admin/c/{username}/abonnements`: follows, followers, the follow form.
pub async fn follows_page(
    State(state): State<AppState>,
    editor: Editor,
    Path(username): Path<String>,
    Query(done): Query<Done>,
) -> AppResult<Response> {
    let c = editor.collectivite(&username)?;
    render_follows(&state, &editor, c, String::new(), Outcome::notice(&done)).await
}

/// The follow form.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct FollowForm {
    csrf: String,
    target: String,
}

pub(super) async fn local_actor(
    state: &AppState,
    c: &Collectivite,
) -> AppResult<crate::db::actors::ActorRecord> {
    state
        .store
        .actor_by_id(c.id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("collectivité « {} »", c.profile.username)))
}

/// `POST /admin/c/{username}/abonnements`: follows a remote actor (a signed `Follow`).
pub async fn follow(
    data: Data<AppState>,
    editor: Editor,
    Path(username): Path<String>,
    Form(form): Form<FollowForm>,
) -> AppResult<Response> {
    editor.check_csrf(&form.csrf)?;
    let c = editor.collectivite(&username)?;
    let typed = form.target.trim();
    let result = if typed.is_empty() {
        Err(AppError::Validation(vec![FieldError::new(
            "target",
            "obligatoire : acct:utilisateur@domaine ou l'adresse de l'acteur",
        )]))
    } else {
        let actor = local_actor(&data, c).await?;
        service::follows::follow(&data, &actor, typed).await
    };
    match result {
        Ok(_) => Ok(done(
            &format!("/admin/c/{}/abonnements", c.profile.username),
            "abonnement",
        )),
        Err(error) if shown_on_page(&error) => {
            render_follows(
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

/// `POST /admin/c/{username}/abonnements/{id}/retirer`: `Undo{Follow}`.
pub async fn unfollow(
    State(state): State<AppState>,
    editor: Editor,
    Path((username, id)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    editor.check_csrf(&form.csrf)?;
    let c = editor.collectivite(&username)?;
    let id = parse_id("abonnement", &id)?;
    let actor = local_actor(&state, c).await?;
    service::follows::unfollow(&state, &actor, id).await?;
    Ok(done(
        &format!("/admin/c/{}/abonnements", c.profile.username),
        "desabonnement",
    ))
}

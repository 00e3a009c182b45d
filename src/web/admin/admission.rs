//! The admission page (node admins; issue 19): the admission policy in force, the
//! remote collectivités waiting for a decision with their claimed identity, their
//! website verification and a sample of their latest actions (Approuver / Refuser),
//! every remote collectivité with its state (Suspendre / Rétablir), and the inbound
//! activities held past a spam bound (Relâcher / Supprimer). The work is done by
//! `service::admission` and `federation::receive::release_held`, as for the JSON API.

use activitypub_federation::config::Data;
use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::Editor;
use super::blocks::require_admin;
use super::exchange::{CsrfForm, Outcome};
use crate::config::Admission;
use crate::error::{AppError, AppResult};
use crate::federation::receive::{Applied, release_held};
use crate::service::admission::{Verdict, decide};
use crate::state::AppState;
use crate::web::pages::{french_date, html};

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/admission", get(admission_page).post(decision))
        .route("/admin/retenues/{id}/relacher", post(release))
        .route("/admin/retenues/{id}/supprimer", post(remove))
}

/// A remote collectivité on the page.
pub struct ActorItem {
    id: i64,
    ap_id: String,
    name: String,
    handle: String,
    identity: String,
    website: Option<String>,
    verification: String,
    state: &'static str,
    suspended: bool,
    listed: bool,
    sample: Vec<String>,
    actions: i64,
}

/// A held activity on the page.
pub struct HeldItem {
    id: i64,
    kind: String,
    actor: String,
    reason: String,
    date: String,
}

#[derive(Template)]
#[template(path = "admin/admission.html")]
struct AdmissionPage {
    node_name: String,
    csrf: String,
    notice: Option<String>,
    error: Option<String>,
    policy: &'static str,
    aggregator: bool,
    pending: Vec<ActorItem>,
    others: Vec<ActorItem>,
    held: Vec<HeldItem>,
}

/// `?fait=` after a form.
#[derive(Debug, Deserialize, Default)]
pub struct Done {
    fait: Option<String>,
}

fn notice(done: &Done) -> Option<String> {
    Some(
        match done.fait.as_deref()? {
            "approve" => "Collectivité approuvée : ses actions entrent dans l'annuaire.",
            "refuse" => "Collectivité refusée : ses actions restent hors de l'annuaire.",
            "suspend" => {
                "Collectivité suspendue : ses actions ont quitté l'annuaire, ses abonnements sont retirés."
            }
            "unsuspend" => "Suspension levée.",
            "relachee" => "Activité relâchée : elle a été appliquée comme si elle venait d'arriver.",
            "ignoree" => "Activité relâchée, mais sans effet (elle ne concernait rien de connu ici).",
            "supprimee" => "Activité retenue supprimée.",
            _ => return None,
        }
        .to_string(),
    )
}

fn policy_text(admission: Admission) -> &'static str {
    match admission {
        Admission::Open => {
            "ouverte : les actions de toute collectivité suivie entrent dans l'annuaire, sauf celles des collectivités suspendues ou refusées"
        }
        Admission::Verified => {
            "vérifiée : seules les actions des collectivités dont le site officiel est vérifié (lien rel=\"me\"), ou que vous avez approuvées, entrent dans l'annuaire"
        }
        Admission::Manual => {
            "manuelle : seules les actions des collectivités que vous avez approuvées entrent dans l'annuaire"
        }
    }
}

async fn render(state: &AppState, editor: &Editor, outcome: Outcome) -> AppResult<Response> {
    let admission = state.settings.aggregator.effective_admission();
    let (mut pending, mut others) = (Vec::new(), Vec::new());
    for c in state.store.admission_candidates().await? {
        let (is_pending, listed) = (c.pending(admission), c.listed(admission));
        let sample = if is_pending {
            state
                .store
                .actions_of(c.id, None, 3)
                .await?
                .into_iter()
                .map(|a| a.data.name)
                .collect()
        } else {
            Vec::new()
        };
        let identity = [
            c.insee.as_ref().map(|i| format!("INSEE {i}")),
            c.siren.as_ref().map(|s| format!("SIREN {s}")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
        let item = ActorItem {
            id: c.id,
            handle: format!("@{}@{}", c.username, c.domain),
            name: if c.name.trim().is_empty() {
                c.username.clone()
            } else {
                c.name.clone()
            },
            identity: if identity.is_empty() {
                "aucun code déclaré".into()
            } else {
                identity
            },
            website: c
                .website
                .clone()
                .filter(|w| w.starts_with("https://") || w.starts_with("http://")),
            verification: match c.website_verified_at {
                Some(when) => format!("site officiel vérifié le {}", french_date(when)),
                None => "site officiel non vérifié".into(),
            },
            state: if c.suspended_at.is_some() {
                "suspendue"
            } else if c.admission.as_deref() == Some("approved") {
                "approuvée"
            } else if c.admission.as_deref() == Some("refused") {
                "refusée"
            } else if listed {
                "admise"
            } else {
                "en attente"
            },
            suspended: c.suspended_at.is_some(),
            listed,
            sample,
            actions: c.action_count,
            ap_id: c.ap_id,
        };
        if is_pending {
            pending.push(item);
        } else {
            others.push(item);
        }
    }
    let held = state
        .store
        .held_activities()
        .await?
        .into_iter()
        .map(|h| HeldItem {
            id: h.id,
            kind: h.kind,
            actor: h.actor_ap_id,
            reason: h.reason,
            date: french_date(h.received_at),
        })
        .collect();
    html(
        outcome.status(),
        &AdmissionPage {
            node_name: state.settings.node.name.clone(),
            csrf: editor.session.csrf_token.clone(),
            notice: outcome.notice.clone(),
            error: outcome
                .error
                .clone()
                .or_else(|| outcome.errors.first().map(|e| e.message.clone())),
            policy: policy_text(admission),
            aggregator: state.settings.aggregator.enabled,
            pending,
            others,
            held,
        },
    )
}

/// `GET /admin/admission` (node admins).
pub async fn admission_page(
    State(state): State<AppState>,
    editor: Editor,
    Query(done): Query<Done>,
) -> AppResult<Response> {
    require_admin(&editor)?;
    let outcome = Outcome {
        notice: notice(&done),
        ..Outcome::default()
    };
    render(&state, &editor, outcome).await
}

/// The decision form.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct DecisionForm {
    csrf: String,
    actor: String,
    decision: String,
}

/// `POST /admin/admission`: approve, refuse, suspend or reinstate an actor.
pub async fn decision(
    State(state): State<AppState>,
    editor: Editor,
    Form(form): Form<DecisionForm>,
) -> AppResult<Response> {
    editor.check_csrf(&form.csrf)?;
    require_admin(&editor)?;
    let result = match Verdict::parse(&form.decision) {
        Ok(verdict) => decide(&state, &form.actor, verdict).await.map(|_| ()),
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => Ok(
            Redirect::to(&format!("/admin/admission?fait={}", form.decision.trim()))
                .into_response(),
        ),
        Err(error @ (AppError::Validation(_) | AppError::NotFound(_))) => {
            render(&state, &editor, Outcome::failed(&error)).await
        }
        Err(error) => Err(error),
    }
}

fn held_id(id: &str) -> AppResult<i64> {
    id.parse()
        .map_err(|_| AppError::NotFound(format!("aucune activité retenue « {id} »")))
}

/// `POST /admin/retenues/{id}/relacher`: applies a held activity as if just received.
pub async fn release(
    State(state): State<AppState>,
    data: Data<AppState>,
    editor: Editor,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    editor.check_csrf(&form.csrf)?;
    require_admin(&editor)?;
    let result = match held_id(&id) {
        Ok(id) => release_held(&data, id).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(Applied::Done) => Ok(Redirect::to("/admin/admission?fait=relachee").into_response()),
        Ok(Applied::Ignored(_)) => {
            Ok(Redirect::to("/admin/admission?fait=ignoree").into_response())
        }
        Err(error) if error.status().is_client_error() => {
            render(&state, &editor, Outcome::failed(&error)).await
        }
        Err(error) => Err(error),
    }
}

/// `POST /admin/retenues/{id}/supprimer`: deletes a held activity unapplied.
pub async fn remove(
    State(state): State<AppState>,
    editor: Editor,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    editor.check_csrf(&form.csrf)?;
    require_admin(&editor)?;
    let id = held_id(&id)?;
    if state.store.delete_held(id).await? {
        Ok(Redirect::to("/admin/admission?fait=supprimee").into_response())
    } else {
        let error = AppError::NotFound(format!("aucune activité retenue « {id} »"));
        render(&state, &editor, Outcome::failed(&error)).await
    }
}

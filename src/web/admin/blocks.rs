//! The node's blocks and reports page (node admins only; SPEC §6): block a domain
//! or an actor, lift a block, mark a report handled. The domain policy's forms on the
//! same page are in [`super::domains`].

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use url::Url;

use super::Editor;
use crate::error::{AppError, AppResult, FieldError};
use crate::service;
use crate::state::AppState;
use crate::web::pages::{french_date, html};

use super::exchange::*;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/blocages", get(blocks_page).post(add_block))
        .route("/admin/blocages/{id}/lever", post(lift_block))
        .route("/admin/signalements/{id}/traite", post(resolve_report))
}

// ---------------------------------------------------------------------------------
// Blocks and reports (node admins)

/// A block.
pub struct BlockItem {
    id: i64,
    target: String,
    kind: &'static str,
    reason: String,
    date: String,
}

/// One reported object.
pub struct ReportedObject {
    text: String,
    link: bool,
}

/// A report.
pub struct ReportItem {
    id: i64,
    reporter: String,
    reporter_link: bool,
    objects: Vec<ReportedObject>,
    content: String,
    date: String,
    resolved: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/exchange_blocks.html")]
pub(super) struct BlocksPage {
    node_name: String,
    csrf: String,
    notice: Option<String>,
    error: Option<String>,
    target: String,
    target_error: Option<String>,
    reason: String,
    reason_error: Option<String>,
    blocks: Vec<BlockItem>,
    reports: Vec<ReportItem>,
    /// The domain policy: mode, allowed domains, import and export.
    policy: super::domains::PolicyView,
}

/// What the blocks page shows again of its forms.
#[derive(Debug, Default)]
pub(super) struct BlocksForms {
    /// The block form: the target and the reason typed.
    pub(super) block: (String, String),
    /// The allow form and the import.
    pub(super) policy: super::domains::PolicyForms,
}

pub(super) fn require_admin(editor: &Editor) -> AppResult<()> {
    if editor.session.user.admin {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "page réservée à l'administration du nœud".into(),
        ))
    }
}

pub(super) fn is_web(text: &str) -> bool {
    Url::parse(text).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

pub(super) async fn render_blocks(
    state: &AppState,
    editor: &Editor,
    forms: BlocksForms,
    outcome: Outcome,
) -> AppResult<Response> {
    let blocks = state
        .store
        .blocks()
        .await?
        .into_iter()
        .map(|b| BlockItem {
            id: b.id,
            kind: if b.kind == "domain" {
                "domaine"
            } else {
                "acteur"
            },
            target: b.target,
            reason: b.reason,
            date: french_date(b.created_at),
        })
        .collect();
    let reports = state
        .store
        .reports(false)
        .await?
        .into_iter()
        .map(|r| ReportItem {
            id: r.id,
            reporter_link: is_web(&r.reporter),
            reporter: r.reporter,
            objects: serde_json::from_str::<Vec<String>>(&r.objects)
                .unwrap_or_default()
                .into_iter()
                .map(|text| ReportedObject {
                    link: is_web(&text),
                    text,
                })
                .collect(),
            content: r.content,
            date: french_date(r.created_at),
            resolved: r.resolved_at.map(french_date),
        })
        .collect();
    let mut error = outcome.error.clone();
    let known = [&["target", "reason"][..], super::domains::FIELDS].concat();
    if let Some(others) = other_messages(&outcome.errors, &known) {
        error = Some(others);
    }
    let policy = super::domains::policy_view(state, forms.policy, &outcome.errors).await?;
    let typed = forms.block;
    html(
        outcome.status(),
        &BlocksPage {
            node_name: state.settings.node.name.clone(),
            csrf: editor.session.csrf_token.clone(),
            notice: outcome.notice.clone(),
            error,
            target: typed.0,
            target_error: field_message(&outcome.errors, "target"),
            reason: typed.1,
            reason_error: field_message(&outcome.errors, "reason"),
            blocks,
            reports,
            policy,
        },
    )
}

/// `GET /admin/blocages` (node admins): blocks, the block form, reports.
pub async fn blocks_page(
    State(state): State<AppState>,
    editor: Editor,
    Query(done): Query<Done>,
) -> AppResult<Response> {
    require_admin(&editor)?;
    render_blocks(&state, &editor, Default::default(), Outcome::notice(&done)).await
}

/// The block form.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct BlockForm {
    csrf: String,
    target: String,
    reason: String,
}

/// Longest reason kept.
pub(super) const MAX_REASON_CHARS: usize = 500;

/// `POST /admin/blocages`: blocks a domain or an actor.
pub async fn add_block(
    State(state): State<AppState>,
    editor: Editor,
    Form(form): Form<BlockForm>,
) -> AppResult<Response> {
    editor.check_csrf(&form.csrf)?;
    require_admin(&editor)?;
    let result = if form.reason.chars().count() > MAX_REASON_CHARS {
        Err(AppError::Validation(vec![FieldError::new(
            "reason",
            format!("{MAX_REASON_CHARS} caractères au plus"),
        )]))
    } else {
        service::moderation::block(&state, &form.target, &form.reason).await
    };
    match result {
        Ok(_) => Ok(done("/admin/blocages", "blocage")),
        Err(error) if shown_on_page(&error) => {
            render_blocks(
                &state,
                &editor,
                BlocksForms {
                    block: (form.target.trim().to_string(), form.reason),
                    ..Default::default()
                },
                Outcome::failed(&error),
            )
            .await
        }
        Err(error) => Err(error),
    }
}

/// `POST /admin/blocages/{id}/lever`.
pub async fn lift_block(
    State(state): State<AppState>,
    editor: Editor,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    editor.check_csrf(&form.csrf)?;
    require_admin(&editor)?;
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::NotFound(format!("aucun blocage « {id} »")))?;
    match service::moderation::unblock(&state, id).await {
        Ok(()) => Ok(done("/admin/blocages", "leve")),
        Err(error @ AppError::NotFound(_)) => {
            render_blocks(&state, &editor, Default::default(), Outcome::failed(&error)).await
        }
        Err(error) => Err(error),
    }
}

/// `POST /admin/signalements/{id}/traite`: marks a report handled.
pub async fn resolve_report(
    State(state): State<AppState>,
    editor: Editor,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    editor.check_csrf(&form.csrf)?;
    require_admin(&editor)?;
    let missing = || AppError::NotFound(format!("aucun signalement ouvert « {id} »"));
    let report: i64 = id.parse().map_err(|_| missing())?;
    if state.store.resolve_report(report).await? {
        Ok(done("/admin/blocages", "traite"))
    } else {
        render_blocks(
            &state,
            &editor,
            Default::default(),
            Outcome::failed(&missing()),
        )
        .await
    }
}

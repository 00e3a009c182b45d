//! The node's domain policy on the node admins' page « Blocages et signalements »
//! (`/admin/blocages`): the mode (`federation.allowlist_mode`, set in the configuration
//! file), the allowed domains (add, remove), and both lists imported and exported as
//! Mastodon CSV files. The work is done by [`domain_policy`], as for the API and the
//! CLI; the page is rendered by [`super::blocks::render_blocks`], and the forms
//! behave as its block form: CSRF token, errors next to their fields (`422`) with what
//! was typed, a redirect with a notice (`303`) on success.

use axum::Form;
use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::Editor;
use super::blocks::{BlocksForms, MAX_REASON_CHARS, render_blocks, require_admin};
use super::exchange::{CsrfForm, Outcome, done, field_message, shown_on_page};
use super::forms::read_upload;
use crate::error::{AppError, AppResult, FieldError};
use crate::service::domain_policy::{self, ImportReport, LineIssue, List};
use crate::state::AppState;
use crate::web::pages::french_date;

/// The page of the forms.
const PAGE: &str = "/admin/blocages";

/// The domain policy routes (node admins).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/autorisations", get(to_page).post(add_allow))
        .route("/admin/autorisations/{id}/retirer", post(remove_allow))
        .route("/admin/autorisations/export.csv", get(export_allows))
        .route("/admin/blocages/export.csv", get(export_blocks))
        .route("/admin/blocages/import", get(to_page).post(import))
}

/// The fields of these forms, whose errors the page shows next to them.
pub(super) const FIELDS: &[&str] = &["domain", "allow_reason", "file"];

/// What the page shows again of these forms.
#[derive(Debug, Default)]
pub(super) struct PolicyForms {
    domain: String,
    reason: String,
    /// The list chosen for the import.
    list: Option<List>,
    report: Option<ImportReport>,
}

/// An allowed domain.
pub(super) struct AllowItem {
    pub(super) id: i64,
    pub(super) domain: String,
    pub(super) reason: String,
    pub(super) date: String,
}

/// An import's result.
pub(super) struct ReportView {
    /// The list filled, in French.
    pub(super) list: &'static str,
    /// « N domaine(s) importé(s), M ignoré(s), K refusé(s) ».
    pub(super) summary: String,
    /// « ligne 5 : sp*m.example : … ».
    pub(super) refused: Vec<String>,
    pub(super) skipped: Vec<String>,
}

fn issue_line(issue: &LineIssue) -> String {
    if issue.domain.is_empty() {
        format!("ligne {} : {}", issue.line, issue.message)
    } else {
        format!(
            "ligne {} : {} : {}",
            issue.line, issue.domain, issue.message
        )
    }
}

impl ReportView {
    fn new(list: List, report: &ImportReport) -> Self {
        Self {
            list: match list {
                List::Blocks => "blocages",
                List::Allows => "domaines autorisés",
            },
            summary: report.summary(),
            refused: report.errors.iter().map(issue_line).collect(),
            skipped: report.skipped.iter().map(issue_line).collect(),
        }
    }
}

/// The domain policy part of the page.
pub(super) struct PolicyView {
    pub(super) allowlist_mode: bool,
    pub(super) allows: Vec<AllowItem>,
    /// `federation.allowed_domains` and `federation.blocked_domains`.
    pub(super) configured_allows: Vec<String>,
    pub(super) configured_blocks: Vec<String>,
    pub(super) domain: String,
    pub(super) domain_error: Option<String>,
    pub(super) reason: String,
    pub(super) reason_error: Option<String>,
    /// The import's choice: allowed domains (else blocks).
    pub(super) import_allows: bool,
    pub(super) file_error: Option<String>,
    pub(super) report: Option<ReportView>,
}

fn configured(domains: &[String]) -> Vec<String> {
    domains
        .iter()
        .map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase())
        .filter(|d| !d.is_empty())
        .collect()
}

/// The policy part of the page, with `forms` and the `errors` on their fields.
pub(super) async fn policy_view(
    state: &AppState,
    forms: PolicyForms,
    errors: &[FieldError],
) -> AppResult<PolicyView> {
    let allows = state
        .store
        .allows()
        .await?
        .into_iter()
        .map(|a| AllowItem {
            id: a.id,
            domain: a.domain,
            reason: a.reason,
            date: french_date(a.created_at),
        })
        .collect();
    let list = forms.list.unwrap_or(List::Blocks);
    Ok(PolicyView {
        allowlist_mode: state.blocks.allowlist_mode(),
        allows,
        configured_allows: configured(&state.settings.federation.allowed_domains),
        configured_blocks: configured(&state.settings.federation.blocked_domains),
        domain: forms.domain,
        domain_error: field_message(errors, "domain"),
        reason: forms.reason,
        reason_error: field_message(errors, "allow_reason"),
        import_allows: list == List::Allows,
        file_error: field_message(errors, "file"),
        report: forms.report.as_ref().map(|r| ReportView::new(list, r)),
    })
}

async fn page(
    state: &AppState,
    editor: &Editor,
    policy: PolicyForms,
    outcome: Outcome,
) -> AppResult<Response> {
    let forms = BlocksForms {
        policy,
        ..Default::default()
    };
    render_blocks(state, editor, forms, outcome).await
}

fn invalid(field: &str, message: impl Into<String>) -> AppError {
    AppError::Validation(vec![FieldError::new(field, message)])
}

/// `GET` of a form's address (where signing in again after a form leads): the page.
async fn to_page() -> Redirect {
    Redirect::to(PAGE)
}

/// The allow form.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct AllowForm {
    csrf: String,
    domain: String,
    allow_reason: String,
}

/// `POST /admin/autorisations`: allows a domain.
pub async fn add_allow(
    State(state): State<AppState>,
    editor: Editor,
    Form(form): Form<AllowForm>,
) -> AppResult<Response> {
    editor.check_csrf(&form.csrf)?;
    require_admin(&editor)?;
    let domain = form.domain.trim();
    let result = if domain.is_empty() {
        Err(invalid(
            "domain",
            "obligatoire : un nom de domaine, par exemple ville.example",
        ))
    } else if form.allow_reason.chars().count() > MAX_REASON_CHARS {
        Err(invalid(
            "allow_reason",
            format!("{MAX_REASON_CHARS} caractères au plus"),
        ))
    } else {
        domain_policy::allow(&state, domain, &form.allow_reason)
            .await
            .map(drop)
    };
    match result {
        Ok(()) => Ok(done(PAGE, "autorisation")),
        Err(error) if shown_on_page(&error) => {
            let typed = PolicyForms {
                domain: domain.to_string(),
                reason: form.allow_reason,
                ..Default::default()
            };
            page(&state, &editor, typed, Outcome::failed(&error)).await
        }
        Err(error) => Err(error),
    }
}

/// `POST /admin/autorisations/{id}/retirer`.
pub async fn remove_allow(
    State(state): State<AppState>,
    editor: Editor,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    editor.check_csrf(&form.csrf)?;
    require_admin(&editor)?;
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::NotFound(format!("aucun domaine autorisé « {id} »")))?;
    match domain_policy::disallow(&state, id).await {
        Ok(()) => Ok(done(PAGE, "retire")),
        Err(error @ AppError::NotFound(_)) => {
            page(&state, &editor, Default::default(), Outcome::failed(&error)).await
        }
        Err(error) => Err(error),
    }
}

async fn export(state: &AppState, editor: &Editor, list: List, file: &str) -> AppResult<Response> {
    require_admin(editor)?;
    let csv = domain_policy::export(state, list).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        csv,
    )
        .into_response())
}

/// `GET /admin/blocages/export.csv`: the blocked domains as Mastodon's domain-block CSV.
pub async fn export_blocks(State(state): State<AppState>, editor: Editor) -> AppResult<Response> {
    export(&state, &editor, List::Blocks, "domain_blocks.csv").await
}

/// `GET /admin/autorisations/export.csv`: the allowed domains as Mastodon's CSV.
pub async fn export_allows(State(state): State<AppState>, editor: Editor) -> AppResult<Response> {
    export(&state, &editor, List::Allows, "domain_allows.csv").await
}

fn file_text(file: Option<Vec<u8>>) -> AppResult<String> {
    let bytes = file.ok_or_else(|| invalid("file", "choisissez un fichier CSV à importer"))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        invalid(
            "file",
            "le fichier n'est pas encodé en UTF-8 : enregistrez-le au format « CSV UTF-8 » et recommencez",
        )
    })?;
    Ok(text)
}

/// `POST /admin/blocages/import` (`multipart/form-data`: `csrf`, `list` = `blocages` or
/// `autorisations`, `file`): imports a Mastodon CSV file and shows what it did, line
/// by line for the lines left out; a file that cannot be read is shown as an error
/// next to its field (`422`).
pub async fn import(
    State(state): State<AppState>,
    editor: Editor,
    multipart: Result<Multipart, MultipartRejection>,
) -> AppResult<Response> {
    let upload = match multipart {
        Ok(mut multipart) => read_upload(&mut multipart).await,
        Err(rejection) => Err(rejection.body_text()),
    }
    // Nothing of the form could be read, not even its token.
    .map_err(AppError::BadRequest)?;
    editor.check_csrf(&upload.csrf)?;
    require_admin(&editor)?;
    let list = match upload.list.as_str() {
        "blocages" => List::Blocks,
        "autorisations" => List::Allows,
        _ => {
            return Err(AppError::BadRequest(
                "choisissez la liste à compléter : « blocages » ou « autorisations »".into(),
            ));
        }
    };
    let forms = PolicyForms {
        list: Some(list),
        ..Default::default()
    };
    let result = match file_text(upload.file) {
        Ok(text) => domain_policy::import(&state, list, &text).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(report) => {
            let forms = PolicyForms {
                report: Some(report),
                ..forms
            };
            page(&state, &editor, forms, Outcome::default()).await
        }
        // The file as a whole: shown next to its field.
        Err(AppError::Validation(errors)) => {
            let on_file = errors
                .into_iter()
                .map(|e| FieldError::new("file", e.message))
                .collect();
            let error = AppError::Validation(on_file);
            page(&state, &editor, forms, Outcome::failed(&error)).await
        }
        Err(error) => Err(error),
    }
}

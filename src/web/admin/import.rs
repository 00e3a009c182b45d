//! The admin's import page (SPEC §5): a spreadsheet of actions uploaded, imported by
//! `service::import`, and its report row by row.

use askama::Template;
use axum::Router;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use uuid::Uuid;

use super::Editor;
use crate::domain::Collectivite;
use crate::error::{AppError, AppResult};
use crate::service;
use crate::service::import::{ImportReport, RowOutcome};
use crate::state::AppState;
use crate::taxonomy::Taxonomy;
use crate::web::pages::html;

use super::forms::*;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/admin/c/{username}/import",
        get(import_form).post(import_file),
    )
}

// ---------------------------------------------------------------------------------------
// Import

/// A row of the import report.
pub struct ReportRow {
    line: u64,
    name: String,
    outcome: &'static str,
    /// The action's admin page.
    link: Option<String>,
    errors: Vec<String>,
}

/// An import's result, for the page.
pub struct ReportView {
    summary: String,
    created: usize,
    updated: usize,
    unchanged: usize,
    deleted: usize,
    rejected: usize,
    rows: Vec<ReportRow>,
}

impl ReportView {
    fn new(report: &ImportReport, username: &str) -> Self {
        let edit = |id: &Uuid| Some(format!("/admin/c/{username}/actions/{id}"));
        Self {
            summary: report.summary(),
            created: report.created(),
            updated: report.updated(),
            unchanged: report.unchanged(),
            deleted: report.deleted(),
            rejected: report.rejected(),
            rows: report
                .rows
                .iter()
                .map(|row| {
                    let (outcome, link, errors) = match &row.outcome {
                        RowOutcome::Created(id) => ("créée", edit(id), Vec::new()),
                        RowOutcome::Updated(id) => ("mise à jour", edit(id), Vec::new()),
                        RowOutcome::Unchanged(id) => ("inchangée", edit(id), Vec::new()),
                        RowOutcome::Deleted(_) => (
                            "ignorée : supprimée depuis l'import précédent",
                            None,
                            Vec::new(),
                        ),
                        RowOutcome::Rejected(errors) => (
                            "rejetée",
                            None,
                            errors
                                .iter()
                                .map(|e| match e.column {
                                    Some(column) => format!("{column} : {}", e.message),
                                    None => e.message.clone(),
                                })
                                .collect(),
                        ),
                    };
                    ReportRow {
                        line: row.line,
                        name: row.name.clone().unwrap_or_default(),
                        outcome,
                        link,
                        errors,
                    }
                })
                .collect(),
        }
    }
}

/// A column of the import file, for the page.
pub struct ColumnHelp {
    name: &'static str,
    required: bool,
    help: &'static str,
}

pub(super) fn column_help() -> Vec<ColumnHelp> {
    use crate::service::import::Column;
    Column::ALL
        .into_iter()
        .map(|column| ColumnHelp {
            name: column.name(),
            required: Column::REQUIRED.contains(&column),
            help: match column {
                Column::Reference => {
                    "votre identifiant de l'action : réimporter le fichier met l'action à jour au lieu de la dupliquer"
                }
                Column::Nom => "le titre",
                Column::SousTitre => "une ou deux phrases",
                Column::Description => "ce que c'est (mise en forme simple : **gras**, *italique*, listes avec « - »)",
                Column::Resultats => "ce qu'elle a donné (même mise en forme)",
                Column::Recommandations => "ce qu'il faut savoir avant de faire de même",
                Column::Phase => "idee, etude, realisation (par défaut) ou service",
                Column::Statut => "en-cours (par défaut), en-pause, abandonne ou termine",
                Column::Themes => "slugs des thèmes séparés par | ou ,",
                Column::Insee => "codes INSEE des communes concernées, séparés par | ou ,",
                Column::DateDebut | Column::DateFin => "AAAA-MM-JJ ou JJ/MM/AAAA",
                Column::BudgetEur => "montant en euros",
                Column::OuvertAuxPartenaires => "oui ou non (appel à mutualisation)",
                Column::Logiciels | Column::Prestataires => "noms séparés par |",
                Column::Liens => "adresses web séparées par |",
            },
        })
        .collect()
}

#[derive(Template)]
#[template(path = "admin/import.html")]
pub(super) struct ImportPage {
    node_name: String,
    csrf: String,
    username: String,
    collectivite: String,
    error: String,
    report: Option<ReportView>,
    columns: Vec<ColumnHelp>,
    themes: Vec<(String, String)>,
}

impl ImportPage {
    fn new(state: &AppState, editor: &Editor, owner: &Collectivite) -> Self {
        Self {
            node_name: state.settings.node.name.clone(),
            csrf: editor.session.csrf_token.clone(),
            username: owner.profile.username.to_string(),
            collectivite: owner.profile.name.clone(),
            error: String::new(),
            report: None,
            columns: column_help(),
            themes: Taxonomy::global()
                .themes()
                .map(|t| (t.slug.clone(), t.label.clone()))
                .collect(),
        }
    }
}

/// `GET /admin/c/{username}/import`.
pub async fn import_form(
    State(state): State<AppState>,
    editor: Editor,
    Path(username): Path<String>,
) -> AppResult<Response> {
    let owner = editor.collectivite(&username)?;
    html(StatusCode::OK, &ImportPage::new(&state, &editor, owner))
}

/// `POST /admin/c/{username}/import` (`multipart/form-data`, fields `csrf` and `file`):
/// imports the rows and shows the report; a file that cannot be read at all is shown
/// as an error (`422`).
pub async fn import_file(
    State(state): State<AppState>,
    editor: Editor,
    Path(username): Path<String>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> AppResult<Response> {
    let upload = match multipart {
        Ok(mut multipart) => read_upload(&mut multipart).await,
        Err(rejection) => Err(rejection.body_text()),
    };
    let Upload { csrf, file, .. } = match upload {
        Ok(upload) => upload,
        // Nothing of the form could be read, not even its token.
        Err(message) => return Err(AppError::BadRequest(message)),
    };
    editor.check_csrf(&csrf)?;
    let owner = editor.collectivite(&username)?;
    let mut page = ImportPage::new(&state, &editor, owner);
    let Some(bytes) = file else {
        page.error = "choisissez un fichier CSV à importer".into();
        return html(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    match service::import::import_csv(&state, owner, &bytes, |_| {}).await {
        Ok(report) => {
            page.report = Some(ReportView::new(&report, &username));
            html(StatusCode::OK, &page)
        }
        Err(AppError::BadRequest(message)) => {
            page.error = message;
            html(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(other) => Err(other),
    }
}

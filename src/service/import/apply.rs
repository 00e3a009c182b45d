//! Applying an import: each valid row published or updated through
//! `service::actions`, found again by its import key so that a second import creates
//! nothing twice, with a report row by row ([`ImportReport`]) and a progress callback.

use std::collections::HashMap;

use uuid::Uuid;

use crate::domain::drafts::ActionBody;
use crate::domain::{Collectivite, NewAction};
use crate::error::{AppError, AppResult};
use crate::service;
use crate::state::AppState;

use super::parse::{Column, Row, RowError, Sheet, import_key, parse, validate};

/// What became of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    /// A new action was published.
    Created(Uuid),
    /// Its action (same `reference`) was changed and the change published.
    Updated(Uuid),
    /// Its action was imported before and nothing changed.
    Unchanged(Uuid),
    /// Its action was imported before and has since been deleted; left deleted.
    Deleted(Uuid),
    /// The row is invalid; nothing was stored.
    Rejected(Vec<RowError>),
}

/// The result of one row.
#[derive(Debug, Clone)]
pub struct RowReport {
    /// Line of the file.
    pub line: u64,
    /// The `nom` cell, when not empty.
    pub name: Option<String>,
    /// What happened.
    pub outcome: RowOutcome,
}

/// Where an import stands, passed to the progress callback after each row.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// Rows handled so far.
    pub done: usize,
    /// Rows in the file.
    pub total: usize,
    /// The row just handled.
    pub row: &'a RowReport,
}

/// The result of an import, row by row.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    /// Every non-empty row, in file order.
    pub rows: Vec<RowReport>,
}

impl ImportReport {
    fn count(&self, matches: impl Fn(&RowOutcome) -> bool) -> usize {
        self.rows.iter().filter(|r| matches(&r.outcome)).count()
    }

    /// Actions created.
    pub fn created(&self) -> usize {
        self.count(|o| matches!(o, RowOutcome::Created(_)))
    }

    /// Actions updated.
    pub fn updated(&self) -> usize {
        self.count(|o| matches!(o, RowOutcome::Updated(_)))
    }

    /// Rows already imported, unchanged.
    pub fn unchanged(&self) -> usize {
        self.count(|o| matches!(o, RowOutcome::Unchanged(_)))
    }

    /// Rows whose action was deleted since it was imported.
    pub fn deleted(&self) -> usize {
        self.count(|o| matches!(o, RowOutcome::Deleted(_)))
    }

    /// Rows rejected.
    pub fn rejected(&self) -> usize {
        self.count(|o| matches!(o, RowOutcome::Rejected(_)))
    }

    /// Every error, in file order.
    pub fn errors(&self) -> impl Iterator<Item = &RowError> {
        self.rows.iter().flat_map(|r| match &r.outcome {
            RowOutcome::Rejected(errors) => errors.as_slice(),
            _ => &[],
        })
    }

    /// One line for the editor: `6 lignes : 3 créées, 1 mise à jour, 2 inchangées,
    /// 0 rejetée`.
    pub fn summary(&self) -> String {
        use crate::domain::french::count;
        let n = |value: usize| value as i64;
        let mut parts = vec![
            count(n(self.created()), "créée", "créées"),
            count(n(self.updated()), "mise à jour", "mises à jour"),
            count(n(self.unchanged()), "inchangée", "inchangées"),
        ];
        if self.deleted() > 0 {
            parts.push(count(
                n(self.deleted()),
                "ignorée car supprimée depuis l'import précédent",
                "ignorées car supprimées depuis l'import précédent",
            ));
        }
        parts.push(count(n(self.rejected()), "rejetée", "rejetées"));
        format!(
            "{} : {}",
            count(n(self.rows.len()), "ligne", "lignes"),
            parts.join(", ")
        )
    }
}

/// Reads `bytes` with [`parse`] and imports its rows with [`import`].
///
/// # Errors
/// As [`parse`] and [`import`].
pub async fn import_csv(
    state: &AppState,
    owner: &Collectivite,
    bytes: &[u8],
    progress: impl FnMut(Progress<'_>),
) -> AppResult<ImportReport> {
    let sheet = parse(bytes)?;
    import(state, owner, &sheet, progress).await
}

/// Imports the rows of `sheet` as actions of `owner`, calling `progress` after each.
/// Invalid rows are reported and skipped; the others are stored.
///
/// # Errors
/// A storage failure stops the import (the rows already handled stay; importing the
/// file again goes on where it stopped).
pub async fn import(
    state: &AppState,
    owner: &Collectivite,
    sheet: &Sheet,
    mut progress: impl FnMut(Progress<'_>),
) -> AppResult<ImportReport> {
    let mut report = ImportReport::default();
    let mut references: HashMap<String, u64> = HashMap::new();
    for row in &sheet.rows {
        let outcome = import_row(state, owner, row, &mut references).await?;
        report.rows.push(RowReport {
            line: row.line,
            name: row.optional(Column::Nom),
            outcome,
        });
        progress(Progress {
            done: report.rows.len(),
            total: sheet.rows.len(),
            row: report.rows.last().expect("BUG: just pushed"),
        });
    }
    Ok(report)
}

pub(super) async fn import_row(
    state: &AppState,
    owner: &Collectivite,
    row: &Row,
    references: &mut HashMap<String, u64>,
) -> AppResult<RowOutcome> {
    let (reference, mut data) = match validate(row) {
        Ok(valid) => valid,
        Err(errors) => return Ok(RowOutcome::Rejected(errors)),
    };
    if let Some(reference) = &reference {
        if let Some(first) = references.insert(reference.clone(), row.line) {
            return Ok(RowOutcome::Rejected(vec![RowError {
                line: row.line,
                column: Some(Column::Reference.name()),
                message: format!("la référence « {reference} » est déjà celle de la ligne {first}"),
            }]));
        }
    }
    if data.locations.is_empty() {
        // What create_action would store, so that a re-import compares like with like.
        data.locations
            .extend(service::actions::default_place(owner));
    }
    let key = import_key(row, reference.as_deref());
    match state.store.action_by_import_key(owner.id, &key).await? {
        None => {
            match service::actions::create_keyed_action(state, owner, data, Some(&key)).await {
                Ok(action) => Ok(RowOutcome::Created(action.id.0)),
                Err(AppError::Conflict { .. }) => {
                    // The same row was imported meanwhile by another run: nothing was
                    // stored or sent by this one; keep the other's action.
                    match state.store.action_by_import_key(owner.id, &key).await? {
                        Some(other) => Ok(RowOutcome::Unchanged(other.id.0)),
                        None => Err(AppError::Internal(anyhow::anyhow!(
                            "import key {key} conflicts but is not found"
                        ))),
                    }
                }
                Err(error) => Err(error),
            }
        }
        Some(existing) if existing.deleted.is_some() => Ok(RowOutcome::Deleted(existing.id.0)),
        Some(existing) if reference.is_some() => {
            // The spreadsheet has no column for these: keep what was added on the site.
            data.images = existing.data.images.clone();
            data.contacts = existing.data.contacts.clone();
            data.contacts_public = existing.data.contacts_public;
            if fingerprint(&data) == fingerprint(&existing.data) {
                Ok(RowOutcome::Unchanged(existing.id.0))
            } else {
                let action = service::actions::update_action(state, &existing, data).await?;
                Ok(RowOutcome::Updated(action.id.0))
            }
        }
        Some(existing) => Ok(RowOutcome::Unchanged(existing.id.0)),
    }
}

/// The content of an action as compared between a row and the stored action:
/// the editor's view of it, with coordinates rounded (they go through JSON).
pub(super) fn fingerprint(data: &NewAction) -> serde_json::Value {
    let mut body = ActionBody::from(data);
    let round = |x: f64| (x * 1e7).round() / 1e7;
    for place in body.location.iter_mut().flatten() {
        place.lat = place.lat.map(round);
        place.lon = place.lon.map(round);
    }
    serde_json::to_value(body).expect("BUG: bodies serialise")
}

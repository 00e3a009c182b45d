//! `maillage import --collectivite NAME FILE.csv`: a collectivité's actions from a
//! spreadsheet (columns in `docs/import.md`), with a progress bar. Bad rows are
//! reported with their line number and reason while good rows go in; the summary
//! follows, and the exit code is 1 when a row was rejected. Importing the same file
//! again creates nothing twice (see [`crate::service::import`]).
//!
//! Standard output gets one line per imported row (`line`, what happened, action UUID,
//! name), tab-separated; the bar, the errors and the summary go to standard error.

use std::io::Read;
use std::path::Path;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use super::{CliError, CliResult};
use crate::api::collectivites::find_local;
use crate::service::import::{self, RowOutcome};
use crate::state::AppState;

/// Runs `maillage import`.
pub async fn run(state: AppState, collectivite: String, file: &Path) -> CliResult {
    let owner = find_local(&state, &collectivite).await?;
    let bytes = if file.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("cannot read standard input")?;
        bytes
    } else {
        std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?
    };
    let sheet = import::parse(&bytes).map_err(|e| CliError(format!("{} : {e}", file.display())))?;
    // Drawn only when standard error is a terminal.
    let bar = ProgressBar::new(sheet.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {wide_msg}")
            .expect("BUG: valid progress template"),
    );
    let report = import::import(&state, &owner, &sheet, |progress| {
        let row = progress.row;
        let done = |what: &str, uuid: &uuid::Uuid| {
            let name = row.name.as_deref().unwrap_or_default();
            bar.suspend(|| println!("{}\t{what}\t{uuid}\t{name}", row.line));
        };
        match &row.outcome {
            RowOutcome::Created(uuid) => done("créée", uuid),
            RowOutcome::Updated(uuid) => done("mise à jour", uuid),
            RowOutcome::Unchanged(uuid) => done("inchangée", uuid),
            RowOutcome::Deleted(uuid) => done("supprimée, ignorée", uuid),
            RowOutcome::Rejected(errors) => bar.suspend(|| {
                for error in errors {
                    eprintln!("{error}");
                }
            }),
        }
        bar.set_message(row.name.clone().unwrap_or_default());
        bar.set_position(progress.done as u64);
    })
    .await?;
    bar.finish_and_clear();
    eprintln!("{} : {}", file.display(), report.summary());
    match report.rejected() {
        0 => Ok(()),
        n => Err(CliError(format!(
            "{}, à corriger avant d'importer à nouveau le fichier (les autres lignes sont enregistrées ; elles ne seront pas créées deux fois)",
            crate::domain::french::count(n as i64, "ligne rejetée", "lignes rejetées")
        ))),
    }
}

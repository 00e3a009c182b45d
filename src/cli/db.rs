//! `maillage db copy --to URL` (SPEC §11): the whole node, keys included, from the
//! configured database to a database of the other engine that holds no node yet,
//! checked by per-table row counts and identical keys, printed at the end (exit 1 when
//! a count or a key differs). Run it with the node stopped.

use clap::Subcommand;

use super::{CliError, CliResult};
use crate::config::redact;
use crate::db::Store;
use crate::state::AppState;

/// Database commands.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Copy the whole node (keys included) to an empty (or only migrated) database of
    /// the other engine (SQLite to PostgreSQL or back), then check row counts and keys;
    /// exit 1 if any differ. Stop the node first; a missing SQLite file is created, a
    /// PostgreSQL database must exist.
    ///
    /// Example: maillage db copy --to postgres://maillage@localhost/maillage
    Copy {
        /// The target database URL (`sqlite://FILE` or `postgres://…`), empty or only
        /// migrated.
        #[arg(long)]
        to: String,
    },
}

/// Runs a database command.
pub async fn run(state: AppState, command: DbCommand) -> CliResult {
    match command {
        DbCommand::Copy { to } => {
            // Refused before the target is opened (which may create a SQLite file).
            let to_sqlite = to.starts_with("sqlite:");
            if to_sqlite == (state.store.engine() == crate::db::Engine::Sqlite) {
                return Err(CliError(
                    "la copie va d'un moteur à l'autre (SQLite ⇄ PostgreSQL) ; pour le même moteur : maillage backup".into(),
                ));
            }
            let target = Store::open(&to, 4, true).await.map_err(|error| {
                CliError(format!(
                    "base cible « {} » inaccessible : {error:#}",
                    redact(&to)
                ))
            })?;
            let report = state.store.copy_to(&target).await;
            target.close().await;
            state.store.close().await;
            let report = report?;
            println!("table\tsource\tcible");
            let mut different = Vec::new();
            for count in &report.counts {
                println!("{}\t{}\t{}", count.table, count.source, count.target);
                if count.source != count.target {
                    different.push(count.table);
                }
            }
            println!(
                "clés identiques (publique et privée) : {} sur {}",
                crate::domain::french::count(report.same_keys as i64, "acteur", "acteurs"),
                report.actors
            );
            for actor in &report.different_keys {
                println!("  clés différentes : {actor}");
            }
            if !report.different_keys.is_empty() {
                return Err(CliError(format!(
                    "copie incomplète : clés différentes pour {}",
                    crate::domain::french::count(
                        report.different_keys.len() as i64,
                        "acteur",
                        "acteurs"
                    )
                )));
            }
            if !different.is_empty() {
                return Err(CliError(format!(
                    "copie incomplète : nombres de lignes différents pour {}",
                    different.join(", ")
                )));
            }
            println!(
                "copie vérifiée vers « {} » ; pour l'utiliser : database.url = « {} » dans la configuration",
                redact(&to),
                redact(&to)
            );
        }
    }
    Ok(())
}

//! `maillage backup --output FILE`: an online, consistent copy of a SQLite database,
//! safe while `maillage serve` runs (SPEC §9; see [`crate::db::backup`]). The database
//! is opened as it is — not migrated, not created — so that a backup taken with a newer
//! binary before an upgrade is the old database, untouched. PostgreSQL is backed up
//! with `pg_dump` (docs/deployment.md), which this command says.

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;

use super::{CliError, CliResult};
use crate::config::{Settings, redact};
use crate::db::Store;
use crate::db::backup::BackupError;

/// What the command says on PostgreSQL (exit code 1).
fn pg_dump_hint(url: &str) -> CliError {
    CliError(format!(
        "maillage backup copie une base SQLite ; cette base est PostgreSQL : sauvegardez-la avec pg_dump, par exemple\n  pg_dump --format=custom --file=maillage.dump '{}'\n(le mot de passe masqué ici se donne par ~/.pgpass ou PGPASSWORD) et restaurez-la avec pg_restore ; voir docs/deployment.md",
        redact(url)
    ))
}

fn exists(path: &Path) -> CliError {
    CliError(format!(
        "{} existe déjà : une sauvegarde n'écrase jamais un fichier ; choisissez un autre nom",
        path.display()
    ))
}

/// Runs `maillage backup`.
pub async fn run(settings: Settings, output: &Path) -> CliResult {
    let url = settings.database.url.as_str();
    if !url.starts_with("sqlite:") {
        return Err(pg_dump_hint(url));
    }
    // Refused first, with the file named: there is nothing to back up (and the store
    // would refuse it too: this command may not create a database).
    let file = SqliteConnectOptions::from_str(url)
        .map_err(|e| CliError(format!("URL SQLite invalide « {url} » : {e}")))?
        .get_filename()
        .to_path_buf();
    if !file.is_file() {
        return Err(CliError(format!(
            "aucune base SQLite à « {} » (database.url = « {} ») : rien à sauvegarder",
            file.display(),
            redact(url)
        )));
    }
    if output.symlink_metadata().is_ok() {
        return Err(exists(output));
    }
    let store = Store::open(url, 1, false).await.map_err(|error| {
        match error.downcast_ref::<crate::db::NoDatabase>() {
            Some(_) => CliError(format!(
                "« {} » n'est pas une base Maillage (database.url = « {} ») : rien à sauvegarder",
                file.display(),
                redact(url)
            )),
            None => error.into(),
        }
    })?;
    let result = store.backup_sqlite(output).await;
    store.close().await;
    match result {
        Ok(backup) => {
            println!("{}", backup.path.display());
            eprintln!(
                "sauvegarde cohérente de {} écrite et vérifiée : {} ({} octets)",
                file.display(),
                backup.path.display(),
                backup.bytes
            );
            Ok(())
        }
        Err(BackupError::Exists(path)) => Err(exists(&path)),
        Err(BackupError::NotSqlite) => Err(pg_dump_hint(url)),
        Err(error) => Err(CliError(format!("sauvegarde impossible : {error}"))),
    }
}

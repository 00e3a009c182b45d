//! `maillage backup --output PATH`: an online, consistent backup, safe while `maillage
//! serve` runs (SPEC §9; see [`crate::db::backup`]): SQLite is copied with `VACUUM
//! INTO`, PostgreSQL dumped with `pg_dump`. The database is opened as it is — not
//! migrated, not created — so that a backup taken with a newer binary before an upgrade
//! is the old database, untouched.
//!
//! - `PATH` an existing folder: a new folder `maillage-<UTC date>T<time>Z/` in it, with
//!   what a restore needs: the database (`maillage.db`, or `maillage.dump` for
//!   PostgreSQL), the configuration file (`maillage.toml`), the `MAILLAGE_*` settings of
//!   the environment (`environment`, systemd's `EnvironmentFile` format) and
//!   `backup.toml` (version, date, domain, engine). It is written as `….partial` and
//!   renamed once complete. The systemd backup unit uses this form.
//! - Otherwise `PATH` is a new file that receives the database alone (scripts).
//!
//! Every file is `0600` and the folder `0700`: they hold private keys and password
//! hashes, and the configuration may hold the database password.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;

use super::{CliError, CliResult};
use crate::config::{Loaded, Settings, env_key, redact};
use crate::db::Store;
use crate::db::backup::{Backup, BackupError};

fn exists(path: &Path) -> CliError {
    CliError(format!(
        "{} existe déjà : une sauvegarde n'écrase jamais un fichier ; choisissez un autre nom",
        path.display()
    ))
}

fn failed(error: BackupError) -> CliError {
    match error {
        BackupError::Exists(path) => exists(&path),
        BackupError::MissingTool(tool) => CliError(format!(
            "{tool} introuvable : installez les outils clients de PostgreSQL (paquet postgresql-client, de la version du serveur ou plus récente)"
        )),
        error => CliError(format!("sauvegarde impossible : {error}")),
    }
}

/// Runs `maillage backup` with the configuration as loaded.
pub async fn run(loaded: &Loaded, output: &Path) -> CliResult {
    let settings = &loaded.settings;
    let url = settings.database.url.as_str();
    let sqlite = url.starts_with("sqlite:");
    let source = if sqlite {
        // Refused first, with the file named: there is nothing to back up (and the
        // store would refuse it too: this command may not create a database).
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
        file.display().to_string()
    } else {
        redact(url)
    };
    let folder = output.is_dir();
    if !folder && output.symlink_metadata().is_ok() {
        return Err(exists(output));
    }
    let store = Store::open(url, 1, false).await.map_err(|error| {
        match error.downcast_ref::<crate::db::NoDatabase>() {
            Some(_) => CliError(format!(
                "« {source} » n'est pas une base Maillage (database.url = « {} ») : rien à sauvegarder",
                redact(url)
            )),
            None => error.into(),
        }
    })?;
    let result = if folder {
        backup_folder(&store, loaded, output).await
    } else {
        database(&store, url, output)
            .await
            .map(|backup| (backup.path, backup.bytes))
            .map_err(failed)
    };
    store.close().await;
    let (path, bytes) = result?;
    println!("{}", path.display());
    eprintln!(
        "sauvegarde cohérente de {source} écrite et vérifiée : {} ({bytes} octets)",
        path.display()
    );
    Ok(())
}

/// The database alone, to `path`.
async fn database(store: &Store, url: &str, path: &Path) -> Result<Backup, BackupError> {
    match store {
        Store::Sqlite(_) => store.backup_sqlite(path).await,
        Store::Postgres(_) => store.backup_postgres(url, path).await,
    }
}

/// A new backup folder in `parent`; its path and size.
async fn backup_folder(
    store: &Store,
    loaded: &Loaded,
    parent: &Path,
) -> Result<(PathBuf, u64), CliError> {
    let now = chrono::Utc::now();
    let name = format!("maillage-{}", now.format("%Y%m%dT%H%M%SZ"));
    let parent = parent
        .canonicalize()
        .map_err(|e| CliError(format!("{} : {e}", parent.display())))?;
    let target = parent.join(&name);
    if target.symlink_metadata().is_ok() {
        return Err(exists(&target));
    }
    let partial = parent.join(format!("{name}.partial"));
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(&partial).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => exists(&partial),
        _ => CliError(format!("{} : {e}", partial.display())),
    })?;
    let written = fill_folder(store, loaded, &partial, now).await;
    let written = written.and_then(|bytes| {
        std::fs::rename(&partial, &target)
            .map(|()| bytes)
            .map_err(|e| CliError(format!("{} : {e}", target.display())))
    });
    match written {
        Ok(bytes) => Ok((target, bytes)),
        Err(error) => {
            let _ = std::fs::remove_dir_all(&partial);
            Err(error)
        }
    }
}

/// Writes the database, the configuration, the environment and `backup.toml` into
/// `folder`; the bytes written.
async fn fill_folder(
    store: &Store,
    loaded: &Loaded,
    folder: &Path,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<u64, CliError> {
    let settings: &Settings = &loaded.settings;
    let url = settings.database.url.as_str();
    let (engine, database_file) = match store {
        Store::Sqlite(_) => ("sqlite", "maillage.db"),
        Store::Postgres(_) => ("postgres", "maillage.dump"),
    };
    let mut bytes = database(store, url, &folder.join(database_file))
        .await
        .map_err(failed)?
        .bytes;
    let config_file = &loaded.file;
    if let Some(file) = config_file {
        let text =
            std::fs::read(file).map_err(|e| CliError(format!("{} : {e}", file.display())))?;
        bytes += write_private(&folder.join("maillage.toml"), &text)?;
    }
    let environment = environment_file(std::env::vars());
    if !environment.is_empty() {
        bytes += write_private(&folder.join("environment"), environment.as_bytes())?;
    }
    let manifest = toml::toml! {
        maillage_version = (env!("CARGO_PKG_VERSION"))
        created_at = (now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        domain = (settings.domain.clone())
        engine = engine
        database = database_file
    };
    let mut manifest = toml::to_string(&manifest).expect("BUG: a TOML table serialises");
    match config_file {
        Some(file) => manifest.push_str(&format!(
            "config = \"maillage.toml\"\nconfig_source = {}\n",
            toml::Value::String(file.display().to_string())
        )),
        None => manifest.push_str("# no configuration file: defaults and environment only\n"),
    }
    if !environment.is_empty() {
        manifest.push_str("environment = \"environment\"\n");
    }
    bytes += write_private(&folder.join("backup.toml"), manifest.as_bytes())?;
    Ok(bytes)
}

/// The node's settings among `vars` (the `MAILLAGE_*` names that set a key, see
/// [`env_key`]: not `MAILLAGE_CONFIG`, a path of this machine, nor the test suite's
/// `MAILLAGE_TEST_*`), one `KEY="value"` line each, sorted, as systemd's
/// `EnvironmentFile=` reads them.
fn environment_file(vars: impl Iterator<Item = (String, String)>) -> String {
    let mut lines: Vec<String> = vars
        .filter(|(key, _)| env_key(key).is_some())
        .map(|(key, value)| {
            let escaped = value
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('$', "\\$")
                .replace('\n', "\\n");
            format!("{key}=\"{escaped}\"\n")
        })
        .collect();
    lines.sort();
    lines.concat()
}

/// Writes a new file readable by its owner only; its size.
fn write_private(path: &Path, content: &[u8]) -> Result<u64, CliError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .and_then(|mut file| file.write_all(content).and_then(|()| file.sync_all()))
        .map_err(|e| CliError(format!("{} : {e}", path.display())))?;
    Ok(content.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::environment_file;

    #[test]
    fn environment_keeps_the_node_settings_only() {
        let vars = [
            ("PATH", "/usr/bin"),
            ("MAILLAGE_DATABASE__URL", "postgres://m:s\"e$c@h/d"),
            ("MAILLAGE_CONFIG", "/etc/maillage/maillage.toml"),
            ("MAILLAGE_TEST_DATABASE_URL", "postgres://t"),
            ("MAILLAGE_DOMAIN", "annuaire.example.fr"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        assert_eq!(
            environment_file(vars.into_iter()),
            "MAILLAGE_DATABASE__URL=\"postgres://m:s\\\"e\\$c@h/d\"\nMAILLAGE_DOMAIN=\"annuaire.example.fr\"\n"
        );
    }
}

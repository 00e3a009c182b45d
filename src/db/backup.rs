//! Online backup of the database (SPEC §9), to a new file readable by its owner only
//! and checked before it is reported written. SQLite: `VACUUM INTO` writes a consistent
//! snapshot of the live database (one read transaction, so writers of a running node
//! are not blocked). PostgreSQL: `pg_dump` (custom format, one snapshot too), checked by
//! `pg_restore --list`. Neither migrates nor creates anything.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::ConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;

use super::Store;

/// Why a backup was not made.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Online backup through the store exists for SQLite only.
    #[error("online backup is for SQLite databases; back up PostgreSQL with pg_dump")]
    NotSqlite,
    /// `pg_dump` or `pg_restore` is not installed.
    #[error("{0} not found: install PostgreSQL's client programs (postgresql-client)")]
    MissingTool(&'static str),
    /// `pg_dump` failed; what it said.
    #[error("pg_dump failed: {0}")]
    Dump(String),
    /// The output file exists: a backup never overwrites anything.
    #[error("{} already exists", .0.display())]
    Exists(PathBuf),
    /// The output path cannot be used.
    #[error("{}: {source}", path.display())]
    Io {
        /// The output path.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The database failed to write the copy.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The copy was written but does not pass `PRAGMA quick_check`.
    #[error("the copy failed its integrity check: {0}")]
    Check(String),
}

/// A backup that was written and checked.
#[derive(Debug, Clone)]
pub struct Backup {
    /// Absolute path of the copy.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
}

/// `path` made absolute (its folder must exist), refused if it exists.
fn output_path(path: &Path) -> Result<PathBuf, BackupError> {
    let io = |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    };
    let name = path.file_name().ok_or_else(|| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a file name",
        ))
    })?;
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let absolute = parent.canonicalize().map_err(io)?.join(name);
    if absolute.symlink_metadata().is_ok() {
        return Err(BackupError::Exists(path.to_path_buf()));
    }
    Ok(absolute)
}

/// Creates `path` empty, readable by its owner only (it will hold private keys and
/// password hashes); fails if it exists, so that nothing is ever overwritten.
fn create_empty(path: &Path) -> Result<std::fs::File, BackupError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(file) => Ok(file),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(BackupError::Exists(path.to_path_buf()))
        }
        Err(source) => Err(BackupError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// `path` as a UTF-8 string (SQLite's and pg_dump's arguments).
fn utf8(path: &Path) -> Result<&str, BackupError> {
    path.to_str().ok_or_else(|| BackupError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not UTF-8"),
    })
}

/// The size of the file at `path`.
fn size(path: &Path) -> Result<u64, BackupError> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|source| BackupError::Io {
            path: path.to_path_buf(),
            source,
        })
}

/// `url` for libpq: without its password (given in `PGPASSWORD`, so that it never shows
/// in a process list) and without sqlx's own parameters, which libpq refuses.
fn libpq_url(url: &str) -> Result<(String, Option<String>), BackupError> {
    let invalid = |e: String| BackupError::Dump(format!("invalid PostgreSQL URL: {e}"));
    let mut parsed = url::Url::parse(url).map_err(|e| invalid(e.to_string()))?;
    let password = parsed.password().map(|p| {
        percent_encoding::percent_decode_str(p)
            .decode_utf8_lossy()
            .into_owned()
    });
    parsed
        .set_password(None)
        .map_err(|()| invalid("no host".into()))?;
    // Parameters are kept as written: libpq decodes `%XX` but not `+` (a form
    // encoder would turn `-c%20search_path` into `-c+search_path`).
    let kept: Vec<&str> = parsed
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| {
            let key = pair.split('=').next().unwrap_or_default();
            !key.is_empty() && key != "statement-cache-capacity"
        })
        .collect();
    let query = kept.join("&");
    parsed.set_query((!query.is_empty()).then_some(query.as_str()));
    Ok((parsed.to_string(), password))
}

/// Runs `program` (pg_dump, pg_restore) with `args`; its standard output goes to
/// `stdout` (or is dropped). Fails with what it wrote on standard error.
async fn run_tool(
    program: &'static str,
    args: &[&str],
    password: Option<&str>,
    stdout: Option<std::fs::File>,
) -> Result<(), BackupError> {
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(stdout.map_or_else(std::process::Stdio::null, Into::into))
        .stderr(std::process::Stdio::piped());
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    let failed = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => BackupError::MissingTool(program),
        _ => BackupError::Dump(format!("{program}: {e}")),
    };
    // spawn, not output(): output() would capture standard output too.
    let output = command
        .spawn()
        .map_err(failed)?
        .wait_with_output()
        .await
        .map_err(failed)?;
    if output.status.success() {
        Ok(())
    } else {
        Err(BackupError::Dump(format!(
            "{program} ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

/// Runs `write_and_check`, which fills the file at `path`: the backup made, or the
/// error, with nothing left at `path`.
async fn finish(
    path: PathBuf,
    write_and_check: impl Future<Output = Result<(), BackupError>>,
) -> Result<Backup, BackupError> {
    let written = match write_and_check.await {
        Ok(()) => size(&path),
        Err(error) => Err(error),
    };
    match written {
        Ok(bytes) => Ok(Backup { path, bytes }),
        Err(error) => {
            let _ = std::fs::remove_file(&path);
            Err(error)
        }
    }
}

/// `PRAGMA quick_check` on the copy, opened read-only.
async fn check_copy(path: &Path) -> Result<(), BackupError> {
    let filename = utf8(path)?;
    let mut connection = SqliteConnectOptions::from_str("sqlite:")?
        .filename(filename)
        .read_only(true)
        .connect()
        .await?;
    let lines: Vec<String> = sqlx::query_scalar("PRAGMA quick_check")
        .fetch_all(&mut connection)
        .await?;
    sqlx::Connection::close(connection).await?;
    match lines.as_slice() {
        [ok] if ok == "ok" => Ok(()),
        _ => Err(BackupError::Check(lines.join("; "))),
    }
}

impl Store {
    /// Writes a consistent copy of this SQLite database to `path`, a file that must not
    /// exist (its folder must), while the node keeps running; the copy is a standalone
    /// database file (rollback journal, no `-wal` beside it) readable by its owner only,
    /// checked with `PRAGMA quick_check`. On failure nothing is left at `path`.
    ///
    /// # Errors
    /// [`BackupError::NotSqlite`] on PostgreSQL, [`BackupError::Exists`] when `path`
    /// exists, and I/O, database or check failures.
    pub async fn backup_sqlite(&self, path: &Path) -> Result<Backup, BackupError> {
        let Store::Sqlite(pool) = self else {
            return Err(BackupError::NotSqlite);
        };
        let absolute = output_path(path)?;
        let target = utf8(&absolute)?.to_string();
        // SQLite accepts an existing empty file as the target of VACUUM INTO.
        drop(create_empty(&absolute)?);
        finish(absolute.clone(), async {
            sqlx::query("VACUUM INTO $1")
                .bind(&target)
                .execute(pool)
                .await?;
            check_copy(&absolute).await
        })
        .await
    }

    /// Writes a `pg_dump` archive (custom format, for `pg_restore`) of this PostgreSQL
    /// database, reached at `url`, to `path`, a file that must not exist (its folder
    /// must), while the node keeps running; readable by its owner only, checked with
    /// `pg_restore --list`. The node's schema is dumped: the whole database when it is
    /// `public` (the default; the `unaccent` extension comes with it), else that schema
    /// alone (a `search_path` in the URL). On failure nothing is left at `path`.
    ///
    /// # Errors
    /// [`BackupError::NotSqlite`] is never returned; [`BackupError::Exists`] when `path`
    /// exists, [`BackupError::MissingTool`] without PostgreSQL's client programs, and
    /// I/O, database or `pg_dump` failures.
    pub async fn backup_postgres(&self, url: &str, path: &Path) -> Result<Backup, BackupError> {
        let Store::Postgres(pool) = self else {
            return Err(BackupError::Dump("not a PostgreSQL database".into()));
        };
        let schema: String = sqlx::query_scalar("SELECT current_schema()")
            .fetch_one(pool)
            .await?;
        let (url, password) = libpq_url(url)?;
        let absolute = output_path(path)?;
        let file = create_empty(&absolute)?;
        finish(absolute.clone(), async {
            let schema_arg = format!("--schema={schema}");
            let mut args = vec!["--format=custom", "--no-password"];
            if schema != "public" {
                args.push(&schema_arg);
            }
            args.push(&url);
            run_tool("pg_dump", &args, password.as_deref(), Some(file)).await?;
            run_tool("pg_restore", &["--list", utf8(&absolute)?], None, None).await
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::libpq_url;

    #[test]
    fn libpq_urls_carry_no_password_nor_sqlx_parameters() {
        let (url, password) = libpq_url(
            "postgres://maillage:p%40ss%2Bw%20d@db.example:5433/maillage?sslmode=require&statement-cache-capacity=0",
        )
        .unwrap();
        assert_eq!(
            url,
            "postgres://maillage@db.example:5433/maillage?sslmode=require"
        );
        assert_eq!(password.as_deref(), Some("p@ss+w d"));

        let (url, password) =
            libpq_url("postgres://maillage@localhost/maillage?host=/var/run/postgresql").unwrap();
        assert_eq!(
            url,
            "postgres://maillage@localhost/maillage?host=/var/run/postgresql"
        );
        assert_eq!(password, None);
        let (url, _) =
            libpq_url("postgres://u@h/d?statement-cache-capacity=5&options=-c%20search_path%3Dt_1")
                .unwrap();
        assert_eq!(url, "postgres://u@h/d?options=-c%20search_path%3Dt_1");
        let (url, _) = libpq_url("postgresql://u@h/d?statement-cache-capacity=5").unwrap();
        assert_eq!(url, "postgresql://u@h/d");
    }
}

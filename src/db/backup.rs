//! Online backup of a SQLite database (SPEC §9): `VACUUM INTO` writes a consistent
//! snapshot of the live database (one read transaction, so writers of a running node
//! are not blocked) to a new file, which is then checked. PostgreSQL has `pg_dump`.

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
fn create_empty(path: &Path) -> Result<(), BackupError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(BackupError::Exists(path.to_path_buf()))
        }
        Err(source) => Err(BackupError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// `PRAGMA quick_check` on the copy, opened read-only.
async fn check_copy(path: &Path) -> Result<(), BackupError> {
    let filename = path.to_str().ok_or_else(|| BackupError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not UTF-8"),
    })?;
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
        let target = absolute
            .to_str()
            .ok_or_else(|| BackupError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not UTF-8"),
            })?
            .to_string();
        // SQLite accepts an existing empty file as the target of VACUUM INTO.
        create_empty(&absolute)?;
        let written = async {
            sqlx::query("VACUUM INTO $1")
                .bind(&target)
                .execute(pool)
                .await?;
            check_copy(&absolute).await?;
            let bytes = std::fs::metadata(&absolute)
                .map_err(|source| BackupError::Io {
                    path: absolute.clone(),
                    source,
                })?
                .len();
            Ok(Backup {
                path: absolute.clone(),
                bytes,
            })
        }
        .await;
        if written.is_err() {
            let _ = std::fs::remove_file(&absolute);
        }
        written
    }
}

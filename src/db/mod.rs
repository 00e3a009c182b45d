//! Owns persistence, SQL only. [`Store`] is the one storage interface over SQLite
//! (default) and PostgreSQL (SPEC §8). Writes that go together run on a [`Tx`], which a
//! service opens ([`Store::begin`]) and passes to the plain `async fn`s of the area files;
//! which rows change and which activity is published is the service's business, not
//! this module's. Queries are written once in standard SQL and run on either engine
//! through [`on_pool!`] (a pool or a transaction); what truly differs between engines
//! is a named function.
//! Area files: [`actors`], [`actions`], [`activities`], [`follows`], [`partnerships`],
//! [`comments`], [`moderation`], [`tokens`], [`notifications`], [`verification`]; row types
//! and their conversion to domain values in [`rows`].
//!
//! Engine notes kept in one place:
//! - both accept `$1` parameters, `RETURNING` and `ON CONFLICT`;
//! - SQLite stores timestamps as RFC 3339 TEXT and UUIDs as BLOB, PostgreSQL as
//!   TIMESTAMPTZ and UUID; sqlx encodes the same Rust values for both;
//! - JSON documents are TEXT on both, so binds are the same.

pub mod actions;
pub mod activities;
pub mod actors;
pub mod admission;
pub mod backup;
pub mod comments;
pub mod copy;
pub mod deliveries;
pub mod follows;
pub mod imports;
pub mod moderation;
pub mod nearby;
pub mod notifications;
pub mod partnerships;
pub mod posts;
pub mod rows;
pub mod search;
pub mod tokens;
pub mod users;
pub mod verification;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::config::redact;

/// A storage failure, with the cases callers branch on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint was violated; carries the constraint or column names.
    #[error("already exists: {0}")]
    Conflict(String),
    /// A stored row could not be turned into a domain value.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// Anything else from the driver.
    #[error(transparent)]
    Database(sqlx::Error),
    /// Migrations failed.
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// An operation refused as asked (a copy to a database that is not empty…), with
    /// the reason for people.
    #[error("{0}")]
    Refused(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        // Same mapping for both engines (GoToSocial's sqlite/errors.go and postgres/errors.go).
        if let sqlx::Error::Database(db) = &error {
            if db.is_unique_violation() {
                let name = db
                    .constraint()
                    .map(str::to_string)
                    .unwrap_or_else(|| db.message().to_string());
                return StoreError::Conflict(name);
            }
        }
        StoreError::Database(error)
    }
}

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// SQLite, one file, WAL.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// The storage interface: a pool of one engine or the other.
#[derive(Debug, Clone)]
pub enum Store {
    /// SQLite pool.
    Sqlite(SqlitePool),
    /// PostgreSQL pool.
    Postgres(PgPool),
}

/// One value per engine: what [`Store::engines`] and [`Tx::engines`] hand to
/// [`on_pool!`].
#[derive(Debug)]
pub enum ByEngine<S, P> {
    /// The SQLite side.
    Sqlite(S),
    /// The PostgreSQL side.
    Postgres(P),
}

/// Runs the same expression on whichever engine a [`Store`] (its pool) or a [`Tx`]
/// (its connection) holds. The expression is expanded once per engine, so the same SQL
/// text and binds are type-checked for both. The one engine-dispatch macro of `db/`.
#[macro_export]
macro_rules! on_pool {
    ($on:expr, $conn:ident => $body:expr) => {
        match $on.engines() {
            $crate::db::ByEngine::Sqlite($conn) => $body,
            $crate::db::ByEngine::Postgres($conn) => $body,
        }
    };
}
pub use on_pool;

/// A write transaction, opened by a service with [`Store::begin`] and passed to the
/// plain `db` functions that take `&mut Tx`, so that a change, its activity and its
/// deliveries commit together. Dropped without [`Tx::commit`], it rolls back.
#[derive(Debug)]
pub struct Tx(
    ByEngine<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Transaction<'static, sqlx::Postgres>>,
);

impl Tx {
    /// The connection of the transaction, per engine (for [`on_pool!`]).
    pub fn engines(&mut self) -> ByEngine<&mut sqlx::SqliteConnection, &mut sqlx::PgConnection> {
        match &mut self.0 {
            ByEngine::Sqlite(tx) => ByEngine::Sqlite(&mut **tx),
            ByEngine::Postgres(tx) => ByEngine::Postgres(&mut **tx),
        }
    }

    /// Commits the transaction.
    ///
    /// # Errors
    /// The database refused the commit; nothing was written.
    pub async fn commit(self) -> StoreResult<()> {
        match self.0 {
            ByEngine::Sqlite(tx) => tx.commit().await?,
            ByEngine::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

/// Starts a write transaction: `BEGIN IMMEDIATE` on SQLite, so that a transaction
/// takes the write lock at once and waits for it (busy timeout) instead of failing with
/// `SQLITE_BUSY` when it upgrades from reading under concurrent writers; a plain
/// `BEGIN` on PostgreSQL.
pub(crate) trait BeginWrite {
    /// The engine.
    type Db: sqlx::Database;
    /// Begins the transaction.
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>>
    + Send;
}

impl BeginWrite for SqlitePool {
    type Db = sqlx::Sqlite;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>>
    + Send {
        self.begin_with("BEGIN IMMEDIATE")
    }
}

impl BeginWrite for PgPool {
    type Db = sqlx::Postgres;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>>
    + Send {
        self.begin()
    }
}

/// Whether a connection runs a script — several `;`-separated statements sharing `$n`
/// binds — in one call. SQLite does, and each call is a round trip to its connection's
/// thread, which costs more than a small statement: hot paths send their statements as
/// one script there. PostgreSQL's extended protocol takes one statement per call.
pub(crate) trait Scripts {
    /// True when scripts run in one call.
    fn scripts(&self) -> bool;
}

impl Scripts for sqlx::SqliteConnection {
    fn scripts(&self) -> bool {
        true
    }
}

impl Scripts for sqlx::PgConnection {
    fn scripts(&self) -> bool {
        false
    }
}

/// Runs an upsert again (up to three tries in all) when it lost a race with another
/// transaction inserting the same new row (two activities about one new action or
/// actor). On PostgreSQL, `ON CONFLICT (ap_id)` handles a concurrent insert through its
/// arbiter index only: the row's other unique keys (an action's `uuid`, derived from its
/// `ap_id`; an actor's username and domain) fail instead, or the two speculative
/// inserts deadlock and one is aborted. Run again, the statement finds the committed
/// row and updates it. SQLite has one writer at a time and never races here.
pub(crate) async fn retry_insert_race<T, F, Fut>(mut attempt: F) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = StoreResult<T>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(error) if tries < 3 && error.is_insert_race() => {
                tracing::debug!(%error, "lost an insert race; again");
                tries += 1;
            }
            other => return other,
        }
    }
}

impl StoreError {
    /// A deadlock or a serialization failure (PostgreSQL): the transaction was aborted
    /// and may succeed if run again; answered `503` with `Retry-After`, never a `500`.
    pub fn is_lock_conflict(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(db)) => {
                matches!(db.code().as_deref(), Some("40P01" | "40001"))
            }
            _ => false,
        }
    }

    /// A unique violation, a deadlock or a serialization failure: what two
    /// transactions writing the same new row at once may meet.
    fn is_insert_race(&self) -> bool {
        match self {
            // The driver's unique violations (the one conflict the code reports itself,
            // an id that is a local actor's, is decided outside the retry).
            StoreError::Conflict(_) => true,
            other => other.is_lock_conflict(),
        }
    }
}

/// No Maillage database where the configuration points, for a command that may not
/// create one (SPEC §11): the SQLite file is missing or empty, or the database has no
/// Maillage schema. Carries the place looked at (a file path or a redacted URL).
#[derive(Debug, thiserror::Error)]
#[error("no Maillage database at {0}")]
pub struct NoDatabase(pub String);

/// A migration that [`Store::migrate`] applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    /// Its version (the file name's number).
    pub version: i64,
    /// Its description (the rest of the file name).
    pub description: String,
}

/// A migration as `maillage migrate --status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// Its version (the file name's number).
    pub version: i64,
    /// Its description (the file name's rest, or the one recorded in the database).
    pub description: String,
    /// When it was applied; `None` while pending.
    pub applied_on: Option<chrono::DateTime<chrono::Utc>>,
    /// Recorded in the database but unknown to this binary (made by a newer version).
    pub unknown: bool,
}

/// The database file of a SQLite URL, `None` for an in-memory database or another
/// engine's URL.
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    if !url.starts_with("sqlite:") {
        return None;
    }
    let options = SqliteConnectOptions::from_str(url).ok()?;
    let file = options.get_filename();
    (!file.as_os_str().is_empty() && file != std::path::Path::new(":memory:"))
        .then(|| file.to_path_buf())
}

/// `file` as an absolute path, for messages.
fn absolute(file: &std::path::Path) -> String {
    std::path::absolute(file)
        .unwrap_or_else(|_| file.to_path_buf())
        .display()
        .to_string()
}

/// Creates the SQLite file `file` empty and readable by its owner only (it will hold
/// private keys and token hashes), and its folder, if missing, `0700`. SQLite gives
/// the `-wal` and `-shm` files it creates beside it the database file's permissions.
/// An existing file is left as it is.
fn create_private(file: &std::path::Path) -> std::io::Result<()> {
    let mut folder = std::fs::DirBuilder::new();
    folder.recursive(true);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        folder.mode(0o700);
        options.mode(0o600);
    }
    if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.exists() {
            folder.create(parent)?;
        }
    }
    match options.open(file) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

/// Warns when the SQLite file (made by an older version, or by hand) can be read by
/// other users: it holds the private keys.
fn warn_if_readable_by_others(file: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(metadata) = std::fs::metadata(file) {
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    file = %file.display(),
                    mode = format!("{mode:o}"),
                    "the database file can be read by other users, and it holds private keys: chmod 600 it (and its -wal and -shm files)"
                );
            }
        }
    }
}

impl Store {
    /// The pool, per engine (for [`on_pool!`]).
    pub fn engines(&self) -> ByEngine<&SqlitePool, &PgPool> {
        match self {
            Store::Sqlite(pool) => ByEngine::Sqlite(pool),
            Store::Postgres(pool) => ByEngine::Postgres(pool),
        }
    }

    /// Starts a write transaction ([`BeginWrite`]: `BEGIN IMMEDIATE` on SQLite).
    ///
    /// # Errors
    /// No connection could be had.
    pub async fn begin(&self) -> StoreResult<Tx> {
        Ok(Tx(match self {
            Store::Sqlite(pool) => ByEngine::Sqlite(pool.begin_write().await?),
            Store::Postgres(pool) => ByEngine::Postgres(pool.begin_write().await?),
        }))
    }

    /// Opens the database named by `url` (`sqlite://file.db`, `sqlite::memory:`,
    /// `postgres://…`), creating a SQLite file if missing (`0600`).
    ///
    /// # Errors
    /// The URL is malformed or the database cannot be reached.
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        Self::open(url, max_connections, true).await
    }

    /// Opens the database named by `url`. With `create`, a missing SQLite file is
    /// created (`0600`, its folder `0700`); without it, a missing or empty SQLite file,
    /// or a database without Maillage's schema, is [`NoDatabase`], and nothing is
    /// created.
    ///
    /// # Errors
    /// [`NoDatabase`], a malformed URL, or a database that cannot be reached.
    pub async fn open(url: &str, max_connections: u32, create: bool) -> anyhow::Result<Self> {
        let store = if url.starts_with("sqlite:") {
            let file = sqlite_file(url);
            if let Some(file) = &file {
                if create {
                    create_private(file).with_context(|| {
                        format!("cannot create the SQLite database {}", file.display())
                    })?;
                } else if !file.metadata().is_ok_and(|m| m.is_file() && m.len() > 0) {
                    return Err(NoDatabase(absolute(file)).into());
                }
                warn_if_readable_by_others(file);
            }
            let options = SqliteConnectOptions::from_str(url)
                .with_context(|| format!("invalid SQLite URL « {url} »"))?
                .create_if_missing(create)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                // Reads through a shared memory map (the OS page cache) rather than
                // each connection's small private cache: searches touch many rows.
                .pragma("mmap_size", "268435456")
                .pragma("cache_size", "-16384");
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections.max(1))
                .connect_with(options)
                .await
                .with_context(|| format!("cannot open SQLite database « {url} »"))?;
            Store::Sqlite(pool)
        } else {
            let options = PgConnectOptions::from_str(url)
                .with_context(|| format!("invalid PostgreSQL URL « {} »", redact(url)))?;
            let pool = PgPoolOptions::new()
                .max_connections(max_connections.max(1))
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .with_context(|| format!("cannot connect to PostgreSQL « {} »", redact(url)))?;
            Store::Postgres(pool)
        };
        if !create && !store.has_schema().await? {
            store.close().await;
            let place = sqlite_file(url).map_or_else(|| redact(url), |f| absolute(&f));
            return Err(NoDatabase(place).into());
        }
        Ok(store)
    }

    /// True when Maillage's migrations table exists (in the search path on PostgreSQL).
    async fn has_schema(&self) -> StoreResult<bool> {
        Ok(match self {
            Store::Sqlite(pool) => {
                sqlx::query_scalar::<_, i64>(
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
                )
                .fetch_one(pool)
                .await?
                    > 0
            }
            Store::Postgres(pool) => {
                sqlx::query_scalar::<_, bool>("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                    .fetch_one(pool)
                    .await?
            }
        })
    }

    /// The migrator of this store's engine.
    fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
        static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");
        match self {
            Store::Sqlite(_) => &SQLITE,
            Store::Postgres(_) => &POSTGRES,
        }
    }

    /// Applies pending migrations of this engine (`migrations/<engine>/`) and returns
    /// those it applied, oldest first (none when the database was up to date).
    ///
    /// # Errors
    /// A migration failed or the database was migrated by a newer version.
    pub async fn migrate(&self) -> StoreResult<Vec<AppliedMigration>> {
        let before: Vec<i64> = if self.has_schema().await? {
            on_pool!(self, pool => {
                sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = TRUE")
                    .fetch_all(pool)
                    .await?
            })
        } else {
            Vec::new()
        };
        match self {
            Store::Sqlite(pool) => self.migrator().run(pool).await?,
            Store::Postgres(pool) => self.migrator().run(pool).await?,
        }
        Ok(self
            .migrator()
            .iter()
            .filter(|m| m.migration_type.is_up_migration() && !before.contains(&m.version))
            .map(|m| AppliedMigration {
                version: m.version,
                description: m.description.to_string(),
            })
            .collect())
    }

    /// Every migration this binary knows and every one the database records, oldest
    /// first, each applied (when) or pending; reads only.
    ///
    /// # Errors
    /// The database cannot be read.
    pub async fn migration_status(&self) -> StoreResult<Vec<MigrationStatus>> {
        const SQL: &str = "SELECT version, description, installed_on FROM _sqlx_migrations \
             WHERE success = TRUE ORDER BY version";
        let applied: Vec<(i64, String, chrono::DateTime<chrono::Utc>)> =
            if self.has_schema().await? {
                on_pool!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await?)
            } else {
                Vec::new()
            };
        let mut list: Vec<MigrationStatus> = self
            .migrator()
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .map(|m| MigrationStatus {
                version: m.version,
                description: m.description.to_string(),
                applied_on: applied
                    .iter()
                    .find(|(version, ..)| *version == m.version)
                    .map(|(.., on)| *on),
                unknown: false,
            })
            .collect();
        for (version, description, on) in applied {
            if !list.iter().any(|m| m.version == version) {
                list.push(MigrationStatus {
                    version,
                    description,
                    applied_on: Some(on),
                    unknown: true,
                });
            }
        }
        list.sort_by_key(|m| m.version);
        Ok(list)
    }

    /// True when the database answers and every known migration is applied.
    pub async fn is_ready(&self) -> bool {
        let expected = self.migrator().iter().count() as i64;
        let applied: Result<i64, sqlx::Error> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_one(pool)
                .await
        });
        matches!(applied, Ok(n) if n >= expected)
    }

    /// The engine of this store.
    pub fn engine(&self) -> Engine {
        match self {
            Store::Sqlite(_) => Engine::Sqlite,
            Store::Postgres(_) => Engine::Postgres,
        }
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }
}

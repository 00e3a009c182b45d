//! Owns persistence. [`Store`] is the one storage interface over SQLite (default) and
//! PostgreSQL (SPEC §8). Queries are written once in standard SQL and run on either
//! engine through [`on_pool!`]; what truly differs between engines is a named function.
//! Area files: [`actors`], [`actions`], [`activities`], [`follows`], [`partnerships`],
//! [`comments`], [`moderation`], [`tokens`]; row types
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
pub mod backup;
pub mod comments;
pub mod deliveries;
pub mod follows;
pub mod imports;
pub mod moderation;
pub mod partnerships;
pub mod posts;
pub mod rows;
pub mod search;
pub mod tokens;
pub mod users;

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

/// Runs the same expression on whichever pool the store holds. The expression is
/// expanded once per engine, so the same SQL text and binds are type-checked for both.
#[macro_export]
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            $crate::db::Store::Sqlite($pool) => $body,
            $crate::db::Store::Postgres($pool) => $body,
        }
    };
}
pub use on_pool;

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
    /// A unique violation, a deadlock or a serialization failure: what two
    /// transactions writing the same new row at once may meet.
    fn is_insert_race(&self) -> bool {
        match self {
            // The driver's unique violations (the one conflict the code reports itself,
            // an id that is a local actor's, is decided outside the retry).
            StoreError::Conflict(_) => true,
            StoreError::Database(sqlx::Error::Database(db)) => {
                matches!(db.code().as_deref(), Some("40P01" | "40001"))
            }
            _ => false,
        }
    }
}

impl Store {
    /// Opens the database named by `url` (`sqlite://file.db`, `sqlite::memory:`,
    /// `postgres://…`), creating a SQLite file if missing.
    ///
    /// # Errors
    /// The URL is malformed or the database cannot be reached.
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .with_context(|| format!("invalid SQLite URL « {url} »"))?
                .create_if_missing(true)
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
            Ok(Store::Sqlite(pool))
        } else {
            let options = PgConnectOptions::from_str(url)
                .with_context(|| format!("invalid PostgreSQL URL « {} »", redact(url)))?;
            let pool = PgPoolOptions::new()
                .max_connections(max_connections.max(1))
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .with_context(|| format!("cannot connect to PostgreSQL « {} »", redact(url)))?;
            Ok(Store::Postgres(pool))
        }
    }

    /// Applies pending migrations of this engine (`migrations/<engine>/`).
    ///
    /// # Errors
    /// A migration failed or the database was migrated by a newer version.
    pub async fn migrate(&self) -> StoreResult<()> {
        match self {
            Store::Sqlite(pool) => sqlx::migrate!("migrations/sqlite").run(pool).await?,
            Store::Postgres(pool) => sqlx::migrate!("migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// True when the database answers and every known migration is applied.
    pub async fn is_ready(&self) -> bool {
        let expected = match self {
            Store::Sqlite(_) => sqlx::migrate!("migrations/sqlite").iter().count(),
            Store::Postgres(_) => sqlx::migrate!("migrations/postgres").iter().count(),
        } as i64;
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

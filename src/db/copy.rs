//! Owns `maillage db copy` (SPEC §11): the whole node, keys included, from one engine's
//! database to an empty database of the other engine, then checked by per-table row
//! counts and identical keys. Does not decide where the databases are (the CLI does).
//!
//! Rows are read and written with typed values: each column's type comes from the
//! PostgreSQL side's catalogue (SQLite columns are declared loosely), and sqlx encodes
//! the same Rust value the way the node itself writes it on each engine (timestamps as
//! RFC 3339 TEXT and UUIDs as BLOB on SQLite). Derived tables (SQLite's FTS5 index,
//! PostgreSQL's `action_search` and generated `search_vector`) are filled by the
//! target's own triggers.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;
use uuid::Uuid;

use super::{BeginWrite, Engine, Store, StoreError, StoreResult, on_pool};

/// The tables copied, parents before children (foreign keys).
pub const TABLES: [&str; 23] = [
    "actors",
    "actions",
    "action_themes",
    "action_places",
    "action_software",
    "action_providers",
    "activities",
    "follows",
    "api_tokens",
    "deliveries",
    "received_activities",
    "instances",
    "posts",
    "directory_state",
    "partnerships",
    "comments",
    "reactions",
    "reports",
    "blocks",
    "users",
    "user_collectivites",
    "sessions",
    "domain_allows",
];

/// Tables the target fills itself, or that are the engines' own.
const DERIVED: [&str; 3] = ["action_search", "_sqlx_migrations", "sqlite_sequence"];

/// Rows of one table on both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCount {
    /// The table.
    pub table: &'static str,
    /// Rows in the source.
    pub source: i64,
    /// Rows in the target.
    pub target: i64,
}

/// What a copy did, checked.
#[derive(Debug, Clone)]
pub struct CopyReport {
    /// Rows per table.
    pub counts: Vec<TableCount>,
    /// Actors whose public and private keys are identical on both sides.
    pub same_keys: usize,
    /// Actors in the source.
    pub actors: usize,
    /// Actors (ActivityPub ids) whose keys differ or are missing in the target.
    pub different_keys: Vec<String>,
}

/// A column's type, as PostgreSQL names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    BigInt,
    Float,
    Bool,
    Text,
    Time,
    Date,
    Uuid,
}

impl Kind {
    fn of(data_type: &str) -> Option<Kind> {
        Some(match data_type {
            "integer" | "smallint" => Kind::Int,
            "bigint" => Kind::BigInt,
            "double precision" | "real" => Kind::Float,
            "boolean" => Kind::Bool,
            "text" | "character varying" => Kind::Text,
            "timestamp with time zone" => Kind::Time,
            "date" => Kind::Date,
            "uuid" => Kind::Uuid,
            _ => return None,
        })
    }
}

/// One value of a row, typed.
#[derive(Debug, Clone)]
enum Value {
    Int(Option<i32>),
    BigInt(Option<i64>),
    Float(Option<f64>),
    Bool(Option<bool>),
    Text(Option<String>),
    Time(Option<DateTime<Utc>>),
    Date(Option<NaiveDate>),
    Uuid(Option<Uuid>),
}

/// Reads column `$i` of `$row` as `$kind`.
macro_rules! read_value {
    ($row:expr, $i:expr, $kind:expr) => {
        match $kind {
            Kind::Int => Value::Int($row.try_get($i)?),
            Kind::BigInt => Value::BigInt($row.try_get($i)?),
            Kind::Float => Value::Float($row.try_get($i)?),
            Kind::Bool => Value::Bool($row.try_get($i)?),
            Kind::Text => Value::Text($row.try_get($i)?),
            Kind::Time => Value::Time($row.try_get($i)?),
            Kind::Date => Value::Date($row.try_get($i)?),
            Kind::Uuid => Value::Uuid($row.try_get($i)?),
        }
    };
}

/// Binds `$value` to `$query`.
macro_rules! bind_value {
    ($query:expr, $value:expr) => {
        match $value {
            Value::Int(v) => $query.bind(v),
            Value::BigInt(v) => $query.bind(v),
            Value::Float(v) => $query.bind(v),
            Value::Bool(v) => $query.bind(v),
            Value::Text(v) => $query.bind(v),
            Value::Time(v) => $query.bind(v),
            Value::Date(v) => $query.bind(v),
            Value::Uuid(v) => $query.bind(v),
        }
    };
}

fn refused(message: String) -> StoreError {
    StoreError::Refused(message)
}

impl Store {
    /// The tables of this database (engine tables and FTS shadow tables left out).
    async fn table_names(&self) -> StoreResult<Vec<String>> {
        Ok(match self {
            Store::Sqlite(pool) => {
                sqlx::query_scalar(
                    "SELECT name FROM sqlite_master WHERE type = 'table' \
                     AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'actions_fts%'",
                )
                .fetch_all(pool)
                .await?
            }
            Store::Postgres(pool) => {
                sqlx::query_scalar(
                    "SELECT table_name::text FROM information_schema.tables \
                     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
                )
                .fetch_all(pool)
                .await?
            }
        })
    }

    /// The columns of `table` with their PostgreSQL types (PostgreSQL stores only).
    async fn column_kinds(&self, table: &str) -> StoreResult<Vec<(String, String)>> {
        const SQL: &str = "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER' \
             ORDER BY ordinal_position";
        match self {
            Store::Postgres(pool) => Ok(sqlx::query_as(SQL).bind(table).fetch_all(pool).await?),
            Store::Sqlite(_) => Err(refused("BUG: column types come from PostgreSQL".into())),
        }
    }

    /// The column names of `table` (SQLite stores only).
    async fn sqlite_columns(&self, table: &str) -> StoreResult<Vec<String>> {
        match self {
            Store::Sqlite(pool) => Ok(sqlx::query_scalar("SELECT name FROM pragma_table_info($1)")
                .bind(table)
                .fetch_all(pool)
                .await?),
            Store::Postgres(_) => Err(refused("BUG: SQLite columns only".into())),
        }
    }

    /// Rows of `table`.
    async fn count_rows(&self, table: &str) -> StoreResult<i64> {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(pool).await?
        }))
    }

    /// Every actor's id and keys, by id.
    async fn actor_keys(&self) -> StoreResult<Vec<(String, String, Option<String>)>> {
        const SQL: &str =
            "SELECT ap_id, public_key_pem, private_key_pem FROM actors ORDER BY ap_id";
        Ok(on_pool!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await?))
    }

    /// Copies the whole node from `self` to `target`, a database of the other engine
    /// with nothing in it, migrated here; then checks row counts and keys.
    ///
    /// # Errors
    /// [`StoreError::Refused`] for the same engine, a target that is not empty, a
    /// source not fully migrated, or a table this version does not know; storage
    /// failures (the target may then hold part of the node: drop it and start again).
    pub async fn copy_to(&self, target: &Store) -> StoreResult<CopyReport> {
        if self.engine() == target.engine() {
            return Err(refused(
                "la copie va d'un moteur à l'autre (SQLite ⇄ PostgreSQL) ; pour le même moteur : maillage backup".into(),
            ));
        }
        if !self.is_ready().await {
            return Err(refused(
                "la base source n'est pas à jour : lancez d'abord maillage migrate".into(),
            ));
        }
        let existing = target.table_names().await?;
        if !existing.is_empty() {
            return Err(refused(format!(
                "la base cible n'est pas vide ({} table(s), dont {}) : la copie n'écrit que dans une base vide",
                existing.len(),
                existing[0]
            )));
        }
        target.migrate().await?;
        let postgres = if self.engine() == Engine::Postgres {
            self
        } else {
            target
        };
        let sqlite = if self.engine() == Engine::Sqlite {
            self
        } else {
            target
        };
        for table in postgres
            .table_names()
            .await?
            .into_iter()
            .chain(sqlite.table_names().await?)
        {
            if !TABLES.contains(&table.as_str()) && !DERIVED.contains(&table.as_str()) {
                return Err(refused(format!(
                    "table « {table} » inconnue de cette version : rien n'est copié sans elle"
                )));
            }
        }
        let mut counts = Vec::new();
        for table in TABLES {
            let on_sqlite = sqlite.sqlite_columns(table).await?;
            let mut columns = BTreeMap::new();
            for (name, data_type) in postgres.column_kinds(table).await? {
                if !on_sqlite.contains(&name) {
                    continue;
                }
                let kind = Kind::of(&data_type).ok_or_else(|| {
                    refused(format!(
                        "colonne {table}.{name} : type « {data_type} » non copié"
                    ))
                })?;
                columns.insert(name, kind);
            }
            let names: Vec<&String> = columns.keys().collect();
            let kinds: Vec<Kind> = columns.values().copied().collect();
            let list = names
                .iter()
                .map(|n| n.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            let select = format!("SELECT {list} FROM {table}");
            let placeholders = (1..=names.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let insert = format!("INSERT INTO {table} ({list}) VALUES ({placeholders})");
            on_pool!(target, to => {
                let mut tx = to.begin_write().await?;
                // Seed rows written by the migrations (the directory generation).
                sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
                    .execute(&mut *tx)
                    .await?;
                // Read whole, then written: a statement kept open while the other
                // engine writes would hold the source (and be logged as slow). The
                // largest table is in memory at once.
                on_pool!(self, from => {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(select.clone())).fetch_all(from).await?;
                    for row in rows {
                        let mut query = sqlx::query(sqlx::AssertSqlSafe(insert.clone()));
                        for (i, kind) in kinds.iter().enumerate() {
                            let value = read_value!(row, i, *kind);
                            query = bind_value!(query, value);
                        }
                        query.execute(&mut *tx).await?;
                    }
                });
                tx.commit().await?;
            });
            if target.engine() == Engine::Postgres && columns.get("id") == Some(&Kind::BigInt) {
                // Ids were copied: the sequence continues after the highest.
                let sql = format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                     COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {table}"
                );
                on_pool!(target, pool => {
                    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(pool).await?;
                });
            }
            counts.push(TableCount {
                table,
                source: self.count_rows(table).await?,
                target: target.count_rows(table).await?,
            });
        }
        let (from, to) = (self.actor_keys().await?, target.actor_keys().await?);
        let different_keys: Vec<String> = from
            .iter()
            .filter(|key| !to.contains(key))
            .map(|(id, ..)| id.clone())
            .collect();
        Ok(CopyReport {
            counts,
            same_keys: from.len() - different_keys.len(),
            actors: from.len(),
            different_keys,
        })
    }
}

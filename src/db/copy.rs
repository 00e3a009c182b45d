//! Owns `maillage db copy` (SPEC §11): the whole node, keys included, from one engine's
//! database to a database of the other engine that holds nothing yet, then checked by
//! per-table row counts and identical keys. Does not decide where the databases are
//! (the CLI does).
//!
//! - **One snapshot.** The source is read in one read transaction held for the whole
//!   copy (SQLite: a deferred `BEGIN`, whose first read fixes the snapshot; PostgreSQL:
//!   `REPEATABLE READ READ ONLY`), so a node left running cannot yield a torn copy; the
//!   counts and keys checked at the end come from the same snapshot. The target is
//!   written in one transaction, committed only once the counts and keys match: a
//!   copy that fails or does not match leaves it as it was (an empty target may stay
//!   migrated: its schema is made before the copy).
//! - **Bounded memory.** Each table is read by keyset pages on its primary key (a table
//!   without one is paged by its first column, all rows of one value in the same page)
//!   and written by multi-row `INSERT`s within each engine's bind-parameter limit; keys
//!   are compared by pages of actors too.
//! - **Same schema on both sides.** Each table's columns must be the same in the source
//!   and the target (the same migration level), or nothing is copied.
//! - **Typed values.** Each column's type comes from the PostgreSQL side's catalogue
//!   (SQLite columns are declared loosely), and sqlx encodes the same Rust value the way
//!   the node itself writes it on each engine (timestamps as RFC 3339 TEXT and UUIDs as
//!   BLOB on SQLite); timestamps keep PostgreSQL's precision, the microsecond.
//! - **Ids are never reused.** Sequences carry the source's state (PostgreSQL's
//!   sequence, SQLite's `sqlite_sequence`), not the highest id copied, so the ids of
//!   rows deleted last stay unused on the target too.
//!
//! Derived tables (SQLite's FTS5 index, PostgreSQL's `action_search` and generated
//! `search_vector`) are filled by the target's own triggers.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{Database, Decode, Encode, Row, Type};
use uuid::Uuid;

use super::{BeginWrite, Engine, Store, StoreError, StoreResult};

/// The tables copied, parents before children (foreign keys).
pub const TABLES: [&str; 26] = [
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
    "notifications",
    "held_activities",
    "action_arrivals",
];

/// Tables the target fills itself, or that are the engines' own.
const DERIVED: [&str; 3] = ["action_search", "_sqlx_migrations", "sqlite_sequence"];

/// Rows read from the source at a time (a page).
const PAGE_ROWS: usize = 1000;

/// The most bind parameters one statement may carry on `engine`: SQLite's
/// `SQLITE_MAX_VARIABLE_NUMBER` (32 766 since 3.32), PostgreSQL's protocol limit.
fn max_binds(engine: Engine) -> usize {
    match engine {
        Engine::Sqlite => 32_766,
        Engine::Postgres => 65_535,
    }
}

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
#[derive(Debug, Clone, PartialEq)]
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

impl Value {
    /// The text, for catalogue answers (`None` for NULL or another type).
    fn text(&self) -> Option<&str> {
        match self {
            Value::Text(text) => text.as_deref(),
            _ => None,
        }
    }

    /// The number, for counts and ids (`None` for NULL or another type).
    fn number(&self) -> Option<i64> {
        match self {
            Value::BigInt(n) => *n,
            Value::Int(n) => n.map(i64::from),
            _ => None,
        }
    }
}

/// Reads column `i` of `row` as `kind`.
fn read_value<R>(row: &R, i: usize, kind: Kind) -> Result<Value, sqlx::Error>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<i32>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<f64>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<bool>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<DateTime<Utc>>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<NaiveDate>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<Uuid>: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(match kind {
        Kind::Int => Value::Int(row.try_get(i)?),
        Kind::BigInt => Value::BigInt(row.try_get(i)?),
        Kind::Float => Value::Float(row.try_get(i)?),
        Kind::Bool => Value::Bool(row.try_get(i)?),
        Kind::Text => Value::Text(row.try_get(i)?),
        Kind::Time => Value::Time(row.try_get(i)?),
        Kind::Date => Value::Date(row.try_get(i)?),
        Kind::Uuid => Value::Uuid(row.try_get(i)?),
    })
}

/// Binds `value` to `query`.
fn bind_value<'q, DB>(
    query: sqlx::query::Query<'q, DB, DB::Arguments>,
    value: &Value,
) -> sqlx::query::Query<'q, DB, DB::Arguments>
where
    DB: Database,
    for<'t> Option<i32>: Encode<'t, DB> + Type<DB>,
    for<'t> Option<i64>: Encode<'t, DB> + Type<DB>,
    for<'t> Option<f64>: Encode<'t, DB> + Type<DB>,
    for<'t> Option<bool>: Encode<'t, DB> + Type<DB>,
    for<'t> Option<String>: Encode<'t, DB> + Type<DB>,
    for<'t> Option<DateTime<Utc>>: Encode<'t, DB> + Type<DB>,
    for<'t> Option<NaiveDate>: Encode<'t, DB> + Type<DB>,
    for<'t> Option<Uuid>: Encode<'t, DB> + Type<DB>,
{
    match value.clone() {
        Value::Int(v) => query.bind(v),
        Value::BigInt(v) => query.bind(v),
        Value::Float(v) => query.bind(v),
        Value::Bool(v) => query.bind(v),
        Value::Text(v) => query.bind(v),
        Value::Time(v) => query.bind(v),
        Value::Date(v) => query.bind(v),
        Value::Uuid(v) => query.bind(v),
    }
}

fn refused(message: String) -> StoreError {
    StoreError::Refused(message)
}

/// A transaction on either engine: the source's snapshot, or the target's writes.
enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Runs the same expression on whichever transaction `$tx` holds (expanded once per
/// engine, as [`super::on_pool!`] does for pools).
macro_rules! on_tx {
    ($tx:expr, $t:ident => $body:expr) => {
        match $tx {
            Tx::Sqlite($t) => $body,
            Tx::Postgres($t) => $body,
        }
    };
}

impl Tx {
    /// A read transaction over one snapshot of `store`.
    async fn snapshot(store: &Store) -> StoreResult<Tx> {
        Ok(match store {
            // Deferred: the first read takes the snapshot, kept until the end (WAL).
            Store::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN").await?),
            Store::Postgres(pool) => Tx::Postgres(
                pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?,
            ),
        })
    }

    /// A write transaction on `store`.
    async fn write(store: &Store) -> StoreResult<Tx> {
        Ok(match store {
            Store::Sqlite(pool) => Tx::Sqlite(pool.begin_write().await?),
            Store::Postgres(pool) => Tx::Postgres(pool.begin_write().await?),
        })
    }

    fn engine(&self) -> Engine {
        match self {
            Tx::Sqlite(_) => Engine::Sqlite,
            Tx::Postgres(_) => Engine::Postgres,
        }
    }

    /// The rows of `sql` with `binds`, each column read as `kinds` says.
    async fn fetch(
        &mut self,
        sql: &str,
        binds: &[Value],
        kinds: &[Kind],
    ) -> StoreResult<Vec<Vec<Value>>> {
        on_tx!(self, tx => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
            for value in binds {
                query = bind_value(query, value);
            }
            let rows = query.fetch_all(&mut **tx).await?;
            let mut values = Vec::with_capacity(rows.len());
            for row in &rows {
                let read: Result<Vec<Value>, sqlx::Error> = kinds
                    .iter()
                    .enumerate()
                    .map(|(i, kind)| read_value(row, i, *kind))
                    .collect();
                values.push(read?);
            }
            Ok(values)
        })
    }

    /// Runs `sql` with `binds`; the rows it changed.
    async fn execute(&mut self, sql: &str, binds: &[Value]) -> StoreResult<u64> {
        on_tx!(self, tx => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
            for value in binds {
                query = bind_value(query, value);
            }
            Ok(query.execute(&mut **tx).await?.rows_affected())
        })
    }

    /// The first column of `sql`'s rows, as text.
    async fn texts(&mut self, sql: &str, binds: &[Value]) -> StoreResult<Vec<String>> {
        let rows = self.fetch(sql, binds, &[Kind::Text]).await?;
        Ok(rows
            .iter()
            .filter_map(|row| row[0].text().map(str::to_string))
            .collect())
    }

    /// The number in the first row's first column (`None`: no row, or NULL).
    async fn number(&mut self, sql: &str, binds: &[Value]) -> StoreResult<Option<i64>> {
        let rows = self.fetch(sql, binds, &[Kind::BigInt]).await?;
        Ok(rows.first().and_then(|row| row[0].number()))
    }

    async fn commit(self) -> StoreResult<()> {
        on_tx!(self, tx => tx.commit().await?);
        Ok(())
    }

    /// The tables (engine tables and FTS shadow tables left out).
    async fn table_names(&mut self) -> StoreResult<BTreeSet<String>> {
        let sql = match self.engine() {
            Engine::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'actions_fts%'"
            }
            Engine::Postgres => {
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            }
        };
        Ok(self.texts(sql, &[]).await?.into_iter().collect())
    }

    /// The stored (not generated) columns of `table`, in order, each with its
    /// PostgreSQL type (empty on SQLite).
    async fn columns(&mut self, table: &str) -> StoreResult<Vec<(String, String)>> {
        let sql = match self.engine() {
            Engine::Sqlite => "SELECT name, '' FROM pragma_table_info($1) ORDER BY cid",
            Engine::Postgres => {
                "SELECT column_name::text, data_type::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 \
                 AND is_generated = 'NEVER' ORDER BY ordinal_position"
            }
        };
        let rows = self
            .fetch(sql, &[text(table)], &[Kind::Text, Kind::Text])
            .await?;
        Ok(rows
            .iter()
            .map(|row| {
                let field = |i: usize| row[i].text().unwrap_or_default().to_string();
                (field(0), field(1))
            })
            .collect())
    }

    /// The primary key's columns of `table`, in key order (empty: none).
    async fn primary_key(&mut self, table: &str) -> StoreResult<Vec<String>> {
        let sql = match self.engine() {
            Engine::Sqlite => "SELECT name FROM pragma_table_info($1) WHERE pk > 0 ORDER BY pk",
            Engine::Postgres => {
                "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a \
                 ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
                 WHERE i.indrelid = to_regclass($1) AND i.indisprimary \
                 ORDER BY array_position(i.indkey::int2[], a.attnum)"
            }
        };
        self.texts(sql, &[text(table)]).await
    }

    /// Rows of `table`.
    async fn count(&mut self, table: &str) -> StoreResult<i64> {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        Ok(self.number(&sql, &[]).await?.unwrap_or(0))
    }

    /// Where `table`'s id sequence stands: the last id given (`None`: the table has no
    /// sequence, or it never gave one).
    async fn sequence(&mut self, table: &str) -> StoreResult<Option<i64>> {
        let sql = match self.engine() {
            Engine::Sqlite => "SELECT seq FROM sqlite_sequence WHERE name = $1",
            Engine::Postgres => {
                "SELECT pg_sequence_last_value(pg_get_serial_sequence($1, 'id')::regclass)"
            }
        };
        self.number(sql, &[text(table)]).await
    }

    /// Every actor's id and keys, by id.
    /// A page of actors' keys (ap_id, public, private) after `after`, by ap_id.
    async fn actor_keys_after(&mut self, after: &Value) -> StoreResult<Vec<Vec<Value>>> {
        let sql = format!(
            "SELECT ap_id, public_key_pem, private_key_pem FROM actors \
             WHERE ap_id > $1 ORDER BY ap_id LIMIT {KEY_PAGE}"
        );
        self.fetch(&sql, std::slice::from_ref(after), &[Kind::Text; 3])
            .await
    }

    /// The keys (ap_id, public, private) of the actors `ap_ids`.
    async fn actor_keys_of(&mut self, ap_ids: &[Value]) -> StoreResult<Vec<Vec<Value>>> {
        let list = (1..=ap_ids.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT ap_id, public_key_pem, private_key_pem FROM actors WHERE ap_id IN ({list})"
        );
        self.fetch(&sql, ap_ids, &[Kind::Text; 3]).await
    }
}

/// Actors whose keys are compared at once (bind parameters of one `IN` list).
const KEY_PAGE: usize = 500;

/// Compares every actor's keys, by pages of the source's actors looked up in the
/// target: the ap_ids of the actors whose keys differ or are missing there, and how
/// many actors the source has.
async fn different_keys(from: &mut Tx, to: &mut Tx) -> StoreResult<(Vec<String>, usize)> {
    let (mut different, mut actors) = (Vec::new(), 0);
    let mut after = text("");
    loop {
        let page = from.actor_keys_after(&after).await?;
        let Some(last) = page.last() else {
            return Ok((different, actors));
        };
        after = last[0].clone();
        actors += page.len();
        let ids: Vec<Value> = page.iter().map(|row| row[0].clone()).collect();
        let theirs = to.actor_keys_of(&ids).await?;
        different.extend(
            page.iter()
                .filter(|row| !theirs.contains(row))
                .map(|row| row[0].text().unwrap_or_default().to_string()),
        );
    }
}

fn text(value: &str) -> Value {
    Value::Text(Some(value.to_string()))
}

/// How one table is copied.
struct Plan {
    table: &'static str,
    /// Column names, in the source's order.
    columns: Vec<String>,
    kinds: Vec<Kind>,
    /// Positions (in `columns`) of the paging key.
    key: Vec<usize>,
    /// The key is the primary key (unique); otherwise pages hold every row of the
    /// values they reach.
    unique: bool,
}

impl Plan {
    fn key_list(&self) -> String {
        let names: Vec<&str> = self.key.iter().map(|&i| self.columns[i].as_str()).collect();
        names.join(", ")
    }

    /// `(key) > ($first…)` when `after` is set, else no condition.
    fn after(&self, after: bool, first: usize) -> String {
        if !after {
            return "TRUE".into();
        }
        let binds: Vec<String> = (0..self.key.len())
            .map(|i| format!("${}", first + i))
            .collect();
        format!("({}) > ({})", self.key_list(), binds.join(", "))
    }

    /// The next page after `last` (the previous page's last key; `None` first).
    async fn page(&self, source: &mut Tx, last: Option<&[Value]>) -> StoreResult<Vec<Vec<Value>>> {
        let (table, keys) = (self.table, self.key_list());
        let list = self.columns.join(", ");
        let binds = last.map(<[Value]>::to_vec).unwrap_or_default();
        let condition = self.after(last.is_some(), 1);
        if self.unique {
            let sql = format!(
                "SELECT {list} FROM {table} WHERE {condition} ORDER BY {keys} LIMIT {PAGE_ROWS}"
            );
            return source.fetch(&sql, &binds, &self.kinds).await;
        }
        // One column, not unique: up to the value reached after PAGE_ROWS rows, all
        // of its rows included.
        let key = self.key[0];
        let sql = format!(
            "SELECT MAX({keys}) FROM (SELECT {keys} FROM {table} WHERE {condition} \
             ORDER BY {keys} LIMIT {PAGE_ROWS}) AS page"
        );
        let rows = source.fetch(&sql, &binds, &[self.kinds[key]]).await?;
        let Some(bound) = rows
            .into_iter()
            .next()
            .and_then(|row| row.into_iter().next())
        else {
            return Ok(Vec::new());
        };
        if bound == null_of(self.kinds[key]) {
            return Ok(Vec::new());
        }
        let upper = binds.len() + 1;
        let sql = format!(
            "SELECT {list} FROM {table} WHERE {condition} AND {keys} <= ${upper} ORDER BY {keys}"
        );
        let mut all = binds;
        all.push(bound);
        source.fetch(&sql, &all, &self.kinds).await
    }

    /// Writes `rows` to the target in multi-row `INSERT`s.
    async fn insert(&self, target: &mut Tx, rows: &[Vec<Value>]) -> StoreResult<()> {
        let width = self.columns.len();
        let per_statement = (max_binds(target.engine()) / width).clamp(1, PAGE_ROWS);
        let list = self.columns.join(", ");
        for chunk in rows.chunks(per_statement) {
            let tuples: Vec<String> = (0..chunk.len())
                .map(|r| {
                    let binds: Vec<String> =
                        (1..=width).map(|c| format!("${}", r * width + c)).collect();
                    format!("({})", binds.join(", "))
                })
                .collect();
            let sql = format!(
                "INSERT INTO {} ({list}) VALUES {}",
                self.table,
                tuples.join(", ")
            );
            let binds: Vec<Value> = chunk.iter().flatten().cloned().collect();
            target.execute(&sql, &binds).await?;
        }
        Ok(())
    }

    /// Copies the table, page by page.
    async fn copy(&self, source: &mut Tx, target: &mut Tx) -> StoreResult<()> {
        let mut last: Option<Vec<Value>> = None;
        loop {
            let rows = self.page(source, last.as_deref()).await?;
            let Some(end) = rows.last() else {
                return Ok(());
            };
            last = Some(self.key.iter().map(|&i| end[i].clone()).collect());
            self.insert(target, &rows).await?;
        }
    }
}

/// NULL of `kind`.
fn null_of(kind: Kind) -> Value {
    match kind {
        Kind::Int => Value::Int(None),
        Kind::BigInt => Value::BigInt(None),
        Kind::Float => Value::Float(None),
        Kind::Bool => Value::Bool(None),
        Kind::Text => Value::Text(None),
        Kind::Time => Value::Time(None),
        Kind::Date => Value::Date(None),
        Kind::Uuid => Value::Uuid(None),
    }
}

/// Checks that both sides have the same tables and, table by table, the same columns,
/// and returns how each table is copied.
async fn plan(source: &mut Tx, target: &mut Tx) -> StoreResult<Vec<Plan>> {
    for side in [&mut *source, &mut *target] {
        for table in side.table_names().await? {
            if !TABLES.contains(&table.as_str()) && !DERIVED.contains(&table.as_str()) {
                return Err(refused(format!(
                    "table « {table} » inconnue de cette version : rien n'est copié sans elle"
                )));
            }
        }
    }
    let mut plans = Vec::new();
    let mut differences = Vec::new();
    for table in TABLES {
        let from = source.columns(table).await?;
        let to = target.columns(table).await?;
        let names = |columns: &[(String, String)]| -> BTreeSet<String> {
            columns.iter().map(|(name, _)| name.clone()).collect()
        };
        let (from_names, to_names) = (names(&from), names(&to));
        if from_names != to_names {
            let list = |set: Vec<&String>| {
                if set.is_empty() {
                    "aucune".to_string()
                } else {
                    set.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            };
            differences.push(format!(
                "{table} (seulement dans la source : {} ; seulement dans la cible : {})",
                list(from_names.difference(&to_names).collect()),
                list(to_names.difference(&from_names).collect())
            ));
            continue;
        }
        let typed = if source.engine() == Engine::Postgres {
            &from
        } else {
            &to
        };
        let mut columns = Vec::new();
        let mut kinds = Vec::new();
        for (name, _) in &from {
            let data_type = typed
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| t.as_str())
                .unwrap_or_default();
            let kind = Kind::of(data_type).ok_or_else(|| {
                refused(format!(
                    "colonne {table}.{name} : type « {data_type} » non copié"
                ))
            })?;
            columns.push(name.clone());
            kinds.push(kind);
        }
        let primary = source.primary_key(table).await?;
        let unique = !primary.is_empty();
        let key_names = if unique {
            primary
        } else {
            columns.first().cloned().into_iter().collect()
        };
        let key = key_names
            .iter()
            .filter_map(|name| columns.iter().position(|c| c == name))
            .collect::<Vec<_>>();
        if key.is_empty() || key.len() != key_names.len() {
            return Err(refused(format!(
                "table « {table} » : pas de clé pour la lire par pages"
            )));
        }
        plans.push(Plan {
            table,
            columns,
            kinds,
            key,
            unique,
        });
    }
    if !differences.is_empty() {
        return Err(refused(format!(
            "la source et la cible n'ont pas les mêmes colonnes, rien n'est copié : {} ; \
             les deux bases doivent être au même niveau de migration (maillage migrate --status sur chacune)",
            differences.join(" ; ")
        )));
    }
    Ok(plans)
}

/// Refuses a target that holds data: only rows that `maillage migrate` itself writes
/// (the instance actor, the directory's generation) may be there; they are replaced.
async fn check_unused(target: &mut Tx) -> StoreResult<()> {
    for table in TABLES {
        let rows = match table {
            "directory_state" => 0,
            "actors" => target
                .number(
                    "SELECT COUNT(*) FROM actors \
                     WHERE NOT (local = TRUE AND actor_type = 'Application')",
                    &[],
                )
                .await?
                .unwrap_or(0),
            _ => target.count(table).await?,
        };
        if rows > 0 {
            return Err(refused(format!(
                "la base cible n'est pas vide (table « {table} » : {}) : la copie n'écrit que dans une base vide, ou seulement migrée (maillage migrate)",
                crate::domain::french::count(rows, "ligne", "lignes")
            )));
        }
    }
    for table in TABLES.iter().rev() {
        target.execute(&format!("DELETE FROM {table}"), &[]).await?;
    }
    Ok(())
}

/// Carries `table`'s id sequence: the target continues after the source's last id
/// given (or after the highest id copied, when that is higher), never before.
async fn carry_sequence(source: &mut Tx, target: &mut Tx, table: &str) -> StoreResult<()> {
    let given = source.sequence(table).await?;
    let highest = target
        .number(&format!("SELECT CAST(MAX(id) AS BIGINT) FROM {table}"), &[])
        .await?;
    let next = given.unwrap_or(0).max(highest.unwrap_or(0));
    match target.engine() {
        Engine::Postgres if next > 0 => {
            target
                .fetch(
                    "SELECT setval(pg_get_serial_sequence($1, 'id')::regclass, $2)",
                    &[text(table), Value::BigInt(Some(next))],
                    &[],
                )
                .await?;
        }
        // Only tables with a sequence on PostgreSQL have one (AUTOINCREMENT) here.
        Engine::Sqlite if given.is_some() => {
            let binds = [text(table), Value::BigInt(Some(next))];
            let updated = target
                .execute(
                    "UPDATE sqlite_sequence SET seq = MAX(seq, $2) WHERE name = $1",
                    &binds,
                )
                .await?;
            if updated == 0 {
                target
                    .execute(
                        "INSERT INTO sqlite_sequence (name, seq) VALUES ($1, $2)",
                        &binds,
                    )
                    .await?;
            }
        }
        _ => {}
    }
    Ok(())
}

impl Store {
    /// Copies the whole node from `self` to `target`, a database of the other engine
    /// with no table in it (migrated here) or only migrated (`maillage migrate`), read
    /// from one snapshot and written in one transaction; then checks row counts and
    /// keys.
    ///
    /// # Errors
    /// [`StoreError::Refused`] for the same engine, a target that holds data or has
    /// other columns than the source, a source not fully migrated, or a table this
    /// version does not know; storage failures (the target is then left as it was).
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
        let mut to = Tx::write(target).await?;
        let existing = to.table_names().await?;
        if existing.is_empty() {
            drop(to);
            target.migrate().await?;
            to = Tx::write(target).await?;
        } else if !existing.contains("_sqlx_migrations") {
            return Err(refused(format!(
                "la base cible n'est pas vide ({}, dont {}) et n'est pas une base Maillage : la copie n'écrit que dans une base vide",
                crate::domain::french::count(existing.len() as i64, "table", "tables"),
                existing
                    .iter()
                    .next()
                    .map(String::as_str)
                    .unwrap_or_default()
            )));
        }
        let mut from = Tx::snapshot(self).await?;
        let plans = plan(&mut from, &mut to).await?;
        check_unused(&mut to).await?;
        let mut counts = Vec::new();
        for plan in &plans {
            plan.copy(&mut from, &mut to).await?;
            if plan.columns.iter().any(|c| c == "id") {
                carry_sequence(&mut from, &mut to, plan.table).await?;
            }
            counts.push(TableCount {
                table: plan.table,
                source: from.count(plan.table).await?,
                target: to.count(plan.table).await?,
            });
        }
        let (different_keys, actors) = different_keys(&mut from, &mut to).await?;
        // Checked before the commit: a copy that does not match rolls back.
        let different_counts: Vec<String> = counts
            .iter()
            .filter(|count| count.source != count.target)
            .map(|count| format!("{} ({} ⇄ {})", count.table, count.source, count.target))
            .collect();
        if !different_counts.is_empty() || !different_keys.is_empty() {
            let mut problems = Vec::new();
            if !different_counts.is_empty() {
                problems.push(format!(
                    "nombres de lignes différents pour {}",
                    different_counts.join(", ")
                ));
            }
            if !different_keys.is_empty() {
                problems.push(format!(
                    "clés différentes pour {}",
                    different_keys.join(", ")
                ));
            }
            return Err(refused(format!(
                "copie annulée, rien n'est écrit dans la cible (elle peut rester migrée) : {}",
                problems.join(" ; ")
            )));
        }
        to.commit().await?;
        Ok(CopyReport {
            counts,
            same_keys: actors,
            actors,
            different_keys,
        })
    }
}

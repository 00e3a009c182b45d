//! Runs directory searches ([`SearchQuery`](crate::directory::search::SearchQuery) →
//! [`SearchPage`](crate::directory::search::SearchPage)). Filters and facets are the
//! same SQL on both engines, built in `builder.rs`; only full text differs, behind the
//! `TextSearch` trait of `fulltext.rs` (FTS5 on SQLite, `tsvector` on PostgreSQL).
//! `pages.rs` reads a page of results (relevance windows, index walks, export
//! chunks), `facets.rs` the total and facet counts; this file, the directory's
//! listings and counts.

mod builder;

pub(crate) use builder::outranked;
mod facets;
mod fulltext;
mod pages;

use chrono::{DateTime, Utc};

use super::{Store, StoreResult, on_pool};

/// Relevance is ranked, by default, within two windows split at the `WINDOW`-th most
/// recently indexed full-text match (on both engines the window counts text matches,
/// before any other filter): ranking costs a BM25 (or `ts_rank`) evaluation per ranked
/// row, so a word found in most of 100 000 actions would otherwise rank them all for
/// each page. Results list the matches of the newer window by rank, then the older ones
/// by rank; a query with fewer matches is ranked as a whole.
pub const RELEVANCE_WINDOW: i64 = 5_000;

impl Store {
    /// The directory generation: bumped by every change to what it searches.
    pub async fn directory_generation(&self) -> StoreResult<i64> {
        const SQL: &str = "SELECT generation FROM directory_state WHERE id = 1";
        Ok(on_pool!(self, pool => sqlx::query_scalar(SQL).fetch_one(pool).await?))
    }

    /// What an export's content depends on besides its query: the directory
    /// generation, the number of actors and their latest update (owners' names).
    pub async fn directory_stamp(&self) -> StoreResult<(i64, i64, Option<String>)> {
        const SQL: &str = "SELECT (SELECT generation FROM directory_state WHERE id = 1), \
             (SELECT COUNT(*) FROM actors), (SELECT CAST(MAX(updated) AS TEXT) FROM actors)";
        Ok(on_pool!(self, pool => sqlx::query_as(SQL).fetch_one(pool).await?))
    }

    /// Collectivités (local and remote `Organization` actors) with their live action
    /// counts, filtered by territory and kind, by name; without those the `admission`
    /// policy does not list (suspended, refused, pending: as the directory's actions,
    /// [`crate::db::admission::unlisted_owners`]), and without those another, verified,
    /// collectivité outranks ([`outranked`]) unless `unverified`.
    pub async fn directory_collectivites(
        &self,
        departement: Option<&str>,
        region: Option<&str>,
        kind: Option<&str>,
        unverified: bool,
        admission: crate::config::Admission,
    ) -> StoreResult<Vec<(crate::domain::Collectivite, i64)>> {
        let listed =
            crate::db::admission::unlisted_owners(admission).replacen("a.actor_id", "o.id", 1);
        let sql = format!(
            "SELECT o.*, (SELECT COUNT(*) FROM actions a WHERE a.actor_id = o.id \
             AND a.deleted_at IS NULL) AS action_count FROM actors o \
             WHERE o.actor_type = 'Organization' AND ($1 = '' OR o.departement = $1) \
             AND ($2 = '' OR o.region = $2) AND ($3 = '' OR o.kind = $3) \
             AND {listed} AND ($4 OR NOT {}) ORDER BY o.name, o.id",
            outranked("o")
        );
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            actor: crate::db::rows::ActorRow,
            action_count: i64,
        }
        let rows: Vec<Row> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(departement.unwrap_or(""))
                .bind(region.unwrap_or(""))
                .bind(kind.unwrap_or(""))
                .bind(unverified)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|row| {
                Ok((
                    crate::domain::Collectivite::try_from(row.actor)?,
                    row.action_count,
                ))
            })
            .collect()
    }

    /// Network-wide counts: nodes (domains with collectivités), collectivités, live
    /// actions, and actions carried with partners.
    pub async fn directory_counts(&self) -> StoreResult<(i64, i64, i64, i64)> {
        const SQL: &str = "SELECT \
             (SELECT COUNT(DISTINCT domain) FROM actors WHERE actor_type = 'Organization'), \
             (SELECT COUNT(*) FROM actors WHERE actor_type = 'Organization'), \
             (SELECT COUNT(*) FROM actions WHERE deleted_at IS NULL), \
             (SELECT COUNT(*) FROM actions WHERE deleted_at IS NULL AND partners <> '[]')";
        Ok(on_pool!(self, pool => sqlx::query_as(SQL).fetch_one(pool).await?))
    }

    /// Live actions first published per month (`YYYY-MM`), the last `months` months,
    /// oldest first.
    pub async fn actions_per_month(&self, months: i64) -> StoreResult<Vec<(String, i64)>> {
        const SQL: &str =
            "SELECT published FROM actions WHERE deleted_at IS NULL AND published >= $1";
        let since = Utc::now() - chrono::Duration::days(31 * months);
        let dates: Vec<DateTime<Utc>> = on_pool!(self, pool => {
            sqlx::query_scalar(SQL).bind(since).fetch_all(pool).await?
        });
        let mut counts = std::collections::BTreeMap::new();
        for date in dates {
            *counts.entry(date.format("%Y-%m").to_string()).or_insert(0) += 1;
        }
        Ok(counts.into_iter().collect())
    }
}

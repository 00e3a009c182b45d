//! "Projets proches" (issue 18): the actions of other collectivités closest to one
//! action, ranked in one statement. Candidates are the newest [`NEARBY_WINDOW`]
//! full-text matches of any word of the action's title and summary, and the newest
//! [`NEARBY_WINDOW`] actions of each of its themes; each is ranked by the number of
//! themes it shares, then by text similarity (BM25 on SQLite, `ts_rank` on
//! PostgreSQL: 0 outside the text window), then by date of update. Only the text
//! source differs per engine ([`text_source`]). Blocked domains are left to the caller
//! (they live in memory, see [`crate::state::Blocks`]).

use super::{Engine, Store, StoreResult, on_pool};
use crate::directory::text;
use crate::domain::Action;

/// Candidates read from each source at most: the newest text matches, and the newest
/// actions of each theme. Bounds the cost of a call whatever the size of the
/// directory (measured at 100 000 actions in docs/benchmarks.md); the best of older
/// actions is not looked for.
pub const NEARBY_WINDOW: i64 = 1_000;

/// A ranked candidate: the action's database id and its owner's actor id.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NearbyCandidate {
    /// Database id of the action.
    pub id: i64,
    /// ActivityPub id of its owner (checked against blocks by the caller).
    pub owner_ap_id: String,
}

/// The `(id, score)` rows of the newest `window` text matches of the words at `p`.
fn text_source(engine: Engine, p: &str, window: &str) -> String {
    match engine {
        // BM25 (`rank`) is lower for better matches, computed only for the rows the
        // window returns (FTS5 walks matches by descending rowid).
        Engine::Sqlite => format!(
            "SELECT fts_id AS id, -fts_rank AS score FROM (SELECT rowid AS fts_id, \
             rank AS fts_rank FROM actions_fts WHERE actions_fts MATCH {p} \
             ORDER BY rowid DESC LIMIT {window})"
        ),
        // `ts_rank` outside the limited subquery, so that only the window is ranked.
        Engine::Postgres => format!(
            "SELECT id, ts_rank(vector, websearch_to_tsquery('french', maillage_unaccent({p}))) \
             AS score FROM (SELECT action_id AS id, vector FROM action_search \
             WHERE vector @@ websearch_to_tsquery('french', maillage_unaccent({p})) \
             ORDER BY action_id DESC LIMIT {window}) w"
        ),
    }
}

impl Store {
    /// The best candidates near `action` by other collectivités (live actions of owners
    /// `admission` lists only),
    /// best first, at most `limit`. Empty when the action has neither themes nor words.
    pub async fn nearby_candidates(
        &self,
        action: &Action,
        limit: i64,
        admission: crate::config::Admission,
    ) -> StoreResult<Vec<NearbyCandidate>> {
        let engine = self.engine();
        let words = text::nearby_words(&action.data.name, action.data.summary.as_deref());
        let expression = match engine {
            Engine::Sqlite => text::fts5_any(&words),
            Engine::Postgres => text::tsquery_any(&words),
        };
        let themes: Vec<String> = action.data.themes.iter().map(|t| t.to_string()).collect();
        // $1 the owner, $2 the window, $3 the limit, then the words, then the themes.
        let mut args: Vec<String> = Vec::new();
        let mut sources = Vec::new();
        if let Some(expression) = expression {
            args.push(expression);
            sources.push(text_source(engine, &format!("${}", args.len() + 3), "$2"));
        }
        let first_theme = args.len() + 4;
        for theme in &themes {
            args.push(theme.clone());
            sources.push(format!(
                "SELECT id, CAST(0 AS REAL) AS score FROM (SELECT action_id AS id FROM action_themes \
                 WHERE theme = ${} ORDER BY action_id DESC LIMIT $2) t{}",
                args.len() + 3,
                args.len()
            ));
        }
        if sources.is_empty() {
            return Ok(Vec::new());
        }
        // Without themes, none is shared: text and recency alone (a constant would be
        // read as a column number in `ORDER BY`).
        let shared = if themes.is_empty() {
            String::new()
        } else {
            let list = (first_theme..first_theme + themes.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "(SELECT COUNT(*) FROM action_themes t WHERE t.action_id = a.id \
                 AND t.theme IN ({list})) DESC, "
            )
        };
        let union = sources.join(" UNION ALL ");
        let listed = super::admission::unlisted_owners(admission);
        let sql = format!(
            "SELECT a.id AS id, o.ap_id AS owner_ap_id FROM \
             (SELECT id, MAX(score) AS score FROM ({union}) s GROUP BY id) c \
             JOIN actions a ON a.id = c.id JOIN actors o ON o.id = a.actor_id \
             WHERE a.deleted_at IS NULL AND a.actor_id <> $1 AND {listed} \
             ORDER BY {shared}c.score DESC, a.updated DESC, a.id DESC LIMIT $3"
        );
        // Planned with its values on PostgreSQL, as searches are (see db::search).
        let keep = engine == Engine::Sqlite;
        Ok(on_pool!(self, pool => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(action.owner.id)
                .bind(NEARBY_WINDOW)
                .bind(limit);
            for arg in &args {
                query = query.bind(arg.clone());
            }
            query.persistent(keep).fetch_all(pool).await?
        }))
    }
}

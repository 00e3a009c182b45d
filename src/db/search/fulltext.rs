//! Full text, the one part of a directory search that differs between engines, behind
//! one trait: [`TextSearch`], implemented by [`Fts5`] (SQLite: the `actions_fts` FTS5
//! table, `MATCH`, BM25 `rank`, `remove_diacritics`) and [`TsVector`] (PostgreSQL: the
//! narrow `action_search` table, `tsvector @@ tsquery` with `unaccent` and the `french`
//! configuration, `ts_rank`). Tokens come from [`text`] for both, so a query means the
//! same on each. [`full_text`] is the one place the engine is matched.
//!
//! On PostgreSQL, search statements are not kept prepared ([`TextSearch::keeps_plans`]):
//! each is planned with its values, so the planner estimates a word's matches from its
//! statistics and folds `plainto_tsquery(…)` into a constant, where the generic plan of a
//! cached statement evaluated it again for every ranked row. SQLite plans without the
//! values anyway and keeps its prepared statements.

use super::builder::{FullText, LIVE, Sql, Window};
use crate::db::Engine;
use crate::directory::text;

/// An engine's full-text search.
pub(super) trait TextSearch: Sync {
    /// The engine's query text for the words of `query`, or `None` when it has none
    /// (punctuation only).
    fn expression(&self, query: &str) -> Option<String>;

    /// The text matches as `a` (joined with `actions` when needed), and the condition
    /// keeping the live ones when the source holds others; BM25 or `ts_rank` read only
    /// when `ranked`.
    fn source(&self, sql: &Sql, text: &FullText, ranked: bool) -> (String, Option<&'static str>);

    /// The order by relevance, best first.
    fn rank(&self, sql: &Sql, text: &FullText) -> String;

    /// The id of the n-th newest match of `$1` (`OFFSET $2`).
    fn window_probe(&self) -> &'static str;

    /// Whether search statements stay prepared (see the module's notes).
    fn keeps_plans(&self) -> bool;

    /// Whether a ranked page with other conditions bounds its newer window by id first
    /// (see `Store::page`): ranking runs before the other conditions.
    fn bounds_window_first(&self) -> bool;

    /// Whether a page sorted by date or name may walk the order's index of `actions`
    /// (see `Store::ordered_scan`); a planner that chooses itself needs no hint.
    fn walks_order_indexes(&self) -> bool;
}

/// SQLite full text: the FTS5 index joined by rowid; `rank` orders by BM25.
pub(super) struct Fts5;

/// PostgreSQL full text: `action_search` (a `tsvector` per live action, kept by a
/// trigger) against a `french` `tsquery`.
pub(super) struct TsVector;

/// The full text of `engine`.
pub(super) fn full_text(engine: Engine) -> &'static dyn TextSearch {
    match engine {
        Engine::Sqlite => &Fts5,
        Engine::Postgres => &TsVector,
    }
}

impl TextSearch for Fts5 {
    fn expression(&self, query: &str) -> Option<String> {
        text::fts5_query(query)
    }

    fn source(&self, _sql: &Sql, text: &FullText, ranked: bool) -> (String, Option<&'static str>) {
        let p = &text.param;
        // The FTS5 matches as the outer loop (`CROSS JOIN`): with a second filter,
        // SQLite's planner would otherwise re-run the `MATCH` for every action the
        // other filter selects (19 s instead of 20 ms for
        // `q=donnees&theme=services-publics` at 100 000 actions). BM25 (`rank`)
        // only when `ranked`: computing it costs, and counts need none.
        let rank = if ranked { ", rank AS fts_rank" } else { "" };
        let window = match &text.window {
            Window::All => String::new(),
            Window::Newest(n) => format!(" ORDER BY rowid DESC LIMIT {n}"),
            Window::Newer(bound) => format!(" AND rowid >= {bound}"),
            Window::Older(bound) => format!(" AND rowid < {bound}"),
        };
        let source = format!(
            "(SELECT rowid AS fts_id{rank} FROM actions_fts \
                 WHERE actions_fts MATCH {p}{window}) f CROSS JOIN actions a ON a.id = f.fts_id"
        );
        (source, LIVE)
    }

    fn rank(&self, _sql: &Sql, _text: &FullText) -> String {
        "f.fts_rank ASC".into()
    }

    fn window_probe(&self) -> &'static str {
        "SELECT rowid FROM actions_fts WHERE actions_fts MATCH $1 \
                 ORDER BY rowid DESC LIMIT 1 OFFSET $2"
    }

    fn keeps_plans(&self) -> bool {
        true
    }

    fn bounds_window_first(&self) -> bool {
        true
    }

    fn walks_order_indexes(&self) -> bool {
        true
    }
}

impl TextSearch for TsVector {
    fn expression(&self, query: &str) -> Option<String> {
        text::tsquery(query)
    }

    fn source(&self, sql: &Sql, text: &FullText, _ranked: bool) -> (String, Option<&'static str>) {
        let p = &text.param;
        // `action_search` holds live actions only, ~15 to a page: read alone (as
        // `a`) unless a condition or the order needs more of the action.
        let window = match &text.window {
            Window::All => String::new(),
            Window::Newest(n) => format!(" ORDER BY action_id DESC LIMIT {n}"),
            Window::Newer(bound) => format!(" AND action_id >= {bound}"),
            Window::Older(bound) => format!(" AND action_id < {bound}"),
        };
        let matches = format!(
            "(SELECT action_id AS id, updated, phase, vector FROM action_search \
                 WHERE vector @@ {}{window})",
            tsquery(p)
        );
        if sql.joins_action() {
            (format!("{matches} s JOIN actions a ON a.id = s.id"), LIVE)
        } else {
            (format!("{matches} a"), None)
        }
    }

    fn rank(&self, sql: &Sql, text: &FullText) -> String {
        let alias = if sql.joins_action() { "s" } else { "a" };
        format!("ts_rank({alias}.vector, {}) DESC", tsquery(&text.param))
    }

    fn window_probe(&self) -> &'static str {
        "SELECT action_id FROM action_search \
                 WHERE vector @@ plainto_tsquery('french', maillage_unaccent($1)) \
                 ORDER BY action_id DESC LIMIT 1 OFFSET $2"
    }

    fn keeps_plans(&self) -> bool {
        false
    }

    fn bounds_window_first(&self) -> bool {
        false
    }

    fn walks_order_indexes(&self) -> bool {
        false
    }
}

/// The `tsquery` of the words bound at placeholder `p`.
fn tsquery(p: &str) -> String {
    format!("plainto_tsquery('french', maillage_unaccent({p}))")
}

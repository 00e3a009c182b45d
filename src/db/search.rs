//! Runs directory searches ([`SearchQuery`] → [`SearchPage`]). Filters and facets are
//! the same SQL on both engines; only full text differs, in two named functions:
//! [`fts_sqlite`] (FTS5 `MATCH`, `rank`) and [`fts_postgres`] (`tsvector @@ tsquery`
//! over the `action_search` table, with `unaccent` and the `french` configuration,
//! `ts_rank`). Tokens come from [`text`] for both, so a query means the same on each.
//!
//! On PostgreSQL, search statements are not kept prepared ([`keeps_plans`]):
//! each is planned with its values, so the planner estimates a word's matches from its
//! statistics and folds `plainto_tsquery(…)` into a constant, where the generic plan of a
//! cached statement evaluated it again for every ranked row. SQLite plans without the
//! values anyway and keeps its prepared statements.

use chrono::{DateTime, Utc};

use super::rows::ActionRow;
use super::{Engine, Store, StoreResult, on_pool};
use crate::directory::search::{Facet, Facets, SearchPage, SearchQuery, Sort};
use crate::directory::text;
use crate::domain::Action;
use crate::referential::Referential;
use crate::taxonomy::Taxonomy;

/// A bound value of a dynamically built query.
#[derive(Debug, Clone)]
enum Arg {
    Text(String),
    Int(i64),
    Float(f64),
    Time(DateTime<Utc>),
}

/// Which full-text matches a query reads (see [`RELEVANCE_WINDOW`]); the strings are
/// placeholders.
#[derive(Debug, Clone)]
enum Window {
    /// Every match.
    All,
    /// The newest matches (by action id), this many.
    Newest(String),
    /// The matches from this action id on.
    Newer(String),
    /// The matches older than this action id.
    Older(String),
}

/// The full-text part of a query.
#[derive(Debug, Clone)]
struct FullText {
    /// The placeholder of the engine's query text.
    param: String,
    /// The query text itself (FTS5 `MATCH` expression, or `tsquery` words), for probes.
    expression: String,
    /// The matches read.
    window: Window,
}

/// SQL text with `$n` placeholders and the values bound to them, in order.
#[derive(Debug, Clone)]
struct Sql {
    engine: Engine,
    /// Conditions on the action `a` (and its owner `o`); liveness is added by
    /// [`Sql::filter_ids`].
    conditions: Vec<String>,
    args: Vec<Arg>,
    text: Option<FullText>,
    /// A condition reads the owner (`o.`): its join is needed to find ids too.
    needs_owner: bool,
    /// A condition or the order reads a column of `actions` that PostgreSQL's
    /// `action_search` lacks (it has `id`, `updated` and `phase`).
    needs_action: bool,
    /// SQLite: walk this index of `actions` in the order of results and keep the
    /// matching actions, instead of sorting every match (see [`Store::page`]).
    ordered_by: Option<&'static str>,
}

impl Sql {
    fn new(engine: Engine) -> Self {
        Sql {
            engine,
            conditions: Vec::new(),
            args: Vec::new(),
            text: None,
            needs_owner: false,
            needs_action: false,
            ordered_by: None,
        }
    }

    fn arg(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    fn text(&mut self, value: &str) -> String {
        self.arg(Arg::Text(value.to_string()))
    }

    fn list(&mut self, values: impl IntoIterator<Item = String>) -> String {
        values
            .into_iter()
            .map(|v| self.text(&v))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `FROM … WHERE …` of the matching actions, joined with their owner only when a
    /// condition needs it, with the full-text rank only when `ranked` (to order by it).
    fn filter_ids(&self, ranked: bool) -> String {
        let (source, live) = self.source(ranked);
        let owner = if self.needs_owner {
            " JOIN actors o ON o.id = a.actor_id"
        } else {
            ""
        };
        let conditions: Vec<&str> = live
            .into_iter()
            .chain(self.conditions.iter().map(String::as_str))
            .collect();
        let conditions = if conditions.is_empty() {
            "TRUE".to_string()
        } else {
            conditions.join(" AND ")
        };
        format!("FROM {source}{owner} WHERE {conditions}")
    }

    /// The actions searched, as `a`, and the condition keeping the live ones when the
    /// source holds others.
    fn source(&self, ranked: bool) -> (String, Option<&'static str>) {
        const LIVE: Option<&str> = Some("a.deleted_at IS NULL");
        let Some(text) = &self.text else {
            let source = match self.ordered_by {
                Some(index) => format!("actions a INDEXED BY {index}"),
                None => "actions a".into(),
            };
            return (source, LIVE);
        };
        let p = &text.param;
        match self.engine {
            // The FTS5 matches as the outer loop (`CROSS JOIN`): with a second filter,
            // SQLite's planner would otherwise re-run the `MATCH` for every action the
            // other filter selects (19 s instead of 20 ms for
            // `q=donnees&theme=services-publics` at 100 000 actions). BM25 (`rank`)
            // only when `ranked`: computing it costs, and counts need none.
            Engine::Sqlite => {
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
            // `action_search` holds live actions only, ~15 to a page: read alone (as
            // `a`) unless a condition or the order needs more of the action.
            Engine::Postgres => {
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
                if self.joins_action() {
                    (format!("{matches} s JOIN actions a ON a.id = s.id"), LIVE)
                } else {
                    (format!("{matches} a"), None)
                }
            }
        }
    }

    /// PostgreSQL full text reads `actions` too.
    fn joins_action(&self) -> bool {
        self.needs_action || self.needs_owner
    }

    /// The order by relevance, best first, when the query has text.
    fn rank(&self) -> Option<String> {
        let text = self.text.as_ref()?;
        Some(match self.engine {
            Engine::Sqlite => "f.fts_rank ASC".into(),
            Engine::Postgres => {
                let alias = if self.joins_action() { "s" } else { "a" };
                format!("ts_rank({alias}.vector, {}) DESC", tsquery(&text.param))
            }
        })
    }

    /// True when the query only asks for live actions: the index tables hold live
    /// actions only (rows are cleared on delete), so facets need no id filter.
    fn matches_all_live(&self) -> bool {
        self.text.is_none() && self.conditions.is_empty()
    }

    /// This query reading only the `window` (see [`RELEVANCE_WINDOW`]).
    fn windowed(&self, window: impl FnOnce(&mut Sql) -> Window) -> Sql {
        let mut sql = self.clone();
        let window = window(&mut sql);
        if let Some(text) = &mut sql.text {
            text.window = window;
        }
        sql
    }
}

/// The `tsquery` of the words bound at placeholder `p`.
fn tsquery(p: &str) -> String {
    format!("plainto_tsquery('french', maillage_unaccent({p}))")
}

/// Whether the engine keeps search statements prepared (see the module's notes).
fn keeps_plans(engine: Engine) -> bool {
    engine == Engine::Sqlite
}

/// SQLite full text: the FTS5 index joined by rowid; `rank` orders by BM25.
fn fts_sqlite(sql: &mut Sql, query: &str) -> bool {
    let Some(expression) = text::fts5_query(query) else {
        return false;
    };
    let param = sql.text(&expression);
    sql.text = Some(FullText {
        param,
        expression,
        window: Window::All,
    });
    true
}

/// Relevance is ranked, by default, within two windows split at the `WINDOW`-th most
/// recently indexed full-text match (on both engines the window counts text matches,
/// before any other filter): ranking costs a BM25 (or `ts_rank`) evaluation per ranked
/// row, so a word found in most of 100 000 actions would otherwise rank them all for
/// each page. Results list the matches of the newer window by rank, then the older ones
/// by rank; a query with fewer matches is ranked as a whole.
pub const RELEVANCE_WINDOW: i64 = 5_000;

/// PostgreSQL full text: `action_search` (a `tsvector` per live action, kept by a
/// trigger) against a `french` `tsquery`.
fn fts_postgres(sql: &mut Sql, query: &str) -> bool {
    let Some(expression) = text::tsquery(query) else {
        return false;
    };
    let param = sql.text(&expression);
    sql.text = Some(FullText {
        param,
        expression,
        window: Window::All,
    });
    true
}

fn build(engine: Engine, query: &SearchQuery) -> Option<Sql> {
    let mut sql = Sql::new(engine);
    if let Some(q) = &query.q {
        let usable = match engine {
            Engine::Sqlite => fts_sqlite(&mut sql, q),
            Engine::Postgres => fts_postgres(&mut sql, q),
        };
        if !usable {
            // A query with no word (punctuation only) matches nothing.
            return None;
        }
    }
    if matches!(query.effective_sort(), Sort::Name) {
        sql.needs_action = true;
    }
    // SQLite reads the matches through the first `a.id IN (…)` list and checks the
    // others action by action: the usually narrowest lists come first, themes (a twelfth
    // of the directory each, or more) last. `phase=service&theme=culture&departement=13`
    // at 100 000 actions: 1.8 ms instead of 13.6 ms. PostgreSQL's planner orders them.
    let place = |sql: &mut Sql, column: &str, value: Option<String>| {
        if let Some(value) = value {
            let p = sql.text(&value);
            sql.conditions.push(format!(
                "a.id IN (SELECT action_id FROM action_places WHERE {column} = {p})"
            ));
        }
    };
    place(
        &mut sql,
        "insee",
        query.insee.as_ref().map(|v| v.to_string()),
    );
    place(&mut sql, "epci", query.epci.as_ref().map(|v| v.to_string()));
    if let Some([min_lon, min_lat, max_lon, max_lat]) = query.bbox {
        let (a, b, c, d) = (
            sql.arg(Arg::Float(min_lon)),
            sql.arg(Arg::Float(max_lon)),
            sql.arg(Arg::Float(min_lat)),
            sql.arg(Arg::Float(max_lat)),
        );
        sql.conditions.push(format!(
            "a.id IN (SELECT action_id FROM action_places WHERE lon BETWEEN {a} AND {b} AND lat BETWEEN {c} AND {d})"
        ));
    }
    place(&mut sql, "departement", query.departement.clone());
    place(&mut sql, "region", query.region.clone());
    if let Some(provider) = &query.provider {
        let compact: String = provider.chars().filter(|c| !c.is_whitespace()).collect();
        let (key, raw) = (sql.text(&text::fold(provider)), sql.text(&compact));
        sql.conditions.push(format!(
            "a.id IN (SELECT action_id FROM action_providers WHERE name_key = {key} OR siren = {raw})"
        ));
    }
    if let Some(software) = &query.software {
        let (key, raw) = (sql.text(&text::fold(software)), sql.text(software));
        sql.conditions.push(format!(
            "a.id IN (SELECT action_id FROM action_software WHERE name_key = {key} \
             OR sill_id = {raw} OR comptoir_id = {raw} OR wikidata = {raw})"
        ));
    }
    if !query.themes.is_empty() {
        let list = sql.list(query.themes.iter().map(|t| t.to_string()));
        sql.conditions.push(format!(
            "a.id IN (SELECT action_id FROM action_themes WHERE theme IN ({list}))"
        ));
    }
    if !query.phases.is_empty() {
        let list = sql.list(query.phases.iter().map(|p| p.as_str().to_string()));
        sql.conditions.push(format!("a.phase IN ({list})"));
    }
    if !query.statuses.is_empty() {
        let list = sql.list(query.statuses.iter().map(|s| s.as_str().to_string()));
        sql.conditions.push(format!("a.status IN ({list})"));
        sql.needs_action = true;
    }
    if let Some(who) = &query.collectivite {
        if who.starts_with("http://") || who.starts_with("https://") {
            let p = sql.text(who);
            sql.conditions.push(format!("o.ap_id = {p}"));
            sql.needs_owner = true;
        } else {
            let (user, domain) = who.split_once('@').unwrap_or((who, ""));
            let (u, d) = (
                sql.text(&user.to_lowercase()),
                sql.text(&domain.to_lowercase()),
            );
            sql.conditions.push(format!(
                "(o.username = {u} AND ({d} = '' OR o.domain = {d}))"
            ));
            sql.needs_owner = true;
        }
    }
    if query.partnered {
        sql.conditions.push("a.partners <> '[]'".into());
        sql.needs_action = true;
    }
    if query.open_to_partners {
        sql.conditions.push("a.open_to_partners = TRUE".into());
        sql.needs_action = true;
    }
    if let Some(since) = query.updated_since {
        let p = sql.arg(Arg::Time(since));
        sql.conditions.push(format!("a.updated >= {p}"));
    }
    Some(sql)
}

/// Binds `args` in order to a query of either engine.
macro_rules! bind_args {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                Arg::Text(v) => query.bind(v.clone()),
                Arg::Int(v) => query.bind(*v),
                Arg::Float(v) => query.bind(*v),
                Arg::Time(v) => query.bind(*v),
            };
        }
        query
    }};
}

impl Store {
    /// Runs a directory search: one page of actions, the total and the facets.
    pub async fn search_actions(&self, query: &SearchQuery) -> StoreResult<SearchPage> {
        self.search_actions_with(query, None).await
    }

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

    /// [`Store::search_actions`], reusing the total and facets of the same query when
    /// `known` gives them (cached for the current generation).
    pub async fn search_actions_with(
        &self,
        query: &SearchQuery,
        known: Option<(i64, Facets)>,
    ) -> StoreResult<SearchPage> {
        let Some(sql) = build(self.engine(), query) else {
            return Ok(SearchPage {
                items: Vec::new(),
                total: 0,
                facets: Facets::default(),
                next: None,
            });
        };
        let (total, facets) = match known {
            Some(known) => known,
            None => self.counts(&sql).await?,
        };
        let items = self
            .page(&sql, query, query.limit, query.offset, Some(total))
            .await?;
        let next = (query.offset + (items.len() as i64) < total
            && query.offset + query.limit <= crate::directory::search::MAX_CURSOR)
            .then(|| (query.offset + query.limit).to_string());
        Ok(SearchPage {
            items,
            total,
            facets,
            next,
        })
    }

    /// Every action matching `query`, in its order, at most `cap` (the Atom feed).
    pub async fn search_all(&self, query: &SearchQuery, cap: i64) -> StoreResult<Vec<Action>> {
        let Some(sql) = build(self.engine(), query) else {
            return Ok(Vec::new());
        };
        let mut all = Vec::new();
        loop {
            let chunk = (cap - all.len() as i64).min(500);
            if chunk <= 0 {
                return Ok(all);
            }
            let page = self
                .page(&sql, query, chunk, all.len() as i64, None)
                .await?;
            let done = (page.len() as i64) < chunk;
            all.extend(page);
            if done {
                return Ok(all);
            }
        }
    }

    /// One chunk of an export: at most `limit` actions matching `query` whose id is
    /// below `before` (from the newest when `None`), by id descending. An export walks
    /// these chunks (keyset pagination: each chunk is one short statement, so no
    /// connection or snapshot is held while the client reads), whatever the query's
    /// `sort`.
    pub async fn export_chunk(
        &self,
        query: &SearchQuery,
        before: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<Action>> {
        let Some(mut sql) = build(self.engine(), query) else {
            return Ok(Vec::new());
        };
        if let Some(before) = before {
            // Bounded inside the full-text matches too, so that each chunk reads only
            // the matches left.
            if sql.text.is_some() {
                sql = sql.windowed(|sql| Window::Older(sql.arg(Arg::Int(before))));
            }
            let p = sql.arg(Arg::Int(before));
            sql.conditions.push(format!("a.id < {p}"));
        }
        self.rows_in_order(&sql, "a.id DESC", limit, 0).await
    }

    /// One page of results of a built query, relevance ranked per [`RELEVANCE_WINDOW`].
    /// `total`, the number of matches when known, lets SQLite choose how to sort.
    async fn page(
        &self,
        sql: &Sql,
        query: &SearchQuery,
        limit: i64,
        offset: i64,
        total: Option<i64>,
    ) -> StoreResult<Vec<Action>> {
        let ranked = matches!(query.effective_sort(), Sort::Relevance) && sql.text.is_some();
        if !ranked {
            let sql = self.ordered_scan(sql, query, limit + offset, total).await?;
            return self.page_in(&sql, query, limit, offset).await;
        }
        let window = match query.relevance_window {
            n if n > 0 => n,
            _ => RELEVANCE_WINDOW,
        };
        // The newer window first: the `window` newest text matches, then the other
        // conditions, ranked, in one statement (FTS5 walks its matches by descending
        // rowid; PostgreSQL reads `action_search` backwards or sorts the matches' ids).
        // SQLite computes BM25 for every row such a window returns, before the other
        // conditions: when there are some, the window is bounded by rowid instead
        // (probed first), so that only the rows passing them are ranked.
        let bound_first = sql.engine == Engine::Sqlite && !sql.conditions.is_empty();
        let mut bound = None;
        let newest = if bound_first {
            bound = self.window_bound(sql, window).await?;
            match bound {
                Some(bound) => sql.windowed(|sql| Window::Newer(sql.arg(Arg::Int(bound)))),
                None => sql.clone(),
            }
        } else {
            sql.windowed(|sql| Window::Newest(sql.arg(Arg::Int(window))))
        };
        let mut items = self.page_in(&newest, query, limit, offset).await?;
        let missing = limit - items.len() as i64;
        if missing <= 0 {
            return Ok(items);
        }
        // Past the newer window: the id of the WINDOW-th newest text match, if there
        // are that many (otherwise the newer window held every match).
        if !bound_first {
            bound = self.window_bound(sql, window).await?;
        }
        let Some(bound) = bound else {
            return Ok(items);
        };
        // How many results the newer window holds: known when this page ended inside
        // it; otherwise counted (the other conditions may thin its matches out).
        let in_newer: i64 = if !items.is_empty() {
            offset + items.len() as i64
        } else {
            let text = format!("SELECT COUNT(*) {}", newest.filter_ids(false));
            let keep = keeps_plans(sql.engine);
            on_pool!(self, pool => {
                bind_args!(sqlx::query_scalar(sqlx::AssertSqlSafe(text)), &newest.args)
                    .persistent(keep)
                    .fetch_one(pool)
                    .await?
            })
        };
        let older = sql.windowed(|sql| Window::Older(sql.arg(Arg::Int(bound))));
        let skip = (offset - in_newer).max(0);
        items.extend(self.page_in(&older, query, missing, skip).await?);
        Ok(items)
    }

    /// The id of the `window`-th newest text match of `sql`, if there are that many.
    async fn window_bound(&self, sql: &Sql, window: i64) -> StoreResult<Option<i64>> {
        let Some(text) = &sql.text else {
            return Ok(None);
        };
        let probe = match sql.engine {
            Engine::Sqlite => {
                "SELECT rowid FROM actions_fts WHERE actions_fts MATCH $1 \
                 ORDER BY rowid DESC LIMIT 1 OFFSET $2"
            }
            Engine::Postgres => {
                "SELECT action_id FROM action_search \
                 WHERE vector @@ plainto_tsquery('french', maillage_unaccent($1)) \
                 ORDER BY action_id DESC LIMIT 1 OFFSET $2"
            }
        };
        let keep = keeps_plans(sql.engine);
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(probe)
                .bind(&text.expression)
                .bind(window - 1)
                .persistent(keep)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// SQLite, sorted by date or name without text: `sql` walking the order's index
    /// (`actions_updated`, `actions_name`) when matches are common enough for the first
    /// `needed` of them to come soon; otherwise `sql` as it is, which reads the
    /// matches through the most selective filter and sorts them. Walking reads about
    /// `needed × actions / total` index entries (0.2 µs each at 100 000 actions: 16 ms
    /// for all), sorting about `total` rows (1 µs each): `theme=education` (15 638
    /// matches) sorted in 16 ms, walks in 1 ms; `phase=service&theme=culture&
    /// departement=13` (18) is sorted. PostgreSQL's planner makes this choice itself.
    async fn ordered_scan(
        &self,
        sql: &Sql,
        query: &SearchQuery,
        needed: i64,
        total: Option<i64>,
    ) -> StoreResult<Sql> {
        let index = match query.effective_sort() {
            Sort::Updated => "actions_updated",
            Sort::Name => "actions_name",
            Sort::Relevance => return Ok(sql.clone()),
        };
        let (Engine::Sqlite, None, Some(total)) = (sql.engine, &sql.text, total) else {
            return Ok(sql.clone());
        };
        if total == 0 || sql.needs_owner {
            return Ok(sql.clone());
        }
        const ROWS: &str = "SELECT COALESCE(MAX(id), 0) FROM actions";
        let rows: i64 = on_pool!(self, pool => sqlx::query_scalar(ROWS).fetch_one(pool).await?);
        // Walk when it reads fewer entries than four times the rows a sort reads.
        let walked = needed as f64 * rows as f64 / total as f64;
        if walked > 4.0 * total as f64 {
            return Ok(sql.clone());
        }
        let mut sql = sql.clone();
        sql.ordered_by = Some(index);
        Ok(sql)
    }

    /// One page of a built query, in the query's order.
    async fn page_in(
        &self,
        sql: &Sql,
        query: &SearchQuery,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<Action>> {
        let order = match query.effective_sort() {
            Sort::Relevance => sql
                .rank()
                .map(|r| format!("{r}, a.updated DESC, a.id DESC")),
            Sort::Updated => None,
            Sort::Name => Some("a.name ASC, a.id ASC".into()),
        }
        .unwrap_or_else(|| "a.updated DESC, a.id DESC".into());
        self.rows_in_order(sql, &order, limit, offset).await
    }

    /// The actions of a built query in `order`, `limit` from `offset`.
    async fn rows_in_order(
        &self,
        sql: &Sql,
        order: &str,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<Action>> {
        // Sort ids only, then read the page's rows: sorting whole rows (content
        // included) of a broad result set costs far more than the sort itself.
        let mut sql = sql.clone();
        let filter = sql.filter_ids(true);
        let limit = sql.arg(Arg::Int(limit));
        let offset = sql.arg(Arg::Int(offset));
        let text = format!("SELECT a.id {filter} ORDER BY {order} LIMIT {limit} OFFSET {offset}");
        let keep = keeps_plans(sql.engine);
        let ids: Vec<i64> = on_pool!(self, pool => {
            bind_args!(sqlx::query_scalar(sqlx::AssertSqlSafe(text)), &sql.args)
                .persistent(keep)
                .fetch_all(pool)
                .await?
        });
        self.actions_in_order(&ids).await
    }

    /// The actions of `ids` joined with their owner, in the order of `ids` (an id
    /// without a row is left out).
    pub async fn actions_in_order(&self, ids: &[i64]) -> StoreResult<Vec<Action>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = (1..=ids.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let text = format!(
            "SELECT a.*, o.ap_id AS owner_ap_id, o.username AS owner_username, \
             o.domain AS owner_domain, o.name AS owner_name, o.local AS owner_local \
             FROM actions a JOIN actors o ON o.id = a.actor_id WHERE a.id IN ({list})"
        );
        let rows: Vec<ActionRow> = on_pool!(self, pool => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(text));
            for id in ids {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await?
        });
        let mut actions = rows
            .into_iter()
            .map(Action::try_from)
            .collect::<StoreResult<Vec<_>>>()?;
        let position = |action: &Action| ids.iter().position(|id| *id == action.db_id);
        actions.sort_by_key(position);
        Ok(actions)
    }

    /// Collectivités (local and remote `Organization` actors) with their live action
    /// counts, filtered by territory and kind, by name.
    pub async fn directory_collectivites(
        &self,
        departement: Option<&str>,
        region: Option<&str>,
        kind: Option<&str>,
    ) -> StoreResult<Vec<(crate::domain::Collectivite, i64)>> {
        const SQL: &str = "SELECT o.*, (SELECT COUNT(*) FROM actions a WHERE a.actor_id = o.id \
             AND a.deleted_at IS NULL) AS action_count FROM actors o \
             WHERE o.actor_type = 'Organization' AND ($1 = '' OR o.departement = $1) \
             AND ($2 = '' OR o.region = $2) AND ($3 = '' OR o.kind = $3) ORDER BY o.name, o.id";
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            actor: super::rows::ActorRow,
            action_count: i64,
        }
        let rows: Vec<Row> = on_pool!(self, pool => {
            sqlx::query_as(SQL)
                .bind(departement.unwrap_or(""))
                .bind(region.unwrap_or(""))
                .bind(kind.unwrap_or(""))
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

    /// The total and the facet counts of a built query.
    async fn counts(&self, sql: &Sql) -> StoreResult<(i64, Facets)> {
        let filter = sql.filter_ids(false);
        let referential = Referential::global();
        let taxonomy = Taxonomy::global();
        let label_theme = |key: &str| {
            taxonomy
                .theme(key)
                .map(|t| t.label.clone())
                .unwrap_or_default()
        };
        let label_phase = |key: &str| {
            crate::domain::Phase::parse(key)
                .map(|p| p.label().to_string())
                .unwrap_or_default()
        };
        let label_dep = |key: &str| {
            referential
                .departement(key)
                .map(|d| d.nom.clone())
                .unwrap_or_default()
        };
        let label_reg = |key: &str| {
            referential
                .region(key)
                .map(|r| r.nom.clone())
                .unwrap_or_default()
        };
        let to_facets = |rows: Vec<(String, i64)>, label: &dyn Fn(&str) -> String| {
            let mut facets: Vec<Facet> = rows
                .into_iter()
                .map(|(key, count)| Facet {
                    label: label(&key),
                    key,
                    count,
                })
                .collect();
            facets.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
            facets
        };
        // One statement: the matching ids are found once (`hits`) and every count
        // reads them; index tables hold live actions only, so with no condition but
        // liveness they are counted whole.
        let within = if sql.matches_all_live() {
            ""
        } else {
            "AND action_id IN (SELECT id FROM hits)"
        };
        let text = format!(
            "WITH hits AS MATERIALIZED (SELECT a.id AS id, a.phase AS phase {filter}) \
             SELECT 'total' AS facet, '' AS key, COUNT(*) AS n FROM hits \
             UNION ALL SELECT 'phase', phase, COUNT(*) FROM hits GROUP BY phase \
             UNION ALL SELECT 'theme', theme, COUNT(*) FROM action_themes \
               WHERE TRUE {within} GROUP BY theme \
             UNION ALL SELECT 'departement', departement, COUNT(DISTINCT action_id) \
               FROM action_places WHERE departement IS NOT NULL {within} GROUP BY departement \
             UNION ALL SELECT 'region', region, COUNT(DISTINCT action_id) \
               FROM action_places WHERE region IS NOT NULL {within} GROUP BY region \
             UNION ALL SELECT 'software', MIN(name), COUNT(DISTINCT action_id) \
               FROM action_software WHERE TRUE {within} GROUP BY name_key \
             UNION ALL SELECT 'provider', MIN(name), COUNT(DISTINCT action_id) \
               FROM action_providers WHERE TRUE {within} GROUP BY name_key"
        );
        let keep = keeps_plans(sql.engine);
        let rows: Vec<(String, String, i64)> = on_pool!(self, pool => {
            bind_args!(sqlx::query_as(sqlx::AssertSqlSafe(text)), &sql.args)
                .persistent(keep)
                .fetch_all(pool)
                .await?
        });
        let mut total = 0;
        let (mut theme, mut phase, mut departement, mut region, mut software, mut provider) =
            Default::default();
        for (facet, key, count) in rows {
            let list: &mut Vec<(String, i64)> = match facet.as_str() {
                "total" => {
                    total = count;
                    continue;
                }
                "phase" => &mut phase,
                "theme" => &mut theme,
                "departement" => &mut departement,
                "region" => &mut region,
                "software" => &mut software,
                _ => &mut provider,
            };
            list.push((key, count));
        }
        let facets = Facets {
            theme: to_facets(theme, &label_theme),
            phase: to_facets(phase, &label_phase),
            departement: to_facets(departement, &label_dep),
            region: to_facets(region, &label_reg),
            software: to_facets(software, &|k: &str| k.to_string()),
            provider: to_facets(provider, &|k: &str| k.to_string()),
        };
        Ok((total, facets))
    }
}

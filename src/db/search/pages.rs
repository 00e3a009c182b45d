//! Pages of directory results: a search's page, total and facets
//! ([`Store::search_actions`]), every match for the Atom feed, export chunks, and the
//! relevance windows ([`super::RELEVANCE_WINDOW`]). A page sorts ids only, then reads
//! its rows.

use super::builder::{Arg, Sql, Window, bind_args, build};
use crate::db::rows::ActionRow;
use crate::db::{Store, StoreResult, on_pool};
use crate::directory::search::{Facets, SearchPage, SearchQuery, Sort};
use crate::domain::Action;

impl Store {
    /// Runs a directory search: one page of actions, the total and the facets.
    pub async fn search_actions(&self, query: &SearchQuery) -> StoreResult<SearchPage> {
        self.search_actions_with(query, None).await
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

    /// One page of results of a built query, relevance ranked per [`super::RELEVANCE_WINDOW`].
    /// `total`, the number of matches when known, lets SQLite choose how to sort.
    pub(super) async fn page(
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
            _ => super::RELEVANCE_WINDOW,
        };
        // The newer window first: the `window` newest text matches, then the other
        // conditions, ranked, in one statement (FTS5 walks its matches by descending
        // rowid; PostgreSQL reads `action_search` backwards or sorts the matches' ids).
        // SQLite computes BM25 for every row such a window returns, before the other
        // conditions: when there are some, the window is bounded by rowid instead
        // (probed first), so that only the rows passing them are ranked.
        let bound_first = sql.full_text().bounds_window_first() && !sql.conditions.is_empty();
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
            let keep = sql.full_text().keeps_plans();
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
        let probe = sql.full_text().window_probe();
        let keep = sql.full_text().keeps_plans();
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
        let (true, None, Some(total)) = (sql.full_text().walks_order_indexes(), &sql.text, total)
        else {
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
    pub(super) async fn rows_in_order(
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
        let keep = sql.full_text().keeps_plans();
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
             o.domain AS owner_domain, o.name AS owner_name, o.local AS owner_local, o.website AS owner_website, \
         o.website_verified_at AS owner_website_verified_at \
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
}

//! Runs directory searches ([`SearchQuery`] → [`SearchPage`]). Filters and facets are
//! the same SQL on both engines; only full text differs, in two named functions:
//! [`fts_sqlite`] (FTS5 `MATCH`, `rank`) and [`fts_postgres`] (`tsvector @@ tsquery`
//! with `unaccent` and the `french` configuration, `ts_rank`).
//! Tokens come from [`text`] for both, so a query means the same on each.

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

/// SQL text with `$n` placeholders and the values bound to them, in order.
#[derive(Debug, Default, Clone)]
struct Sql {
    conditions: Vec<String>,
    args: Vec<Arg>,
    rank: Option<String>,
    /// SQLite: the placeholder of the FTS5 `MATCH` expression, and a bound on its
    /// rowids (see [`RELEVANCE_WINDOW`]).
    fts_match: Option<String>,
    /// SQLite: the FTS5 `MATCH` expression itself.
    fts_expression: Option<String>,
    fts_bound: String,
    /// A condition reads the owner (`o.`): its join is needed to find ids too.
    needs_owner: bool,
}

impl Sql {
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
        let owner = if self.needs_owner {
            " JOIN actors o ON o.id = a.actor_id"
        } else {
            ""
        };
        format!(
            "FROM {}{owner} WHERE {}",
            self.fts_join(ranked),
            self.conditions.join(" AND ")
        )
    }

    /// `actions a`, after the FTS5 matches on SQLite full text (with the BM25 `rank`
    /// for ordering only when `ranked`: computing it costs, and counts need none).
    /// `CROSS JOIN` keeps the matches as the outer loop: the planner would otherwise
    /// re-run the `MATCH` for every action another filter selects (19 s instead of
    /// 20 ms for `q=donnees&theme=services-publics` at 100 000 actions).
    fn fts_join(&self, ranked: bool) -> String {
        let Some(expression) = &self.fts_match else {
            return "actions a".into();
        };
        let rank = if ranked { ", rank AS fts_rank" } else { "" };
        format!(
            "(SELECT rowid AS fts_id{rank} FROM actions_fts \
             WHERE actions_fts MATCH {expression}{}) f CROSS JOIN actions a ON a.id = f.fts_id",
            self.fts_bound
        )
    }

    /// True when the query only asks for live actions: the index tables hold live
    /// actions only (rows are cleared on delete), so facets need no id filter.
    fn matches_all_live(&self) -> bool {
        self.fts_match.is_none() && self.conditions.len() == 1
    }
}

/// SQLite full text: the FTS5 index joined by rowid; `rank` orders by BM25.
fn fts_sqlite(sql: &mut Sql, query: &str) -> bool {
    let Some(expression) = text::fts5_query(query) else {
        return false;
    };
    let p = sql.text(&expression);
    sql.fts_match = Some(p);
    sql.fts_expression = Some(expression);
    sql.rank = Some("f.fts_rank ASC".into());
    true
}

/// Relevance is ranked, by default, within two windows split at the `WINDOW`-th most recently
/// indexed full-text match: ranking costs a BM25 (or `ts_rank`) evaluation per ranked
/// row, so a word found in most of 100 000 actions would otherwise rank them all for
/// each page. Results list the matches of the newer window by rank, then the older ones
/// by rank; a query with fewer matches is ranked as a whole.
pub const RELEVANCE_WINDOW: i64 = 5_000;

impl Sql {
    /// This query restricted to actions with `a.id >= bound` (`newer`) or `< bound`,
    /// the restriction placed where ranking happens (inside the FTS5 query on SQLite).
    fn windowed(&self, bound: i64, newer: bool) -> Sql {
        let mut sql = self.clone();
        let op = if newer { ">=" } else { "<" };
        let p = sql.arg(Arg::Int(bound));
        match sql.fts_match {
            Some(_) => sql.fts_bound = format!(" AND rowid {op} {p}"),
            None => sql.conditions.push(format!("a.id {op} {p}")),
        }
        sql
    }
}

/// PostgreSQL full text: the generated `search_vector` against a `french` `tsquery`.
fn fts_postgres(sql: &mut Sql, query: &str) -> bool {
    let Some(expression) = text::tsquery(query) else {
        return false;
    };
    let p = sql.text(&expression);
    let tsquery = format!("to_tsquery('french', maillage_unaccent({p}))");
    sql.conditions.push(format!("a.search_vector @@ {tsquery}"));
    sql.rank = Some(format!("ts_rank(a.search_vector, {tsquery}) DESC"));
    true
}

fn build(engine: Engine, query: &SearchQuery) -> Option<Sql> {
    let mut sql = Sql {
        conditions: vec!["a.deleted_at IS NULL".into()],
        ..Default::default()
    };
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
    }
    for (column, value) in [
        ("insee", query.insee.as_ref().map(|v| v.to_string())),
        ("departement", query.departement.clone()),
        ("region", query.region.clone()),
        ("epci", query.epci.as_ref().map(|v| v.to_string())),
    ] {
        if let Some(value) = value {
            let p = sql.text(&value);
            sql.conditions.push(format!(
                "a.id IN (SELECT action_id FROM action_places WHERE {column} = {p})"
            ));
        }
    }
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
    }
    if query.open_to_partners {
        sql.conditions.push("a.open_to_partners = TRUE".into());
    }
    if let Some(since) = query.updated_since {
        let p = sql.arg(Arg::Time(since));
        sql.conditions.push(format!("a.updated >= {p}"));
    }
    if let Some(software) = &query.software {
        let (key, raw) = (sql.text(&text::fold(software)), sql.text(software));
        sql.conditions.push(format!(
            "a.id IN (SELECT action_id FROM action_software WHERE name_key = {key} \
             OR sill_id = {raw} OR comptoir_id = {raw} OR wikidata = {raw})"
        ));
    }
    if let Some(provider) = &query.provider {
        let compact: String = provider.chars().filter(|c| !c.is_whitespace()).collect();
        let (key, raw) = (sql.text(&text::fold(provider)), sql.text(&compact));
        sql.conditions.push(format!(
            "a.id IN (SELECT action_id FROM action_providers WHERE name_key = {key} OR siren = {raw})"
        ));
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
        let items = self.page(&sql, query, query.limit, query.offset).await?;
        let next = (query.offset + (items.len() as i64) < total)
            .then(|| (query.offset + query.limit).to_string());
        Ok(SearchPage {
            items,
            total,
            facets,
            next,
        })
    }

    /// Every action matching `query`, in its order, at most `cap` (exports).
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
            let page = self.page(&sql, query, chunk, all.len() as i64).await?;
            let done = (page.len() as i64) < chunk;
            all.extend(page);
            if done {
                return Ok(all);
            }
        }
    }

    /// One page of results of a built query, relevance ranked per [`RELEVANCE_WINDOW`].
    async fn page(
        &self,
        sql: &Sql,
        query: &SearchQuery,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<Action>> {
        let ranked = matches!(query.effective_sort(), Sort::Relevance) && sql.rank.is_some();
        let window = match query.relevance_window {
            n if n > 0 => n,
            _ => RELEVANCE_WINDOW,
        };
        if !ranked {
            return self.page_in(sql, query, limit, offset).await;
        }
        // The id of the WINDOW-th newest text match, if there are that many: FTS5 walks
        // its matches by descending rowid without sorting; PostgreSQL reads the ids of
        // the filtered matches backwards.
        let bound: Option<i64> = match &sql.fts_expression {
            Some(expression) => {
                const PROBE: &str = "SELECT rowid FROM actions_fts WHERE actions_fts MATCH $1 \
                     ORDER BY rowid DESC LIMIT 1 OFFSET $2";
                on_pool!(self, pool => {
                    sqlx::query_scalar(PROBE)
                        .bind(expression)
                        .bind(window - 1)
                        .fetch_optional(pool)
                        .await?
                })
            }
            None => {
                let mut probe = sql.clone();
                let filter = probe.filter_ids(false);
                let skip = probe.arg(Arg::Int(window - 1));
                let text = format!("SELECT a.id {filter} ORDER BY a.id DESC LIMIT 1 OFFSET {skip}");
                on_pool!(self, pool => {
                    bind_args!(sqlx::query_scalar(sqlx::AssertSqlSafe(text)), &probe.args)
                        .fetch_optional(pool)
                        .await?
                })
            }
        };
        let Some(bound) = bound else {
            return self.page_in(sql, query, limit, offset).await;
        };
        let newest = sql.windowed(bound, true);
        let mut items = self.page_in(&newest, query, limit, offset).await?;
        let missing = limit - items.len() as i64;
        if missing <= 0 {
            return Ok(items);
        }
        // How many results the newer window holds: known when this page ended inside
        // it; otherwise counted. On PostgreSQL it is `window` (its bound was found
        // among them); on SQLite the bound counts text matches only, which the other
        // conditions (theme, place…) may thin out.
        let in_newer: i64 = if !items.is_empty() {
            offset + items.len() as i64
        } else if sql.fts_expression.is_some() {
            let text = format!("SELECT COUNT(*) {}", newest.filter_ids(false));
            on_pool!(self, pool => {
                bind_args!(sqlx::query_scalar(sqlx::AssertSqlSafe(text)), &newest.args)
                    .fetch_one(pool)
                    .await?
            })
        } else {
            window
        };
        let older = sql.windowed(bound, false);
        let skip = (offset - in_newer).max(0);
        items.extend(self.page_in(&older, query, missing, skip).await?);
        Ok(items)
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
                .rank
                .clone()
                .map(|r| format!("{r}, a.updated DESC, a.id DESC")),
            Sort::Updated => None,
            Sort::Name => Some("a.name ASC, a.id ASC".into()),
        }
        .unwrap_or_else(|| "a.updated DESC, a.id DESC".into());
        // Sort ids only, then read the page's rows: sorting whole rows (content
        // included) of a broad result set costs far more than the sort itself.
        let mut sql = sql.clone();
        let filter = sql.filter_ids(true);
        let limit = sql.arg(Arg::Int(limit));
        let offset = sql.arg(Arg::Int(offset));
        let text = format!("SELECT a.id {filter} ORDER BY {order} LIMIT {limit} OFFSET {offset}");
        let ids: Vec<i64> = on_pool!(self, pool => {
            bind_args!(sqlx::query_scalar(sqlx::AssertSqlSafe(text)), &sql.args).fetch_all(pool).await?
        });
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
            for id in &ids {
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
        let rows: Vec<(String, String, i64)> = on_pool!(self, pool => {
            bind_args!(sqlx::query_as(sqlx::AssertSqlSafe(text)), &sql.args).fetch_all(pool).await?
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

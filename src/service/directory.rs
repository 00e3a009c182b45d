//! Directory searches through a small cache: the total and facet counts of a result set
//! (the expensive part at scale) are kept per query for the current directory
//! generation, a counter every change to the directory bumps in its own transaction.
//! The page of results itself is always read fresh. Each process has its own cache;
//! the generation lives in the database, so processes never serve stale counts.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::directory::search::Facets;
use crate::directory::{SearchPage, SearchQuery};
use crate::domain::Action;
use crate::error::{AppError, AppResult};
use crate::limits::ClientAddress;
use crate::state::AppState;

/// Entries kept at most (the cache is emptied when full).
const CAPACITY: usize = 512;

/// `query key → (generation, total, facets)`, and whether some collectivité is
/// outranked (`db::search::outranked`) at a generation.
#[derive(Debug, Default)]
pub struct SearchCache(
    Mutex<HashMap<String, (i64, i64, Facets)>>,
    Mutex<Option<(i64, bool)>>,
);

/// Searches the directory (SPEC §4), with cached totals and facets when still valid.
///
/// # Errors
/// Storage failures.
pub async fn search(state: &AppState, query: &SearchQuery) -> AppResult<SearchPage> {
    let generation = state.store.directory_generation().await?;
    let query = &configured(state, query, generation).await?;
    let key = query.cache_key();
    let known = {
        let cache = state
            .search_cache
            .0
            .lock()
            .expect("BUG: poisoned search cache");
        cache
            .get(&key)
            .filter(|(cached, _, _)| *cached == generation)
            .map(|(_, total, facets)| (*total, facets.clone()))
    };
    let hit = known.is_some();
    let page = state.store.search_actions_with(query, known).await?;
    if !hit {
        let mut cache = state
            .search_cache
            .0
            .lock()
            .expect("BUG: poisoned search cache");
        if cache.len() >= CAPACITY {
            cache.clear();
        }
        // Counted at `generation` or later: a later write bumps the generation, so
        // this entry is never served after data it does not reflect.
        cache.insert(key, (generation, page.total, page.facets.clone()));
    }
    Ok(page)
}

/// Every action matching `query` in its order, at most `cap` (exports and feeds).
///
/// # Errors
/// Storage failures.
pub async fn all(state: &AppState, query: &SearchQuery, cap: i64) -> AppResult<Vec<Action>> {
    let generation = state.store.directory_generation().await?;
    let query = configured(state, query, generation).await?;
    Ok(state.store.search_all(&query, cap).await?)
}

/// The cost of a text search: its words ([`crate::directory::text::cost`]), plus 1
/// per 1 000 results skipped (`cursor`), since a deep page ranks every match before
/// it: page 500 (cursor 10 000) costs 10 more than the first. 0 without text.
pub fn search_cost(query: &SearchQuery) -> u32 {
    let words = query.q.as_deref().map_or(0, crate::directory::text::cost);
    if words == 0 {
        return 0;
    }
    let depth = u32::try_from(query.offset.max(0) / 1000).unwrap_or(u32::MAX);
    words.saturating_add(depth)
}

/// Charges the full-text cost of `query` ([`search_cost`]) to the client's address
/// (`directory.search_cost_per_minute`, `search_cost_burst`). Requests not counted by
/// address (a trusted proxy's own) are not charged.
///
/// # Errors
/// [`AppError::RateLimited`] (`429`) when the address has spent its share.
pub fn charge(state: &AppState, client: &ClientAddress, query: &SearchQuery) -> AppResult<()> {
    let Some(address) = &client.0 else {
        return Ok(());
    };
    let cost = search_cost(query);
    if cost == 0 {
        return Ok(());
    }
    let settings = &state.settings.directory;
    match state.search_costs.spend(
        address,
        cost,
        settings.search_cost_per_minute,
        settings.search_cost_burst,
    ) {
        None => Ok(()),
        Some(after) => {
            metrics::counter!("maillage_rate_limited_total", "by" => "search-cost", "inbox" => "false")
                .increment(1);
            Err(AppError::RateLimited {
                message: format!(
                    "trop de recherches coûteuses depuis cette adresse : réessayez dans {after} s \
                     (ou avec moins de mots)"
                ),
                retry_after: after,
            })
        }
    }
}

/// `query` with the node's settings: its relevance window and its admission policy
/// (`aggregator.admission`, `open` when not an aggregator).
pub fn with_settings(state: &AppState, query: &SearchQuery) -> SearchQuery {
    SearchQuery {
        relevance_window: state.settings.directory.relevance_window,
        admission: Some(state.settings.aggregator.effective_admission()),
        ..query.clone()
    }
}

/// [`with_settings`]; when no collectivité is outranked at `generation`, the default
/// leaving-out is dropped (same results, one condition less).
async fn configured(
    state: &AppState,
    query: &SearchQuery,
    generation: i64,
) -> AppResult<SearchQuery> {
    let mut query = with_settings(state, query);
    if !query.unverified {
        let known = *state.search_cache.1.lock().expect("BUG: poisoned cache");
        let outranked = match known {
            Some((at, outranked)) if at == generation => outranked,
            _ => {
                let outranked = state.store.any_outranked().await?;
                *state.search_cache.1.lock().expect("BUG: poisoned cache") =
                    Some((generation, outranked));
                outranked
            }
        };
        query.unverified = !outranked;
    }
    Ok(query)
}

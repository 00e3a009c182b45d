//! `[directory]`: directory searches, their cost and exports.

use serde::{Deserialize, Serialize};

/// `[directory]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DirectorySettings {
    /// Full-text results are ranked by relevance within the newest this-many matches,
    /// then among the older ones: ranking every match of a very common word costs a
    /// score per match and per page.
    pub relevance_window: i64,
    /// Exports (`/directory.geojson`, `.csv`, `.atom`) running at once on the node;
    /// beyond, `503` with `Retry-After` (0: no bound).
    pub max_concurrent_exports: usize,
    /// Exports running at once for one client address; beyond, `429` with
    /// `Retry-After` (0: no bound).
    pub max_exports_per_address: usize,
    /// Full-text search cost one client address may spend per minute (a token
    /// bucket, refilled continuously); a search costs one unit per word and more per
    /// prefix word, and one per 1 000 results skipped
    /// ([`crate::service::directory::search_cost`]). Beyond, `429` with
    /// `Retry-After` (0: no bound).
    pub search_cost_per_minute: u32,
    /// The bucket's size: the cost one address may spend in a burst.
    pub search_cost_burst: u32,
}

impl Default for DirectorySettings {
    fn default() -> Self {
        Self {
            relevance_window: crate::db::search::RELEVANCE_WINDOW,
            max_concurrent_exports: 4,
            max_exports_per_address: 2,
            search_cost_per_minute: 600,
            search_cost_burst: 300,
        }
    }
}

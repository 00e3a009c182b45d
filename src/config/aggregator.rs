//! `[aggregator]`: aggregator mode.

use serde::{Deserialize, Serialize};

/// `[aggregator]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AggregatorSettings {
    /// Follow back every node that follows the instance actor, and expose theme,
    /// département and région groups that announce matching actions.
    pub enabled: bool,
    /// Groups that announce one action at most (its themes first, then the
    /// départements and régions of its places in their order): each inbound `Create`
    /// or `Update` costs that many `Announce`s at most.
    pub max_groups_per_action: usize,
}

impl Default for AggregatorSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            max_groups_per_action: 20,
        }
    }
}

//! `[aggregator]`: aggregator mode, its admission policy and its spam bounds.

use serde::{Deserialize, Serialize};

/// Which remote collectivités' actions an aggregator lists (`aggregator.admission`).
/// Every action received is stored; this decides which ones the directory, its
/// searches, map, exports, feeds and group `Announce`s show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Admission {
    /// Every followed actor not suspended (the behaviour before issue 19).
    Open,
    /// Actors whose official website is verified (`website_verified_at`), or approved
    /// by a node admin.
    #[default]
    Verified,
    /// Actors a node admin approved.
    Manual,
}

impl Admission {
    /// The value as written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Admission::Open => "open",
            Admission::Verified => "verified",
            Admission::Manual => "manual",
        }
    }
}

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
    /// Which remote collectivités' actions are listed (see [`Admission`]).
    pub admission: Admission,
    /// New actions one remote actor may bring in an hour; past it, its activities are
    /// held for a node admin (0: no bound).
    pub max_new_actions_per_actor_per_hour: i64,
    /// New actions the actors of one domain may bring in an hour, together (0: no bound).
    pub max_new_actions_per_domain_per_hour: i64,
    /// Remote actors one domain may bring; the activities of the ones past it (by
    /// arrival) are held unless a node admin approved them (0: no bound).
    pub max_actors_per_domain: i64,
}

impl AggregatorSettings {
    /// The admission policy in force: `open` on a node that is not an aggregator.
    pub fn effective_admission(&self) -> Admission {
        if self.enabled {
            self.admission
        } else {
            Admission::Open
        }
    }
}

impl Default for AggregatorSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            max_groups_per_action: 20,
            admission: Admission::default(),
            max_new_actions_per_actor_per_hour: 100,
            max_new_actions_per_domain_per_hour: 500,
            max_actors_per_domain: 200,
        }
    }
}

//! `[moderation]`: comment moderation and its limits.

use serde::{Deserialize, Serialize};

/// `[moderation]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModerationSettings {
    /// Comments from these domains (and their subdomains) are published without
    /// waiting for a moderator (partner towns' nodes, for instance).
    pub trusted_domains: Vec<String>,
    /// Comments of one remote actor waiting for moderation at most; a new reply
    /// beyond is refused (`429` with `Retry-After`, FEDERATION.md) until a moderator
    /// handles some (0: no cap).
    pub max_pending_per_actor: u32,
    /// The same for all the actors of one domain.
    pub max_pending_per_domain: u32,
}

impl Default for ModerationSettings {
    fn default() -> Self {
        Self {
            trusted_domains: Vec::new(),
            max_pending_per_actor: 20,
            max_pending_per_domain: 200,
        }
    }
}

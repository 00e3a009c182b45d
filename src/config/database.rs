//! `[database]`: where the node keeps its data.

use serde::{Deserialize, Serialize};

/// `[database]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://maillage.db` (created if missing) or `postgres://…`.
    pub url: String,
    /// Maximum pool connections.
    pub max_connections: u32,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: "sqlite://maillage.db".into(),
            max_connections: 8,
        }
    }
}

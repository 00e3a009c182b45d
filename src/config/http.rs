//! `[http]`: how long a connection may take to send its headers, and how many
//! connections are served at once.

use serde::{Deserialize, Serialize};

/// `[http]`: how long a connection may take to send its headers, and how many
/// connections are served at once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// A client must send a request's whole headers within this many seconds (a new
    /// connection's first request, and each next one on a kept-alive connection, whose
    /// idle time counts): otherwise the connection is closed. 1 to 300.
    pub header_read_timeout_secs: u64,
    /// Connections served at once; beyond, new ones wait in the system's queue until
    /// one closes (0: no cap). Keep it below the process's open-file limit.
    pub max_connections: usize,
    /// Connections served at once from one client address (an IPv6 client by its /64);
    /// beyond, a new one is closed at once (0: no cap). Trusted proxies are exempt.
    pub max_connections_per_ip: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            header_read_timeout_secs: 10,
            max_connections: 512,
            max_connections_per_ip: 64,
        }
    }
}

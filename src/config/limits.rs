//! `[limits]`: request rates (0 turns a limit off), password hashing.

use serde::{Deserialize, Serialize};

/// `[limits]`: request rates (0 turns a limit off).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitSettings {
    /// Inbox requests per minute from one remote host (the host of the signature's
    /// `keyId`), before verifying anything.
    pub inbox_per_host_per_minute: u32,
    /// Inbox POSTs per minute from one client address (a remote server), counted before
    /// anything else; the per-host limit then applies to the signature's `keyId` host.
    pub inbox_per_ip_per_minute: u32,
    /// Other requests per minute from one client address (an IPv6 client counts by its
    /// /64); the address is the peer's, or, behind a trusted proxy, the last address
    /// that proxy added to `X-Forwarded-For`.
    pub requests_per_ip_per_minute: u32,
    /// Reverse proxies whose `X-Forwarded-For` is believed (IP addresses). A request
    /// from one of them without that header is not limited by address.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Password hashes (sign-in, account creation) computed at once at most; each
    /// holds about 19 MiB and a core for tens of milliseconds. At least 1.
    pub password_hashes: usize,
    /// How long a sign-in waits for a free password hash (milliseconds) before `503`.
    pub password_hash_wait_ms: u64,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            inbox_per_host_per_minute: 3000,
            inbox_per_ip_per_minute: 6000,
            requests_per_ip_per_minute: 600,
            trusted_proxies: vec![
                std::net::Ipv4Addr::LOCALHOST.into(),
                std::net::Ipv6Addr::LOCALHOST.into(),
            ],
            password_hashes: 2,
            password_hash_wait_ms: 2000,
        }
    }
}

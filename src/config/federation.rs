//! `[federation]`: development mode, private addresses, domain blocks and the
//! allow-list, authorized fetch, and the backfill and key-fetch bounds.

use serde::{Deserialize, Serialize};

/// `[federation]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FederationSettings {
    /// Development mode: plain http ids and loopback peers. Refused for a public domain.
    pub debug: bool,
    /// Allow fetching private, loopback and link-local addresses (development and tests).
    pub allow_private_addresses: bool,
    /// Domains refused everywhere: their activities get `403`, nothing is sent or
    /// fetched there (a domain blocks its subdomains too).
    pub blocked_domains: Vec<String>,
    /// Allow-list mode: federate only with `allowed_domains` and the domains allowed
    /// from the admin (API, CLI, web); every other domain is refused like a blocked one.
    pub allowlist_mode: bool,
    /// Domains always allowed in allow-list mode (a domain allows its subdomains).
    pub allowed_domains: Vec<String>,
    /// ActivityPub GETs need a valid HTTP signature (HTML pages stay public).
    pub authorized_fetch: bool,
    /// Outbox pages read when a follow is accepted (backfill).
    pub backfill_pages: usize,
    /// Outbox items ingested at most when a follow is accepted (backfill).
    pub backfill_items: usize,
    /// Fetches one backfill makes at most, pages, items and objects together.
    pub backfill_fetches: u32,
    /// Signing keys fetched at once at most from one host (the rest wait for their turn
    /// within `key_fetch_timeout_secs`), so that a slow host holds few of the node's
    /// key-fetch permits.
    pub key_fetches_per_host: usize,
    /// Longest a signing key fetch may take, waiting for a permit and reading the body
    /// included (other fetches get 10 s).
    pub key_fetch_timeout_secs: u64,
    /// Hours between two checks of a collectivité's official website (issue 19),
    /// besides the checks on a profile change and on demand.
    pub website_check_interval_hours: u64,
    /// Official websites checked at once at most (periodic and background checks).
    pub website_checks: usize,
}

impl Default for FederationSettings {
    fn default() -> Self {
        Self {
            debug: false,
            allow_private_addresses: false,
            blocked_domains: Vec::new(),
            allowlist_mode: false,
            allowed_domains: Vec::new(),
            authorized_fetch: false,
            backfill_pages: 10,
            backfill_items: 500,
            backfill_fetches: 100,
            key_fetches_per_host: 2,
            key_fetch_timeout_secs: 3,
            website_check_interval_hours: 24,
            website_checks: 4,
        }
    }
}

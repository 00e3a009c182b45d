//! Owns configuration: defaults, then a TOML file (`--config`, default `maillage.toml`),
//! then `MAILLAGE_<SECTION>__<KEY>` environment variables (SPEC §7). Checked once at
//! load so that the rest of the code can trust it.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use url::Url;

/// Every setting of a node.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Public domain of the node, with a port if not the default (`localhost:8080`).
    pub domain: String,
    /// Address the HTTP server listens on.
    pub bind: String,
    /// Database.
    pub database: DatabaseSettings,
    /// Federation.
    pub federation: FederationSettings,
    /// Outbound delivery.
    pub delivery: DeliverySettings,
    /// How the node presents itself (NodeInfo, pages).
    pub node: NodeSettings,
    /// The map of the web pages.
    pub map: MapSettings,
    /// Aggregator mode.
    pub aggregator: AggregatorSettings,
    /// `[directory]`.
    pub directory: DirectorySettings,
    /// `[moderation]`.
    pub moderation: ModerationSettings,
    /// `[limits]`.
    pub limits: LimitSettings,
    /// Logging.
    pub log: LogSettings,
}

/// `[database]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseSettings {
    /// `sqlite://maillage.db` (created if missing) or `postgres://…`.
    pub url: String,
    /// Maximum pool connections.
    pub max_connections: u32,
}

/// `[federation]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
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
        }
    }
}

/// Largest `delivery.batch`: a batch's ids are bound as one parameter each (SQLite takes
/// at most 32 766).
pub const MAX_DELIVERY_BATCH: usize = 1000;

/// `[delivery]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DeliverySettings {
    /// Run delivery workers inside `maillage serve`.
    pub workers: bool,
    /// Concurrent requests to one remote domain.
    pub per_host: usize,
    /// Deliveries claimed at once by a worker.
    pub batch: usize,
    /// Idle poll interval, in milliseconds (new activities wake the worker at once).
    pub poll_interval_ms: u64,
    /// A domain failing for this long (seconds) is marked unreachable.
    pub unreachable_after_secs: u64,
    /// An unreachable domain is probed this often (seconds).
    pub probe_interval_secs: u64,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            workers: true,
            per_host: 4,
            batch: 64,
            poll_interval_ms: 1000,
            unreachable_after_secs: 24 * 3600,
            probe_interval_secs: 6 * 3600,
        }
    }
}

/// `[node]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeSettings {
    /// Node name shown in pages and NodeInfo.
    pub name: String,
    /// One sentence about the node.
    pub description: String,
}

/// `[aggregator]`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AggregatorSettings {
    /// Follow back every node that follows the instance actor, and expose theme,
    /// département and région groups that announce matching actions.
    pub enabled: bool,
}

/// `[moderation]`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ModerationSettings {
    /// Comments from these domains (and their subdomains) are published without
    /// waiting for a moderator (partner towns' nodes, for instance).
    pub trusted_domains: Vec<String>,
}

/// `[directory]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DirectorySettings {
    /// Full-text results are ranked by relevance within the newest this-many matches,
    /// then among the older ones: ranking every match of a very common word costs a
    /// score per match and per page.
    pub relevance_window: i64,
}

impl Default for DirectorySettings {
    fn default() -> Self {
        Self {
            relevance_window: crate::db::search::RELEVANCE_WINDOW,
        }
    }
}

/// `[map]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MapSettings {
    /// Tile URL template (`{z}/{x}/{y}`); empty: the France outline only.
    pub tile_url: String,
    /// Attribution shown on the map, as the tile provider requires.
    pub attribution: String,
}

impl Default for MapSettings {
    fn default() -> Self {
        Self {
            tile_url: "https://tile.openstreetmap.org/{z}/{x}/{y}.png".into(),
            attribution: "© contributeurs OpenStreetMap".into(),
        }
    }
}

/// `[limits]`: request rates (0 turns a limit off).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
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
        }
    }
}

/// `[log]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: String,
    /// A `tracing` filter (`info`, `maillage=debug,info`); `RUST_LOG` wins when set.
    pub level: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            domain: "localhost:8080".into(),
            bind: "127.0.0.1:8080".into(),
            database: DatabaseSettings::default(),
            federation: FederationSettings::default(),
            delivery: DeliverySettings::default(),
            node: NodeSettings::default(),
            map: MapSettings::default(),
            aggregator: AggregatorSettings::default(),
            directory: DirectorySettings::default(),
            moderation: ModerationSettings::default(),
            log: LogSettings::default(),
            limits: LimitSettings::default(),
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: "sqlite://maillage.db".into(),
            max_connections: 8,
        }
    }
}

impl Default for NodeSettings {
    fn default() -> Self {
        Self {
            name: "Maillage".into(),
            description:
                "Un nœud de Maillage, l'annuaire fédéré des actions numériques des collectivités"
                    .into(),
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: "text".into(),
            level: "info".into(),
        }
    }
}

/// The default configuration file, read when it exists and `--config` is not given.
pub const DEFAULT_CONFIG_FILE: &str = "maillage.toml";

impl Settings {
    /// Loads defaults, the file and the environment, then checks the result.
    ///
    /// `path` must exist when given; without it, `maillage.toml` is read if present.
    ///
    /// # Errors
    /// A readable message for a missing file, a TOML or type error, or an invalid value.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let file: Option<PathBuf> = match path {
            Some(path) => {
                if !path.exists() {
                    bail!("configuration file {} not found", path.display());
                }
                Some(path.to_path_buf())
            }
            None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.exists()),
        };
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = &file {
            figment = figment.merge(Toml::file_exact(file));
        }
        // MAILLAGE_TEST_* variables belong to the test suite, not to a node.
        figment = figment.merge(
            Env::prefixed("MAILLAGE_")
                .filter(|key| !key.as_str().starts_with("test_"))
                .split("__"),
        );
        let settings: Settings = figment.extract().map_err(|error| {
            anyhow::anyhow!(
                "invalid configuration{}: {error}",
                file.as_ref()
                    .map(|f| format!(" in {}", f.display()))
                    .unwrap_or_default()
            )
        })?;
        settings.validate().map_err(|error| match &file {
            Some(file) => error.context(format!("in {} or MAILLAGE_* variables", file.display())),
            None => error,
        })?;
        Ok(settings)
    }

    /// Checks values that types cannot.
    ///
    /// # Errors
    /// What is wrong and how to fix it.
    pub fn validate(&self) -> anyhow::Result<()> {
        let parsed = Url::parse(&format!("http://{}/", self.domain))
            .ok()
            .filter(|url| {
                url.host_str().is_some()
                    && url.path() == "/"
                    && url.username().is_empty()
                    && !self.domain.contains('/')
            });
        let Some(parsed) = parsed else {
            bail!(
                "domain « {} » is not a host name: write it without scheme or path, e.g. `annuaire.example.fr` or `localhost:8080`",
                self.domain
            );
        };
        if self.federation.debug && !is_local_host(parsed.host_str().unwrap_or_default()) {
            bail!(
                "federation.debug is for development only (plain http, loopback peers) and is refused for the public domain « {} »; remove it, or use a localhost domain",
                self.domain
            );
        }
        self.bind.parse::<std::net::SocketAddr>().with_context(|| {
            format!(
                "bind « {} » is not an address like 127.0.0.1:8080",
                self.bind
            )
        })?;
        if !(self.database.url.starts_with("sqlite:")
            || self.database.url.starts_with("postgres:")
            || self.database.url.starts_with("postgresql:"))
        {
            bail!(
                "database.url must start with sqlite:// or postgres:// (got « {} »)",
                redact(&self.database.url)
            );
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            bail!("log.format must be `text` or `json`");
        }
        if !(1..=MAX_DELIVERY_BATCH).contains(&self.delivery.batch) {
            bail!(
                "delivery.batch must be between 1 and {MAX_DELIVERY_BATCH} (got {})",
                self.delivery.batch
            );
        }
        Ok(())
    }

    /// `http` in debug mode, `https` otherwise.
    pub fn scheme(&self) -> &'static str {
        if self.federation.debug {
            "http"
        } else {
            "https"
        }
    }

    /// The node's base URL (`https://annuaire.example.fr`), without a trailing slash.
    pub fn base_url(&self) -> Url {
        Url::parse(&format!("{}://{}", self.scheme(), self.domain))
            .expect("BUG: the domain was checked by validate()")
    }

    /// True when peers on private addresses may be contacted.
    pub fn allows_private_addresses(&self) -> bool {
        self.federation.debug || self.federation.allow_private_addresses
    }
}

/// True when `domain` (port and trailing dot ignored) or a parent domain is in `list`.
pub fn domain_listed(list: &[String], domain: &str) -> bool {
    let host = domain
        .split(':')
        .next()
        .unwrap_or(domain)
        .trim_end_matches('.')
        .to_ascii_lowercase();
    list.iter().any(|listed| {
        let listed = listed.trim().trim_end_matches('.').to_ascii_lowercase();
        !listed.is_empty() && (host == listed || host.ends_with(&format!(".{listed}")))
    })
}

fn is_local_host(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host.ends_with(".test")
        || host.starts_with("127.")
        || host == "[::1]"
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let settings = Settings::default();
        settings.validate().unwrap();
        assert_eq!(settings.base_url().as_str(), "https://localhost:8080/");
    }

    #[test]
    fn debug_is_refused_for_public_domains() {
        let mut settings = Settings {
            domain: "annuaire.example.fr".into(),
            ..Settings::default()
        };
        settings.federation.debug = true;
        let error = settings.validate().unwrap_err().to_string();
        assert!(error.contains("development only"), "{error}");
        settings.domain = "localhost:9000".into();
        settings.validate().unwrap();
        assert_eq!(settings.base_url().as_str(), "http://localhost:9000/");
    }

    #[test]
    fn bad_domains_are_refused() {
        for domain in ["https://ex.fr", "ex.fr/path", "", "user@ex.fr"] {
            let settings = Settings {
                domain: domain.into(),
                ..Settings::default()
            };
            assert!(settings.validate().is_err(), "{domain}");
        }
    }

    #[test]
    fn delivery_batch_is_bounded() {
        for (batch, valid) in [
            (0, false),
            (1, true),
            (MAX_DELIVERY_BATCH, true),
            (5000, false),
        ] {
            let mut settings = Settings::default();
            settings.delivery.batch = batch;
            assert_eq!(settings.validate().is_ok(), valid, "batch {batch}");
        }
    }

    #[test]
    fn blocked_domains_cover_subdomains() {
        let blocked = vec!["spam.example".to_string()];
        assert!(domain_listed(&blocked, "spam.example"));
        assert!(domain_listed(&blocked, "a.spam.example:8443"));
        assert!(domain_listed(&blocked, "SPAM.example."));
        assert!(!domain_listed(&blocked, "notspam.example"));
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://u:secret@db/maillage"),
            "postgres://u:***@db/maillage"
        );
    }
}

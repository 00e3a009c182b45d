//! Owns configuration: defaults, then a TOML file (`--config`, default `maillage.toml`
//! in the working directory, else the Debian package's `/etc/maillage/maillage.toml`),
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
#[serde(default, deny_unknown_fields)]
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
    /// `[http]`: connections.
    pub http: HttpSettings,
    /// Logging.
    pub log: LogSettings,
}

/// `[database]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://maillage.db` (created if missing) or `postgres://…`.
    pub url: String,
    /// Maximum pool connections.
    pub max_connections: u32,
}

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
        }
    }
}

/// Largest `delivery.batch`: a batch's ids are bound as one parameter each (SQLite takes
/// at most 32 766).
pub const MAX_DELIVERY_BATCH: usize = 1000;

/// `[delivery]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
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
#[serde(default, deny_unknown_fields)]
pub struct NodeSettings {
    /// Node name shown in pages and NodeInfo.
    pub name: String,
    /// One sentence about the node.
    pub description: String,
    /// Who answers for the node: an email address or an `https://` page. Shown on
    /// the accessibility page (`/accessibilite`) as the way to report a problem.
    pub contact: String,
}

impl NodeSettings {
    /// The contact as a link target (`mailto:` for an address), when set.
    pub fn contact_href(&self) -> Option<String> {
        let contact = self.contact.trim();
        if contact.is_empty() {
            None
        } else if contact.contains("://") {
            Some(contact.to_string())
        } else {
            Some(format!("mailto:{contact}"))
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
}

impl Default for AggregatorSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            max_groups_per_action: 20,
        }
    }
}

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

/// `[map]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MapSettings {
    /// Where the map's background comes from: `outline` (the France outline served
    /// by the node; no third party), `ign` (the IGN Géoplateforme's Plan IGN tiles),
    /// `openstreetmap`, or `custom` (`tile_url` and `attribution`).
    pub provider: TileProvider,
    /// Tile URL template (`{z}/{x}/{y}`), with `provider = "custom"` only.
    pub tile_url: String,
    /// Attribution shown on the map, with `provider = "custom"` only.
    pub attribution: String,
}

impl Default for MapSettings {
    fn default() -> Self {
        Self {
            provider: TileProvider::Outline,
            tile_url: String::new(),
            attribution: String::new(),
        }
    }
}

/// The map's background (`map.provider`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TileProvider {
    /// The France outline, served by the node: no visitor data leaves it.
    Outline,
    /// Plan IGN v2 from the IGN Géoplateforme's open WMTS access point (Licence
    /// Ouverte / Etalab 2.0, no key; docs/deployment.md cites the terms).
    Ign,
    /// OpenStreetMap's own tile servers (their tile usage policy applies).
    Openstreetmap,
    /// `map.tile_url` and `map.attribution`.
    Custom,
}

/// The tiles a page's map loads, when a third party serves them.
pub struct Tiles {
    /// URL template (`{z}`, `{x}`, `{y}`).
    pub url: String,
    /// The provider's required credit.
    pub attribution: String,
    /// Who serves them, for the sentence telling visitors (French).
    pub provider_name: String,
}

/// Plan IGN v2, Web Mercator, from the Géoplateforme's open WMTS access point.
const IGN_PLAN_TILES: &str = "https://data.geopf.fr/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2&STYLE=normal&TILEMATRIXSET=PM&FORMAT=image/png&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}";

impl MapSettings {
    /// The third-party tiles to load, or `None` for the outline alone.
    pub fn tiles(&self) -> Option<Tiles> {
        match self.provider {
            TileProvider::Outline => None,
            TileProvider::Ign => Some(Tiles {
                url: IGN_PLAN_TILES.into(),
                attribution: "© IGN – Plan IGN".into(),
                provider_name: "l'IGN (Géoplateforme)".into(),
            }),
            TileProvider::Openstreetmap => Some(Tiles {
                url: "https://tile.openstreetmap.org/{z}/{x}/{y}.png".into(),
                attribution: "© contributeurs OpenStreetMap".into(),
                provider_name: "la fondation OpenStreetMap".into(),
            }),
            TileProvider::Custom => Some(Tiles {
                url: self.tile_url.clone(),
                attribution: self.attribution.clone(),
                provider_name: Url::parse(&self.tile_url.replace(['{', '}'], ""))
                    .ok()
                    .and_then(|u| u.host_str().map(|h| format!("le serveur {h}")))
                    .unwrap_or_else(|| "un serveur tiers".into()),
            }),
        }
    }

    /// `(tile URL, attribution, sentence for visitors)` as the pages pass them to the
    /// map script; all empty for the outline alone.
    pub fn for_pages(&self) -> (String, String, String) {
        match self.tiles() {
            None => Default::default(),
            Some(t) => (
                t.url,
                t.attribution,
                format!(
                    "Le fond de carte vient de {} : pour l'afficher, votre navigateur lui demande des images, ce qui lui transmet votre adresse IP.",
                    t.provider_name
                ),
            ),
        }
    }
}

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

/// `[log]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
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
            http: HttpSettings::default(),
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
            contact: String::new(),
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

/// The Debian package's configuration file, read when `--config` is not given and the
/// working directory has no `maillage.toml` (so that `sudo -u maillage maillage …` works
/// from any folder on a packaged node).
pub const SYSTEM_CONFIG_FILE: &str = "/etc/maillage/maillage.toml";

/// The configuration file read without `--config`: `maillage.toml` when it exists, else
/// [`SYSTEM_CONFIG_FILE`] when it exists and this user may read it (others, e.g.
/// someone running `maillage demo` on that machine, get the defaults as before).
fn default_config_file() -> Option<PathBuf> {
    Some(PathBuf::from(DEFAULT_CONFIG_FILE))
        .filter(|p| p.exists())
        .or_else(|| {
            Some(PathBuf::from(SYSTEM_CONFIG_FILE)).filter(|p| std::fs::File::open(p).is_ok())
        })
}

/// Prefix of the environment variables that set keys (`MAILLAGE_<SECTION>__<KEY>`).
const ENV_PREFIX: &str = "MAILLAGE_";

/// Levels a `log.level` directive may name (`tracing`'s, lowercase).
const LOG_LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

/// Settings as loaded, with where they came from (the line each command prints).
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The checked settings.
    pub settings: Settings,
    /// The file read (absolute when it could be resolved); `None`: defaults only.
    pub file: Option<PathBuf>,
    /// The `MAILLAGE_*` variables that set a key, by name.
    pub variables: Vec<String>,
}

/// A configuration refused at load: a French message naming the key, and whether the
/// configuration asked for JSON logs (so that the refusal is written as JSON too).
#[derive(Debug)]
pub struct ConfigError {
    /// What is wrong, where, and how to fix it.
    pub message: String,
    /// `log.format = "json"` could be read despite the error.
    pub json_logs: bool,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// The top-level keys that hold a value rather than a section (`domain`, `bind`): the
/// only `MAILLAGE_*` names without `__` that are settings.
fn top_level_values() -> &'static [String] {
    static KEYS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let defaults = toml::Table::try_from(Settings::default()).expect("BUG: settings serialise");
        defaults
            .into_iter()
            .filter(|(_, value)| !value.is_table())
            .map(|(key, _)| key)
            .collect()
    })
}

/// The key a variable sets: `MAILLAGE_DATABASE__URL` → `database.url`, `MAILLAGE_DOMAIN`
/// → `domain`. `None` for a name that is not a setting: another prefix, or a
/// `MAILLAGE_*` name without `__` that is no top-level key (`MAILLAGE_CONFIG`, the test
/// suite's `MAILLAGE_TEST_DATABASE_URL`). A `__` name that names no known key is still
/// returned, so that it is refused rather than ignored.
pub fn env_key(name: &str) -> Option<String> {
    let prefix = name.get(..ENV_PREFIX.len())?;
    if !prefix.eq_ignore_ascii_case(ENV_PREFIX) {
        return None;
    }
    let rest = name[ENV_PREFIX.len()..].to_ascii_lowercase();
    if rest.contains("__") {
        return Some(rest.replace("__", "."));
    }
    top_level_values().contains(&rest).then_some(rest)
}

/// The `MAILLAGE_*` variables that are settings, as (name, key).
fn setting_variables() -> Vec<(String, String)> {
    let mut variables: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(name, _)| {
            let name = name.into_string().ok()?;
            let key = env_key(name.trim())?;
            Some((name, key))
        })
        .collect();
    variables.sort();
    variables
}

impl Settings {
    /// Loads defaults, the file and the environment, then checks the result.
    ///
    /// # Errors
    /// As [`Settings::load_with_source`].
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        Ok(Self::load_with_source(path)?.settings)
    }

    /// Loads defaults, the file and the `MAILLAGE_<SECTION>__<KEY>` variables, strictly:
    /// an unknown key or variable, a value of the wrong type or an invalid value is
    /// refused, naming the key. The domain is normalised (a default port dropped).
    ///
    /// `path` must exist when given; without it, see [`default_config_file`]:
    /// `maillage.toml`, else `/etc/maillage/maillage.toml`.
    ///
    /// # Errors
    /// A French message naming the key and where it was set.
    pub fn load_with_source(path: Option<&Path>) -> Result<Loaded, ConfigError> {
        let fail = |message: String| ConfigError {
            message,
            json_logs: false,
        };
        let file: Option<PathBuf> = match path {
            Some(path) => {
                if !path.exists() {
                    return Err(fail(format!(
                        "fichier de configuration {} introuvable",
                        path.display()
                    )));
                }
                Some(path.to_path_buf())
            }
            None => default_config_file(),
        };
        let file = file.map(|f| f.canonicalize().unwrap_or(f));
        let variables = setting_variables();
        if let Some((name, _)) = variables
            .iter()
            .find(|(_, key)| key.split('.').any(str::is_empty))
        {
            return Err(fail(format!(
                "variable d'environnement {name} : nom incomplet ; écrivez MAILLAGE_<SECTION>__<CLÉ>, par exemple MAILLAGE_DATABASE__URL"
            )));
        }
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = &file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment =
            figment.merge(Env::raw().filter_map(|name| env_key(name.as_str()).map(Into::into)));
        let json_logs = figment
            .extract_inner::<String>("log.format")
            .is_ok_and(|format| format == "json");
        let fail = |message: String| ConfigError { message, json_logs };
        let mut settings: Settings = figment
            .extract()
            .map_err(|error| fail(describe(error, file.as_deref(), &variables)))?;
        settings.validate().map_err(|error| {
            let place = match &file {
                Some(file) => format!("{} ou variables MAILLAGE_*", file.display()),
                None => "valeurs par défaut ou variables MAILLAGE_*".into(),
            };
            fail(format!("configuration refusée ({place}) : {error:#}"))
        })?;
        settings.domain = settings.canonical_domain();
        Ok(Loaded {
            settings,
            file,
            variables: variables.into_iter().map(|(name, _)| name).collect(),
        })
    }

    /// `map.tile_url` and `map.attribution` go with `map.provider = "custom"` only, and
    /// it needs both: a tile URL set under another provider would be silently ignored.
    fn check_map(&self) -> anyhow::Result<()> {
        let map = &self.map;
        let custom = map.provider == TileProvider::Custom;
        let unused_custom = !map.tile_url.is_empty() || !map.attribution.is_empty();
        if !custom && unused_custom {
            bail!(
                "map.tile_url et map.attribution ne servent qu'avec map.provider = \"custom\" : ajoutez-le, ou retirez-les pour le fond choisi (outline, ign, openstreetmap)"
            );
        }
        if custom {
            let url = Url::parse(&map.tile_url.replace(['{', '}'], "")).ok();
            if url.is_none_or(|u| u.scheme() != "https")
                || !["{z}", "{x}", "{y}"]
                    .iter()
                    .all(|p| map.tile_url.contains(p))
            {
                bail!(
                    "map.tile_url doit être une adresse https:// avec {{z}}, {{x}} et {{y}} (reçu « {} »)",
                    map.tile_url
                );
            }
            if map.attribution.trim().is_empty() {
                bail!(
                    "map.attribution est obligatoire avec map.provider = \"custom\" : le crédit que le fournisseur de tuiles demande"
                );
            }
        }
        Ok(())
    }

    /// Checks values that types cannot.
    ///
    /// # Errors
    /// What is wrong and how to fix it (in French: the operator reads it).
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
                "domain « {} » n'est pas un nom d'hôte : écrivez-le sans schéma ni chemin, par exemple `annuaire.example.fr` ou `localhost:8080`",
                self.domain
            );
        };
        if self.federation.debug && !is_local_host(parsed.host_str().unwrap_or_default()) {
            bail!(
                "federation.debug est réservé au développement (http en clair, pairs en boucle locale) et refusé pour le domaine public « {} » : retirez-le, ou utilisez un domaine localhost",
                self.domain
            );
        }
        self.bind.parse::<std::net::SocketAddr>().with_context(|| {
            format!(
                "bind « {} » n'est pas une adresse comme 127.0.0.1:8080",
                self.bind
            )
        })?;
        if !(self.database.url.starts_with("sqlite:")
            || self.database.url.starts_with("postgres:")
            || self.database.url.starts_with("postgresql:"))
        {
            bail!(
                "database.url doit commencer par sqlite:// ou postgres:// (reçu « {} »)",
                redact(&self.database.url)
            );
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            bail!(
                "log.format doit valoir `text` ou `json` (reçu « {} »)",
                self.log.format
            );
        }
        check_log_level(&self.log.level)?;
        self.check_map()?;
        let contact = self.node.contact.trim();
        if !contact.is_empty() {
            let page = Url::parse(contact)
                .ok()
                .filter(|u| matches!(u.scheme(), "https" | "http") && u.host_str().is_some());
            let address = !contact.contains("://")
                && contact.split_once('@').is_some_and(|(user, host)| {
                    !user.is_empty() && host.contains('.') && !contact.contains(char::is_whitespace)
                });
            if page.is_none() && !address {
                bail!(
                    "node.contact doit être une adresse électronique (accessibilite@ville.fr) ou une page https:// (reçu « {contact} »)"
                );
            }
        }
        let federation = &self.federation;
        if federation.backfill_fetches == 0 || federation.key_fetches_per_host == 0 {
            bail!(
                "federation.backfill_fetches et federation.key_fetches_per_host doivent valoir au moins 1"
            );
        }
        let request_timeout = crate::state::REQUEST_TIMEOUT.as_secs();
        if !(1..=request_timeout).contains(&federation.key_fetch_timeout_secs) {
            bail!(
                "federation.key_fetch_timeout_secs doit être entre 1 et {request_timeout} (reçu {})",
                federation.key_fetch_timeout_secs
            );
        }
        if self.limits.password_hashes == 0 {
            bail!(
                "limits.password_hashes doit valoir au moins 1 (sinon personne ne pourrait se connecter)"
            );
        }
        if !(1..=300).contains(&self.http.header_read_timeout_secs) {
            bail!(
                "http.header_read_timeout_secs doit être entre 1 et 300 (reçu {})",
                self.http.header_read_timeout_secs
            );
        }
        if !(1..=MAX_DELIVERY_BATCH).contains(&self.delivery.batch) {
            bail!(
                "delivery.batch doit être entre 1 et {MAX_DELIVERY_BATCH} (reçu {})",
                self.delivery.batch
            );
        }
        Ok(())
    }

    /// The domain as ids write it: the host as URLs write it (lowercase) and the port
    /// only when it is not the scheme's default, so that `annuaire.example.fr:443`
    /// (https) becomes `annuaire.example.fr`, as in every id, and WebFinger answers for
    /// it. The domain must have passed [`Settings::validate`].
    pub fn canonical_domain(&self) -> String {
        let url = Url::parse(&format!("{}://{}/", self.scheme(), self.domain))
            .expect("BUG: the domain was checked by validate()");
        let host = url.host_str().expect("BUG: checked by validate()");
        match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    }

    /// These settings with secrets hidden (the database password), for display.
    pub fn redacted(&self) -> Settings {
        let mut shown = self.clone();
        shown.database.url = redact(&shown.database.url);
        shown
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

/// Checks a `log.level` filter: each directive is a level or `target=level`, with the
/// levels `tracing` knows. `tracing` itself would take `warning` as a target name and
/// then log nothing at all, errors included.
fn check_log_level(filter: &str) -> anyhow::Result<()> {
    let directives: Vec<&str> = filter
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect();
    if directives.is_empty() {
        bail!("log.level est vide : écrivez un niveau (trace, debug, info, warn, error ou off)");
    }
    for directive in directives {
        // Span filters (`target[span{field=value}]=level`) are left to tracing's parser.
        if directive.contains('[') {
            continue;
        }
        let (target, level) = match directive.rsplit_once('=') {
            Some((target, level)) => (Some(target.trim()), level.trim()),
            None => (None, directive),
        };
        if target.is_some_and(str::is_empty)
            || !LOG_LEVELS.contains(&level.to_ascii_lowercase().as_str())
        {
            let hint = match level.to_ascii_lowercase().as_str() {
                "warning" => " ; vouliez-vous dire « warn » ?".to_string(),
                "err" | "fatal" | "critical" => " ; vouliez-vous dire « error » ?".to_string(),
                "information" | "notice" => " ; vouliez-vous dire « info » ?".to_string(),
                _ => String::new(),
            };
            bail!(
                "log.level « {filter} » : « {directive} » n'est pas un niveau de journal ; niveaux possibles : {}, seuls ou par module (`maillage=debug,info`){hint}",
                LOG_LEVELS.join(", ")
            );
        }
    }
    tracing_subscriber::EnvFilter::try_new(filter)
        .map(drop)
        .map_err(|error| anyhow::anyhow!("log.level « {filter} » invalide : {error}"))
}

/// A figment error in French: the key (dotted), where it was set (a variable or the
/// file) and what is wrong.
fn describe(error: figment::Error, file: Option<&Path>, variables: &[(String, String)]) -> String {
    use figment::error::Kind;
    // The path ends with the unknown field itself for `UnknownField`.
    let path = &error.path;
    let key = path.join(".");
    // Variables win over the file: look there first.
    let variable = variables
        .iter()
        .find(|(_, k)| *k == key || k.starts_with(&format!("{key}.")))
        .map(|(name, _)| name.as_str());
    let place = match (variable, file) {
        (Some(name), _) => format!("variable d'environnement {name}"),
        (None, Some(file)) => format!("{}", file.display()),
        (None, None) => "configuration".into(),
    };
    match &error.kind {
        Kind::UnknownField(field, expected) => {
            let section = &path[..path.len().saturating_sub(1)];
            let what = if let Some(name) = variable {
                format!(
                    "la variable d'environnement {name} ne correspond à aucune clé (« {key} » inconnue)"
                )
            } else {
                format!("clé inconnue « {key} » dans {place}")
            };
            let closest = expected
                .iter()
                .map(|candidate| (strsim::levenshtein(field, candidate), candidate))
                .filter(|(distance, _)| *distance <= 3)
                .min();
            let hint = match closest {
                Some((_, candidate)) => {
                    let mut full = section.to_vec();
                    full.push((*candidate).to_string());
                    format!(" ; vouliez-vous dire « {} » ?", full.join("."))
                }
                None => String::new(),
            };
            let known = if section.is_empty() {
                format!("clés et sections possibles : {}", expected.join(", "))
            } else {
                format!("clés de [{}] : {}", section.join("."), expected.join(", "))
            };
            format!("configuration refusée : {what}{hint} ({known})")
        }
        Kind::InvalidType(actual, expected) | Kind::InvalidValue(actual, expected) => format!(
            "configuration refusée : {key} ({place}) : {} au lieu d'{}",
            actual_fr(actual),
            expected_fr(expected)
        ),
        Kind::Message(message) if path.is_empty() => {
            format!("configuration refusée : {place} est illisible : {message}")
        }
        Kind::Message(message) => {
            let message = match message.as_str() {
                "invalid IP address syntax" => "ce n'est pas une adresse IP",
                other => other,
            };
            format!("configuration refusée : {key} ({place}) : valeur invalide : {message}")
        }
        _ => format!("configuration refusée : {key} ({place}) : {error}"),
    }
}

/// A value found, in French.
fn actual_fr(actual: &figment::error::Actual) -> String {
    use figment::error::Actual;
    match actual {
        Actual::Bool(value) => format!("le booléen {value}"),
        Actual::Unsigned(value) => format!("le nombre {value}"),
        Actual::Signed(value) => format!("le nombre {value}"),
        Actual::Float(value) => format!("le nombre {value}"),
        Actual::Char(value) => format!("le caractère « {value} »"),
        Actual::Str(value) => format!("le texte « {value} »"),
        Actual::Seq => "une liste".into(),
        Actual::Map => "une table".into(),
        Actual::Unit => "une valeur vide".into(),
        other => other.to_string(),
    }
}

/// What serde expected, in French (with an article: « au lieu d'un nombre entier »).
fn expected_fr(expected: &str) -> String {
    match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" => "un nombre entier positif".into(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "un nombre entier".into(),
        "f32" | "f64" => "un nombre".into(),
        "a boolean" => "un booléen (true ou false)".into(),
        "a string" => "un texte entre guillemets".into(),
        "a sequence" => "une liste [ … ]".into(),
        "IP address" => "une adresse IP".into(),
        other if other.starts_with("struct ") => "une section [ … ]".into(),
        other => format!("une valeur de type {other}"),
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
    fn map_providers_and_contact_are_checked() {
        let mut settings = Settings::default();
        assert!(settings.map.tiles().is_none(), "no third party by default");
        settings.map.tile_url = "https://tuiles.example.fr/{z}/{x}/{y}.png".into();
        let error = settings.validate().unwrap_err().to_string();
        assert!(error.contains("map.provider = \"custom\""), "{error}");
        settings.map.provider = TileProvider::Custom;
        let error = settings.validate().unwrap_err().to_string();
        assert!(error.contains("map.attribution est obligatoire"), "{error}");
        settings.map.attribution = "© Tuiles".into();
        settings.validate().unwrap();
        let (_, _, notice) = settings.map.for_pages();
        assert!(notice.contains("le serveur tuiles.example.fr"), "{notice}");
        settings.map.tile_url = "http://tuiles.example.fr/tuile.png".into();
        assert!(
            settings.validate().is_err(),
            "https with {{z}}/{{x}}/{{y}} only"
        );

        let mut settings = Settings::default();
        settings.map.provider = TileProvider::Ign;
        settings.validate().unwrap();
        assert!(settings.map.tiles().unwrap().url.contains("PLANIGNV2"));

        for (contact, valid) in [
            ("accessibilite@ville.fr", true),
            ("https://ville.fr/contact", true),
            ("ville.fr", false),
            ("ftp://ville.fr", false),
            ("a b@ville.fr", false),
        ] {
            let mut settings = Settings::default();
            settings.node.contact = contact.into();
            assert_eq!(settings.validate().is_ok(), valid, "{contact}");
        }
    }

    #[test]
    fn debug_is_refused_for_public_domains() {
        let mut settings = Settings {
            domain: "annuaire.example.fr".into(),
            ..Settings::default()
        };
        settings.federation.debug = true;
        let error = settings.validate().unwrap_err().to_string();
        assert!(error.contains("réservé au développement"), "{error}");
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
    fn password_hashing_needs_a_slot() {
        let mut settings = Settings::default();
        settings.limits.password_hashes = 0;
        assert!(settings.validate().is_err());
    }

    #[test]
    fn header_read_timeout_is_bounded() {
        for (secs, valid) in [(0, false), (1, true), (300, true), (301, false)] {
            let mut settings = Settings::default();
            settings.http.header_read_timeout_secs = secs;
            assert_eq!(settings.validate().is_ok(), valid, "{secs} s");
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

    /// Loads `text` as a configuration file (no variable is set by the unit tests).
    fn load_text(text: &str) -> Result<Loaded, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("maillage.toml");
        std::fs::write(&path, text).unwrap();
        Settings::load_with_source(Some(&path))
    }

    #[test]
    fn unknown_keys_are_refused_with_the_closest_key() {
        for (text, named, hint) in [
            (
                "[federaton]\ndebug = true\n",
                "« federaton »",
                "« federation »",
            ),
            (
                "[database]\nmax_conections = 3\n",
                "« database.max_conections »",
                "« database.max_connections »",
            ),
            ("domaine = \"x.fr\"\n", "« domaine »", "« domain »"),
        ] {
            let error = load_text(text).unwrap_err().message;
            assert!(error.contains(named), "{error}");
            assert!(
                error.contains(&format!("vouliez-vous dire {hint}")),
                "{error}"
            );
            assert!(error.contains("maillage.toml"), "{error}");
        }
    }

    #[test]
    fn wrong_types_are_refused_naming_the_key() {
        for (text, key) in [
            (
                "[database]\nmax_connections = \"huit\"\n",
                "database.max_connections",
            ),
            ("[delivery]\nbatch = -1\n", "delivery.batch"),
            ("[federation]\ndebug = \"oui\"\n", "federation.debug"),
            ("federation = 3\n", "federation"),
            (
                "[limits]\ntrusted_proxies = [\"proxy\"]\n",
                "limits.trusted_proxies",
            ),
        ] {
            let error = load_text(text).unwrap_err().message;
            assert!(
                error.starts_with(&format!("configuration refusée : {key}")),
                "{error}"
            );
        }
        let error = load_text("domain = \"x\n").unwrap_err().message;
        assert!(error.contains("illisible"), "{error}");
    }

    #[test]
    fn log_levels_are_checked() {
        for level in [
            "info",
            "WARN",
            "off",
            "maillage=debug,info",
            "warn,maillage::federation::delivery=debug",
            "info,sqlx=warn",
        ] {
            check_log_level(level).unwrap_or_else(|e| panic!("{level}: {e}"));
        }
        for level in ["warning", "", "maillage", "=info", "info,verbose", "Error!"] {
            assert!(check_log_level(level).is_err(), "{level}");
        }
        let error = load_text("[log]\nlevel = \"warning\"\n").unwrap_err();
        assert!(error.message.contains("log.level"), "{}", error.message);
        assert!(error.message.contains("« warn »"), "{}", error.message);
        assert!(!error.json_logs);
        // The refusal is written as JSON when the configuration asks for JSON logs.
        let error = load_text("[log]\nformat = \"json\"\nlevel = \"warning\"\n").unwrap_err();
        assert!(error.json_logs);
    }

    #[test]
    fn variables_that_are_settings() {
        for (name, key) in [
            ("MAILLAGE_DATABASE__URL", Some("database.url")),
            ("MAILLAGE_DOMAIN", Some("domain")),
            ("maillage_bind", Some("bind")),
            ("MAILLAGE_FEDERATON__DEBUG", Some("federaton.debug")),
            ("MAILLAGE_TEST_DATABASE_URL", None),
            ("MAILLAGE_REQUIRE_BROWSER", None),
            ("MAILLAGE_CONFIG", None),
            ("MAILLAGE_DATABASE", None),
            ("OTHER__DOMAIN", None),
        ] {
            assert_eq!(env_key(name).as_deref(), key, "{name}");
        }
    }

    #[test]
    fn default_ports_are_dropped_from_the_domain() {
        for (text, domain) in [
            (
                "domain = \"Annuaire.Example.fr:443\"\n",
                "annuaire.example.fr",
            ),
            (
                "domain = \"annuaire.example.fr:80\"\n",
                "annuaire.example.fr:80",
            ),
            ("domain = \"localhost:8080\"\n", "localhost:8080"),
            (
                "domain = \"localhost:80\"\n[federation]\ndebug = true\n",
                "localhost",
            ),
            (
                "domain = \"localhost:443\"\n[federation]\ndebug = true\n",
                "localhost:443",
            ),
        ] {
            let loaded = load_text(text).unwrap();
            assert_eq!(loaded.settings.domain, domain, "{text}");
        }
    }

    #[test]
    fn the_example_configuration_loads_strictly() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/maillage.example.toml");
        let loaded = Settings::load_with_source(Some(&example)).unwrap();
        assert_eq!(
            loaded.file.as_deref(),
            Some(example.canonicalize().unwrap().as_path())
        );
    }

    #[test]
    fn secrets_are_redacted_for_display() {
        let mut settings = Settings::default();
        settings.database.url = "postgres://u:secret@db/maillage".into();
        let shown = toml::to_string(&settings.redacted()).unwrap();
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("postgres://u:***@db/maillage"), "{shown}");
    }
}

//! Owns configuration: defaults, then a TOML file (`--config`, default `maillage.toml`
//! in the working directory, else the Debian package's `/etc/maillage/maillage.toml`),
//! then `MAILLAGE_<SECTION>__<KEY>` environment variables (SPEC §7). Checked once at
//! load so that the rest of the code can trust it. One file per section (`[database]`
//! in `database.rs`, …); loading and its French messages in `load.rs`; the checks that
//! span sections ([`Settings::validate`]) here.

mod accessibility;
mod aggregator;
mod database;
mod delivery;
mod directory;
mod federation;
mod http;
mod limits;
mod load;
mod log;
mod map;
mod moderation;
mod node;
mod smtp;
#[cfg(test)]
mod tests;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use url::Url;

pub use accessibility::{AccessibilitySettings, Conformance};
pub use aggregator::{Admission, AggregatorSettings};
pub use database::DatabaseSettings;
pub use delivery::{DeliverySettings, MAX_DELIVERY_BATCH};
pub use directory::DirectorySettings;
pub use federation::FederationSettings;
pub use http::HttpSettings;
pub use limits::LimitSettings;
pub use load::{ConfigError, DEFAULT_CONFIG_FILE, Loaded, SYSTEM_CONFIG_FILE, env_key};
pub use log::LogSettings;
pub use map::{MapSettings, TileProvider, Tiles};
pub use moderation::ModerationSettings;
pub use node::NodeSettings;
pub use smtp::{SmtpSettings, SmtpTls};

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
    /// `[smtp]`: editors' email notifications (off while `host` is empty).
    pub smtp: SmtpSettings,
    /// `[accessibility]`: the RGAA audit the declaration and footer state.
    pub accessibility: AccessibilitySettings,
    /// Logging.
    pub log: LogSettings,
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
            smtp: SmtpSettings::default(),
            accessibility: AccessibilitySettings::default(),
        }
    }
}

impl Settings {
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
        log::check_log_level(&self.log.level)?;
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
        self.check_smtp()?;
        self.check_accessibility()?;
        let federation = &self.federation;
        if federation.backfill_fetches == 0 || federation.key_fetches_per_host == 0 {
            bail!(
                "federation.backfill_fetches et federation.key_fetches_per_host doivent valoir au moins 1"
            );
        }
        let request_timeout = crate::state::REQUEST_TIMEOUT.as_secs();
        if !(1..=24 * 30).contains(&federation.website_check_interval_hours) {
            bail!(
                "federation.website_check_interval_hours doit être entre 1 et 720 (reçu {})",
                federation.website_check_interval_hours
            );
        }
        if !(1..=32).contains(&federation.website_checks) {
            bail!(
                "federation.website_checks doit être entre 1 et 32 (reçu {})",
                federation.website_checks
            );
        }
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
        let aggregator = &self.aggregator;
        for (key, value) in [
            (
                "max_new_actions_per_actor_per_hour",
                aggregator.max_new_actions_per_actor_per_hour,
            ),
            (
                "max_new_actions_per_domain_per_hour",
                aggregator.max_new_actions_per_domain_per_hour,
            ),
            ("max_actors_per_domain", aggregator.max_actors_per_domain),
        ] {
            if value < 0 {
                bail!("aggregator.{key} doit valoir 0 (sans limite) ou plus (reçu {value})");
            }
        }
        if !(1..=MAX_DELIVERY_BATCH).contains(&self.delivery.batch) {
            bail!(
                "delivery.batch doit être entre 1 et {MAX_DELIVERY_BATCH} (reçu {})",
                self.delivery.batch
            );
        }
        Ok(())
    }

    /// What valid settings should still change (French): an empty `node.contact`, a
    /// contact page in plain `http` on an `https` node.
    pub fn warnings(&self) -> Vec<String> {
        self.contact_warning().into_iter().collect()
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

    /// These settings with secrets hidden (the database and SMTP passwords), for display.
    pub fn redacted(&self) -> Settings {
        let mut shown = self.clone();
        shown.database.url = redact(&shown.database.url);
        if !shown.smtp.password.is_empty() {
            shown.smtp.password = "***".into();
        }
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

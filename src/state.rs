//! Owns [`AppState`], the one shared state every handler, service and federation trait
//! receives (config, store, instance actor, base URL).

use std::sync::Arc;

use url::Url;

use crate::config::Settings;
use crate::db::Store;
use crate::db::actors::InstanceActorRecord;

/// Shared application state; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Inner>);

/// What [`AppState`] holds.
#[derive(Debug)]
pub struct Inner {
    /// Settings, checked.
    pub settings: Settings,
    /// Storage.
    pub store: Store,
    /// The instance actor (signs GETs, followed by aggregators).
    pub instance_actor: InstanceActorRecord,
    /// `https://<domain>`, no trailing slash.
    pub base: String,
    /// HTTP client for deliveries and fetches: no redirects, timeouts, and (unless
    /// private addresses are allowed) a resolver refusing private, loopback and
    /// link-local addresses (SSRF guard).
    pub http: reqwest::Client,
    /// Wakes delivery workers when activities are queued.
    pub delivery_wakeup: Arc<tokio::sync::Notify>,
    /// Wakes the notification sender when notices are written.
    pub mail_wakeup: Arc<tokio::sync::Notify>,
    /// Totals and facets of recent searches, valid for one directory generation.
    pub search_cache: crate::service::directory::SearchCache,
    /// Domains and actors refused: `federation.blocked_domains` and the admin's blocks.
    pub blocks: Arc<Blocks>,
    /// Directory exports running now (`[directory]` bounds).
    pub export_slots: crate::service::exports::ExportSlots,
    /// Full-text search cost spent per client address (`directory.search_cost_*`).
    pub search_costs: crate::limits::CostLimiter,
    /// Failed sign-ins to the web admin (rate limit).
    pub login_limiter: crate::service::login_limiter::LoginLimiter,
    /// Password hashes and checks at once (`limits.password_hashes`).
    pub password_hashing: crate::service::passwords::PasswordHashing,
    /// Request rates per remote host and client address (`[limits]`).
    pub rate_limiter: crate::limits::RateLimiter,
    /// Inbox requests per remote host (the unverified `keyId` host), apart.
    pub host_limiter: crate::limits::RateLimiter,
    /// Concurrent fetches of unknown signing keys (each costs a signed outbound GET).
    pub key_fetches: tokio::sync::Semaphore,
    /// Key fetches in flight per remote host.
    pub host_key_fetches: crate::federation::inbox::HostKeyFetches,
    /// Backfills running (one per actor at most).
    pub backfills: crate::federation::backfill::Backfills,
    /// Remote actors' public keys, parsed once.
    pub verifying_keys: crate::federation::inbox::KeyCache,
    /// Key owners whose fetch failed in the last minute.
    pub failed_fetches: crate::federation::inbox::FailedFetches,
    /// Instances recently marked reachable (not marked again on every activity).
    pub recently_alive: crate::federation::delivery::RecentlyAlive,
    /// How to sign requests to each remote host (draft-cavage or RFC 9421).
    pub signature_styles: crate::federation::signing::HostSignatures,
}

/// The domain policy: the domains and actors this node refuses (inbound `403`, no
/// fetch, no delivery). Refused: the configured `federation.blocked_domains`, the
/// admin's blocks, and in allow-list mode every domain neither configured in
/// `federation.allowed_domains` nor allowed by the admin (a block wins over an allow;
/// this node's own domain, as configured with its port, is never refused). The admin's lists are read again by
/// [`Blocks::reload`] after each change and periodically by delivery workers.
#[derive(Debug, Default)]
pub struct Blocks {
    configured: Vec<String>,
    allowlist_mode: bool,
    configured_allows: Vec<String>,
    own_domain: String,
    domains: std::sync::RwLock<Vec<String>>,
    allows: std::sync::RwLock<Vec<String>>,
    actors: std::sync::RwLock<std::collections::HashSet<String>>,
    reloading: tokio::sync::Mutex<()>,
}

impl Blocks {
    /// The policy of `settings`, before the admin's lists are read.
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            configured: settings.federation.blocked_domains.clone(),
            allowlist_mode: settings.federation.allowlist_mode,
            configured_allows: settings.federation.allowed_domains.clone(),
            own_domain: settings.domain.to_ascii_lowercase(),
            ..Default::default()
        }
    }

    /// True when `domain` (or a parent domain) is blocked, or, in allow-list mode,
    /// not allowed.
    pub fn domain(&self, domain: &str) -> bool {
        use crate::config::domain_listed;
        if domain.eq_ignore_ascii_case(&self.own_domain) {
            return false;
        }
        if domain_listed(&self.configured, domain)
            || domain_listed(&self.domains.read().expect("BUG: poisoned blocks"), domain)
        {
            return true;
        }
        self.allowlist_mode
            && !domain_listed(&self.configured_allows, domain)
            && !domain_listed(&self.allows.read().expect("BUG: poisoned blocks"), domain)
    }

    /// True when the actor `ap_id` is blocked, or its domain.
    pub fn actor(&self, ap_id: &Url) -> bool {
        ap_id.host_str().is_some_and(|host| self.domain(host))
            || self
                .actors
                .read()
                .expect("BUG: poisoned blocks")
                .contains(ap_id.as_str())
    }

    /// Whether allow-list mode is on (`federation.allowlist_mode`).
    pub fn allowlist_mode(&self) -> bool {
        self.allowlist_mode
    }

    /// Reads the admin's blocks and allows again.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn reload(&self, store: &Store) -> crate::db::StoreResult<()> {
        // One reload at a time, so that an older snapshot never replaces a newer one.
        let _one_at_a_time = self.reloading.lock().await;
        let (mut domains, mut actors) = (Vec::new(), std::collections::HashSet::new());
        for block in store.blocks().await? {
            if block.kind == "actor" {
                actors.insert(block.target);
            } else {
                domains.push(block.target);
            }
        }
        let allows = store
            .allows()
            .await?
            .into_iter()
            .map(|a| a.domain)
            .collect();
        *self.domains.write().expect("BUG: poisoned blocks") = domains;
        *self.actors.write().expect("BUG: poisoned blocks") = actors;
        *self.allows.write().expect("BUG: poisoned blocks") = allows;
        Ok(())
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Signing keys fetched at once at most (inbox and authorized fetch).
pub const KEY_FETCHES: usize = 16;

/// Timeout of every outbound request (SPEC §3: 10 s).
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn http_client(settings: &Settings, base: &str) -> anyhow::Result<reqwest::Client> {
    let resolver = activitypub_federation::resolver::ValidatingDnsResolver::new(
        Vec::new(),
        !settings.allows_private_addresses(),
    );
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(REQUEST_TIMEOUT)
        .user_agent(format!("Maillage/{} (+{base}/)", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(resolver))
        .build()?)
}

impl AppState {
    /// Wraps the parts and builds the outbound HTTP client.
    ///
    /// # Errors
    /// The HTTP client cannot be built (TLS back-end failure).
    pub fn new(
        settings: Settings,
        store: Store,
        instance_actor: InstanceActorRecord,
    ) -> anyhow::Result<Self> {
        let base = settings
            .base_url()
            .as_str()
            .trim_end_matches('/')
            .to_string();
        let http = http_client(&settings, &base)?;
        let blocks = Arc::new(Blocks::from_settings(&settings));
        let password_hashing = crate::service::passwords::PasswordHashing::new(
            settings.limits.password_hashes,
            std::time::Duration::from_millis(settings.limits.password_hash_wait_ms),
        );
        let export_slots = crate::service::exports::ExportSlots::new(
            settings.directory.max_concurrent_exports,
            settings.directory.max_exports_per_address,
        );
        Ok(Self(Arc::new(Inner {
            settings,
            store,
            instance_actor,
            base,
            http,
            delivery_wakeup: Arc::default(),
            mail_wakeup: Arc::default(),
            search_cache: Default::default(),
            export_slots,
            search_costs: Default::default(),
            blocks,
            login_limiter: Default::default(),
            password_hashing,
            rate_limiter: Default::default(),
            host_limiter: Default::default(),
            key_fetches: tokio::sync::Semaphore::new(KEY_FETCHES),
            host_key_fetches: Default::default(),
            backfills: Default::default(),
            verifying_keys: Default::default(),
            failed_fetches: Default::default(),
            recently_alive: Default::default(),
            signature_styles: Default::default(),
        })))
    }

    /// An absolute URL on this node for `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> Url {
        Url::parse(&format!("{}{path}", self.base)).expect("BUG: base URL and path are valid")
    }
}

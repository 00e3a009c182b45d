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
    /// Totals and facets of recent searches, valid for one directory generation.
    pub search_cache: crate::service::directory::SearchCache,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

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
        Ok(Self(Arc::new(Inner {
            settings,
            store,
            instance_actor,
            base,
            http,
            delivery_wakeup: Arc::default(),
            search_cache: Default::default(),
        })))
    }

    /// An absolute URL on this node for `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> Url {
        Url::parse(&format!("{}{path}", self.base)).expect("BUG: base URL and path are valid")
    }
}

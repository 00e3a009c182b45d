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
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Wraps the parts.
    pub fn new(settings: Settings, store: Store, instance_actor: InstanceActorRecord) -> Self {
        let base = settings
            .base_url()
            .as_str()
            .trim_end_matches('/')
            .to_string();
        Self(Arc::new(Inner {
            settings,
            store,
            instance_actor,
            base,
        }))
    }

    /// An absolute URL on this node for `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> Url {
        Url::parse(&format!("{}{path}", self.base)).expect("BUG: base URL and path are valid")
    }
}

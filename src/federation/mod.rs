//! Owns the ActivityPub side of a node (SPEC §3): the `@context`, the wire structs and
//! their conversion to and from domain values (`objects/`, the only AS2 ↔ domain
//! bridge), activity wrapping (`activities`), collections, WebFinger, NodeInfo, the `/ns`
//! vocabulary, and the routes that serve them with content negotiation (`routes`).
//! Inbound traffic (inbox, signatures) and delivery build on this.

pub mod activities;
pub mod backfill;
pub mod budget;
pub mod collections;
pub mod delivery;
pub mod discovery;
pub mod groups;
pub mod inbox;
pub mod objects;
pub mod receive;
pub mod routes;
pub mod signing;
pub mod vocabulary;

use activitypub_federation::config::FederationConfig;

use crate::db::StoreError;
use crate::state::AppState;

/// The content type of ActivityPub documents.
pub const AS2_CONTENT_TYPE: &str = "application/activity+json";

/// Errors of the federation traits (fetching, parsing remote documents).
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    /// From the federation library (fetch, signature, URL checks).
    #[error(transparent)]
    Library(#[from] activitypub_federation::error::Error),
    /// From storage.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A remote document we cannot accept.
    #[error("invalid remote document: {0}")]
    Invalid(String),
}

/// Refuses URLs on blocked domains in every fetch the federation library makes.
#[derive(Clone)]
struct BlockList(std::sync::Arc<crate::state::Blocks>);

#[async_trait::async_trait]
impl activitypub_federation::config::UrlVerifier for BlockList {
    async fn verify(&self, url: &url::Url) -> Result<(), activitypub_federation::error::Error> {
        match url.host_str() {
            Some(host) if self.0.domain(host) => Err(
                activitypub_federation::error::Error::UrlVerificationError("blocked domain"),
            ),
            _ => Ok(()),
        }
    }
}

/// Builds the federation library's configuration around the app state.
///
/// # Errors
/// The library refuses the domain.
pub async fn federation_config(state: AppState) -> anyhow::Result<FederationConfig<AppState>> {
    let domain = state.settings.domain.clone();
    let debug = state.settings.federation.debug;
    // Every fetch counts against the budget of the work that makes it (`budget`).
    // Signed GETs go out as draft-cavage or RFC 9421 per host, with a second knock on
    // `401` (`signing`); the retry counts as the same fetch.
    let client = reqwest_middleware::ClientBuilder::new(state.http.clone())
        .with(budget::CountFetches)
        .with(signing::SignatureKnock::new(state.clone())?)
        .build();
    let instance = state
        .store
        .actor_by_id(state.instance_actor.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("instance actor missing"))?;
    let blocked = BlockList(state.blocks.clone());
    let config = FederationConfig::builder()
        .domain(domain)
        .url_verifier(Box::new(blocked))
        .app_data(state)
        .debug(debug)
        .allow_http_urls(debug)
        .http_fetch_limit(budget::INBOUND_FETCHES)
        .request_timeout(crate::state::REQUEST_TIMEOUT)
        .client(client)
        // Every remote fetch is signed by the instance actor, so servers in
        // authorized-fetch mode (Mastodon secure mode, GoToSocial) answer.
        .signed_fetch_actor(&instance)
        // Mastodon-compatible signatures (draft-cavage with Host and Date covered):
        // without it the library signs only (created)/(expires), which Mastodon, and
        // our own authorized-fetch check, refuse.
        .http_signature_compat(true)
        .build()
        .await?;
    Ok(config)
}

//! Owns the ActivityPub side of a node (SPEC §3): the `@context`, the wire structs and
//! their conversion to and from domain values (`objects/`, the only AS2 ↔ domain
//! bridge), activity wrapping (`activities`), collections, WebFinger, NodeInfo, the `/ns`
//! vocabulary, and the routes that serve them with content negotiation (`routes`).
//! Inbound traffic (inbox, signatures) and delivery build on this.

pub mod activities;
pub mod collections;
pub mod context;
pub mod discovery;
pub mod objects;
pub mod routes;
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

/// Builds the federation library's configuration around the app state.
///
/// # Errors
/// The library refuses the domain.
pub async fn federation_config(state: AppState) -> anyhow::Result<FederationConfig<AppState>> {
    let domain = state.settings.domain.clone();
    let debug = state.settings.federation.debug;
    let config = FederationConfig::builder()
        .domain(domain)
        .app_data(state)
        .debug(debug)
        .allow_http_urls(debug)
        .http_fetch_limit(20)
        .build()
        .await?;
    Ok(config)
}

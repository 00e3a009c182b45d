//! Fake remote hosts served by the harness: each listens on its own loopback port
//! (`localhost:PORT` is one host for the node: its own rate limits, its own queue),
//! publishes actors with real RSA keys, and has an inbox that verifies every signature
//! it receives.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use maillage::activitypub::signatures;
use serde_json::{Value, json};

/// An RSA key pair, parsed and as PEM.
pub struct Key {
    /// Public key, PEM.
    pub public_pem: String,
    /// Private key, ready to sign.
    pub private: signatures::SigningKey,
}

/// Generates `n` RSA-2048 keys (shared by the fake actors: generation is slow).
pub async fn keys(n: usize) -> anyhow::Result<Vec<Arc<Key>>> {
    let mut keys = Vec::new();
    for _ in 0..n {
        let pair = maillage::service::keys::generate_keypair().await?;
        keys.push(Arc::new(Key {
            private: signatures::SigningKey::from_pem(&pair.private_key)?,
            public_pem: pair.public_key,
        }));
    }
    Ok(keys)
}

/// A fake actor on a fake host.
#[derive(Clone)]
pub struct Actor {
    /// `http://localhost:PORT/actors/NAME`.
    pub id: url::Url,
    /// Its key.
    pub key: Arc<Key>,
    /// `id#main-key`.
    pub key_id: String,
}

/// A fake host and what its inbox saw.
pub struct Host {
    /// `localhost:PORT`.
    pub domain: String,
    /// Its actors.
    pub actors: Vec<Actor>,
    /// Deliveries whose signature verified.
    pub verified: Arc<AtomicU64>,
    /// Deliveries refused (bad or missing signature).
    pub refused: Arc<AtomicU64>,
}

#[derive(Clone)]
struct HostState {
    base: String,
    actors: Arc<Vec<Actor>>,
    /// The key every sender's deliveries are verified with (the node's collectivité).
    sender_key: Sender,
    verified: Arc<AtomicU64>,
    refused: Arc<AtomicU64>,
}

fn actor_document(base: &str, actor: &Actor) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": actor.id,
        "type": "Organization",
        "preferredUsername": actor.id.path_segments().and_then(|mut s| s.nth(1)).unwrap_or("x"),
        "name": format!("Commune fictive {}", actor.id),
        "inbox": format!("{}/inbox", actor.id),
        "endpoints": {"sharedInbox": format!("{base}/inbox")},
        "publicKey": {"id": actor.key_id, "owner": actor.id, "publicKeyPem": actor.key.public_pem},
    })
}

async fn get_actor(State(host): State<HostState>, Path(name): Path<String>) -> impl IntoResponse {
    match host
        .actors
        .iter()
        .find(|a| a.id.path().ends_with(&format!("/{name}")))
    {
        Some(actor) => (
            [("content-type", "application/activity+json")],
            actor_document(&host.base, actor).to_string(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn inbox(
    State(host): State<HostState>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let checked = (|| {
        let key = host.sender_key.get()?;
        let digest = headers.get("digest")?.to_str().ok()?;
        signatures::verify_digest(digest, &body).ok()?;
        let header = signatures::SignatureHeader::from_request_headers(&headers).ok()?;
        signatures::verify_with_key(
            "POST",
            uri.path(),
            &headers,
            &header,
            key,
            &signatures::POST_POLICY,
            chrono::Utc::now(),
        )
        .ok()
    })();
    if checked.is_some() {
        host.verified.fetch_add(1, Ordering::Relaxed);
        StatusCode::ACCEPTED
    } else {
        host.refused.fetch_add(1, Ordering::Relaxed);
        StatusCode::UNAUTHORIZED
    }
}

/// The key the fake inboxes verify deliveries with, set once the sender exists.
pub type Sender = Arc<std::sync::OnceLock<signatures::VerifyingKey>>;

/// Starts `hosts` fake hosts with `per_host` actors each, keys taken in turn from
/// `keys`; their inboxes verify deliveries against `sender_key` once it is set.
pub async fn start(
    hosts: usize,
    per_host: usize,
    keys: &[Arc<Key>],
    sender_key: Sender,
) -> anyhow::Result<Vec<Host>> {
    let mut started = Vec::new();
    for h in 0..hosts {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let domain = format!("localhost:{}", listener.local_addr()?.port());
        let base = format!("http://{domain}");
        let actors: Vec<Actor> = (0..per_host)
            .map(|a| {
                let id: url::Url = format!("{base}/actors/commune{h}x{a}").parse().unwrap();
                Actor {
                    key_id: format!("{id}#main-key"),
                    id,
                    key: keys[(h * per_host + a) % keys.len()].clone(),
                }
            })
            .collect();
        let state = HostState {
            base,
            actors: Arc::new(actors.clone()),
            sender_key: sender_key.clone(),
            verified: Arc::default(),
            refused: Arc::default(),
        };
        let host = Host {
            domain,
            actors,
            verified: state.verified.clone(),
            refused: state.refused.clone(),
        };
        let router = Router::new()
            .route("/actors/{name}", get(get_actor))
            .route("/inbox", post(inbox))
            .route("/actors/{name}/inbox", post(inbox))
            .with_state(state);
        tokio::spawn(async move { axum::serve(listener, router).await });
        started.push(host);
    }
    Ok(started)
}

//! Owns the inboxes (per actor, shared `/inbox`, the instance actor's): where an
//! inbound activity is checked before anything is applied (SPEC §3 "Signatures and
//! fetching"). In order: body size, `Signature` present, `Digest` (draft-cavage) or
//! `Content-Digest` (RFC 9421, when `Signature-Input` is present) matches the body,
//! JSON shape, domain blocks, the signing key fetched (signed GET, SSRF-guarded,
//! bounded), signature and `Date` window verified, key owner = `actor`, then
//! idempotence, then [`super::receive`] applies it. Answers: `202` applied or ignored,
//! `400` malformed, `401` unsigned or bad signature, `403` blocked or mismatched,
//! `413` too large; never a `5xx` for what a peer sends.

use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::Utc;
use serde_json::Value;
use url::Url;

use super::receive::{self, Applied, Gate};
use crate::activitypub::activities::{InboundActivity, InvalidActivity};
use crate::activitypub::signatures::{self, POST_POLICY, RequestSignature};
use crate::db::actors::ActorRecord;
use crate::error::AppError;
use crate::state::AppState;

/// The inbox routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/inbox", post(post_inbox))
        .route("/actor/inbox", post(post_inbox))
        .route("/actors/{username}/inbox", post(post_inbox))
        .route("/groups/{name}/inbox", post(post_inbox))
}

/// Why an inbound activity was refused.
#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    /// No usable signature, or it does not verify.
    #[error("{0}")]
    Unauthorized(String),
    /// Blocked domain, or the signer is not the actor.
    #[error("{0}")]
    Forbidden(String),
    /// Not an activity we can read.
    #[error("{0}")]
    BadRequest(String),
    /// Too large.
    #[error("payload too large")]
    TooLarge,
    /// Not now (a cap is reached): `429` with `Retry-After`, so that the sender
    /// tries again later.
    #[error("{message}")]
    Busy {
        /// Why, in French.
        message: String,
        /// Seconds to wait.
        after: u64,
    },
    /// This node cannot take it now (overloaded, shutting down): `503` with
    /// `Retry-After`. Not [`InboxError::Busy`]: a `429` tells the sender that it sends
    /// too much, which is not what happened.
    #[error("{message}")]
    Unavailable {
        /// Why, in French.
        message: String,
        /// Seconds to wait.
        after: u64,
    },
    /// Our own failure (database).
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<InboxError> for AppError {
    fn from(error: InboxError) -> Self {
        match error {
            InboxError::Unauthorized(m) => AppError::Unauthorized(m),
            InboxError::Forbidden(m) => AppError::Forbidden(m),
            InboxError::BadRequest(m) => AppError::BadRequest(m),
            InboxError::TooLarge => AppError::PayloadTooLarge,
            InboxError::Busy { message, after } => AppError::RateLimited {
                message,
                retry_after: after,
            },
            InboxError::Unavailable { message, after } => AppError::Unavailable {
                message,
                retry_after: after,
            },
            InboxError::Internal(e) => AppError::Internal(e),
        }
    }
}

/// A service refusing what an activity asks answers `400` (or `403`); a failure of
/// ours stays internal.
impl From<AppError> for InboxError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Internal(e) => InboxError::Internal(e),
            AppError::Unauthorized(m) | AppError::Forbidden(m) => InboxError::Forbidden(m),
            AppError::RateLimited {
                message,
                retry_after,
            } => InboxError::Busy {
                message,
                after: retry_after,
            },
            AppError::Unavailable {
                message,
                retry_after,
            } => InboxError::Unavailable {
                message,
                after: retry_after,
            },
            other => InboxError::BadRequest(other.to_string()),
        }
    }
}

impl From<crate::db::StoreError> for InboxError {
    fn from(error: crate::db::StoreError) -> Self {
        InboxError::Internal(error.into())
    }
}

pub use crate::activitypub::activities::Envelope;
pub use crate::activitypub::ids::{MAX_ID_LEN, id_of, parse_id};

impl From<InvalidActivity> for InboxError {
    fn from(error: InvalidActivity) -> Self {
        InboxError::BadRequest(error.0)
    }
}

/// Reads the envelope of an activity ([`Envelope::read`]).
///
/// # Errors
/// [`InboxError::BadRequest`] when `id`, `type` or `actor` is missing or invalid.
pub fn envelope(activity: &Value) -> Result<Envelope, InboxError> {
    Ok(Envelope::read(activity)?)
}

/// Paths served without a signature even in authorized-fetch mode: the instance actor
/// (whose key verifies everyone else's fetches), discovery, the vocabulary.
fn exempt_from_authorized_fetch(path: &str) -> bool {
    path == "/actor"
        || path.starts_with("/.well-known/")
        || path.starts_with("/nodeinfo/")
        || path == "/ns"
}

/// Paths that also have an HTML page (`/actors/{username}`, `/actions/{id}`): only these
/// may skip the signature by asking for HTML; collections and activities may not.
fn has_html_version(path: &str) -> bool {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    matches!(segments.as_slice(), ["actors" | "actions" | "groups", _])
}

/// Authorized-fetch mode (`federation.authorized_fetch`, SPEC §3): ActivityPub GETs
/// need a valid signature from a non-blocked domain; HTML stays public.
pub async fn authorized_fetch(
    data: Data<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path().to_string();
    let reads = request.method() == Method::GET || request.method() == Method::HEAD;
    if !data.settings.federation.authorized_fetch
        || !reads
        || (super::routes::wants_html(request.headers()) && has_html_version(&path))
        || exempt_from_authorized_fetch(&path)
    {
        return next.run(request).await;
    }
    let path_and_query = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or(path);
    let verified = verify_signature(
        &data,
        request.method(),
        &path_and_query,
        request.headers(),
        &signatures::GET_POLICY,
    );
    match super::budget::within(super::budget::INBOUND_FETCHES, verified)
        .await
        .0
    {
        Ok(_) => next.run(request).await,
        Err(error) => {
            tracing::info!(%error, path = path_and_query, "unsigned or refused fetch");
            AppError::from(error).into_response()
        }
    }
}

/// Public keys parsed once, by PEM: parsing costs more than verifying. Bounded: past
/// [`KeyCache::MAX`] keys the cache starts afresh.
#[derive(Debug, Default)]
pub struct KeyCache(
    std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<signatures::VerifyingKey>>>,
);

impl KeyCache {
    /// Keys kept at most.
    pub const MAX: usize = 10_000;

    /// The parsed key of `pem`.
    ///
    /// # Errors
    /// The PEM is not an RSA public key.
    pub fn get(
        &self,
        pem: &str,
    ) -> Result<std::sync::Arc<signatures::VerifyingKey>, signatures::SignatureError> {
        if let Some(key) = self.0.lock().expect("BUG: poisoned key cache").get(pem) {
            return Ok(key.clone());
        }
        let key = std::sync::Arc::new(signatures::VerifyingKey::from_pem(pem)?);
        let mut keys = self.0.lock().expect("BUG: poisoned key cache");
        if keys.len() >= Self::MAX {
            keys.clear();
        }
        keys.insert(pem.to_string(), key.clone());
        Ok(key)
    }
}

/// Key owners whose fetch failed recently: for a minute, their signatures are refused
/// without fetching again, so that junk naming an unreachable (or a victim's) actor
/// does not turn into one outbound request each. Bounded like [`KeyCache`].
#[derive(Debug, Default)]
pub struct FailedFetches(std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>);

impl FailedFetches {
    const FOR: std::time::Duration = std::time::Duration::from_secs(60);

    fn recent(&self, owner: &Url) -> bool {
        self.0
            .lock()
            .expect("BUG: poisoned fetch failures")
            .get(owner.as_str())
            .is_some_and(|at| at.elapsed() < Self::FOR)
    }

    fn record(&self, owner: &Url) {
        let mut failures = self.0.lock().expect("BUG: poisoned fetch failures");
        if failures.len() >= KeyCache::MAX {
            failures.retain(|_, at| at.elapsed() < Self::FOR);
            if failures.len() >= KeyCache::MAX {
                failures.clear();
            }
        }
        failures.insert(owner.to_string(), std::time::Instant::now());
    }
}

/// Whether the federation library would fetch a stored remote actor again before using
/// it: a day after its last fetch, 20 s in debug builds (its `should_refetch_object`).
fn due_for_refresh(last_refreshed_at: chrono::DateTime<Utc>) -> bool {
    let interval = if cfg!(debug_assertions) {
        chrono::Duration::seconds(20)
    } else {
        chrono::Duration::days(1)
    };
    Utc::now() - last_refreshed_at > interval
}

/// Key fetches running or waiting per host (host and port), at most
/// `federation.key_fetches_per_host` running each; a host's entry goes with its last
/// fetch, so the map only holds hosts being fetched from.
#[derive(Debug, Default)]
pub struct HostKeyFetches(
    std::sync::Mutex<
        std::collections::HashMap<String, (std::sync::Arc<tokio::sync::Semaphore>, usize)>,
    >,
);

/// A place in one host's line of key fetches; leaves it when dropped.
struct HostTurn<'a> {
    hosts: &'a HostKeyFetches,
    host: String,
}

impl HostKeyFetches {
    /// Waits for a turn to fetch from `host`; the permit goes back when it is dropped.
    async fn turn(
        &self,
        host: &str,
        per_host: usize,
    ) -> (HostTurn<'_>, Option<tokio::sync::OwnedSemaphorePermit>) {
        let permits = {
            let mut hosts = self.0.lock().expect("BUG: poisoned host key fetches");
            let entry = hosts.entry(host.to_string()).or_insert_with(|| {
                let permits = tokio::sync::Semaphore::new(per_host.max(1));
                (std::sync::Arc::new(permits), 0)
            });
            entry.1 += 1;
            entry.0.clone()
        };
        // In line from here, also if the caller gives up while waiting.
        let turn = HostTurn {
            hosts: self,
            host: host.to_string(),
        };
        // The semaphore is never closed.
        (turn, permits.acquire_owned().await.ok())
    }

    /// Key fetches running or waiting for `host` (`host:port` when the port is explicit).
    pub fn in_line(&self, host: &str) -> usize {
        self.0
            .lock()
            .expect("BUG: poisoned host key fetches")
            .get(host)
            .map_or(0, |entry| entry.1)
    }
}

impl Drop for HostTurn<'_> {
    fn drop(&mut self) {
        let mut hosts = self.hosts.0.lock().expect("BUG: poisoned host key fetches");
        if let Some(entry) = hosts.get_mut(&self.host) {
            entry.1 -= 1;
            if entry.1 == 0 {
                hosts.remove(&self.host);
            }
        }
    }
}

/// The signing actor: from the database, or fetched (signed GET by the instance actor).
///
/// A fetch waits for its turn among the fetches from the same host
/// (`federation.key_fetches_per_host`), then, for an actor not stored yet, for one of
/// the node's [`crate::state::KEY_FETCHES`] permits; waiting and fetching together get
/// `federation.key_fetch_timeout_secs`. So a host that answers slowly holds at most its
/// share of the permits, for a short time, and first contacts from other hosts go on.
async fn signer(
    data: &Data<AppState>,
    owner: &Url,
    refresh: bool,
) -> Result<ActorRecord, InboxError> {
    let unavailable =
        || InboxError::Unauthorized(format!("clé de signature introuvable pour {owner}"));
    let known = if refresh {
        None
    } else {
        data.store.actor_by_ap_id(owner).await?
    };
    // A stored copy recent enough is the answer: asking the library would read it
    // again from the database before reaching the same conclusion.
    if let Some(actor) = &known {
        if actor.local || !due_for_refresh(actor.last_refreshed_at) {
            return Ok(actor.clone());
        }
    }
    if data.failed_fetches.recent(owner) {
        // Not again within the minute; a stored copy still serves.
        return known.ok_or_else(unavailable);
    }
    let settings = &data.settings.federation;
    let deadline = std::time::Duration::from_secs(settings.key_fetch_timeout_secs);
    let host = super::objects::collectivite::domain_of(owner).unwrap_or_default();
    let fetch = async {
        // Per host first: a slow host's other requests wait here, not for a permit.
        let (_turn, _host_permit) = data
            .host_key_fetches
            .turn(&host, settings.key_fetches_per_host)
            .await;
        // A fetch is a signed outbound GET: a bounded number at once, whatever keyIds
        // a flood names (a known actor is only refreshed when its copy is old).
        let _permit = match known {
            Some(_) => None,
            None => Some(
                data.key_fetches
                    .acquire()
                    .await
                    .map_err(|_| "key fetch limiter closed".to_string())?,
            ),
        };
        let id: ObjectId<ActorRecord> = owner.clone().into();
        let fetched = if refresh {
            id.dereference_forced(data).await
        } else {
            id.dereference(data).await
        };
        fetched.map_err(|error| error.to_string())
    };
    let fetched = tokio::time::timeout(deadline, fetch)
        .await
        .unwrap_or_else(|_| Err(format!("no key within {} s", deadline.as_secs())));
    fetched.or_else(|error| {
        tracing::info!(key_owner = %owner, %error, "signing key unavailable");
        data.failed_fetches.record(owner);
        // As the library does when a refresh fails: the stored copy serves.
        known.ok_or_else(unavailable)
    })
}

/// Refuses a signature made for another server: the signed `host` must be this node's
/// domain as configured (with its port, if any; a default port written out is the same
/// host). Otherwise a request signed for someone else could be replayed here within its
/// `Date` window.
fn check_signed_host(
    headers: &HeaderMap,
    settings: &crate::config::Settings,
) -> Result<(), InboxError> {
    let mut values = headers.get_all(axum::http::header::HOST).iter();
    let host = match (values.next(), values.next()) {
        (Some(value), None) => value.to_str().unwrap_or_default(),
        _ => "",
    };
    if same_authority(host, &settings.domain, settings.scheme()) {
        return Ok(());
    }
    Err(InboxError::Unauthorized(format!(
        "signature faite pour l'hôte « {} », pas pour ce nœud ({})",
        host.chars().take(200).collect::<String>(),
        settings.domain
    )))
}

/// Whether two `host[:port]` values name the same host and port under `scheme`.
fn same_authority(a: &str, b: &str, scheme: &str) -> bool {
    let parse = |authority: &str| {
        Url::parse(&format!("{scheme}://{authority}/"))
            .ok()
            .filter(|url| {
                url.username().is_empty()
                    && url.password().is_none()
                    && url.path() == "/"
                    && url.query().is_none()
                    && url.fragment().is_none()
            })
            .and_then(|url| {
                let host = url.host_str()?.trim_end_matches('.').to_string();
                Some((host, url.port_or_known_default()))
            })
    };
    !a.is_empty() && matches!((parse(a), parse(b)), (Some(x), Some(y)) if x == y)
}

/// Verifies the HTTP signature of a request against `policy` and returns the signer:
/// cheap checks first (header syntax, coverage, `Date` window, domain blocks), then the
/// key fetched or read from the database, then the RSA check (with one refetch, in case
/// the key was rotated).
///
/// # Errors
/// `Unauthorized` for a missing or bad signature, `Forbidden` for a blocked domain.
pub async fn verify_signature(
    data: &Data<AppState>,
    method: &Method,
    path_and_query: &str,
    headers: &HeaderMap,
    policy: &signatures::VerifyPolicy,
) -> Result<ActorRecord, InboxError> {
    let signature = RequestSignature::from_request_headers(headers).map_err(|e| match e {
        signatures::SignatureError::Missing => {
            InboxError::Unauthorized("signature HTTP requise (en-tête Signature)".into())
        }
        other => InboxError::Unauthorized(format!("en-tête Signature invalide : {other}")),
    })?;
    let owner = signature
        .key_owner()
        .map_err(|e| InboxError::Unauthorized(format!("keyId invalide : {e}")))?;
    let domain = owner.host_str().unwrap_or_default();
    if data.blocks.domain(domain) {
        return Err(InboxError::Forbidden(format!(
            "le domaine {domain} est bloqué"
        )));
    }
    signature
        .check_coverage_and_date(headers, policy, Utc::now())
        .map_err(|e| InboxError::Unauthorized(format!("signature refusée : {e}")))?;
    // draft-cavage signs the `Host` header; RFC 9421 signs the target URI, which is
    // rebuilt from this node's own scheme and domain, so a signature made for another
    // server cannot verify here either way.
    if !signature.is_rfc9421() {
        check_signed_host(headers, &data.settings)?;
    }
    let authority = data.settings.domain.to_ascii_lowercase();
    let request = signatures::RequestTarget {
        method: method.as_str(),
        scheme: data.settings.scheme(),
        authority: &authority,
        path_and_query,
    };
    let mut actor = signer(data, &owner, false).await?;
    let verify = |actor: &ActorRecord| {
        let key = data.verifying_keys.get(&actor.public_key_pem)?;
        signature.verify(&request, headers, &key, policy, Utc::now())
    };
    if let Err(first) = verify(&actor) {
        // A key may have been rotated: fetch the actor again, but at most once a minute
        // per actor, so that bad signatures cannot make this node hammer a host.
        let fresh = Utc::now() - actor.last_refreshed_at < chrono::Duration::seconds(60);
        if actor.local || fresh {
            return Err(InboxError::Unauthorized(format!(
                "signature refusée : {first}"
            )));
        }
        actor = signer(data, &owner, true).await?;
        verify(&actor).map_err(|e| InboxError::Unauthorized(format!("signature refusée : {e}")))?;
    }
    if signature.is_rfc9421() && !actor.local {
        // The host speaks RFC 9421: sign to it that way from now on. A failure to
        // record it (a busy database) costs a draft-cavage signature later, never the
        // verified request.
        if let Err(error) = data
            .signature_styles
            .remember(
                &data.store,
                &actor.domain,
                super::signing::Style::Rfc9421,
                super::signing::REASON_RECEIVED,
            )
            .await
        {
            tracing::warn!(domain = %actor.domain, %error, "signature style not recorded");
        }
    }
    Ok(actor)
}

/// Checks everything about an inbound POST and returns the activity with its verified
/// signer.
///
/// # Errors
/// See the module documentation.
pub async fn verify_inbound(
    data: &Data<AppState>,
    method: &Method,
    path_and_query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(InboundActivity, Envelope, ActorRecord), InboxError> {
    if headers.get("signature").is_none() && headers.get("authorization").is_none() {
        return Err(InboxError::Unauthorized(
            "signature HTTP requise (en-tête Signature)".into(),
        ));
    }
    if signatures::MessageSignature::is_present(headers) {
        // RFC 9421: the body's digest is `Content-Digest` (RFC 9530).
        let digest = header_text(headers, signatures::CONTENT_DIGEST_HEADER)
            .ok_or_else(|| InboxError::Unauthorized("en-tête Content-Digest requis".into()))?;
        signatures::verify_content_digest(&digest, body)
            .map_err(|e| InboxError::Unauthorized(format!("Content-Digest invalide : {e}")))?;
    } else {
        let digest = headers
            .get("digest")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| InboxError::Unauthorized("en-tête Digest requis".into()))?;
        signatures::verify_digest(digest, body)
            .map_err(|e| InboxError::Unauthorized(format!("Digest invalide : {e}")))?;
    }
    let activity: Value = serde_json::from_slice(body)
        .map_err(|e| InboxError::BadRequest(format!("JSON invalide : {e}")))?;
    // Only the envelope (id, type, actor) is read before the signature is checked; the
    // whole activity is parsed once the sender is known.
    let envelope = Envelope::read(&activity)?;
    if data.blocks.actor(&envelope.actor) {
        return Err(InboxError::Forbidden(format!(
            "{} est bloqué sur ce nœud",
            envelope.actor
        )));
    }
    let actor = verify_signature(data, method, path_and_query, headers, &POST_POLICY).await?;
    if actor.ap_id != envelope.actor {
        return Err(InboxError::Forbidden(format!(
            "la clé appartient à {} mais l'activité se dit de {}",
            actor.ap_id, envelope.actor
        )));
    }
    let (envelope, activity) = InboundActivity::parse(&activity)?;
    Ok((activity, envelope, actor))
}

/// The values of a header, joined as one list (`None` when absent or not text).
fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    let values = headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().ok())
        .collect::<Option<Vec<_>>>()?;
    (!values.is_empty()).then(|| values.join(", "))
}

/// `POST /inbox`, `/actors/{username}/inbox`, `/actor/inbox`.
pub async fn post_inbox(
    State(state): State<AppState>,
    data: Data<AppState>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return AppError::from(InboxError::TooLarge).into_response();
        }
        Err(rejection) => return AppError::BadRequest(rejection.body_text()).into_response(),
    };
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    // Whatever verifying and applying it fetch shares one budget.
    let handled = super::budget::within(
        super::budget::INBOUND_FETCHES,
        handle(&state, &data, &method, path, &headers, &body),
    );
    handled.await.0
}

/// Verifies, deduplicates and applies one inbound activity.
async fn handle(
    state: &AppState,
    data: &Data<AppState>,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let (activity, envelope, actor) = match verify_inbound(data, method, path, headers, body).await
    {
        Ok(verified) => verified,
        Err(error) => {
            tracing::info!(%error, path, "inbound activity refused");
            let response = AppError::from(error).into_response();
            crate::metrics::inbox("refused", response.status());
            return response;
        }
    };
    // Any traffic from an instance revives it (SPEC §3 "Delivery").
    if !state.recently_alive.seen(&actor.domain) {
        match state.store.instance_alive(&actor.domain).await {
            Ok(revived) => {
                state.recently_alive.record(&actor.domain);
                if revived {
                    let _ = state.store.wake_domain(&actor.domain).await;
                    state.delivery_wakeup.notify_one();
                }
            }
            Err(error) => return AppError::from(error).into_response(),
        }
    }
    match state.store.was_received(envelope.id.as_str()).await {
        Ok(true) => {
            tracing::debug!(id = %envelope.id, "activity already applied");
            crate::metrics::inbox("duplicate", StatusCode::ACCEPTED);
            return StatusCode::ACCEPTED.into_response();
        }
        Ok(false) => {}
        Err(error) => return AppError::from(error).into_response(),
    }
    let gate = match receive::gate(data, &activity, &envelope, &actor).await {
        Ok(gate) => gate,
        Err(error) => return AppError::from(error).into_response(),
    };
    if let Gate::Hold(reason) = &gate {
        // Past a spam bound: kept for a node admin, who releases or deletes it.
        let text = String::from_utf8_lossy(body);
        let held = state
            .store
            .hold_activity(
                envelope.id.as_str(),
                actor.id,
                &envelope.kind,
                &text,
                reason,
            )
            .await;
        if let Err(error) = held.and(state.store.mark_received(envelope.id.as_str()).await) {
            return AppError::from(error).into_response();
        }
        tracing::info!(id = %envelope.id, kind = %envelope.kind, reason, "activity held");
        crate::metrics::inbox("held", StatusCode::ACCEPTED);
        return StatusCode::ACCEPTED.into_response();
    }
    match receive::apply(data, &activity, &envelope, &actor).await {
        Ok(applied) => {
            if gate == Gate::NewAction && applied == Applied::Done {
                if let Err(error) = state.store.record_arrival(actor.id, &actor.domain).await {
                    return AppError::from(error).into_response();
                }
            }
            if let Applied::Ignored(reason) = &applied {
                tracing::info!(id = %envelope.id, kind = %envelope.kind, reason, "activity ignored");
                crate::metrics::inbox("ignored", StatusCode::ACCEPTED);
            } else {
                crate::metrics::inbox("applied", StatusCode::ACCEPTED);
            }
            if let Err(error) = state.store.mark_received(envelope.id.as_str()).await {
                return AppError::from(error).into_response();
            }
            state.delivery_wakeup.notify_one();
            StatusCode::ACCEPTED.into_response()
        }
        Err(error) => {
            tracing::info!(id = %envelope.id, kind = %envelope.kind, %error, "activity refused");
            let response = AppError::from(error).into_response();
            crate::metrics::inbox("refused", response.status());
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::InboxError;
    use crate::error::AppError;

    /// A service that cannot take the activity now answers `503` through the inbox,
    /// with its `Retry-After`; a cap reached stays `429`.
    #[test]
    fn unavailable_stays_503_through_the_inbox() {
        let through = |error: AppError| AppError::from(InboxError::from(error));
        let unavailable = through(AppError::Unavailable {
            message: "nœud surchargé".into(),
            retry_after: 30,
        });
        assert_eq!(unavailable.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(unavailable.retry_after(), Some(30));
        let limited = through(AppError::RateLimited {
            message: "trop de requêtes".into(),
            retry_after: 7,
        });
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(limited.retry_after(), Some(7));
    }
}

//! Owns how this node signs its requests to each remote host (SPEC §11 "RFC 9421 HTTP
//! Message Signatures"): draft-cavage by default; RFC 9421 for a host known to accept it,
//! because it sent us a valid RFC 9421 signature, or because it answered a draft-cavage
//! request with `401` and accepted the same request signed with RFC 9421 at once (the
//! "double-knock" Fedify does, the other way round). The choice is stored per host
//! (`instances.http_signatures`, migration 0017), so it survives restarts, and cached
//! here for a minute so that a delivery costs no read. Deliveries
//! ([`super::delivery`]) and the signed GETs the federation library makes
//! ([`SignatureKnock`]) both go through it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use http::HeaderMap;
use reqwest_middleware::Next;
use url::Url;

use crate::activitypub::signatures::{self, SignatureError, SigningKey};
use crate::db::{Store, StoreResult};

/// Which kind of HTTP signature to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// draft-cavage-http-signatures-12 with `Digest` (what every peer verifies).
    Cavage,
    /// RFC 9421 with `Content-Digest`.
    Rfc9421,
}

impl Style {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Style::Cavage => "draft-cavage",
            Style::Rfc9421 => "rfc9421",
        }
    }

    fn from_stored(stored: Option<&str>) -> Self {
        match stored {
            Some("rfc9421") => Style::Rfc9421,
            _ => Style::Cavage,
        }
    }

    /// The other kind (the second knock).
    pub fn other(self) -> Self {
        match self {
            Style::Cavage => Style::Rfc9421,
            Style::Rfc9421 => Style::Cavage,
        }
    }

    /// Signs a request this way; see [`signatures::sign_request_with`] and
    /// [`signatures::sign_request_rfc9421`] for the headers returned.
    ///
    /// # Errors
    /// As those.
    pub fn sign(
        self,
        method: &str,
        url: &Url,
        body: Option<&[u8]>,
        key_id: &str,
        key: &SigningKey,
        now: DateTime<Utc>,
    ) -> Result<HeaderMap, SignatureError> {
        match self {
            Style::Cavage => signatures::sign_request_with(method, url, body, key_id, key, now),
            Style::Rfc9421 => signatures::sign_request_rfc9421(method, url, body, key_id, key, now),
        }
    }
}

/// Why a host's style was decided, as stored for operators (French).
pub const REASON_RECEIVED: &str = "signature RFC 9421 valide reçue de cet hôte";
/// See [`REASON_RECEIVED`].
pub const REASON_KNOCK_RFC9421: &str = "draft-cavage refusée (401), RFC 9421 acceptée";
/// See [`REASON_RECEIVED`].
pub const REASON_KNOCK_CAVAGE: &str = "RFC 9421 refusée (401), draft-cavage acceptée";

/// The per-host styles, cached for [`HostSignatures::FOR`] over the database.
#[derive(Debug, Default)]
pub struct HostSignatures(Mutex<HashMap<String, (Style, Instant)>>);

impl HostSignatures {
    /// How long a host's style is trusted without reading the database again (another
    /// process, a worker, may have learnt it).
    pub const FOR: Duration = Duration::from_secs(60);

    fn cached(&self, domain: &str) -> Option<Style> {
        self.0
            .lock()
            .expect("BUG: poisoned signature styles")
            .get(domain)
            .filter(|(_, at)| at.elapsed() < Self::FOR)
            .map(|(style, _)| *style)
    }

    fn cache(&self, domain: &str, style: Style) {
        let mut styles = self.0.lock().expect("BUG: poisoned signature styles");
        if styles.len() >= 10_000 {
            styles.retain(|_, (_, at)| at.elapsed() < Self::FOR);
            // Still full of fresh entries (many domains named within a minute): start
            // again rather than grow; each is read from the database once more.
            if styles.len() >= 10_000 {
                styles.clear();
            }
        }
        styles.insert(domain.to_string(), (style, Instant::now()));
    }

    /// How to sign requests to `domain` (draft-cavage when the database cannot say).
    pub async fn style(&self, store: &Store, domain: &str) -> Style {
        if let Some(style) = self.cached(domain) {
            return style;
        }
        let style = match store.instance_signature_style(domain).await {
            Ok(stored) => Style::from_stored(stored.as_deref()),
            Err(error) => {
                tracing::warn!(domain, %error, "reading the signature style");
                return Style::Cavage;
            }
        };
        self.cache(domain, style);
        style
    }

    /// Remembers that `domain` takes `style`; writes only when it changes.
    ///
    /// # Errors
    /// Storage.
    pub async fn remember(
        &self,
        store: &Store,
        domain: &str,
        style: Style,
        reason: &str,
    ) -> StoreResult<()> {
        if self.cached(domain) == Some(style) {
            return Ok(());
        }
        let stored = store.instance_signature_style(domain).await?;
        if Style::from_stored(stored.as_deref()) != style || stored.is_none() {
            store
                .set_instance_signature_style(domain, style.as_str(), reason)
                .await?;
            tracing::info!(
                domain,
                style = style.as_str(),
                reason,
                "HTTP signature style"
            );
        }
        self.cache(domain, style);
        Ok(())
    }
}

/// Re-signs the signed GETs the federation library makes (draft-cavage, by the instance
/// actor) with RFC 9421 for hosts that take it, and knocks twice: a `401` to one kind is
/// retried at once with the other, and the kind that worked is remembered.
pub struct SignatureKnock {
    state: crate::state::AppState,
    key: SigningKey,
    key_id: String,
}

impl SignatureKnock {
    /// The middleware for this node (its instance actor's key).
    ///
    /// # Errors
    /// The instance actor's private key cannot be read.
    pub fn new(state: crate::state::AppState) -> anyhow::Result<Self> {
        let key = SigningKey::from_pem(&state.instance_actor.private_key_pem)?;
        let key_id = format!("{}#main-key", state.instance_actor.ap_id);
        Ok(Self { state, key, key_id })
    }

    fn resign(&self, request: &mut reqwest::Request, style: Style) -> Result<(), SignatureError> {
        let url = request.url().clone();
        let method = request.method().as_str().to_owned();
        let body = request
            .body()
            .and_then(|b| b.as_bytes())
            .map(<[u8]>::to_vec);
        let signed = style.sign(
            &method,
            &url,
            body.as_deref(),
            &self.key_id,
            &self.key,
            Utc::now(),
        )?;
        let headers = request.headers_mut();
        for name in [
            signatures::SIGNATURE_HEADER,
            signatures::SIGNATURE_INPUT_HEADER,
            signatures::DIGEST_HEADER,
            signatures::CONTENT_DIGEST_HEADER,
        ] {
            headers.remove(name);
        }
        for (name, value) in &signed {
            headers.insert(name.clone(), value.clone());
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for SignatureKnock {
    async fn handle(
        &self,
        mut request: reqwest::Request,
        extensions: &mut http::Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        // Only requests the library signed, and only as the instance actor.
        let signed_by_us = request
            .headers()
            .get(signatures::SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains(&format!("\"{}\"", self.key_id)));
        let Some(domain) = super::objects::collectivite::domain_of(request.url()) else {
            return next.run(request, extensions).await;
        };
        if !signed_by_us {
            return next.run(request, extensions).await;
        }
        let store = &self.state.store;
        let styles = &self.state.signature_styles;
        let style = styles.style(store, &domain).await;
        if style == Style::Rfc9421 {
            if let Err(error) = self.resign(&mut request, style) {
                tracing::warn!(%error, "RFC 9421 signing failed; draft-cavage sent");
            }
        }
        let mut second = request.try_clone();
        let response = next.clone().run(request, extensions).await?;
        if response.status() != reqwest::StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let Some(mut second) = second.take() else {
            return Ok(response);
        };
        let other = style.other();
        if self.resign(&mut second, other).is_err() {
            return Ok(response);
        }
        let retried = next.run(second, extensions).await?;
        if retried.status().is_success() {
            let reason = match other {
                Style::Rfc9421 => REASON_KNOCK_RFC9421,
                Style::Cavage => REASON_KNOCK_CAVAGE,
            };
            if let Err(error) = styles.remember(store, &domain, other, reason).await {
                tracing::warn!(domain, %error, "remembering the signature style");
            }
        }
        Ok(retried)
    }
}

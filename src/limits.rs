//! Request rate limits (SPEC §9): a fixed one-minute window per key, kept in memory and
//! bounded. Inbox requests are counted per remote host (the host of the signature's
//! `keyId`, read before any verification, so a flood costs no RSA work); other requests
//! per client address, except loopback peers (a local reverse proxy shares one address
//! for every client). Over the limit: `429` with `Retry-After`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::state::AppState;

const WINDOW: Duration = Duration::from_secs(60);
/// Keys kept at most; beyond, expired windows are dropped, then new keys pass uncounted
/// until room is made (memory stays bounded under a flood of distinct keys).
const MAX_KEYS: usize = 100_000;

/// Counters per key for the current window.
#[derive(Debug, Default)]
pub struct RateLimiter(Mutex<HashMap<String, (Instant, u32)>>);

impl RateLimiter {
    /// Counts one request for `key`; `Some(seconds to wait)` when over `limit`.
    pub fn hit(&self, key: &str, limit: u32) -> Option<u64> {
        if limit == 0 {
            return None;
        }
        let now = Instant::now();
        let mut map = self.0.lock().expect("BUG: poisoned rate limiter");
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            map.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
            if map.len() >= MAX_KEYS {
                return None;
            }
        }
        let entry = map.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 += 1;
        (entry.1 > limit).then(|| (WINDOW - now.duration_since(entry.0)).as_secs().max(1))
    }
}

/// The host of the `keyId` in a `Signature` header, without parsing the rest.
fn signer_host(request: &Request) -> Option<String> {
    let value = request.headers().get("signature")?.to_str().ok()?;
    let start = value.find("keyId=\"")? + 7;
    let end = value[start..].find('"')? + start;
    let url = url::Url::parse(&value[start..end]).ok()?;
    url.host_str().map(str::to_ascii_lowercase)
}

fn is_inbox(path: &str) -> bool {
    path == "/inbox" || path.ends_with("/inbox")
}

/// Middleware applying both limits.
pub async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limits = &state.settings.limits;
    let path = request.uri().path().to_string();
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let over = if is_inbox(&path) && request.method() == axum::http::Method::POST {
        let key = match signer_host(&request) {
            Some(host) => format!("inbox:{host}"),
            None => format!(
                "inbox-ip:{}",
                peer.map(|p| p.to_string()).unwrap_or_default()
            ),
        };
        state
            .rate_limiter
            .hit(&key, limits.inbox_per_host_per_minute)
    } else {
        match peer.filter(|ip| !ip.is_loopback()) {
            Some(ip) => state
                .rate_limiter
                .hit(&format!("ip:{ip}"), limits.requests_per_ip_per_minute),
            None => None,
        }
    };
    if let Some(wait) = over {
        let mut response =
            AppError::TooManyRequests(format!("trop de requêtes : réessayez dans {wait} s"))
                .into_response();
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_str(&wait.to_string()).expect("BUG: digits"),
        );
        return response;
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_count_per_key() {
        let limiter = RateLimiter::default();
        for _ in 0..3 {
            assert_eq!(limiter.hit("a", 3), None);
        }
        let wait = limiter.hit("a", 3).expect("over the limit");
        assert!((1..=60).contains(&wait), "{wait}");
        assert_eq!(limiter.hit("b", 3), None, "another key");
        assert_eq!(limiter.hit("a", 0), None, "0 turns it off");
    }
}

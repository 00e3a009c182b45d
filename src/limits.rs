//! Request rate limits (SPEC §9): a fixed one-minute window per key, kept in memory and
//! bounded. Every request is counted per client address ([`client_ip`]: the peer, or
//! behind a trusted reverse proxy the address it forwards; IPv6 by /64), inbox POSTs
//! with their own limit; inbox POSTs are also counted per remote host (the host of the
//! signature's `keyId`, read before any verification, in a map of their own since the
//! sender chooses it). Over a limit: `429` with `Retry-After`. Unknown signing keys are
//! fetched at most [`crate::state::KEY_FETCHES`] at once (`federation::inbox`).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::state::AppState;

const WINDOW: Duration = Duration::from_secs(60);
/// Largest body read (and dropped) before answering `429`.
const DRAINED_BODY: usize = 64 * 1024;
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

/// Token buckets per key, for limits by cost rather than by count (full-text searches,
/// [`crate::directory::text::cost`]): each key holds at most `burst` units, refilled
/// at `per_minute`; bounded like [`RateLimiter`].
#[derive(Debug, Default)]
pub struct CostLimiter(Mutex<HashMap<String, (Instant, f64)>>);

impl CostLimiter {
    /// Spends `cost` units of `key`'s bucket; `Some(seconds to wait)`, spending
    /// nothing, when fewer are left. A cost above `burst` counts as `burst` (it runs
    /// when the bucket is full). `per_minute` 0 turns the limit off.
    pub fn spend(&self, key: &str, cost: u32, per_minute: u32, burst: u32) -> Option<u64> {
        if per_minute == 0 || cost == 0 {
            return None;
        }
        let (rate, burst) = (f64::from(per_minute) / 60.0, f64::from(burst.max(1)));
        let cost = f64::from(cost).min(burst);
        let now = Instant::now();
        let refilled = |(at, left): (Instant, f64)| {
            (left + now.duration_since(at).as_secs_f64() * rate).min(burst)
        };
        let mut map = self.0.lock().expect("BUG: poisoned cost limiter");
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            // Full buckets hold nothing worth keeping.
            map.retain(|_, entry| refilled(*entry) < burst);
            if map.len() >= MAX_KEYS {
                return None;
            }
        }
        let entry = map.entry(key.to_string()).or_insert((now, burst));
        let left = refilled(*entry);
        if left >= cost {
            *entry = (now, left - cost);
            None
        } else {
            *entry = (now, left);
            Some((((cost - left) / rate).ceil() as u64).max(1))
        }
    }
}

/// The rate-limit key ([`address_key`]) of the request's client ([`client_ip`]);
/// `None` for a trusted proxy's own requests (and without a peer address).
#[derive(Debug, Clone)]
pub struct ClientAddress(pub Option<String>);

impl axum::extract::FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip());
        let ip = client_ip(peer, &parts.headers, &state.settings.limits.trusted_proxies);
        Ok(ClientAddress(ip.map(address_key)))
    }
}

/// The host (and port, when not the default) of the signature's `keyId`, read by the
/// verifier's own parser (RFC 9421 `Signature-Input`, or draft-cavage `Signature` or
/// `Authorization: Signature`, parameter names in any case), so that no spelling the
/// verifier accepts escapes the count.
fn signer_host(request: &Request) -> Option<String> {
    let signature =
        crate::activitypub::signatures::RequestSignature::from_request_headers(request.headers())
            .ok()?;
    let owner = signature.key_owner().ok()?;
    crate::federation::objects::collectivite::domain_of(&owner)
        .map(|host| host.to_ascii_lowercase())
}

/// The client's address: the peer's, or when the peer is a trusted proxy, the
/// rightmost untrusted address of `X-Forwarded-For` (the one the proxy saw; anything
/// left of it is the client's say). `None` for a trusted proxy's own requests.
pub fn client_ip(
    peer: Option<IpAddr>,
    headers: &axum::http::HeaderMap,
    trusted: &[IpAddr],
) -> Option<IpAddr> {
    // An IPv4 peer on a dual-stack socket arrives as `::ffff:a.b.c.d`.
    let peer = peer?.to_canonical();
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    // From the right: skip our proxies; the first other entry is the client the proxy
    // saw. An entry that does not parse stops the walk (anything left of it is the
    // client's own say), and the request then counts as the proxy's.
    for entry in forwarded.into_iter().rev() {
        let ip = entry.parse::<IpAddr>().ok()?.to_canonical();
        if !trusted.contains(&ip) {
            return Some(ip);
        }
    }
    None
}

/// The rate-limit key of an address: IPv6 clients usually hold a whole /64.
pub fn address_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// True when a request came straight from this machine, not through a proxy: the
/// peer is loopback and carries no forwarding header.
pub fn is_local(peer: Option<IpAddr>, headers: &axum::http::HeaderMap) -> bool {
    peer.is_some_and(|ip| ip.to_canonical().is_loopback())
        && !headers.contains_key("x-forwarded-for")
        && !headers.contains_key("forwarded")
        && !headers.contains_key("x-real-ip")
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
    let client = client_ip(peer, request.headers(), &limits.trusted_proxies);
    let inbox = is_inbox(&path) && request.method() == axum::http::Method::POST;
    // Per client address first (every request), then inbox POSTs per remote host.
    // The host comes from the unverified `keyId`: it has its own map, so that a flood of
    // made-up hosts cannot crowd out the address counters.
    let by_address = client.and_then(|ip| {
        let (key, limit) = if inbox {
            (
                format!("inbox-ip:{}", address_key(ip)),
                limits.inbox_per_ip_per_minute,
            )
        } else {
            (
                format!("ip:{}", address_key(ip)),
                limits.requests_per_ip_per_minute,
            )
        };
        state.rate_limiter.hit(&key, limit)
    });
    let over = match by_address {
        Some(wait) => Some((wait, "address")),
        None if inbox => signer_host(&request)
            .and_then(|host| {
                state
                    .host_limiter
                    .hit(&host, limits.inbox_per_host_per_minute)
            })
            .map(|wait| (wait, "host")),
        None => None,
    };
    if let Some((_, key)) = over {
        metrics::counter!("maillage_rate_limited_total", "by" => key, "inbox" => inbox.to_string())
            .increment(1);
    }
    let over = over.map(|(wait, _)| wait);
    if let Some(wait) = over {
        // A small body is read and dropped, so that the connection stays open for the
        // sender's next request; a large one is not read. The answer to a request whose
        // body was not read says `Connection: close`: that is `server::serve`'s wrapper,
        // which sees every such answer (this one, a `413`, any early refusal), so it is
        // not set here too.
        let headers = request.headers();
        let small = match headers.get(header::CONTENT_LENGTH) {
            Some(length) => length
                .to_str()
                .ok()
                .and_then(|v| v.parse::<usize>().ok())
                .is_some_and(|n| n <= DRAINED_BODY),
            None => !headers.contains_key(header::TRANSFER_ENCODING),
        };
        if small {
            let _ = axum::body::to_bytes(request.into_body(), DRAINED_BODY).await;
        }
        return AppError::RateLimited {
            message: format!("trop de requêtes : réessayez dans {wait} s"),
            retry_after: wait,
        }
        .into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_address_behind_a_trusted_proxy() {
        let trusted: Vec<IpAddr> = vec!["127.0.0.1".parse().unwrap()];
        let mut headers = axum::http::HeaderMap::new();
        let proxy = Some("127.0.0.1".parse().unwrap());
        let outsider: Option<IpAddr> = Some("203.0.113.9".parse().unwrap());
        assert_eq!(
            client_ip(proxy, &headers, &trusted),
            None,
            "the proxy itself"
        );
        assert_eq!(client_ip(outsider, &headers, &trusted), outsider);
        headers.insert(
            "x-forwarded-for",
            "10.9.9.9, 198.51.100.7, 127.0.0.1".parse().unwrap(),
        );
        assert_eq!(
            client_ip(proxy, &headers, &trusted),
            Some("198.51.100.7".parse().unwrap()),
            "the rightmost untrusted address, not what the client wrote"
        );
        assert_eq!(
            client_ip(outsider, &headers, &trusted),
            outsider,
            "an untrusted peer's header is ignored"
        );
        assert!(!is_local(proxy, &headers), "forwarded");
        // An entry the proxy wrote that does not parse stops the walk: what is left of
        // it is the client's say.
        headers.insert("x-forwarded-for", "198.51.100.7, unknown".parse().unwrap());
        assert_eq!(client_ip(proxy, &headers, &trusted), None);
        // IPv4 on a dual-stack socket.
        let mapped: Option<IpAddr> = Some("::ffff:127.0.0.1".parse().unwrap());
        assert_eq!(
            client_ip(mapped, &headers, &trusted),
            None,
            "the proxy, mapped"
        );
        assert!(is_local(mapped, &axum::http::HeaderMap::new()));
        assert_eq!(
            address_key("::ffff:203.0.113.9".parse().unwrap()),
            "203.0.113.9"
        );
        assert!(is_local(proxy, &axum::http::HeaderMap::new()));
        assert_eq!(
            address_key("2001:db8:1:2:3:4:5:6".parse().unwrap()),
            "2001:db8:1:2::/64"
        );
    }

    #[test]
    fn buckets_charge_by_cost() {
        let limiter = CostLimiter::default();
        // 60 a minute (one a second), 10 at once.
        assert_eq!(limiter.spend("a", 8, 60, 10), None);
        let wait = limiter.spend("a", 8, 60, 10).expect("2 left, 8 asked");
        assert!((5..=7).contains(&wait), "{wait}");
        assert_eq!(
            limiter.spend("a", 1, 60, 10),
            None,
            "a cheap one still fits"
        );
        assert_eq!(limiter.spend("b", 50, 60, 10), None, "capped at the burst");
        assert!(limiter.spend("b", 1, 60, 10).is_some());
        assert_eq!(limiter.spend("b", 1, 0, 10), None, "0 turns it off");
    }

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

//! Owns the HTTP accept loop: HTTP/1.1 connections served by hyper with a header-read
//! timeout (`http.header_read_timeout_secs`), at most `http.max_connections` at once and
//! `http.max_connections_per_ip` per client address, each request carrying the peer's
//! address (`ConnectInfo`, read by the rate limits), and a graceful shutdown that lets
//! requests in flight finish. Routing is [`crate::startup::router`]'s.
//!
//! Why not `axum::serve`: it sets no timer, so hyper applies no header-read timeout, and
//! it accepts connections without bound: 2 000 connections sending their headers a
//! byte at a time stayed open for as long as they liked. The timeout also bounds idle
//! kept-alive connections (hyper starts it again while waiting for the next request).
//! HTTP/1.1 only, like before (a reverse proxy speaks HTTP/2 to browsers).

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, header};
use hyper::body::{Body as _, Incoming};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::config::Settings;

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting and
/// waits for the open connections to finish their requests.
pub fn serve(
    mut listener: TcpListener,
    router: Router,
    settings: &Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> impl Future<Output = ()> + Send + 'static {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(settings.http.header_read_timeout_secs));
    let global = (settings.http.max_connections > 0)
        .then(|| Arc::new(Semaphore::new(settings.http.max_connections)));
    let gate = Gate {
        per_ip: settings.http.max_connections_per_ip,
        trusted: settings.limits.trusted_proxies.clone(),
        open: Arc::default(),
    };
    async move {
        let graceful = GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            // At the cap, stop accepting: new connections wait in the system's queue.
            let permit = match &global {
                Some(global) => tokio::select! {
                    permit = global.clone().acquire_owned() => Some(permit.expect("BUG: never closed")),
                    () = &mut shutdown => break,
                },
                None => None,
            };
            let (stream, peer) = tokio::select! {
                accepted = axum::serve::Listener::accept(&mut listener) => accepted,
                () = &mut shutdown => break,
            };
            let Some(slot) = gate.enter(peer.ip()) else {
                metrics::counter!("maillage_http_connections_refused_total").increment(1);
                continue;
            };
            let router = router.clone();
            let service =
                hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    let unread = Arc::new(AtomicBool::new(!request.body().is_end_stream()));
                    let request = request.map(|inner| Watched {
                        inner,
                        unread: unread.clone(),
                    });
                    let answered = router.clone().oneshot(request);
                    async move {
                        let mut response = answered.await?;
                        if unread.load(Ordering::Relaxed) {
                            response
                                .headers_mut()
                                .insert(header::CONNECTION, HeaderValue::from_static("close"));
                        }
                        Ok::<_, std::convert::Infallible>(response)
                    }
                });
            let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
            metrics::gauge!("maillage_http_connections").increment(1.0);
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%error, %peer, "connection closed");
                }
                metrics::gauge!("maillage_http_connections").decrement(1.0);
                drop((permit, slot));
            });
        }
        drop(listener);
        graceful.shutdown().await;
    }
}

/// A request body that notes when it has been read to its end.
///
/// A response sent before its request's body was read (`413` for a body over the
/// limit, a refusal that did not need it) ends the connection: hyper cannot find the
/// next request after the unread bytes and closes it, without saying so. The response
/// then says `Connection: close`, so that the client does not put the connection back
/// in its pool and send its next request into a closed socket (which it would see as
/// an incomplete message).
struct Watched {
    inner: Incoming,
    unread: Arc<AtomicBool>,
}

impl hyper::body::Body for Watched {
    type Data = hyper::body::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.unread.store(false, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// Open connections per client address.
#[derive(Debug)]
struct Gate {
    per_ip: usize,
    trusted: Vec<IpAddr>,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

/// A connection counted against its address until dropped.
#[derive(Debug)]
struct AddressSlot {
    open: Arc<Mutex<HashMap<String, usize>>>,
    key: Option<String>,
}

impl Gate {
    /// Counts a connection from `peer`; `None` when its address has too many open.
    /// Trusted proxies (every client behind them shares their address) are not counted.
    fn enter(&self, peer: IpAddr) -> Option<AddressSlot> {
        let peer = peer.to_canonical();
        if self.per_ip == 0 || self.trusted.contains(&peer) {
            return Some(AddressSlot {
                open: self.open.clone(),
                key: None,
            });
        }
        let key = crate::limits::address_key(peer);
        let mut open = self.open.lock().expect("BUG: poisoned connection counts");
        let count = open.entry(key.clone()).or_default();
        if *count >= self.per_ip {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            open: self.open.clone(),
            key: Some(key),
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        if let Some(key) = &self.key {
            let mut open = self.open.lock().expect("BUG: poisoned connection counts");
            if let Some(count) = open.get_mut(key) {
                *count -= 1;
                if *count == 0 {
                    open.remove(key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_capped_and_released() {
        let gate = Gate {
            per_ip: 2,
            trusted: vec!["127.0.0.1".parse().unwrap()],
            open: Arc::default(),
        };
        let client: IpAddr = "203.0.113.5".parse().unwrap();
        let first = gate.enter(client).unwrap();
        let _second = gate.enter(client).unwrap();
        assert!(gate.enter(client).is_none(), "third from one address");
        assert!(gate.enter("203.0.113.6".parse().unwrap()).is_some());
        // An IPv6 client counts by its /64.
        let a = gate.enter("2001:db8::1".parse().unwrap()).unwrap();
        let _b = gate.enter("2001:db8::2".parse().unwrap()).unwrap();
        assert!(gate.enter("2001:db8::3".parse().unwrap()).is_none());
        drop(a);
        assert!(gate.enter("2001:db8::3".parse().unwrap()).is_some());
        drop(first);
        assert!(gate.enter(client).is_some(), "released");
        for _ in 0..10 {
            std::mem::forget(gate.enter("127.0.0.1".parse().unwrap()).unwrap());
        }
        assert!(
            gate.enter("::ffff:127.0.0.1".parse().unwrap()).is_some(),
            "trusted proxy"
        );
    }
}

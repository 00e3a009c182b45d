//! Prometheus metrics (SPEC §9), with the `metrics` crate and its Prometheus exporter:
//! HTTP requests by route and status (a middleware), inbound activities by outcome
//! (the inbox), and, read from the database at each scrape, the delivery queue (pending,
//! failed, done, age of the oldest pending) and unreachable instances.
//! `GET /metrics` answers a request made on this machine straight to the node (loopback,
//! no forwarding header: a local Prometheus), or one with a node-admin token.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::api::auth::MaybeBearer;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The process-wide recorder (installed once; every app of a process shares it).
fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0])
            .expect("BUG: constant buckets")
            .build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (never here): keep ours readable.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// Installs the recorder (call once at start; later calls do nothing).
pub fn init() {
    handle();
}

/// Middleware: counts each request by route template, method and status, and times it.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("maillage_http_requests_total", "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("maillage_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Counts an inbound activity: `applied`, `ignored`, `duplicate` or `refused` (with the
/// HTTP status sent).
pub fn inbox(outcome: &'static str, status: StatusCode) {
    metrics::counter!("maillage_inbox_activities_total", "outcome" => outcome, "status" => status.as_u16().to_string())
        .increment(1);
}

/// `GET /metrics`: Prometheus text format.
///
/// # Errors
/// [`AppError::Forbidden`] for a remote client without a node-admin token.
pub async fn metrics_page(
    State(state): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
    MaybeBearer(token): MaybeBearer,
) -> AppResult<Response> {
    // Straight from this machine; a request through a local proxy carries its
    // forwarding headers and needs the token.
    let local = crate::limits::is_local(Some(peer.ip()), &headers);
    if !local && !token.as_ref().is_some_and(|t| t.admin) {
        return Err(AppError::Forbidden(
            "métriques réservées au réseau local ou à un jeton d'administration".into(),
        ));
    }
    let queue = state.store.delivery_counts().await?;
    for (name, value) in [
        ("pending", queue.pending),
        ("failed", queue.failed),
        ("done", queue.done),
    ] {
        metrics::gauge!("maillage_deliveries", "state" => name).set(value as f64);
    }
    let oldest = state.store.oldest_pending_delivery().await?;
    metrics::gauge!("maillage_oldest_pending_delivery_age_seconds").set(oldest.map_or(0.0, |t| {
        (chrono::Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0
    }));
    metrics::gauge!("maillage_unreachable_instances")
        .set(state.store.count_unreachable_instances().await? as f64);
    Ok((
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle().render(),
    )
        .into_response())
}

//! Static assets embedded in the binary, so a node serves its map without any CDN
//! (SPEC §4): Leaflet 1.9.4 (BSD-2-Clause) and Leaflet.markercluster 1.5.3 (MIT), copied
//! unchanged from their npm packages into `static/vendor/` with their licences; our
//! stylesheet and map script; the France outline drawn when no tiles load.
//!
//! Each file carries an `ETag` (a digest of its bytes, so it changes with the binary's
//! copy) and `Last-Modified` (when this process started, an upper bound of the build);
//! a revalidation that matches gets `304 Not Modified` without the body. Compression is
//! left to the router's `CompressionLayer` ([`crate::startup::router`]).

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::error::AppError;

/// `(path under /static/, content type, bytes)`.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "maillage.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/maillage.css"),
    ),
    (
        "map.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/map.js"),
    ),
    (
        "france-outline.geojson",
        "application/geo+json",
        include_bytes!("../../data/referentiel/france-outline.geojson"),
    ),
    (
        "vendor/leaflet/leaflet.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/vendor/leaflet/leaflet.js"),
    ),
    (
        "vendor/leaflet/leaflet.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/vendor/leaflet/leaflet.css"),
    ),
    (
        "vendor/leaflet/images/marker-icon.png",
        "image/png",
        include_bytes!("../../static/vendor/leaflet/images/marker-icon.png"),
    ),
    (
        "vendor/leaflet/images/marker-icon-2x.png",
        "image/png",
        include_bytes!("../../static/vendor/leaflet/images/marker-icon-2x.png"),
    ),
    (
        "vendor/leaflet/images/marker-shadow.png",
        "image/png",
        include_bytes!("../../static/vendor/leaflet/images/marker-shadow.png"),
    ),
    (
        "vendor/leaflet/images/layers.png",
        "image/png",
        include_bytes!("../../static/vendor/leaflet/images/layers.png"),
    ),
    (
        "vendor/leaflet/images/layers-2x.png",
        "image/png",
        include_bytes!("../../static/vendor/leaflet/images/layers-2x.png"),
    ),
    (
        "vendor/leaflet.markercluster/leaflet.markercluster.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/vendor/leaflet.markercluster/leaflet.markercluster.js"),
    ),
    (
        "vendor/leaflet.markercluster/MarkerCluster.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/vendor/leaflet.markercluster/MarkerCluster.css"),
    ),
    (
        "vendor/leaflet.markercluster/MarkerCluster.Default.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/vendor/leaflet.markercluster/MarkerCluster.Default.css"),
    ),
];

/// The validators of every asset, computed once: `(ETag, Last-Modified)` by index. The
/// tags are weak (`W/"…"`): the same tag names the plain and the compressed bytes, which
/// differ, and a strong tag would promise they are byte-identical (RFC 9110 §8.8.1).
fn validators() -> &'static (Vec<String>, String) {
    static VALIDATORS: OnceLock<(Vec<String>, String)> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        let tags = ASSETS
            .iter()
            .map(|(_, _, bytes)| format!("W/\"{}\"", &hex::encode(Sha256::digest(bytes))[..32]))
            .collect();
        (tags, httpdate::fmt_http_date(std::time::SystemTime::now()))
    })
}

/// True when the request's validators match: `If-None-Match` (which wins, RFC 9110
/// §13.1.3) lists the tag, weakly compared (§8.8.3.2), or `*`, or else `If-Modified-Since` is not before
/// `last_modified`.
fn not_modified(request: &HeaderMap, etag: &str, last_modified: &str) -> bool {
    if let Some(tags) = request.get(header::IF_NONE_MATCH) {
        let tags = tags.to_str().unwrap_or("");
        let opaque = etag.trim_start_matches("W/");
        return tags
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == opaque || t == "*");
    }
    let since = request
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok());
    let modified = httpdate::parse_http_date(last_modified).ok();
    matches!((since, modified), (Some(since), Some(modified)) if modified <= since)
}

/// `GET /static/{*path}`.
pub async fn asset(Path(path): Path<String>, request: HeaderMap) -> Response {
    let Some(index) = ASSETS.iter().position(|(name, _, _)| *name == path) else {
        return AppError::NotFound(format!("aucun fichier statique « {path} »")).into_response();
    };
    let (_, content_type, bytes) = ASSETS[index];
    let (tags, last_modified) = validators();
    let etag = &tags[index];
    let mut response = if not_modified(&request, etag, last_modified) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = (StatusCode::OK, bytes).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        response
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    if let Ok(value) = HeaderValue::from_str(last_modified) {
        headers.insert(header::LAST_MODIFIED, value);
    }
    // On the `304` too: a cache keys the stored answer by coding, and the compression
    // layer only marks the answers it compresses.
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    response
}

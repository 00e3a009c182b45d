//! Static assets embedded in the binary, so a node serves its map without any CDN
//! (SPEC §4): Leaflet 1.9.4 (BSD-2-Clause) and Leaflet.markercluster 1.5.3 (MIT), copied
//! unchanged from their npm packages into `static/vendor/` with their licences; our
//! stylesheet and map script; the France outline drawn when no tiles load.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

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

/// `GET /static/{*path}`.
pub async fn asset(Path(path): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == path) {
        Some((_, content_type, bytes)) => {
            let mut response = (StatusCode::OK, *bytes).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            );
            response
        }
        None => AppError::NotFound(format!("aucun fichier statique « {path} »")).into_response(),
    }
}

//! `GET /api/v1/directory/actions` (SPEC §4): the directory search with facets.

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::actions::ActionView;
use super::collectivites::CollectiviteView;
use crate::directory::search::Facets;
use crate::directory::{SearchQuery, export};
use crate::error::{AppError, AppResult, Problem};
use crate::limits::ClientAddress;
use crate::service::exports::{self, Busy};
use crate::state::AppState;

/// The directory routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/directory/actions", get(search_actions))
        .route("/api/v1/directory/collectivites", get(list_collectivites))
        .route("/api/v1/directory/stats", get(stats))
        .route("/directory.geojson", get(export_geojson))
        .route("/directory.csv", get(export_csv))
        .route("/directory.atom", get(export_atom))
}

fn parse_query(raw: Option<&str>) -> AppResult<SearchQuery> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    SearchQuery::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// Seconds a client is asked to wait when the export bounds are reached.
const EXPORT_RETRY_AFTER: u64 = 10;

/// What an export route answers.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Geojson,
    Csv,
    Atom,
}

/// True when `If-None-Match` names `tag` (or is `*`); weak comparison (RFC 9110).
fn not_modified(headers: &HeaderMap, tag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_string();
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|candidate| candidate.trim() == "*" || bare(candidate) == bare(tag))
}

/// An export (SPEC §4): `304` when the client holds the current `ETag`; `429` when its
/// address runs `directory.max_exports_per_address` exports already, `503` when the
/// node runs `directory.max_concurrent_exports`, both with `Retry-After`; otherwise
/// the body, GeoJSON and CSV streamed a chunk of actions at a time
/// ([`exports::body`]: a client that stops reading is cut off). A failure after the
/// headers are sent is logged and cuts the body (the client sees it incomplete, never
/// a truncated file that looks whole).
async fn export(
    state: AppState,
    raw: Option<String>,
    client: ClientAddress,
    headers: &HeaderMap,
    kind: Kind,
) -> AppResult<Response> {
    let query = parse_query(raw.as_deref())?;
    let tag = exports::export_tag(
        &state,
        &format!("{kind:?}?{}", raw.as_deref().unwrap_or("")),
    )
    .await?;
    let mut common = HeaderMap::new();
    common.insert(
        header::ETAG,
        HeaderValue::from_str(&tag).expect("BUG: ETag of ASCII"),
    );
    common.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    if not_modified(headers, &tag) {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    crate::service::directory::charge(&state, &client, &query)?;
    let slot = state
        .export_slots
        .acquire(client.0)
        .map_err(|busy| match busy {
            Busy::Address => AppError::RateLimited {
                message:
                    "trop d'exports en cours depuis cette adresse : réessayez quand ils sont finis"
                        .into(),
                retry_after: EXPORT_RETRY_AFTER,
            },
            Busy::Node => AppError::Unavailable {
                message: "trop d'exports en cours sur ce nœud : réessayez dans quelques secondes"
                    .into(),
                retry_after: EXPORT_RETRY_AFTER,
            },
        })?;
    let (content_type, format) = match kind {
        Kind::Geojson => ("application/geo+json", export::Format::Geojson),
        Kind::Csv => {
            common.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"maillage-actions.csv\""),
            );
            ("text/csv; charset=utf-8", export::Format::Csv)
        }
        Kind::Atom => {
            let atom = atom(&state, &query, raw.as_deref()).await?;
            drop(slot);
            return Ok((
                common,
                [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
                atom,
            )
                .into_response());
        }
    };
    let body = exports::body(state, &query, export::Encoder::new(format), slot);
    Ok((
        common,
        [(header::CONTENT_TYPE, content_type)],
        Body::from_stream(body),
    )
        .into_response())
}

/// The Atom feed of the latest 100 results of `query`.
async fn atom(state: &AppState, query: &SearchQuery, raw: Option<&str>) -> AppResult<String> {
    let mut query = query.clone();
    query.limit = query.limit.max(50);
    let actions = crate::service::directory::all(state, &query, 100).await?;
    let self_url = match raw {
        Some(q) if !q.is_empty() => state.url(&format!("/directory.atom?{q}")).to_string(),
        _ => state.url("/directory.atom").to_string(),
    };
    let title = format!("{} — actions numériques", state.settings.node.name);
    Ok(export::to_atom(
        &actions,
        &title,
        &self_url,
        state.url("/").as_str(),
    ))
}

/// `GET /directory.geojson`: the search as a GeoJSON FeatureCollection, streamed.
pub async fn export_geojson(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    client: ClientAddress,
    headers: HeaderMap,
) -> AppResult<Response> {
    export(state, raw, client, &headers, Kind::Geojson).await
}

/// `GET /directory.csv`: the search as `;`-separated UTF-8 CSV, streamed.
pub async fn export_csv(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    client: ClientAddress,
    headers: HeaderMap,
) -> AppResult<Response> {
    export(state, raw, client, &headers, Kind::Csv).await
}

/// `GET /directory.atom`: the latest 100 results as an Atom feed.
pub async fn export_atom(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    client: ClientAddress,
    headers: HeaderMap,
) -> AppResult<Response> {
    export(state, raw, client, &headers, Kind::Atom).await
}

/// A page of search results.
#[derive(Debug, Serialize, ToSchema)]
pub struct DirectoryPage {
    /// Matching actions of this page.
    pub items: Vec<ActionView>,
    /// All matching actions.
    pub total: i64,
    /// Counts per theme, phase, département, région, software and provider.
    pub facets: Facets,
    /// Cursor of the next page (`cursor=`), if any.
    pub next: Option<String>,
}

/// Search parameters (documentation; `theme`, `phase` and `status` may repeat).
#[derive(Debug, IntoParams)]
#[allow(dead_code)]
pub struct DirectoryParams {
    /// Full text, French, accent- and case-insensitive, plurals folded.
    q: Option<String>,
    /// Theme slug (repeatable).
    theme: Option<String>,
    /// Axe slug: its three themes.
    axe: Option<String>,
    /// `idee`, `etude`, `realisation`, `service` (repeatable).
    phase: Option<String>,
    /// `en-cours`, `en-pause`, `abandonne`, `termine` (repeatable).
    status: Option<String>,
    /// Commune (INSEE code).
    insee: Option<String>,
    /// Département code.
    departement: Option<String>,
    /// Région code.
    region: Option<String>,
    /// EPCI SIREN.
    epci: Option<String>,
    /// Owner: actor URL or `user@domain`.
    collectivite: Option<String>,
    /// Only actions carried with partners.
    partnered: Option<bool>,
    /// Only actions open to partners.
    open_to_partners: Option<bool>,
    /// Also the actions of unverified collectivités outranked by a verified one
    /// claiming the same INSEE code or SIREN (left out by default).
    unverified: Option<bool>,
    /// `minLon,minLat,maxLon,maxLat`.
    bbox: Option<String>,
    /// `YYYY-MM-DD` or RFC 3339.
    updated_since: Option<String>,
    /// Software name, SILL, Comptoir du Libre or Wikidata id.
    software: Option<String>,
    /// Provider name or SIREN.
    provider: Option<String>,
    /// `relevance`, `updated` or `name`.
    sort: Option<String>,
    /// 1–100, default 20.
    limit: Option<i64>,
    /// From the previous page's `next`.
    cursor: Option<String>,
}

/// Search the directory: this node's actions and those of the actors it follows.
#[utoipa::path(get, path = "/api/v1/directory/actions", tag = "directory",
    params(DirectoryParams),
    responses(
        (status = 200, description = "Results and facets", body = DirectoryPage),
        (status = 422, description = "Invalid parameters", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "This address spent its full-text search allowance (`Retry-After`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn search_actions(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    client: ClientAddress,
) -> AppResult<axum::Json<DirectoryPage>> {
    let query = parse_query(raw.as_deref())?;
    crate::service::directory::charge(&state, &client, &query)?;
    let page = crate::service::directory::search(&state, &query).await?;
    Ok(axum::Json(DirectoryPage {
        items: page
            .items
            .iter()
            .map(|a| ActionView::new(a, false))
            .collect(),
        total: page.total,
        facets: page.facets,
        next: page.next,
    }))
}

/// A collectivité of the directory with its number of actions.
#[derive(Debug, Serialize, ToSchema)]
pub struct DirectoryCollectivite {
    /// The collectivité.
    #[serde(flatten)]
    pub collectivite: CollectiviteView,
    /// Hosted on this node?
    pub local: bool,
    /// Live actions.
    pub actions: i64,
}

/// Filters of the collectivités list.
#[derive(Debug, serde::Deserialize, IntoParams)]
pub struct CollectivitesParams {
    /// Département code.
    pub departement: Option<String>,
    /// Région code.
    pub region: Option<String>,
    /// Kind (`commune`, `epci`…).
    pub kind: Option<String>,
    /// A label mention (`mediation-numerique`) or a minimum number of arobases (`4`).
    pub label: Option<String>,
    /// Also unverified collectivités outranked by a verified one claiming the same
    /// INSEE code or SIREN (left out by default).
    pub unverified: Option<bool>,
}

/// Collectivités known to this node (its own and those it follows), with action counts.
#[utoipa::path(get, path = "/api/v1/directory/collectivites", tag = "directory",
    params(CollectivitesParams),
    responses(
        (status = 200, description = "Collectivités by name", body = [DirectoryCollectivite]),
        (status = 422, description = "Invalid parameters", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_collectivites(
    State(state): State<AppState>,
    Query(params): Query<CollectivitesParams>,
) -> AppResult<axum::Json<Vec<DirectoryCollectivite>>> {
    let mut errors = crate::domain::FieldErrors::default();
    if let Some(kind) = params.kind.as_deref() {
        errors.check("kind", crate::domain::CollectiviteKind::parse(kind));
    }
    errors.finish(|| ())?;
    let rows = state
        .store
        .directory_collectivites(
            params
                .departement
                .as_deref()
                .map(str::to_uppercase)
                .as_deref(),
            params.region.as_deref(),
            params.kind.as_deref(),
            params.unverified.unwrap_or(false),
            state.settings.aggregator.effective_admission(),
        )
        .await?;
    let label_matches = |c: &crate::domain::Collectivite| match params.label.as_deref() {
        None | Some("") => true,
        Some(label) => match label.parse::<u8>() {
            Ok(min) => c.profile.labels.iter().any(|l| l.arobases >= min),
            Err(_) => c
                .profile
                .labels
                .iter()
                .any(|l| l.mentions.iter().any(|m| m == label)),
        },
    };
    Ok(axum::Json(
        rows.into_iter()
            .filter(|(c, _)| label_matches(c))
            .map(|(c, actions)| DirectoryCollectivite {
                local: c.local,
                collectivite: CollectiviteView::from(&c),
                actions,
            })
            .collect(),
    ))
}

/// Counts of the directory.
#[derive(Debug, Serialize, ToSchema)]
pub struct DirectoryStats {
    /// Nodes (domains) with collectivités.
    pub nodes: i64,
    /// Collectivités.
    pub collectivites: i64,
    /// Live actions.
    pub actions: i64,
    /// Actions carried with partners (mutualisation).
    pub partnerships: i64,
    /// Actions per theme, phase, département, région, software and provider.
    pub per: Facets,
}

/// Directory statistics (SPEC §4).
#[utoipa::path(get, path = "/api/v1/directory/stats", tag = "directory",
    responses((status = 200, description = "Counts", body = DirectoryStats)))]
pub async fn stats(State(state): State<AppState>) -> AppResult<axum::Json<DirectoryStats>> {
    let (nodes, collectivites, actions, partnerships) = state.store.directory_counts().await?;
    let everything = SearchQuery {
        limit: 1,
        ..Default::default()
    };
    let page = crate::service::directory::search(&state, &everything).await?;
    Ok(axum::Json(DirectoryStats {
        nodes,
        collectivites,
        actions,
        partnerships,
        per: page.facets,
    }))
}

//! `GET /api/v1/directory/actions` (SPEC §4): the directory search with facets.

use axum::Router;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::actions::ActionView;
use super::collectivites::CollectiviteView;
use crate::directory::search::Facets;
use crate::directory::{SearchQuery, export};
use crate::error::{AppResult, Problem};
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

/// Most actions one export returns.
pub const EXPORT_CAP: i64 = 50_000;

fn parse_query(raw: Option<String>) -> AppResult<SearchQuery> {
    let raw = raw.unwrap_or_default();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect();
    SearchQuery::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

fn with_type(content_type: &'static str, body: String) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// `GET /directory.geojson`: the search as a GeoJSON FeatureCollection.
pub async fn export_geojson(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let actions = crate::service::directory::all(&state, &parse_query(raw)?, EXPORT_CAP).await?;
    Ok(with_type(
        "application/geo+json",
        export::to_geojson(&actions).to_string(),
    ))
}

/// `GET /directory.csv`: the search as `;`-separated UTF-8 CSV.
pub async fn export_csv(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let actions = crate::service::directory::all(&state, &parse_query(raw)?, EXPORT_CAP).await?;
    let mut response = with_type("text/csv; charset=utf-8", export::to_csv(&actions)?);
    response.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"maillage-actions.csv\""),
    );
    Ok(response)
}

/// `GET /directory.atom`: the latest 100 results as an Atom feed.
pub async fn export_atom(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let mut query = parse_query(raw.clone())?;
    query.limit = query.limit.max(50);
    let actions = crate::service::directory::all(&state, &query, 100).await?;
    let self_url = match raw.as_deref() {
        Some(q) if !q.is_empty() => state.url(&format!("/directory.atom?{q}")).to_string(),
        _ => state.url("/directory.atom").to_string(),
    };
    let title = format!("{} — actions numériques", state.settings.node.name);
    Ok(with_type(
        "application/atom+xml; charset=utf-8",
        export::to_atom(&actions, &title, &self_url, state.url("/").as_str()),
    ))
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
    ))]
pub async fn search_actions(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> AppResult<axum::Json<DirectoryPage>> {
    let raw = raw.unwrap_or_default();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect();
    let query = SearchQuery::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
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
    let mut errors = crate::error::FieldErrors::default();
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

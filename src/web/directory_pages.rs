//! Directory pages beyond the home page: theme, département and région pages with the
//! aggregator's follow handle, "who uses what" pages (a software, a provider: which
//! collectivités use it, across every followed node), and the statistics page with
//! server-rendered SVG charts.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::pages::{ActionCard, html, message_response};
use crate::directory::SearchQuery;
use crate::directory::search::Facet;
use crate::error::AppResult;
use crate::federation::groups::GroupKind;
use crate::referential::Referential;
use crate::state::AppState;
use crate::taxonomy::Taxonomy;

#[derive(Template)]
#[template(path = "listing.html")]
struct ListingPage {
    node_name: String,
    title: String,
    subtitle: Option<String>,
    follow_handle: Option<String>,
    collectivites_heading: String,
    collectivites: Vec<(String, String)>,
    total: i64,
    actions: Vec<ActionCard>,
    query_suffix: String,
}

/// What a listing page shows.
struct Listing {
    title: String,
    subtitle: Option<String>,
    group: Option<GroupKind>,
    filter: (&'static str, String),
    show_collectivites: bool,
}

async fn listing(state: &AppState, listing: Listing) -> AppResult<Response> {
    let (key, value) = &listing.filter;
    let mut query = SearchQuery::parse([(*key, value.as_str())])?;
    query.limit = 100;
    let page = crate::service::directory::search(state, &query).await?;
    let mut collectivites: Vec<(String, String)> = Vec::new();
    if listing.show_collectivites {
        for action in &page.items {
            let entry = (action.owner.ap_id.to_string(), action.owner.name.clone());
            if !collectivites.contains(&entry) {
                collectivites.push(entry);
            }
        }
    }
    let follow_handle = listing
        .group
        .filter(|_| state.settings.aggregator.enabled)
        .map(|g| format!("@{}@{}", g.username(), state.settings.domain));
    let query_suffix = format!(
        "?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair(key, value)
            .finish()
    );
    html(
        StatusCode::OK,
        &ListingPage {
            node_name: state.settings.node.name.clone(),
            collectivites_heading: format!("Utilisé par {} collectivité(s)", collectivites.len()),
            title: listing.title,
            subtitle: listing.subtitle,
            follow_handle,
            collectivites,
            total: page.total,
            actions: page.items.iter().map(ActionCard::from).collect(),
            query_suffix,
        },
    )
}

/// `GET /themes/{slug}`: a theme across the directory.
pub async fn theme_page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> AppResult<Response> {
    let taxonomy = Taxonomy::global();
    let Some(theme) = taxonomy.theme(&slug) else {
        return Ok(message_response(
            StatusCode::NOT_FOUND,
            "Thème inconnu".into(),
            format!("Le thème « {slug} » n'existe pas."),
        ));
    };
    let axe = taxonomy
        .axe(&theme.axe)
        .map(|a| a.label.clone())
        .unwrap_or_default();
    listing(
        &state,
        Listing {
            title: theme.label.clone(),
            subtitle: Some(format!("Axe « {axe} » — {}", theme.description)),
            group: Some(GroupKind::Theme(theme.slug.clone())),
            filter: ("theme", theme.slug.clone()),
            show_collectivites: false,
        },
    )
    .await
}

/// `GET /departements/{code}`.
pub async fn departement_page(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> AppResult<Response> {
    let code = code.to_uppercase();
    let Some(departement) = Referential::global().departement(&code) else {
        return Ok(message_response(
            StatusCode::NOT_FOUND,
            "Département inconnu".into(),
            format!("Le département « {code} » n'existe pas."),
        ));
    };
    listing(
        &state,
        Listing {
            title: format!("{} ({code})", departement.nom),
            subtitle: Some(format!(
                "Les actions numériques des collectivités du département {}.",
                departement.nom
            )),
            group: Some(GroupKind::Departement(code.clone())),
            filter: ("departement", code),
            show_collectivites: true,
        },
    )
    .await
}

/// `GET /regions/{code}`.
pub async fn region_page(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> AppResult<Response> {
    let Some(region) = Referential::global().region(&code) else {
        return Ok(message_response(
            StatusCode::NOT_FOUND,
            "Région inconnue".into(),
            format!("La région « {code} » n'existe pas."),
        ));
    };
    listing(
        &state,
        Listing {
            title: format!("Région {}", region.nom),
            subtitle: Some(format!(
                "Les actions numériques des collectivités de la région {}.",
                region.nom
            )),
            group: Some(GroupKind::Region(code.clone())),
            filter: ("region", code),
            show_collectivites: true,
        },
    )
    .await
}

/// `GET /logiciels/{name}`: who uses this software (name, SILL, Comptoir or Wikidata id).
pub async fn software_page(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> AppResult<Response> {
    listing(
        &state,
        Listing {
            title: format!("Logiciel {name}"),
            subtitle: Some("Les collectivités qui l'utilisent déjà : autant de partenaires possibles pour mutualiser.".into()),
            group: None,
            filter: ("software", name),
            show_collectivites: true,
        },
    )
    .await
}

/// `GET /prestataires/{name}`: who works with this provider (name or SIREN).
pub async fn provider_page(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> AppResult<Response> {
    listing(
        &state,
        Listing {
            title: format!("Prestataire {name}"),
            subtitle: Some(
                "Les collectivités qui travaillent avec ce prestataire, et pour quelles actions."
                    .into(),
            ),
            group: None,
            filter: ("provider", name),
            show_collectivites: true,
        },
    )
    .await
}

/// One bar of a chart.
struct Bar {
    label: String,
    count: i64,
    width: i64,
    y: i64,
}

/// A horizontal bar chart.
struct Chart {
    title: String,
    height: i64,
    bars: Vec<Bar>,
}

fn chart(title: &str, facets: &[Facet]) -> Chart {
    let max = facets.iter().map(|f| f.count).max().unwrap_or(1).max(1);
    let bars: Vec<Bar> = facets
        .iter()
        .enumerate()
        .map(|(i, f)| Bar {
            label: if f.label.is_empty() {
                f.key.clone()
            } else {
                f.label.clone()
            },
            count: f.count,
            width: (f.count * 320 / max).max(1),
            y: i as i64 * 22,
        })
        .collect();
    Chart {
        title: title.to_string(),
        height: (bars.len() as i64 * 22).max(22),
        bars,
    }
}

#[derive(Template)]
#[template(path = "stats.html")]
struct StatsPage {
    node_name: String,
    nodes: i64,
    collectivites: i64,
    actions: i64,
    partnerships: i64,
    charts: Vec<Chart>,
}

/// `GET /statistiques`: counts and charts per theme, région, phase and month.
pub async fn stats_page(State(state): State<AppState>) -> AppResult<Response> {
    let (nodes, collectivites, actions, partnerships) = state.store.directory_counts().await?;
    let everything = SearchQuery {
        limit: 1,
        ..Default::default()
    };
    let page = crate::service::directory::search(&state, &everything).await?;
    let months: Vec<Facet> = state
        .store
        .actions_per_month(12)
        .await?
        .into_iter()
        .map(|(month, count)| Facet {
            label: month.clone(),
            key: month,
            count,
        })
        .collect();
    html(
        StatusCode::OK,
        &StatsPage {
            node_name: state.settings.node.name.clone(),
            nodes,
            collectivites,
            actions,
            partnerships,
            charts: vec![
                chart("Actions par thème", &page.facets.theme),
                chart("Actions par région", &page.facets.region),
                chart("Actions par phase", &page.facets.phase),
                chart("Actions publiées par mois (12 derniers mois)", &months),
            ],
        },
    )
}

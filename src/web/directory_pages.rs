//! Directory pages beyond the home page: theme, département and région pages with the
//! aggregator's follow handle, "who uses what" pages (a software, a provider: which
//! collectivités use it, across every followed node), and the statistics page with
//! server-rendered SVG charts.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::pages::{ActionCard, html, message_response};
use super::words;
use crate::directory::SearchQuery;
use crate::directory::search::Facet;
use crate::domain::GroupKind;
use crate::error::AppResult;
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
    /// "12 actions" (or "120 actions en tout ; 100 sont présentées ci-dessous").
    total_text: String,
    actions: Vec<ActionCard>,
    query_suffix: String,
}

/// What a listing page shows.
struct Listing {
    title: String,
    subtitle: Option<String>,
    group: Option<GroupKind>,
    filter: (&'static str, String),
    /// The heading over the collectivités, from their count ("Utilisé par 3
    /// collectivités"); `None`: not listed.
    collectivites_heading: Option<fn(i64) -> String>,
}

async fn listing(state: &AppState, listing: Listing) -> AppResult<Response> {
    let (key, value) = &listing.filter;
    let mut query = SearchQuery::parse([(*key, value.as_str())])?;
    query.limit = 100;
    let page = crate::service::directory::search(state, &query).await?;
    let mut collectivites: Vec<(String, String)> = Vec::new();
    if listing.collectivites_heading.is_some() {
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
            collectivites_heading: listing
                .collectivites_heading
                .map(|heading| heading(collectivites.len() as i64))
                .unwrap_or_default(),
            title: listing.title,
            subtitle: listing.subtitle,
            follow_handle,
            collectivites,
            total_text: if page.total > page.items.len() as i64 {
                format!(
                    "{} en tout ; {} ci-dessous",
                    words::count(page.total, "action", "actions"),
                    words::count(page.items.len() as i64, "est présentée", "sont présentées")
                )
            } else {
                words::count(page.total, "action", "actions")
            },
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
            collectivites_heading: None,
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
            collectivites_heading: Some(|n| {
                format!(
                    "Dans ce département, {}",
                    words::count(
                        n,
                        "collectivité publie ses actions ici",
                        "collectivités publient leurs actions ici"
                    )
                )
            }),
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
            collectivites_heading: Some(|n| {
                format!(
                    "Dans cette région, {}",
                    words::count(
                        n,
                        "collectivité publie ses actions ici",
                        "collectivités publient leurs actions ici"
                    )
                )
            }),
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
            collectivites_heading: Some(|n| {
                format!("Utilisé par {}", words::count(n, "collectivité", "collectivités"))
            }),
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
            collectivites_heading: Some(|n| {
                format!(
                    "Travaille avec {}",
                    words::count(n, "collectivité", "collectivités")
                )
            }),
        },
    )
    .await
}

/// One bar of a chart.
struct Bar {
    label: String,
    /// The count as written ("1 234").
    count: String,
    /// The bar's length, in percent of the longest.
    percent: i64,
}

/// A horizontal bar chart, written as a table (label, count, bar) that reflows.
struct Chart {
    title: String,
    bars: Vec<Bar>,
}

fn chart(title: &str, facets: &[Facet]) -> Chart {
    let max = facets.iter().map(|f| f.count).max().unwrap_or(1).max(1);
    let bars: Vec<Bar> = facets
        .iter()
        .map(|f| Bar {
            label: if f.label.is_empty() {
                f.key.clone()
            } else {
                f.label.clone()
            },
            count: words::number(f.count),
            percent: (f.count * 100 / max).max(1),
        })
        .collect();
    Chart {
        title: title.to_string(),
        bars,
    }
}

#[derive(Template)]
#[template(path = "stats.html")]
struct StatsPage {
    node_name: String,
    /// `(label, figure)` pairs, figures written in French.
    figures: Vec<(&'static str, String)>,
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
            label: words::month(&month),
            key: month,
            count,
        })
        .collect();
    html(
        StatusCode::OK,
        &StatsPage {
            node_name: state.settings.node.name.clone(),
            figures: vec![
                ("Sites Maillage reliés", words::number(nodes)),
                ("Collectivités", words::number(collectivites)),
                ("Actions", words::number(actions)),
                ("Actions menées à plusieurs", words::number(partnerships)),
            ],
            charts: vec![
                chart("Actions par thème", &page.facets.theme),
                chart("Actions par région", &page.facets.region),
                chart("Actions par avancement", &page.facets.phase),
                chart("Actions publiées par mois (12 derniers mois)", &months),
            ],
        },
    )
}

//! `maillage demo`: a local federation in one process — two town nodes and an
//! aggregator on localhost ports, SQLite files in a temporary folder — seeded with real
//! communes of the referential and the sample actions of `data/demo/actions.json`
//! (written for the project, in French). Federation does the rest: each town joins the
//! aggregator (which follows back and backfills), partnerships are published as
//! `Update`s, the aggregator's groups announce. Each town's official website is a
//! small page the demo serves on another loopback port, linking back to the town's
//! actor with `rel="me"`: the aggregator (whose default admission policy lists only
//! verified collectivités) verifies them as it would a real town's site. Prints the
//! URLs to open.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Deserialize;

use super::{CliError, CliResult};
use crate::config::Settings;
use crate::domain::NewAction;
use crate::domain::drafts::{ActionBody, CollectiviteBody};
use crate::startup::App;
use crate::state::AppState;
use crate::{federation, service};

const SAMPLE: &str = include_str!("../../data/demo/actions.json");

#[derive(Deserialize)]
struct Sample {
    towns: Vec<Town>,
    actions: Vec<SampleAction>,
    #[serde(default)]
    partnerships: Vec<Partnership>,
}

#[derive(Deserialize)]
struct Town {
    node: String,
    username: String,
    insee: String,
}

#[derive(Deserialize)]
struct SampleAction {
    town: String,
    #[serde(flatten)]
    body: ActionBody,
}

#[derive(Deserialize)]
struct Partnership {
    action: String,
    partner: String,
}

struct Node {
    state: AppState,
    base: String,
}

async fn start_node(
    dir: &std::path::Path,
    key: &str,
    name: &str,
    port: u16,
    aggregator: bool,
) -> anyhow::Result<Node> {
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(listener) => listener,
        Err(_) => tokio::net::TcpListener::bind("127.0.0.1:0").await?,
    };
    let port = listener.local_addr()?.port();
    let mut settings = Settings {
        domain: format!("localhost:{port}"),
        bind: format!("127.0.0.1:{port}"),
        ..Settings::default()
    };
    settings.database.url = format!("sqlite://{}", dir.join(format!("{key}.db")).display());
    settings.federation.debug = true;
    settings.delivery.poll_interval_ms = 100;
    settings.aggregator.enabled = aggregator;
    settings.node.name = name.to_string();
    settings.log.level = "warn".into();
    settings.validate()?;
    let app = App::build_with_listener(settings, listener).await?;
    let state = app.state();
    tokio::spawn(async move {
        if let Err(error) = app
            .run_until_stopped(crate::startup::shutdown_signal())
            .await
        {
            tracing::error!(error = format!("{error:#}"), "demo node stopped");
        }
    });
    Ok(Node {
        base: format!("http://localhost:{port}"),
        state,
    })
}

/// The sample's collectivités by username, with the node that hosts each.
type Towns = HashMap<String, (AppState, crate::domain::Collectivite)>;

/// The towns' official websites: a page per town (`/{username}`) linking back to its
/// actor with `rel="me"`, as a town would put on its own site.
type Sites = Arc<RwLock<HashMap<String, url::Url>>>;

/// Serves [`Sites`] on a loopback port; returns the sites' base URL.
async fn serve_sites(sites: Sites) -> anyhow::Result<String> {
    use axum::extract::{Path, State};
    use axum::http::StatusCode;
    use axum::response::{Html, IntoResponse};
    async fn page(State(sites): State<Sites>, Path(username): Path<String>) -> impl IntoResponse {
        let actor = sites
            .read()
            .expect("BUG: poisoned demo sites")
            .get(&username)
            .cloned();
        match actor {
            Some(actor) => Html(format!(
                "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Mairie : {username}</title></head>\
                 <body><h1>Site officiel de la mairie (démonstration)</h1>\
                 <p><a rel=\"me\" href=\"{}\">Nos actions numériques sur Maillage</a></p></body></html>",
                crate::domain::html::escape(actor.as_str())
            ))
            .into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let app = axum::Router::new()
        .route("/{username}", axum::routing::get(page))
        .with_state(sites);
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "demo websites stopped");
        }
    });
    Ok(format!("http://localhost:{port}"))
}

/// Creates the sample's towns, each on the node `node_of` gives for its sample node
/// key (`a` or `b`) and with the official website `website_of` gives, their actions,
/// and the sample partnerships.
async fn seed(
    sample: Sample,
    node_of: impl Fn(&str) -> AppState,
    website_of: impl Fn(&str) -> Option<String>,
) -> Result<Towns, CliError> {
    let mut towns = HashMap::new();
    for town in &sample.towns {
        let state = node_of(&town.node);
        let body = CollectiviteBody {
            username: Some(town.username.clone()),
            insee: Some(town.insee.clone()),
            website: website_of(&town.username),
            ..Default::default()
        };
        let collectivite =
            service::collectivites::create_collectivite(&state, body.into_profile()?).await?;
        towns.insert(town.username.clone(), (state, collectivite));
    }
    let mut actions = HashMap::new();
    for sample_action in sample.actions {
        let (state, owner) = towns.get(&sample_action.town).ok_or_else(|| {
            CliError(format!(
                "ville inconnue dans la démo : {}",
                sample_action.town
            ))
        })?;
        let name = sample_action.body.name.clone().unwrap_or_default();
        let action =
            service::actions::create_action(state, owner, NewAction::try_from(sample_action.body)?)
                .await?;
        actions.insert(name, (state.clone(), action));
    }
    // Partnerships (the Join workflow's outcome): the owner publishes its partners.
    let mut partners: HashMap<String, Vec<url::Url>> = HashMap::new();
    for partnership in &sample.partnerships {
        if let Some((_, partner)) = towns.get(&partnership.partner) {
            partners
                .entry(partnership.action.clone())
                .or_default()
                .push(partner.ap_id.clone());
        }
    }
    for (name, list) in partners {
        if let Some((state, action)) = actions.get(&name) {
            service::actions::set_partners(state, action, list).await?;
        }
    }
    Ok(towns)
}

/// The demo's towns and actions, all on one node (the accessibility tests and the
/// screenshots use it); returns the towns' usernames.
///
/// # Errors
/// A sample that does not validate, or the store failing.
pub async fn seed_one_node(state: &AppState) -> Result<Vec<String>, CliError> {
    let sample: Sample =
        serde_json::from_str(SAMPLE).context("BUG: data/demo/actions.json is checked by a test")?;
    let towns = seed(sample, |_| state.clone(), |_| None).await?;
    let mut names: Vec<String> = towns.into_keys().collect();
    names.sort();
    Ok(names)
}

/// Runs `maillage demo`.
pub async fn run(base_port: u16) -> CliResult {
    let sample: Sample =
        serde_json::from_str(SAMPLE).context("BUG: data/demo/actions.json is checked by a test")?;
    let dir = tempfile::Builder::new()
        .prefix("maillage-demo-")
        .tempdir()
        .context("temporary folder")?;
    eprintln!(
        "Démarrage de trois nœuds (bases SQLite dans {}) …",
        dir.path().display()
    );
    let actions_count = sample.actions.len();
    let a = start_node(dir.path(), "a", "Nœud des villes du Nord", base_port, false).await?;
    let b = start_node(
        dir.path(),
        "b",
        "Nœud partagé Rennes – Ajaccio – Albi",
        base_port.saturating_add(1),
        false,
    )
    .await?;
    let annuaire = start_node(
        dir.path(),
        "annuaire",
        "Annuaire Maillage",
        base_port.saturating_add(2),
        true,
    )
    .await?;

    let sites: Sites = Arc::default();
    let sites_base = serve_sites(sites.clone()).await?;
    let towns = seed(
        sample,
        |node| {
            if node == "a" {
                a.state.clone()
            } else {
                b.state.clone()
            }
        },
        |username| Some(format!("{sites_base}/{username}")),
    )
    .await?;
    {
        let mut sites = sites.write().expect("BUG: poisoned demo sites");
        for (username, (_, town)) in &towns {
            sites.insert(username.clone(), town.ap_id.clone());
        }
    }
    // Each town's node checks its site now that the page links back.
    for (state, town) in towns.values() {
        service::verification::check_now(state, town.id).await?;
    }

    // Every town joins the network by following the aggregator's instance actor.
    let aggregator_actor = annuaire.state.url("/actor").to_string();
    for (state, owner) in towns.values() {
        let follower = state
            .store
            .actor_by_id(owner.id)
            .await?
            .ok_or_else(|| CliError("acteur introuvable".into()))?;
        let config = federation::federation_config(state.clone()).await?;
        service::follows::follow(&config.to_request_data(), &follower, &aggregator_actor).await?;
    }
    // Two towns of different nodes follow each other too.
    if let (Some((state, lille)), Some((_, rennes))) = (towns.get("lille"), towns.get("rennes")) {
        let follower = state
            .store
            .actor_by_id(lille.id)
            .await?
            .ok_or_else(|| CliError("lille".into()))?;
        let config = federation::federation_config(state.clone()).await?;
        service::follows::follow(&config.to_request_data(), &follower, rennes.ap_id.as_str())
            .await?;
    }

    let expected = actions_count as i64;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (_, _, known, _) = annuaire.state.store.directory_counts().await?;
        if known >= expected {
            eprintln!("L'agrégateur connaît les {known} actions des deux nœuds.");
            break;
        }
        if Instant::now() > deadline {
            eprintln!(
                "L'agrégateur connaît {known} actions sur {expected} ; la fédération continue en arrière-plan."
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The aggregator checks each town's site when it learns of the town; checked here
    // again so that the directory lists them all before the URLs are printed.
    let mut verified = 0;
    for (_, town) in towns.values() {
        if let Some(actor) = annuaire.state.store.actor_by_ap_id(&town.ap_id).await? {
            let check = service::verification::check_now(&annuaire.state, actor.id).await?;
            if check.is_some_and(|c| c.verified_at.is_some()) {
                verified += 1;
            }
        }
    }
    eprintln!(
        "Sites officiels vérifiés par l'agrégateur : {verified} sur {}.",
        towns.len()
    );
    println!();
    println!("Maillage — démonstration locale");
    println!("  Annuaire (agrégateur) : {}/", annuaire.base);
    println!("  Nœud A (Nord)         : {}/", a.base);
    println!("  Nœud B                : {}/", b.base);
    println!(
        "  Groupe à suivre       : @dep-59@{}",
        annuaire.base.trim_start_matches("http://")
    );
    println!(
        "  API                   : {}/api/v1/directory/actions?q=numerique",
        annuaire.base
    );
    println!("Ctrl-C pour arrêter (les données de la démo sont effacées à l'arrêt).");
    crate::startup::shutdown_signal().await;
    // Let the nodes finish their in-flight requests before the folder goes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(dir);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_data_is_valid() {
        let sample: Sample = serde_json::from_str(SAMPLE).unwrap();
        let towns: Vec<&str> = sample.towns.iter().map(|t| t.username.as_str()).collect();
        assert_eq!(towns.len(), 6);
        let taxonomy = crate::taxonomy::Taxonomy::global();
        let mut themes = std::collections::HashSet::new();
        let mut names = std::collections::HashSet::new();
        assert!((30..=60).contains(&sample.actions.len()));
        for action in sample.actions {
            assert!(towns.contains(&action.town.as_str()), "{}", action.town);
            let name = action.body.name.clone().unwrap();
            assert!(names.insert(name.clone()), "duplicate {name}");
            let data =
                NewAction::try_from(action.body).unwrap_or_else(|e| panic!("{name}: {:?}", e.0));
            themes.extend(data.themes.iter().map(|t| t.to_string()));
        }
        assert_eq!(
            themes.len(),
            taxonomy.themes().count(),
            "every theme is covered"
        );
        for partnership in &sample.partnerships {
            assert!(
                names.contains(&partnership.action),
                "{}",
                partnership.action
            );
            assert!(towns.contains(&partnership.partner.as_str()));
        }
    }
}

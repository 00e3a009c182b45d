//! Directory search: the same cases on SQLite (FTS5) and PostgreSQL (tsvector), with
//! accents, plurals, every filter, facets, sort and pages.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::both_engines;
use crate::helpers::{Engine, TestApp, assert_problem, spawn_app_with};

both_engines!(search_cases);

async fn seed(app: &TestApp) {
    let marcq = app.collectivite_with_token("marcq", "59378").await;
    let lille = app.collectivite_with_token("lille", "59350").await;
    let ajaccio = app.collectivite_with_token("ajaccio", "2A004").await;
    let rennes = app.collectivite_with_token("rennes", "35238").await;
    let actions = [
        (
            &marcq,
            "marcq",
            json!({"name": "École numérique pour tous", "content": "Des tablettes dans chaque classe.", "themes": ["education"], "phase": "service",
            "software": [{"name": "Publik", "sill_id": "185"}], "providers": [{"name": "Entr'ouvert", "siren": "443170139"}], "open_to_partners": true}),
        ),
        (
            &lille,
            "lille",
            json!({"name": "Des écoles numériques connectées", "content": "Le très haut débit arrive dans les écoles.", "themes": ["education", "attractivite"], "phase": "realisation"}),
        ),
        (
            &lille,
            "lille",
            json!({"name": "Médiathèque ouverte le dimanche", "content": "Ouverture élargie et prêt numérique.", "themes": ["culture"], "status": "termine"}),
        ),
        (
            &ajaccio,
            "ajaccio",
            json!({"name": "Archives municipales en ligne", "content": "Numérisation des registres paroissiaux.", "themes": ["patrimoine"], "phase": "service",
            "software": [{"name": "publik"}]}),
        ),
        (
            &rennes,
            "rennes",
            json!({"name": "Budget participatif", "content": "Les habitants votent pour les projets du quartier.", "themes": ["democratie-locale"], "phase": "etude",
            "providers": [{"name": "Cap Collectif"}]}),
        ),
        (
            &rennes,
            "rennes",
            json!({"name": "Conseillers numériques itinérants", "content": "Médiation numérique dans les quartiers.", "themes": ["solidarites"], "phase": "service",
            "location": [{"name": "Maison de quartier", "insee": "35238"}]}),
        ),
        (
            &marcq,
            "marcq",
            json!({"name": "Action supprimée", "content": "Ne doit jamais apparaître.", "themes": ["culture"]}),
        ),
    ];
    for (token, user, body) in actions {
        app.publish(user, token, &body).await;
    }
    // Delete the last one: tombstones are not in the directory.
    let page = app
        .get_json(app.url("/api/v1/directory/actions?q=supprimee"))
        .await;
    let uuid = page["items"][0]["uuid"].as_str().unwrap().to_string();
    let response = app
        .client
        .delete(app.url(&format!("/api/v1/actions/{uuid}")))
        .bearer_auth(&marcq)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
}

async fn names(app: &TestApp, query: &str) -> BTreeSet<String> {
    let page = app
        .get_json(app.url(&format!("/api/v1/directory/actions?{query}")))
        .await;
    assert!(page["items"].is_array(), "{query}: {page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

async fn search_cases(app: TestApp) {
    seed(&app).await;
    let ecole = "École numérique pour tous";
    let ecoles = "Des écoles numériques connectées";
    let mediatheque = "Médiathèque ouverte le dimanche";
    let archives = "Archives municipales en ligne";
    let budget = "Budget participatif";
    let conseillers = "Conseillers numériques itinérants";
    let all = set(&[ecole, ecoles, mediatheque, archives, budget, conseillers]);
    let domain = app.domain.clone();
    let cases: Vec<(String, BTreeSet<String>)> = vec![
        ("".into(), all.clone()),
        ("q=ecole+numerique".into(), set(&[ecole, ecoles])),
        (
            "q=%C3%A9coles+num%C3%A9riques".into(),
            set(&[ecole, ecoles]),
        ),
        ("q=ECOLE".into(), set(&[ecole, ecoles])),
        ("q=mediatheque".into(), set(&[mediatheque])),
        (
            "q=numerique".into(),
            set(&[ecole, ecoles, mediatheque, conseillers]),
        ),
        ("q=registres".into(), set(&[archives])),
        ("q=quartiers".into(), set(&[budget, conseillers])),
        ("q=Ajaccio".into(), set(&[archives])),
        ("q=supprimee".into(), set(&[])),
        ("q=zzzz".into(), set(&[])),
        ("q=%27%22%2A".into(), set(&[])),
        ("theme=culture".into(), set(&[mediatheque])),
        (
            "theme=culture&theme=patrimoine".into(),
            set(&[mediatheque, archives]),
        ),
        (
            "axe=partage-connaissance".into(),
            set(&[ecole, ecoles, mediatheque, archives]),
        ),
        ("phase=service".into(), set(&[ecole, archives, conseillers])),
        (
            "phase=etude&phase=realisation".into(),
            set(&[ecoles, budget, mediatheque]),
        ),
        ("status=termine".into(), set(&[mediatheque])),
        ("departement=59".into(), set(&[ecole, ecoles, mediatheque])),
        ("departement=2A".into(), set(&[archives])),
        ("region=53".into(), set(&[budget, conseillers])),
        ("insee=35238".into(), set(&[budget, conseillers])),
        ("epci=200093201".into(), set(&[ecole, ecoles, mediatheque])),
        (
            format!("collectivite=lille@{domain}"),
            set(&[ecoles, mediatheque]),
        ),
        (
            format!("collectivite=http://{domain}/actors/rennes"),
            set(&[budget, conseillers]),
        ),
        ("open_to_partners=true".into(), set(&[ecole])),
        ("bbox=8.5,41.3,9.6,43.1".into(), set(&[archives])),
        ("updated_since=2099-01-01".into(), set(&[])),
        ("updated_since=2000-01-01".into(), all.clone()),
        ("software=PUBLIK".into(), set(&[ecole, archives])),
        ("software=185".into(), set(&[ecole])),
        ("provider=entr%27ouvert".into(), set(&[ecole])),
        ("provider=443+170+139".into(), set(&[ecole])),
        (
            "q=numerique&departement=59&theme=education".into(),
            set(&[ecole, ecoles]),
        ),
    ];
    assert!(cases.len() >= 20);
    for (query, expected) in &cases {
        assert_eq!(
            &names(&app, query).await,
            expected,
            "query: {query} on {:?}",
            app.engine
        );
    }

    // Facets count the whole result set.
    let page: Value = app
        .get_json(app.url("/api/v1/directory/actions?q=numerique"))
        .await;
    assert_eq!(page["total"], 4);
    let facet = |name: &str, key: &str| -> i64 {
        page["facets"][name]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["key"] == key)
            .map(|f| f["count"].as_i64().unwrap())
            .unwrap_or(0)
    };
    assert_eq!(facet("theme", "education"), 2);
    assert_eq!(facet("departement", "59"), 3);
    assert_eq!(facet("region", "53"), 1);
    assert_eq!(facet("phase", "service"), 2);
    assert_eq!(facet("software", "Publik"), 1);
    let label = page["facets"]["departement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "59")
        .unwrap()["label"]
        .clone();
    assert_eq!(label, "Nord");

    // Sort by name and pages.
    let first = app
        .get_json(app.url("/api/v1/directory/actions?sort=name&limit=4"))
        .await;
    let order: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(order, [archives, budget, conseillers, ecoles]);
    assert_eq!(first["total"], 6);
    let next = first["next"].as_str().unwrap();
    let second = app
        .get_json(app.url(&format!(
            "/api/v1/directory/actions?sort=name&limit=4&cursor={next}"
        )))
        .await;
    let order: Vec<&str> = second["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(order, [mediatheque, ecole]);
    assert!(second["next"].is_null());
    // Relevance: the title match first.
    let ranked = app
        .get_json(app.url("/api/v1/directory/actions?q=mediatheque+numerique"))
        .await;
    assert_eq!(ranked["items"][0]["name"], mediatheque);

    // Collectivités and stats.
    let list = app
        .get_json(app.url("/api/v1/directory/collectivites?departement=59"))
        .await;
    let counts: Vec<(String, i64)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["username"].as_str().unwrap().to_string(),
                c["actions"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(counts, [("lille".to_string(), 2), ("marcq".to_string(), 1)]);
    let corse = app
        .get_json(app.url("/api/v1/directory/collectivites?region=94&kind=commune"))
        .await;
    assert_eq!(corse.as_array().unwrap().len(), 1);
    let stats = app.get_json(app.url("/api/v1/directory/stats")).await;
    assert_eq!(stats["actions"], 6);
    assert_eq!(stats["collectivites"], 4);
    assert_eq!(stats["nodes"], 1);
    assert_eq!(stats["partnerships"], 0);
    let per_region: i64 = stats["per"]["region"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["count"].as_i64().unwrap())
        .sum();
    assert_eq!(per_region, 6);

    // Exports take the same parameters.
    let geojson = app
        .get_json(app.url("/directory.geojson?departement=59"))
        .await;
    assert_eq!(geojson["type"], "FeatureCollection");
    let features = geojson["features"].as_array().unwrap();
    assert_eq!(features.len(), 3, "one point per located place");
    assert_eq!(features[0]["geometry"]["type"], "Point");
    let lon = features[0]["geometry"]["coordinates"][0].as_f64().unwrap();
    assert!((2.5..3.5).contains(&lon), "GeoJSON is lon, lat: {lon}");
    let csv = app
        .client
        .get(app.url("/directory.csv?theme=education"))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert!(!csv.starts_with('\u{feff}'), "no BOM");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "header and two actions: {csv}");
    assert!(lines[0].starts_with("id;url;nom;resume;collectivite;"));
    assert!(csv.contains("education"));
    let atom = app
        .client
        .get(app.url("/directory.atom?q=ecole"))
        .send()
        .await
        .unwrap();
    assert!(
        atom.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/atom+xml")
    );
    let atom = atom.text().await.unwrap();
    assert_eq!(atom.matches("<entry>").count(), 2);
    assert!(atom.contains("<title>École numérique pour tous</title>"));

    // Bad parameters are named.
    let response = app
        .client
        .get(app.url(
            "/api/v1/directory/actions?theme=cuisine&bbox=1,2&limit=500&departement=00&sort=hasard",
        ))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, reqwest::StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(crate::helpers::problem_fields(&problem).len(), 5);
}

both_engines!(counts_follow_every_change);

/// Totals and facets are cached per directory generation: every change shows at once.
async fn counts_follow_every_change(app: TestApp) {
    let token = app.collectivite_with_token("marcq", "59378").await;
    let total = |page: &Value| page["total"].as_i64().unwrap();
    let culture = |page: &Value| {
        page["facets"]["theme"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["key"] == "culture")
            .map(|f| f["count"].as_i64().unwrap())
            .unwrap_or(0)
    };
    let url = app.url("/api/v1/directory/actions?departement=59");
    let generation = app.state.store.directory_generation().await.unwrap();
    let mut ids = Vec::new();
    for i in 0..2 {
        let created = app
            .publish(
                "marcq",
                &token,
                &json!({"name": format!("Action {i}"), "content": "x", "themes": ["culture"]}),
            )
            .await;
        ids.push(created["uuid"].as_str().unwrap().to_string());
    }
    assert!(app.state.store.directory_generation().await.unwrap() > generation);
    let first = app.get_json(url.clone()).await;
    assert_eq!((total(&first), culture(&first)), (2, 2));
    let again = app.get_json(url.clone()).await;
    assert_eq!(
        (total(&again), culture(&again)),
        (2, 2),
        "served from the cache, same answer"
    );
    // A new action, an edit that changes the theme, a deletion: each shows at once.
    app.publish(
        "marcq",
        &token,
        &json!({"name": "Troisième", "content": "x", "themes": ["culture"]}),
    )
    .await;
    assert_eq!(total(&app.get_json(url.clone()).await), 3);
    let response = app
        .client
        .patch(app.url(&format!("/api/v1/actions/{}", ids[0])))
        .bearer_auth(&token)
        .json(&json!({"themes": ["education"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(culture(&app.get_json(url.clone()).await), 2);
    let response = app
        .client
        .delete(app.url(&format!("/api/v1/actions/{}", ids[1])))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let last = app.get_json(url).await;
    assert_eq!((total(&last), culture(&last)), (2, 1));
}

/// Relevance is ranked within the newest `relevance_window` text matches, then among
/// the older ones; pages walk both without loss or repeat.
async fn relevance_windows(app: TestApp) {
    let token = app.collectivite_with_token("brest", "29019").await;
    // Created in this order: ids grow. "Très pertinente" repeats the word.
    let names = [
        "Ancienne très pertinente",
        "Ancienne deux",
        "Ancienne trois",
        "Ancienne quatre",
        "Récente très pertinente",
        "Récente six",
        "Récente sept",
    ];
    for name in names {
        let content = if name.contains("pertinente") {
            "Fibre optique : la fibre, encore la fibre, toujours la fibre."
        } else {
            "Déploiement de la fibre optique dans les quartiers du centre."
        };
        let body = json!({"name": name, "content": content, "themes": ["attractivite"]});
        app.publish("brest", &token, &body).await;
    }
    let mut seen = Vec::new();
    for offset in [0, 2, 4, 6] {
        let page = app
            .get_json(app.url(&format!(
                "/api/v1/directory/actions?q=fibre&limit=2&cursor={offset}"
            )))
            .await;
        assert_eq!(page["total"], 7);
        for item in page["items"].as_array().unwrap() {
            seen.push(item["name"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(seen.len(), 7, "{seen:?}");
    let distinct: BTreeSet<_> = seen.iter().collect();
    assert_eq!(distinct.len(), 7, "no repeat across pages: {seen:?}");
    // The newest three first, the most relevant of them leading; then the older four,
    // again the most relevant first.
    assert_eq!(seen[0], "Récente très pertinente", "{seen:?}");
    let newest: BTreeSet<_> = seen[..3].iter().map(String::as_str).collect();
    assert_eq!(
        newest,
        BTreeSet::from(["Récente très pertinente", "Récente six", "Récente sept"])
    );
    assert_eq!(seen[3], "Ancienne très pertinente", "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relevance_windows_sqlite() {
    let app = spawn_app_with(Engine::Sqlite, |s| s.directory.relevance_window = 3)
        .await
        .expect("SQLite app");
    relevance_windows(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relevance_windows_postgres() {
    match spawn_app_with(Engine::Postgres, |s| s.directory.relevance_window = 3).await {
        Some(app) => relevance_windows(app).await,
        None => crate::helpers::say_skipped("relevance_windows"),
    }
}

/// Relevance windows with a filter beyond the text: on SQLite the window's bound is
/// found among the text matches alone, so the newer window may hold fewer filtered
/// results than `relevance_window`; pages must still walk them without repeat.
async fn relevance_windows_filtered(app: TestApp) {
    let token = app.collectivite_with_token("brest", "29019").await;
    let actions = [
        ("Ancienne un", "attractivite"),
        ("Ancienne deux", "attractivite"),
        ("Ancienne trois", "attractivite"),
        ("Ancienne quatre", "attractivite"),
        ("Récente cinq", "attractivite"),
        ("Récente six", "culture"),
        ("Récente sept", "culture"),
    ];
    for (name, theme) in actions {
        let body = json!({"name": name, "content": "La fibre optique arrive.", "themes": [theme]});
        app.publish("brest", &token, &body).await;
    }
    let mut seen = Vec::new();
    for offset in [0, 2, 4] {
        let page = app
            .get_json(app.url(&format!(
                "/api/v1/directory/actions?q=fibre&theme=attractivite&limit=2&cursor={offset}"
            )))
            .await;
        assert_eq!(page["total"], 5);
        for item in page["items"].as_array().unwrap() {
            seen.push(item["name"].as_str().unwrap().to_string());
        }
    }
    let distinct: BTreeSet<_> = seen.iter().collect();
    assert_eq!((seen.len(), distinct.len()), (5, 5), "{seen:?}");
    assert_eq!(seen[0], "Récente cinq", "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relevance_windows_filtered_sqlite() {
    let app = spawn_app_with(Engine::Sqlite, |s| s.directory.relevance_window = 3)
        .await
        .expect("SQLite app");
    relevance_windows_filtered(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relevance_windows_filtered_postgres() {
    match spawn_app_with(Engine::Postgres, |s| s.directory.relevance_window = 3).await {
        Some(app) => relevance_windows_filtered(app).await,
        None => crate::helpers::say_skipped("relevance_windows_filtered"),
    }
}

both_engines!(sorted_pages);

/// Pages sorted by date or name, with a filter most actions pass: SQLite then walks the
/// order's index (`actions_updated`, `actions_name`) instead of sorting the matches;
/// the pages must be the same as sorting gives.
async fn sorted_pages(app: TestApp) {
    let token = app.collectivite_with_token("brest", "29019").await;
    for i in 1..=8 {
        let theme = if i == 4 || i == 7 {
            "patrimoine"
        } else {
            "culture"
        };
        let body =
            json!({"name": format!("Action {i}"), "content": "Une action.", "themes": [theme]});
        app.publish("brest", &token, &body).await;
    }
    let walk = |query: &'static str| {
        let app = &app;
        async move {
            let mut seen = Vec::new();
            let mut cursor = Some("0".to_string());
            while let Some(at) = cursor {
                let page = app
                    .get_json(app.url(&format!(
                        "/api/v1/directory/actions?{query}&limit=2&cursor={at}"
                    )))
                    .await;
                assert_eq!(page["total"], 6, "{query}: {page}");
                for item in page["items"].as_array().unwrap() {
                    seen.push(item["name"].as_str().unwrap().to_string());
                }
                cursor = page["next"].as_str().map(str::to_string);
            }
            seen
        }
    };
    let newest_first: Vec<String> = [8, 6, 5, 3, 2, 1]
        .iter()
        .map(|i| format!("Action {i}"))
        .collect();
    assert_eq!(walk("theme=culture").await, newest_first);
    let by_name: Vec<String> = [1, 2, 3, 5, 6, 8]
        .iter()
        .map(|i| format!("Action {i}"))
        .collect();
    assert_eq!(walk("theme=culture&sort=name").await, by_name);
}

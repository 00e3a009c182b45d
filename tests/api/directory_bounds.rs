//! Bounds of the directory under hostile traffic (issue 13 points 3, 9 and 13):
//! exports streamed over many actions and bounded in number, cheap to repeat
//! (`ETag`); CSV numbers left as numbers; full-text search cost bounded per query
//! and per client address.

use std::collections::HashSet;

use maillage::db::actions::ActionIdentity;
use maillage::db::activities::NewActivity;
use maillage::db::deliveries::Audience;
use maillage::domain::drafts::{ActionBody, PlaceBody};
use maillage::domain::{ActionId, NewAction};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_engines;
use crate::helpers::{
    Engine, TestApp, assert_problem, problem_fields, sample_action, say_skipped, spawn_app_with,
    wait_until,
};

/// Stores `n` actions of the collectivité `owner` straight through the store (the
/// API would take minutes): `name {i}`, `places` places each, the summary `summary`.
async fn store_actions(
    app: &TestApp,
    owner: &str,
    name: &str,
    n: usize,
    places: usize,
    summary: &str,
) {
    let owner = app.actor(owner).await;
    for i in 0..n {
        let body = ActionBody {
            name: Some(format!("{name} {i}")),
            summary: Some(summary.to_string()),
            content: Some("Une action du test des exports.".into()),
            phase: Some("service".into()),
            themes: Some(vec!["education".into()]),
            location: Some(
                (0..places)
                    .map(|p| PlaceBody {
                        name: Some(format!("Lieu {p}")),
                        insee: Some("59378".into()),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        };
        let data = NewAction::try_from(body).expect("valid action");
        let id = ActionId::generate();
        let ap_id: url::Url = app.url(&format!("/actions/{id}")).parse().unwrap();
        let identity = ActionIdentity {
            id,
            url: ap_id.clone(),
            ap_id,
            owner_id: owner.id,
            local: true,
            import_key: None,
        };
        let mut tx = app.state.store.begin().await.unwrap();
        maillage::db::actions::insert_action(&mut tx, &identity, &data)
            .await
            .expect("stored");
        let create = NewActivity {
            ap_id: app
                .url(&format!("/activities/{}", uuid::Uuid::now_v7()))
                .parse()
                .unwrap(),
            actor_id: owner.id,
            kind: "Create",
            object_ap_id: identity.ap_id.clone(),
            payload: json!({}),
            audience: Audience::Nobody,
        };
        maillage::db::activities::store_activity(&mut tx, &create)
            .await
            .expect("stored");
        tx.commit().await.expect("committed");
    }
}

/// The records of a `;`-separated CSV export (header excluded).
fn csv_records(text: &str) -> Vec<csv::StringRecord> {
    csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("a valid CSV record"))
        .collect()
}

async fn get_from(app: &TestApp, path: &str, address: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header("x-forwarded-for", address)
        .send()
        .await
        .unwrap()
}

/// 900 plain actions and 300 with 50 places each (a GeoJSON of ≈ 25 MB, more than
/// socket buffers hold, so that an export a client does not read stays running).
async fn exports_bounded(app: TestApp) {
    app.create_collectivite("marcq", "59378").await;
    let summary = "Éé".repeat(250);
    store_actions(&app, "marcq", "Atelier numérique", 900, 1, "Atelier.").await;
    store_actions(&app, "marcq", "Cartographie partagée", 300, 50, &summary).await;

    // Every action once, across the export's chunks (500 actions each), with and
    // without full text.
    let csv = app
        .client
        .get(app.url("/directory.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    let records = csv_records(&csv.text().await.unwrap());
    assert_eq!(records.len(), 1200);
    let ids: HashSet<&str> = records.iter().map(|r| r.get(0).unwrap()).collect();
    assert_eq!(ids.len(), 1200, "no action twice");
    let text = app
        .client
        .get(app.url("/directory.csv?q=atelier"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let records = csv_records(&text);
    assert_eq!(records.len(), 900);
    assert!(
        records
            .iter()
            .all(|r| r.get(2).unwrap().starts_with("Atelier"))
    );
    let geojson: Value = app
        .client
        .get(app.url("/directory.geojson"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(geojson["type"], "FeatureCollection");
    assert_eq!(
        geojson["features"].as_array().unwrap().len(),
        900 + 300 * 50
    );

    // Repeating an unchanged export: 304 on the same ETag, until the directory changes.
    let first = app
        .client
        .get(app.url("/directory.csv?q=atelier"))
        .send()
        .await
        .unwrap();
    let tag = first.headers()["etag"].to_str().unwrap().to_string();
    first.bytes().await.unwrap();
    let again = app
        .client
        .get(app.url("/directory.csv?q=atelier"))
        .header("if-none-match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers()["etag"].to_str().unwrap(), tag);
    assert!(again.bytes().await.unwrap().is_empty());
    let other = app
        .client
        .get(app.url("/directory.csv?q=cartographie"))
        .header("if-none-match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::OK, "another query, another tag");
    other.bytes().await.unwrap();
    store_actions(&app, "marcq", "Atelier numérique", 1, 1, "Atelier.").await;
    let changed = app
        .client
        .get(app.url("/directory.csv?q=atelier"))
        .header("if-none-match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK, "the directory changed");
    let tag = changed.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(csv_records(&changed.text().await.unwrap()).len(), 901);

    // Two exports at once, one per address (the test's settings): beyond, 429 for
    // the same address and 503 for the node, at once, with Retry-After. The GeoJSON
    // exports are not read, so they stay running.
    let held_a = get_from(&app, "/directory.geojson", "203.0.113.1").await;
    assert_eq!(held_a.status(), StatusCode::OK);
    let second_a = get_from(&app, "/directory.csv", "203.0.113.1").await;
    assert!(second_a.headers().contains_key("retry-after"));
    assert_problem(second_a, StatusCode::TOO_MANY_REQUESTS).await;
    let held_b = get_from(&app, "/directory.geojson", "203.0.113.2").await;
    assert_eq!(held_b.status(), StatusCode::OK);
    let c = get_from(&app, "/directory.atom", "203.0.113.3").await;
    assert!(c.headers().contains_key("retry-after"));
    assert_problem(c, StatusCode::SERVICE_UNAVAILABLE).await;
    // A 304 costs no slot.
    let cached = app
        .client
        .get(app.url("/directory.csv?q=atelier"))
        .header("x-forwarded-for", "203.0.113.3")
        .header("if-none-match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    // A client that goes away frees its slot.
    drop((held_a, held_b));
    wait_until("the abandoned exports to free their slots", || async {
        get_from(&app, "/directory.atom", "203.0.113.3")
            .await
            .status()
            == StatusCode::OK
    })
    .await;
}

async fn exports_bounded_on(engine: Engine) {
    let app = spawn_app_with(engine, |s| {
        s.directory.max_concurrent_exports = 2;
        s.directory.max_exports_per_address = 1;
    })
    .await;
    match app {
        Some(app) => exports_bounded(app).await,
        None => say_skipped("exports_bounded"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_bounded_sqlite() {
    exports_bounded_on(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_bounded_postgres() {
    exports_bounded_on(Engine::Postgres).await;
}

/// Numbers in the CSV stay numbers (Rennes' longitude is negative); text cells that
/// a spreadsheet would run as formulas are still defused.
async fn csv_keeps_negative_numbers(app: TestApp) {
    let token = app.collectivite_with_token("rennes", "35238").await;
    let mut action = sample_action();
    action["name"] = json!("-Villejean connecté");
    action["summary"] = json!("=HYPERLINK(\"http://evil.example\")");
    action["location"] = json!([{ "name": "Villejean", "insee": "35238" }]);
    action["budget_eur"] = json!(12000);
    app.publish("rennes", &token, &action).await;
    let text = app
        .client
        .get(app.url("/directory.csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let header: Vec<String> = text
        .lines()
        .next()
        .unwrap()
        .split(';')
        .map(str::to_string)
        .collect();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let records = csv_records(&text);
    assert_eq!(records.len(), 1);
    let row = &records[0];
    let longitude = row.get(column("longitude")).unwrap();
    assert!(longitude.starts_with("-1.6"), "{longitude}");
    assert!(longitude.parse::<f64>().is_ok(), "{longitude}");
    assert!(row.get(column("latitude")).unwrap().starts_with("48."));
    assert_eq!(row.get(column("budget_eur")).unwrap(), "12000");
    assert_eq!(row.get(column("nom")).unwrap(), "'-Villejean connecté");
    assert!(
        row.get(column("resume"))
            .unwrap()
            .starts_with("'=HYPERLINK")
    );
}

/// A query's cost is bounded (words, prefixes, length) and each client address has a
/// budget of full-text cost: a burst of expensive searches gets 429, while searches
/// without text, and other addresses, still pass.
async fn search_cost_bounded(app: TestApp) {
    let token = app.collectivite_with_token("marcq", "59378").await;
    app.publish("marcq", &token, &sample_action()).await;
    // 1 + 4 prefixes of 3 characters (4 each) + 4 whole words = 21 units, of a burst
    // of 30 (the test's settings).
    let expensive = "/api/v1/directory/actions?q=abc+abd+abe+abf+ghij+klmn+opqr+stuv+wxyz";
    let first = get_from(&app, expensive, "198.51.100.7").await;
    assert_eq!(first.status(), StatusCode::OK);
    let second = get_from(&app, expensive, "198.51.100.7").await;
    let wait: u64 = second.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait >= 1, "{wait}");
    assert_problem(second, StatusCode::TOO_MANY_REQUESTS).await;
    // The home page too, as an HTML page for a browser, still saying when to retry.
    let page = app
        .client
        .get(app.url("/?q=abc+abd+abe+abf+ghij"))
        .header("x-forwarded-for", "198.51.100.7")
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the home page too"
    );
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        page.headers().contains_key("retry-after"),
        "the HTML error page keeps Retry-After: {:?}",
        page.headers()
    );
    let export = get_from(&app, "/directory.csv?q=abc+abd+abe+abf", "198.51.100.7").await;
    assert_eq!(
        export.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "exports too"
    );
    // Cheap searches from the same address still pass.
    for path in [
        "/api/v1/directory/actions",
        "/api/v1/directory/actions?theme=education",
        "/api/v1/directory/actions?q=guichet",
        "/",
    ] {
        let cheap = get_from(&app, path, "198.51.100.7").await;
        assert_eq!(cheap.status(), StatusCode::OK, "{path}");
    }
    let found: Value = get_from(&app, "/api/v1/directory/actions?q=guichet", "198.51.100.7")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["total"], 1);
    // Depth is part of the cost: a cheap text search, 1 unit more per 1 000 results
    // skipped. Four at cursor 9 980 (2 or 3 + 9 units each) overrun the burst of 30;
    // the same four on the first page do not.
    for round in 0..4 {
        let shallow = get_from(&app, "/api/v1/directory/actions?q=guichet", "198.51.100.10").await;
        assert_eq!(
            shallow.status(),
            StatusCode::OK,
            "first page, round {round}"
        );
    }
    let deep = "/api/v1/directory/actions?q=guichet&cursor=9980";
    let first = get_from(&app, deep, "198.51.100.11").await;
    assert_eq!(first.status(), StatusCode::OK);
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(get_from(&app, deep, "198.51.100.11").await.status());
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "deep pages cost no more than the first: {statuses:?}"
    );
    // Another address has its own budget.
    let other = get_from(&app, expensive, "198.51.100.8").await;
    assert_eq!(other.status(), StatusCode::OK);
    // An over-long query is refused, naming `q`.
    let long = format!("/api/v1/directory/actions?q={}", "numerique+".repeat(25));
    let problem = assert_problem(
        get_from(&app, &long, "198.51.100.9").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(problem_fields(&problem), ["q"]);
}

async fn search_cost_bounded_on(engine: Engine) {
    let app = spawn_app_with(engine, |s| {
        s.directory.search_cost_per_minute = 60;
        s.directory.search_cost_burst = 30;
    })
    .await;
    match app {
        Some(app) => search_cost_bounded(app).await,
        None => say_skipped("search_cost_bounded"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_cost_bounded_sqlite() {
    search_cost_bounded_on(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_cost_bounded_postgres() {
    search_cost_bounded_on(Engine::Postgres).await;
}

both_engines!(csv_keeps_negative_numbers);

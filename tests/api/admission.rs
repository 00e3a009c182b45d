//! Admission on aggregators (issue 19, points 4-5): the `open`, `verified` (the
//! default) and `manual` policies, suspension (`Undo{Follow}` and `Reject` to the
//! town's node), the spam bounds holding activities for the admin, on both engines,
//! with real nodes federating over HTTP.

use maillage::config::{Admission, AggregatorSettings, Settings};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Engine, TestApp, call, say_skipped, spawn_app, spawn_app_with, wait_until};

/// The aggregator on `engine` with `configure`d `[aggregator]` (enabled); `None` when
/// PostgreSQL is not configured.
async fn aggregator(
    engine: Engine,
    configure: impl FnOnce(&mut AggregatorSettings) + Send,
) -> Option<TestApp> {
    spawn_app_with(engine, |s: &mut Settings| {
        s.aggregator = AggregatorSettings {
            enabled: true,
            ..AggregatorSettings::default()
        };
        configure(&mut s.aggregator);
    })
    .await
}

/// Runs `SQL` on the aggregator's own database (standing for what another part of the
/// node does there).
async fn execute(app: &TestApp, sql: &str) {
    match &app.state.store {
        maillage::db::Store::Sqlite(pool) => {
            sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(pool)
                .await
                .unwrap();
        }
        maillage::db::Store::Postgres(pool) => {
            sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(pool)
                .await
                .unwrap();
        }
    }
}

/// `username` of node `a` follows the aggregator `g`, which follows back and
/// backfills `action` (an id URL).
async fn join(g: &TestApp, a: &TestApp, username: &str, token: &str, action: &str) {
    let (status, _) = call(
        a,
        Method::POST,
        &format!("/api/v1/collectivites/{username}/follows"),
        token,
        Some(json!({"target": format!("acct:{0}@{0}", g.domain)})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(a.drain().await, 1, "Follow to the aggregator");
    assert_eq!(g.drain().await, 2, "Accept, and the follow-back");
    assert_eq!(a.drain().await, 1, "Accept of the follow-back");
    let id: url::Url = action.parse().unwrap();
    wait_until("the aggregator backfills the town", || {
        let (store, id) = (g.state.store.clone(), id.clone());
        async move { store.action_by_ap_id(&id).await.unwrap().is_some() }
    })
    .await;
}

/// The ids of the aggregator's directory (API), its GeoJSON export and its home page.
async fn listed(g: &TestApp) -> Vec<String> {
    let page = g.get_json(g.url("/api/v1/directory/actions")).await;
    let ids: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(page["total"], ids.len(), "{page}");
    let geojson = g.get_json(g.url("/directory.geojson")).await;
    assert_eq!(
        geojson["features"].as_array().unwrap().len(),
        ids.len(),
        "the export lists the same actions"
    );
    ids
}

/// A town node `a` with `marcq` (INSEE 59378) and one action, joined to `g`.
async fn town(g: &TestApp) -> (TestApp, String, String) {
    let a = spawn_app(Engine::Sqlite).await.unwrap();
    let token = a.collectivite_with_token("marcq", "59378").await;
    let action = a
        .publish(
            "marcq",
            &token,
            &json!({"name": "Archives numérisées", "content": "x", "themes": ["patrimoine"]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    join(g, &a, "marcq", &token, &action).await;
    (a, token, action)
}

async fn admission_of(g: &TestApp, actor: &str) -> Value {
    let (status, list) = call(g, Method::GET, "/api/v1/admission", &g.admin_token, None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["actors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["actor"] == actor)
        .cloned()
        .unwrap_or_else(|| panic!("{actor} in {list}"))
}

async fn decide(g: &TestApp, actor: &str, decision: &str) -> (StatusCode, Value) {
    call(
        g,
        Method::POST,
        "/api/v1/admission",
        &g.admin_token,
        Some(json!({"actor": actor, "decision": decision})),
    )
    .await
}

/// The real default (`verified`): an unverified town's actions are stored but hidden,
/// then listed once its website is verified.
async fn verified_by_default(engine: Engine) {
    let Some(g) = aggregator(engine, |_| {}).await else {
        return say_skipped("verified_by_default");
    };
    assert_eq!(g.state.settings.aggregator.admission, Admission::Verified);
    let (a, _, action) = town(&g).await;
    let marcq = a.actor("marcq").await.ap_id.to_string();
    assert!(listed(&g).await.is_empty(), "not verified: not listed");
    let state = admission_of(&g, &marcq).await;
    assert_eq!(state["state"], "pending", "{state}");
    assert_eq!(state["listed"], false);
    assert_eq!(state["insee"], "59378");
    assert_eq!(state["actions"], 1);

    // Stands for h19a's website checker: it records the verification and bumps the
    // directory generation, as every verification change does.
    execute(
        &g,
        &format!(
            "UPDATE actors SET website_verified_at = '2026-12-01T10:00:00Z' WHERE ap_id = '{marcq}'"
        ),
    )
    .await;
    execute(
        &g,
        "UPDATE directory_state SET generation = generation + 1 WHERE id = 1",
    )
    .await;
    assert_eq!(listed(&g).await, vec![action]);
    assert!(collectivite_names(&g).await.contains(&"marcq".to_string()));
    assert_eq!(admission_of(&g, &marcq).await["state"], "listed");
}

/// `open`: listed at once; `manual`: pending until approved, hidden once refused.
async fn open_and_manual(engine: Engine) {
    let Some(g) = aggregator(engine, |s| s.admission = Admission::Open).await else {
        return say_skipped("open_and_manual");
    };
    let (_, _, action) = town(&g).await;
    assert_eq!(listed(&g).await, vec![action]);
    drop(g);

    let g = aggregator(engine, |s| s.admission = Admission::Manual)
        .await
        .unwrap();
    let (a, _, action) = town(&g).await;
    let marcq = a.actor("marcq").await.ap_id.to_string();
    assert!(listed(&g).await.is_empty());
    assert_eq!(admission_of(&g, &marcq).await["state"], "pending");
    let (status, view) = decide(&g, &marcq, "approve").await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["state"], "approved");
    assert_eq!(listed(&g).await, vec![action]);
    let (status, view) = decide(&g, &marcq, "refuse").await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["listed"], false);
    assert!(listed(&g).await.is_empty());

    // Bad input: 4xx problems in French; no token: 401.
    let (status, problem) = decide(&g, &marcq, "bannir").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        problem.to_string().contains("choisissez approve"),
        "{problem}"
    );
    let (status, problem) = decide(&g, "pas une adresse", "approve").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (status, problem) = decide(&g, "https://inconnue.example/actors/x", "approve").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        problem.to_string().contains("aucune collectivité"),
        "{problem}"
    );
    let response = g
        .client
        .post(g.url("/api/v1/admission"))
        .json(&json!({"actor": marcq, "decision": "approve"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

/// Suspension: the actions leave the directory at once, the town's node gets the
/// `Undo{Follow}` of the aggregator's follow and a `Reject` of its own; its later
/// activities are not applied; reinstating lists it again.
async fn suspension(engine: Engine) {
    let Some(g) = aggregator(engine, |s| s.admission = Admission::Open).await else {
        return say_skipped("suspension");
    };
    let (a, token, action) = town(&g).await;
    let marcq = a.actor("marcq").await;
    assert_eq!(listed(&g).await, vec![action.clone()]);
    let (status, view) = decide(&g, marcq.ap_id.as_str(), "suspend").await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["state"], "suspended");
    assert!(listed(&g).await.is_empty(), "gone at once");
    // Nor listed among the directory's collectivités (review of issue 19).
    let names = collectivite_names(&g).await;
    assert!(!names.contains(&"marcq".to_string()), "{names:?}");
    assert_eq!(g.drain().await, 2, "Undo{{Follow}} and Reject to the town");
    let followers = a.state.store.followers_of(marcq.id).await.unwrap();
    assert!(
        followers.is_empty(),
        "the aggregator's follow undone: {followers:?}"
    );
    let (_, follows) = call(
        &a,
        Method::GET,
        "/api/v1/collectivites/marcq/follows",
        &token,
        None,
    )
    .await;
    assert_eq!(follows[0]["state"], "rejected", "{follows}");

    // A later activity, signed by the town, is acknowledged but not applied.
    let later = format!("{}/actions/later", a.base);
    let create = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/activities/later", a.base),
        "type": "Create",
        "actor": marcq.ap_id,
        "object": {"id": later, "type": "Article", "name": "Plus tard",
            "attributedTo": marcq.ap_id, "content": "x"}
    });
    let response = crate::helpers::post_signed(
        &g.client,
        &g.url("/inbox"),
        &marcq,
        create.to_string().as_bytes(),
        |_| {},
    )
    .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert!(
        g.state
            .store
            .action_by_ap_id(&later.parse().unwrap())
            .await
            .unwrap()
            .is_none()
    );

    let (status, view) = decide(&g, marcq.ap_id.as_str(), "unsuspend").await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(listed(&g).await, vec![action]);
}

/// Spam bounds: a new action past the actor's hourly quota is held, not listed, shown
/// to the admin, and listed once released; a second actor of one domain past
/// `max_actors_per_domain` has its `Follow` held until approved and released.
async fn quotas(engine: Engine) {
    let Some(g) = aggregator(engine, |s| {
        s.admission = Admission::Open;
        s.max_new_actions_per_actor_per_hour = 1;
        s.max_actors_per_domain = 1;
    })
    .await
    else {
        return say_skipped("quotas");
    };
    let (a, token, first) = town(&g).await;
    let mut published = vec![first];
    for name in ["Deuxième action", "Troisième action"] {
        let action = a
            .publish(
                "marcq",
                &token,
                &json!({"name": name, "content": "x", "themes": ["patrimoine"]}),
            )
            .await;
        published.push(action["id"].as_str().unwrap().to_string());
        assert_eq!(a.drain().await, 1, "Create to the aggregator");
    }
    let mut shown = listed(&g).await;
    shown.sort();
    let mut expected = published[..2].to_vec();
    expected.sort();
    assert_eq!(shown, expected, "the third is past the quota");
    let (_, held) = call(
        &g,
        Method::GET,
        "/api/v1/admission/held",
        &g.admin_token,
        None,
    )
    .await;
    assert_eq!(held.as_array().unwrap().len(), 1, "{held}");
    assert_eq!(held[0]["kind"], "Create");
    assert!(
        held[0]["reason"]
            .as_str()
            .unwrap()
            .contains("max_new_actions_per_actor_per_hour"),
        "{held}"
    );
    let id = held[0]["id"].as_i64().unwrap();
    let (status, released) = call(
        &g,
        Method::POST,
        &format!("/api/v1/admission/held/{id}/release"),
        &g.admin_token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{released}");
    assert_eq!(released["applied"], true, "{released}");
    assert_eq!(listed(&g).await.len(), 3);
    let (_, held) = call(
        &g,
        Method::GET,
        "/api/v1/admission/held",
        &g.admin_token,
        None,
    )
    .await;
    assert_eq!(held, json!([]));

    // A second collectivité of the same node: past `max_actors_per_domain`.
    let lille_token = a.collectivite_with_token("lille", "59350").await;
    let (status, _) = call(
        &a,
        Method::POST,
        "/api/v1/collectivites/lille/follows",
        &lille_token,
        Some(json!({"target": format!("acct:{0}@{0}", g.domain)})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(a.drain().await, 1);
    assert_eq!(g.drain().await, 0, "held: no Accept, no follow-back");
    let (_, held) = call(
        &g,
        Method::GET,
        "/api/v1/admission/held",
        &g.admin_token,
        None,
    )
    .await;
    assert_eq!(held[0]["kind"], "Follow", "{held}");
    assert!(
        held[0]["reason"]
            .as_str()
            .unwrap()
            .contains("max_actors_per_domain"),
        "{held}"
    );
    let lille = a.actor("lille").await.ap_id.to_string();
    let (status, _) = decide(&g, &lille, "approve").await;
    assert_eq!(status, StatusCode::OK);
    let id = held[0]["id"].as_i64().unwrap();
    let (status, released) = call(
        &g,
        Method::POST,
        &format!("/api/v1/admission/held/{id}/release"),
        &g.admin_token,
        None,
    )
    .await;
    assert_eq!(
        (status, &released["applied"]),
        (StatusCode::OK, &json!(true))
    );
    assert_eq!(
        g.drain().await,
        2,
        "Accept and follow-back, as if just received"
    );
    let (status, _) = call(
        &g,
        Method::DELETE,
        &format!("/api/v1/admission/held/{id}"),
        &g.admin_token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "released: gone");
}

/// `pairs` as an HTML form's body.
fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// A visitor reports an action from its page: the report reaches the admins (API and
/// admin page); bad input is a `422` in French.
async fn citizen_report(engine: Engine) {
    let Some(a) = spawn_app(engine).await else {
        return say_skipped("citizen_report");
    };
    let token = a.collectivite_with_token("marcq", "59378").await;
    let action = a
        .publish(
            "marcq",
            &token,
            &json!({"name": "Archives numérisées", "content": "x", "themes": ["patrimoine"]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, page) = a.get_html(&action).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Signaler cette action"), "{page}");
    let report = format!("{action}/signaler");
    let response = a
        .client
        .post(&report)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(form(&[
            ("motif", "Cette action n'est pas celle de notre commune"),
            ("contact", "habitant@example.fr"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Signalement envoyé")
    );
    let (status, reports) = call(
        &a,
        Method::GET,
        "/api/v1/moderation/reports",
        &a.admin_token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(reports.as_array().unwrap().len(), 1, "{reports}");
    assert_eq!(reports[0]["objects"], json!([action]));
    let content = reports[0]["content"].as_str().unwrap();
    assert!(content.contains("pas celle de notre commune"), "{content}");
    assert!(content.contains("habitant@example.fr"), "{content}");

    let response = a
        .client
        .post(&report)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(form(&[("motif", "  "), ("contact", "")]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let text = response.text().await.unwrap();
    assert!(text.contains("obligatoire"), "{text}");
    let long = "x".repeat(2001);
    let response = a
        .client
        .post(&report)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(form(&[("motif", long.as_str())]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (_, reports) = call(
        &a,
        Method::GET,
        "/api/v1/moderation/reports",
        &a.admin_token,
        None,
    )
    .await;
    assert_eq!(reports.as_array().unwrap().len(), 1, "nothing stored");
}

macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(crate::helpers::Engine::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name(crate::helpers::Engine::Postgres).await;
                }
            }
        )*
    };
}

on_both_engines!(
    verified_by_default,
    open_and_manual,
    suspension,
    quotas,
    citizen_report
);

/// The usernames `/api/v1/directory/collectivites` lists on `node`.
async fn collectivite_names(node: &TestApp) -> Vec<String> {
    let list: serde_json::Value = node
        .client
        .get(node.url("/api/v1/directory/collectivites"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["username"].as_str().map(str::to_string))
        .collect()
}

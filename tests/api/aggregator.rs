//! Aggregator mode: a node follows back whoever follows its instance actor, backfills
//! them, and its theme/département/région groups announce matching actions (FEP-1b12).

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Engine, TestApp, spawn_app, spawn_app_with, wait_until};

async fn received_from(node: &TestApp, origin: &str) -> i64 {
    let pattern = format!("{origin}/activities/%");
    match &node.state.store {
        maillage::db::Store::Sqlite(pool) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM received_activities WHERE ap_id LIKE $1")
                .bind(pattern)
                .fetch_one(pool)
                .await
                .unwrap()
        }
        maillage::db::Store::Postgres(_) => unreachable!("this test runs on SQLite"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregator_follows_back_and_groups_announce() {
    let g = spawn_app_with(Engine::Sqlite, |s| s.aggregator.enabled = true)
        .await
        .unwrap();
    let a = spawn_app(Engine::Sqlite).await.unwrap();
    let b = spawn_app(Engine::Sqlite).await.unwrap();
    let marcq = a.collectivite_with_token("marcq", "59378").await;
    let before = a
        .publish(
            "marcq",
            &marcq,
            &json!({"name": "Archives en ligne", "content": "x", "themes": ["patrimoine"]}),
        )
        .await;

    // Joining the network: Marcq follows the aggregator's instance actor.
    let response = a
        .client
        .post(a.url("/api/v1/collectivites/marcq/follows"))
        .bearer_auth(&marcq)
        .json(&json!({"target": format!("acct:{0}@{0}", g.domain)}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(a.drain().await, 1, "Follow to the aggregator");
    assert_eq!(
        g.drain().await,
        2,
        "Accept, and the aggregator's own Follow back"
    );
    assert_eq!(a.drain().await, 1, "Accept of the follow-back");
    let id = before["id"].as_str().unwrap().to_string();
    wait_until("the aggregator backfills the new node", || {
        let store = g.state.store.clone();
        let id = id.clone();
        async move {
            store
                .action_by_ap_id(&id.parse().unwrap())
                .await
                .unwrap()
                .is_some()
        }
    })
    .await;

    // The groups exist through WebFinger and as Group documents.
    let jrd = g
        .get_json(g.url(&format!(
            "/.well-known/webfinger?resource=acct:dep-59@{}",
            g.domain
        )))
        .await;
    assert_eq!(
        jrd["properties"]["https://www.w3.org/ns/activitystreams#type"],
        "Group"
    );
    let group = g.get_as_ok(&g.url("/groups/dep-59")).await;
    assert_eq!(group["type"], "Group");
    assert_eq!(group["name"], "Nord (59)");
    assert!(
        group["publicKey"]["publicKeyPem"]
            .as_str()
            .unwrap()
            .contains("PUBLIC KEY")
    );
    assert_eq!(
        g.get_as(&g.url("/groups/dep-00")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        a.get_as(&a.url("/groups/dep-59")).await.status(),
        StatusCode::NOT_FOUND,
        "only aggregators"
    );

    // Someone (here a collectivité of node B) follows @dep-59 and @education.
    let lille = b.collectivite_with_token("lille", "59350").await;
    for group in ["dep-59", "education"] {
        let response = b
            .client
            .post(b.url("/api/v1/collectivites/lille/follows"))
            .bearer_auth(&lille)
            .json(&json!({"target": format!("acct:{group}@{}", g.domain)}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    assert_eq!(b.drain().await, 2);
    assert_eq!(g.drain().await, 2, "two Accepts, signed by the groups");
    let follows: serde_json::Value = b
        .client
        .get(b.url("/api/v1/collectivites/lille/follows"))
        .bearer_auth(&lille)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        follows
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["state"] == "accepted"),
        "{follows}"
    );

    // A new action of Marcq on education reaches the aggregator, whose groups announce it.
    let announced_before = received_from(&b, &g.base).await;
    a.publish(
        "marcq",
        &marcq,
        &json!({"name": "Tablettes en classe", "content": "x", "themes": ["education"]}),
    )
    .await;
    assert_eq!(a.drain().await, 1, "the Create goes to the aggregator");
    assert_eq!(
        g.drain().await,
        2,
        "Announce from dep-59 and from education (reg-32 has no follower)"
    );
    assert_eq!(received_from(&b, &g.base).await, announced_before + 2);
}

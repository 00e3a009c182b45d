//! The exact JSON of every activity a node publishes (issue 15: typed activities must
//! not change the wire). Three real nodes (an aggregator among them) go through every
//! workflow that publishes something: follows and their answers, an action created,
//! updated and deleted, partnerships asked, accepted, left, rejected and ended,
//! comments, unfollows, group announces, a collectivité deleted (`Delete{Actor}`); the
//! Tombstones of a deleted action and collectivité and an outbox page are read too
//! (`documents` in the snapshot). Every stored activity is then normalised
//! (node addresses, UUIDs and times replaced by placeholders) and compared, key by key
//! and value by value (then in order), with `snapshots/outbound_activities.json`.
//!
//! `MAILLAGE_UPDATE_SNAPSHOTS=1 cargo test --test api wire` rewrites the snapshot,
//! for a change of the wire that is meant.

use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Engine, TestApp, call, post_signed, spawn_app, spawn_app_with};

const SNAPSHOT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/api/snapshots/outbound_activities.json"
);

/// Calls the API of `node`, expects `status`, then runs its deliveries.
async fn act(
    node: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
    status: StatusCode,
) -> Value {
    let (got, answer) = call(node, method, path, token, body).await;
    assert_eq!(got, status, "{path}: {answer}");
    node.drain().await;
    answer
}

/// Every activity `node` stored, oldest first: (kind, payload).
async fn stored(node: &TestApp) -> Vec<(String, Value)> {
    const SQL: &str = "SELECT kind, payload FROM activities ORDER BY id";
    let rows: Vec<(String, String)> = maillage::db::on_pool!(&node.state.store, pool => {
        sqlx::query_as(SQL).fetch_all(pool).await.expect("read activities")
    });
    rows.into_iter()
        .map(|(kind, payload)| (kind, serde_json::from_str(&payload).unwrap()))
        .collect()
}

/// Replaces node addresses, UUIDs and times with stable placeholders.
struct Normaliser {
    nodes: Vec<(String, String)>,
    uuids: HashMap<String, String>,
}

impl Normaliser {
    fn text(&mut self, text: &str) -> Value {
        if chrono::DateTime::parse_from_rfc3339(text).is_ok() {
            return json!("<time>");
        }
        let mut out = text.to_string();
        for (domain, name) in &self.nodes {
            out = out.replace(domain, name);
        }
        // UUIDs (8-4-4-4-12 hex), numbered in order of first appearance.
        let mut result = String::new();
        let chars: Vec<char> = out.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            if i + 36 <= chars.len() {
                let candidate: String = chars[i..i + 36].iter().collect();
                if uuid::Uuid::parse_str(&candidate).is_ok() && candidate.contains('-') {
                    let next = self.uuids.len() + 1;
                    let name = self
                        .uuids
                        .entry(candidate)
                        .or_insert_with(|| format!("<uuid-{next}>"));
                    result.push_str(name);
                    i += 36;
                    continue;
                }
            }
            result.push(chars[i]);
            i += 1;
        }
        json!(result)
    }

    fn value(&mut self, value: &Value) -> Value {
        match value {
            Value::String(text) => self.text(text),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.value(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.value(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

/// The node among `a` and `b` that serves `url`.
fn b_or_a<'n>(a: &'n TestApp, b: &'n TestApp, url: &str) -> &'n TestApp {
    if url.contains(&b.domain) { b } else { a }
}

async fn follow(node: &TestApp, username: &str, token: &str, target: String) {
    let (status, body) = call(
        node,
        reqwest::Method::POST,
        &format!("/api/v1/collectivites/{username}/follows"),
        token,
        Some(json!({ "target": target })),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}

/// Asks to join `action` as Lille (node B) and returns the request id on node A.
async fn join(a: &TestApp, b: &TestApp, lille: &str, marcq: &str, action: &str) -> (i64, i64) {
    let (status, sent) = call(
        b,
        reqwest::Method::POST,
        "/api/v1/collectivites/lille/partnership-requests",
        lille,
        Some(json!({ "action": action })),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    assert_eq!(b.drain().await, 1, "the Join");
    let (_, received) = call(
        a,
        reqwest::Method::GET,
        "/api/v1/collectivites/marcq/partnership-requests?direction=received",
        marcq,
        None,
    )
    .await;
    (
        received[0]["id"].as_i64().unwrap(),
        sent["id"].as_i64().unwrap(),
    )
}

/// Marcq (node A) answers the request `request`: `accept` or `reject`.
async fn answer(a: &TestApp, marcq: &str, request: i64, decision: &str) {
    let path = format!("/api/v1/partnership-requests/{request}/{decision}");
    act(a, reqwest::Method::POST, &path, marcq, None, StatusCode::OK).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_activities_keep_their_wire_form() {
    let g = spawn_app_with(Engine::Sqlite, |s| s.aggregator.enabled = true)
        .await
        .unwrap();
    let a = spawn_app(Engine::Sqlite).await.unwrap();
    let b = spawn_app(Engine::Sqlite).await.unwrap();
    let marcq = a.collectivite_with_token("marcq", "59378").await;
    let lille = b.collectivite_with_token("lille", "59350").await;

    // Follow, and its Accept.
    follow(&b, "lille", &lille, format!("acct:marcq@{}", a.domain)).await;
    assert_eq!(b.drain().await, 1, "the Follow");
    assert_eq!(a.drain().await, 1, "the Accept");

    // Create, Update, Delete of actions.
    let open = a
        .publish(
            "marcq",
            &marcq,
            &json!({"name": "Groupement d'achat", "content": "Achat groupé d'électricité.",
                    "themes": ["developpement-durable"], "open_to_partners": true}),
        )
        .await;
    let action_id = open["id"].as_str().unwrap().to_string();
    let uuid = open["uuid"].as_str().unwrap().to_string();
    act(
        &a,
        reqwest::Method::PATCH,
        &format!("/api/v1/actions/{uuid}"),
        &marcq,
        Some(json!({"summary": "Électricité moins chère."})),
        StatusCode::OK,
    )
    .await;
    let gone = a
        .publish(
            "marcq",
            &marcq,
            &json!({"name": "Ancien projet", "content": "Fini.", "themes": ["culture"]}),
        )
        .await;
    act(
        &a,
        reqwest::Method::DELETE,
        &format!("/api/v1/actions/{}", gone["uuid"].as_str().unwrap()),
        &marcq,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;

    // Join, Accept{Join} and the Update of partners; a Join from a partner answered
    // again; Leave; Join, Reject; Join, Accept, ended by the owner (Reject).
    let (request, _) = join(&a, &b, &lille, &marcq, &action_id).await;
    answer(&a, &marcq, request, "accept").await;
    let lille_actor = b.actor("lille").await;
    let join_again = json!({"@context": "https://www.w3.org/ns/activitystreams",
        "id": b.url("/activities/join-again"), "type": "Join",
        "actor": lille_actor.ap_id, "object": action_id});
    let status = post_signed(
        &a.client,
        &a.url("/inbox"),
        &lille_actor,
        join_again.to_string().as_bytes(),
        |_| {},
    )
    .await
    .status();
    assert_eq!(status, StatusCode::ACCEPTED);
    a.drain().await;
    let (_, sent) = call(
        &b,
        reqwest::Method::GET,
        "/api/v1/collectivites/lille/partnership-requests?direction=sent",
        &lille,
        None,
    )
    .await;
    let b_request = sent[0]["id"].as_i64().unwrap();
    act(
        &b,
        reqwest::Method::DELETE,
        &format!("/api/v1/partnership-requests/{b_request}"),
        &lille,
        None,
        StatusCode::OK,
    )
    .await;
    a.drain().await;
    let (request, _) = join(&a, &b, &lille, &marcq, &action_id).await;
    answer(&a, &marcq, request, "reject").await;
    let (request, _) = join(&a, &b, &lille, &marcq, &action_id).await;
    answer(&a, &marcq, request, "accept").await;
    act(
        &a,
        reqwest::Method::DELETE,
        &format!("/api/v1/partnership-requests/{request}"),
        &marcq,
        None,
        StatusCode::OK,
    )
    .await;

    // Comments: one on the action, one answering Lille's reply (a mention).
    let note = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": b.url("/activities/reply-1"),
        "type": "Create",
        "actor": lille_actor.ap_id,
        "object": {
            "id": b.url("/notes/1"),
            "type": "Note",
            "attributedTo": lille_actor.ap_id,
            "inReplyTo": action_id,
            "content": "<p>Nous aussi.</p>",
            "published": "2026-11-01T10:00:00Z",
        }
    });
    let status = post_signed(
        &a.client,
        &a.url("/inbox"),
        &lille_actor,
        note.to_string().as_bytes(),
        |_| {},
    )
    .await
    .status();
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, pending) = call(
        &a,
        reqwest::Method::GET,
        "/api/v1/moderation/comments",
        &marcq,
        None,
    )
    .await;
    let reply_id = pending[0]["id"].as_i64().unwrap();
    let comments = format!("/api/v1/actions/{uuid}/comments");
    for body in [
        json!({"content": "Merci **à tous**."}),
        json!({"content": "Avec plaisir.", "in_reply_to": reply_id}),
    ] {
        let (status, body) = call(&a, reqwest::Method::POST, &comments, &marcq, Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    a.drain().await;

    // Undo{Follow}.
    let (_, follows) = call(
        &b,
        reqwest::Method::GET,
        "/api/v1/collectivites/lille/follows",
        &lille,
        None,
    )
    .await;
    let follow_id = follows[0]["id"].as_i64().unwrap();
    let (status, _) = call(
        &b,
        reqwest::Method::DELETE,
        &format!("/api/v1/collectivites/lille/follows/{follow_id}"),
        &lille,
        None,
    )
    .await;
    assert!(status.is_success(), "{status}");
    b.drain().await;

    // The aggregator: joined (Follow, Accept, follow-back), a group followed, an
    // action announced.
    follow(&a, "marcq", &marcq, format!("acct:{0}@{0}", g.domain)).await;
    assert_eq!(a.drain().await, 1);
    assert_eq!(g.drain().await, 2);
    assert_eq!(a.drain().await, 1);
    follow(&b, "lille", &lille, format!("acct:education@{}", g.domain)).await;
    assert_eq!(b.drain().await, 1);
    assert_eq!(g.drain().await, 1);
    a.publish(
        "marcq",
        &marcq,
        &json!({"name": "Tablettes en classe", "content": "x", "themes": ["education"]}),
    )
    .await;
    assert_eq!(a.drain().await, 1, "the Create to the aggregator");
    assert!(g.drain().await >= 1, "the Announce");

    // Delete{Actor}: a collectivité of node B that Marcq follows is deleted (SPEC §11).
    b.collectivite_with_token("hem", "59299").await;
    let hem = b.actor("hem").await;
    follow(&a, "marcq", &marcq, format!("acct:hem@{}", b.domain)).await;
    assert_eq!(a.drain().await, 1, "the Follow of Hem");
    assert_eq!(b.drain().await, 1, "the Accept of Hem");
    let response = b
        .client
        .delete(b.url("/api/v1/collectivites/hem"))
        .bearer_auth(&b.admin_token)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(b.drain().await, 1, "the Delete{{Actor}} to Marcq");

    // Documents served rather than sent: the Tombstones of a deleted action and of a
    // deleted collectivité (410), and an outbox page.
    let mut documents = Vec::new();
    for (kind, url) in [
        (
            "Tombstone (action)",
            gone["id"].as_str().unwrap().to_string(),
        ),
        ("Tombstone (collectivité)", hem.ap_id.to_string()),
    ] {
        let response = b_or_a(&a, &b, &url).get_as(&url).await;
        assert_eq!(response.status(), StatusCode::GONE, "{url}");
        let payload: Value = response.json().await.unwrap();
        documents.push((kind, payload));
    }
    let marcq_actor = a.get_as_ok(a.actor("marcq").await.ap_id.as_str()).await;
    let outbox = a.get_as_ok(marcq_actor["outbox"].as_str().unwrap()).await;
    let first = match &outbox["first"] {
        Value::String(page) => a.get_as_ok(page).await,
        page => page.clone(),
    };
    documents.push(("OrderedCollection (outbox)", outbox));
    documents.push(("OrderedCollectionPage (outbox)", first));

    let mut normaliser = Normaliser {
        nodes: [(&a, "node-a"), (&b, "node-b"), (&g, "node-g")]
            .into_iter()
            .map(|(node, name)| (node.domain.clone(), name.to_string()))
            .collect(),
        uuids: HashMap::new(),
    };
    let mut actual = serde_json::Map::new();
    for (node, name) in [(&a, "node-a"), (&b, "node-b"), (&g, "node-g")] {
        let activities: Vec<Value> = stored(node)
            .await
            .iter()
            .map(|(kind, payload)| json!({"kind": kind, "payload": normaliser.value(payload)}))
            .collect();
        actual.insert(name.into(), Value::Array(activities));
    }
    let documents: Vec<Value> = documents
        .iter()
        .map(|(kind, payload)| json!({"kind": kind, "payload": normaliser.value(payload)}))
        .collect();
    actual.insert("documents".into(), Value::Array(documents));
    let actual = Value::Object(actual);
    let kinds: Vec<&str> = actual
        .as_object()
        .unwrap()
        .values()
        .flat_map(|v| v.as_array().unwrap())
        .map(|v| v["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "Follow",
        "Accept",
        "Create",
        "Update",
        "Delete",
        "Join",
        "Leave",
        "Reject",
        "Undo",
        "Announce",
        "Tombstone (action)",
        "Tombstone (collectivité)",
        "OrderedCollectionPage (outbox)",
    ] {
        assert!(kinds.contains(&kind), "no {kind} in {kinds:?}");
    }
    let pretty = serde_json::to_string_pretty(&actual).unwrap() + "\n";
    if std::env::var("MAILLAGE_UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") {
        std::fs::write(SNAPSHOT, &pretty).unwrap();
        return;
    }
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(SNAPSHOT).expect("the snapshot (MAILLAGE_UPDATE_SNAPSHOTS=1)"),
    )
    .unwrap();
    for (name, activities) in expected.as_object().unwrap() {
        let expected = activities.as_array().unwrap();
        let actual = actual[name].as_array().unwrap();
        for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
            assert_eq!(
                a,
                e,
                "{name}, activity {i} ({}) changed on the wire:\n{}",
                e["kind"],
                serde_json::to_string_pretty(a).unwrap()
            );
        }
        assert_eq!(actual.len(), expected.len(), "{name}: number of activities");
    }
    assert_eq!(actual, expected);
    assert_eq!(
        pretty,
        std::fs::read_to_string(SNAPSHOT).unwrap(),
        "same keys and values, in another order"
    );
}

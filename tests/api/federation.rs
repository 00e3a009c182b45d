//! Nodes that really talk to each other: three nodes in this process on localhost
//! ports, real HTTP, real signatures, real databases. Deliveries are driven with
//! `drain()` (no sleeping); backfill runs in the background and is awaited.

use maillage::activitypub::signatures;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_engines;
use crate::helpers::{Engine, TestApp, post_signed, sample_action, spawn_app, wait_until};

both_engines!(follow_publish_update_delete_and_backfill);

async fn remote_action(node: &TestApp, ap_id: &str) -> Option<maillage::domain::Action> {
    node.state
        .store
        .action_by_ap_id(&ap_id.parse().unwrap())
        .await
        .unwrap()
}

async fn follow(follower: &TestApp, username: &str, token: &str, target: &str) -> Value {
    let response = follower
        .client
        .post(follower.url(&format!("/api/v1/collectivites/{username}/follows")))
        .bearer_auth(token)
        .json(&json!({ "target": target }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    body
}

async fn follow_publish_update_delete_and_backfill(a: TestApp) {
    // B and C on the same engine as A.
    let b = spawn_app(a.engine).await.unwrap();
    let c = spawn_app(a.engine).await.unwrap();
    let marcq = a.collectivite_with_token("marcq", "59378").await;
    let lille = b.collectivite_with_token("lille", "59350").await;

    // Published before anyone follows: must arrive by backfill.
    let old = a.publish("marcq", &marcq, &sample_action()).await;
    let old_id = old["id"].as_str().unwrap().to_string();

    // B's Lille follows A's Marcq through WebFinger.
    let follow_view = follow(&b, "lille", &lille, &format!("acct:marcq@{}", a.domain)).await;
    assert_eq!(follow_view["state"], "pending");
    assert_eq!(follow_view["actor"], a.url("/actors/marcq"));
    assert_eq!(b.drain().await, 1, "the Follow goes out");
    assert_eq!(a.drain().await, 1, "the Accept comes back");
    let follows: Value = b
        .client
        .get(b.url("/api/v1/collectivites/lille/follows"))
        .bearer_auth(&lille)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(follows[0]["state"], "accepted");
    let followers = a.get_as_ok(&a.url("/actors/marcq/followers")).await;
    assert_eq!(followers["totalItems"], 1);
    wait_until("backfill of the older action", || {
        remote_action(&b, &old_id).await_is_some()
    })
    .await;
    let backfilled = remote_action(&b, &old_id).await.unwrap();
    assert!(!backfilled.local);
    assert_eq!(backfilled.data.name, "Guichet numérique des démarches");
    assert_eq!(backfilled.owner.ap_id.as_str(), a.url("/actors/marcq"));

    // The aggregator C follows with its instance actor.
    let instance = c
        .state
        .store
        .actor_by_id(c.state.instance_actor.id)
        .await
        .unwrap()
        .unwrap();
    let config = maillage::federation::federation_config(c.state.clone())
        .await
        .unwrap();
    maillage::service::follows::follow(
        &config.to_request_data(),
        &instance,
        &a.url("/actors/marcq"),
    )
    .await
    .unwrap();
    assert_eq!(c.drain().await, 1);
    assert_eq!(a.drain().await, 1);
    wait_until("backfill on the aggregator", || {
        remote_action(&c, &old_id).await_is_some()
    })
    .await;

    // A new action reaches both followers: one delivery per inbox.
    let new = a
        .publish("marcq", &marcq, &json!({"name": "Budget participatif en ligne", "content": "Votez pour les projets.", "themes": ["democratie-locale"]}))
        .await;
    let new_id = new["id"].as_str().unwrap().to_string();
    assert_eq!(a.drain().await, 2);
    for node in [&b, &c] {
        let action = remote_action(node, &new_id)
            .await
            .expect("Create delivered");
        assert_eq!(action.data.themes[0].as_ref(), "democratie-locale");
    }

    // Update propagates.
    let uuid = new["uuid"].as_str().unwrap();
    let response = a
        .client
        .patch(a.url(&format!("/api/v1/actions/{uuid}")))
        .bearer_auth(&marcq)
        .json(&json!({"name": "Budget participatif 2027", "phase": "service"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(a.drain().await, 2);
    for node in [&b, &c] {
        let action = remote_action(node, &new_id).await.unwrap();
        assert_eq!(action.data.name, "Budget participatif 2027");
        assert_eq!(action.data.phase.as_str(), "service");
    }

    // Delete propagates as a tombstone.
    let response = a
        .client
        .delete(a.url(&format!("/api/v1/actions/{uuid}")))
        .bearer_auth(&marcq)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(a.drain().await, 2);
    for node in [&b, &c] {
        assert!(
            remote_action(node, &new_id)
                .await
                .unwrap()
                .deleted
                .is_some()
        );
    }

    // Undo: B stops following; A no longer delivers to B.
    let response = b
        .client
        .delete(b.url(&format!(
            "/api/v1/collectivites/lille/follows/{}",
            follow_view["id"]
        )))
        .bearer_auth(&lille)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(b.drain().await, 1);
    let followers = a.get_as_ok(&a.url("/actors/marcq/followers")).await;
    assert_eq!(followers["totalItems"], 1, "only the aggregator is left");
    let last = a
        .publish(
            "marcq",
            &marcq,
            &json!({"name": "Dernière", "content": "x", "themes": ["culture"]}),
        )
        .await;
    assert_eq!(a.drain().await, 1, "one delivery: the aggregator");
    assert!(
        remote_action(&c, last["id"].as_str().unwrap())
            .await
            .is_some()
    );
    assert!(
        remote_action(&b, last["id"].as_str().unwrap())
            .await
            .is_none()
    );
}

trait AwaitIsSome {
    async fn await_is_some(self) -> bool;
}

impl<F, T> AwaitIsSome for F
where
    F: std::future::Future<Output = Option<T>>,
{
    async fn await_is_some(self) -> bool {
        self.await.is_some()
    }
}

/// Forged, unsigned, tampered, replayed and odd activities are refused or ignored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbox_refuses_what_it_cannot_trust() {
    let a = spawn_app(Engine::Sqlite).await.unwrap();
    let b = spawn_app(Engine::Sqlite).await.unwrap();
    a.create_collectivite("marcq", "59378").await;
    b.create_collectivite("lille", "59350").await;
    b.create_collectivite("roubaix", "59512").await;
    let lille = b.actor("lille").await;
    let inbox = a.url("/inbox");
    let follow = |id: &str| {
        serde_json::to_vec(&json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": b.url(&format!("/activities/{id}")),
            "type": "Follow",
            "actor": lille.ap_id,
            "object": a.url("/actors/marcq"),
            "signature": {"type": "RsaSignature2017", "signatureValue": "ignored"},
            "proof": {"type": "DataIntegrityProof"},
        }))
        .unwrap()
    };

    // Unsigned.
    let response = a
        .client
        .post(&inbox)
        .header("content-type", "application/activity+json")
        .body(follow("1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );

    // Body changed after signing: the digest no longer matches.
    let response = post_signed(&a.client, &inbox, &lille, &follow("2"), |_| {}).await;
    assert_eq!(
        response.status(),
        StatusCode::ACCEPTED,
        "a correct one is accepted"
    );
    let body = follow("3");
    let key = signatures::parse_private_key(lille.private_key_pem.as_deref().unwrap()).unwrap();
    let headers = signatures::sign_request(
        "POST",
        &inbox.parse().unwrap(),
        Some(&body),
        &format!("{}#main-key", lille.ap_id),
        &key,
        chrono::Utc::now(),
    )
    .unwrap();
    let response = a
        .client
        .post(&inbox)
        .headers(headers)
        .body(follow("4"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // Signed by Lille, claiming to be Roubaix.
    let forged = serde_json::to_vec(&json!({
        "id": b.url("/activities/5"), "type": "Follow",
        "actor": b.url("/actors/roubaix"), "object": a.url("/actors/marcq"),
    }))
    .unwrap();
    let response = post_signed(&a.client, &inbox, &lille, &forged, |_| {}).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // A Date two hours old.
    let response = post_signed(&a.client, &inbox, &lille, &follow("6"), |headers| {
        let old = httpdate::fmt_http_date(
            std::time::SystemTime::now() - std::time::Duration::from_secs(7200),
        );
        headers.insert("date", old.parse().unwrap());
    })
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // Replayed: acknowledged, applied once.
    for _ in 0..3 {
        let response = post_signed(&a.client, &inbox, &lille, &follow("2"), |_| {}).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    let marcq = a.actor("marcq").await;
    assert_eq!(a.state.store.count_followers(marcq.id).await.unwrap(), 1);
    assert_eq!(
        a.state.store.delivery_counts().await.unwrap().pending,
        1,
        "one Accept"
    );

    // Valid signature, but not an activity we can read, or one we do not handle.
    let response = post_signed(&a.client, &inbox, &lille, b"[1, 2", |_| {}).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = post_signed(&a.client, &inbox, &lille, br#"{"type": "Follow"}"#, |_| {}).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let odd = serde_json::to_vec(&json!({"id": b.url("/activities/7"), "type": "EmojiReact", "actor": lille.ap_id, "object": a.url("/actors/marcq")})).unwrap();
    let response = post_signed(&a.client, &inbox, &lille, &odd, |_| {}).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    // An object from another origin than its sender.
    let spoof = serde_json::to_vec(&json!({
        "id": b.url("/activities/8"), "type": "Create", "actor": lille.ap_id,
        "object": {"id": "https://ailleurs.example/actions/1", "type": "Article", "attributedTo": lille.ap_id, "name": "x", "content": "y", "mai:themes": ["culture"]},
    })).unwrap();
    let response = post_signed(&a.client, &inbox, &lille, &spoof, |_| {}).await;
    assert!(
        matches!(
            response.status(),
            StatusCode::FORBIDDEN | StatusCode::ACCEPTED
        ),
        "{}",
        response.status()
    );

    // Over 1 MiB.
    let huge = vec![b' '; 1_100_000];
    let response = post_signed(&a.client, &inbox, &lille, &huge, |_| {}).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

/// A follower that is down does not hold the others back, and gets everything once it
/// is back; a follower whose inbox is gone (410) is removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_follower_catches_up() {
    // Three failures in a row are enough to mark an instance unreachable here.
    let a = crate::helpers::spawn_app_with(Engine::Sqlite, |s| {
        s.delivery.unreachable_after_secs = 0;
        s.delivery.probe_interval_secs = 3600;
    })
    .await
    .unwrap();
    let b = spawn_app(Engine::Sqlite).await.unwrap();
    let mut d = spawn_app(Engine::Sqlite).await.unwrap();
    let marcq = a.collectivite_with_token("marcq", "59378").await;
    for (node, user, insee) in [(&b, "lille", "59350"), (&d, "douai", "59178")] {
        let token = node.collectivite_with_token(user, insee).await;
        follow(node, user, &token, &format!("acct:marcq@{}", a.domain)).await;
        node.drain().await;
    }
    a.drain().await;
    let marcq_actor = a.actor("marcq").await;
    assert_eq!(
        a.state.store.count_followers(marcq_actor.id).await.unwrap(),
        2
    );

    d.stop().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let action = a
            .publish(
                "marcq",
                &marcq,
                &json!({"name": format!("Action {i}"), "content": "x", "themes": ["culture"]}),
            )
            .await;
        ids.push(action["id"].as_str().unwrap().to_string());
    }
    a.drain().await;
    for id in &ids {
        assert!(remote_action(&b, id).await.is_some(), "B is not held back");
    }
    let counts = a.state.store.delivery_counts().await.unwrap();
    assert_eq!(counts.pending, 3, "D's deliveries wait for a retry");
    assert_eq!(
        a.state.store.unreachable_instances().await.unwrap(),
        [d.domain.clone()]
    );
    let next = a.state.store.next_delivery_due().await.unwrap().unwrap();
    assert!(
        next > chrono::Utc::now() + chrono::Duration::minutes(50),
        "only probed later: {next}"
    );
    assert_eq!(a.drain().await, 0, "nothing due before the probe");

    // D comes back and talks to A: A revives it and delivers what was waiting.
    d.restart().await;
    let douai = d.actor("douai").await;
    let hello = serde_json::to_vec(&json!({"id": d.url("/activities/hello"), "type": "Like", "actor": douai.ap_id, "object": ids[0]})).unwrap();
    let response = post_signed(&d.client, &a.url("/inbox"), &douai, &hello, |_| {}).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(a.drain().await, 3);
    for id in &ids {
        assert!(remote_action(&d, id).await.is_some(), "D caught up");
    }
    assert_eq!(a.state.store.delivery_counts().await.unwrap().pending, 0);
    assert!(
        a.state
            .store
            .unreachable_instances()
            .await
            .unwrap()
            .is_empty()
    );
}

/// How answers are honoured: `410` removes the follower, `429` + `Retry-After` waits
/// that long, another `4xx` is final, `5xx` is retried later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_outcomes_follow_the_answers() {
    use axum::routing::post;
    let a = spawn_app(Engine::Sqlite).await.unwrap();
    let marcq = a.collectivite_with_token("marcq", "59378").await;
    let owner = a.actor("marcq").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let fake = axum::Router::new()
        .route("/gone", post(|| async { StatusCode::GONE }))
        .route(
            "/busy",
            post(|| async { (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "120")]) }),
        )
        .route("/refuse", post(|| async { StatusCode::FORBIDDEN }))
        .route(
            "/broken",
            post(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
        );
    tokio::spawn(async move { axum::serve(listener, fake).await });
    let domain = format!("localhost:{port}");
    for path in ["gone", "busy", "refuse", "broken"] {
        let id: url::Url = format!("http://{domain}/users/{path}").parse().unwrap();
        let inbox: url::Url = format!("http://{domain}/{path}").parse().unwrap();
        let profile = maillage::domain::drafts::CollectiviteBody {
            username: Some(path.into()),
            kind: Some("autre".into()),
            name: Some(path.into()),
            ..Default::default()
        }
        .into_profile()
        .unwrap();
        let follower = a
            .state
            .store
            .upsert_remote_actor(
                maillage::db::actors::RemoteActor {
                    actor_type: "Person",
                    ap_id: &id,
                    domain: &domain,
                    inbox: &inbox,
                    shared_inbox: None,
                    public_key_pem: &owner.public_key_pem,
                },
                &profile,
            )
            .await
            .unwrap();
        a.state
            .store
            .insert_follow(
                None,
                follower.id,
                owner.id,
                maillage::db::follows::FollowState::Accepted,
            )
            .await
            .unwrap();
    }
    a.publish("marcq", &marcq, &sample_action()).await;
    assert_eq!(a.drain().await, 4);
    let counts = a.state.store.delivery_counts().await.unwrap();
    assert_eq!(
        (counts.done, counts.failed, counts.pending),
        (0, 2, 2),
        "{counts:?}"
    );
    assert_eq!(
        a.state.store.count_followers(owner.id).await.unwrap(),
        3,
        "the 410 one is gone"
    );
    let next = a.state.store.next_delivery_due().await.unwrap().unwrap();
    let wait = (next - chrono::Utc::now()).num_seconds();
    assert!(
        (50..=125).contains(&wait),
        "backoff or Retry-After: {wait} s"
    );
}

/// Authorized-fetch mode: AS2 GETs need a signature (HTML stays public); our own signed
/// fetches pass. Blocked domains get 403 and are not followed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorized_fetch_and_blocked_domains() {
    let a =
        crate::helpers::spawn_app_with(Engine::Sqlite, |s| s.federation.authorized_fetch = true)
            .await
            .unwrap();
    let b = spawn_app(Engine::Sqlite).await.unwrap();
    let marcq = a.collectivite_with_token("marcq", "59378").await;
    let action = a.publish("marcq", &marcq, &sample_action()).await;

    let response = a.get_as(&a.url("/actors/marcq")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let response = a.get_as(action["id"].as_str().unwrap()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let (status, _) = a.get_html("/actors/marcq").await;
    assert_eq!(status, StatusCode::OK, "HTML stays public");
    // Asking for HTML does not open what has no HTML version.
    for path in [
        "/actors/marcq/outbox",
        "/actors/marcq/outbox?page=true",
        "/actors/marcq/followers",
    ] {
        let response = a
            .client
            .get(a.url(path))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let response = a
        .client
        .head(a.url("/actors/marcq"))
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "HEAD too");
    for open in ["/actor", "/.well-known/nodeinfo", "/nodeinfo/2.1", "/ns"] {
        let response = a.get_as(&a.url(open)).await;
        assert_eq!(response.status(), StatusCode::OK, "{open}");
    }

    // B follows A: B's fetches of A are signed by B's instance actor, and backfill works.
    let lille = b.collectivite_with_token("lille", "59350").await;
    follow(&b, "lille", &lille, &a.url("/actors/marcq")).await;
    assert_eq!(b.drain().await, 1);
    assert_eq!(a.drain().await, 1);
    let id = action["id"].as_str().unwrap().to_string();
    wait_until("signed backfill", || remote_action(&b, &id).await_is_some()).await;

    // A node that blocks localhost refuses everything from the other nodes.
    let closed = crate::helpers::spawn_app_with(Engine::Sqlite, |s| {
        s.federation.blocked_domains = vec!["localhost".into()];
    })
    .await
    .unwrap();
    closed.create_collectivite("douai", "59178").await;
    let body = serde_json::to_vec(&json!({
        "id": b.url("/activities/blocked"), "type": "Follow",
        "actor": b.url("/actors/lille"), "object": closed.url("/actors/douai"),
    }))
    .unwrap();
    let response = post_signed(
        &b.client,
        &closed.url("/inbox"),
        &b.actor("lille").await,
        &body,
        |_| {},
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let token = closed.token_for("douai").await;
    let response = closed
        .client
        .post(closed.url("/api/v1/collectivites/douai/follows"))
        .bearer_auth(&token)
        .json(&json!({"target": b.url("/actors/lille")}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// A small deterministic PRNG (xorshift64*), so failures replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

fn random_value(rng: &mut Rng, depth: u32, urls: &[String]) -> Value {
    match rng.below(if depth > 6 { 5 } else { 9 }) {
        0 => Value::Null,
        1 => json!(rng.next() as i64),
        2 => json!(rng.below(2) == 0),
        3 => json!(rng.pick(urls)),
        4 => json!(rng.pick(&[
            "",
            "Follow",
            "Create",
            "Article",
            "Note",
            "Undo",
            "Delete",
            "<script>alert(1)</script>",
            "\u{0}\u{ffff}",
            "é".repeat(5000).as_str()
        ])),
        5 | 6 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth + 1, urls))
                .collect(),
        ),
        _ => random_object(rng, depth + 1, urls),
    }
}

fn random_object(rng: &mut Rng, depth: u32, urls: &[String]) -> Value {
    let keys = [
        "id",
        "type",
        "actor",
        "object",
        "to",
        "cc",
        "@context",
        "signature",
        "proof",
        "content",
        "attributedTo",
        "inReplyTo",
        "name",
        "mai:themes",
        "mai:phase",
        "published",
        "url",
        "tag",
    ];
    let mut map = serde_json::Map::new();
    for _ in 0..rng.below(8) {
        map.insert(rng.pick(&keys).to_string(), random_value(rng, depth, urls));
    }
    Value::Object(map)
}

/// Hundreds of odd, hostile or malformed activities, properly signed so they reach the
/// parser: every answer is a 2xx or 4xx, the node stays up, its state stays sane.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_inbound_documents_never_break_the_inbox() {
    let a = spawn_app(Engine::Sqlite).await.unwrap();
    let b = spawn_app(Engine::Sqlite).await.unwrap();
    a.create_collectivite("marcq", "59378").await;
    b.create_collectivite("lille", "59350").await;
    let lille = b.actor("lille").await;
    let urls = vec![
        lille.ap_id.to_string(),
        a.url("/actors/marcq"),
        a.url("/actions/00000000-0000-0000-0000-000000000000"),
        b.url("/activities/x"),
        b.url("/nothing-here"),
        "http://localhost:1/unreachable".to_string(),
        "javascript:alert(1)".to_string(),
        "not a url".to_string(),
        String::new(),
    ];
    let mut rng = Rng(0x5eed_cafe_f00d_1234);
    let mut statuses = std::collections::BTreeMap::new();
    for i in 0..300 {
        let mut document = random_object(&mut rng, 0, &urls);
        // Most documents get a plausible envelope so that they reach the handlers.
        if rng.below(4) != 0 {
            let map = document.as_object_mut().unwrap();
            map.insert("id".into(), json!(b.url(&format!("/activities/fuzz-{i}"))));
            map.insert("actor".into(), json!(lille.ap_id));
            map.entry("type").or_insert(json!(rng.pick(&[
                "Create", "Update", "Delete", "Follow", "Undo", "Accept", "Reject", "Like"
            ])));
        }
        let body = if rng.below(20) == 0 {
            (0..rng.below(200))
                .map(|_| rng.next() as u8)
                .collect::<Vec<u8>>()
        } else {
            serde_json::to_vec(&document).unwrap()
        };
        let response = post_signed(&a.client, &a.url("/inbox"), &lille, &body, |_| {}).await;
        let status = response.status();
        assert!(
            status.is_success() || status.is_client_error(),
            "case {i}: {status} for {}",
            String::from_utf8_lossy(&body)
        );
        *statuses.entry(status.as_u16()).or_insert(0) += 1;
    }
    // Both outcomes occur: some documents are applied or ignored, others refused.
    assert!(
        statuses.contains_key(&202) && statuses.contains_key(&400),
        "{statuses:?}"
    );
    let health = a.client.get(a.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let marcq = a.actor("marcq").await;
    assert!(a.state.store.count_followers(marcq.id).await.unwrap() <= 1);
    assert_eq!(a.state.store.count_actions_of(marcq.id).await.unwrap(), 0);
}

/// Many signed activities at once: SQLite write transactions wait for the lock instead
/// of failing with "database is locked" (this answered 500 before `BEGIN IMMEDIATE`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_inbound_activities_are_all_applied() {
    let a = spawn_app(Engine::Sqlite).await.unwrap();
    let b = spawn_app(Engine::Sqlite).await.unwrap();
    a.create_collectivite("marcq", "59378").await;
    b.create_collectivite("lille", "59350").await;
    let lille = b.actor("lille").await;
    // Marcq follows Lille, so Lille's Articles are kept.
    let config = maillage::federation::federation_config(a.state.clone())
        .await
        .unwrap();
    let remote: activitypub_federation::fetch::object_id::ObjectId<
        maillage::db::actors::ActorRecord,
    > = lille.ap_id.clone().into();
    let remote = remote.dereference(&config.to_request_data()).await.unwrap();
    let marcq = a.actor("marcq").await;
    a.state
        .store
        .insert_follow(
            None,
            marcq.id,
            remote.id,
            maillage::db::follows::FollowState::Accepted,
        )
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..48 {
        let body = serde_json::to_vec(&json!({
            "id": b.url(&format!("/activities/c{i}")), "type": "Create", "actor": lille.ap_id,
            "object": {"id": b.url(&format!("/actions/c{i}")), "type": "Article", "attributedTo": lille.ap_id,
                       "name": format!("Action {i}"), "content": "<p>x</p>", "mai:themes": ["culture"]},
        }))
        .unwrap();
        let (client, inbox, signer) = (a.client.clone(), a.url("/inbox"), lille.clone());
        tasks.push(tokio::spawn(async move {
            post_signed(&client, &inbox, &signer, &body, |_| {})
                .await
                .status()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::ACCEPTED);
    }
    assert_eq!(a.state.store.count_actions_of(remote.id).await.unwrap(), 48);

    // A `url` that is not an http(s) page of the sender's origin is not kept: it would
    // become a link on our pages.
    for (i, url) in ["javascript:alert(1)", "https://ailleurs.example/page"]
        .iter()
        .enumerate()
    {
        let object = b.url(&format!("/actions/u{i}"));
        let body = serde_json::to_vec(&json!({
            "id": b.url(&format!("/activities/u{i}")), "type": "Create", "actor": lille.ap_id,
            "object": {"id": object, "type": "Article", "attributedTo": lille.ap_id, "url": url,
                       "name": "Lien piégé", "content": "<p>x</p>", "mai:themes": ["culture"]},
        }))
        .unwrap();
        let response = post_signed(&a.client, &a.url("/inbox"), &lille, &body, |_| {}).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let stored = a
            .state
            .store
            .action_by_ap_id(&object.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.url.as_str(), object, "{url}");
    }
}

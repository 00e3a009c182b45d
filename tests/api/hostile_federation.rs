//! Availability under hostile federation traffic (issue 13): what a remote server, or
//! anyone who can sign as one, can make a node fetch, hold or store. Remote peers are
//! real loopback HTTP servers started here (counting every request they get) or second
//! nodes, and every activity carries a real signature.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use activitypub_federation::fetch::object_id::ObjectId;
use activitypub_federation::traits::Object;
use axum::extract::{Request, State};
use axum::response::IntoResponse;
use maillage::db::actors::{ActorRecord, RemoteActor};
use maillage::domain::{NewCollectivite, Username};
use maillage::federation::objects::collectivite::ActorJson;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::both_engines;
use crate::helpers::{
    Engine, TestApp, assert_problem, post_signed, post_signed_with, sample_action, spawn_app,
    spawn_app_with, wait_until,
};

const AS: &str = "https://www.w3.org/ns/activitystreams";

/// What a fake remote server answers to a `GET` of `path` (its base given): a JSON
/// document, or `None` for `404`.
type Documents = Arc<dyn Fn(&str, &str) -> Option<Value> + Send + Sync>;

/// A fake remote server on a loopback port: serves [`Documents`] as
/// `application/activity+json`, takes every `POST` (`202`), and writes both down.
#[derive(Clone)]
struct Remote {
    /// `http://localhost:PORT`.
    base: String,
    documents: Documents,
    gets: Arc<Mutex<Vec<String>>>,
    posts: Arc<Mutex<Vec<Value>>>,
    /// A path whose `GET` waits until `release` is called.
    held: Arc<Mutex<Option<String>>>,
    released: Arc<tokio::sync::watch::Sender<bool>>,
}

async fn remote_handler(
    State(remote): State<Remote>,
    request: Request,
) -> axum::response::Response {
    let path = request.uri().path().to_string();
    if request.method() == axum::http::Method::POST {
        let body = axum::body::to_bytes(request.into_body(), 1 << 20)
            .await
            .unwrap_or_default();
        let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        remote.posts.lock().unwrap().push(value);
        return StatusCode::ACCEPTED.into_response();
    }
    remote.gets.lock().unwrap().push(path.clone());
    if remote.held.lock().unwrap().as_deref() == Some(path.as_str()) {
        let mut released = remote.released.subscribe();
        let _ = released.wait_for(|released| *released).await;
    }
    match (remote.documents)(&remote.base, &path) {
        Some(document) => (
            [("content-type", "application/activity+json")],
            document.to_string(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

impl Remote {
    async fn start(
        documents: impl Fn(&str, &str) -> Option<Value> + Send + Sync + 'static,
    ) -> Remote {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let remote = Remote {
            base: format!("http://localhost:{}", listener.local_addr().unwrap().port()),
            documents: Arc::new(documents),
            gets: Arc::default(),
            posts: Arc::default(),
            held: Arc::default(),
            released: Arc::new(tokio::sync::watch::channel(false).0),
        };
        let router = axum::Router::new()
            .fallback(remote_handler)
            .with_state(remote.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        remote
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Every `GET` so far, by path.
    fn gets(&self) -> Vec<String> {
        self.gets.lock().unwrap().clone()
    }

    fn gets_of(&self, path: &str) -> usize {
        self.gets().iter().filter(|p| *p == path).count()
    }

    fn forget_gets(&self) {
        self.gets.lock().unwrap().clear();
    }

    fn hold(&self, path: &str) {
        *self.held.lock().unwrap() = Some(path.to_string());
    }

    fn release(&self) {
        self.released.send_replace(true);
    }
}

/// A remote actor's document: `Organization` `{base}/actors/{name}` with its key, inbox
/// and outbox.
fn actor_document(base: &str, name: &str, public_pem: &str) -> Value {
    let id = format!("{base}/actors/{name}");
    json!({
        "@context": [AS, "https://w3id.org/security/v1"],
        "id": id, "type": "Organization", "preferredUsername": name, "name": format!("Ville {name}"),
        "inbox": format!("{id}/inbox"), "outbox": format!("{id}/outbox"),
        "publicKey": {"id": format!("{id}#main-key"), "owner": id, "publicKeyPem": public_pem},
    })
}

/// An action `Article` of `actor` at `id`.
fn article(id: &str, actor: &str, name: &str) -> Value {
    json!({
        "@context": AS, "id": id, "type": "Article", "attributedTo": actor, "name": name,
        "content": "<p>Une action.</p>", "mai:phase": "service", "mai:themes": ["culture"],
        "published": "2025-01-01T00:00:00Z",
    })
}

/// A key pair for a fake remote actor.
async fn keys() -> activitypub_federation::http_signatures::Keypair {
    maillage::service::keys::generate_keypair().await.unwrap()
}

/// Posts `activity`, signed with `pem` as `{actor}#main-key`, to `inbox`.
async fn send(
    client: &reqwest::Client,
    inbox: &str,
    actor: &str,
    pem: &str,
    activity: &Value,
) -> reqwest::Response {
    post_signed_with(
        client,
        inbox,
        &format!("{actor}#main-key"),
        pem,
        activity.to_string().as_bytes(),
        |_| {},
    )
    .await
}

/// `marcq` of `a` follows `actor` through the API; the `Follow` is delivered to the
/// remote, whose copy is returned.
async fn follow(a: &TestApp, token: &str, remote: &Remote, actor: &str) -> Value {
    let response = a
        .client
        .post(a.url("/api/v1/collectivites/marcq/follows"))
        .bearer_auth(token)
        .json(&json!({ "target": actor }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let before = remote.posts.lock().unwrap().len();
    assert_eq!(a.drain().await, 1, "{}", a.deliveries().await);
    let posts = remote.posts.lock().unwrap();
    assert_eq!(posts.len(), before + 1);
    let follow = posts.last().unwrap().clone();
    assert_eq!(follow["type"], "Follow");
    follow
}

/// An `Accept` of `follow` by `actor`.
fn accept(actor: &str, follow: &Value, n: usize) -> Value {
    json!({
        "@context": AS, "id": format!("{actor}/accepts/{n}"), "type": "Accept",
        "actor": actor, "object": follow["id"],
    })
}

/// What `marcq` of `a` follows (the API's list).
async fn our_follows(a: &TestApp, token: &str) -> Value {
    a.client
        .get(a.url("/api/v1/collectivites/marcq/follows"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn backfills_done(a: &TestApp) {
    wait_until("the backfill to end", || async {
        a.state.backfills.running() == 0
    })
    .await;
}

/// One integer from SQL, on either engine.
async fn count(a: &TestApp, sql: &'static str) -> i64 {
    maillage::db::on_pool!(&a.state.store, pool => {
        sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
    })
}

/// An outbox without end on `base`: 20 items per page, each given by URL, a `Create`
/// whose object is given by URL too.
fn endless_outbox(base: &str, path: &str, public_pem: &str) -> Option<Value> {
    let actor = format!("{base}/actors/ville");
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    Some(match segments.as_slice() {
        ["actors", "ville"] => actor_document(base, "ville", public_pem),
        ["actors", "ville", "outbox"] => json!({
            "@context": AS, "id": format!("{actor}/outbox"), "type": "OrderedCollection",
            "totalItems": 1_000_000, "first": format!("{base}/outbox/1"),
        }),
        ["outbox", n] => {
            let n: usize = n.parse().ok()?;
            let items: Vec<String> = (0..20).map(|i| format!("{base}/creates/{n}-{i}")).collect();
            json!({
                "@context": AS, "id": format!("{base}/outbox/{n}"), "type": "OrderedCollectionPage",
                "orderedItems": items, "next": format!("{base}/outbox/{}", n + 1),
            })
        }
        ["creates", x] => json!({
            "@context": AS, "id": format!("{base}/creates/{x}"), "type": "Create",
            "actor": actor, "object": format!("{base}/objects/{x}"),
        }),
        ["objects", x] => article(
            &format!("{base}/objects/{x}"),
            &actor,
            &format!("Action {x}"),
        ),
        _ => return None,
    })
}

both_engines!(accept_amplification_one_backfill);

/// Point 2: four `Accept`s of one follow start one backfill, and the whole walk of an
/// endless outbox costs at most `federation.backfill_fetches` requests.
async fn accept_amplification_one_backfill(a: TestApp) {
    let token = a.collectivite_with_token("marcq", "59378").await;
    let keys = keys().await;
    let public = keys.public_key.clone();
    let remote = Remote::start(move |base, path| endless_outbox(base, path, &public)).await;
    let actor = remote.url("/actors/ville");
    let follow = follow(&a, &token, &remote, &actor).await;
    remote.forget_gets();
    for n in 0..4 {
        let response = send(
            &a.client,
            &a.url("/inbox"),
            &actor,
            &keys.private_key,
            &accept(&actor, &follow, n),
        )
        .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED, "Accept {n}");
    }
    backfills_done(&a).await;
    let gets = remote.gets();
    assert_eq!(
        remote.gets_of("/actors/ville/outbox"),
        1,
        "one backfill: {gets:?}"
    );
    let budget = a.state.settings.federation.backfill_fetches as usize;
    assert!(
        gets.len() <= budget,
        "{} GETs for a budget of {budget}",
        gets.len()
    );
    // The budget went to the walk: pages, items and objects.
    assert!(gets.len() >= budget / 2, "{gets:?}");
    let stored: i64 = count(&a, "SELECT COUNT(*) FROM actions WHERE local = FALSE").await;
    assert!(stored > 0, "the walk stored actions");
    let follows = our_follows(&a, &token).await;
    assert_eq!(follows[0]["state"], "accepted");
}

/// Point 2: a backfill runs at most once per actor at a time: a follow made again and
/// accepted while the first walk runs starts nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_amplification_one_backfill_at_a_time() {
    let a = spawn_app(Engine::Sqlite).await.unwrap();
    let token = a.collectivite_with_token("marcq", "59378").await;
    let keys = keys().await;
    let public = keys.public_key.clone();
    let remote = Remote::start(move |base, path| endless_outbox(base, path, &public)).await;
    remote.hold("/actors/ville/outbox");
    let actor = remote.url("/actors/ville");
    let first = follow(&a, &token, &remote, &actor).await;
    let inbox = a.url("/inbox");
    let response = send(
        &a.client,
        &inbox,
        &actor,
        &keys.private_key,
        &accept(&actor, &first, 0),
    )
    .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(a.state.backfills.running(), 1);
    wait_until("the walk to reach the outbox", || async {
        remote.gets_of("/actors/ville/outbox") == 1
    })
    .await;
    // Unfollow, follow again, accepted again: the first walk is still running.
    let follows = our_follows(&a, &token).await;
    let id = follows[0]["id"].as_i64().unwrap();
    let response = a
        .client
        .delete(a.url(&format!("/api/v1/collectivites/marcq/follows/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    a.drain().await;
    let second = follow(&a, &token, &remote, &actor).await;
    assert_ne!(first["id"], second["id"]);
    let response = send(
        &a.client,
        &inbox,
        &actor,
        &keys.private_key,
        &accept(&actor, &second, 1),
    )
    .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(a.state.backfills.running(), 1, "no second walk");
    remote.release();
    backfills_done(&a).await;
    assert_eq!(
        remote.gets_of("/actors/ville/outbox"),
        1,
        "{:?}",
        remote.gets()
    );
}

/// Point 2: outbox items, objects and pages off the followed actor's origin (another
/// port of the same host, here) are never fetched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_amplification_off_origin_items() {
    let a = spawn_app(Engine::Sqlite).await.unwrap();
    let token = a.collectivite_with_token("marcq", "59378").await;
    let third = Remote::start(|base, path| {
        Some(json!({"@context": AS, "id": format!("{base}{path}"), "type": "Create"}))
    })
    .await;
    let keys = keys().await;
    let public = keys.public_key.clone();
    let elsewhere = third.base.clone();
    let remote = Remote::start(move |base, path| {
        let actor = format!("{base}/actors/ville");
        match path {
            "/actors/ville" => Some(actor_document(base, "ville", &public)),
            "/actors/ville/outbox" => {
                // 100 items by URL elsewhere, 10 embedded Creates whose object is
                // elsewhere, one of ours, and a next page elsewhere.
                let mut items: Vec<Value> = (0..100)
                    .map(|i| json!(format!("{elsewhere}/creates/{i}")))
                    .collect();
                items.extend((0..10).map(|i| {
                    json!({"id": format!("{actor}/creates/e{i}"), "type": "Create", "actor": actor,
                           "object": format!("{elsewhere}/objects/{i}")})
                }));
                items.push(json!({"id": format!("{actor}/creates/ok"), "type": "Create", "actor": actor,
                    "object": article(&format!("{base}/objects/ok"), &actor, "Action de la ville")}));
                Some(json!({
                    "@context": AS, "id": format!("{actor}/outbox"), "type": "OrderedCollection",
                    "orderedItems": items, "next": format!("{elsewhere}/outbox/2"),
                }))
            }
            _ => None,
        }
    })
    .await;
    let actor = remote.url("/actors/ville");
    let follow = follow(&a, &token, &remote, &actor).await;
    let response = send(
        &a.client,
        &a.url("/inbox"),
        &actor,
        &keys.private_key,
        &accept(&actor, &follow, 0),
    )
    .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    backfills_done(&a).await;
    assert_eq!(
        third.gets(),
        Vec::<String>::new(),
        "nothing fetched off the actor's origin"
    );
    let ours = a
        .state
        .store
        .action_by_ap_id(&remote.url("/objects/ok").parse().unwrap())
        .await
        .unwrap();
    assert!(ours.is_some(), "the item on the actor's origin was read");
}

/// The budget of one inbound activity (docs/security.md): a `Create` whose object, by
/// id, names another id again and again (each fetched in turn) costs the node at most
/// `INBOUND_FETCHES` requests, the signer's key included, and is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_fetch_budget() {
    let a = spawn_app(Engine::Sqlite).await.unwrap();
    a.create_collectivite("marcq", "59378").await;
    let keys = keys().await;
    let public = keys.public_key.clone();
    let remote = Remote::start(move |base, path| {
        if path == "/actors/ville" {
            return Some(actor_document(base, "ville", &public));
        }
        let n: usize = path.strip_prefix("/objects/")?.parse().ok()?;
        Some(json!({"@context": AS, "id": format!("{base}/objects/{}", n + 1), "type": "Note"}))
    })
    .await;
    let actor = remote.url("/actors/ville");
    let create = json!({"@context": AS, "id": format!("{actor}/creates/1"), "type": "Create",
                        "actor": actor, "object": remote.url("/objects/0")});
    let response = send(
        &a.client,
        &a.url("/inbox"),
        &actor,
        &keys.private_key,
        &create,
    )
    .await;
    assert_problem(response, StatusCode::BAD_REQUEST).await;
    let gets = remote.gets();
    let budget = maillage::federation::budget::INBOUND_FETCHES as usize;
    assert!(gets.len() <= budget, "{} GETs: {gets:?}", gets.len());
    assert!(gets.len() >= budget / 2, "the chain was followed: {gets:?}");
}

/// A server that answers every request with headers, then one byte per second.
struct SlowServer {
    base: String,
    received: Arc<AtomicUsize>,
}

async fn slow_server() -> SlowServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/activity+json\r\ncontent-length: 100000\r\n\r\n{";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                // The attack: a byte a second, for as long as the node listens.
                while socket.write_all(b" ").await.is_ok() {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            });
        }
    });
    SlowServer { base, received }
}

/// Point 4: signatures naming keys on a host that answers a byte a second hold few of
/// the node's key-fetch permits, for a short time: a newcomer from another host is
/// verified while they are all still waiting, and they fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_key_servers_do_not_block_first_contact() {
    tokio::time::timeout(Duration::from_secs(90), slow_key_servers())
        .await
        .expect("test took over 90 s");
}

async fn slow_key_servers() {
    let a = spawn_app(Engine::Sqlite).await.unwrap();
    a.create_collectivite("marcq", "59378").await;
    let slow = slow_server().await;
    let junk = keys().await;
    // More slow requests than the node has key-fetch permits.
    let slow_requests = maillage::state::KEY_FETCHES + 4;
    let slow_host = slow.base.trim_start_matches("http://").to_string();
    let mut pending = Vec::new();
    for n in 0..slow_requests {
        let actor = format!("{}/actors/lente-{n}", slow.base);
        let like = json!({"@context": AS, "id": format!("{actor}/likes/1"), "type": "Like",
                          "actor": actor, "object": a.url("/actors/marcq")});
        let (client, inbox, pem) = (a.client.clone(), a.url("/inbox"), junk.private_key.clone());
        pending.push(tokio::spawn(async move {
            send(&client, &inbox, &actor, &pem, &like).await.status()
        }));
    }
    wait_until("every slow request waiting for its key", || async {
        slow.received.load(Ordering::SeqCst) >= 2
            && a.state.host_key_fetches.in_line(&slow_host) == slow_requests
    })
    .await;

    // A legitimate newcomer from another host.
    let keys = keys().await;
    let public = keys.public_key.clone();
    let remote = Remote::start(move |base, path| {
        (path == "/actors/ville").then(|| actor_document(base, "ville", &public))
    })
    .await;
    let actor = remote.url("/actors/ville");
    let follow = json!({"@context": AS, "id": format!("{actor}/follows/1"), "type": "Follow",
                        "actor": actor, "object": a.url("/actors/marcq")});
    let response = send(
        &a.client,
        &a.url("/inbox"),
        &actor,
        &keys.private_key,
        &follow,
    )
    .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let finished = pending.iter().filter(|p| p.is_finished()).count();
    assert_eq!(
        finished, 0,
        "the newcomer was verified while every slow request waited"
    );
    let received = slow.received.load(Ordering::SeqCst);
    let per_host = a.state.settings.federation.key_fetches_per_host;
    assert!(
        received <= per_host,
        "{received} fetches at once from the slow host"
    );

    // The slow ones fail, within the key deadline rather than the 10 s of other fetches.
    let mut statuses = BTreeMap::new();
    for request in pending {
        *statuses.entry(request.await.unwrap().as_u16()).or_insert(0) += 1;
    }
    assert_eq!(statuses, BTreeMap::from([(401, slow_requests)]));
    assert_eq!(
        a.state.host_key_fetches.in_line(&slow_host),
        0,
        "nothing left in line"
    );
}

/// Point 6: the per-host inbox limit counts the signature however the verifier reads
/// it: in `Authorization: Signature …`, and with a lowercase `keyid`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbox_host_limit_spellings() {
    let a = spawn_app_with(Engine::Sqlite, |s| s.limits.inbox_per_host_per_minute = 3)
        .await
        .unwrap();
    let params = |host: &str, key_id: &str| {
        format!(
            r#"{key_id}="https://{host}/actors/x#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="c2lnbmF0dXJl""#
        )
    };
    let spellings = [
        (
            "Authorization: Signature",
            "authorization",
            format!("Signature {}", params("h1.example", "keyId")),
        ),
        (
            "lowercase keyid",
            "signature",
            params("h2.example", "keyid"),
        ),
    ];
    for (spelling, header, value) in spellings {
        let mut statuses = Vec::new();
        for _ in 0..4 {
            let response = a
                .client
                .post(a.url("/inbox"))
                .header(header, &value)
                .header("content-type", "application/activity+json")
                .body("{}")
                .send()
                .await
                .unwrap();
            statuses.push(response.status().as_u16());
        }
        assert_eq!(statuses, [401, 401, 401, 429], "{spelling}");
    }
}

/// Point 7: the signed `host` must be this node's: a genuine signature made for another
/// server is refused here, on inboxes and on signed GETs in authorized-fetch mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_bound_to_this_node() {
    let a = spawn_app_with(Engine::Sqlite, |s| s.federation.authorized_fetch = true)
        .await
        .unwrap();
    a.create_collectivite("marcq", "59378").await;
    let b = spawn_app(Engine::Sqlite).await.unwrap();
    b.create_collectivite("lille", "59350").await;
    let lille = b.actor("lille").await;
    let follow = json!({"@context": AS, "id": format!("{}/follows/1", lille.ap_id), "type": "Follow",
                        "actor": lille.ap_id, "object": a.url("/actors/marcq")});
    let body = follow.to_string();
    // Signed for `other.example` (as a delivery there would be), replayed here with
    // its own Host header.
    let other = "http://other.example/actors/marcq/inbox";
    let key_id = format!("{}#main-key", lille.ap_id);
    let private = maillage::activitypub::signatures::parse_private_key(
        lille.private_key_pem.as_deref().unwrap(),
    )
    .unwrap();
    let headers = maillage::activitypub::signatures::sign_request(
        "POST",
        &other.parse().unwrap(),
        Some(body.as_bytes()),
        &key_id,
        &private,
        chrono::Utc::now(),
    )
    .unwrap();
    assert_eq!(headers["host"], "other.example");
    let response = a
        .client
        .post(a.url("/actors/marcq/inbox"))
        .headers(headers)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, StatusCode::UNAUTHORIZED).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("other.example"),
        "{problem}"
    );
    let marcq = a.actor("marcq").await;
    assert_eq!(a.state.store.count_followers(marcq.id).await.unwrap(), 0);
    // Signed for this node: accepted.
    let response = post_signed(
        &a.client,
        &a.url("/actors/marcq/inbox"),
        &lille,
        body.as_bytes(),
        |_| {},
    )
    .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(a.state.store.count_followers(marcq.id).await.unwrap(), 1);

    // A signed GET in authorized-fetch mode, likewise.
    let outbox = a.url("/actors/marcq/outbox");
    let get = |signed_for: String| {
        let (client, outbox, key_id, private) = (
            a.client.clone(),
            outbox.clone(),
            key_id.clone(),
            private.clone(),
        );
        async move {
            let headers = maillage::activitypub::signatures::sign_request(
                "GET",
                &signed_for.parse().unwrap(),
                None,
                &key_id,
                &private,
                chrono::Utc::now(),
            )
            .unwrap();
            client
                .get(outbox)
                .headers(headers)
                .header("accept", "application/activity+json")
                .send()
                .await
                .unwrap()
        }
    };
    let response = get("http://other.example/actors/marcq/outbox".into()).await;
    assert_problem(response, StatusCode::UNAUTHORIZED).await;
    assert_eq!(get(outbox.clone()).await.status(), StatusCode::OK);
}

/// Point 10: outside debug mode, an actor whose inbox is plain http, or on an explicit
/// port, is refused when fetched, and nothing is delivered to such an inbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_https_only() {
    // Debug mode off; loopback allowed so that only the new rule can stop delivery.
    let a = spawn_app_with(Engine::Sqlite, |s| {
        s.federation.debug = false;
        s.federation.allow_private_addresses = true;
    })
    .await
    .unwrap();
    let token = a.collectivite_with_token("marcq", "59378").await;
    let remote = Remote::start(|_, _| None).await;
    let keys = keys().await;
    let port = remote.base.rsplit(':').next().unwrap();

    // Fetched: refused by the actor check, whatever the library let through.
    let config = maillage::federation::federation_config(a.state.clone())
        .await
        .unwrap();
    let data = config.to_request_data();
    for inbox in [
        "http://ville.example/inbox".to_string(),
        format!("https://ville.example:{port}/inbox"),
    ] {
        let mut document = actor_document("https://ville.example", "ville", &keys.public_key);
        document["inbox"] = json!(inbox);
        let json: ActorJson = serde_json::from_value(document).unwrap();
        let id = json.id.clone();
        let verified = <ActorRecord as Object>::verify(&json, &id, &data).await;
        assert!(verified.is_err(), "{inbox} accepted");
    }

    // Stored before this rule (or by another way): never delivered to.
    let ap_id: url::Url = "https://ville.example/actors/ville".parse().unwrap();
    let inbox: url::Url = remote.url("/actors/ville/inbox").parse().unwrap();
    let ville = a
        .state
        .store
        .upsert_remote_actor(
            RemoteActor {
                actor_type: "Organization",
                ap_id: &ap_id,
                domain: "ville.example",
                inbox: &inbox,
                shared_inbox: None,
                public_key_pem: &keys.public_key,
            },
            &NewCollectivite::named(Username::parse("ville").unwrap(), "Ville"),
        )
        .await
        .unwrap();
    let marcq = a.actor("marcq").await;
    a.state
        .store
        .insert_follow(
            None,
            ville.id,
            marcq.id,
            maillage::db::follows::FollowState::Accepted,
        )
        .await
        .unwrap();
    a.publish("marcq", &token, &sample_action()).await;
    assert_eq!(a.drain().await, 1);
    assert!(
        remote.posts.lock().unwrap().is_empty(),
        "sent over plain http"
    );
    let queue = a.deliveries().await;
    assert!(
        queue.contains("failed") && queue.contains("https"),
        "{queue}"
    );
}

/// `remote` (an actor of another node) as `a` stores it once fetched, followed
/// (accepted) by `follower`, so that its actions are kept.
async fn fetched_and_followed(a: &TestApp, remote: &ActorRecord, follower: i64) -> ActorRecord {
    let config = maillage::federation::federation_config(a.state.clone())
        .await
        .unwrap();
    let known = ObjectId::<ActorRecord>::from(remote.ap_id.clone())
        .dereference(&config.to_request_data())
        .await
        .unwrap();
    a.state
        .store
        .insert_follow(
            None,
            follower,
            known.id,
            maillage::db::follows::FollowState::Accepted,
        )
        .await
        .unwrap();
    known
}

both_engines!(remote_partners_checked);

/// Point 11: a remote action's `mai:partners` keep only actor ids (http(s)), at most
/// 100, never the owner, and a collectivité of this node only when it asked to join;
/// `partnered=true` and the CSV show nothing else.
async fn remote_partners_checked(a: TestApp) {
    a.create_collectivite("marcq", "59378").await;
    a.create_collectivite("tourcoing", "59599").await;
    let b = spawn_app(a.engine).await.unwrap();
    b.create_collectivite("lille", "59350").await;
    b.create_collectivite("roubaix", "59512").await;
    let lille = b.actor("lille").await;
    let roubaix = b.actor("roubaix").await;
    let marcq = a.actor("marcq").await;
    let tourcoing = a.actor("tourcoing").await;
    let known = fetched_and_followed(&a, &lille, marcq.id).await;
    let action = format!("{}/actions/partenaires", lille.ap_id);
    let action_url: url::Url = action.parse().unwrap();
    // Tourcoing asked to join (its Join went to Lille's node); Marcq never did.
    a.state
        .store
        .upsert_partnership(&maillage::db::partnerships::NewPartnership {
            ap_id: &format!("{}/joins/1", tourcoing.ap_id).parse().unwrap(),
            action_ap_id: &action_url,
            action_name: "Partenaires",
            requester_id: tourcoing.id,
            owner_id: known.id,
        })
        .await
        .unwrap();
    let mut partners = vec![
        json!("javascript:alert(1)"),
        json!("data:text/html,<script>alert(1)</script>"),
        json!(lille.ap_id),
        json!(roubaix.ap_id),
        json!(roubaix.ap_id),
        json!(marcq.ap_id),
        json!(tourcoing.ap_id),
        json!("https://user:secret@ville.example/actors/a"),
        json!(42),
    ];
    partners.extend((0..150).map(|i| json!(format!("https://ville.example/actors/p{i}"))));
    let create = |id: &str, name: &str, partners: Vec<Value>| {
        let mut object = article(id, lille.ap_id.as_str(), name);
        object["mai:partners"] = json!(partners);
        json!({"@context": AS, "id": format!("{id}/create"), "type": "Create",
               "actor": lille.ap_id, "object": object})
    };
    let activity = create(&action, "Partenaires", partners);
    let response = post_signed(
        &a.client,
        &a.url("/inbox"),
        &lille,
        activity.to_string().as_bytes(),
        |_| {},
    )
    .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let stored = a
        .state
        .store
        .action_by_ap_id(&action_url)
        .await
        .unwrap()
        .unwrap();
    let kept: Vec<String> = stored.partners.iter().map(|p| p.to_string()).collect();
    // The first 100 usable ids (neither the owner nor a bad URL), then Marcq, which
    // never asked, left out.
    let mut expected = vec![roubaix.ap_id.to_string(), tourcoing.ap_id.to_string()];
    expected.extend((0..97).map(|i| format!("https://ville.example/actors/p{i}")));
    assert_eq!(kept, expected);

    // An action whose only partners are unusable is not "partnered".
    let lonely = format!("{}/actions/seule", lille.ap_id);
    let activity = create(
        &lonely,
        "Seule",
        vec![
            json!("javascript:alert(1)"),
            json!(marcq.ap_id),
            json!(lille.ap_id),
        ],
    );
    let response = post_signed(
        &a.client,
        &a.url("/inbox"),
        &lille,
        activity.to_string().as_bytes(),
        |_| {},
    )
    .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let partnered: Value = a
        .get_json(a.url("/api/v1/directory/actions?partnered=true"))
        .await;
    let ids: Vec<&str> = partnered["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|i| i["id"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        ids.contains(&action.as_str()) && !ids.contains(&lonely.as_str()),
        "{partnered}"
    );
    let csv = a
        .client
        .get(a.url("/directory.csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains(roubaix.ap_id.as_str()), "{csv}");
    for refused in ["javascript:", "data:", "secret@"] {
        assert!(!csv.contains(refused), "{refused} in the CSV");
    }
}

/// Marcq on `a` follows Lille on a second node (returned, to keep it running).
async fn marcq_follows_lille(a: &TestApp) -> (TestApp, ActorRecord) {
    a.create_collectivite("marcq", "59378").await;
    let b = spawn_app(a.engine).await.unwrap();
    b.create_collectivite("lille", "59350").await;
    let lille = b.actor("lille").await;
    let marcq = a.actor("marcq").await;
    fetched_and_followed(a, &lille, marcq.id).await;
    (b, lille)
}

both_engines!(inbound_dates_out_of_range);

/// Point 5 (inbound dates): dates no engine can store are dropped, never a `500`, and
/// the pages that show them still answer.
async fn inbound_dates_out_of_range(a: TestApp) {
    let (_b, lille) = marcq_follows_lille(&a).await;
    let cases = [
        ("published", "-5000-01-01T00:00:00Z"),
        ("updated", "-5000-01-01T00:00:00Z"),
        ("published", "+200000-01-01T00:00:00Z"),
        ("updated", "+200000-01-01T00:00:00Z"),
        ("startTime", "-5000-01-01T00:00:00Z"),
        ("endTime", "+200000-12-31T00:00:00Z"),
    ];
    for (n, (field, value)) in cases.iter().enumerate() {
        let id = format!("{}/actions/dates-{n}", lille.ap_id);
        let mut object = article(&id, lille.ap_id.as_str(), &format!("Dates {n}"));
        object[*field] = json!(value);
        let note = json!({"id": format!("{}/notes/dates-{n}", lille.ap_id), "type": "Note",
                          "attributedTo": lille.ap_id, "content": "Bonjour", *field: value});
        for object in [object, note] {
            let activity = json!({"@context": AS, "id": format!("{}/create", object["id"].as_str().unwrap()),
                                  "type": "Create", "actor": lille.ap_id, "object": object});
            let response = post_signed(
                &a.client,
                &a.url("/inbox"),
                &lille,
                activity.to_string().as_bytes(),
                |_| {},
            )
            .await;
            assert_eq!(response.status(), StatusCode::ACCEPTED, "{field} {value}");
        }
        let stored = a
            .state
            .store
            .action_by_ap_id(&id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        let years = [stored.published, stored.updated].map(|t| chrono::Datelike::year(&t));
        assert!(
            years.iter().all(|y| (1900..=9999).contains(y)),
            "{field} {value}: {years:?}"
        );
        assert!(stored.data.start_date.is_none() || *field != "startTime");
        assert!(stored.data.end_date.is_none() || *field != "endTime");
    }
    for path in [
        "/",
        "/api/v1/directory/actions",
        "/directory.csv",
        "/directory.atom",
        "/actors/marcq",
    ] {
        let response = a.client.get(a.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}

both_engines!(inbound_dates_in_the_future);

/// Point 5 (inbound dates, loose end): a remote `updated` or `published` more than an
/// hour (the clock skew a signature's `Date` may have) ahead of the receiving time is
/// not believed. An Article dated 9999 would otherwise win "an older version never
/// overwrites a newer one" forever: here the genuine edit sent next is stored. An
/// `updated` earlier than `published` is raised to it. Migration 0013 repairs rows
/// stored before with dates in the future.
async fn inbound_dates_in_the_future(a: TestApp) {
    let (_b, lille) = marcq_follows_lille(&a).await;
    let id = format!("{}/actions/futur", lille.ap_id);
    let send =
        |id: String, kind: &'static str, name: &'static str, published: String, updated: String| {
            let mut object = article(&id, lille.ap_id.as_str(), name);
            object["published"] = json!(published);
            object["updated"] = json!(updated);
            let activity = json!({"@context": AS, "id": format!("{id}/{kind}/{updated}"),
                              "type": kind, "actor": lille.ap_id, "object": object});
            let (a, lille) = (&a, &lille);
            async move {
                let response = post_signed(
                    &a.client,
                    &a.url("/inbox"),
                    lille,
                    activity.to_string().as_bytes(),
                    |_| {},
                )
                .await;
                assert_eq!(response.status(), StatusCode::ACCEPTED, "{kind} {updated}");
            }
        };
    let stored = |id: String| {
        let a = &a;
        async move {
            a.state
                .store
                .action_by_ap_id(&id.parse().unwrap())
                .await
                .unwrap()
                .unwrap()
        }
    };
    let at =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let far = "9999-01-01T00:00:00Z".to_string();
    send(id.clone(), "Create", "Daté de l'an 9999", far.clone(), far).await;
    let received = chrono::Utc::now();
    let first = stored(id.clone()).await;
    assert!(
        first.updated <= received && first.published <= received,
        "a date in 9999 was believed: {first:?}"
    );
    let edit = at(chrono::Utc::now() + chrono::Duration::seconds(5));
    send(
        id.clone(),
        "Update",
        "Modification réelle",
        edit.clone(),
        edit,
    )
    .await;
    assert_eq!(stored(id.clone()).await.data.name, "Modification réelle");
    // Half an hour ahead is clock skew: kept as sent, and newer than the edit.
    let skewed = chrono::Utc::now() + chrono::Duration::minutes(30);
    send(
        id.clone(),
        "Update",
        "En avance d'une demi-heure",
        at(skewed),
        at(skewed),
    )
    .await;
    let last = stored(id.clone()).await;
    assert_eq!(last.data.name, "En avance d'une demi-heure");
    assert_eq!(last.updated.timestamp(), skewed.timestamp());
    // Three hours ahead is not believed: the time of receipt stands in, older than the
    // half-hour-ahead version, which stays.
    let ahead = at(chrono::Utc::now() + chrono::Duration::hours(3));
    send(
        id.clone(),
        "Update",
        "En avance de trois heures",
        ahead.clone(),
        ahead,
    )
    .await;
    let last = stored(id.clone()).await;
    assert_eq!(
        last.data.name, "En avance d'une demi-heure",
        "3 h ahead believed"
    );
    assert_eq!(last.updated.timestamp(), skewed.timestamp());

    // An `updated` before `published`: raised to `published`.
    let early = format!("{}/actions/modifiee-avant", lille.ap_id);
    let published = chrono::Utc::now() - chrono::Duration::days(2);
    send(
        early.clone(),
        "Create",
        "Modifiée avant d'être publiée",
        at(published),
        "2020-01-01T00:00:00Z".into(),
    )
    .await;
    let row = stored(early).await;
    assert_eq!(row.published.timestamp(), published.timestamp());
    assert_eq!(row.updated, row.published, "updated before published kept");

    // Rows stored before this rule, dated in the future: migration 0013 brings them
    // back to its time. Simulated by dating the rows and running it again.
    let store = &a.state.store;
    let future = match store {
        maillage::db::Store::Sqlite(_) => "'2090-01-01T00:00:00+00:00'",
        maillage::db::Store::Postgres(_) => "TIMESTAMPTZ '2090-01-01T00:00:00Z'",
    };
    for sql in [
        format!("UPDATE actions SET published = {future}, updated = {future} WHERE NOT local"),
        format!("UPDATE comments SET published = {future}, updated = {future} WHERE NOT local"),
        format!("UPDATE posts SET published = {future}, updated = {future}"),
        "DELETE FROM _sqlx_migrations WHERE version = 13".to_string(),
    ] {
        maillage::db::on_pool!(store, pool => {
            sqlx::query(sqlx::AssertSqlSafe(sql.clone())).execute(pool).await.unwrap();
        });
    }
    let before = chrono::Utc::now();
    let applied = store.migrate().await.unwrap();
    assert_eq!(applied.len(), 1, "{applied:?}");
    let after = chrono::Utc::now();
    let repaired = stored(id).await;
    for date in [repaired.published, repaired.updated] {
        assert!(
            date >= before - chrono::Duration::seconds(1) && date <= after,
            "not repaired: {repaired:?}"
        );
    }
    let ahead = match store {
        maillage::db::Store::Sqlite(_) => {
            "SELECT (SELECT COUNT(*) FROM actions WHERE published > '2030' OR updated > '2030') \
             + (SELECT COUNT(*) FROM comments WHERE published > '2030' OR updated > '2030') \
             + (SELECT COUNT(*) FROM posts WHERE published > '2030' OR updated > '2030')"
        }
        maillage::db::Store::Postgres(_) => {
            "SELECT (SELECT COUNT(*) FROM actions WHERE published > '2030-01-01' OR updated > '2030-01-01') \
             + (SELECT COUNT(*) FROM comments WHERE published > '2030-01-01' OR updated > '2030-01-01') \
             + (SELECT COUNT(*) FROM posts WHERE published > '2030-01-01' OR updated > '2030-01-01')"
        }
    };
    assert_eq!(count(&a, ahead).await, 0);
}

/// Group announces are bounded: an action of every theme in 40 départements is
/// announced by `aggregator.max_groups_per_action` groups at most, all followed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_announces_bounded() {
    let a = spawn_app_with(Engine::Sqlite, |s| s.aggregator.enabled = true)
        .await
        .unwrap();
    let b = spawn_app(Engine::Sqlite).await.unwrap();
    b.create_collectivite("lille", "59350").await;
    b.create_collectivite("roubaix", "59512").await;
    // The instance actor follows Lille (so its actions are kept) and Roubaix.
    let lille = b.actor("lille").await;
    let instance = a.state.instance_actor.id;
    fetched_and_followed(&a, &lille, instance).await;
    let roubaix_here = fetched_and_followed(&a, &b.actor("roubaix").await, instance).await;
    // Every theme, and one commune in each of 40 départements.
    let themes: Vec<String> = maillage::taxonomy::Taxonomy::global()
        .themes()
        .map(|t| t.slug.clone())
        .collect();
    let mut communes = Vec::new();
    for commune in maillage::referential::Referential::global().communes() {
        if communes.len() < 40
            && !communes
                .iter()
                .any(|(_, d, _): &(String, String, String)| *d == commune.departement)
        {
            communes.push((
                commune.insee.clone(),
                commune.departement.clone(),
                commune.region.clone(),
            ));
        }
    }
    // Each of these groups has a follower (Roubaix), so each would announce.
    let mut names: Vec<String> = themes.clone();
    for (_, departement, region) in &communes {
        names.push(format!("dep-{}", departement.to_lowercase()));
        names.push(format!("reg-{region}"));
    }
    names.sort();
    names.dedup();
    for name in &names {
        let (_, group) = maillage::federation::groups::group(&a.state, name)
            .await
            .unwrap();
        a.state
            .store
            .insert_follow(
                None,
                roubaix_here.id,
                group.id,
                maillage::db::follows::FollowState::Accepted,
            )
            .await
            .unwrap();
    }
    let id = format!("{}/actions/partout", lille.ap_id);
    let mut object = article(&id, lille.ap_id.as_str(), "Partout");
    object["mai:themes"] = json!(themes);
    object["location"] = json!(
        communes
            .iter()
            .map(|(insee, _, _)| json!({"type": "Place", "name": insee, "mai:insee": insee}))
            .collect::<Vec<_>>()
    );
    let create = json!({"@context": AS, "id": format!("{id}/create"), "type": "Create",
                        "actor": lille.ap_id, "object": object});
    let response = post_signed(
        &a.client,
        &a.url("/inbox"),
        &lille,
        create.to_string().as_bytes(),
        |_| {},
    )
    .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let announces = count(
        &a,
        "SELECT COUNT(*) FROM activities WHERE kind = 'Announce'",
    )
    .await;
    let most = a.state.settings.aggregator.max_groups_per_action as i64;
    assert!(names.len() as i64 > most, "{} groups", names.len());
    assert_eq!(announces, most);
}

//! Delivery and inbox figures on this machine (loopback only, bounded).
//!
//! `cargo run --release --example federation_bench -- [fanout|ingest|all]`
//!
//! - fanout: one collectivité with 200 followers on 50 hosts (4 per host, sharing each
//!   host's inbox) publishes 20 actions; 50 fake hosts verify every signature; we time
//!   the delivery worker until the queue is empty.
//! - ingest: a followed remote node's actor sends 2 000 signed `Create{Article}` to one
//!   node's shared inbox, 32 at a time; requests are signed before the clock starts.
//!
//! Everything runs in this one process on the same 2 cores: the figures include the
//! fake hosts' and the client's work.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use maillage::config::Settings;
use maillage::db::actors::RemoteActor;
use maillage::domain::{CollectiviteKind, NewCollectivite, Username};
use maillage::federation::delivery::DeliveryWorker;
use maillage::federation::signatures;
use maillage::startup::App;
use maillage::state::AppState;
use serde_json::json;

async fn node() -> (AppState, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut settings = Settings {
        domain: format!("localhost:{port}"),
        bind: format!("127.0.0.1:{port}"),
        ..Settings::default()
    };
    settings.database.url = format!("sqlite://{}", dir.path().join("bench.db").display());
    settings.federation.debug = true;
    // The ingest scenario floods one host on purpose: no rate limit.
    settings.limits.inbox_per_host_per_minute = 0;
    settings.delivery.workers = false;
    settings.delivery.per_host = 8;
    settings.log.level = "warn".into();
    let app = App::build_with_listener(settings, listener).await.unwrap();
    let state = app.state();
    tokio::spawn(async move { app.run_until_stopped(std::future::pending()).await });
    (state, format!("http://localhost:{port}"), dir)
}

async fn collectivite(
    state: &AppState,
    username: &str,
    insee: &str,
) -> maillage::domain::Collectivite {
    let body = maillage::api::collectivites::CollectiviteBody {
        username: Some(username.into()),
        insee: Some(insee.into()),
        ..Default::default()
    };
    maillage::service::collectivites::create_collectivite(state, body.into_profile().unwrap())
        .await
        .unwrap()
}

#[derive(Clone)]
struct FakeHost {
    key: Arc<rsa::RsaPublicKey>,
    received: Arc<AtomicUsize>,
    refused: Arc<AtomicUsize>,
}

async fn fake_inbox(State(host): State<FakeHost>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let ok = (|| {
        let digest = headers.get("digest")?.to_str().ok()?;
        signatures::verify_digest(digest, &body).ok()?;
        let signature = signatures::SignatureHeader::from_request_headers(&headers).ok()?;
        signatures::verify_with_key(
            "POST",
            "/inbox",
            &headers,
            &signature,
            &host.key,
            &signatures::POST_POLICY,
            chrono::Utc::now(),
        )
        .ok()
    })();
    if ok.is_some() {
        host.received.fetch_add(1, Ordering::Relaxed);
        StatusCode::ACCEPTED
    } else {
        host.refused.fetch_add(1, Ordering::Relaxed);
        StatusCode::UNAUTHORIZED
    }
}

fn remote_profile(username: &str) -> NewCollectivite {
    NewCollectivite {
        username: Username::parse(username).unwrap(),
        name: username.into(),
        summary: None,
        kind: CollectiviteKind::Autre,
        insee: None,
        siren: None,
        epci_siren: None,
        departement: None,
        region: None,
        population: None,
        location: None,
        address: None,
        website: None,
        icon: None,
        labels: Vec::new(),
    }
}

async fn fanout() {
    const HOSTS: usize = 50;
    const PER_HOST: usize = 4;
    const ACTIONS: usize = 20;
    let (state, _base, _dir) = node().await;
    let owner = collectivite(&state, "marcq", "59378").await;
    let key = Arc::new(signatures::parse_public_key(&owner.public_key_pem).unwrap());
    let received = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let pem = owner.public_key_pem.clone();
    for h in 0..HOSTS {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let host = FakeHost {
            key: key.clone(),
            received: received.clone(),
            refused: refused.clone(),
        };
        let app = Router::new()
            .route("/inbox", post(fake_inbox))
            .with_state(host);
        tokio::spawn(async move { axum::serve(listener, app).await });
        let domain = format!("localhost:{port}");
        for f in 0..PER_HOST {
            let id: url::Url = format!("http://{domain}/users/f{h}x{f}").parse().unwrap();
            let inbox: url::Url = format!("http://{domain}/users/f{h}x{f}/inbox")
                .parse()
                .unwrap();
            let shared: url::Url = format!("http://{domain}/inbox").parse().unwrap();
            let follower = state
                .store
                .upsert_remote_actor(
                    RemoteActor {
                        actor_type: "Person",
                        ap_id: &id,
                        domain: &domain,
                        inbox: &inbox,
                        shared_inbox: Some(&shared),
                        public_key_pem: &pem,
                    },
                    &remote_profile(&format!("f{h}x{f}")),
                )
                .await
                .unwrap();
            state
                .store
                .insert_follow(None, follower.id, owner.id, "accepted")
                .await
                .unwrap();
        }
    }
    for i in 0..ACTIONS {
        let body = maillage::api::actions::ActionBody {
            name: Some(format!("Action {i}")),
            content: Some("Une action numérique de la ville.".into()),
            themes: Some(vec!["culture".into()]),
            ..Default::default()
        };
        maillage::service::actions::create_action(&state, &owner, body.try_into().unwrap())
            .await
            .unwrap();
    }
    let expected = HOSTS * ACTIONS;
    let worker = DeliveryWorker::new(state.clone());
    let start = Instant::now();
    let processed = worker.drain().await.unwrap();
    let elapsed = start.elapsed();
    let counts = state.store.delivery_counts().await.unwrap();
    println!(
        "fanout: {ACTIONS} actions × {} followers on {HOSTS} hosts = {processed} signed deliveries (one per shared inbox) in {:.2} s → {:.0} deliveries/s; verified by hosts: {}, refused: {}, queue: {:?}",
        HOSTS * PER_HOST,
        elapsed.as_secs_f64(),
        processed as f64 / elapsed.as_secs_f64(),
        received.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
        counts
    );
    assert_eq!(processed, expected);
}

async fn ingest() {
    const N: usize = 2000;
    const CONCURRENCY: usize = 32;
    let (a, a_base, _da) = node().await;
    let (b, _b_base, _db) = node().await;
    let marcq = collectivite(&a, "marcq", "59378").await;
    let lille = collectivite(&b, "lille", "59350").await;
    // A follows B's Lille (accepted), so B's Creates are stored as remote actions.
    let config = maillage::federation::federation_config(a.clone())
        .await
        .unwrap();
    let data = config.to_request_data();
    let remote: activitypub_federation::fetch::object_id::ObjectId<
        maillage::db::actors::ActorRecord,
    > = lille.ap_id.clone().into();
    let remote = remote.dereference(&data).await.unwrap();
    a.store
        .insert_follow(None, marcq.id, remote.id, "accepted")
        .await
        .unwrap();
    let key = signatures::parse_private_key(lille.private_key_pem.as_deref().unwrap()).unwrap();
    let inbox: url::Url = format!("{a_base}/inbox").parse().unwrap();
    let key_id = format!("{}#main-key", lille.ap_id);
    let requests: Vec<(HeaderMap, Vec<u8>)> = (0..N)
        .map(|i| {
            let object = format!("{}/actions/bench-{i}", b.base);
            let body = serde_json::to_vec(&json!({
                "@context": ["https://www.w3.org/ns/activitystreams", {"mai": "https://w3id.org/maillage/ns#"}],
                "id": format!("{}/activities/bench-{i}", b.base),
                "type": "Create",
                "actor": lille.ap_id,
                "object": {
                    "id": object, "type": "Article", "attributedTo": lille.ap_id,
                    "name": format!("Action {i}"), "summary": "Une action.", "content": "<p>Texte</p>",
                    "mai:themes": ["culture"], "mai:phase": "service",
                },
            }))
            .unwrap();
            let headers = signatures::sign_request("POST", &inbox, Some(&body), &key_id, &key, chrono::Utc::now()).unwrap();
            (headers, body)
        })
        .collect();
    let client = reqwest::Client::new();
    let queue = Arc::new(std::sync::Mutex::new(requests));
    let latencies = Arc::new(std::sync::Mutex::new(Vec::with_capacity(N)));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (queue, latencies, client, inbox) = (
            queue.clone(),
            latencies.clone(),
            client.clone(),
            inbox.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let Some((headers, body)) = queue.lock().unwrap().pop() else {
                    break;
                };
                let sent = Instant::now();
                let response = client
                    .post(inbox.as_str())
                    .headers(headers)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::ACCEPTED);
                latencies.lock().unwrap().push(sent.elapsed());
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = start.elapsed();
    let mut latencies = latencies.lock().unwrap().clone();
    latencies.sort();
    let p = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    let stored = a.store.count_actions_of(remote.id).await.unwrap();
    println!(
        "ingest: {N} signed Create{{Article}} at concurrency {CONCURRENCY} in {:.2} s → {:.0} activities/s applied; p50 {:.1} ms, p99 {:.1} ms; remote actions stored: {stored}",
        elapsed.as_secs_f64(),
        N as f64 / elapsed.as_secs_f64(),
        p(0.5).as_secs_f64() * 1000.0,
        p(0.99).as_secs_f64() * 1000.0,
    );
    assert_eq!(stored as usize, N);
    let _ = Duration::ZERO;
}

#[tokio::main]
async fn main() {
    maillage::telemetry::init(&maillage::config::LogSettings {
        format: "text".into(),
        level: "error".into(),
    });
    let scenario = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    if matches!(scenario.as_str(), "fanout" | "all") {
        fanout().await;
    }
    if matches!(scenario.as_str(), "ingest" | "all") {
        ingest().await;
    }
}

//! Scale-out on PostgreSQL (SPEC §8): two HTTP servers without workers and two
//! `maillage worker` processes share one database; every delivery is made exactly
//! once, and both workers take part (the queue is claimed with `FOR UPDATE SKIP
//! LOCKED`). Throughput per worker count is measured by `maillage-bench`, not here.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use maillage::activitypub::signatures;
use maillage::db::actors::RemoteActor;
use serde_json::Value;

use crate::helpers::{Engine, TestApp, sample_action, say_skipped, spawn_app_with, wait_until};

/// Activities received per (host, activity id).
type Received = Arc<Mutex<HashMap<(String, String), u32>>>;

#[derive(Clone)]
struct Inbox {
    host: String,
    key: Arc<std::sync::OnceLock<signatures::VerifyingKey>>,
    received: Received,
}

async fn inbox(State(inbox): State<Inbox>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let Some(key) = inbox.key.get() else {
        return StatusCode::SERVICE_UNAVAILABLE;
    };
    let header = signatures::SignatureHeader::from_request_headers(&headers).unwrap();
    let digest = headers["digest"].to_str().unwrap();
    if signatures::verify_digest(digest, &body).is_err()
        || signatures::verify_with_key(
            "POST",
            "/inbox",
            &headers,
            &header,
            key,
            &signatures::POST_POLICY,
            chrono::Utc::now(),
        )
        .is_err()
    {
        return StatusCode::UNAUTHORIZED;
    }
    let activity: Value = serde_json::from_slice(&body).unwrap();
    let id = activity["id"].as_str().unwrap().to_string();
    *inbox
        .received
        .lock()
        .unwrap()
        .entry((inbox.host.clone(), id))
        .or_default() += 1;
    StatusCode::ACCEPTED
}

/// A `maillage worker` process on the node's database.
fn worker(app: &TestApp) -> Child {
    Command::new(env!("CARGO_BIN_EXE_maillage"))
        .arg("worker")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MAILLAGE_DOMAIN", &app.domain)
        .env("MAILLAGE_DATABASE__URL", &app.state.settings.database.url)
        .env("MAILLAGE_FEDERATION__DEBUG", "true")
        .env("MAILLAGE_FEDERATION__ALLOW_PRIVATE_ADDRESSES", "true")
        .env("MAILLAGE_DELIVERY__BATCH", "4")
        .env(
            "MAILLAGE_LOG__LEVEL",
            "warn,maillage::federation::delivery=debug",
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("maillage worker")
}

fn stop(child: Child) -> String {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let output = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_two_workers_deliver_exactly_once() {
    let Some(a) = spawn_app_with(Engine::Postgres, |s| s.delivery.workers = false).await else {
        say_skipped("two_servers_two_workers_deliver_exactly_once");
        return;
    };
    // The second server: same database and domain (behind one reverse proxy), no workers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let b_port = listener.local_addr().unwrap().port();
    let mut b_settings = a.state.settings.clone();
    b_settings.bind = format!("127.0.0.1:{b_port}");
    let b = maillage::startup::App::build_with_listener(b_settings, listener)
        .await
        .unwrap();
    tokio::spawn(b.run_until_stopped(std::future::pending()));

    // Five remote hosts, two followers each, sharing the host's inbox.
    let marcq = a.collectivite_with_token("marcq", "59378").await;
    let local = a.actor("marcq").await;
    let key: Arc<std::sync::OnceLock<signatures::VerifyingKey>> = Arc::default();
    key.set(signatures::VerifyingKey::from_pem(&local.public_key_pem).unwrap())
        .unwrap();
    let received = Received::default();
    let remote_key = maillage::service::keys::generate_keypair().await.unwrap();
    const HOSTS: usize = 5;
    for h in 0..HOSTS {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let host = format!("localhost:{}", listener.local_addr().unwrap().port());
        let router = axum::Router::new()
            .route("/inbox", axum::routing::post(inbox))
            .with_state(Inbox {
                host: host.clone(),
                key: key.clone(),
                received: received.clone(),
            });
        tokio::spawn(async move { axum::serve(listener, router).await });
        let shared: url::Url = format!("http://{host}/inbox").parse().unwrap();
        for f in 0..2 {
            let id: url::Url = format!("http://{host}/actors/f{h}x{f}").parse().unwrap();
            let profile = maillage::domain::NewCollectivite::named(
                maillage::domain::Username::parse(&format!("f{h}x{f}")).unwrap(),
                format!("Suiveuse {h}-{f}"),
            );
            let follower = a
                .state
                .store
                .upsert_remote_actor(
                    RemoteActor {
                        actor_type: "Organization",
                        ap_id: &id,
                        domain: &host,
                        inbox: &shared,
                        shared_inbox: Some(&shared),
                        public_key_pem: &remote_key.public_key,
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
                    local.id,
                    maillage::db::follows::FollowState::Accepted,
                )
                .await
                .unwrap();
        }
    }

    // Actions published through both servers, then two workers deliver them.
    const ACTIONS: usize = 20;
    for i in 0..ACTIONS {
        let server = if i % 2 == 0 {
            a.base.clone()
        } else {
            format!("http://localhost:{b_port}")
        };
        let mut body = sample_action();
        body["name"] = format!("Action partagée n° {i}").into();
        let response = a
            .client
            .post(format!("{server}/api/v1/collectivites/marcq/actions"))
            .bearer_auth(&marcq)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "server {server}");
    }
    let workers = [worker(&a), worker(&a)];
    let expected = ACTIONS * HOSTS;
    wait_until("every delivery made", || {
        let received = received.clone();
        async move { received.lock().unwrap().len() >= expected }
    })
    .await;
    wait_until("the queue empty", || async {
        a.state.store.delivery_counts().await.unwrap().pending == 0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let [first, second] = workers;
    let logs = [stop(first), stop(second)];

    let received = received.lock().unwrap().clone();
    assert_eq!(
        received.len(),
        expected,
        "one delivery per host and activity"
    );
    let repeated: Vec<_> = received.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.is_empty(),
        "delivered more than once: {repeated:?}"
    );
    let counts: Vec<usize> = logs
        .iter()
        .map(|log| log.lines().filter(|l| l.contains("delivered")).count())
        .collect();
    assert_eq!(counts.iter().sum::<usize>(), expected, "{counts:?}");
    let queue = a.state.store.delivery_counts().await.unwrap();
    assert_eq!((queue.done, queue.failed), (expected as i64, 0));
    assert!(
        counts.iter().all(|n| *n > 0),
        "both workers delivered: {counts:?}"
    );
}

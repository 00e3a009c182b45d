//! Crash safety and graceful shutdown: a real `maillage serve` process is killed with
//! SIGKILL, or stopped with SIGTERM, while deliveries are pending; SIGTERM ends it
//! cleanly within a bound; after a restart every follower receives every activity,
//! once.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Engine, spawn_app, wait_until};

fn start_node(dir: &Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_maillage"))
        .arg("serve")
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MAILLAGE_DOMAIN", format!("localhost:{port}"))
        .env("MAILLAGE_BIND", format!("127.0.0.1:{port}"))
        .env("MAILLAGE_FEDERATION__DEBUG", "true")
        .env("MAILLAGE_DELIVERY__POLL_INTERVAL_MS", "50")
        .env("MAILLAGE_LOG__LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start maillage serve")
}

fn cli(dir: &Path, port: u16, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_maillage"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("MAILLAGE_DOMAIN", format!("localhost:{port}"))
        .env("MAILLAGE_FEDERATION__DEBUG", "true")
        .env("MAILLAGE_LOG__LEVEL", "warn")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

async fn wait_ready(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await {
            if response.status() == StatusCode::OK {
                return;
            }
        }
        assert!(Instant::now() < deadline, "node did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn pending_attempted(db: &sqlx::SqlitePool) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE state = 'pending' AND attempts >= 1")
        .fetch_one(db)
        .await
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_delivery() {
    stop_loses_no_delivery(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_cleanly_and_loses_no_delivery() {
    stop_loses_no_delivery(true).await;
}

/// Stops `node` with SIGTERM and waits for it: it must exit successfully within 20 s.
fn terminate(node: &mut Child) -> Duration {
    let started = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &node.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(status.success());
    loop {
        if let Some(exit) = node.try_wait().unwrap() {
            assert!(
                exit.success(),
                "maillage serve exited with {exit} on SIGTERM"
            );
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "maillage serve still running 20 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn stop_loses_no_delivery(graceful: bool) {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://localhost:{port}");
    cli(dir.path(), port, &["migrate"]);
    cli(
        dir.path(),
        port,
        &[
            "collectivite",
            "create",
            "--username",
            "marcq",
            "--insee",
            "59378",
        ],
    );
    let token = cli(
        dir.path(),
        port,
        &["token", "create", "--collectivite", "marcq"],
    )
    .lines()
    .last()
    .unwrap()
    .to_string();
    let client = reqwest::Client::new();
    let mut node = start_node(dir.path(), port);
    wait_ready(&client, &base).await;

    // B follows A; A's own worker delivers the Accept.
    let mut b = spawn_app(Engine::Sqlite).await.unwrap();
    let lille = b.collectivite_with_token("lille", "59350").await;
    let response = b
        .client
        .post(b.url("/api/v1/collectivites/lille/follows"))
        .bearer_auth(&lille)
        .json(&json!({"target": format!("acct:marcq@localhost:{port}")}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(b.drain().await, 1);
    let lille_actor = b.actor("lille").await;
    wait_until("the Accept from the real process", || {
        let store = b.state.store.clone();
        let id = lille_actor.id;
        async move { store.count_following(id).await.unwrap() == 1 }
    })
    .await;

    // B goes down; A publishes five actions; their deliveries fail and stay queued.
    b.stop().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let response = client
            .post(format!("{base}/api/v1/collectivites/marcq/actions"))
            .bearer_auth(&token)
            .json(
                &json!({"name": format!("Action {i}"), "content": "Texte", "themes": ["culture"]}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: serde_json::Value = response.json().await.unwrap();
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("maillage.db").display()
    ))
    .await
    .unwrap();
    wait_until("five failed attempts recorded", || {
        let db = db.clone();
        async move { pending_attempted(&db).await == 5 }
    })
    .await;

    if graceful {
        // SIGTERM: in-flight work ends, the rest stays queued.
        let took = terminate(&mut node);
        eprintln!(
            "maillage serve stopped {} ms after SIGTERM",
            took.as_millis()
        );
        assert_eq!(
            pending_attempted(&db).await,
            5,
            "still queued after a clean stop"
        );
    } else {
        // SIGKILL: no chance to clean up.
        node.kill().unwrap();
        node.wait().unwrap();
    }

    // Both come back; B writes to A, which revives B's domain at once.
    b.restart().await;
    let mut node = start_node(dir.path(), port);
    wait_ready(&client, &base).await;
    let like = serde_json::to_vec(&json!({
        "id": b.url("/activities/bonjour"), "type": "Like",
        "actor": lille_actor.ap_id, "object": ids[0],
    }))
    .unwrap();
    let response = crate::helpers::post_signed(
        &client,
        &format!("{base}/inbox"),
        &lille_actor,
        &like,
        |_| {},
    )
    .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    for id in &ids {
        let id = id.clone();
        wait_until("every action delivered after the crash", || {
            let store = b.state.store.clone();
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
    }
    wait_until("A's queue empty", || {
        let db = db.clone();
        async move {
            let pending: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE state <> 'done'")
                    .fetch_one(&db)
                    .await
                    .unwrap_or(1);
            pending == 0
        }
    })
    .await;
    // Each Create was applied once: five remote actions, five recorded activities.
    let marcq_remote = b
        .state
        .store
        .collectivite_by_ap_id(&format!("{base}/actors/marcq").parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        b.state
            .store
            .count_actions_of(marcq_remote.id)
            .await
            .unwrap(),
        5
    );
    let creates: i64 = match &b.state.store {
        maillage::db::Store::Sqlite(pool) => sqlx::query_scalar(
            "SELECT COUNT(*) FROM received_activities WHERE ap_id LIKE '%/activities/%'",
        )
        .fetch_one(pool)
        .await
        .unwrap(),
        maillage::db::Store::Postgres(_) => unreachable!(),
    };
    assert_eq!(
        creates, 6,
        "the Accept and five Creates, each recorded once"
    );
    node.kill().unwrap();
    node.wait().unwrap();
}

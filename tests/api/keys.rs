//! Signing keys of remote actors: a rotated key is fetched again and verifies; bad
//! signatures do not make the node fetch an actor more than once a minute, nor a
//! failed fetch repeat within a minute.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Engine, post_signed_with, spawn_app};

#[derive(Clone, Default)]
struct Remote {
    public_pem: Arc<Mutex<String>>,
    fetches: Arc<AtomicUsize>,
    base: Arc<Mutex<String>>,
}

async fn actor(State(remote): State<Remote>) -> impl axum::response::IntoResponse {
    remote.fetches.fetch_add(1, Ordering::SeqCst);
    let base = remote.base.lock().unwrap().clone();
    let id = format!("{base}/actors/ville");
    (
        [("content-type", "application/activity+json")],
        json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": id, "type": "Organization", "preferredUsername": "ville",
            "inbox": format!("{id}/inbox"),
            "publicKey": {"id": format!("{id}#main-key"), "owner": id,
                          "publicKeyPem": remote.public_pem.lock().unwrap().clone()},
        })
        .to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_keys_verify_and_bad_signatures_do_not_hammer() {
    let app = spawn_app(Engine::Sqlite).await.unwrap();
    let old = maillage::service::keys::generate_keypair().await.unwrap();
    let new = maillage::service::keys::generate_keypair().await.unwrap();
    let remote = Remote::default();
    *remote.public_pem.lock().unwrap() = old.public_key.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    *remote.base.lock().unwrap() = base.clone();
    let down = Arc::new(AtomicUsize::new(0));
    let down_counter = down.clone();
    let router = axum::Router::new()
        .route("/actors/ville", axum::routing::get(actor))
        .route(
            "/actors/en-panne",
            axum::routing::get(move || {
                down_counter.fetch_add(1, Ordering::SeqCst);
                async { StatusCode::SERVICE_UNAVAILABLE }
            }),
        )
        .with_state(remote.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });

    let key_id = format!("{base}/actors/ville#main-key");
    let inbox = app.url("/inbox");
    let send = |pem: String, n: u32| {
        let (client, inbox, key_id, base) = (
            app.client.clone(),
            inbox.clone(),
            key_id.clone(),
            base.clone(),
        );
        async move {
            let body = json!({"@context": "https://www.w3.org/ns/activitystreams",
                "id": format!("{base}/activities/{n}"), "type": "Like",
                "actor": format!("{base}/actors/ville"), "object": "https://ailleurs.example/a"});
            post_signed_with(
                &client,
                &inbox,
                &key_id,
                &pem,
                body.to_string().as_bytes(),
                |_| {},
            )
            .await
            .status()
        }
    };

    assert_eq!(send(old.private_key.clone(), 1).await, StatusCode::ACCEPTED);
    assert_eq!(remote.fetches.load(Ordering::SeqCst), 1, "fetched once");
    // Forged signatures (another key) right after: refused, and no fetch storm.
    for n in 2..12 {
        assert_eq!(
            send(new.private_key.clone(), n).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        remote.fetches.load(Ordering::SeqCst),
        1,
        "an actor fetched less than a minute ago is not fetched again"
    );

    // The actor rotates its key; once the stored copy is over a minute old, a signature
    // with the new key makes the node fetch the actor again, and it verifies.
    *remote.public_pem.lock().unwrap() = new.public_key.clone();
    let database = app.state.settings.database.url.clone();
    let pool = sqlx::SqlitePool::connect(&database).await.unwrap();
    sqlx::query("UPDATE actors SET last_refreshed_at = $1 WHERE ap_id = $2")
        .bind(chrono::Utc::now() - chrono::Duration::minutes(5))
        .bind(format!("{base}/actors/ville"))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(
        send(new.private_key.clone(), 20).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(remote.fetches.load(Ordering::SeqCst), 2);
    // The old key no longer verifies, and does not cause another fetch.
    assert_eq!(
        send(old.private_key.clone(), 21).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(remote.fetches.load(Ordering::SeqCst), 2);
}

//! RFC 9421 HTTP Message Signatures between real nodes (issue 16): a delivery signed with
//! RFC 9421 is accepted and makes the receiver sign back that way; forgeries are refused
//! with a French `401` problem; a host that refuses draft-cavage with `401` gets the same
//! delivery again at once signed with RFC 9421 (the double-knock), and that choice is
//! stored, so a restarted node signs with RFC 9421 on the first knock.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use maillage::activitypub::signatures::{self, RequestSignature, RequestTarget};
use maillage::federation::signing::{HostSignatures, Style};
use serde_json::{Value, json};

use crate::both_engines;
use crate::helpers::{TestApp, assert_problem, spawn_app};

both_engines!(
    rfc9421_delivery_is_accepted_and_answered_in_kind,
    forged_rfc9421_deliveries_are_refused,
    double_knock_is_remembered_across_a_restart,
);

/// A Follow from `follower` (on `b`) of `marcq` on `a`, signed RFC 9421 by `follower`.
fn follow(a: &TestApp, follower: &str, n: u32) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{follower}#follows/{n}"),
        "type": "Follow",
        "actor": follower,
        "object": a.url("/actors/marcq"),
    }))
    .unwrap()
}

async fn post_rfc9421(
    client: &reqwest::Client,
    inbox: &str,
    key_id: &str,
    key_pem: &str,
    body: &[u8],
    tweak: impl FnOnce(&mut reqwest::header::HeaderMap),
) -> reqwest::Response {
    crate::helpers::post_signed_as(Style::Rfc9421, client, inbox, key_id, key_pem, body, tweak)
        .await
}

async fn style_of(app: &TestApp, domain: &str) -> (Option<String>, Option<String>) {
    let styles = app.state.store.instance_signature_styles().await.unwrap();
    styles
        .into_iter()
        .find(|(d, ..)| d == domain)
        .map_or((None, None), |(_, style, reason, _)| (Some(style), reason))
}

async fn rfc9421_delivery_is_accepted_and_answered_in_kind(a: TestApp) {
    let b = spawn_app(a.engine).await.unwrap();
    a.create_collectivite("marcq", "59378").await;
    b.create_collectivite("lille", "59350").await;
    let lille = b.actor("lille").await;
    let follower = lille.ap_id.to_string();
    assert_eq!(style_of(&a, &b.domain).await.0, None, "nothing known yet");

    let response = post_rfc9421(
        &a.client,
        &a.url("/inbox"),
        &format!("{follower}#main-key"),
        lille.private_key_pem.as_deref().unwrap(),
        &follow(&a, &follower, 1),
        |_| {},
    )
    .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let marcq = a.actor("marcq").await;
    assert_eq!(a.state.store.count_followers(marcq.id).await.unwrap(), 1);
    let (style, reason) = style_of(&a, &b.domain).await;
    assert_eq!(
        style.as_deref(),
        Some("rfc9421"),
        "A learnt that B speaks RFC 9421"
    );
    assert!(reason.unwrap().contains("RFC 9421"));

    // A's Accept goes out signed RFC 9421 and B's verifier takes it (B in turn learns
    // that A speaks RFC 9421, which only a valid RFC 9421 signature teaches).
    assert_eq!(a.drain().await, 1);
    let counts = a.state.store.delivery_counts().await.unwrap();
    assert_eq!(
        (counts.done, counts.failed),
        (1, 0),
        "{}",
        a.deliveries().await
    );
    assert_eq!(
        style_of(&b, &a.domain).await.0.as_deref(),
        Some("rfc9421"),
        "B verified A's RFC 9421 Accept"
    );
}

async fn forged_rfc9421_deliveries_are_refused(a: TestApp) {
    let b = spawn_app(a.engine).await.unwrap();
    a.create_collectivite("marcq", "59378").await;
    b.create_collectivite("lille", "59350").await;
    b.create_collectivite("roubaix", "59512").await;
    let lille = b.actor("lille").await;
    let roubaix = b.actor("roubaix").await;
    let follower = lille.ap_id.to_string();
    let key_id = format!("{follower}#main-key");
    let lille_pem = lille.private_key_pem.as_deref().unwrap();
    let inbox = a.url("/inbox");

    // Lille's key id, Roubaix's key.
    let response = post_rfc9421(
        &a.client,
        &inbox,
        &key_id,
        roubaix.private_key_pem.as_deref().unwrap(),
        &follow(&a, &follower, 1),
        |_| {},
    )
    .await;
    let problem = assert_problem(response, StatusCode::UNAUTHORIZED).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("signature refusée"),
        "{problem}"
    );

    // Another body under Lille's signature: its Content-Digest does not match.
    let response = post_rfc9421(
        &a.client,
        &inbox,
        &key_id,
        lille_pem,
        &follow(&a, &follower, 2),
        |headers| {
            let other = signatures::content_digest_header(b"{}");
            headers.insert("content-digest", other.parse().unwrap());
        },
    )
    .await;
    let problem = assert_problem(response, StatusCode::UNAUTHORIZED).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("Content-Digest invalide"),
        "{problem}"
    );

    // No Content-Digest at all.
    let response = post_rfc9421(
        &a.client,
        &inbox,
        &key_id,
        lille_pem,
        &follow(&a, &follower, 3),
        |headers| {
            headers.remove("content-digest");
        },
    )
    .await;
    let problem = assert_problem(response, StatusCode::UNAUTHORIZED).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("Content-Digest requis"),
        "{problem}"
    );

    // A signature that does not cover content-digest (a GET's signature on a POST).
    let key = signatures::SigningKey::from_pem(lille_pem).unwrap();
    let url: url::Url = inbox.parse().unwrap();
    let get =
        signatures::sign_request_rfc9421("POST", &url, None, &key_id, &key, chrono::Utc::now())
            .unwrap();
    let body = follow(&a, &follower, 4);
    let response = a
        .client
        .post(&inbox)
        .headers(get)
        .header("content-digest", signatures::content_digest_header(&body))
        .body(body)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, StatusCode::UNAUTHORIZED).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("content-digest"),
        "{problem}"
    );

    // Signed an hour and a half ago.
    let old = chrono::Utc::now() - chrono::Duration::minutes(90);
    let body = follow(&a, &follower, 5);
    let stale =
        signatures::sign_request_rfc9421("POST", &url, Some(&body), &key_id, &key, old).unwrap();
    let response = a
        .client
        .post(&inbox)
        .headers(stale)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::UNAUTHORIZED).await;

    let marcq = a.actor("marcq").await;
    assert_eq!(a.state.store.count_followers(marcq.id).await.unwrap(), 0);
    assert_eq!(
        style_of(&a, &b.domain).await.0,
        None,
        "nothing learnt from forgeries"
    );
}

/// A peer that refuses draft-cavage with `401` and verifies RFC 9421 with the keys it
/// knows; it records what it got and what it answered.
#[derive(Clone, Default)]
struct Stub {
    keys: Arc<Mutex<Vec<(String, String)>>>,
    seen: Arc<Mutex<Vec<(String, u16)>>>,
    actor: Arc<Mutex<Value>>,
    authority: Arc<Mutex<String>>,
}

async fn stub_actor(State(stub): State<Stub>) -> impl axum::response::IntoResponse {
    (
        [("content-type", "application/activity+json")],
        stub.actor.lock().unwrap().to_string(),
    )
}

async fn stub_inbox(State(stub): State<Stub>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let status = (|| {
        let signature = RequestSignature::from_request_headers(&headers).ok()?;
        if !signature.is_rfc9421() {
            return None;
        }
        let key_id = match &signature {
            RequestSignature::Rfc9421(s) => s.key_id.clone(),
            RequestSignature::Cavage(_) => return None,
        };
        let pem = stub
            .keys
            .lock()
            .unwrap()
            .iter()
            .find(|(id, _)| *id == key_id)?
            .1
            .clone();
        let key = signatures::VerifyingKey::from_pem(&pem).ok()?;
        let authority = stub.authority.lock().unwrap().clone();
        let target = RequestTarget {
            method: "POST",
            scheme: "http",
            authority: &authority,
            path_and_query: "/inbox",
        };
        signature
            .verify(
                &target,
                &headers,
                &key,
                &signatures::POST_POLICY,
                chrono::Utc::now(),
            )
            .ok()?;
        let digest = headers.get("content-digest")?.to_str().ok()?;
        signatures::verify_content_digest(digest, &body).ok()?;
        Some(StatusCode::ACCEPTED)
    })()
    .unwrap_or(StatusCode::UNAUTHORIZED);
    let kind = if headers.contains_key("signature-input") {
        "rfc9421"
    } else {
        "draft-cavage"
    };
    stub.seen
        .lock()
        .unwrap()
        .push((kind.to_string(), status.as_u16()));
    status
}

async fn double_knock_is_remembered_across_a_restart(a: TestApp) {
    let token = a.collectivite_with_token("marcq", "59378").await;
    let marcq = a.actor("marcq").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let authority = format!("localhost:{port}");
    let stub_id = format!("http://{authority}/users/stub");
    let pair = maillage::service::keys::generate_keypair().await.unwrap();
    let stub = Stub::default();
    *stub.authority.lock().unwrap() = authority.clone();
    *stub.actor.lock().unwrap() = json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": stub_id,
        "type": "Person",
        "preferredUsername": "stub",
        "inbox": format!("http://{authority}/inbox"),
        "publicKey": {"id": format!("{stub_id}#main-key"), "owner": stub_id,
                      "publicKeyPem": pair.public_key},
    });
    stub.keys.lock().unwrap().push((
        format!("{}#main-key", marcq.ap_id),
        marcq.public_key_pem.clone(),
    ));
    let router = axum::Router::new()
        .route("/users/stub", get(stub_actor))
        .route("/inbox", post(stub_inbox))
        .with_state(stub.clone());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    // The stub follows Marcq with a draft-cavage signature: Maillage takes both kinds.
    let body = serde_json::to_vec(&json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{stub_id}#follows/1"),
        "type": "Follow",
        "actor": stub_id,
        "object": marcq.ap_id,
    }))
    .unwrap();
    let response = crate::helpers::post_signed_with(
        &a.client,
        &a.url("/inbox"),
        &format!("{stub_id}#main-key"),
        &pair.private_key,
        &body,
        |_| {},
    )
    .await;
    let status = response.status();
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "{}",
        response.text().await.unwrap()
    );

    // The Accept: draft-cavage first (the default), refused with 401, sent again at once
    // with RFC 9421, accepted; one delivery, done.
    assert_eq!(a.drain().await, 1);
    let counts = a.state.store.delivery_counts().await.unwrap();
    assert_eq!(
        (counts.done, counts.failed),
        (1, 0),
        "{}",
        a.deliveries().await
    );
    assert_eq!(
        *stub.seen.lock().unwrap(),
        [
            ("draft-cavage".to_string(), 401),
            ("rfc9421".to_string(), 202)
        ]
    );
    let (style, reason) = style_of(&a, &authority).await;
    assert_eq!(style.as_deref(), Some("rfc9421"));
    assert!(reason.unwrap().contains("401"));
    // `maillage queue status` shows it.
    let out = crate::cli::ok(crate::cli_admin::cli(&a, &["queue", "status"], None).await);
    assert!(out.contains(&format!("{authority}\trfc9421")), "{out}");

    // A node started afresh on the same database (new state, empty caches) reads the
    // choice back and signs its next delivery RFC 9421 on the first knock.
    let fresh = maillage::state::AppState::new(
        a.state.settings.clone(),
        a.state.store.clone(),
        a.state.instance_actor.clone(),
    )
    .unwrap();
    assert_eq!(
        HostSignatures::default()
            .style(&fresh.store, &authority)
            .await,
        Style::Rfc9421
    );
    let action = a
        .publish("marcq", &token, &crate::helpers::sample_action())
        .await;
    assert!(action["id"].is_string());
    let done = maillage::federation::delivery::DeliveryWorker::new(fresh)
        .drain()
        .await
        .unwrap();
    assert_eq!(done, 1, "{}", a.deliveries().await);
    assert_eq!(
        stub.seen.lock().unwrap()[2..],
        [("rfc9421".to_string(), 202)],
        "first knock RFC 9421, no 401"
    );
    server.abort();
}

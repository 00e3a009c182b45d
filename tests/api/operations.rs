//! Operations endpoints (SPEC §9): health, readiness and Prometheus metrics.

use reqwest::StatusCode;

use crate::both_engines;
use crate::helpers::TestApp;

both_engines!(health_and_metrics);

async fn health_and_metrics(app: TestApp) {
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    // Each request gets a request id (in the logs and the response); a client's is kept.
    let id = health.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let traced = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "essai-42")
        .send()
        .await
        .unwrap();
    assert_eq!(traced.headers()["x-request-id"], "essai-42");
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    // An unsigned activity: refused (401) and counted.
    let refused = app
        .client
        .post(app.url("/inbox"))
        .header("content-type", "application/activity+json")
        .body(r#"{"id": "https://x.example/1", "type": "Like", "actor": "https://x.example/u"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    // The test client is on loopback: metrics are served.
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.unwrap();
    for expected in [
        r#"maillage_http_requests_total{route="/healthz",method="GET",status="200"}"#,
        r#"maillage_http_request_duration_seconds_bucket{route="/healthz""#,
        r#"maillage_inbox_activities_total{outcome="refused",status="401"}"#,
        r#"maillage_deliveries{state="pending"}"#,
        "maillage_oldest_pending_delivery_age_seconds",
        "maillage_unreachable_instances",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
}

/// A flood from one host is cut at the configured rate with `429` and `Retry-After`,
/// before any signature work; other hosts are not affected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbox_rate_limit_per_host() {
    let app = crate::helpers::spawn_app_with(crate::helpers::Engine::Sqlite, |s| {
        s.limits.inbox_per_host_per_minute = 3;
    })
    .await
    .unwrap();
    let post = |host: &'static str| {
        let client = app.client.clone();
        let url = app.url("/inbox");
        async move {
            client
                .post(url)
                .header("content-type", "application/activity+json")
                .header(
                    "signature",
                    format!(
                        r#"keyId="https://{host}/actor#main-key",algorithm="rsa-sha256",headers="date",signature="eA==""#
                    ),
                )
                .body(r#"{"id": "https://x/1", "type": "Like"}"#)
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..3 {
        assert_eq!(
            post("flood.example").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let limited = post("flood.example").await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(
        limited.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/problem+json")
    );
    assert_eq!(
        post("other.example").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

/// Behind a local reverse proxy, clients are counted by the address it forwards (not
/// by what they write themselves), and `/metrics` needs a token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_behind_a_trusted_proxy() {
    let app = crate::helpers::spawn_app_with(crate::helpers::Engine::Sqlite, |s| {
        s.limits.requests_per_ip_per_minute = 3;
        s.limits.inbox_per_ip_per_minute = 2;
    })
    .await
    .unwrap();
    let get = |forwarded: &'static str| {
        let client = app.client.clone();
        let url = app.url("/api/v1/directory/actions");
        async move {
            client
                .get(url)
                .header("x-forwarded-for", forwarded)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    for _ in 0..3 {
        assert_eq!(get("198.51.100.7").await, StatusCode::OK);
    }
    assert_eq!(get("198.51.100.7").await, StatusCode::TOO_MANY_REQUESTS);
    // Writing another address in front changes nothing: the proxy's is the last one.
    assert_eq!(
        get("203.0.113.1, 198.51.100.7").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(get("198.51.100.8").await, StatusCode::OK, "another client");
    // The proxy's own requests (no header) are not limited by address.
    for _ in 0..5 {
        let status = app
            .client
            .get(app.url("/api/v1/directory/actions"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::OK);
    }

    // Inbox POSTs count per sending address too, whatever host each keyId names.
    let inbox = |host: usize| {
        let client = app.client.clone();
        let url = app.url("/inbox");
        async move {
            client
                .post(url)
                .header("x-forwarded-for", "192.0.2.44")
                .header(
                    "signature",
                    format!(r#"keyId="https://h{host}.example/actor#k",signature="eA==""#),
                )
                .body("{}")
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(inbox(1).await, StatusCode::UNAUTHORIZED);
    assert_eq!(inbox(2).await, StatusCode::UNAUTHORIZED);
    assert_eq!(inbox(3).await, StatusCode::TOO_MANY_REQUESTS);

    // /metrics through the proxy: a node-admin token is needed.
    let response = app
        .client
        .get(app.url("/metrics"))
        .header("x-forwarded-for", "198.51.100.9")
        .send()
        .await
        .unwrap();
    crate::helpers::assert_problem(response, StatusCode::FORBIDDEN).await;
    let response = app
        .client
        .get(app.url("/metrics"))
        .header("x-forwarded-for", "198.51.100.9")
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

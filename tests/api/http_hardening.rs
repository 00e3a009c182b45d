//! Headers and timeouts (issue 13, point 13): connections sending headers a byte at a
//! time or never, idle kept-alive connections, too many connections from one address or
//! in all (raw TCP against the real server), and the security headers of every answer.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{Engine, TestApp, spawn_app_with, wait_until};

/// Far longer than any timeout under test: only reached when the server never acts.
const GUARD: Duration = Duration::from_secs(90);

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(("127.0.0.1", app.port))
        .await
        .expect("connect")
}

/// Sends `GET /healthz` on `stream` and reads the whole answer; its status line, or
/// `None` when the server closed the connection instead.
async fn healthz(stream: &mut TcpStream) -> Option<String> {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .ok()?;
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let n = stream.read(&mut buffer).await.ok()?;
        if n == 0 {
            return None;
        }
        received.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&received);
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_string)
                })
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if received.len() >= end + 4 + length {
                return text.lines().next().map(str::to_string);
            }
        }
    }
}

/// Reads until the server closes the connection (end of stream or reset).
async fn closed_by_server(stream: &mut TcpStream) {
    let mut buffer = [0u8; 1024];
    while let Ok(n) = stream.read(&mut buffer).await {
        if n == 0 {
            break;
        }
    }
}

/// Slowloris: 100 connections send a request's headers a byte at a time (and never
/// finish them), another sends nothing, another stays idle after one request: the
/// server closes every one after the header-read timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_connections_are_closed() {
    let app = spawn_app_with(Engine::Sqlite, |settings| {
        settings.http.header_read_timeout_secs = 1;
    })
    .await
    .unwrap();
    let mut connections = Vec::new();
    for _ in 0..100 {
        let mut stream = connect(&app).await;
        connections.push(tokio::spawn(async move {
            let (mut reader, mut writer) = stream.split();
            let trickle = async {
                writer
                    .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
                    .await?;
                loop {
                    writer.write_all(b"X").await?;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                #[allow(unreachable_code)]
                Ok::<(), std::io::Error>(())
            };
            let closed = async {
                let mut buffer = [0u8; 1024];
                while let Ok(n) = reader.read(&mut buffer).await {
                    if n == 0 {
                        break;
                    }
                }
            };
            tokio::select! {
                _ = trickle => {}
                () = closed => {}
            }
        }));
    }
    let mut silent = connect(&app).await;
    let mut idle = connect(&app).await;
    assert_eq!(
        healthz(&mut idle).await.as_deref(),
        Some("HTTP/1.1 200 OK"),
        "a complete request is served"
    );
    let all_closed = async {
        for connection in connections {
            connection.await.unwrap();
        }
        closed_by_server(&mut silent).await;
        closed_by_server(&mut idle).await;
    };
    tokio::time::timeout(GUARD, all_closed)
        .await
        .expect("the server keeps slow connections open");
    // The node still serves.
    let mut fresh = connect(&app).await;
    assert_eq!(
        healthz(&mut fresh).await.as_deref(),
        Some("HTTP/1.1 200 OK")
    );
}

/// One address may hold `http.max_connections_per_ip` connections; beyond, a new one
/// is closed at once, and room comes back when one of them closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_per_address_are_capped() {
    let app = spawn_app_with(Engine::Sqlite, |settings| {
        // Loopback is a client here, not a trusted proxy.
        settings.limits.trusted_proxies = Vec::new();
        settings.http.max_connections_per_ip = 3;
        settings.http.header_read_timeout_secs = 300;
    })
    .await
    .unwrap();
    let mut open = Vec::new();
    for _ in 0..3 {
        let mut stream = connect(&app).await;
        assert!(healthz(&mut stream).await.is_some(), "served");
        open.push(stream);
    }
    let mut fourth = connect(&app).await;
    let answer = tokio::time::timeout(GUARD, healthz(&mut fourth)).await;
    assert_eq!(answer, Ok(None), "closed without an answer");
    // The first ones still work.
    assert!(healthz(&mut open[0]).await.is_some());
    drop(open.pop());
    wait_until("a connection closed frees its place", || async {
        let mut stream = connect(&app).await;
        healthz(&mut stream).await.is_some()
    })
    .await;
}

/// Beyond `http.max_connections`, a new connection waits (it is not accepted) until
/// one closes, then is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait() {
    let app = spawn_app_with(Engine::Sqlite, |settings| {
        settings.http.max_connections = 2;
        settings.http.header_read_timeout_secs = 300;
    })
    .await
    .unwrap();
    let mut first = connect(&app).await;
    let mut second = connect(&app).await;
    assert!(healthz(&mut first).await.is_some());
    assert!(healthz(&mut second).await.is_some());
    let mut third = connect(&app).await;
    let waiting = tokio::spawn(async move { healthz(&mut third).await });
    // Not answered while both places are taken (a bounded look, not a speed check).
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!waiting.is_finished(), "served beyond the cap");
    drop(first);
    let answer = tokio::time::timeout(GUARD, waiting)
        .await
        .expect("served once a place is free")
        .unwrap();
    assert_eq!(answer.as_deref(), Some("HTTP/1.1 200 OK"));
    assert!(healthz(&mut second).await.is_some());
}

/// Every answer (pages, API, errors, the rate limit's `429`) says `nosniff` and a
/// referrer policy; every `/admin` answer is `no-store` (its pages carry the CSRF token).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_headers_on_every_response() {
    let app = spawn_app_with(Engine::Sqlite, |settings| {
        settings.limits.requests_per_ip_per_minute = 3;
    })
    .await
    .unwrap();
    let get = |path: &str, client: Option<&str>| {
        let mut request = app.client.get(app.url(path)).header("accept", "text/html");
        if let Some(client) = client {
            request = request.header("x-forwarded-for", client);
        }
        request.send()
    };
    let mut answers = Vec::new();
    for path in [
        "/",
        "/healthz",
        "/api/v1/directory/actions",
        "/static/maillage.css",
        "/nulle-part",
        "/admin",
        "/admin/connexion",
        "/admin/c/marcq/actions",
    ] {
        answers.push((path.to_string(), get(path, None).await.unwrap()));
    }
    for _ in 0..4 {
        answers.push((
            "/ (limited)".into(),
            get("/", Some("203.0.113.50")).await.unwrap(),
        ));
    }
    let statuses: Vec<u16> = answers.iter().map(|(_, r)| r.status().as_u16()).collect();
    assert!(statuses.contains(&404) && statuses.contains(&303) && statuses.contains(&429));
    for (path, response) in &answers {
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        let admin = path.starts_with("/admin");
        assert_eq!(
            headers["referrer-policy"],
            if admin {
                "same-origin"
            } else {
                "strict-origin-when-cross-origin"
            },
            "{path}"
        );
        assert_eq!(
            headers
                .get("cache-control")
                .is_some_and(|v| v == "no-store"),
            admin,
            "{path}"
        );
    }
}

/// A body refused before it is read (`413` over the size limit) ends its connection,
/// and the answer says so (`Connection: close`): a client then never sends its next
/// request into the closed connection. Before, the hostile corpus saw the request after
/// a `413` fail now and then with an incomplete message. A body that was read keeps
/// the connection open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unread_bodies_close_the_connection() {
    let app = spawn_app_with(Engine::Sqlite, |_| {}).await.unwrap();
    // On the wire: the headers of a 2 MiB body and its first 1.5 MiB, past the 1 MiB
    // limit; the answer comes without the rest and says the connection closes.
    let mut stream = connect(&app).await;
    let head = "POST /inbox HTTP/1.1\r\nHost: localhost\r\n\
                Content-Type: application/activity+json\r\nContent-Length: 2097152\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    // The server may stop reading (and answer) before all of it is written.
    let body = vec![b' '; 1536 * 1024];
    let _ = tokio::time::timeout(Duration::from_secs(20), stream.write_all(&body)).await;
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let answer = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let n = stream.read(&mut buffer).await.unwrap_or(0);
            received.extend_from_slice(&buffer[..n]);
            if n == 0 || received.windows(4).any(|w| w == b"\r\n\r\n") {
                break String::from_utf8_lossy(&received).to_ascii_lowercase();
            }
        }
    })
    .await
    .expect("no answer to the truncated 2 MiB body");
    assert!(answer.starts_with("http/1.1 413"), "{answer}");
    assert!(
        answer
            .lines()
            .any(|line| line.trim() == "connection: close"),
        "{answer}"
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    let oversized = vec![b' '; 2 * 1024 * 1024];
    // Through a pooled client: the request after each refusal goes through. Sending
    // may fail when the server closes before taking the whole body; at least one
    // refusal must have been read and checked.
    let mut checked = 0;
    for round in 0..20 {
        let refused = client
            .post(app.url("/inbox"))
            .header("content-type", "application/activity+json")
            .body(oversized.clone())
            .send()
            .await;
        if let Ok(refused) = refused {
            checked += 1;
            assert_eq!(refused.status(), 413, "round {round}");
            assert_eq!(
                refused.headers().get("connection").map(|v| v.as_bytes()),
                Some(&b"close"[..]),
                "round {round}: {:?}",
                refused.headers()
            );
        }
        let next = client.get(app.url("/healthz")).send().await;
        assert!(
            next.as_ref().is_ok_and(|r| r.status() == 200),
            "round {round}: the request after a 413 failed: {next:?}"
        );
    }
    assert!(checked > 0, "no refusal of the 20 was read");
    // A read body (a 401 after reading it, here) leaves the connection open.
    let read = client
        .post(app.url("/inbox"))
        .header("content-type", "application/activity+json")
        .body(r#"{"type": "Like"}"#)
        .send()
        .await
        .unwrap();
    assert!(read.status().is_client_error());
    assert!(read.headers().get("connection").is_none(), "{read:?}");
}

//! The operator's view (issue 14 point 5) with the real binary: one access-log line per
//! request except health probes, no colour off a terminal or with `NO_COLOR`, startup
//! errors in JSON when the logs are JSON, workers logging their start and settings,
//! `migrate` saying what it applied, and `/metrics` scraped through the proxy with a
//! token.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use reqwest::StatusCode;
use serde_json::Value;

use crate::cli::ok;
use crate::cli_ops::maillage;
use crate::strict_config::{
    free_port, raw_get, serve_must_refuse, spawn_serve, terminate, wait_ready,
};

/// Each line of `stderr` as JSON (fails on a line that is not).
fn json_lines(stderr: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stderr)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect()
}

#[test]
fn access_log_has_one_line_per_request_except_health_probes() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (domain, bind) = (format!("localhost:{port}"), format!("127.0.0.1:{port}"));
    let url = format!("sqlite://{}", dir.path().join("node.db").display());
    let server = spawn_serve(
        dir.path(),
        &[
            ("MAILLAGE_DOMAIN", &domain),
            ("MAILLAGE_BIND", &bind),
            ("MAILLAGE_FEDERATION__DEBUG", "true"),
            ("MAILLAGE_DATABASE__URL", &url),
            ("MAILLAGE_LOG__FORMAT", "json"),
            ("MAILLAGE_LOG__LEVEL", "info"),
        ],
    );
    wait_ready(port);
    let get = |path: &str, id: &str| {
        let answer = raw_get(port, path, &[&format!("x-request-id: {id}")]).unwrap();
        answer[9..12].to_string()
    };
    assert_eq!(get("/healthz", "sonde"), "200");
    assert_eq!(get("/api/v1/directory/actions?q=école", "essai-1"), "200");
    assert_eq!(get("/actors/absente", "essai-2"), "404");
    assert_eq!(get("/pas/de/route", "essai-3"), "404");
    let output = terminate(server);
    let lines = json_lines(&output.stderr);

    let access: Vec<&Value> = lines
        .iter()
        .filter(|line| line["target"] == "maillage::access")
        .collect();
    let summary: Vec<(String, String, u64)> = access
        .iter()
        .map(|line| {
            let fields = &line["fields"];
            assert_eq!(line["level"], "INFO");
            assert_eq!(fields["method"], "GET");
            assert!(fields["duration_ms"].as_f64().is_some(), "{line}");
            (
                fields["request_id"].as_str().unwrap().to_string(),
                fields["route"].as_str().unwrap().to_string(),
                fields["status"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("essai-1", "/api/v1/directory/actions", 200),
        ("essai-2", "/actors/{username}", 404),
        ("essai-3", "unmatched", 404),
    ];
    assert_eq!(
        summary,
        expected.map(|(id, route, status)| (id.to_string(), route.to_string(), status)),
        "no line for /healthz nor /readyz, the route template rather than the path"
    );

    // The configuration line and the workers inside `serve`, with their settings.
    assert_eq!(lines[0]["fields"]["message"], "configuration");
    assert!(
        lines[0]["fields"]["base"]
            .as_str()
            .unwrap()
            .contains("node.db")
    );
    let worker = lines
        .iter()
        .find(|line| line["fields"]["message"] == "delivery worker started")
        .expect("worker start logged");
    assert_eq!(worker["fields"]["mode"], "serve");
    assert_eq!(worker["fields"]["batch"], 64);
    assert_eq!(worker["fields"]["per_host"], 4);
    assert_eq!(worker["fields"]["poll_interval_ms"], 1000);
}

/// The environment of a node on a migrated SQLite database in `dir`.
fn node_env(dir: &std::path::Path) -> Vec<(&'static str, String)> {
    vec![
        (
            "MAILLAGE_DATABASE__URL",
            format!("sqlite://{}", dir.join("node.db").display()),
        ),
        ("MAILLAGE_DOMAIN", "localhost:8181".into()),
        ("MAILLAGE_FEDERATION__DEBUG", "true".into()),
        ("MAILLAGE_LOG__LEVEL", "info".into()),
    ]
}

#[test]
fn logs_are_coloured_only_on_a_terminal_without_no_color() {
    let dir = tempfile::tempdir().unwrap();
    let env = node_env(dir.path());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ok(maillage(dir.path(), &env, &["migrate"], ""));

    // Piped (a log file, the journal): plain text.
    let output = maillage(dir.path(), &env, &["worker", "--once"], "");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    ok(output);
    assert!(stderr.contains("delivery worker started"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");

    // On a terminal (`script` gives the command one): colours, unless NO_COLOR.
    let on_a_terminal = |no_color: Option<&str>| {
        let mut command = Command::new("script");
        command
            .args([
                "-qec",
                &format!("{} worker --once", env!("CARGO_BIN_EXE_maillage")),
                "/dev/null",
            ])
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("SHELL", "/bin/sh")
            .envs(env.iter().copied())
            .stdin(Stdio::null());
        if let Some(value) = no_color {
            command.env("NO_COLOR", value);
        }
        let output = command.output().expect("script (util-linux)");
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let coloured = on_a_terminal(None);
    assert!(coloured.contains("delivery worker started"), "{coloured}");
    assert!(coloured.contains("\u{1b}["), "{coloured:?}");
    let plain = on_a_terminal(Some("1"));
    assert!(plain.contains("delivery worker started"), "{plain}");
    assert!(!plain.contains('\u{1b}'), "{plain:?}");
}

#[test]
fn startup_errors_are_json_when_logs_are_json() {
    let dir = tempfile::tempdir().unwrap();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let bind = busy.local_addr().unwrap().to_string();
    let mut env = node_env(dir.path());
    env.push(("MAILLAGE_LOG__FORMAT", "json".into()));
    env.push(("MAILLAGE_BIND", bind.clone()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let error = serve_must_refuse(dir.path(), &env);
    let lines = json_lines(error.as_bytes());
    let last = lines.last().unwrap();
    assert_eq!(last["level"], "ERROR");
    let message = last["fields"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("impossible d'écouter sur {bind}")),
        "{message}"
    );

    // A refused configuration that asks for JSON logs is refused in JSON.
    std::fs::write(
        dir.path().join("node.toml"),
        "[log]\nformat = \"json\"\n[federaton]\ndebug = true\n",
    )
    .unwrap();
    let output = maillage(dir.path(), &[], &["--config", "node.toml", "serve"], "");
    assert_eq!(output.status.code(), Some(1));
    let lines = json_lines(&output.stderr);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["level"], "ERROR");
    assert!(
        lines[0]["fields"]["message"]
            .as_str()
            .unwrap()
            .contains("« federaton »"),
        "{lines:?}"
    );
}

#[test]
fn a_worker_logs_its_start_its_settings_and_its_stop() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = node_env(dir.path());
    env.push(("MAILLAGE_DELIVERY__BATCH", "12".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ok(maillage(dir.path(), &env, &["migrate"], ""));
    let mut worker = Command::new(env!("CARGO_BIN_EXE_maillage"))
        .arg("worker")
        .current_dir(dir.path())
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(worker.stderr.take().unwrap());
    let mut started = String::new();
    while !started.contains("delivery worker started") {
        started.clear();
        assert!(stderr.read_line(&mut started).unwrap() > 0, "worker exited");
    }
    for part in [
        "mode=\"worker\"",
        "batch=12",
        "per_host=4",
        "database=sqlite://",
    ] {
        assert!(started.contains(part), "{part}: {started}");
    }
    let status = Command::new("kill")
        .args(["-TERM", &worker.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(worker.wait().unwrap().success());
    assert!(rest.contains("delivery worker stopped"), "{rest}");
}

fn migrate_says_what_it_applied(database_url: &str, engine: &str) {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("MAILLAGE_DATABASE__URL", database_url),
        ("MAILLAGE_DOMAIN", "localhost:8181"),
        ("MAILLAGE_FEDERATION__DEBUG", "true"),
    ];
    let known = std::fs::read_dir(format!(
        "{}/migrations/{engine}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .count();
    let first = ok(maillage(dir.path(), &env, &["migrate"], ""));
    let mut lines = first.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with(&format!("{known} migrations appliquées")),
        "{first}"
    );
    assert_eq!(lines.next(), Some("  0001 « foundation »"), "{first}");
    assert_eq!(first.lines().count(), known + 1, "{first}");
    let again = ok(maillage(dir.path(), &env, &["migrate"], ""));
    assert!(again.starts_with("aucune migration en attente"), "{again}");
}

#[test]
fn migrate_says_what_it_applied_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("node.db").display());
    migrate_says_what_it_applied(&url, "sqlite");
}

#[test]
fn migrate_says_what_it_applied_on_postgres() {
    crate::helpers::with_postgres_schema("migrate_says_what_it_applied", |url| {
        migrate_says_what_it_applied(url, "postgres")
    });
}

/// Prometheus on another machine scrapes through the reverse proxy (which adds
/// `X-Forwarded-For`): a node-admin token is needed, and enough.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_scraped_through_the_proxy_with_an_admin_token() {
    let app = crate::helpers::spawn_app(crate::helpers::Engine::Sqlite)
        .await
        .unwrap();
    let editor = app.collectivite_with_token("marcq", "59378").await;
    let scrape = |token: Option<String>| {
        let request = app
            .client
            .get(app.url("/metrics"))
            .header("x-forwarded-for", "203.0.113.50")
            .header("x-forwarded-proto", "https");
        let request = match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        async move { request.send().await.unwrap() }
    };
    crate::helpers::assert_problem(scrape(None).await, StatusCode::FORBIDDEN).await;
    crate::helpers::assert_problem(scrape(Some(editor)).await, StatusCode::FORBIDDEN).await;
    let response = scrape(Some(app.admin_token.clone())).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.unwrap();
    for metric in [
        "maillage_http_requests_total",
        "maillage_deliveries{state=\"pending\"}",
        "maillage_oldest_pending_delivery_age_seconds",
        "maillage_unreachable_instances",
    ] {
        assert!(text.contains(metric), "{metric}\n{text}");
    }
}

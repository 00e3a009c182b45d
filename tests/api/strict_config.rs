//! Strict configuration (issue 14 point 2, SPEC §11) with the real binary: unknown keys
//! and variables, values of the wrong type and bad log levels are refused by every
//! command, naming the key; `maillage config check`; a database made for another
//! domain refuses to publish; a domain written with its default port still answers
//! WebFinger.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::cli::{fails, ok, run_with_input};

/// The binary in `dir` with a clean environment plus `env` (no log level set: the
/// configuration's own is checked), `input` on standard input.
pub(crate) fn maillage(dir: &Path, env: &[(&str, &str)], args: &[&str], input: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_maillage"));
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied());
    run_with_input(command, input)
}

/// A free port on loopback.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `maillage serve` in `dir` with a clean environment plus `env` (no log level set),
/// its standard error piped.
pub(crate) fn spawn_serve(dir: &Path, env: &[(&str, &str)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_maillage"))
        .arg("serve")
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start maillage serve")
}

/// Waits until `GET /readyz` on `port` answers 200.
pub(crate) fn wait_ready(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(answer) = raw_get(port, "/readyz", &[]) {
            if answer.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A plain HTTP/1.1 GET on loopback, with extra header lines; the whole answer.
pub(crate) fn raw_get(port: u16, path: &str, headers: &[&str]) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    let mut request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    Some(text)
}

/// Stops `child` with SIGTERM and returns its output.
pub(crate) fn terminate(child: Child) -> Output {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(status.success());
    child.wait_with_output().expect("output")
}

/// Runs `maillage serve` that must stop by itself (a refusal) within a minute; a
/// server that keeps running is killed and the test fails.
pub(crate) fn serve_must_refuse(dir: &Path, env: &[(&str, &str)]) -> String {
    let mut child = spawn_serve(dir, env);
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("maillage serve started instead of refusing");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    fails(child.wait_with_output().unwrap())
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A refused configuration: the file, the variables, what the message must say.
type Case = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static [&'static str],
);

#[test]
fn unknown_keys_variables_types_and_levels_are_refused_by_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let bind = format!("127.0.0.1:{port}");
    let cases: [Case; 9] = [
        (
            "[federaton]\ndebug = true\n",
            &[],
            &["clé inconnue « federaton »", "« federation »", "node.toml"],
        ),
        (
            "[database]\nmax_conections = 3\n",
            &[],
            &[
                "« database.max_conections »",
                "« database.max_connections »",
            ],
        ),
        (
            "[database]\nmax_connections = \"huit\"\n",
            &[],
            &["database.max_connections", "« huit »", "node.toml"],
        ),
        (
            "[log]\nlevel = \"warning\"\n",
            &[],
            &["log.level « warning »", "« warn »"],
        ),
        (
            "",
            &[("MAILLAGE_FEDERATON__DEBUG", "true")],
            &["MAILLAGE_FEDERATON__DEBUG", "« federation »"],
        ),
        (
            "",
            &[("MAILLAGE_DATABASE__MAX_CONECTIONS", "3")],
            &[
                "MAILLAGE_DATABASE__MAX_CONECTIONS",
                "« database.max_connections »",
            ],
        ),
        (
            "",
            &[("MAILLAGE_DELIVERY__BATCH", "beaucoup")],
            &["delivery.batch", "MAILLAGE_DELIVERY__BATCH", "« beaucoup »"],
        ),
        ("", &[("MAILLAGE_LOG__LEVEL", "warning")], &["log.level"]),
        (
            "[limits]\ntrusted_proxies = [\"proxy.lan\"]\n",
            &[],
            &["limits.trusted_proxies", "adresse IP"],
        ),
    ];
    for (text, env, expected) in cases {
        std::fs::write(dir.path().join("node.toml"), text).unwrap();
        let mut env = env.to_vec();
        env.push(("MAILLAGE_BIND", &bind));
        for command in [
            &["migrate"][..],
            &["collectivite", "list"],
            &["token", "create", "--admin"],
            &["worker", "--once"],
            &["config", "check"],
        ] {
            let args: Vec<&str> = ["--config", "node.toml"]
                .iter()
                .chain(command)
                .copied()
                .collect();
            let error = fails(maillage(dir.path(), &env, &args, ""));
            for part in expected {
                assert!(
                    error.contains(part),
                    "{command:?} {text:?} {env:?}: {error}"
                );
            }
        }
        let mut env = env.clone();
        env.push(("MAILLAGE_CONFIG", "node.toml"));
        let error = serve_must_refuse(dir.path(), &env);
        assert!(error.contains(expected[0]), "serve: {error}");
        assert_eq!(files(dir.path()), ["node.toml"], "nothing created");
    }
}

#[test]
fn config_check_prints_the_effective_settings_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("maillage.toml"),
        "domain = \"Annuaire.Example.fr:443\"\n[database]\nurl = \"postgres://maillage:tres-secret@db.example/maillage\"\n[delivery]\nbatch = 16\n",
    )
    .unwrap();
    // Variables that are not settings are left alone; settings variables count.
    let env = [
        ("MAILLAGE_TEST_DATABASE_URL", "postgres://ailleurs/x"),
        ("MAILLAGE_REQUIRE_BROWSER", "1"),
        ("MAILLAGE_NODE__NAME", "Annuaire de test"),
    ];
    let output = maillage(dir.path(), &env, &["config", "check"], "");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let stdout = ok(output);
    assert!(
        !stdout.contains("tres-secret") && !stderr.contains("tres-secret"),
        "{stdout}{stderr}"
    );
    let shown: toml::Table = stdout.parse().unwrap();
    assert_eq!(
        shown["domain"].as_str(),
        Some("annuaire.example.fr"),
        "default port dropped"
    );
    assert_eq!(
        shown["database"]["url"].as_str(),
        Some("postgres://maillage:***@db.example/maillage")
    );
    assert_eq!(shown["delivery"]["batch"].as_integer(), Some(16));
    assert_eq!(
        shown["delivery"]["per_host"].as_integer(),
        Some(4),
        "defaults shown"
    );
    assert_eq!(shown["node"]["name"].as_str(), Some("Annuaire de test"));
    assert_eq!(shown["log"]["level"].as_str(), Some("info"));
    let file = dir.path().join("maillage.toml").canonicalize().unwrap();
    assert!(
        stdout.starts_with(&format!("# configuration valide : {}", file.display())),
        "{stdout}"
    );
    assert!(stdout.contains("MAILLAGE_NODE__NAME"), "{stdout}");
    assert!(!stdout.contains("MAILLAGE_TEST_DATABASE_URL"), "{stdout}");
    // No database is opened, so none is created (nor reached).
    assert_eq!(files(dir.path()), ["maillage.toml"]);
}

fn domain_changed(database_url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let node = |domain: &'static str, debug: &'static str| {
        vec![
            ("MAILLAGE_DATABASE__URL", database_url.to_string()),
            ("MAILLAGE_DOMAIN", domain.to_string()),
            ("MAILLAGE_FEDERATION__DEBUG", debug.to_string()),
            ("MAILLAGE_BIND", bind.clone()),
        ]
    };
    let run = |env: &[(&str, String)], args: &[&str]| {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        maillage(dir.path(), &env, args, "")
    };
    let old = node("localhost:8181", "true");
    ok(run(&old, &["migrate"]));
    ok(run(
        &old,
        &[
            "collectivite",
            "create",
            "--username",
            "marcq",
            "--insee",
            "59378",
        ],
    ));

    let moved = node("localhost:8282", "true");
    let env: Vec<(&str, &str)> = moved.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let error = serve_must_refuse(dir.path(), &env);
    for part in [
        "« localhost:8181 »",
        "« localhost:8282 »",
        "le port (8181 dans la base, 8282 configuré)",
        "http://localhost:8181/actor",
    ] {
        assert!(error.contains(part), "{part}: {error}");
    }
    // Commands that sign or publish refuse too; reading still works.
    for args in [
        &["worker", "--once"][..],
        &[
            "collectivite",
            "create",
            "--username",
            "lille",
            "--insee",
            "59350",
        ],
        &["follow", "acct:x@example.org"],
    ] {
        let error = fails(run(&moved, args));
        assert!(error.contains("« localhost:8181 »"), "{args:?}: {error}");
    }
    let listed = ok(run(&moved, &["collectivite", "list"]));
    assert!(
        listed.contains("http://localhost:8181/actors/marcq"),
        "{listed}"
    );

    // The scheme is part of the ids too: federation.debug switched off.
    let https = node("localhost:8181", "false");
    let env: Vec<(&str, &str)> = https.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let error = serve_must_refuse(dir.path(), &env);
    assert!(
        error.contains("le schéma (http dans la base, https configuré"),
        "{error}"
    );
    // The right domain still starts.
    let env: Vec<(&str, &str)> = old.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = spawn_serve(dir.path(), &env);
    wait_ready(port);
    terminate(server);
}

#[test]
fn a_changed_domain_refuses_to_start_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    domain_changed(&format!(
        "sqlite://{}",
        dir.path().join("node.db").display()
    ));
}

#[test]
fn a_changed_domain_refuses_to_start_on_postgres() {
    crate::helpers::with_postgres_schema("a_changed_domain_refuses_to_start", domain_changed);
}

/// `domain = "mairie.example.fr:443"`: ids drop the default port, and WebFinger answers
/// for the same domain (it answered 404 when the port was kept in the domain).
#[test]
fn a_domain_with_its_default_port_answers_webfinger() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(
        dir.path().join("maillage.toml"),
        format!(
            "domain = \"mairie.example.fr:443\"\nbind = \"127.0.0.1:{port}\"\n[database]\nurl = \"sqlite://node.db\"\n"
        ),
    )
    .unwrap();
    let run = |args: &[&str]| maillage(dir.path(), &[], args, "");
    ok(run(&["migrate"]));
    ok(run(&[
        "collectivite",
        "create",
        "--username",
        "marcq",
        "--insee",
        "59378",
    ]));
    let listed = ok(run(&["collectivite", "list"]));
    assert!(
        listed.contains("\thttps://mairie.example.fr/actors/marcq\n"),
        "{listed}"
    );
    let server = spawn_serve(dir.path(), &[]);
    wait_ready(port);
    let answer = raw_get(
        port,
        "/.well-known/webfinger?resource=acct:marcq@mairie.example.fr",
        &[],
    )
    .unwrap();
    let instance = raw_get(
        port,
        "/.well-known/webfinger?resource=acct:mairie.example.fr@mairie.example.fr",
        &[],
    )
    .unwrap();
    terminate(server);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let body: serde_json::Value =
        serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["subject"], "acct:marcq@mairie.example.fr");
    let own = body["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "self")
        .unwrap();
    assert_eq!(own["href"], "https://mairie.example.fr/actors/marcq");
    assert!(instance.starts_with("HTTP/1.1 200"), "{instance}");
}

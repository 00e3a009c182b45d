//! The `maillage` binary as an operator runs it: real processes, real database files.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The binary with a clean environment pointing at `database_url`.
fn command(dir: &Path, database_url: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_maillage"));
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MAILLAGE_DATABASE__URL", database_url)
        .env("MAILLAGE_DOMAIN", "localhost:8181")
        .env("MAILLAGE_FEDERATION__DEBUG", "true")
        .env("MAILLAGE_LOG__LEVEL", "warn");
    command
}

fn maillage(dir: &Path, database_url: &str, args: &[&str]) -> Output {
    command(dir, database_url, args)
        .stdin(Stdio::null())
        .output()
        .expect("run maillage")
}

/// [`maillage`] with `input` on standard input (a password).
fn maillage_with_input(dir: &Path, database_url: &str, args: &[&str], input: &str) -> Output {
    run_with_input(command(dir, database_url, args), input)
}

/// Runs `command` with `input` on standard input and collects its output.
pub(crate) fn run_with_input(mut command: Command, input: &str) -> Output {
    use std::io::Write;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run maillage");
    // A command that refuses before reading its input exits first: the pipe is then
    // closed, which is not the test's concern (its output and status are).
    let written = child.stdin.take().unwrap().write_all(input.as_bytes());
    if let Err(error) = written {
        assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe, "{error}");
    }
    child.wait_with_output().expect("maillage output")
}

pub(crate) fn ok(output: Output) -> String {
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "failed: {stderr}\n{stdout}");
    stdout
}

pub(crate) fn fails(output: Output) -> String {
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    String::from_utf8(output.stderr).unwrap()
}

fn operator_flow(database_url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| maillage(dir.path(), database_url, args);
    // Only serve, init, migrate and demo create a database.
    ok(run(&["migrate"]));

    let created: Value = serde_json::from_str(&ok(run(&[
        "collectivite",
        "create",
        "--username",
        "marcq",
        "--insee",
        "59378",
    ])))
    .unwrap();
    assert_eq!(created["name"], "Marcq-en-Barœul");
    assert_eq!(created["siren"], "215903782");
    assert_eq!(created["departement"], "59");
    assert!(created["location"]["lat"].is_number());

    // Web admin accounts: the password on standard input, checked.
    let user = |name: &str, collectivite: &str, password: &str| {
        maillage_with_input(
            dir.path(),
            database_url,
            &[
                "user",
                "create",
                "--username",
                name,
                "--collectivite",
                collectivite,
            ],
            &format!("{password}\n"),
        )
    };
    let error = fails(user("marie", "marcq", "court"));
    assert!(error.contains("12 caractères"), "{error}");
    let error = fails(user("marie", "absente", "un mot de passe solide"));
    assert!(error.contains("absente"), "{error}");
    let created = ok(user("marie", "marcq", "un mot de passe solide"));
    assert!(created.contains("« marie » créé"), "{created}");
    assert!(created.contains("/admin/connexion"), "{created}");
    let error = fails(user("marie", "marcq", "un mot de passe solide"));
    assert!(error.contains("déjà pris"), "{error}");

    let token_output = ok(run(&["token", "create", "--collectivite", "marcq"]));
    let token = token_output.lines().last().unwrap();
    assert!(
        token.starts_with("mai_") && token.len() == 68,
        "{token_output}"
    );
    let admin = ok(run(&["token", "create", "--admin"]));
    assert!(admin.lines().last().unwrap().starts_with("mai_"));

    let file = dir.path().join("action.json");
    std::fs::write(
        &file,
        r#"{"name": "Médiation numérique itinérante", "content": "Un bus *numérique* dans les quartiers.", "themes": ["solidarites", "cohesion-sociale"], "location": [{"insee": "59378"}]}"#,
    )
    .unwrap();
    let action: Value = serde_json::from_str(&ok(run(&[
        "action",
        "create",
        "--collectivite",
        "marcq",
        file.to_str().unwrap(),
    ])))
    .unwrap();
    assert_eq!(action["themes"].as_array().unwrap().len(), 2);
    assert_eq!(action["location"][0]["name"], "Marcq-en-Barœul");
    let uuid = action["uuid"].as_str().unwrap().to_string();

    let list = ok(run(&["action", "list", "--collectivite", "marcq"]));
    assert!(list.contains(&uuid) && list.contains("Médiation numérique itinérante"));
    let listed = ok(run(&["collectivite", "list"]));
    assert!(
        listed.starts_with("marcq\t59378\tMarcq-en-Barœul\t"),
        "{listed}"
    );
    let edited: Value = serde_json::from_str(&ok(run(&[
        "collectivite",
        "edit",
        "--username",
        "marcq",
        "--summary",
        "Ville numérique.",
    ])))
    .unwrap();
    assert_eq!(edited["summary"], "Ville numérique.");
    assert_eq!(edited["siren"], "215903782", "other fields stay");
    let shown: Value = serde_json::from_str(&ok(run(&["collectivite", "show", "marcq"]))).unwrap();
    assert_eq!(shown["summary"], "Ville numérique.");
    let csv = ok(run(&["export", "--format", "csv", "departement=59"]));
    assert!(
        csv.starts_with("id;url;nom;") && csv.contains("Médiation numérique itinérante"),
        "{csv}"
    );
    let out = dir.path().join("export.geojson");
    ok(run(&[
        "export",
        "--format",
        "geojson",
        "--output",
        out.to_str().unwrap(),
        "theme=solidarites",
    ]));
    let geojson: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(geojson["features"].as_array().unwrap().len(), 1);
    let jsonl = ok(run(&["export", "--format", "jsonl", "theme=culture"]));
    assert!(jsonl.is_empty());
    let error = fails(run(&["export", "--format", "csv", "theme=cuisine"]));
    assert!(error.contains("theme"), "{error}");
    ok(run(&["action", "delete", &uuid]));
    assert!(!ok(run(&["action", "list", "--collectivite", "marcq"])).contains(&uuid));

    // Readable errors, exit code 1.
    let error = fails(run(&[
        "collectivite",
        "create",
        "--username",
        "x",
        "--insee",
        "99999",
    ]));
    assert!(
        error.contains("insee") && error.contains("99999"),
        "{error}"
    );
    let error = fails(run(&[
        "collectivite",
        "create",
        "--username",
        "marcq",
        "--insee",
        "59378",
    ]));
    assert!(error.contains("déjà pris"), "{error}");
    let error = fails(run(&["token", "create", "--collectivite", "inconnue"]));
    assert!(error.contains("inconnue"), "{error}");
    std::fs::write(&file, r#"{"name": "X", "content": "Y", "themes": ["cuisine"], "start_date": "2024-02-01", "end_date": "2024-01-01"}"#).unwrap();
    let error = fails(run(&[
        "action",
        "create",
        "--collectivite",
        "marcq",
        file.to_str().unwrap(),
    ]));
    assert!(
        error.contains("themes[0]") && error.contains("end_date"),
        "{error}"
    );
    std::fs::write(&file, "{ pas du json").unwrap();
    let error = fails(run(&[
        "action",
        "create",
        "--collectivite",
        "marcq",
        file.to_str().unwrap(),
    ]));
    assert!(error.contains("JSON invalide"), "{error}");
    let error = fails(run(&[
        "action",
        "create",
        "--collectivite",
        "marcq",
        "absent.json",
    ]));
    assert!(error.contains("absent.json"), "{error}");
    let error = fails(run(&["action", "delete", "pas-un-uuid"]));
    assert!(error.contains("UUID"), "{error}");
}

#[test]
fn operator_flow_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cli.db").display());
    operator_flow(&url);
}

#[test]
fn operator_flow_on_postgres() {
    crate::helpers::with_postgres_schema("operator_flow", operator_flow);
}

#[test]
fn configuration_errors_are_readable() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("x.db").display());
    let error = fails(maillage(
        dir.path(),
        &url,
        &["--config", "absent.toml", "migrate"],
    ));
    assert!(error.contains("absent.toml"), "{error}");
    std::fs::write(dir.path().join("bad.toml"), "domain = \"x\n").unwrap();
    let error = fails(maillage(
        dir.path(),
        &url,
        &["--config", "bad.toml", "migrate"],
    ));
    assert!(error.contains("bad.toml"), "{error}");
    std::fs::write(dir.path().join("bind.toml"), "bind = \"partout\"\n").unwrap();
    let error = fails(maillage(
        dir.path(),
        &url,
        &["--config", "bind.toml", "migrate"],
    ));
    assert!(
        error.contains("bind.toml") && error.contains("partout"),
        "{error}"
    );
    std::fs::write(
        dir.path().join("public.toml"),
        "domain = \"annuaire.example.fr\"\n[federation]\ndebug = true\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_maillage"))
        .args(["--config", "public.toml", "migrate"])
        .current_dir(dir.path())
        .env_clear()
        .env("MAILLAGE_DATABASE__URL", &url)
        .output()
        .unwrap();
    let error = fails(output);
    assert!(
        error.contains("federation.debug") && error.contains("réservé au développement"),
        "{error}"
    );
    // The example configuration shipped in config/ is valid.
    let example = format!(
        "{}/config/maillage.example.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    ok(maillage(
        dir.path(),
        &url,
        &["--config", &example, "migrate"],
    ));
}

/// `maillage serve` with no configuration file: defaults, SQLite file created, ready.
#[test]
fn serve_works_without_a_configuration_file() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_maillage"))
        .arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .env("MAILLAGE_BIND", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let ready = loop {
        let answer = std::net::TcpStream::connect(("127.0.0.1", port))
            .ok()
            .and_then(|mut s| {
                use std::io::{Read, Write};
                s.write_all(
                    b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                )
                .ok()?;
                let mut text = String::new();
                s.read_to_string(&mut text).ok()?;
                Some(text)
            });
        if let Some(text) = answer {
            break text;
        }
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    assert!(
        dir.path().join("maillage.db").exists(),
        "default SQLite file created"
    );
}

/// `maillage follow --file`: every handle is resolved; failures are summed up, the
/// rest is queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_from_a_file() {
    let b = crate::helpers::spawn_app(crate::helpers::Engine::Sqlite)
        .await
        .unwrap();
    b.create_collectivite("lille", "59350").await;
    b.create_collectivite("roubaix", "59512").await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("agg.db").display());
    let file = dir.path().join("handles.txt");
    std::fs::write(
        &file,
        format!(
            "# nodes to follow\nacct:lille@{0}\n{1}\n\nacct:inconnue@{0}\n",
            b.domain,
            b.url("/actors/roubaix")
        ),
    )
    .unwrap();
    let path = file.to_str().unwrap().to_string();
    let output = tokio::task::spawn_blocking(move || {
        let dir = std::path::Path::new(&path).parent().unwrap().to_path_buf();
        ok(maillage(&dir, &url, &["migrate"]));
        maillage(&dir, &url, &["follow", "--file", &path])
    })
    .await
    .unwrap();
    let stderr = fails(output);
    assert!(
        stderr.contains("2 suivis mis en file d'attente sur 3"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 échec") && stderr.contains("acct:inconnue@"),
        "{stderr}"
    );
}

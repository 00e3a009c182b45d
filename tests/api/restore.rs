//! Backup and restore to a new machine, with the real binary, as docs/deployment.md
//! tells an operator (SPEC §9, issue 14 point 6): a node with a collectivité, actions
//! and an API token runs; `maillage backup --output FOLDER` saves it while it serves;
//! the node is gone; the backup is restored into a fresh folder (SQLite) or a fresh
//! database (PostgreSQL, `pg_restore`), started with the configuration from the backup,
//! and serves the same actor documents (same public keys), the same actions, and
//! accepts the same token.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::cli::{fails, ok};
use crate::cli_ops::maillage;

/// A `maillage serve` process, killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `maillage serve` in `dir` with `env`, listening on `port` once this returns.
fn serve(dir: &Path, env: &[(&str, &str)], port: u16) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_maillage"))
        .arg("serve")
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .env("MAILLAGE_BIND", format!("127.0.0.1:{port}"))
        .env("MAILLAGE_LOG__LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    crate::cli_ops::wait_for(port);
    Server { child, port }
}

/// What a peer and the operator see of the node on `port`: the instance actor, the
/// collectivité's actor and its outbox's first page (ActivityPub), its actions and the
/// collectivités (CLI output, from `dir` with `env`).
fn observe(port: u16, dir: &Path, env: &[(&str, &str)]) -> (Vec<Value>, String) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let documents = runtime.block_on(async {
        let client = reqwest::Client::new();
        let get = |path: String| {
            let client = client.clone();
            async move {
                let response = client
                    .get(format!("http://127.0.0.1:{port}{path}"))
                    .header("Accept", "application/activity+json")
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::OK, "{path}");
                response.json::<Value>().await.unwrap()
            }
        };
        let ready = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status(), StatusCode::OK);
        let outbox = get("/actors/marcq/outbox".into()).await;
        let first = outbox["first"]
            .as_str()
            .expect("outbox first page")
            .to_string();
        let first = url::Url::parse(&first).unwrap();
        let first = format!("{}?{}", first.path(), first.query().unwrap_or_default());
        vec![
            get("/actor".into()).await,
            get("/actors/marcq".into()).await,
            outbox,
            get(first).await,
        ]
    });
    let cli = ok(maillage(dir, env, &["collectivite", "list"], ""))
        + &ok(maillage(
            dir,
            env,
            &["action", "list", "--collectivite", "marcq"],
            "",
        ));
    (documents, cli)
}

/// `POST /api/v1/collectivites/marcq/actions` with `token` on the node on `port`.
fn publish_with(port: u16, token: &str) -> StatusCode {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        reqwest::Client::new()
            .post(format!(
                "http://127.0.0.1:{port}/api/v1/collectivites/marcq/actions"
            ))
            .bearer_auth(token)
            .json(&crate::helpers::sample_action())
            .send()
            .await
            .unwrap()
            .status()
    })
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The engine-specific half of a restore: puts the backup's database in place for a
/// node in `dir`; returns the `MAILLAGE_DATABASE__URL` the restored node needs, if the
/// backup's configuration does not name the right database.
type Restore<'a> = &'a dyn Fn(&Path, &Path) -> Option<String>;

/// The whole flow: a node in a folder whose `maillage.toml` says `database_url`,
/// backed up while it serves, lost, restored by `restore`.
fn backup_and_restore(database_url: &str, engine: &str, restore: Restore) {
    let source = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(
        source.path().join("maillage.toml"),
        format!(
            "domain = \"localhost:{port}\"\n[database]\nurl = \"{database_url}\"\n[federation]\ndebug = true\n"
        ),
    )
    .unwrap();
    let env: [(&str, &str); 0] = [];
    let run = |args: &[&str]| ok(maillage(source.path(), &env, args, ""));
    run(&["migrate"]);
    run(&[
        "collectivite",
        "create",
        "--username",
        "marcq",
        "--insee",
        "59378",
    ]);
    let token = run(&["token", "create", "--collectivite", "marcq"])
        .lines()
        .last()
        .unwrap()
        .to_string();
    let action = source.path().join("action.json");
    for name in ["Médiation numérique itinérante", "Tiers-lieu numérique"] {
        std::fs::write(
            &action,
            json!({"name": name, "content": "Un projet.", "themes": ["solidarites"],
                   "location": [{"insee": "59378"}]})
            .to_string(),
        )
        .unwrap();
        run(&[
            "action",
            "create",
            "--collectivite",
            "marcq",
            action.to_str().unwrap(),
        ]);
    }

    // The node serves while it is backed up.
    let node = serve(source.path(), &env, port);
    let before = observe(port, source.path(), &env);
    assert_eq!(before.1.lines().count(), 3, "{}", before.1);
    // Elsewhere than the node's folder (on a real node: another disk or machine).
    let backups = tempfile::tempdir().unwrap();
    let printed = run(&["backup", "--output", backups.path().to_str().unwrap()]);
    let backup = PathBuf::from(printed.trim());
    assert_eq!(
        backup.parent().unwrap(),
        backups.path().canonicalize().unwrap()
    );
    let name = backup.file_name().unwrap().to_str().unwrap().to_string();
    assert!(
        name.starts_with("maillage-") && name.ends_with('Z'),
        "{name}"
    );
    drop(node);

    // What the folder holds: the database and what a restore needs, owner only.
    let database_file = if engine == "sqlite" {
        "maillage.db"
    } else {
        "maillage.dump"
    };
    let mut listed: Vec<String> = std::fs::read_dir(&backup)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        ["backup.toml", "environment", database_file, "maillage.toml"]
    );
    // The settings given by the environment (here the log level the helper sets).
    assert_eq!(
        std::fs::read_to_string(backup.join("environment")).unwrap(),
        "MAILLAGE_LOG__LEVEL=\"warn\"\n"
    );
    #[cfg(unix)]
    {
        assert_eq!(mode(&backup), 0o700);
        for file in &listed {
            assert_eq!(mode(&backup.join(file)), 0o600, "{file}");
        }
    }
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(backup.join("backup.toml")).unwrap()).unwrap();
    assert_eq!(manifest["engine"].as_str(), Some(engine));
    assert_eq!(manifest["database"].as_str(), Some(database_file));
    assert_eq!(
        manifest["domain"].as_str(),
        Some(format!("localhost:{port}").as_str())
    );
    assert_eq!(
        manifest["maillage_version"].as_str(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    // A second backup in the same folder is a new folder; a file is never replaced.
    let error = fails(maillage(
        source.path(),
        &env,
        &[
            "backup",
            "--output",
            backup.join("maillage.toml").to_str().unwrap(),
        ],
        "",
    ));
    assert!(error.contains("existe déjà"), "{error}");

    // The machine is lost. A new one: the configuration from the backup, the database
    // restored (engine-specific), the node started.
    drop(source);
    let target = tempfile::tempdir().unwrap();
    std::fs::copy(
        backup.join("maillage.toml"),
        target.path().join("maillage.toml"),
    )
    .unwrap();
    let database = restore(&backup, target.path());
    let env: Vec<(&str, &str)> = database
        .iter()
        .map(|url| ("MAILLAGE_DATABASE__URL", url.as_str()))
        .collect();
    // On another port: its ids keep the backup's domain.
    let node = serve(target.path(), &env, free_port());
    let restored_port = node.port;
    let after = observe(restored_port, target.path(), &env);
    assert_eq!(after.0[0], before.0[0], "instance actor");
    assert_eq!(
        after.0[1]["publicKey"]["publicKeyPem"],
        before.0[1]["publicKey"]["publicKeyPem"]
    );
    assert_eq!(after.0[1], before.0[1], "collectivité's actor");
    assert_eq!(after.0[2..], before.0[2..], "outbox");
    assert_eq!(after.1, before.1, "collectivités and actions");
    assert_eq!(publish_with(restored_port, &token), StatusCode::CREATED);
    assert_eq!(
        publish_with(restored_port, "not-a-token"),
        StatusCode::UNAUTHORIZED
    );
}

#[test]
fn restore_sqlite() {
    // docs/deployment.md: the copy becomes the database file that the configuration
    // names (here relative to the working directory), nothing else to change.
    let restore = |backup: &Path, target: &Path| {
        std::fs::copy(backup.join("maillage.db"), target.join("maillage.db")).unwrap();
        None
    };
    backup_and_restore("sqlite://maillage.db", "sqlite", &restore);
}

#[test]
fn restore_postgres() {
    let Some(base) = crate::helpers::postgres_url() else {
        crate::helpers::say_skipped("restore");
        return;
    };
    // Whole databases (not the suite's per-test schemas), as on a real node.
    let source = Database::create(&base);
    let source_url = source.url.clone();
    let source = std::cell::RefCell::new(Some(source));
    let target = Database::create(&base);
    // docs/deployment.md: pg_restore into an empty database owned by the node's role;
    // the old database is gone (a new machine), the configuration names the new one.
    let restore = |backup: &Path, _: &Path| {
        drop(source.borrow_mut().take());
        let output = Command::new("pg_restore")
            .args(["--no-owner", "--exit-on-error", "--dbname", &target.url])
            .arg(backup.join("maillage.dump"))
            .output()
            .expect("run pg_restore");
        assert!(output.status.success(), "{output:?}");
        Some(target.url.clone())
    };
    backup_and_restore(&source_url, "postgres", &restore);
}

/// A fresh PostgreSQL database next to the suite's, dropped at the end.
struct Database {
    base: String,
    name: String,
    url: String,
}

impl Database {
    fn create(base: &str) -> Self {
        let name = format!("maillage_restore_{}", uuid::Uuid::new_v4().simple());
        execute(base, &format!("CREATE DATABASE {name}"));
        let mut url = url::Url::parse(base).unwrap();
        url.set_path(&format!("/{name}"));
        Database {
            base: base.to_string(),
            url: url.to_string(),
            name,
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        execute(
            &self.base,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

fn execute(url: &str, sql: &str) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
}

//! `maillage db copy --to URL` (issue 14 point 4, SPEC §11): a node with actions,
//! follows, deliveries and users moved from SQLite to PostgreSQL and back; a node
//! started on the copy serves the same keys, and its signed deliveries still verify on
//! the follower's node.

use reqwest::StatusCode;
use serde_json::json;

use crate::cli::{fails, ok};
use crate::cli_admin::{cli, cli_on, follow_marcq};
use crate::helpers::{Engine, postgres_url, say_skipped, spawn_app};

/// A fresh, empty PostgreSQL schema as a database URL.
async fn empty_schema(base: &str) -> String {
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let pool = sqlx::PgPool::connect(base).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}options=-c%20search_path%3D{schema}")
}

/// Checks the copy's report: every table with the same rows on both sides, and the
/// keys of `actors` actors identical.
fn check_report(out: &str, actors: usize) {
    let mut tables = 0;
    for line in out.lines().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != 3 {
            break;
        }
        assert_eq!(fields[1], fields[2], "{line}\n{out}");
        tables += 1;
    }
    assert_eq!(tables, maillage::db::copy::TABLES.len(), "{out}");
    for table in [
        "actors\t",
        "actions\t1\t1",
        "follows\t",
        "deliveries\t",
        "users\t1\t1",
    ] {
        assert!(out.contains(table), "{table}: {out}");
    }
    assert!(
        out.contains(&format!(
            "clés identiques (publique et privée) : {actors} acteur(s) sur {actors}"
        )),
        "{out}"
    );
    assert!(out.contains("copie vérifiée"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_copy_moves_a_node_between_engines() {
    let Some(base) = postgres_url() else {
        say_skipped("db_copy_moves_a_node_between_engines");
        return;
    };
    let mut a = spawn_app(Engine::Sqlite).await.unwrap();
    let b = spawn_app(Engine::Sqlite).await.unwrap();
    let marcq = a.collectivite_with_token("marcq", "59378").await;
    follow_marcq(&b, &a, "lille", "59350").await;
    a.publish("marcq", &marcq, &crate::helpers::sample_action())
        .await;
    assert_eq!(a.drain().await, 1);
    maillage::service::users::create_user(
        &a.state,
        "marie",
        "un mot de passe solide",
        &["marcq".into()],
        false,
    )
    .await
    .unwrap();
    let before = a.get_as_ok(&a.url("/actors/marcq")).await;

    // Refusals: the same engine, then (below) a target that is not empty.
    let dir = tempfile::tempdir().unwrap();
    let same = format!("sqlite://{}", dir.path().join("same.db").display());
    let error = fails(cli(&a, &["db", "copy", "--to", &same], None).await);
    assert!(error.contains("d'un moteur à l'autre"), "{error}");
    assert!(!dir.path().join("same.db").exists());

    // SQLite → PostgreSQL, the node stopped.
    a.stop().await;
    let postgres = empty_schema(&base).await;
    let out = ok(cli(&a, &["db", "copy", "--to", &postgres], None).await);
    // The instance actor, Marcq, and Lille (remote: its public key).
    check_report(&out, 3);
    let error = fails(cli(&a, &["db", "copy", "--to", &postgres], None).await);
    assert!(error.contains("n'est pas vide"), "{error}");

    // A node on the copy: same domain, same keys; its deliveries verify on B.
    let mut settings = a.state.settings.clone();
    settings.database.url = postgres.clone();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", a.port))
        .await
        .unwrap();
    let copy = maillage::startup::App::build_with_listener(settings, listener)
        .await
        .unwrap();
    let state = copy.state();
    assert_eq!(state.store.engine(), maillage::db::Engine::Postgres);
    let server = tokio::spawn(copy.run_until_stopped(std::future::pending()));
    let after = a.get_as_ok(&a.url("/actors/marcq")).await;
    assert_eq!(
        after["publicKey"]["publicKeyPem"],
        before["publicKey"]["publicKeyPem"]
    );
    assert_eq!(after["id"], before["id"]);
    let action = json!({"name": "Après la copie", "content": "x", "themes": ["culture"]});
    let response = a.post_action("marcq", &marcq, &action).await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "the token was copied"
    );
    let created: serde_json::Value = response.json().await.unwrap();
    let sent = maillage::federation::delivery::DeliveryWorker::new(state.clone())
        .drain()
        .await
        .unwrap();
    assert_eq!(sent, 1);
    let on_b = b
        .state
        .store
        .action_by_ap_id(&created["id"].as_str().unwrap().parse().unwrap())
        .await
        .unwrap();
    assert!(on_b.is_some(), "the signed Create verified on B");
    server.abort();

    // And back: PostgreSQL → a new SQLite file.
    let back = format!("sqlite://{}", dir.path().join("back.db").display());
    let out = ok(cli_on(&postgres, &a.domain, &["db", "copy", "--to", &back], None).await);
    assert!(out.contains("actions\t2\t2"), "{out}");
    check_report(&out.replace("actions\t2\t2", "actions\t1\t1"), 3);
}

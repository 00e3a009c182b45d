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
    assert!(
        out.contains(&format!(
            "clés identiques (publique et privée) : {actors} {} sur {actors}",
            if actors > 1 { "acteurs" } else { "acteur" }
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
    let (mut a, b, marcq) = busy_node().await;
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
    // The instance actor, Marcq, Roubaix, and Lille (remote: its public key).
    check_report(&out, 4);
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
    assert!(out.contains("actions\t3\t3"), "{out}");
    check_report(&out, 4);
}

/// Every row of every copied table of the SQLite database `url`, each as one line of
/// its values in column order (timestamps to the microsecond, PostgreSQL's precision),
/// sorted; and its `sqlite_sequence`.
async fn sqlite_rows(url: &str) -> Vec<(String, Vec<String>)> {
    use sqlx::{Column, Row, TypeInfo, ValueRef};
    let pool = sqlx::SqlitePool::connect(url).await.unwrap();
    let mut tables = Vec::new();
    for table in maillage::db::copy::TABLES
        .iter()
        .copied()
        .chain(["sqlite_sequence"])
    {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM {table}")))
            .fetch_all(&pool)
            .await
            .unwrap();
        let mut lines: Vec<String> = rows
            .iter()
            .map(|row| {
                let values: Vec<String> = (0..row.len())
                    .map(|i| {
                        let raw = row.try_get_raw(i).unwrap();
                        let value = match raw.type_info().name() {
                            "NULL" => "NULL".to_string(),
                            "INTEGER" => row.get::<i64, _>(i).to_string(),
                            "REAL" => row.get::<f64, _>(i).to_string(),
                            "BLOB" => format!("{:?}", row.get::<Vec<u8>, _>(i)),
                            _ => {
                                let text: String = row.get(i);
                                match chrono::DateTime::parse_from_rfc3339(&text) {
                                    Ok(time) => time
                                        .to_utc()
                                        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                                    Err(_) => format!("{text:?}"),
                                }
                            }
                        };
                        format!("{}={value}", row.column(i).name())
                    })
                    .collect();
                values.join(" | ")
            })
            .collect();
        lines.sort();
        tables.push((table.to_string(), lines));
    }
    pool.close().await;
    tables
}

/// A node with a bit of everything: collectivités, a remote follower, actions (one
/// deleted), deliveries, a token, an account and its session, blocks (the last one
/// removed, so that ids were given past the highest row).
async fn busy_node() -> (crate::helpers::TestApp, crate::helpers::TestApp, String) {
    let a = spawn_app(Engine::Sqlite).await.unwrap();
    let b = spawn_app(Engine::Sqlite).await.unwrap();
    let marcq = a.collectivite_with_token("marcq", "59378").await;
    a.create_collectivite("roubaix", "59512").await;
    follow_marcq(&b, &a, "lille", "59350").await;
    a.publish("marcq", &marcq, &crate::helpers::sample_action())
        .await;
    let last = a
        .publish(
            "marcq",
            &marcq,
            &json!({"name": "Supprimée", "content": "x", "themes": ["culture"]}),
        )
        .await;
    a.drain().await;
    let id = last["id"].as_str().unwrap().rsplit('/').next().unwrap();
    let response = a
        .client
        .delete(a.url(&format!("/api/v1/actions/{id}")))
        .bearer_auth(&marcq)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{response:?}");
    assert_eq!(a.drain().await, 1, "its Delete");
    maillage::service::users::create_user(
        &a.state,
        "marie",
        "un mot de passe solide",
        &["marcq".into()],
        false,
        Some("marie@marcq.example"),
    )
    .await
    .unwrap();
    maillage::service::users::login(&a.state, "marie", "un mot de passe solide", None)
        .await
        .unwrap();
    // Two notices (issue 18), one read: their times cross engines with the rest.
    let marcq_id = a.actor("marcq").await.id;
    for summary in ["Une demande de partenariat.", "Un commentaire attend."] {
        let mut tx = a.state.store.begin().await.unwrap();
        maillage::db::notifications::insert_notices(
            &mut tx,
            &maillage::db::notifications::NewNotice {
                kind: maillage::db::notifications::NoticeKind::CommentPending,
                collectivite_id: marcq_id,
                summary: summary.into(),
                link: "/admin/c/marcq/commentaires".into(),
                mail: true,
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let marie = a
        .state
        .store
        .user_by_username("marie")
        .await
        .unwrap()
        .unwrap();
    let (notices, _) = a.state.store.unread_notices(marie.id, 10).await.unwrap();
    assert_eq!(notices.len(), 2);
    let first = notices[1].id;
    a.state
        .store
        .mark_notices_read(marie.id, &[first])
        .await
        .unwrap();
    // The last block removed: its id was given, and is not to be given again.
    ok(cli(&a, &["domains", "block", "spam.example"], None).await);
    ok(cli(&a, &["domains", "block", "pub.example"], None).await);
    ok(cli(&a, &["domains", "unblock", "pub.example"], None).await);
    (a, b, marcq)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_copy_round_trip_keeps_every_row_and_sequence() {
    let Some(base) = postgres_url() else {
        say_skipped("db_copy_round_trip_keeps_every_row_and_sequence");
        return;
    };
    let (mut a, _b, _) = busy_node().await;
    let url = a.state.settings.database.url.clone();
    a.stop().await;
    // More rows than a page (1 000), keyed (received activities) and not (places:
    // paged by action, all of one action's rows together).
    let source = sqlx::SqlitePool::connect(&url).await.unwrap();
    for sql in [
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500) \
         INSERT INTO received_activities (ap_id, received_at) \
         SELECT 'https://ailleurs.example/activites/' || i, '2026-01-02T03:04:05.123456+00:00' FROM n",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500) \
         INSERT INTO action_places (action_id, insee, lat, lon) \
         SELECT (SELECT MIN(id) FROM actions) + (i % 2), printf('59%03d', i % 1000), 50.0 + i / 1e4, 3.0 FROM n",
    ] {
        sqlx::query(sql).execute(&source).await.unwrap();
    }
    source.close().await;
    let before = sqlite_rows(&url).await;
    let sequences = &before
        .iter()
        .find(|(t, _)| t == "sqlite_sequence")
        .unwrap()
        .1;
    assert!(
        sequences.iter().any(|s| s.contains("\"blocks\" | seq=2")),
        "{sequences:?}"
    );

    let postgres = empty_schema(&base).await;
    check_report(
        &ok(cli(&a, &["db", "copy", "--to", &postgres], None).await),
        4,
    );
    // The PostgreSQL sequences continue where SQLite's stood, past the removed block.
    let source = sqlx::SqlitePool::connect(&url).await.unwrap();
    let sqlite_last: i64 =
        sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = 'blocks'")
            .fetch_one(&source)
            .await
            .unwrap();
    source.close().await;
    let pool = sqlx::PgPool::connect(&postgres).await.unwrap();
    let pg_last: i64 = sqlx::query_scalar(
        "SELECT pg_sequence_last_value(pg_get_serial_sequence('blocks', 'id')::regclass)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let highest: i64 = sqlx::query_scalar("SELECT MAX(id) FROM blocks")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(pg_last, sqlite_last);
    assert!(pg_last > highest, "{pg_last} > {highest}");

    // Back to a new SQLite file that `maillage migrate` prepared (its own instance
    // actor is replaced): every row, key and sequence as in the first file.
    let dir = tempfile::tempdir().unwrap();
    let back = format!("sqlite://{}", dir.path().join("back.db").display());
    ok(cli_on(&back, &a.domain, &["migrate"], None).await);
    let out = ok(cli_on(&postgres, &a.domain, &["db", "copy", "--to", &back], None).await);
    check_report(&out, 4);
    let after = sqlite_rows(&back).await;
    for ((table, rows), (_, copied)) in before.iter().zip(&after) {
        assert_eq!(rows, copied, "table {table}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_copy_refuses_a_target_at_another_migration_level() {
    let Some(base) = postgres_url() else {
        say_skipped("db_copy_refuses_a_target_at_another_migration_level");
        return;
    };
    let mut a = spawn_app(Engine::Sqlite).await.unwrap();
    a.create_collectivite("marcq", "59378").await;
    a.stop().await;
    // A target migrated by an older Maillage: up to 0011, without `users.disabled_at`.
    let older = tempfile::tempdir().unwrap();
    for entry in
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres")).unwrap()
    {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.as_str() < "0012" {
            std::fs::copy(&path, older.path().join(&name)).unwrap();
        }
    }
    let postgres = empty_schema(&base).await;
    let pool = sqlx::PgPool::connect(&postgres).await.unwrap();
    sqlx::migrate::Migrator::new(older.path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    let error = fails(cli(&a, &["db", "copy", "--to", &postgres], None).await);
    assert!(error.contains("pas les mêmes colonnes"), "{error}");
    // (Migration 0014 added the notification columns; listed by name.)
    assert!(
        error.contains(
            "users (seulement dans la source : digest_sent_on, disabled_at, email, notify ; seulement dans la cible : aucune)"
        ),
        "{error}"
    );
    assert!(error.contains("même niveau de migration"), "{error}");
    let actors: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM actors")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(actors, 0, "nothing copied");
    pool.close().await;
}

/// A copy whose counts do not match (here a target trigger drops the tokens) is
/// refused before its transaction commits: the message names the table, the target
/// keeps no row, and a new run on the same target copies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_copy_that_does_not_match_writes_nothing() {
    let Some(base) = postgres_url() else {
        say_skipped("db_copy_that_does_not_match_writes_nothing");
        return;
    };
    let mut a = spawn_app(Engine::Sqlite).await.unwrap();
    a.create_collectivite("marcq", "59378").await;
    a.stop().await;
    let postgres = empty_schema(&base).await;
    let pool = sqlx::PgPool::connect(&postgres).await.unwrap();
    sqlx::migrate!("./migrations/postgres")
        .run(&pool)
        .await
        .unwrap();
    for sql in [
        "CREATE FUNCTION drop_row() RETURNS trigger AS $$ BEGIN RETURN NULL; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER drop_tokens BEFORE INSERT ON api_tokens FOR EACH ROW EXECUTE FUNCTION drop_row()",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    let error = fails(cli(&a, &["db", "copy", "--to", &postgres], None).await);
    assert!(error.contains("copie annulée"), "{error}");
    assert!(
        error.contains("nombres de lignes différents pour api_tokens (1 ⇄ 0)"),
        "{error}"
    );
    let actors: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM actors")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(actors, 0, "nothing committed");
    sqlx::query("DROP TRIGGER drop_tokens ON api_tokens")
        .execute(&pool)
        .await
        .unwrap();
    let out = ok(cli(&a, &["db", "copy", "--to", &postgres], None).await);
    assert!(out.contains("copie vérifiée"), "{out}");
    pool.close().await;
}

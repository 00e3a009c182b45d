//! The operator's admin commands (issue 14 point 4, SPEC §11): the `maillage` binary
//! run against a real node's database while the node serves, on both engines, and
//! their effect seen through real HTTP (and, for a deleted collectivité, on a second
//! node).

use std::process::{Command, Output, Stdio};

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};

use crate::both_engines;
use crate::cli::{fails, ok, run_with_input};
use crate::helpers::{TestApp, assert_problem, sample_action, spawn_app};

/// Runs `maillage ARGS` on `app`'s database and domain, from an empty folder, with
/// `input` on standard input (or none).
pub(crate) async fn cli(app: &TestApp, args: &[&str], input: Option<&str>) -> Output {
    let url = app.state.settings.database.url.clone();
    cli_on(&url, &app.domain, args, input).await
}

/// Runs `maillage ARGS` on the database `url` for the node `domain`, from an empty
/// folder, with `input` on standard input (or none).
pub(crate) async fn cli_on(url: &str, domain: &str, args: &[&str], input: Option<&str>) -> Output {
    let (url, domain) = (url.to_string(), domain.to_string());
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let input = input.map(str::to_string);
    tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_maillage"));
        command
            .args(&args)
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("MAILLAGE_DATABASE__URL", url)
            .env("MAILLAGE_DOMAIN", domain)
            .env("MAILLAGE_FEDERATION__DEBUG", "true")
            .env("MAILLAGE_LOG__LEVEL", "warn");
        match input {
            Some(input) => run_with_input(command, &input),
            None => command.stdin(Stdio::null()).output().unwrap(),
        }
    })
    .await
    .unwrap()
}

both_engines!(
    migrate_status_reads_and_changes_nothing,
    tokens_are_listed_and_revoked_at_once,
    users_passwd_disable_enable,
    domains_unblock,
    queue_status_and_retry,
    collectivite_delete_federates_and_tombstones,
    two_deletions_at_once_queue_one_delete,
);

/// Runs one SQL statement on the node's database.
async fn execute(app: &TestApp, sql: &'static str) -> u64 {
    maillage::db::on_pool!(&app.state.store, pool => {
        sqlx::query(sql).execute(pool).await.unwrap().rows_affected()
    })
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    maillage::db::on_pool!(&app.state.store, pool => {
        sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
    })
}

async fn migrate_status_reads_and_changes_nothing(app: TestApp) {
    let out = ok(cli(&app, &["migrate", "--status"], None).await);
    assert!(out.contains(", 0 en attente"), "{out}");
    let engine = match app.engine {
        crate::helpers::Engine::Sqlite => "(SQLite)",
        crate::helpers::Engine::Postgres => "(PostgreSQL)",
    };
    assert!(out.lines().next().unwrap().ends_with(engine), "{out}");
    assert!(out.contains("0001 « foundation »\tappliquée le "), "{out}");
    // A migration recorded as not applied shows as pending, and reading the status
    // applies nothing.
    let before = count(&app, "SELECT COUNT(*) FROM _sqlx_migrations").await;
    execute(&app, "DELETE FROM _sqlx_migrations WHERE version = 1").await;
    let out = ok(cli(&app, &["migrate", "--status"], None).await);
    assert!(out.contains(", 1 en attente"), "{out}");
    assert!(out.contains("0001 « foundation »\ten attente"), "{out}");
    assert!(out.contains("maillage migrate"), "{out}");
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM _sqlx_migrations").await,
        before - 1,
        "--status applied nothing"
    );
    // A migration from a newer version is named as such.
    execute(
        &app,
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         SELECT 9999, 'from the future', TRUE, checksum, 0 FROM _sqlx_migrations WHERE version = 2",
    )
    .await;
    let out = ok(cli(&app, &["migrate", "--status"], None).await);
    assert!(
        out.contains("9999 « from the future »\tappliquée le "),
        "{out}"
    );
    assert!(out.contains("version plus récente"), "{out}");

    // Where there is no database, nothing is read and nothing is created.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("absent.db");
    let output = tokio::task::spawn_blocking({
        let url = format!("sqlite://{}", file.display());
        let dir_path = dir.path().to_path_buf();
        move || {
            Command::new(env!("CARGO_BIN_EXE_maillage"))
                .args(["migrate", "--status"])
                .current_dir(dir_path)
                .env_clear()
                .env("MAILLAGE_DATABASE__URL", url)
                .stdin(Stdio::null())
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let error = fails(output);
    assert!(error.contains("aucune base de données Maillage"), "{error}");
    assert!(!file.exists(), "no phantom database");
}

async fn patch_marcq(app: &TestApp, token: &str) -> StatusCode {
    app.client
        .patch(app.url("/api/v1/collectivites/marcq"))
        .bearer_auth(token)
        .json(&json!({"summary": "Ville du Nord."}))
        .send()
        .await
        .unwrap()
        .status()
}

async fn tokens_are_listed_and_revoked_at_once(app: TestApp) {
    let token = app.collectivite_with_token("marcq", "59378").await;
    assert_eq!(patch_marcq(&app, &token).await, StatusCode::OK);

    let list = ok(cli(&app, &["token", "list"], None).await);
    let hash = maillage::service::tokens::hash_token(&token);
    assert!(!list.contains("mai_") && !list.contains(&hash), "{list}");
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines[0], "id\tportée\tnote\tcréé\tdernier usage");
    let admin = lines.iter().find(|l| l.contains("administration du nœud"));
    assert!(admin.unwrap().contains("\ttests\t"), "{list}");
    let marcq = lines
        .iter()
        .find(|l| l.contains("\tcollectivité marcq\t"))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(!marcq.ends_with("jamais"), "last use recorded: {marcq}");
    let id = marcq.split('\t').next().unwrap().to_string();

    let only = ok(cli(&app, &["token", "list", "--collectivite", "marcq"], None).await);
    assert_eq!(only.lines().count(), 2, "{only}");
    let error = fails(cli(&app, &["token", "list", "--collectivite", "absente"], None).await);
    assert!(error.contains("absente"), "{error}");

    let out = ok(cli(&app, &["token", "revoke", &id], None).await);
    assert!(out.contains(&format!("jeton {id} révoqué")), "{out}");
    // At once, on the running node.
    assert_eq!(patch_marcq(&app, &token).await, StatusCode::UNAUTHORIZED);
    let error = fails(cli(&app, &["token", "revoke", &id], None).await);
    assert!(error.contains("aucun jeton"), "{error}");
    let usage = cli(&app, &["token", "revoke", "abc"], None).await;
    assert_eq!(usage.status.code(), Some(2), "{usage:?}");
}

const PASSWORD: &str = "un mot de passe solide";
const NEW_PASSWORD: &str = "un autre mot de passe solide";

/// Signs in from `client`; the session cookie, or the status of a refusal.
async fn sign_in_from(
    app: &TestApp,
    username: &str,
    password: &str,
    client: &str,
) -> Result<String, StatusCode> {
    let response = app
        .post_sign_in(
            &[("username", username), ("password", password)],
            Some(client),
        )
        .await;
    if response.status() != StatusCode::SEE_OTHER || response.headers()[LOCATION] != "/admin" {
        return Err(response.status());
    }
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap();
    Ok(cookie.split(';').next().unwrap().to_string())
}

/// [`sign_in_from`] one client address.
async fn sign_in(app: &TestApp, username: &str, password: &str) -> Result<String, StatusCode> {
    sign_in_from(app, username, password, "203.0.113.40").await
}

/// Whether the session cookie opens the admin.
async fn signed_in(app: &TestApp, cookie: &str) -> bool {
    let response = app
        .client
        .get(app.url("/admin"))
        .header(COOKIE, cookie)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    response.status() == StatusCode::OK
}

async fn users_passwd_disable_enable(app: TestApp) {
    app.collectivite_with_token("marcq", "59378").await;
    let input = format!("{PASSWORD}\n");
    let create = [
        "user",
        "create",
        "--username",
        "marie",
        "--collectivite",
        "marcq",
    ];
    ok(cli(&app, &create, Some(&input)).await);
    let session = sign_in(&app, "marie", PASSWORD).await.unwrap();
    assert!(signed_in(&app, &session).await);

    let list = ok(cli(&app, &["user", "list"], None).await);
    assert!(
        list.contains("marie\téditeur de marcq\tactif\t1\t"),
        "{list}"
    );

    // passwd: the same rules as create, then the new password and no old session.
    let error = fails(cli(&app, &["user", "passwd", "marie"], Some("court\n")).await);
    assert!(error.contains("12 caractères"), "{error}");
    let error = fails(cli(&app, &["user", "passwd", "absent"], Some(&input)).await);
    assert!(error.contains("aucun compte « absent »"), "{error}");
    assert!(
        signed_in(&app, &session).await,
        "a refused passwd changes nothing"
    );
    let out = ok(cli(
        &app,
        &["user", "passwd", "marie"],
        Some(&format!("{NEW_PASSWORD}\n")),
    )
    .await);
    assert!(out.contains("sessions sont fermées"), "{out}");
    assert!(!signed_in(&app, &session).await, "sessions ended");
    assert_eq!(
        sign_in(&app, "marie", PASSWORD).await,
        Err(StatusCode::UNAUTHORIZED)
    );
    let session = sign_in(&app, "marie", NEW_PASSWORD).await.unwrap();
    assert!(signed_in(&app, &session).await);

    // disable: sessions end; the right password gets the wrong password's answer.
    let out = ok(cli(&app, &["user", "disable", "marie"], None).await);
    assert!(out.contains("« marie » désactivé"), "{out}");
    assert!(!signed_in(&app, &session).await, "sessions ended");
    let disabled = app
        .post_sign_in(
            &[("username", "marie"), ("password", NEW_PASSWORD)],
            Some("203.0.113.41"),
        )
        .await;
    let wrong = app
        .post_sign_in(
            &[
                ("username", "marie"),
                ("password", "pas le bon mot de passe"),
            ],
            Some("203.0.113.42"),
        )
        .await;
    assert_eq!(disabled.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let (disabled, wrong) = (disabled.text().await.unwrap(), wrong.text().await.unwrap());
    let message = "identifiant ou mot de passe incorrect";
    assert!(disabled.contains(message) && wrong.contains(message));
    let list = ok(cli(&app, &["user", "list"], None).await);
    assert!(
        list.contains("marie\téditeur de marcq\tdésactivé le "),
        "{list}"
    );
    let out = ok(cli(&app, &["user", "disable", "marie"], None).await);
    assert!(out.contains("déjà désactivé"), "{out}");

    let out = ok(cli(&app, &["user", "enable", "marie"], None).await);
    assert!(out.contains("« marie » réactivé"), "{out}");
    let session = sign_in(&app, "marie", NEW_PASSWORD).await.unwrap();
    assert!(signed_in(&app, &session).await);

    // The limiter counts a disabled account's sign-ins, right password or not: it locks
    // as for wrong passwords, which a right password would otherwise show.
    let create = [
        "user",
        "create",
        "--username",
        "paul",
        "--collectivite",
        "marcq",
    ];
    ok(cli(&app, &create, Some(&input)).await);
    ok(cli(&app, &["user", "disable", "paul"], None).await);
    for _ in 0..maillage::service::users::MAX_FAILURES {
        assert_eq!(
            sign_in_from(&app, "paul", PASSWORD, "198.51.100.7").await,
            Err(StatusCode::UNAUTHORIZED)
        );
    }
    assert_eq!(
        sign_in_from(&app, "paul", PASSWORD, "198.51.100.8").await,
        Err(StatusCode::TOO_MANY_REQUESTS),
        "the account is locked"
    );
}

async fn domains_unblock(app: TestApp) {
    ok(cli(
        &app,
        &["domains", "block", "spam.example", "--reason", "pourriel"],
        None,
    )
    .await);
    ok(cli(
        &app,
        &["domains", "block", "https://autre.example/users/x"],
        None,
    )
    .await);
    let list = ok(cli(&app, &["domains", "list"], None).await);
    assert!(list.contains("bloqué\tspam.example\tpourriel"), "{list}");

    let out = ok(cli(&app, &["domains", "unblock", "Spam.Example."], None).await);
    assert_eq!(out.trim(), "débloqué : spam.example");
    let out = ok(cli(
        &app,
        &["domains", "unblock", "https://autre.example/users/x"],
        None,
    )
    .await);
    assert!(
        out.contains("débloqué : https://autre.example/users/x"),
        "{out}"
    );
    assert!(app.state.store.blocks().await.unwrap().is_empty());
    let list = ok(cli(&app, &["domains", "list"], None).await);
    assert!(!list.contains("spam.example"), "{list}");

    let error = fails(cli(&app, &["domains", "unblock", "spam.example"], None).await);
    assert!(
        error.contains("« spam.example » n'est pas bloqué"),
        "{error}"
    );
    let error = fails(cli(&app, &["domains", "unblock", "pas un domaine"], None).await);
    assert!(error.contains("ni un nom de domaine"), "{error}");
}

/// Follows `acct:marcq@a` from a new collectivité of `node`.
pub(crate) async fn follow_marcq(node: &TestApp, a: &TestApp, username: &str, insee: &str) {
    let token = node.collectivite_with_token(username, insee).await;
    let response = node
        .client
        .post(node.url(&format!("/api/v1/collectivites/{username}/follows")))
        .bearer_auth(&token)
        .json(&json!({ "target": format!("acct:marcq@{}", a.domain) }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(node.drain().await, 1, "the Follow goes out");
    assert_eq!(a.drain().await, 1, "the Accept comes back");
}

async fn queue_status_and_retry(a: TestApp) {
    let marcq = a.collectivite_with_token("marcq", "59378").await;
    let mut d = spawn_app(a.engine).await.unwrap();
    follow_marcq(&d, &a, "douai", "59178").await;
    let out = ok(cli(&a, &["queue", "status"], None).await);
    assert_eq!(out.trim(), "0 livraison en attente, 0 abandonnée");

    d.stop().await;
    for i in 0..2 {
        let action = json!({"name": format!("Action {i}"), "content": "x", "themes": ["culture"]});
        a.publish("marcq", &marcq, &action).await;
    }
    assert_eq!(a.drain().await, 2);
    let out = ok(cli(&a, &["queue", "status"], None).await);
    assert!(
        out.starts_with("2 livraisons en attente, 0 abandonnée ; la plus ancienne attend depuis "),
        "{out}"
    );
    let row = out
        .lines()
        .find(|l| l.starts_with(&format!("{}\t", d.domain)))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(row.starts_with(&format!("{}\t2\t0\t", d.domain)), "{row}");
    assert!(row.contains("\tdans "), "retried later: {row}");
    assert_eq!(a.drain().await, 0, "nothing due");

    d.restart().await;
    let host = d.domain.clone();
    let out = ok(cli(&a, &["queue", "retry", "--host", &host], None).await);
    assert!(out.starts_with("2 livraisons en attente vers"), "{out}");
    assert_eq!(a.drain().await, 2, "due at once");
    assert_eq!(a.state.store.delivery_counts().await.unwrap().pending, 0);

    // Given up deliveries come back with --failed.
    d.stop().await;
    let action = json!({"name": "Action 3", "content": "x", "themes": ["culture"]});
    a.publish("marcq", &marcq, &action).await;
    a.drain().await;
    execute(
        &a,
        "UPDATE deliveries SET state = 'failed', attempts = 10 WHERE state = 'pending'",
    )
    .await;
    let out = ok(cli(&a, &["queue", "status"], None).await);
    assert!(
        out.starts_with("0 livraison en attente, 1 abandonnée"),
        "{out}"
    );
    d.restart().await;
    // A refusal (4xx) stays refused: retrying cannot change the answer.
    execute(
        &a,
        "UPDATE deliveries SET last_status = 410 WHERE state = 'failed'",
    )
    .await;
    let out = ok(cli(&a, &["queue", "retry", "--failed"], None).await);
    assert!(out.starts_with("0 livraison abandonnée remise"), "{out}");
    execute(
        &a,
        "UPDATE deliveries SET last_status = 503 WHERE state = 'failed'",
    )
    .await;
    let out = ok(cli(&a, &["queue", "retry", "--failed"], None).await);
    assert!(out.starts_with("1 livraison abandonnée remise"), "{out}");
    assert_eq!(a.drain().await, 1);
    let counts = a.state.store.delivery_counts().await.unwrap();
    assert_eq!(
        (counts.pending, counts.failed),
        (0, 0),
        "{}",
        a.deliveries().await
    );

    let usage = cli(&a, &["queue", "retry"], None).await;
    assert_eq!(
        usage.status.code(),
        Some(2),
        "--host or --failed: {usage:?}"
    );
}

async fn collectivite_delete_federates_and_tombstones(a: TestApp) {
    let b = spawn_app(a.engine).await.unwrap();
    let marcq_token = a.collectivite_with_token("marcq", "59378").await;
    follow_marcq(&b, &a, "lille", "59350").await;
    let mut open = sample_action();
    open["open_to_partners"] = json!(true);
    let action = a.publish("marcq", &marcq_token, &open).await;
    let action_id = action["id"].as_str().unwrap().to_string();
    assert_eq!(a.drain().await, 1, "the Create reaches B");
    // C's Douai becomes a partner of the action (without following Marcq).
    let c = spawn_app(a.engine).await.unwrap();
    let douai = c.collectivite_with_token("douai", "59178").await;
    let response = c
        .client
        .post(c.url("/api/v1/collectivites/douai/partnership-requests"))
        .bearer_auth(&douai)
        .json(&json!({ "action": action_id }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(c.drain().await, 1, "the Join goes out");
    let received: Value = a
        .client
        .get(a.url("/api/v1/collectivites/marcq/partnership-requests?direction=received"))
        .bearer_auth(&marcq_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let accept = format!(
        "/api/v1/partnership-requests/{}/accept",
        received[0]["id"].as_i64().unwrap()
    );
    let response = a
        .client
        .post(a.url(&accept))
        .bearer_auth(&marcq_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    a.drain().await;
    let marcq_id: url::Url = a.url("/actors/marcq").parse().unwrap();
    let on_b = b.state.store.actor_by_ap_id(&marcq_id).await.unwrap();
    assert!(on_b.is_some());
    let action_on_b = || async {
        b.state
            .store
            .action_by_ap_id(&action_id.parse().unwrap())
            .await
            .unwrap()
    };
    assert!(action_on_b().await.is_some());
    // Marcq answers on its action: a comment of its own.
    let response = a
        .client
        .post(a.url(&format!(
            "/api/v1/actions/{}/comments",
            action["uuid"].as_str().unwrap()
        )))
        .bearer_auth(&marcq_token)
        .json(&json!({ "content": "Nous ouvrons la démarche." }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let comment: Value = response.json().await.unwrap();
    let comment_id = comment["ap_id"].as_str().unwrap().to_string();
    assert_eq!(a.get_as(&comment_id).await.status(), StatusCode::OK);
    a.drain().await;

    // Refusals: not an admin token, unknown, no confirmation.
    let delete = |token: &str, username: &str| {
        a.client
            .delete(a.url(&format!("/api/v1/collectivites/{username}")))
            .bearer_auth(token)
            .send()
    };
    assert_problem(
        delete(&marcq_token, "marcq").await.unwrap(),
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_problem(
        delete(&a.admin_token, "absente").await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    let error = fails(cli(&a, &["collectivite", "delete", "marcq"], None).await);
    assert!(error.contains("--yes"), "{error}");
    assert_eq!(a.get_as(marcq_id.as_str()).await.status(), StatusCode::OK);

    let response = delete(&a.admin_token, "marcq").await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let deleted: Value = response.json().await.unwrap();
    assert_eq!(deleted["actions"], 1);
    assert_eq!(
        deleted["deliveries"], 2,
        "B's inbox (follower), C's (partner)"
    );
    // The key stays until the Delete is delivered, then goes.
    let key = |app: &TestApp| {
        let store = app.state.store.clone();
        let id = marcq_id.clone();
        async move {
            store
                .actor_by_ap_id(&id)
                .await
                .unwrap()
                .unwrap()
                .private_key_pem
        }
    };
    assert!(key(&a).await.is_some());
    assert_eq!(
        a.drain().await,
        2,
        "the Delete goes out: {}",
        a.deliveries().await
    );
    assert!(
        a.deliveries().await.contains("Delete → "),
        "{}",
        a.deliveries().await
    );
    assert!(
        !a.deliveries().await.contains("failed"),
        "{}",
        a.deliveries().await
    );
    assert!(key(&a).await.is_none(), "key dropped once delivered");

    // B dropped the actor and its actions.
    assert!(
        b.state
            .store
            .actor_by_ap_id(&marcq_id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(action_on_b().await.is_none(), "B dropped the action");
    assert!(
        c.state
            .store
            .actor_by_ap_id(&marcq_id)
            .await
            .unwrap()
            .is_none(),
        "the partner's node dropped the actor"
    );

    // A: 410 Tombstones, WebFinger 404, out of the lists.
    let response = a.get_as(marcq_id.as_str()).await;
    assert_eq!(response.status(), StatusCode::GONE);
    let tombstone: Value = response.json().await.unwrap();
    assert_eq!(tombstone["type"], "Tombstone");
    assert_eq!(tombstone["formerType"], "Organization");
    assert_eq!(tombstone["id"], marcq_id.as_str());
    assert_eq!(a.get_as(&action_id).await.status(), StatusCode::GONE);
    assert_eq!(
        a.get_as(&comment_id).await.status(),
        StatusCode::NOT_FOUND,
        "its comments went with it"
    );
    let webfinger = a
        .client
        .get(a.url(&format!(
            "/.well-known/webfinger?resource=acct:marcq@{}",
            a.domain
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(webfinger.status(), StatusCode::NOT_FOUND);
    let listed = a.get_json(a.url("/api/v1/collectivites")).await;
    assert_eq!(listed.as_array().unwrap().len(), 0, "{listed}");
    let gone = a
        .client
        .get(a.url("/api/v1/collectivites/marcq"))
        .send()
        .await
        .unwrap();
    assert_problem(gone, StatusCode::GONE).await;
    let directory = a.get_json(a.url("/api/v1/directory/actions")).await;
    assert!(!directory.to_string().contains(&action_id), "{directory}");
    // The token of the deleted collectivité went with it.
    assert_eq!(
        patch_marcq(&a, &marcq_token).await,
        StatusCode::UNAUTHORIZED
    );
    assert_problem(
        delete(&a.admin_token, "marcq").await.unwrap(),
        StatusCode::GONE,
    )
    .await;
    // A Follow of the deleted collectivité is ignored: no follower, no signed Accept.
    let lille = b.actor("lille").await;
    let follow = serde_json::to_vec(&json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": b.url("/activities/follow-after-delete"),
        "type": "Follow",
        "actor": lille.ap_id,
        "object": marcq_id,
    }))
    .unwrap();
    let response =
        crate::helpers::post_signed(&a.client, &a.url("/inbox"), &lille, &follow, |_| {}).await;
    assert!(response.status().is_success(), "{}", response.status());
    let marcq = a
        .state
        .store
        .actor_by_ap_id(&marcq_id)
        .await
        .unwrap()
        .unwrap();
    let lille_on_a = a
        .state
        .store
        .actor_by_ap_id(&lille.ap_id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        a.state
            .store
            .follow_between(lille_on_a.id, marcq.id)
            .await
            .unwrap()
            .is_none(),
        "no follower for a deleted collectivité"
    );
    assert_eq!(a.drain().await, 0, "no Accept: {}", a.deliveries().await);

    // From the command line, confirmed with --yes; nobody to tell.
    a.create_collectivite("roubaix", "59512").await;
    let out = ok(cli(&a, &["collectivite", "delete", "roubaix", "--yes"], None).await);
    assert!(
        out.contains("« roubaix » supprimée : 0 action retirée, 0 livraison"),
        "{out}"
    );
    let list = ok(cli(&a, &["collectivite", "list"], None).await);
    assert!(!list.contains("roubaix"), "{list}");
    let roubaix_id: url::Url = a.url("/actors/roubaix").parse().unwrap();
    assert!(
        key(&a).await.is_none() && {
            let roubaix = a.state.store.actor_by_ap_id(&roubaix_id).await.unwrap();
            roubaix.unwrap().private_key_pem.is_none()
        },
        "no delivery to sign: the key went with the deletion"
    );
    let error = fails(cli(&a, &["collectivite", "delete", "roubaix", "--yes"], None).await);
    assert!(error.contains("supprimée le"), "{error}");
    // The address stays taken.
    let response = a
        .client
        .post(a.url("/api/v1/collectivites"))
        .bearer_auth(&a.admin_token)
        .json(&json!({"username": "roubaix", "insee": "59512"}))
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::CONFLICT).await;
}

/// Every admin command's `--help` gives an example.
#[test]
fn admin_commands_help_with_an_example() {
    for command in [
        &["migrate"][..],
        &["token", "list"],
        &["token", "revoke"],
        &["user", "list"],
        &["user", "passwd"],
        &["user", "disable"],
        &["user", "enable"],
        &["domains", "unblock"],
        &["queue", "status"],
        &["queue", "retry"],
        &["collectivite", "delete"],
        &["db", "copy"],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_maillage"))
            .args(command)
            .arg("--help")
            .env_clear()
            .output()
            .unwrap();
        let help = ok(output);
        let example = help
            .lines()
            .find(|l| l.trim_start().starts_with("Example: "))
            .unwrap_or_else(|| panic!("{command:?}: {help}"));
        assert!(
            example.contains(&format!("maillage {}", command.join(" "))),
            "{command:?}: {help}"
        );
    }
}

/// Two deletions of one collectivité at once: one deletes, the other gets `410 Gone`,
/// and a single `Delete` is stored and queued.
async fn two_deletions_at_once_queue_one_delete(a: TestApp) {
    let b = spawn_app(a.engine).await.unwrap();
    a.create_collectivite("marcq", "59378").await;
    follow_marcq(&b, &a, "lille", "59350").await;
    let marcq = a
        .state
        .store
        .local_collectivite("marcq")
        .await
        .unwrap()
        .unwrap();
    let delete = maillage::service::collectivites::delete_collectivite;
    let (first, second) = tokio::join!(delete(&a.state, &marcq), delete(&a.state, &marcq));
    let statuses = [&first, &second].map(|r| match r {
        Ok(_) => 202,
        Err(e) => e.status().as_u16(),
    });
    assert!(
        statuses == [202, 410] || statuses == [410, 202],
        "{first:?} {second:?}"
    );
    assert_eq!(a.drain().await, 1, "one Delete: {}", a.deliveries().await);
}

both_engines!(user_delete_keeps_an_admin);

/// `user delete` and `user role`: the account, its sessions and its links go; the
/// last enabled node admin stays an admin; scripts must say --yes.
async fn user_delete_keeps_an_admin(app: TestApp) {
    use maillage::service::users::{create_user, login};
    const PASSWORD: &str = "un mot de passe solide";
    let exists = async |name: &str| {
        let user = app.state.store.user_by_username(name).await.unwrap();
        user.is_some()
    };
    app.create_collectivite("marcq", "59378").await;
    create_user(
        &app.state,
        "marie",
        PASSWORD,
        &["marcq".into()],
        false,
        None,
    )
    .await
    .unwrap();
    create_user(&app.state, "chef", PASSWORD, &["marcq".into()], true, None)
        .await
        .unwrap();
    let (token, _) = login(&app.state, "marie", PASSWORD, None).await.unwrap();

    let error = fails(cli(&app, &["user", "delete", "marie"], None).await);
    assert!(error.contains("--yes"), "{error}");
    assert!(exists("marie").await);
    let out = ok(cli(&app, &["user", "delete", "marie", "--yes"], None).await);
    assert!(out.contains("compte « marie » supprimé"), "{out}");
    assert!(!exists("marie").await);
    assert!(
        maillage::service::users::session(&app.state, &token)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM sessions").await, 0);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM user_collectivites").await,
        1,
        "chef's link only"
    );
    let error = fails(cli(&app, &["user", "delete", "marie", "--yes"], None).await);
    assert!(error.contains("aucun compte « marie »"), "{error}");

    // The last enabled admin stays, even beside a disabled one.
    create_user(
        &app.state,
        "adjoint",
        PASSWORD,
        &["marcq".into()],
        true,
        None,
    )
    .await
    .unwrap();
    ok(cli(&app, &["user", "disable", "adjoint"], None).await);
    let error = fails(cli(&app, &["user", "disable", "chef"], None).await);
    assert!(
        error.contains("« chef » est le dernier compte administrateur actif"),
        "{error}"
    );
    assert!(
        ok(cli(&app, &["user", "list"], None).await)
            .contains("chef\tadministrateur du nœud\tactif"),
        "the last enabled admin stays enabled"
    );
    let out = ok(cli(&app, &["user", "disable", "adjoint"], None).await);
    assert!(out.contains("déjà désactivé"), "{out}");
    let error = fails(cli(&app, &["user", "delete", "chef", "--yes"], None).await);
    assert!(
        error.contains("dernier compte administrateur actif"),
        "{error}"
    );
    assert!(exists("chef").await);
    let error = fails(cli(&app, &["user", "role", "chef", "--editor"], None).await);
    assert!(
        error.contains("dernier compte administrateur actif"),
        "{error}"
    );
    ok(cli(&app, &["user", "enable", "adjoint"], None).await);
    ok(cli(&app, &["user", "delete", "chef", "--yes"], None).await);
    // Roles: the remaining admin cannot step down until another is made admin.
    create_user(&app.state, "paul", PASSWORD, &["marcq".into()], false, None)
        .await
        .unwrap();
    let error = fails(cli(&app, &["user", "role", "adjoint", "--editor"], None).await);
    assert!(
        error.contains("dernier compte administrateur actif"),
        "{error}"
    );
    let out = ok(cli(&app, &["user", "role", "paul", "--admin"], None).await);
    assert!(
        out.contains("compte « paul » : administrateur du nœud"),
        "{out}"
    );
    assert!(
        app.state
            .store
            .user_by_username("paul")
            .await
            .unwrap()
            .unwrap()
            .admin
    );
    ok(cli(&app, &["user", "role", "adjoint", "--editor"], None).await);
    assert!(
        !app.state
            .store
            .user_by_username("adjoint")
            .await
            .unwrap()
            .unwrap()
            .admin
    );
    let usage = cli(&app, &["user", "role", "paul"], None).await;
    assert_eq!(usage.status.code(), Some(2), "{usage:?}");
    assert!(!exists("chef").await);
    // An editor edits at least one collectivité.
    create_user(&app.state, "seul", PASSWORD, &[], true, None)
        .await
        .unwrap();
    let error = fails(cli(&app, &["user", "role", "seul", "--editor"], None).await);
    assert!(
        error.contains("un compte édite au moins une collectivité"),
        "{error}"
    );
    assert!(
        app.state
            .store
            .user_by_username("seul")
            .await
            .unwrap()
            .unwrap()
            .admin
    );

    let help = ok(cli(&app, &["user", "delete", "--help"], None).await);
    assert!(
        help.contains("Example: maillage user delete marie --yes"),
        "{help}"
    );
}

crate::postgres_only!(two_admins_leaving_at_once_keep_one);

/// The last two enabled node admins deleted, disabled or made editors at once: the
/// second change waits for the first (READ COMMITTED would let each see the other) and
/// is refused, so one admin stays.
async fn two_admins_leaving_at_once_keep_one(app: TestApp) {
    use crate::helpers::{holding_transaction, postgres_pool, until_blocked_by};
    use maillage::db::users::AccountChange;
    use maillage::service::users::create_user;
    const PASSWORD: &str = "un mot de passe solide";
    let pool = postgres_pool(&app);
    app.create_collectivite("marcq", "59378").await;
    type Change =
        fn(
            maillage::db::Store,
            i64,
        )
            -> futures_util::future::BoxFuture<'static, maillage::db::StoreResult<AccountChange>>;
    let changes: [(&str, Change); 3] = [
        ("delete", |store, id| {
            Box::pin(async move { store.delete_user(id).await })
        }),
        ("disable", |store, id| {
            Box::pin(async move { store.set_user_disabled(id, true).await })
        }),
        ("editor", |store, id| {
            Box::pin(async move { store.set_user_admin(id, false).await })
        }),
    ];
    for (round, (name, change)) in changes.into_iter().enumerate() {
        let first = format!("premier{round}");
        let second = format!("second{round}");
        let mut ids = Vec::new();
        for username in [&first, &second] {
            let user = create_user(
                &app.state,
                username,
                PASSWORD,
                &["marcq".into()],
                true,
                None,
            )
            .await
            .unwrap();
            ids.push(user.id);
        }
        // Only these two are enabled admins.
        sqlx::query("UPDATE users SET admin = FALSE WHERE id <> $1 AND id <> $2")
            .bind(ids[0])
            .bind(ids[1])
            .execute(&pool)
            .await
            .unwrap();
        let (mut holder, pid) = holding_transaction(&pool).await;
        // The first leaves (guarded, the other admin is there), uncommitted.
        sqlx::query("UPDATE users SET admin = FALSE WHERE id = $1")
            .bind(ids[0])
            .execute(&mut *holder)
            .await
            .unwrap();
        let task = tokio::spawn(change(app.state.store.clone(), ids[1]));
        until_blocked_by(&pool, pid, &task).await;
        holder.commit().await.unwrap();
        let outcome = task.await.unwrap();
        assert!(
            matches!(outcome, Ok(AccountChange::LastAdmin)),
            "{name}: {outcome:?}"
        );
        let admins: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE admin = TRUE AND disabled_at IS NULL",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(admins, 1, "{name}");
    }
}

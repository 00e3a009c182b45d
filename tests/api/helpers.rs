//! Spawning real nodes for tests, one fresh database each, and typed request helpers.

#![allow(dead_code)]

use maillage::config::Settings;
use maillage::service::tokens::create_token;
use maillage::startup::App;
use maillage::state::AppState;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;

/// The database engine a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// A SQLite file in a temporary folder.
    Sqlite,
    /// A fresh schema in the database named by `MAILLAGE_TEST_DATABASE_URL`.
    Postgres,
}

/// The PostgreSQL URL for tests, if any.
pub fn postgres_url() -> Option<String> {
    std::env::var("MAILLAGE_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A running node.
pub struct TestApp {
    /// The port it listens on.
    pub port: u16,
    /// `http://localhost:PORT`.
    pub base: String,
    /// `localhost:PORT`.
    pub domain: String,
    /// Plain HTTP client.
    pub client: reqwest::Client,
    /// The node's state (store, settings).
    pub state: AppState,
    /// A node-admin token.
    pub admin_token: String,
    /// Engine used.
    pub engine: Engine,
    _dir: TempDir,
    schema: Option<(String, String)>,
    server: tokio::task::JoinHandle<()>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

fn init_logs() {
    if std::env::var("TEST_LOG").is_ok() {
        maillage::telemetry::init(&maillage::config::LogSettings {
            format: "text".into(),
            level: "debug".into(),
        });
    }
}

/// Starts a node on a free port with a fresh database; `None` when the engine is
/// PostgreSQL and no database URL is configured.
pub async fn spawn_app(engine: Engine) -> Option<TestApp> {
    spawn_app_with(engine, |_| {}).await
}

/// [`spawn_app`] with settings changed by `configure` before start.
pub async fn spawn_app_with(
    engine: Engine,
    configure: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    init_logs();
    let dir = tempfile::tempdir().expect("temp dir");
    let (database_url, schema) = match engine {
        Engine::Sqlite => (
            format!("sqlite://{}", dir.path().join("maillage.db").display()),
            None,
        ),
        Engine::Postgres => {
            let url = postgres_url()?;
            let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
            let pool = sqlx::PgPool::connect(&url)
                .await
                .expect("connect to PostgreSQL");
            // The extension is per database and tests migrate concurrently: create it
            // first (a concurrent creation may fail here harmlessly; it then exists).
            let _ = sqlx::query("CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public")
                .execute(&pool)
                .await;
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                .execute(&pool)
                .await
                .expect("create schema");
            pool.close().await;
            let separator = if url.contains('?') { '&' } else { '?' };
            (
                format!("{url}{separator}options=-c%20search_path%3D{schema}"),
                Some((url, schema)),
            )
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().unwrap().port();
    let mut settings = Settings {
        domain: format!("localhost:{port}"),
        bind: format!("127.0.0.1:{port}"),
        ..Settings::default()
    };
    settings.database.url = database_url;
    settings.database.max_connections = 4;
    settings.federation.debug = true;
    // Tests drive deliveries with `drain()`: no background worker.
    settings.delivery.workers = false;
    settings.node.name = "Nœud de test".into();
    // Aggregators in tests list every followed collectivité, as before issue 19, unless
    // a test is about admission (tests/api/admission.rs sets its own policy).
    settings.aggregator.admission = maillage::config::Admission::Open;
    configure(&mut settings);
    settings.validate().expect("valid test settings");
    let app = App::build_with_listener(settings, listener)
        .await
        .expect("build app");
    let state = app.state();
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        app.run_until_stopped(async move {
            let _ = stopped.await;
        })
        .await
        .expect("server");
    });
    let port_ = port;
    let admin_token = create_token(&state.store, None, Some("tests"))
        .await
        .expect("admin token");
    Some(TestApp {
        port: port_,
        base: format!("http://localhost:{port}"),
        domain: format!("localhost:{port}"),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        state,
        admin_token,
        engine,
        _dir: dir,
        schema,
        server,
        shutdown: Some(shutdown),
    })
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
        if let Some((url, schema)) = self.schema.take() {
            // Best effort: CI drops the whole database after the run anyway.
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async move {
                    if let Ok(pool) = sqlx::PgPool::connect(&url).await {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP SCHEMA IF EXISTS {schema} CASCADE"
                        )))
                        .execute(&pool)
                        .await;
                        pool.close().await;
                    }
                });
            })
            .join()
            .ok();
        }
    }
}

/// Why the Node program in `dir` cannot run here, if it cannot: no `node` on `PATH`,
/// or its `module` not installed (`npm ci` in `dir`).
pub fn node_module_missing(dir: &std::path::Path, module: &str) -> Option<String> {
    let node = std::process::Command::new("node")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    if !node.is_ok_and(|status| status.success()) {
        return Some("`node` is not on PATH".into());
    }
    let installed = dir.join("node_modules").join(module).join("package.json");
    if !installed.exists() {
        return Some(format!("{} is missing", installed.display()));
    }
    None
}

/// Says on the real stderr (not captured by the test harness) that a PostgreSQL case
/// was skipped, so a run without a database URL cannot pass for a full one.
pub fn say_skipped(name: &str) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {name} on PostgreSQL (set MAILLAGE_TEST_DATABASE_URL to run it)"
    );
}

/// Runs an async test body on SQLite, and on PostgreSQL when configured.
#[macro_export]
macro_rules! both_engines {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = $crate::helpers::spawn_app($crate::helpers::Engine::Sqlite)
                        .await
                        .expect("SQLite app");
                    super::$name(app).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    match $crate::helpers::spawn_app($crate::helpers::Engine::Postgres).await {
                        Some(app) => super::$name(app).await,
                        None => $crate::helpers::say_skipped(stringify!($name)),
                    }
                }
            }
        )*
    };
}

impl TestApp {
    /// Runs this node's delivery worker until nothing is due; returns how many
    /// deliveries were processed.
    pub async fn drain(&self) -> usize {
        maillage::federation::delivery::DeliveryWorker::new(self.state.clone())
            .drain()
            .await
            .expect("drain deliveries")
    }

    /// The delivery queue, one line per row (kind, inbox, state, attempts, last
    /// status, last error): for assertion messages.
    pub async fn deliveries(&self) -> String {
        const SQL: &str = "SELECT v.kind, d.inbox, d.state, d.attempts, d.last_status, \
             d.last_error FROM deliveries d JOIN activities v ON v.id = d.activity_id ORDER BY d.id";
        type Row = (String, String, String, i64, Option<i64>, Option<String>);
        let rows: Vec<Row> = maillage::db::on_pool!(&self.state.store, pool => {
            sqlx::query_as(SQL).fetch_all(pool).await.expect("read the queue")
        });
        rows.iter()
            .map(|r| {
                format!(
                    "{} → {}: {} after {} ({:?} {:?})",
                    r.0, r.1, r.2, r.3, r.4, r.5
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Stops answering HTTP (graceful shutdown closes kept-alive connections too, then
    /// the port is closed), as an unreachable server.
    pub async fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
            let _ = (&mut self.server).await;
        }
    }

    /// Serves again on the same port, same database.
    pub async fn restart(&mut self) {
        self.stop().await;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("rebind the same port");
        let router = maillage::startup::router(self.state.clone()).await.unwrap();
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        self.shutdown = Some(shutdown);
        self.server = tokio::spawn(maillage::server::serve(
            listener,
            router,
            &self.state.settings,
            async move {
                let _ = stopped.await;
            },
        ));
    }

    /// A local actor record (for signing in tests).
    pub async fn actor(&self, username: &str) -> maillage::db::actors::ActorRecord {
        let collectivite = self
            .state
            .store
            .local_collectivite(username)
            .await
            .unwrap()
            .unwrap();
        self.state
            .store
            .actor_by_id(collectivite.id)
            .await
            .unwrap()
            .unwrap()
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Creates a collectivité through the API with the admin token.
    pub async fn create_collectivite(&self, username: &str, insee: &str) -> Value {
        let response = self
            .client
            .post(self.url("/api/v1/collectivites"))
            .bearer_auth(&self.admin_token)
            .json(&json!({ "username": username, "insee": insee }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "create {username}");
        response.json().await.unwrap()
    }

    /// A token for the collectivité `username`.
    pub async fn token_for(&self, username: &str) -> String {
        let collectivite = self
            .state
            .store
            .local_collectivite(username)
            .await
            .unwrap()
            .expect("collectivité exists");
        create_token(&self.state.store, Some(&collectivite), None)
            .await
            .unwrap()
    }

    /// A collectivité and its token.
    pub async fn collectivite_with_token(&self, username: &str, insee: &str) -> String {
        self.create_collectivite(username, insee).await;
        self.token_for(username).await
    }

    /// `POST /api/v1/collectivites/{username}/actions`.
    pub async fn post_action(&self, username: &str, token: &str, body: &Value) -> Response {
        self.client
            .post(self.url(&format!("/api/v1/collectivites/{username}/actions")))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Publishes a valid action and returns its API view.
    pub async fn publish(&self, username: &str, token: &str, body: &Value) -> Value {
        let response = self.post_action(username, token, body).await;
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{text}");
        serde_json::from_str(&text).unwrap()
    }

    /// GET a JSON document (plain `Accept`).
    pub async fn get_json(&self, url: impl reqwest::IntoUrl) -> Value {
        self.client
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// GET with `Accept: application/activity+json`.
    pub async fn get_as(&self, url: &str) -> Response {
        self.client
            .get(url)
            .header("accept", "application/activity+json")
            .send()
            .await
            .unwrap()
    }

    /// GET an AS2 document that must exist; checks the content type.
    pub async fn get_as_ok(&self, url: &str) -> Value {
        let response = self.get_as(url).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {url}");
        assert_eq!(
            response.headers()["content-type"],
            "application/activity+json",
            "GET {url}"
        );
        response.json().await.unwrap()
    }

    /// Opens the sign-in form as a browser does: its cookie (`name=value`) and the
    /// token of its hidden `csrf` field.
    pub async fn sign_in_form(&self) -> (String, String) {
        let response = self
            .client
            .get(self.url("/admin/connexion"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let cookie = first_cookie(&response);
        (cookie, csrf_of(&response.text().await.unwrap()))
    }

    /// Posts the sign-in form with `pairs` (username, password, suivant) as a browser
    /// does, its cookie and token fetched first; from `client` (`X-Forwarded-For`,
    /// loopback being a trusted proxy) when given.
    pub async fn post_sign_in(&self, pairs: &[(&str, &str)], client: Option<&str>) -> Response {
        let (cookie, csrf) = self.sign_in_form().await;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .append_pair("csrf", &csrf)
            .finish();
        let mut request = self
            .client
            .post(self.url("/admin/connexion"))
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(client) = client {
            request = request.header("x-forwarded-for", client);
        }
        request.body(body).send().await.unwrap()
    }

    /// GET with `Accept: text/html`, returning status and body.
    pub async fn get_html(&self, path_or_url: &str) -> (StatusCode, String) {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_string()
        } else {
            self.url(path_or_url)
        };
        let response = self
            .client
            .get(url)
            .header("accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")
            .send()
            .await
            .unwrap();
        let status = response.status();
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(content_type.starts_with("text/html"), "{content_type}");
        (status, response.text().await.unwrap())
    }
}

/// Signs `body` with the key `key_pem` under `key_id` (draft-cavage, as nodes sign
/// deliveries), lets `tweak` change the headers, and posts it to `inbox`.
pub async fn post_signed_with(
    client: &reqwest::Client,
    inbox: &str,
    key_id: &str,
    key_pem: &str,
    body: &[u8],
    tweak: impl FnOnce(&mut reqwest::header::HeaderMap),
) -> Response {
    post_signed_as(
        maillage::federation::signing::Style::Cavage,
        client,
        inbox,
        key_id,
        key_pem,
        body,
        tweak,
    )
    .await
}

/// [`post_signed_with`] with the kind of signature given (draft-cavage or RFC 9421).
pub async fn post_signed_as(
    style: maillage::federation::signing::Style,
    client: &reqwest::Client,
    inbox: &str,
    key_id: &str,
    key_pem: &str,
    body: &[u8],
    tweak: impl FnOnce(&mut reqwest::header::HeaderMap),
) -> Response {
    let key = maillage::activitypub::signatures::SigningKey::from_pem(key_pem).unwrap();
    let url: url::Url = inbox.parse().unwrap();
    let mut headers = style
        .sign("POST", &url, Some(body), key_id, &key, chrono::Utc::now())
        .unwrap();
    tweak(&mut headers);
    client
        .post(inbox)
        .headers(headers)
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

/// [`post_signed_with`] as a local actor of a test node (its `#main-key`).
pub async fn post_signed(
    client: &reqwest::Client,
    inbox: &str,
    signer: &maillage::db::actors::ActorRecord,
    body: &[u8],
    tweak: impl FnOnce(&mut reqwest::header::HeaderMap),
) -> Response {
    post_signed_with(
        client,
        inbox,
        &format!("{}#main-key", signer.ap_id),
        signer.private_key_pem.as_deref().unwrap(),
        body,
        tweak,
    )
    .await
}

/// Polls `check` every 20 ms until it holds, for at most 20 s (background work such as
/// backfill); panics with `what` otherwise.
pub async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The first cookie a response sets, as `name=value`.
pub fn first_cookie(response: &Response) -> String {
    response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

/// The value of a page's hidden `csrf` field.
pub fn csrf_of(page: &str) -> String {
    let start = page.find(r#"name="csrf" value=""#).expect("a CSRF field") + 19;
    page[start..].split('"').next().unwrap().to_string()
}

/// A complete, valid action body with two themes and a location.
pub fn sample_action() -> Value {
    json!({
        "name": "Guichet numérique des démarches",
        "summary": "Toutes les démarches de la mairie en ligne, accessibles et accompagnées.",
        "content": "La ville ouvre un **guichet numérique** pour les démarches d'état civil.\n\n- prise de rendez-vous\n- suivi des demandes",
        "results": "3 200 démarches en ligne la première année.",
        "recommendations": "Former les agents d'accueil *avant* l'ouverture.",
        "phase": "service",
        "status": "en-cours",
        "themes": ["services-publics", "solidarites"],
        "location": [{ "name": "Hôtel de ville", "lat": 50.672, "lon": 3.0970, "insee": "59378",
                       "address": { "street": "88 place du Général de Gaulle", "postal_code": "59700", "locality": "Marcq-en-Barœul" } }],
        "start_date": "2023-01-09",
        "end_date": "2025-12-31",
        "budget_eur": 45000,
        "open_to_partners": true,
        "software": [{ "name": "Publik", "url": "https://publik.entrouvert.com", "licence": "AGPL-3.0-or-later", "sill_id": "185" }],
        "providers": [{ "name": "Entr'ouvert", "siren": "443170139", "url": "https://www.entrouvert.com" }],
        "links": [{ "url": "https://www.marcq-en-baroeul.org", "description": "Site de la ville" }],
        "contacts": [{ "name": "Camille Martin", "role": "chargée de mission numérique", "email": "camille.martin@example.fr" }],
        "contacts_public": false
    })
}

/// Asserts a problem+json response with `status`, and returns its body.
pub async fn assert_problem(response: Response, status: StatusCode) -> Value {
    let got = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let text = response.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    assert_eq!(content_type, "application/problem+json", "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["status"], status.as_u16());
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(body["detail"].as_str().is_some_and(|t| !t.is_empty()));
    body
}

/// The field names of a validation problem.
pub fn problem_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Runs `flow` with a PostgreSQL URL whose `search_path` is a fresh schema (dropped
/// afterwards), for tests of the binary; says SKIPPED without a database URL.
pub fn with_postgres_schema(name: &str, flow: impl FnOnce(&str)) {
    let Some(base) = postgres_url() else {
        say_skipped(name);
        return;
    };
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let execute = |sql: String| {
        runtime.block_on(async {
            let pool = sqlx::PgPool::connect(&base).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .unwrap();
        })
    };
    execute(format!("CREATE SCHEMA {schema}"));
    let separator = if base.contains('?') { '&' } else { '?' };
    flow(&format!(
        "{base}{separator}options=-c%20search_path%3D{schema}"
    ));
    execute(format!("DROP SCHEMA {schema} CASCADE"));
}

/// Calls the API of `app` as `token`; the status and the JSON answer (`null` when
/// none).
pub async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The pool of a PostgreSQL node.
pub fn postgres_pool(app: &TestApp) -> sqlx::PgPool {
    match &app.state.store {
        maillage::db::Store::Postgres(pool) => pool.clone(),
        maillage::db::Store::Sqlite(_) => panic!("a PostgreSQL node"),
    }
}

/// A transaction that will hold row locks, and its connection's `pg_backend_pid()`
/// (for [`until_blocked_by`]).
pub async fn holding_transaction(
    pool: &sqlx::PgPool,
) -> (sqlx::Transaction<'static, sqlx::Postgres>, i32) {
    let mut holder = pool.begin().await.expect("begin");
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *holder)
        .await
        .expect("backend pid");
    (holder, pid)
}

/// Returns once `task` has finished or waits for a lock that the PostgreSQL
/// connection `holder` (its `pg_backend_pid()`) holds: then committing `holder`'s
/// transaction lands its change in the middle of `task`.
pub async fn until_blocked_by<T>(
    pool: &sqlx::PgPool,
    holder: i32,
    task: &tokio::task::JoinHandle<T>,
) {
    const BLOCKED: &str =
        "SELECT COUNT(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))";
    while !task.is_finished() {
        let blocked: i64 = sqlx::query_scalar(BLOCKED)
            .bind(holder)
            .fetch_one(pool)
            .await
            .expect("read the lock waits");
        if blocked > 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// Runs an async test body on PostgreSQL only (row locks, READ COMMITTED): skipped,
/// and said so, without a database URL.
#[macro_export]
macro_rules! postgres_only {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    match $crate::helpers::spawn_app($crate::helpers::Engine::Postgres).await {
                        Some(app) => super::$name(app).await,
                        None => $crate::helpers::say_skipped(stringify!($name)),
                    }
                }
            }
        )*
    };
}

//! Owns start-up: open and migrate the database, make sure the instance actor exists,
//! assemble the router, bind the listener (port 0 works: the bound address is kept),
//! then serve until a shutdown signal.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use activitypub_federation::config::FederationMiddleware;
use anyhow::Context;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, Predicate};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Settings;
use crate::db::actors::NewLocalActor;
use crate::db::{AppliedMigration, Store};
use crate::error::AppError;
use crate::federation::delivery::DeliveryWorker;
use crate::state::AppState;
use crate::{api, federation, service, web};

/// Largest request body accepted (SPEC §9: 1 MiB on inboxes; the same for the API).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// What a command may do to the database it opens (SPEC §11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// May create the database: a new SQLite file, or Maillage's schema in an empty
    /// PostgreSQL database. Without it, a missing database is [`crate::db::NoDatabase`].
    pub create: bool,
    /// Signs or publishes (serves, delivers, creates or changes what peers see): refused
    /// when the database was made for another domain, whose ids are already published.
    pub publish: bool,
}

impl Access {
    /// A node that serves: creates its database if needed, and publishes.
    pub const NODE: Access = Access {
        create: true,
        publish: true,
    };
}

/// A prepared node and the migrations applied on the way.
pub struct Prepared {
    /// The shared state.
    pub state: AppState,
    /// Migrations applied now (none when the database was up to date).
    pub applied: Vec<AppliedMigration>,
}

/// Opens the database, migrates it and loads (or creates) the instance actor: what
/// every command needs before it can act. A node that serves ([`Access::NODE`]).
///
/// # Errors
/// The database cannot be opened or migrated, or was made for another domain.
pub async fn prepare(settings: Settings) -> anyhow::Result<AppState> {
    Ok(prepare_with(settings, Access::NODE).await?.state)
}

/// [`prepare`] with what the command may do: without `access.create`, a missing
/// database is refused before anything is created; with `access.publish`, a database
/// made for another domain (or scheme) is refused, since its actors' ids are already
/// published on the old one.
///
/// # Errors
/// [`crate::db::NoDatabase`], a database failure, or the domain mismatch.
pub async fn prepare_with(settings: Settings, access: Access) -> anyhow::Result<Prepared> {
    let store = Store::open(
        &settings.database.url,
        settings.database.max_connections,
        access.create,
    )
    .await?;
    let applied = store.migrate().await.context("database migration failed")?;
    for migration in &applied {
        tracing::info!(
            version = migration.version,
            description = %migration.description,
            "migration applied"
        );
    }
    let instance = match store.instance_actor().await? {
        Some(actor) => actor,
        None => {
            let keys = service::keys::generate_keypair().await?;
            let base = settings.base_url();
            let url = |path: &str| base.join(path).expect("BUG: valid path");
            store
                .insert_instance_actor(NewLocalActor {
                    ap_id: &url("/actor"),
                    domain: &settings.domain,
                    inbox: &url("/actor/inbox"),
                    shared_inbox: &url("/inbox"),
                    public_key_pem: &keys.public_key,
                    private_key_pem: &keys.private_key,
                })
                .await?
        }
    };
    let expected = settings.base_url().join("/actor").expect("BUG: valid path");
    if instance.ap_id != expected {
        if access.publish {
            store.close().await;
            anyhow::bail!("{}", domain_mismatch(&instance.ap_id, &expected));
        }
        tracing::warn!(
            stored = %instance.ap_id,
            configured = %expected,
            "the database was created for another domain; ids already published keep their old domain"
        );
    }
    let state = AppState::new(settings, store, instance)?;
    state.blocks.reload(&state.store).await?;
    Ok(Prepared { state, applied })
}

/// Why a node refuses to publish from a database made for another domain: which part
/// of the ids differs, and what to do.
fn domain_mismatch(stored: &url::Url, configured: &url::Url) -> String {
    let authority = |url: &url::Url| {
        let host = url.host_str().unwrap_or_default();
        match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    };
    let (old, new) = (authority(stored), authority(configured));
    let mut differences = Vec::new();
    if stored.host_str() != configured.host_str() {
        differences.push(format!(
            "le nom d'hôte (« {} » dans la base, « {} » configuré)",
            stored.host_str().unwrap_or_default(),
            configured.host_str().unwrap_or_default()
        ));
    }
    if stored.port() != configured.port() {
        let port = |url: &url::Url| {
            url.port()
                .map_or_else(|| "par défaut".to_string(), |p| p.to_string())
        };
        differences.push(format!(
            "le port ({} dans la base, {} configuré)",
            port(stored),
            port(configured)
        ));
    }
    if stored.scheme() != configured.scheme() {
        differences.push(format!(
            "le schéma ({} dans la base, {} configuré : federation.debug = {})",
            stored.scheme(),
            configured.scheme(),
            configured.scheme() == "http"
        ));
    }
    format!(
        "cette base de données a été créée pour le domaine « {old} » (acteur d'instance {stored}), la configuration donne « {new} » ({configured}) : diffèrent {}. Les identifiants déjà publiés restent sur l'ancien domaine et les autres serveurs refuseraient ceux du nouveau ; remettez domain = « {old} » (et le même federation.debug), ou créez un nouveau nœud pour le nouveau domaine",
        differences.join(", ")
    )
}

/// The whole HTTP application.
pub async fn router(state: AppState) -> anyhow::Result<Router> {
    crate::metrics::init();
    let federation_config = federation::federation_config(state.clone()).await?;
    Ok(Router::new()
        .merge(api::router())
        .merge(federation::routes::router())
        .merge(federation::inbox::router())
        .merge(web::router())
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(crate::metrics::metrics_page))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(crate::input::reject_nul))
        .layer(axum::middleware::from_fn(web::html_errors))
        // Outside the error pages' rendering: every page's footer states the status.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            web::accessibility::with_status,
        ))
        .route_layer(axum::middleware::from_fn(crate::metrics::track))
        .layer(FederationMiddleware::new(federation_config))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::limits::limit,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
        .layer(axum::middleware::from_fn(security_headers))
        // gzip or brotli, as the client accepts, on text answers (HTML, JSON, JS, CSS,
        // GeoJSON, CSV, Atom): the default predicate skips images (already compressed),
        // event streams and bodies under 32 bytes. Streamed exports stay streamed: the
        // encoder compresses chunk by chunk. Admin answers are never compressed (BREACH:
        // they carry the CSRF token beside federated text an attacker chooses), see
        // [`Uncompressed`].
        .layer(CompressionLayer::new().gzip(true).br(true).compress_when(
            DefaultPredicate::new().and(
                |_: StatusCode, _: axum::http::Version, _: &HeaderMap, ext: &Extensions| {
                    ext.get::<Uncompressed>().is_none()
                },
            ),
        ))
        // Every request gets an `x-request-id` (the client's, or a new UUID), in the
        // log span of the request and in the response.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
                let id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                tracing::info_span!(
                    "request",
                    method = %request.method(),
                    uri = %request.uri(),
                    request_id = %id,
                )
            }),
        )
        // One access-log line per request, outside the request span (its fields are
        // on the line), with the final status (limits, timeouts and error pages
        // included).
        .layer(axum::middleware::from_fn(crate::telemetry::access_log))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state))
}

/// Response extension: the compression layer leaves this answer as it is. Set on every
/// `/admin` answer, whose pages carry the session's CSRF token next to text from other
/// nodes; compressing both together would let a length-observing attacker recover the
/// token (BREACH).
#[derive(Clone, Copy, Debug)]
pub struct Uncompressed;

/// Headers on every response, errors included: no content-type sniffing, a referrer
/// policy (`same-origin` under `/admin`, whose addresses name collectivités and forms),
/// and `Cache-Control: no-store` under `/admin`, whose pages carry the session's CSRF
/// token and what editors typed.
async fn security_headers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path();
    let admin = path == "/admin" || path.starts_with("/admin/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static(if admin {
            "same-origin"
        } else {
            "strict-origin-when-cross-origin"
        }),
    );
    if admin {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response.extensions_mut().insert(Uncompressed);
    }
    response
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.store.is_ready().await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database not ready")
    }
}

async fn not_found(uri: axum::http::Uri) -> AppError {
    AppError::NotFound(format!("rien à l'adresse « {} »", uri.path()))
}

/// A built application, bound to its address, not yet serving.
pub struct App {
    listener: TcpListener,
    router: Router,
    state: AppState,
}

impl App {
    /// Prepares the state, builds the router and binds `settings.bind`.
    ///
    /// # Errors
    /// Database, migration or bind failure.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let bind = settings.bind.clone();
        let listener = TcpListener::bind(&bind)
            .await
            .with_context(|| format!("impossible d'écouter sur {bind}"))?;
        Self::build_with_listener(settings, listener).await
    }

    /// Like [`App::build`] on a listener bound by the caller (tests bind port 0 first,
    /// so that the domain can name the port).
    ///
    /// # Errors
    /// Database or migration failure.
    pub async fn build_with_listener(
        settings: Settings,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        let state = prepare(settings).await?;
        let router = router(state.clone()).await?;
        Ok(Self {
            listener,
            router,
            state,
        })
    }

    /// The address actually bound.
    pub fn address(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("BUG: a bound listener has an address")
    }

    /// The shared state.
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish. Delivery
    /// workers run beside the server when `delivery.workers` is on; they stop with it,
    /// and what they had not sent stays queued.
    ///
    /// # Errors
    /// The server failed.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let worker = self.state.settings.delivery.workers.then(|| {
            log_worker_start(&self.state.settings, "serve");
            let worker = DeliveryWorker::new(self.state.clone());
            let (mut stopped, mut mail_stopped) = (stopped.clone(), stopped.clone());
            // Official websites are checked again periodically with the workers.
            let mut checks_stopped = stopped.clone();
            tokio::spawn(crate::service::verification::run(
                self.state.clone(),
                async move {
                    let _ = checks_stopped.wait_for(|stop| *stop).await;
                },
            ));
            // Editors' notification mails go with the delivery workers.
            tokio::spawn(crate::service::notifications::run(
                self.state.clone(),
                async move {
                    let _ = mail_stopped.wait_for(|stop| *stop).await;
                },
            ));
            tokio::spawn(async move {
                worker
                    .run(async move {
                        let _ = stopped.wait_for(|stop| *stop).await;
                    })
                    .await
            })
        });
        if worker.is_none() {
            // Without workers (`serve --no-workers`), blocks and allows decided in another
            // process still apply here within a minute.
            let (state, mut stopped) = (self.state.clone(), stopped.clone());
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = stopped.wait_for(|stop| *stop) => break,
                        () = tokio::time::sleep(Duration::from_secs(60)) => {}
                    }
                    if let Err(error) = state.blocks.reload(&state.store).await {
                        tracing::warn!(%error, "reloading the domain policy");
                    }
                }
            });
        }
        let stopping = stop.clone();
        crate::server::serve(
            self.listener,
            self.router,
            &self.state.settings,
            async move {
                shutdown.await;
                let _ = stopping.send(true);
            },
        )
        .await;
        let _ = stop.send(true);
        if let Some(worker) = worker {
            // In-flight deliveries finish within the request timeout; the rest stays queued.
            let _ = tokio::time::timeout(Duration::from_secs(15), worker).await;
        }
        Ok(())
    }
}

/// Runs delivery workers only, until `shutdown` (`maillage worker`), on a prepared
/// node.
pub async fn run_workers(state: AppState, shutdown: impl Future<Output = ()> + Send + 'static) {
    log_worker_start(&state.settings, "worker");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (mut mail_stopped, mut checks_stopped) = (stopped.clone(), stopped.clone());
    tokio::spawn(crate::service::verification::run(
        state.clone(),
        async move {
            let _ = checks_stopped.wait_for(|stop| *stop).await;
        },
    ));
    let mails = tokio::spawn(crate::service::notifications::run(
        state.clone(),
        async move {
            let _ = mail_stopped.wait_for(|stop| *stop).await;
        },
    ));
    DeliveryWorker::new(state.clone()).run(shutdown).await;
    let _ = stop.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(15), mails).await;
    tracing::info!("delivery worker stopped; what it had not sent stays queued");
    state.store.close().await;
}

/// Logs that delivery workers start, and the settings they run with (`mode`: `serve`
/// for the workers inside the server, `worker`, or `once`).
pub fn log_worker_start(settings: &Settings, mode: &str) {
    let delivery = &settings.delivery;
    tracing::info!(
        mode,
        domain = %settings.domain,
        database = %crate::config::redact(&settings.database.url),
        per_host = delivery.per_host,
        batch = delivery.batch,
        poll_interval_ms = delivery.poll_interval_ms,
        unreachable_after_secs = delivery.unreachable_after_secs,
        probe_interval_secs = delivery.probe_interval_secs,
        "delivery worker started"
    );
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM. The SIGTERM handler is installed when this
/// is called, not when the future is first polled, so that a stop sent right after a
/// process says it started is a clean stop rather than the default (killed).
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let terminate = async move {
            match terminate {
                Some(mut signal) => {
                    signal.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => {},
            () = terminate => {},
        }
        tracing::info!("shutdown signal received, finishing in-flight requests");
    }
}

//! The node under test, in its own process (this same binary, `maillage-bench node
//! CONFIG`), so that its memory is measured alone and its latency from outside, as a
//! peer sees it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use maillage::config::Settings;

/// A node running in a child process.
pub struct Node {
    child: Child,
    /// `http://localhost:PORT`.
    pub base: String,
    /// Its settings (database URL included).
    pub settings: Settings,
    /// From spawn to the first `200` of `/readyz`.
    pub ready_after: Duration,
}

/// Settings of a benchmark node on a free loopback port, its SQLite database in `dir`.
pub fn settings(dir: &Path) -> anyhow::Result<Settings> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut settings = Settings {
        domain: format!("localhost:{port}"),
        bind: format!("127.0.0.1:{port}"),
        ..Settings::default()
    };
    settings.database.url = format!("sqlite://{}", dir.join("node.db").display());
    settings.federation.debug = true;
    settings.federation.allow_private_addresses = true;
    settings.log.level = "warn".into();
    Ok(settings)
}

impl Node {
    /// Writes `settings` next to the database and starts `maillage-bench node` on them;
    /// returns once `/readyz` answers.
    pub async fn spawn(settings: Settings, dir: &Path) -> anyhow::Result<Self> {
        let config: PathBuf = dir.join(format!("node-{}.toml", settings.bind.replace(':', "-")));
        std::fs::write(&config, toml::to_string(&settings)?)?;
        let started = Instant::now();
        let child = Command::new(std::env::current_exe()?)
            .arg("node")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .context("starting the node process")?;
        let base = format!("http://{}", settings.domain);
        let client = reqwest::Client::new();
        loop {
            if let Ok(response) = client.get(format!("{base}/readyz")).send().await
                && response.status().is_success()
            {
                break;
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(60),
                "the node did not become ready within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok(Self {
            child,
            base,
            settings,
            ready_after: started.elapsed(),
        })
    }

    /// Starts `maillage-bench worker` (delivery workers only, `maillage worker`) on
    /// `settings`; it has no HTTP side, so `base` is empty and nothing is awaited.
    pub fn spawn_worker(settings: &Settings, dir: &Path, n: usize) -> anyhow::Result<Self> {
        let config: PathBuf = dir.join(format!("worker-{n}.toml"));
        std::fs::write(&config, toml::to_string(settings)?)?;
        let child = Command::new(std::env::current_exe()?)
            .arg("worker")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .context("starting a worker process")?;
        Ok(Self {
            child,
            base: String::new(),
            settings: settings.clone(),
            ready_after: Duration::ZERO,
        })
    }

    /// The node's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the node with SIGTERM (a clean shutdown) and waits for it.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child.kill()?;
        Ok(())
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How the seeded collectivité and the fake actors are linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// The collectivité follows every fake actor (their `Create`s are stored).
    LocalFollowsRemote,
    /// Every fake actor follows the collectivité (its actions are delivered to them).
    RemoteFollowsLocal,
}

/// What [`seed`] created.
pub struct Seeded {
    /// The local collectivité (`marcq`).
    pub collectivite: maillage::domain::Collectivite,
    /// An API token acting for it.
    pub token: String,
    /// Its public key, PEM.
    pub public_key_pem: String,
}

/// Prepares the node's database (migrations, instance actor) with one collectivité,
/// `marcq`, linked to every actor of `hosts` (stored as remote actors sharing their
/// host's inbox).
pub async fn seed(
    settings: &Settings,
    hosts: &[crate::fake::Host],
    link: Link,
) -> anyhow::Result<Seeded> {
    use maillage::db::actors::RemoteActor;
    let state = maillage::startup::prepare(settings.clone()).await?;
    let body = maillage::domain::drafts::CollectiviteBody {
        username: Some("marcq".into()),
        insee: Some("59378".into()),
        ..Default::default()
    };
    let collectivite =
        maillage::service::collectivites::create_collectivite(&state, body.into_profile()?).await?;
    for host in hosts {
        let shared: url::Url = format!("http://{}/inbox", host.domain).parse()?;
        for actor in &host.actors {
            let inbox = format!("{}/inbox", actor.id).parse()?;
            let profile = crate::report::remote_profile(&actor.id)?;
            let stored = state
                .store
                .upsert_remote_actor(
                    RemoteActor {
                        actor_type: "Organization",
                        ap_id: &actor.id,
                        domain: &host.domain,
                        inbox: &inbox,
                        shared_inbox: Some(&shared),
                        public_key_pem: &actor.key.public_pem,
                    },
                    &profile,
                )
                .await?;
            let (follower, followed) = match link {
                Link::LocalFollowsRemote => (collectivite.id, stored.id),
                Link::RemoteFollowsLocal => (stored.id, collectivite.id),
            };
            state
                .store
                .insert_follow(
                    None,
                    follower,
                    followed,
                    maillage::db::follows::FollowState::Accepted,
                )
                .await?;
        }
    }
    let token =
        maillage::service::tokens::create_token(&state.store, Some(&collectivite), Some("bench"))
            .await?;
    let public_key_pem = state
        .store
        .actor_by_id(collectivite.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the collectivité's actor is missing"))?
        .public_key_pem;
    state.store.close().await;
    Ok(Seeded {
        collectivite,
        token,
        public_key_pem,
    })
}

/// Creates a fresh schema in the PostgreSQL database `url`; returns `url`, the URL that
/// uses the schema, and its name.
pub async fn fresh_schema(url: &str) -> anyhow::Result<(String, String, String)> {
    let name = format!("bench_{}", uuid::Uuid::new_v4().simple());
    let pool = sqlx::PgPool::connect(url).await?;
    let _ = sqlx::query("CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public")
        .execute(&pool)
        .await;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
        .execute(&pool)
        .await?;
    pool.close().await;
    let separator = if url.contains('?') { '&' } else { '?' };
    let scoped = format!("{url}{separator}options=-c%20search_path%3D{name}");
    Ok((url.to_string(), scoped, name))
}

/// Drops a schema made by [`fresh_schema`].
pub async fn drop_schema(url: &str, name: &str) -> anyhow::Result<()> {
    let pool = sqlx::PgPool::connect(url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {name} CASCADE")))
        .execute(&pool)
        .await?;
    pool.close().await;
    Ok(())
}

/// Resident and peak resident memory of a process, in MiB (`/proc/PID/status`).
pub fn memory(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Anonymous resident memory of a process, in MiB (`RssAnon`): its own heap and stacks,
/// without the pages of files it maps (SQLite maps its database, up to 256 MiB, and
/// those pages are the OS page cache, shared and reclaimable).
pub fn anonymous_memory(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("RssAnon:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// What a process has used so far: CPU time (user + system, seconds) and context
/// switches (voluntary + involuntary, all its threads), from `/proc`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    /// CPU seconds.
    pub cpu_secs: f64,
    /// Context switches.
    pub switches: u64,
}

impl Usage {
    /// The usage of `pid` now (zero when `/proc` cannot be read).
    pub fn of(pid: u32) -> Self {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Fields after the command name (which may hold spaces): utime and stime are the
        // 14th and 15th fields, in clock ticks (100 per second on Linux).
        let ticks: u64 = stat
            .rsplit_once(')')
            .map(|(_, rest)| {
                let fields: Vec<&str> = rest.split_whitespace().collect();
                fields
                    .get(11..13)
                    .map_or(0, |f| f.iter().filter_map(|v| v.parse::<u64>().ok()).sum())
            })
            .unwrap_or(0);
        let switches = std::fs::read_dir(format!("/proc/{pid}/task"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|task| std::fs::read_to_string(task.path().join("status")).ok())
            .flat_map(|status| {
                status
                    .lines()
                    .filter(|l| l.contains("ctxt_switches:"))
                    .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                    .collect::<Vec<_>>()
            })
            .sum();
        Usage {
            cpu_secs: ticks as f64 / 100.0,
            switches,
        }
    }

    /// What was used between `earlier` and this reading, per `items` (CPU
    /// microseconds and context switches per item).
    pub fn per_item_since(self, earlier: Usage, items: f64) -> (f64, f64) {
        let items = items.max(1.0);
        (
            (self.cpu_secs - earlier.cpu_secs) * 1e6 / items,
            self.switches.saturating_sub(earlier.switches) as f64 / items,
        )
    }
}

/// `maillage-bench worker CONFIG`: runs delivery workers until SIGTERM.
pub async fn run_worker(config: &Path) -> anyhow::Result<()> {
    let settings = Settings::load(Some(config))?;
    maillage::telemetry::init(&settings.log);
    let state = maillage::startup::prepare(settings).await?;
    maillage::startup::run_workers(state, maillage::startup::shutdown_signal()).await;
    Ok(())
}

/// `maillage-bench node CONFIG`: runs a node until SIGTERM.
pub async fn run(config: &Path) -> anyhow::Result<()> {
    let settings = Settings::load(Some(config))?;
    maillage::telemetry::init(&settings.log);
    let app = maillage::startup::App::build(settings).await?;
    app.run_until_stopped(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    })
    .await
}

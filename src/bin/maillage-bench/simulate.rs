//! `simulate`: a whole federation in one process. N town nodes (default 100) and an
//! aggregator, each a real Maillage node — `startup::App`, with the library's router
//! and its own delivery worker, its own SQLite file, its own `localhost:PORT` — and
//! nothing faked between them: every exchange is a signed HTTP request on loopback.
//! Each town hosts one collectivité (a commune of the referential, spread over
//! France) that publishes M actions (default 50) through `service::actions`, with the
//! generated French text of the `search` scenario.
//!
//! The aggregator (`aggregator.enabled`) rebuilds the directory as in production: its
//! instance actor follows every town's collectivité the way `maillage follow --file`
//! does (`service::follows::follow` for each handle: WebFinger, the actor fetched and
//! stored, a `Follow` queued) before the aggregator serves; then its worker delivers
//! the `Follow`s, each town checks the signature (fetching the aggregator's actor) and
//! answers with an `Accept` from its own worker, and the aggregator, on each `Accept`,
//! walks the town's outbox (`federation/backfill.rs`: actor, outbox, pages of 20) and
//! stores every action through `receive::create_or_update`.
//!
//! - **Phase 1, all up.** Time from the aggregator's start to its directory holding all
//!   N×M actions.
//! - **Phase 2, part of the network down.** A second, fresh aggregator joins (a
//!   regional directory, say). Its follows are queued while every town is up; then
//!   P % of the towns (default 10 %, spread evenly) go down — HTTP server and delivery
//!   worker stopped, port closed, database closed — and the aggregator starts serving:
//!   its `Follow`s to the down towns fail (connection refused) and wait for the
//!   library's own retry (`federation/delivery.rs`: first retry 60 s ± 10 % after the
//!   failure). The down towns come back after `--down-secs` (default 20 s) on the same
//!   port with the same database, as a restarted process. Measured: when the
//!   aggregator holds the actions of the towns that were up, when the others came
//!   back, when it holds all N×M. No setting is changed to hurry it: with
//!   `--down-secs` over ~54 s the first retry fails too and the next one comes 5
//!   minutes later (raise `--timeout` then).
//!
//! Counted for each phase, all real counts: HTTP requests the nodes received (the
//! process-wide `maillage_http_requests_total` read from `/metrics`, by route; every
//! node of the process records into it, the harness's own `/metrics` reads excluded),
//! delivery attempts and their outcomes (every node's `deliveries` table before and
//! after), warnings and errors the nodes logged, backfills done. At the end of each
//! phase, on the aggregator: the directory API's total, and the ids of its actions,
//! which must be exactly the N×M published — none missing, none twice, none other. The
//! run fails otherwise, or when `--timeout` passes first.
//!
//! Pools: each town has `--town-connections` SQLite connections (default 2); the
//! aggregators keep the default (8). Delivery, rate-limit and backfill settings are the
//! defaults; `federation.debug` is on (plain-`http` ids on `localhost` ports).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures_util::StreamExt as _;
use maillage::config::Settings;
use maillage::db::Store;
use maillage::domain::NewAction;
use maillage::domain::drafts::CollectiviteBody;
use maillage::referential::{Commune, Referential};
use maillage::startup::App;
use maillage::state::AppState;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::report::Report;
use crate::search::{Rng, action_body};

/// Parameters.
#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// Town nodes (one collectivité each).
    #[arg(long, default_value_t = 100)]
    pub nodes: usize,
    /// Actions each town publishes.
    #[arg(long, default_value_t = 50)]
    pub actions: usize,
    /// Share of the towns down in phase 2, in percent.
    #[arg(long, default_value_t = 10)]
    pub down_percent: usize,
    /// How long they stay down in phase 2, in seconds.
    #[arg(long, default_value_t = 20)]
    pub down_secs: u64,
    /// Longest wait, per phase, for the aggregator to hold every action (seconds).
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
    /// SQLite connections of each town's pool (`database.max_connections`).
    #[arg(long, default_value_t = 2)]
    pub town_connections: u32,
}

/// Runs the scenario.
pub async fn run(args: SimulateArgs, report: &mut Report) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.nodes > 0 && args.actions > 0,
        "--nodes and --actions > 0"
    );
    anyhow::ensure!(args.down_percent <= 100, "--down-percent is at most 100");
    let events = Events::install()?;
    let load_before = load_average();
    let dir = tempfile::Builder::new()
        .prefix("maillage-simulate-")
        .tempdir()?;

    // The towns: communes of the referential spread over France (every n-th by code).
    let mut communes: Vec<&'static Commune> = Referential::global()
        .communes()
        .filter(|c| c.point().is_some() && !c.siren.is_empty())
        .collect();
    communes.sort_by(|a, b| a.insee.cmp(&b.insee));
    anyhow::ensure!(
        args.nodes <= communes.len(),
        "at most {} nodes",
        communes.len()
    );
    let chosen: Vec<&'static Commune> = (0..args.nodes)
        .map(|k| communes[k * communes.len() / args.nodes])
        .collect();
    eprintln!(
        "simulate: starting {} town nodes with {} actions each …",
        args.nodes, args.actions
    );
    let setup = Instant::now();
    let mut started: Vec<(usize, Town, Vec<String>)> =
        futures_util::stream::iter(chosen.iter().enumerate())
            .map(|(i, commune)| {
                let dir = dir.path();
                let args = &args;
                async move {
                    start_town(dir, i, commune, args)
                        .await
                        .map(|(town, ids)| (i, town, ids))
                }
            })
            .buffer_unordered(8)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<anyhow::Result<_>>()?;
    started.sort_by_key(|(i, _, _)| *i);
    let mut published = HashSet::new();
    let mut towns = Vec::new();
    for (_, town, ids) in started {
        published.extend(ids);
        towns.push(town);
    }
    let setup_secs = setup.elapsed().as_secs_f64();
    let expected = args.nodes * args.actions;
    anyhow::ensure!(
        published.len() == expected,
        "{} distinct actions published, {expected} expected",
        published.len()
    );
    let (rss, _) = crate::node::memory(std::process::id());
    eprintln!(
        "simulate: {} nodes and {expected} actions ready in {setup_secs:.1} s (RSS {rss:.0} MiB)",
        args.nodes
    );
    report.line(
        "simulate: setting",
        format!(
            "{} town nodes × {} actions + 1 aggregator, every node a real `App` in this process \
             on its own localhost port and SQLite file ({} connections per town, default \
             8 for the aggregator), default delivery settings (first retry 60 s ± 10 %)",
            args.nodes, args.actions, args.town_connections
        ),
    );
    report.line(
        "simulate: setup",
        format!(
            "{} nodes started, {expected} actions published in {setup_secs:.1} s; RSS {rss:.0} MiB",
            args.nodes
        ),
    );
    report.json(
        "setting",
        json!({"nodes": args.nodes, "actions_per_node": args.actions, "expected": expected,
               "down_percent": args.down_percent, "down_secs": args.down_secs,
               "timeout_secs": args.timeout, "town_connections": args.town_connections,
               "setup_secs": setup_secs, "rss_after_setup_mib": rss}),
    );

    let mut context = Context {
        dir: dir.path(),
        args: &args,
        towns: &mut towns,
        published: &published,
        events: &events,
        client: reqwest::Client::new(),
    };
    let first = context.phase(1, &[]).await;
    let count = (args.nodes * args.down_percent + 50) / 100;
    let down: Vec<usize> = (0..count).map(|k| k * args.nodes / count.max(1)).collect();
    // Phase 2 only after a phase 1 that went through.
    let second = match &first {
        Ok(outcome) if outcome.failures.is_empty() => Some(context.phase(2, &down).await),
        _ => None,
    };
    for (n, outcome) in [(1, Some(&first)), (2, second.as_ref())] {
        if let Some(Ok(outcome)) = outcome {
            for (label, value) in &outcome.lines {
                report.line(&format!("phase {n}: {label}"), value.clone());
            }
            report.json(&format!("phase{n}"), outcome.json.clone());
        }
    }
    let (rss, peak) = crate::node::memory(std::process::id());
    report.line(
        "simulate: process memory",
        format!("RSS {rss:.0} MiB at the end, peak {peak:.0} MiB (all nodes together)"),
    );
    let load_after = load_average();
    report.line(
        "simulate: load average (1, 5, 15 min)",
        format!("{load_before} before, {load_after} after"),
    );
    report.json(
        "process",
        json!({"rss_mib": rss, "peak_rss_mib": peak, "load_before": load_before,
               "load_after": load_after}),
    );
    let _ = futures_util::future::join_all(towns.iter_mut().map(|t| t.node.stop())).await;
    let first = first?;
    first.check()?;
    match second {
        Some(second) => second?.check(),
        None => Ok(()),
    }
}

/// The first line of `/proc/loadavg` (1, 5 and 15 minutes).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A node served by this process: a real `App`, which can be stopped and started
/// again on the same port with the same database.
struct Node {
    settings: Settings,
    state: AppState,
    /// `http://localhost:PORT`.
    base: String,
    running: Option<(oneshot::Sender<()>, JoinHandle<anyhow::Result<()>>)>,
}

/// Settings of a node on `localhost:PORT`, its database `dir/NAME.db`.
fn node_settings(dir: &Path, name: &str, port: u16) -> Settings {
    let mut settings = Settings {
        domain: format!("localhost:{port}"),
        bind: format!("127.0.0.1:{port}"),
        ..Settings::default()
    };
    settings.database.url = format!("sqlite://{}", dir.join(format!("{name}.db")).display());
    settings.federation.debug = true;
    settings.federation.allow_private_addresses = true;
    settings
}

impl Node {
    /// Builds the app on `listener` (database opened and migrated, instance actor) and
    /// serves it, delivery worker included.
    async fn start(settings: Settings, listener: TcpListener) -> anyhow::Result<Self> {
        settings.validate()?;
        let app = App::build_with_listener(settings.clone(), listener).await?;
        let state = app.state();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        Ok(Self {
            base: format!("http://{}", settings.domain),
            settings,
            state,
            running: Some((stop, task)),
        })
    }

    /// Goes down as a stopped process does: HTTP server (the port closes) and worker
    /// stopped, database closed.
    async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some((stop, task)) = self.running.take() {
            let _ = stop.send(());
            task.await??;
        }
        self.state.store.close().await;
        Ok(())
    }

    /// Comes back on the same port with the same database.
    async fn restart(&mut self) -> anyhow::Result<()> {
        let listener = TcpListener::bind(&self.settings.bind)
            .await
            .with_context(|| format!("binding {} again", self.settings.bind))?;
        *self = Self::start(self.settings.clone(), listener).await?;
        Ok(())
    }
}

/// A town's node and its collectivité.
struct Town {
    node: Node,
    /// `acct:USERNAME@localhost:PORT`, as in a `maillage follow --file` list.
    handle: String,
}

/// A username from a commune's name: `Marcq-en-Barœul` → `marcq-en-baroeul`.
fn username_of(commune: &Commune) -> String {
    let folded: String = maillage::directory::text::fold(&commune.nom)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let name = folded
        .split('-')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    match name.len() {
        0 => format!("commune-{}", commune.insee.to_ascii_lowercase()),
        1..=64 => name,
        _ => name[..64].trim_end_matches('-').to_string(),
    }
}

/// Starts town `i` on a free port and publishes its actions; returns the town and the
/// ids of its actions.
async fn start_town(
    dir: &Path,
    i: usize,
    commune: &Commune,
    args: &SimulateArgs,
) -> anyhow::Result<(Town, Vec<String>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let mut settings = node_settings(dir, &format!("town-{i}"), port);
    settings.database.max_connections = args.town_connections;
    settings.node.name = format!("Nœud numérique de {}", commune.nom);
    let node = Node::start(settings, listener).await?;
    let username = username_of(commune);
    let body = CollectiviteBody {
        username: Some(username.clone()),
        insee: Some(commune.insee.clone()),
        ..Default::default()
    };
    let collectivite =
        maillage::service::collectivites::create_collectivite(&node.state, body.into_profile()?)
            .await?;
    let mut rng = Rng((0x9e37_79b9_7f4a_7c15 ^ (i as u64).wrapping_mul(0x2545_f491_4f6c_dd1d)) | 1);
    let mut ids = Vec::with_capacity(args.actions);
    for n in 0..args.actions {
        let data = NewAction::try_from(action_body(&mut rng, n, commune))
            .map_err(|e| anyhow::anyhow!("{:?}", e.0))?;
        let action =
            maillage::service::actions::create_action(&node.state, &collectivite, data).await?;
        ids.push(action.ap_id.to_string());
    }
    Ok((
        Town {
            handle: format!("acct:{username}@{}", node.settings.domain),
            node,
        },
        ids,
    ))
}

/// What a phase shares with the run.
struct Context<'a> {
    dir: &'a Path,
    args: &'a SimulateArgs,
    towns: &'a mut Vec<Town>,
    published: &'a HashSet<String>,
    events: &'a Events,
    client: reqwest::Client,
}

/// What a phase measured, and what must hold.
struct Outcome {
    lines: Vec<(String, String)>,
    json: Value,
    /// Failures found (timeout, missing or extra actions).
    failures: Vec<String>,
}

impl Outcome {
    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.failures.is_empty(), "{}", self.failures.join("; "));
        Ok(())
    }
}

impl Context<'_> {
    /// A node that is up, to read the process-wide metrics from.
    fn reader(&self, down: &[usize]) -> String {
        (0..self.towns.len())
            .find(|i| !down.contains(i))
            .map_or_else(String::new, |i| self.towns[i].node.base.clone())
    }

    /// Every town's delivery queue, added up.
    async fn town_queues(&self) -> anyhow::Result<Queues> {
        let mut total = Queues::new();
        for town in self.towns.iter() {
            add_queues(&mut total, &queues(&town.node.state.store).await?);
        }
        Ok(total)
    }

    /// Runs phase `n` with the towns of `down` down for `--down-secs` (none: phase 1).
    async fn phase(&mut self, n: usize, down: &[usize]) -> anyhow::Result<Outcome> {
        let args = self.args;
        let expected = args.nodes * args.actions;
        let up_expected = (args.nodes - down.len()) * args.actions;
        let reader = self.reader(down);
        let requests_before = requests(&self.client, &reader).await?;
        let towns_before = self.town_queues().await?;
        self.events.reset();

        // The aggregator's follows, queued before it serves, as `maillage follow --file`
        // does: one request budget per handle, WebFinger, the actor stored, a `Follow`.
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let mut settings = node_settings(self.dir, &format!("aggregator-{n}"), port);
        settings.aggregator.enabled = true;
        // The simulated towns have no website to verify: every one is listed.
        settings.aggregator.admission = maillage::config::Admission::Open;
        settings.node.name = format!("Annuaire Maillage n° {n}");
        let queued = Instant::now();
        let prepared = maillage::startup::prepare(settings.clone()).await?;
        let follower = prepared
            .store
            .actor_by_id(prepared.instance_actor.id)
            .await?
            .context("the instance actor is missing")?;
        let config = maillage::federation::federation_config(prepared.clone()).await?;
        let mut follow_failures = Vec::new();
        for town in self.towns.iter() {
            let data = config.to_request_data();
            if let Err(error) =
                maillage::service::follows::follow(&data, &follower, &town.handle).await
            {
                follow_failures.push(format!("{}: {error}", town.handle));
            }
        }
        drop(config);
        prepared.store.close().await;
        drop(prepared);
        let queued_secs = queued.elapsed().as_secs_f64();

        // Part of the network goes down.
        for &i in down {
            let town = &mut self.towns[i];
            town.node.stop().await?;
            anyhow::ensure!(
                tokio::net::TcpStream::connect(&town.node.settings.bind)
                    .await
                    .is_err(),
                "{} still accepts connections",
                town.node.settings.bind
            );
        }
        if !down.is_empty() {
            eprintln!(
                "simulate: phase {n}: {} towns down for {} s",
                down.len(),
                args.down_secs
            );
        }

        // The aggregator serves; its worker sends the queued `Follow`s.
        let mut aggregator = Node::start(settings, listener).await?;
        let started = Instant::now();
        let started_at = chrono::Utc::now();
        let timeout = Duration::from_secs(args.timeout);
        let (mut first, mut half, mut up_all, mut all, mut back) = (None, None, None, None, None);
        let mut count;
        let mut said = Instant::now();
        loop {
            count = aggregator.state.store.count_remote_actions().await? as usize;
            let elapsed = started.elapsed();
            if count > 0 {
                first.get_or_insert(elapsed);
            }
            if count * 2 >= expected {
                half.get_or_insert(elapsed);
            }
            if count >= up_expected {
                up_all.get_or_insert(elapsed);
            }
            if count >= expected {
                all = Some(elapsed);
                break;
            }
            if back.is_none() && !down.is_empty() && elapsed >= Duration::from_secs(args.down_secs)
            {
                let restarts = self
                    .towns
                    .iter_mut()
                    .enumerate()
                    .filter(|(i, _)| down.contains(i))
                    .map(|(_, town)| town.node.restart());
                for result in futures_util::future::join_all(restarts).await {
                    result?;
                }
                back = Some(started.elapsed());
                eprintln!(
                    "simulate: phase {n}: the {} towns are back after {:.1} s",
                    down.len(),
                    started.elapsed().as_secs_f64()
                );
            }
            if elapsed > timeout {
                break;
            }
            if said.elapsed() >= Duration::from_secs(5) {
                eprintln!(
                    "simulate: phase {n}: {count} of {expected} actions after {:.0} s",
                    elapsed.as_secs_f64()
                );
                said = Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let waited = all.unwrap_or_else(|| started.elapsed());
        // A town still down (timeout before `--down-secs`) comes back for the counts.
        if back.is_none() {
            for &i in down {
                self.towns[i].node.restart().await?;
            }
        }

        // Settle: every backfill finished and nothing left to deliver (bounded), so that
        // a late duplicate would be seen.
        let settling = Instant::now();
        let mut settled = false;
        while settling.elapsed() < Duration::from_secs(30) {
            let pending = total_queue(&self.town_queues().await?).pending
                + total_queue(&queues(&aggregator.state.store).await?).pending;
            if self.events.backfills().0 + self.events.backfills().2 >= args.nodes && pending == 0 {
                settled = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let settle_secs = settling.elapsed().as_secs_f64();

        // Counts, then the aggregator's directory checked.
        let requests = diff_requests(
            &requests(&self.client, &aggregator.base).await?,
            &requests_before,
        );
        let towns_after = self.town_queues().await?;
        let aggregator_queues = queues(&aggregator.state.store).await?;
        let mut delivered = diff_queues(&towns_after, &towns_before);
        add_queues(&mut delivered, &aggregator_queues);
        let events = self.events.snapshot();
        let (backfills, ingested, backfills_failed) = self.events.backfills();
        let total: Value = self
            .client
            .get(format!(
                "{}/api/v1/directory/actions?limit=1",
                aggregator.base
            ))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let api_total = total["total"].as_u64().unwrap_or(0) as usize;
        let Store::Sqlite(pool) = &aggregator.state.store else {
            anyhow::bail!("the simulation runs on SQLite");
        };
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT ap_id FROM actions WHERE deleted_at IS NULL")
                .fetch_all(pool)
                .await?;
        let distinct: HashSet<&str> = ids.iter().map(String::as_str).collect();
        let twice = ids.len() - distinct.len();
        let missing = self
            .published
            .iter()
            .filter(|id| !distinct.contains(id.as_str()))
            .count();
        let other = distinct
            .iter()
            .filter(|id| !self.published.contains(**id))
            .count();
        // When the aggregator's retried deliveries (the `Follow`s to the towns that were
        // down) went through, from its start.
        let retried: (
            Option<chrono::DateTime<chrono::Utc>>,
            Option<chrono::DateTime<chrono::Utc>>,
        ) = sqlx::query_as(
            "SELECT MIN(updated_at), MAX(updated_at) FROM deliveries \
                 WHERE attempts > 1 AND state = 'done'",
        )
        .fetch_one(pool)
        .await?;
        let since_start = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map(|t| (t - started_at).num_milliseconds() as f64 / 1000.0)
        };
        let retried = (since_start(retried.0), since_start(retried.1));
        aggregator.stop().await?;

        let mut failures = Vec::new();
        if all.is_none() {
            failures.push(format!(
                "phase {n}: the aggregator held {count} of {expected} actions after {} s",
                args.timeout
            ));
        }
        if ids.len() != expected || twice + missing + other > 0 || api_total != expected {
            failures.push(format!(
                "phase {n}: {} actions stored ({} distinct; {missing} missing, {other} not \
                 published, {twice} twice), directory API total {api_total}, {expected} expected",
                ids.len(),
                distinct.len()
            ));
        }
        if !follow_failures.is_empty() {
            failures.push(format!(
                "phase {n}: {} follows not queued: {}",
                follow_failures.len(),
                follow_failures.join("; ")
            ));
        }

        let secs = |d: Option<Duration>| d.map(|d| d.as_secs_f64());
        let at = |d: Option<Duration>| {
            d.map_or("—".to_string(), |d| format!("{:.2} s", d.as_secs_f64()))
        };
        let received: u64 = requests.values().sum();
        let answered_errors: u64 = requests
            .iter()
            .filter(|((_, _, status), _)| *status >= 400)
            .map(|(_, n)| n)
            .sum();
        let inbox_errors: u64 = requests
            .iter()
            .filter(|((method, route, status), _)| {
                method == "POST" && route.ends_with("inbox") && *status >= 400
            })
            .map(|(_, n)| n)
            .sum();
        let sum = total_queue(&delivered);
        let failed_attempts = sum.attempts - sum.done;
        let unreached = (failed_attempts as u64).saturating_sub(inbox_errors);
        let mut by_route: BTreeMap<String, u64> = BTreeMap::new();
        for ((method, route, _), n) in &requests {
            *by_route.entry(format!("{method} {route}")).or_default() += n;
        }
        let mut routes: Vec<(String, u64)> = by_route.into_iter().collect();
        routes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let warnings: Vec<(String, u64)> = events
            .iter()
            .filter(|((level, _), _)| level == "WARN" || level == "ERROR")
            .map(|((level, message), n)| (format!("{level} {message}"), *n))
            .collect();

        let mut lines = Vec::new();
        let held = match all {
            Some(_) => format!("all {expected} actions"),
            None => format!("{count} of {expected} actions (timeout)"),
        };
        lines.push((
            "aggregator holds".to_string(),
            format!(
                "{held} after {} from its start ({}first action {}, half {}); follows queued \
                 before, in {queued_secs:.2} s",
                at(Some(waited)),
                // A rate means something only when nothing waited for a retry.
                if down.is_empty() {
                    format!("{:.0} actions/s; ", count as f64 / waited.as_secs_f64())
                } else {
                    String::new()
                },
                at(first),
                at(half),
            ),
        ));
        if !down.is_empty() {
            let after_back = match (all, back) {
                (Some(all), Some(back)) => format!("{:.2} s", (all - back).as_secs_f64()),
                _ => "—".to_string(),
            };
            lines.push((
                "towns down".to_string(),
                format!(
                    "{} of {} (ports closed) from the aggregator's start until {}; the {up_expected} \
                     actions of the towns up held after {}; retried deliveries through at {}; \
                     all held {after_back} after the others came back",
                    down.len(),
                    args.nodes,
                    at(back),
                    at(up_all),
                    match retried {
                        (Some(a), Some(b)) => format!("{a:.1}–{b:.1} s"),
                        _ => "—".to_string(),
                    }
                ),
            ));
        }
        lines.push((
            "directory check".to_string(),
            format!(
                "API total {api_total}; {} stored, {} distinct, {missing} missing, {other} not \
                 published, {twice} twice{}",
                ids.len(),
                distinct.len(),
                if settled {
                    format!(" (checked once settled, {settle_secs:.1} s later)")
                } else {
                    " (not settled after 30 s)".to_string()
                }
            ),
        ));
        lines.push((
            "HTTP requests received".to_string(),
            format!(
                "{received} ({answered_errors} answered ≥ 400): {}",
                routes
                    .iter()
                    .map(|(route, n)| format!("{route} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
        lines.push((
            "deliveries".to_string(),
            format!(
                "{} queued ({}); {} attempts: {} delivered, {failed_attempts} failed \
                 ({inbox_errors} answered with an error, {unreached} reached no server), \
                 {} given up, {} pending",
                sum.rows,
                delivered
                    .iter()
                    .map(|(kind, q)| format!("{} {kind}", q.rows))
                    .collect::<Vec<_>>()
                    .join(", "),
                sum.attempts,
                sum.done,
                sum.failed,
                sum.pending
            ),
        ));
        lines.push((
            "requests sent".to_string(),
            format!(
                "{} (received, plus the {unreached} delivery attempts that reached no server)",
                received + unreached
            ),
        ));
        lines.push((
            "backfills, warnings".to_string(),
            format!(
                "{backfills} backfills done ({ingested} items applied), {backfills_failed} failed; \
                 {} warnings or errors logged{}",
                warnings.iter().map(|(_, n)| n).sum::<u64>(),
                if warnings.is_empty() {
                    String::new()
                } else {
                    format!(
                        ": {}",
                        warnings
                            .iter()
                            .take(5)
                            .map(|(m, n)| format!("{m} ×{n}"))
                            .collect::<Vec<_>>()
                            .join("; ")
                    )
                }
            ),
        ));
        let json = json!({
            "expected": expected,
            "reached": all.is_some(),
            "held": count,
            "seconds_to_all": secs(all),
            "actions_per_second": count as f64 / waited.as_secs_f64(),
            "seconds_to_first": secs(first),
            "seconds_to_half": secs(half),
            "follows_queued_secs": queued_secs,
            "follow_failures": follow_failures,
            "down": down.len(),
            "down_ports": down.iter().map(|&i| self.towns[i].node.settings.domain.clone()).collect::<Vec<_>>(),
            "seconds_towns_back": secs(back),
            "seconds_to_up_towns_actions": secs(up_all),
            "seconds_retried_deliveries_done": [retried.0, retried.1],
            "directory_api_total": api_total,
            "stored": ids.len(),
            "distinct": distinct.len(),
            "missing": missing,
            "not_published": other,
            "twice": twice,
            "settled": settled,
            "settle_secs": settle_secs,
            "requests_received": received,
            "requests_answered_4xx_5xx": answered_errors,
            "requests_by_route": routes.iter().map(|(r, n)| json!({"route": r, "count": n})).collect::<Vec<_>>(),
            "deliveries": delivered.iter().map(|(kind, q)| (kind.clone(), q.json())).collect::<serde_json::Map<_, _>>(),
            "delivery_attempts_failed": failed_attempts,
            "delivery_attempts_unreached": unreached,
            "requests_sent": received + unreached,
            "backfills_done": backfills,
            "backfill_items_applied": ingested,
            "backfills_failed": backfills_failed,
            "warnings": warnings.iter().map(|(m, n)| json!({"event": m, "count": n})).collect::<Vec<_>>(),
        });
        Ok(Outcome {
            lines,
            json,
            failures,
        })
    }
}

/// Requests received, by method, route template and status.
type Requests = BTreeMap<(String, String, u16), u64>;

/// Reads `maillage_http_requests_total` from a node's `/metrics` (the recorder is the
/// process's, shared by every node); `/metrics` itself left out.
async fn requests(client: &reqwest::Client, base: &str) -> anyhow::Result<Requests> {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    let mut counts = Requests::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("maillage_http_requests_total{") else {
            continue;
        };
        let Some((labels, value)) = rest.rsplit_once("} ") else {
            continue;
        };
        let (mut method, mut route, mut status) = (String::new(), String::new(), 0);
        for pair in labels.split("\",") {
            let Some((key, value)) = pair.split_once("=\"") else {
                continue;
            };
            let value = value.trim_end_matches('"');
            match key {
                "method" => method = value.to_string(),
                "route" => route = value.to_string(),
                "status" => status = value.parse().unwrap_or(0),
                _ => {}
            }
        }
        if route != "/metrics" {
            *counts.entry((method, route, status)).or_default() +=
                value.trim().parse::<f64>()? as u64;
        }
    }
    Ok(counts)
}

fn diff_requests(after: &Requests, before: &Requests) -> Requests {
    after
        .iter()
        .map(|(key, n)| (key.clone(), n - before.get(key).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// One node's delivery queue (or a sum, or a difference), for one kind of activity.
#[derive(Debug, Default, Clone, Copy)]
struct Queue {
    rows: i64,
    attempts: i64,
    done: i64,
    failed: i64,
    pending: i64,
}

impl Queue {
    fn json(&self) -> Value {
        json!({"queued": self.rows, "attempts": self.attempts, "delivered": self.done,
               "given_up": self.failed, "pending": self.pending})
    }
}

/// Queues by activity kind (`Follow`, `Accept`…).
type Queues = BTreeMap<String, Queue>;

const QUEUE_SQL: &str = "SELECT v.kind, COUNT(*), COALESCE(SUM(d.attempts), 0), \
     COALESCE(SUM(CASE WHEN d.state = 'done' THEN 1 ELSE 0 END), 0), \
     COALESCE(SUM(CASE WHEN d.state = 'failed' THEN 1 ELSE 0 END), 0), \
     COALESCE(SUM(CASE WHEN d.state = 'pending' THEN 1 ELSE 0 END), 0) \
     FROM deliveries d JOIN activities v ON v.id = d.activity_id GROUP BY v.kind";

/// A node's `deliveries` table, by activity kind.
async fn queues(store: &Store) -> anyhow::Result<Queues> {
    let Store::Sqlite(pool) = store else {
        anyhow::bail!("the simulation runs on SQLite");
    };
    let rows: Vec<(String, i64, i64, i64, i64, i64)> =
        sqlx::query_as(QUEUE_SQL).fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .map(|(kind, rows, attempts, done, failed, pending)| {
            (
                kind,
                Queue {
                    rows,
                    attempts,
                    done,
                    failed,
                    pending,
                },
            )
        })
        .collect())
}

fn add_queues(total: &mut Queues, more: &Queues) {
    for (kind, q) in more {
        let t = total.entry(kind.clone()).or_default();
        t.rows += q.rows;
        t.attempts += q.attempts;
        t.done += q.done;
        t.failed += q.failed;
        t.pending += q.pending;
    }
}

/// `after − before`, kind by kind; `pending` is the count at the end.
fn diff_queues(after: &Queues, before: &Queues) -> Queues {
    after
        .iter()
        .map(|(kind, a)| {
            let b = before.get(kind).copied().unwrap_or_default();
            (
                kind.clone(),
                Queue {
                    rows: a.rows - b.rows,
                    attempts: a.attempts - b.attempts,
                    done: a.done - b.done,
                    failed: a.failed - b.failed,
                    pending: a.pending,
                },
            )
        })
        .filter(|(_, q)| q.rows > 0 || q.attempts > 0 || q.pending > 0)
        .collect()
}

/// All kinds together.
fn total_queue(queues: &Queues) -> Queue {
    queues.values().fold(Queue::default(), |t, q| Queue {
        rows: t.rows + q.rows,
        attempts: t.attempts + q.attempts,
        done: t.done + q.done,
        failed: t.failed + q.failed,
        pending: t.pending + q.pending,
    })
}

/// The events the nodes log (`maillage` at `INFO` and above, others at `WARN` and
/// above), counted by level and message; warnings and errors are also printed, as
/// `RUST_LOG` says (default `warn`).
#[derive(Clone, Default)]
struct Events(Arc<Mutex<EventCounts>>);

#[derive(Default)]
struct EventCounts {
    by_message: BTreeMap<(String, String), u64>,
    /// Items applied, from the `ingested` field of "backfill done".
    ingested: u64,
}

impl Events {
    /// Installs the process's `tracing` subscriber.
    fn install() -> anyhow::Result<Self> {
        use tracing_subscriber::prelude::*;
        let events = Self::default();
        let print = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
        let counted = tracing_subscriber::filter::Targets::new()
            .with_target("maillage", tracing::Level::INFO)
            .with_default(tracing::Level::WARN);
        tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_filter(print),
            )
            .with(events.clone().with_filter(counted))
            .try_init()?;
        Ok(events)
    }

    fn reset(&self) {
        *self.0.lock().expect("BUG: poisoned") = EventCounts::default();
    }

    fn snapshot(&self) -> BTreeMap<(String, String), u64> {
        self.0.lock().expect("BUG: poisoned").by_message.clone()
    }

    /// Backfills done, items they applied, backfills failed.
    fn backfills(&self) -> (usize, u64, usize) {
        let counts = self.0.lock().expect("BUG: poisoned");
        let count = |level: &str, message: &str| {
            counts
                .by_message
                .get(&(level.to_string(), message.to_string()))
                .copied()
                .unwrap_or(0) as usize
        };
        (
            count("INFO", "backfill done"),
            counts.ingested,
            count("WARN", "backfill failed"),
        )
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Events {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        #[derive(Default)]
        struct Fields {
            message: String,
            ingested: u64,
        }
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.message = format!("{value:?}");
                }
            }
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                if field.name() == "message" {
                    self.message = value.to_string();
                }
            }
            fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
                if field.name() == "ingested" {
                    self.ingested = value;
                }
            }
            fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
                if field.name() == "ingested" {
                    self.ingested = value.max(0) as u64;
                }
            }
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut counts = self.0.lock().expect("BUG: poisoned");
        if fields.message == "backfill done" {
            counts.ingested += fields.ingested;
        }
        *counts
            .by_message
            .entry((event.metadata().level().to_string(), fields.message))
            .or_default() += 1;
    }
}

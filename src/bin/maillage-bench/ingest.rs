//! `ingest`: K fake remote actors (served here) send N signed `Create{Article}` to one
//! node's shared inbox, C at a time, signed before the clock starts; activities
//! applied per second, latency, the node's peak memory. Rate limits are off: this is
//! the node's ceiling, not its policy.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::fake::{self, Actor};
use crate::flood::{post, valid_requests};
use crate::node::{self, Node};
use crate::report::{Report, percentile};

/// Parameters.
#[derive(Debug, Clone, clap::Args)]
pub struct IngestArgs {
    /// Activities sent.
    #[arg(long, default_value_t = 10_000)]
    pub activities: usize,
    /// Fake remote actors (K), spread over hosts of 2 actors.
    #[arg(long, default_value_t = 100)]
    pub actors: usize,
    /// Requests in flight at once (C).
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
}

/// Runs the scenario; returns the activities applied per second.
pub async fn run(args: IngestArgs, report: &mut Report) -> anyhow::Result<f64> {
    let dir = tempfile::tempdir()?;
    let mut settings = node::settings(dir.path())?;
    settings.limits.inbox_per_host_per_minute = 0;
    settings.limits.requests_per_ip_per_minute = 0;
    let keys = fake::keys(4).await?;
    let hosts = fake::start(args.actors.div_ceil(2), 2, &keys, Default::default()).await?;
    let actors: Vec<Actor> = hosts.iter().flat_map(|h| h.actors.clone()).collect();
    node::seed(&settings, &hosts, node::Link::LocalFollowsRemote).await?;
    let node = Node::spawn(settings, dir.path()).await?;
    let inbox_url: url::Url = format!("{}/inbox", node.base).parse()?;
    let inbox = inbox_url.to_string();
    let requests = Arc::new(valid_requests(&inbox_url, &actors, args.activities));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .timeout(Duration::from_secs(60))
        .build()?;
    let pid = node.pid();
    let next = Arc::new(AtomicUsize::new(0));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(args.activities)));
    let failures = Arc::new(AtomicUsize::new(0));
    let usage_before = node::Usage::of(pid);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let (requests, next, latencies, failures, client, inbox) = (
            requests.clone(),
            next.clone(),
            latencies.clone(),
            failures.clone(),
            client.clone(),
            inbox.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(request) = requests.get(i) else {
                    break;
                };
                let sent = Instant::now();
                if post(&client, &inbox, request).await != Some(202) {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
                latencies.lock().unwrap().push(sent.elapsed());
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let elapsed = started.elapsed();
    let usage = node::Usage::of(pid);
    let (_, peak) = node::memory(pid);
    let db_url = node.settings.database.url.clone();
    node.stop()?;
    let stored = maillage::db::Store::connect(&db_url, 2)
        .await?
        .count_remote_actions()
        .await?;
    let mut latencies = latencies.lock().unwrap().clone();
    latencies.sort();
    let rate = stored as f64 / elapsed.as_secs_f64();
    report.line(
        "ingest: activities applied",
        format!(
            "{stored} of {} in {:.2} s → {rate:.0}/s; p50 {:.1} ms, p99 {:.1} ms; {} not 202",
            args.activities,
            elapsed.as_secs_f64(),
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
            failures.load(Ordering::Relaxed)
        ),
    );
    report.line(
        "ingest: setting",
        format!(
            "{} actors on {} hosts, concurrency {}, SQLite, node in its own process",
            actors.len(),
            hosts.len(),
            args.concurrency
        ),
    );
    report.line("ingest: node peak RSS", format!("{peak:.1} MiB"));
    let (cpu_us, switches) = usage.per_item_since(usage_before, stored as f64);
    report.line(
        "ingest: node per activity",
        format!(
            "{cpu_us:.0} µs of CPU, {switches:.1} context switches ({:.0} % of one core)",
            (usage.cpu_secs - usage_before.cpu_secs) / elapsed.as_secs_f64() * 100.0
        ),
    );
    report.json(
        "ingest",
        json!({"activities": args.activities, "stored": stored, "seconds": elapsed.as_secs_f64(),
               "per_second": rate, "p50_ms": percentile(&latencies, 0.5),
               "p99_ms": percentile(&latencies, 0.99), "peak_rss_mib": peak,
               "concurrency": args.concurrency, "actors": actors.len(),
               "node_cpu_us_per_activity": cpu_us, "node_switches_per_activity": switches}),
    );
    anyhow::ensure!(
        stored as usize == args.activities,
        "{stored} stored for {} sent",
        args.activities
    );
    Ok(rate)
}

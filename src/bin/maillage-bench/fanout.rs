//! `fanout`: one collectivité followed by F fake actors spread over H fake hosts (which
//! verify every signature) publishes M actions through the API; signed deliveries per
//! second, from the first publication until every host has verified every activity.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use maillage::activitypub::signatures::VerifyingKey;
use serde_json::json;

use crate::fake;
use crate::node::{self, Node};
use crate::report::Report;

/// Parameters.
#[derive(Debug, Clone, clap::Args)]
pub struct FanoutArgs {
    /// Followers (F).
    #[arg(long, default_value_t = 1000)]
    pub followers: usize,
    /// Fake hosts they are spread over (H); each host has one shared inbox.
    #[arg(long, default_value_t = 100)]
    pub hosts: usize,
    /// Actions published (M).
    #[arg(long, default_value_t = 50)]
    pub actions: usize,
    /// Concurrent deliveries per remote host (`delivery.per_host`), per worker.
    #[arg(long, default_value_t = 4)]
    pub per_host: usize,
    /// Separate `maillage worker` processes (0: the workers inside the node). Needs
    /// `--database postgres://…`.
    #[arg(long, default_value_t = 0)]
    pub workers: usize,
    /// A PostgreSQL database shared by the node and its workers (a fresh schema is made
    /// in it and dropped after); default: SQLite in a temporary folder.
    #[arg(long)]
    pub database: Option<String>,
}

/// Runs the scenario; returns the signed deliveries per second.
pub async fn run(args: FanoutArgs, report: &mut Report) -> anyhow::Result<f64> {
    let dir = tempfile::tempdir()?;
    let mut settings = node::settings(dir.path())?;
    settings.limits.requests_per_ip_per_minute = 0;
    settings.delivery.per_host = args.per_host;
    let schema = match &args.database {
        Some(url) => {
            let schema = node::fresh_schema(url).await?;
            settings.database.url = schema.1.clone();
            Some(schema)
        }
        None => None,
    };
    anyhow::ensure!(
        args.workers == 0 || schema.is_some(),
        "separate workers share a PostgreSQL database: give --database postgres://…"
    );
    settings.delivery.workers = args.workers == 0;
    // Separate workers are not woken by the node: they poll, here every 50 ms.
    settings.delivery.poll_interval_ms = 50;
    let keys = fake::keys(4).await?;
    let sender = fake::Sender::default();
    let per_host = args.followers.div_ceil(args.hosts);
    let hosts = fake::start(args.hosts, per_host, &keys, sender.clone()).await?;
    let seeded = node::seed(&settings, &hosts, node::Link::RemoteFollowsLocal).await?;
    let _ = sender.set(VerifyingKey::from_pem(&seeded.public_key_pem)?);
    let workers: Vec<Node> = (0..args.workers)
        .map(|n| Node::spawn_worker(&settings, dir.path(), n))
        .collect::<anyhow::Result<_>>()?;
    let node = Node::spawn(settings, dir.path()).await?;
    let client = reqwest::Client::new();
    let expected = (args.actions * hosts.len()) as u64;
    let usage_before = node::Usage::of(node.pid());
    let started = Instant::now();
    for i in 0..args.actions {
        let response = client
            .post(format!("{}/api/v1/collectivites/marcq/actions", node.base))
            .bearer_auth(&seeded.token)
            .json(&json!({
                "name": format!("Portail citoyen n° {i}"),
                "summary": "Démarches en ligne, suivi des demandes et prise de rendez-vous.",
                "content": "La commune ouvre un **portail citoyen** pour ses démarches.",
                "themes": ["services-publics"],
                "phase": "service",
            }))
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "publishing answered {}: {}",
            response.status(),
            response.text().await?
        );
    }
    let published = started.elapsed();
    let verified = || {
        hosts
            .iter()
            .map(|h| h.verified.load(Ordering::Relaxed))
            .sum::<u64>()
    };
    let refused = || {
        hosts
            .iter()
            .map(|h| h.refused.load(Ordering::Relaxed))
            .sum::<u64>()
    };
    while verified() + refused() < expected {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "{} of {expected} deliveries after 10 minutes",
            verified()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    let usage = node::Usage::of(node.pid());
    let (_, peak) = node::memory(node.pid());
    node.stop()?;
    for worker in workers {
        worker.stop()?;
    }
    if let Some((base, _, name)) = &schema {
        node::drop_schema(base, name).await?;
    }
    let rate = verified() as f64 / elapsed.as_secs_f64();
    report.line(
        "fanout: signed deliveries verified by the hosts",
        format!(
            "{} of {expected} in {:.2} s → {rate:.0}/s ({} refused; publishing took {:.2} s)",
            verified(),
            elapsed.as_secs_f64(),
            refused(),
            published.as_secs_f64()
        ),
    );
    if args.workers == 0 {
        let (cpu_us, switches) = usage.per_item_since(usage_before, verified() as f64);
        report.line(
            "fanout: node per delivery",
            format!("{cpu_us:.0} µs of CPU, {switches:.1} context switches"),
        );
    }
    report.line(
        "fanout: setting",
        format!(
            "{} followers on {} hosts (one shared inbox each), {} actions, {} per host at once, {}",
            per_host * hosts.len(),
            hosts.len(),
            args.actions,
            args.per_host,
            match (args.workers, schema.is_some()) {
                (0, false) => "SQLite, workers inside the node".to_string(),
                (0, true) => "PostgreSQL, workers inside the node".to_string(),
                (n, _) => format!("PostgreSQL, {n} separate worker process(es)"),
            }
        ),
    );
    report.line("fanout: node peak RSS", format!("{peak:.1} MiB"));
    report.json(
        "fanout",
        json!({"deliveries": verified(), "expected": expected, "refused": refused(),
               "seconds": elapsed.as_secs_f64(), "per_second": rate, "peak_rss_mib": peak,
               "followers": per_host * hosts.len(), "hosts": hosts.len(), "actions": args.actions,
               "workers": args.workers}),
    );
    anyhow::ensure!(
        refused() == 0,
        "{} deliveries failed verification",
        refused()
    );
    Ok(rate)
}

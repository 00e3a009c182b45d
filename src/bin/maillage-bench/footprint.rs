//! `footprint`: a town's node with 1 000 actions — start-up time until `/readyz`
//! answers, and its resident memory idle and after serving its pages once.

use std::time::Duration;

use serde_json::json;

use crate::node::{self, Node};
use crate::report::Report;

/// Parameters.
#[derive(Debug, Clone, clap::Args)]
pub struct FootprintArgs {
    /// Actions of the town.
    #[arg(long, default_value_t = 1000)]
    pub actions: usize,
    /// Start-ups measured (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub starts: usize,
}

/// Runs the scenario.
pub async fn run(args: FootprintArgs, report: &mut Report) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let settings = node::settings(dir.path())?;
    let seeded = node::seed(&settings, &[], node::Link::LocalFollowsRemote).await?;
    {
        let state = maillage::startup::prepare(settings.clone()).await?;
        for i in 0..args.actions {
            let body: maillage::domain::drafts::ActionBody = serde_json::from_value(json!({
                "name": format!("Action numérique n° {i}"),
                "summary": "Démarches en ligne, données ouvertes et médiation numérique.",
                "content": "La commune ouvre un **guichet numérique**.\n\n- prise de rendez-vous\n- suivi des demandes",
                "themes": ["services-publics"],
                "phase": "service",
            }))?;
            maillage::service::actions::create_action(
                &state,
                &seeded.collectivite,
                maillage::domain::NewAction::try_from(body).map_err(|e| anyhow::anyhow!("{e}"))?,
            )
            .await?;
        }
        state.store.close().await;
    }
    let mut ready = Vec::new();
    let (mut idle, mut served, mut peak) = (0.0, 0.0, 0.0);
    for start in 0..args.starts {
        let node = Node::spawn(settings.clone(), dir.path()).await?;
        ready.push(node.ready_after);
        if start + 1 == args.starts {
            tokio::time::sleep(Duration::from_secs(2)).await;
            idle = node::memory(node.pid()).0;
            let client = reqwest::Client::new();
            for path in [
                "/",
                "/actions",
                "/actors/marcq",
                "/api/v1/actions?limit=50",
                "/feeds/actions.atom",
            ] {
                client.get(format!("{}{path}", node.base)).send().await?;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            (served, peak) = node::memory(node.pid());
        }
        node.stop()?;
    }
    ready.sort();
    let median = ready[ready.len() / 2];
    report.line(
        "footprint: start-up to a ready /readyz",
        format!(
            "median {:.0} ms over {} starts (min {:.0}, max {:.0}); {} actions, SQLite",
            median.as_secs_f64() * 1000.0,
            ready.len(),
            ready[0].as_secs_f64() * 1000.0,
            ready[ready.len() - 1].as_secs_f64() * 1000.0,
            args.actions
        ),
    );
    report.line(
        "footprint: node RSS",
        format!("idle {idle:.1} MiB; after serving 5 pages {served:.1} MiB; peak {peak:.1} MiB"),
    );
    report.json(
        "footprint",
        json!({"ready_ms_median": median.as_secs_f64() * 1000.0, "idle_rss_mib": idle,
               "served_rss_mib": served, "peak_rss_mib": peak, "actions": args.actions}),
    );
    Ok(())
}

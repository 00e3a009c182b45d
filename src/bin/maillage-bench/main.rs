//! `maillage-bench`: the benchmark harness (bounded, loopback only). Each scenario
//! starts what it measures — the node in its own process, fake remote hosts served
//! here — prints a table and writes a JSON file. Run it in release:
//!
//! ```text
//! cargo run --release --bin maillage-bench -- flood
//! ```
//!
//! Nothing here runs in `cargo test`: figures depend on the machine.

mod attacks;
mod crypto;
mod fake;
mod fanout;
mod flood;
mod footprint;
mod ingest;
mod node;
mod report;
mod search;
mod simulate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Maillage's benchmarks (loopback only).
#[derive(Debug, Parser)]
struct Cli {
    /// Where to write the JSON figures (default: target/maillage-bench/SCENARIO.json).
    #[arg(long, global = true)]
    json: Option<PathBuf>,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// Flood one node's inbox with valid activities and junk from many fake hosts:
    /// /healthz latency, peak memory, every valid activity applied exactly once.
    Flood(flood::FloodArgs),
    /// K fake actors send N signed Create{Article} to one node's shared inbox.
    Ingest(ingest::IngestArgs),
    /// One collectivité with F followers on H fake hosts publishes M actions.
    Fanout(fanout::FanoutArgs),
    /// Directory search over N generated actions, on SQLite or PostgreSQL.
    Search(search::SearchArgs),
    /// A town's node with 1 000 actions: start-up time and resident memory.
    Footprint(footprint::FootprintArgs),
    /// A federation in one process: N town nodes with M actions each and an aggregator
    /// that follows them all; time until its directory holds every action, requests,
    /// failures; then again with part of the towns down for a while.
    Simulate(simulate::SimulateArgs),
    /// The crypto limit alone: RSA-2048 signatures and verifications per second on one
    /// core, `rsa` crate and aws-lc-rs.
    Crypto,
    /// (internal) Run delivery workers on a configuration file until SIGTERM.
    #[command(hide = true)]
    Worker {
        /// Their configuration.
        config: PathBuf,
    },
    /// (internal) Run a node on a configuration file until SIGTERM.
    #[command(hide = true)]
    Node {
        /// Its configuration.
        config: PathBuf,
    },
}

impl Scenario {
    fn name(&self) -> &'static str {
        match self {
            Scenario::Flood(_) => "flood",
            Scenario::Ingest(_) => "ingest",
            Scenario::Fanout(_) => "fanout",
            Scenario::Footprint(_) => "footprint",
            Scenario::Search(_) => "search",
            Scenario::Simulate(_) => "simulate",
            Scenario::Crypto => "crypto",
            Scenario::Node { .. } => "node",
            Scenario::Worker { .. } => "worker",
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let name = cli.scenario.name();
    let json = cli
        .json
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("target/maillage-bench/{name}.json")));
    let mut report = report::Report::new(name);
    // What the figure is compared with: the verification limit (ingest) or the
    // signing limit (fan-out), on every core of the machine.
    let result = match cli.scenario {
        Scenario::Node { config } => return exit(node::run(&config).await),
        Scenario::Worker { config } => return exit(node::run_worker(&config).await),
        Scenario::Flood(args) => flood::run(args, &mut report).await.map(|()| None),
        Scenario::Crypto => Ok(None),
        Scenario::Ingest(args) => ingest::run(args, &mut report)
            .await
            .map(|rate| Some(("ingest", rate, Limit::Verify))),
        Scenario::Fanout(args) => fanout::run(args, &mut report)
            .await
            .map(|rate| Some(("fanout", rate, Limit::Sign))),
        Scenario::Footprint(args) => footprint::run(args, &mut report).await.map(|()| None),
        Scenario::Search(args) => search::run(args, &mut report).await.map(|()| None),
        Scenario::Simulate(args) => simulate::run(args, &mut report).await.map(|()| None),
    };
    // Every scenario also measures the crypto limit, in the same run.
    let result = match (result, crypto::measure().await) {
        (Ok(compared), Ok(limits)) => {
            limits.report(&mut report);
            if let Some((name, rate, limit)) = compared {
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
                let (what, per_core) = match limit {
                    Limit::Verify => ("verification", limits.verify),
                    Limit::Sign => ("signing", limits.sign),
                };
                let ratio = rate / (per_core * cores);
                report.line(
                    &format!("{name}: ratio to the {what} limit"),
                    format!(
                        "{rate:.0}/s ÷ ({per_core:.0}/s × {cores} cores) = {:.1} %",
                        ratio * 100.0
                    ),
                );
                report.json("ratio_to_crypto_limit", serde_json::json!(ratio));
            }
            Ok(())
        }
        (Err(error), _) | (_, Err(error)) => Err(error),
    };
    let finished = report.finish(&json);
    exit(result.and(finished))
}

/// The crypto operation a scenario's figure is bounded by.
enum Limit {
    Verify,
    Sign,
}

fn exit(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("maillage-bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

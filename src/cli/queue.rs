//! `maillage queue status` and `maillage queue retry (--host HOST | --failed)` (SPEC
//! §11): the delivery queue per host, and deliveries made due now. A running node's
//! workers pick retried deliveries up on their next pass.

use chrono::Utc;
use clap::Subcommand;

use super::{CliError, CliResult};
use crate::db::deliveries::Retry;
use crate::domain::french::count;
use crate::state::AppState;

/// Delivery queue commands.
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Pending and failed deliveries per host, the oldest pending one's age, the
    /// hosts marked unreachable, and the hosts signed to with RFC 9421.
    ///
    /// Example: maillage queue status
    Status,
    /// Make deliveries due now: the pending ones to a host (--host), or the failed
    /// ones (--failed, all hosts or only --host), which get their attempts back.
    ///
    /// Example: maillage queue retry --host ville-b.example
    #[command(group(clap::ArgGroup::new("which").required(true).multiple(true).args(["host", "failed"])))]
    Retry {
        /// The host (domain) whose pending deliveries are retried now.
        #[arg(long)]
        host: Option<String>,
        /// Retry the deliveries given up (with --host: only those to that host).
        #[arg(long)]
        failed: bool,
    },
}

/// A duration for people: `3 j 4 h`, `2 h 5 min`, `40 s`.
fn age(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (days, hours, minutes) = (
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
    );
    if days > 0 {
        format!("{days} j {hours} h")
    } else if hours > 0 {
        format!("{hours} h {minutes} min")
    } else if minutes > 0 {
        format!("{minutes} min")
    } else {
        format!("{seconds} s")
    }
}

/// Runs a queue command.
pub async fn run(state: AppState, command: QueueCommand) -> CliResult {
    match command {
        QueueCommand::Status => {
            let hosts = state.store.queue_by_host().await?;
            let now = Utc::now();
            let pending: i64 = hosts.iter().map(|h| h.pending).sum();
            let failed: i64 = hosts.iter().map(|h| h.failed).sum();
            let oldest = hosts.iter().filter_map(|h| h.oldest_pending).min();
            println!(
                "{}, {}{}",
                count(pending, "livraison en attente", "livraisons en attente"),
                count(failed, "abandonnée", "abandonnées"),
                oldest.map_or_else(String::new, |at| format!(
                    " ; la plus ancienne attend depuis {}",
                    age((now - at).num_seconds())
                ))
            );
            let styles = state.store.instance_signature_styles().await?;
            if !styles.is_empty() {
                // How each host is signed to, when it is not the default (draft-cavage).
                println!("signatures HTTP par hôte (draft-cavage sinon) :");
                for (domain, style, reason, at) in &styles {
                    println!(
                        "{domain}\t{style}\t{}{}",
                        reason.as_deref().unwrap_or("-"),
                        at.map_or_else(String::new, |at| format!(
                            " (il y a {})",
                            age((now - at).num_seconds())
                        ))
                    );
                }
            }
            if hosts.is_empty() {
                return Ok(());
            }
            println!("hôte\ten attente\tabandonnées\tplus ancienne\tprochain essai\tétat");
            for host in hosts {
                let state = host.unreachable_since.map_or_else(
                    || "joignable".to_string(),
                    |since| format!("injoignable depuis {}", age((now - since).num_seconds())),
                );
                let next = host.next_due.map_or_else(
                    || "-".to_string(),
                    |due| {
                        if due <= now {
                            "maintenant".into()
                        } else {
                            format!("dans {}", age((due - now).num_seconds()))
                        }
                    },
                );
                println!(
                    "{}\t{}\t{}\t{}\t{next}\t{state}",
                    host.domain,
                    host.pending,
                    host.failed,
                    host.oldest_pending
                        .map_or_else(|| "-".to_string(), |at| age((now - at).num_seconds())),
                );
            }
        }
        QueueCommand::Retry { host, failed } => {
            let host = host.map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase());
            if host.as_deref() == Some("") {
                return Err(CliError("--host : un nom d'hôte est attendu".into()));
            }
            let which = if failed {
                Retry::Failed(host.as_deref())
            } else {
                Retry::Host(
                    host.as_deref()
                        .expect("BUG: clap requires --host or --failed"),
                )
            };
            let changed = state.store.retry_deliveries(which).await?;
            let plural = changed as i64 > 1;
            let (abandoned, delivery, put) = if plural {
                ("abandonnées", "livraisons", "remises")
            } else {
                ("abandonnée", "livraison", "remise")
            };
            let what = match (&host, failed) {
                (Some(host), true) => format!("{abandoned} vers {host}"),
                (None, _) => abandoned.to_string(),
                (Some(host), false) => format!("en attente vers {host}"),
            };
            println!(
                "{} {delivery} {what} {put} à envoyer maintenant",
                crate::domain::french::number(changed as i64)
            );
        }
    }
    Ok(())
}

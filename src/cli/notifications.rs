//! `maillage notifications send [--digests] | status | retry --failed` (issue 18):
//! mail the editors' notices that are due now, and the daily digests at once with
//! `--digests` (what the background sender of `serve` and `worker` does on its own);
//! count notices by mail state; put the notices whose mail failed for good back in the
//! queue (after an SMTP outage longer than the retries).

use clap::Subcommand;

use super::{CliError, CliResult};
use crate::domain::french::count;
use crate::service::notifications::{Mailer, send_due};
use crate::state::AppState;

/// Notification commands.
#[derive(Debug, Subcommand)]
pub enum NotificationsCommand {
    /// Mail the notices due now (accounts in `immediate` mode), and with --digests
    /// the digests of accounts in `digest` mode at once, whatever the hour.
    ///
    /// Example: maillage notifications send --digests
    Send {
        /// Send the daily digests now rather than after smtp.digest_hour.
        #[arg(long)]
        digests: bool,
    },
    /// Notices by mail state: pending, sent, skipped (no address or mails off, or
    /// past the hourly cap of an account), none (written without [smtp] settings),
    /// failed.
    Status,
    /// Mail again the notices whose mail failed for good (after an SMTP outage
    /// longer than the retries, or a refused address since corrected).
    ///
    /// Example: maillage notifications retry --failed
    Retry {
        /// The notices marked failed (the only ones this command retries).
        #[arg(long, required = true)]
        failed: bool,
    },
}

/// French name of a mail state.
fn state_label(state: &str) -> &str {
    match state {
        "pending" => "à envoyer",
        "sent" => "envoyées",
        "skipped" => {
            "sans courriel (pas d'adresse, courriels coupés, ou trop de notifications en une heure)"
        }
        "none" => "sans courriel (nœud sans réglages [smtp])",
        "failed" => "en échec définitif",
        other => other,
    }
}

/// Runs a notification command.
pub async fn run(state: AppState, command: NotificationsCommand) -> CliResult {
    match command {
        NotificationsCommand::Send { digests } => {
            let mailer = Mailer::new(&state.settings.smtp, &state.settings.domain)?.ok_or_else(|| {
                CliError(
                    "aucun serveur SMTP configuré (section [smtp], clé host) : les notifications restent sur le tableau de bord".into(),
                )
            })?;
            let sent = send_due(&state, &mailer, chrono::Local::now(), digests).await?;
            println!(
                "{} ; {} ; {}",
                count(
                    sent.immediate as i64,
                    "courriel envoyé",
                    "courriels envoyés"
                ),
                count(sent.digests as i64, "résumé envoyé", "résumés envoyés"),
                count(sent.failed as i64, "envoi en échec", "envois en échec"),
            );
            if sent.failed > 0 {
                return Err(CliError(
                    "des courriels n'ont pas pu partir : ils seront réessayés (voir les journaux)"
                        .into(),
                ));
            }
        }
        NotificationsCommand::Retry { failed: _ } => {
            let n = state.store.retry_failed_notices(chrono::Utc::now()).await?;
            println!(
                "{} de nouveau à envoyer",
                count(n as i64, "notification", "notifications")
            );
            if n > 0 {
                state.mail_wakeup.notify_one();
            }
        }
        NotificationsCommand::Status => {
            let counts = state.store.count_notices_by_mail_state().await?;
            if counts.is_empty() {
                println!("aucune notification");
            }
            for (mail_state, n) in counts {
                println!("{n}\t{}", state_label(&mail_state));
            }
        }
    }
    Ok(())
}

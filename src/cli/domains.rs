//! `maillage domains …`: the domain policy from the command line — list, block, unblock, allow,
//! and import or export the lists as Mastodon CSV. A running node applies changes made
//! here within a minute (its workers read the lists again).

use std::path::PathBuf;

use clap::Subcommand;

use super::{CliError, CliResult};
use crate::service::domain_policy::{self, List};
use crate::state::AppState;

/// Domain policy commands.
#[derive(Debug, Subcommand)]
pub enum DomainsCommand {
    /// Show the mode, the blocked domains and actors, and the allowed domains.
    List,
    /// Block a domain (and its subdomains) or an actor (its URL).
    Block {
        /// `spam.example` or `https://spam.example/users/x`.
        target: String,
        /// Why, for the other moderators.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Lift the block of a domain or an actor (as given to `block`).
    ///
    /// Example: maillage domains unblock spam.example
    Unblock {
        /// `spam.example` or `https://spam.example/users/x`.
        target: String,
    },
    /// Allow a domain (and its subdomains) for allow-list mode.
    Allow {
        /// `ville.example`.
        domain: String,
        /// Why, for the other moderators.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Import a CSV file in Mastodon's format (`#domain,#severity,…`, or one domain per
    /// line) into the blocks, or the allows with --allow.
    Import {
        /// The file (`-` reads standard input).
        file: PathBuf,
        /// Fill the allowed domains instead of the blocks.
        #[arg(long)]
        allow: bool,
    },
    /// Export the blocked domains (or the allowed ones with --allow) as Mastodon CSV.
    Export {
        /// Export the allowed domains instead of the blocks.
        #[arg(long)]
        allow: bool,
        /// File to write (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

fn list_of(allow: bool) -> List {
    if allow { List::Allows } else { List::Blocks }
}

/// Runs a domains command.
pub async fn run(state: AppState, command: DomainsCommand) -> CliResult {
    match command {
        DomainsCommand::List => {
            let mode = if state.blocks.allowlist_mode() {
                "liste d'autorisation (seuls les domaines autorisés fédèrent)"
            } else {
                "liste de blocage"
            };
            println!("mode : {mode}");
            for domain in &state.settings.federation.blocked_domains {
                println!("bloqué\t{domain}\t(configuration)");
            }
            for block in state.store.blocks().await? {
                println!("bloqué\t{}\t{}", block.target, block.reason);
            }
            for domain in &state.settings.federation.allowed_domains {
                println!("autorisé\t{domain}\t(configuration)");
            }
            for allowed in state.store.allows().await? {
                println!("autorisé\t{}\t{}", allowed.domain, allowed.reason);
            }
        }
        DomainsCommand::Block { target, reason } => {
            let block = crate::service::moderation::block(&state, &target, &reason).await?;
            println!("bloqué : {}", block.target);
        }
        DomainsCommand::Unblock { target } => {
            let target = crate::service::moderation::unblock_target(&state, &target).await?;
            println!("débloqué : {target}");
        }
        DomainsCommand::Allow { domain, reason } => {
            let allowed = domain_policy::allow(&state, &domain, &reason).await?;
            println!("autorisé : {}", allowed.domain);
        }
        DomainsCommand::Import { file, allow } => {
            let text = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())
            } else {
                std::fs::read_to_string(&file)
            }
            .map_err(|e| {
                CliError(format!(
                    "lecture de {} impossible (UTF-8 attendu) : {e}",
                    file.display()
                ))
            })?;
            let report = domain_policy::import(&state, list_of(allow), &text).await?;
            for skipped in &report.skipped {
                eprintln!(
                    "ligne {} : {} : ignorée, {}",
                    skipped.line, skipped.domain, skipped.message
                );
            }
            for error in &report.errors {
                eprintln!(
                    "ligne {} : {} : {}",
                    error.line, error.domain, error.message
                );
            }
            println!("{}", report.summary());
        }
        DomainsCommand::Export { allow, output } => {
            let csv = domain_policy::export(&state, list_of(allow)).await?;
            match output {
                Some(path) => std::fs::write(&path, csv).map_err(|e| {
                    CliError(format!("écriture de {} impossible : {e}", path.display()))
                })?,
                None => print!("{csv}"),
            }
        }
    }
    Ok(())
}

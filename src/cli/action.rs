//! `maillage action create --collectivite NAME FILE.json | list | delete UUID`.
//! The file holds the same JSON as `POST /api/v1/collectivites/{username}/actions`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

use super::{CliError, CliResult};
use crate::api::actions::ActionView;
use crate::api::collectivites::find_local;
use crate::domain::NewAction;
use crate::domain::drafts::ActionBody;
use crate::service;
use crate::state::AppState;

/// Action commands.
#[derive(Debug, Subcommand)]
pub enum ActionCommand {
    /// Publish an action from a JSON file (`-` reads standard input).
    Create {
        /// Owner.
        #[arg(long)]
        collectivite: String,
        /// The action, as JSON.
        file: PathBuf,
    },
    /// List a collectivité's actions.
    List {
        /// Owner.
        #[arg(long)]
        collectivite: String,
    },
    /// Delete an action (it becomes a tombstone).
    Delete {
        /// Action UUID.
        id: String,
    },
}

/// Runs an action command.
pub async fn run(state: AppState, command: ActionCommand) -> CliResult {
    match command {
        ActionCommand::Create { collectivite, file } => {
            let owner = find_local(&state, &collectivite).await?;
            let text = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin()).context("cannot read standard input")?
            } else {
                std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?
            };
            let body: ActionBody = serde_json::from_str(&text)
                .map_err(|e| CliError(format!("{} : JSON invalide : {e}", file.display())))?;
            let data = NewAction::try_from(body)?;
            let action = service::actions::create_action(&state, &owner, data).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&ActionView::new(&action, true))
                    .expect("BUG: views serialise")
            );
            eprintln!("action publiée : {}", action.ap_id);
        }
        ActionCommand::List { collectivite } => {
            let owner = find_local(&state, &collectivite).await?;
            let mut before = None;
            loop {
                let page = state.store.actions_of(owner.id, before, 100).await?;
                for a in &page {
                    println!(
                        "{}\t{}\t{}",
                        a.id,
                        a.updated.format("%Y-%m-%d"),
                        a.data.name
                    );
                }
                match page.last() {
                    Some(last) if page.len() == 100 => before = Some(last.db_id),
                    _ => break,
                }
            }
        }
        ActionCommand::Delete { id } => {
            let uuid = uuid::Uuid::parse_str(&id)
                .map_err(|_| CliError(format!("« {id} » n'est pas un UUID")))?;
            let action = state
                .store
                .action(uuid)
                .await?
                .filter(|a| a.local)
                .ok_or_else(|| CliError(format!("aucune action « {id} » sur ce nœud")))?;
            service::actions::delete_action(&state, &action).await?;
            eprintln!("action supprimée : {}", action.ap_id);
        }
    }
    Ok(())
}

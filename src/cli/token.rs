//! `maillage token create --collectivite NAME | --admin`: prints the token as the last
//! line of its output (it is stored hashed and cannot be shown again);
//! `maillage token list [--collectivite NAME]` and `maillage token revoke ID` (SPEC §11).

use clap::Subcommand;

use super::{CliError, CliResult};
use crate::api::collectivites::find_local;
use crate::service::tokens::create_token;
use crate::state::AppState;

/// Token commands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a collectivité, or a node-admin token.
    Create {
        /// The collectivité the token acts for.
        #[arg(long, required_unless_present = "admin", conflicts_with = "admin")]
        collectivite: Option<String>,
        /// A node-admin token (may create collectivités and act for all of them).
        #[arg(long)]
        admin: bool,
        /// A note to remember what the token is for.
        #[arg(long)]
        label: Option<String>,
    },
    /// List the tokens: id, scope, note, created, last used (never the token itself).
    ///
    /// Example: maillage token list --collectivite marcq
    List {
        /// Only the tokens of this collectivité.
        #[arg(long)]
        collectivite: Option<String>,
    },
    /// Revoke a token by its id (from `token list`): the next request with it gets 401.
    ///
    /// Example: maillage token revoke 3
    Revoke {
        /// The token's id, as `token list` shows it.
        id: i64,
    },
}

/// A time for people, or `jamais`.
fn when(at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.map_or_else(
        || "jamais".into(),
        |at| at.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

/// Runs a token command.
pub async fn run(state: AppState, command: TokenCommand) -> CliResult {
    match command {
        TokenCommand::Create {
            collectivite,
            admin,
            label,
        } => {
            let owner = match (&collectivite, admin) {
                (Some(username), false) => Some(find_local(&state, username).await?),
                (None, true) => None,
                _ => return Err(CliError("--collectivite NOM ou --admin".into())),
            };
            let token = create_token(&state.store, owner.as_ref(), label.as_deref()).await?;
            match &owner {
                Some(c) => eprintln!(
                    "jeton créé pour {} ; conservez-le, il ne sera plus affiché :",
                    c.profile.name
                ),
                None => eprintln!(
                    "jeton d'administration créé ; conservez-le, il ne sera plus affiché :"
                ),
            }
            println!("{token}");
        }
        TokenCommand::List { collectivite } => {
            let owner = match &collectivite {
                Some(username) => Some(find_local(&state, username).await?.id),
                None => None,
            };
            let tokens = state.store.tokens(owner).await?;
            if tokens.is_empty() {
                eprintln!("aucun jeton");
                return Ok(());
            }
            println!("id\tportée\tnote\tcréé\tdernier usage");
            for token in tokens {
                let scope = match (&token.collectivite, token.admin) {
                    (_, true) => "administration du nœud".to_string(),
                    (Some(username), false) => format!("collectivité {username}"),
                    (None, false) => "aucune".to_string(),
                };
                println!(
                    "{}\t{scope}\t{}\t{}\t{}",
                    token.id,
                    token.label.as_deref().unwrap_or("-"),
                    when(Some(token.created_at)),
                    when(token.last_used_at)
                );
            }
        }
        TokenCommand::Revoke { id } => {
            if !state.store.delete_token(id).await? {
                return Err(CliError(format!(
                    "aucun jeton d'id {id} (maillage token list les montre)"
                )));
            }
            println!("jeton {id} révoqué : il est refusé dès maintenant");
        }
    }
    Ok(())
}

//! `maillage token create --collectivite NAME | --admin`: prints the token as the last
//! line of its output (it is stored hashed and cannot be shown again).

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
    }
    Ok(())
}

//! `maillage user create --username NAME [--collectivite NAME]... [--admin]`: an
//! editor's account for the web admin. The password is asked on the terminal (not
//! echoed) or read from the first line of standard input.

use std::io::{BufRead, IsTerminal};

use clap::Subcommand;

use super::{CliError, CliResult};
use crate::service::users::create_user;
use crate::state::AppState;

/// Account commands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an editor's account (password from a prompt or standard input).
    Create {
        /// Login name: lowercase letters, digits, `.`, `_`, `-`.
        #[arg(long)]
        username: String,
        /// A collectivité this editor edits (repeat for several).
        #[arg(long)]
        collectivite: Vec<String>,
        /// A node admin: every collectivité, blocks and reports.
        #[arg(long)]
        admin: bool,
    },
}

/// The password from the terminal (asked twice, not echoed) or from the first line of
/// standard input.
pub(super) fn read_password() -> Result<String, CliError> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Mot de passe : ")
            .map_err(|e| CliError(format!("lecture du mot de passe : {e}")))?;
        let second = rpassword::prompt_password("Confirmez le mot de passe : ")
            .map_err(|e| CliError(format!("lecture du mot de passe : {e}")))?;
        if first != second {
            return Err(CliError("les deux mots de passe diffèrent".into()));
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| {
        CliError(format!(
            "lecture du mot de passe sur l'entrée standard : {e}"
        ))
    })?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Runs an account command.
pub async fn run(state: AppState, command: UserCommand) -> CliResult {
    match command {
        UserCommand::Create {
            username,
            collectivite,
            admin,
        } => {
            let password = read_password()?;
            let user = create_user(&state, &username, &password, &collectivite, admin).await?;
            let what = if user.admin {
                "administrateur du nœud".to_string()
            } else {
                format!("éditeur de {}", collectivite.join(", "))
            };
            println!(
                "compte « {} » créé ({what}) ; connexion : {}",
                user.username,
                state.url("/admin/connexion")
            );
        }
    }
    Ok(())
}

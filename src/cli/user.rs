//! `maillage user create --username NAME [--collectivite NAME]... [--admin]`: an
//! editor's account for the web admin; `user list | passwd NAME | disable NAME |
//! enable NAME | notifications NAME` (SPEC §11; notifications: issue 18), `user role
//! NAME --admin|--editor` and `user delete NAME [--yes]`. Passwords are asked on the
//! terminal (twice, not echoed) or
//! read from the first line of standard input.

use std::io::{BufRead, IsTerminal};

use clap::Subcommand;

use super::{CliError, CliResult};
use crate::domain::{EmailAddress, NotifyMode};
use crate::service::users::{
    create_user, delete_user, set_admin, set_disabled, set_notifications_of, set_password,
};
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
        /// Where the account's notifications are mailed (editors may change it in
        /// the admin).
        #[arg(long)]
        email: Option<String>,
    },
    /// List the accounts: name, role, state, live sessions, created.
    ///
    /// Example: maillage user list
    List,
    /// Set a new password (prompted twice, or the first line of standard input); the
    /// account's sessions end.
    ///
    /// Example: echo 'un mot de passe solide' | maillage user passwd marie
    Passwd {
        /// Login name.
        username: String,
    },
    /// Disable an account: it cannot sign in and its sessions end.
    ///
    /// Example: maillage user disable marie
    Disable {
        /// Login name.
        username: String,
    },
    /// Enable a disabled account again.
    ///
    /// Example: maillage user enable marie
    Enable {
        /// Login name.
        username: String,
    },
    /// Make an account a node admin, or an editor of the collectivités it is bound to
    /// (refused for the last enabled node admin).
    ///
    /// Example: maillage user role marie --admin
    Role {
        /// Login name.
        username: String,
        /// Node admin: every collectivité, blocks and reports.
        #[arg(long, conflicts_with = "editor", required_unless_present = "editor")]
        admin: bool,
        /// Editor of the collectivités the account is bound to.
        #[arg(long)]
        editor: bool,
    },
    /// Delete an account and its sessions (refused for the last enabled node admin).
    /// Asks for confirmation on a terminal unless --yes; refuses without --yes when not
    /// on a terminal.
    ///
    /// Example: maillage user delete marie --yes
    Delete {
        /// Login name.
        username: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Set where and how often an account's notifications are mailed (what is not
    /// given is kept); without options, show them.
    ///
    /// Example: maillage user notifications marie --email marie@ville.fr --mode digest
    Notifications {
        /// Login name.
        username: String,
        /// The address (an empty one removes it; then --mode off).
        #[arg(long)]
        email: Option<String>,
        /// immediate (one mail per notice), digest (one a day) or off.
        #[arg(long)]
        mode: Option<String>,
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
            email,
        } => {
            let password = read_password()?;
            let user = create_user(
                &state,
                &username,
                &password,
                &collectivite,
                admin,
                email.as_deref(),
            )
            .await?;
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
        UserCommand::List => {
            let users = state.store.users().await?;
            if users.is_empty() {
                eprintln!("aucun compte ; pour en créer un : maillage user create");
                return Ok(());
            }
            println!("identifiant\trôle\tétat\tsessions\tcréé");
            for listing in users {
                let user = &listing.user;
                let role = if user.admin {
                    "administrateur du nœud".to_string()
                } else if listing.collectivites.is_empty() {
                    "éditeur (sans collectivité)".to_string()
                } else {
                    format!("éditeur de {}", listing.collectivites.join(", "))
                };
                let status = user.disabled_at.map_or_else(
                    || "actif".to_string(),
                    |at| format!("désactivé le {}", at.format("%Y-%m-%d %H:%M UTC")),
                );
                println!(
                    "{}\t{role}\t{status}\t{}\t{}",
                    user.username,
                    listing.sessions,
                    user.created_at.format("%Y-%m-%d %H:%M UTC")
                );
            }
        }
        UserCommand::Passwd { username } => {
            let password = read_password()?;
            let user = set_password(&state, &username, &password).await?;
            println!(
                "mot de passe de « {} » changé ; ses sessions sont fermées",
                user.username
            );
        }
        UserCommand::Disable { username } => {
            if set_disabled(&state, &username, true).await? {
                println!("compte « {username} » désactivé ; ses sessions sont fermées");
            } else {
                println!("compte « {username} » déjà désactivé");
            }
        }
        UserCommand::Notifications {
            username,
            email,
            mode,
        } => {
            let (email, mode) = if email.is_none() && mode.is_none() {
                let user = state
                    .store
                    .user_by_username(&username)
                    .await?
                    .ok_or_else(|| CliError(format!("aucun compte « {username} »")))?;
                (
                    user.email
                        .as_deref()
                        .and_then(|e| EmailAddress::parse(e).ok()),
                    user.notify_mode(),
                )
            } else {
                set_notifications_of(&state, &username, email.as_deref(), mode.as_deref()).await?
            };
            let address = email.map_or_else(|| "aucune adresse".to_string(), |e| e.to_string());
            println!(
                "notifications de « {username} » : {} ({}) ; {address}",
                mode.label(),
                mode.as_str()
            );
            if !state.settings.smtp.enabled() && mode != NotifyMode::Off {
                println!(
                    "attention : ce nœud n'a pas de réglages [smtp] ; aucun courriel ne part, le tableau de bord montre les notifications"
                );
            }
        }
        UserCommand::Enable { username } => {
            if set_disabled(&state, &username, false).await? {
                println!("compte « {username} » réactivé");
            } else {
                println!("compte « {username} » déjà actif");
            }
        }
        UserCommand::Role {
            username, admin, ..
        } => {
            let role = if admin {
                "administrateur du nœud"
            } else {
                "éditeur de ses collectivités"
            };
            if set_admin(&state, &username, admin).await? {
                println!("compte « {username} » : {role} ; voir maillage user list");
            } else {
                println!("compte « {username} » déjà {role}");
            }
        }
        UserCommand::Delete { username, yes } => {
            let question = format!(
                "Supprimer le compte « {username} » ? Ses sessions seront fermées, ses liens aux collectivités retirés ; c'est définitif."
            );
            if !yes && !super::confirm(&username, &question)? {
                return Err(CliError(format!(
                    "suppression de « {username} » abandonnée : rien n'a changé"
                )));
            }
            let user = delete_user(&state, &username).await?;
            println!(
                "compte « {} » supprimé ; ses sessions sont fermées",
                user.username
            );
        }
    }
    Ok(())
}

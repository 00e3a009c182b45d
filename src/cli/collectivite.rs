//! `maillage collectivite create|list|show|edit|delete`.

use clap::{Args, Subcommand};

use super::{CliError, CliResult};
use crate::api::collectivites::{CollectiviteView, find_local};
use crate::api::merge_patch;
use crate::domain::drafts::CollectiviteBody;
use crate::service;
use crate::state::AppState;

/// Collectivité commands.
#[derive(Debug, Subcommand)]
pub enum CollectiviteCommand {
    /// Create a collectivité; the referential fills name, SIREN, territory and location
    /// from the INSEE code.
    Create(ProfileArgs),
    /// List the collectivités of this node.
    List,
    /// Show one collectivité as JSON.
    Show {
        /// Username.
        username: String,
    },
    /// Change fields of a collectivité.
    Edit(ProfileArgs),
    /// Check its official website now: the page must link back to the collectivité
    /// with rel="me" (or this node be on the website's domain). Exits 1 when it is not
    /// verified.
    ///
    /// Example: maillage collectivite verify marcq
    Verify {
        /// Username.
        username: String,
    },
    /// Delete a collectivité: `Delete` goes to its followers and partners, then it and
    /// its actions answer 410 Gone and it leaves the directory. Asks for confirmation
    /// on a terminal unless --yes; refuses without --yes when not on a terminal.
    ///
    /// Example: maillage collectivite delete marcq --yes
    Delete {
        /// Username.
        username: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

/// Asks the operator to type `username` again; false when they typed something else.
fn confirm_delete(username: &str, name: &str) -> Result<bool, CliError> {
    super::confirm(
        username,
        &format!(
            "Supprimer {name} ({username}) ? Ses abonnés et partenaires en seront informés, ses actions et son adresse répondront 410 ; c'est définitif."
        ),
    )
}

/// Profile fields on the command line.
#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// Username, part of the federated address (`[a-z0-9_-]`).
    #[arg(long)]
    pub username: String,
    /// INSEE code (COG) of the commune.
    #[arg(long)]
    pub insee: Option<String>,
    /// Display name (default: from the referential).
    #[arg(long)]
    pub name: Option<String>,
    /// commune, epci, departement, region, syndicat, association or autre.
    #[arg(long)]
    pub kind: Option<String>,
    /// SIREN (default: from the referential).
    #[arg(long)]
    pub siren: Option<String>,
    /// Département code (for a département).
    #[arg(long)]
    pub departement: Option<String>,
    /// Région code (for a région).
    #[arg(long)]
    pub region: Option<String>,
    /// A few sentences of presentation.
    #[arg(long)]
    pub summary: Option<String>,
    /// Website.
    #[arg(long)]
    pub website: Option<String>,
}

impl ProfileArgs {
    fn into_body(self) -> CollectiviteBody {
        CollectiviteBody {
            username: Some(self.username),
            kind: self.kind,
            name: self.name,
            summary: self.summary,
            insee: self.insee,
            siren: self.siren,
            departement: self.departement,
            region: self.region,
            website: self.website,
            ..CollectiviteBody::default()
        }
    }
}

fn print_json<T: serde::Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("BUG: views serialise")
    );
}

/// Runs a collectivité command.
pub async fn run(state: AppState, command: CollectiviteCommand) -> CliResult {
    match command {
        CollectiviteCommand::Create(args) => {
            let profile = args.into_body().into_profile()?;
            let created = service::collectivites::create_collectivite(&state, profile).await?;
            print_json(&CollectiviteView::from(&created));
            eprintln!(
                "collectivité créée : {} — @{} — {}",
                created.profile.name,
                created.handle(),
                created.ap_id
            );
        }
        CollectiviteCommand::List => {
            let all = state.store.local_collectivites().await?;
            if all.is_empty() {
                eprintln!("aucune collectivité sur ce nœud");
            }
            for c in all {
                println!(
                    "{}\t{}\t{}\t{}",
                    c.profile.username,
                    c.profile
                        .insee
                        .as_ref()
                        .map(|i| i.to_string())
                        .unwrap_or_default(),
                    c.profile.name,
                    c.ap_id
                );
            }
        }
        CollectiviteCommand::Show { username } => {
            let c = find_local(&state, &username).await?;
            print_json(&CollectiviteView::from(&c));
        }
        CollectiviteCommand::Edit(args) => {
            let current = find_local(&state, &args.username).await?;
            let patch = serde_json::to_value(args.into_body()).map_err(anyhow::Error::from)?;
            let mut body = serde_json::to_value(CollectiviteBody::from(&current.profile))
                .map_err(anyhow::Error::from)?;
            // Only the flags given replace fields: drop the nulls of absent flags.
            let patch = serde_json::Value::Object(
                patch
                    .as_object()
                    .map(|o| {
                        o.iter()
                            .filter(|(_, v)| !v.is_null())
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect()
                    })
                    .unwrap_or_default(),
            );
            merge_patch(&mut body, &patch);
            let body: CollectiviteBody =
                serde_json::from_value(body).map_err(|e| CliError(e.to_string()))?;
            let updated =
                service::collectivites::update_collectivite(&state, &current, body.into_profile()?)
                    .await?;
            print_json(&CollectiviteView::from(&updated));
        }
        CollectiviteCommand::Verify { username } => {
            let collectivite = find_local(&state, &username).await?;
            let no_website = || {
                CliError(format!(
                    "« {username} » n'a pas de site officiel : maillage collectivite edit {username} --website https://…"
                ))
            };
            let website = collectivite
                .profile
                .website
                .clone()
                .ok_or_else(no_website)?;
            let check = service::verification::check_now(&state, collectivite.id)
                .await?
                .ok_or_else(no_website)?;
            match (check.verified_at, check.verified_by) {
                (Some(at), by) => println!(
                    "site officiel vérifié le {} ({}) : {website}",
                    crate::web::words::date(at),
                    by.map_or("rel=me", |b| match b {
                        crate::domain::VerifiedBy::RelMe => "lien rel=\"me\"",
                        crate::domain::VerifiedBy::Domain => "domaine officiel",
                    })
                ),
                (None, _) => {
                    return Err(CliError(format!(
                        "site officiel non vérifié ({website}) : {}. Sur le site, ajoutez : {}",
                        check.error.unwrap_or_default(),
                        service::verification::link_to_copy(&collectivite.ap_id)
                    )));
                }
            }
        }
        CollectiviteCommand::Delete { username, yes } => {
            let collectivite = find_local(&state, &username).await?;
            if !yes && !confirm_delete(&username, &collectivite.profile.name)? {
                return Err(CliError(format!(
                    "suppression de « {username} » abandonnée : rien n'a changé"
                )));
            }
            let deleted =
                service::collectivites::delete_collectivite(&state, &collectivite).await?;
            println!(
                "collectivité « {username} » supprimée : {}, {} de sa suppression en file",
                crate::domain::french::count(
                    deleted.actions as i64,
                    "action retirée",
                    "actions retirées"
                ),
                crate::domain::french::count(deleted.deliveries as i64, "livraison", "livraisons")
            );
            if deleted.deliveries > 0 {
                println!(
                    "le nœud (maillage serve ou maillage worker) les envoie ; suivi : maillage queue status"
                );
            }
        }
    }
    Ok(())
}

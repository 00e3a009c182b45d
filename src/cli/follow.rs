//! `maillage follow [--collectivite NAME] TARGET`: a collectivité, or the instance actor
//! (aggregators), follows a remote actor; the `Follow` is queued and sent by the
//! delivery workers of `maillage serve` (or `maillage worker`).

use super::{CliError, CliResult};
use crate::api::collectivites::find_local;
use crate::service;
use crate::state::AppState;

/// Runs `maillage follow`.
pub async fn run(state: AppState, collectivite: Option<String>, target: String) -> CliResult {
    let follower_id = match &collectivite {
        Some(username) => find_local(&state, username).await?.id,
        None => state.instance_actor.id,
    };
    let follower = state
        .store
        .actor_by_id(follower_id)
        .await?
        .ok_or_else(|| CliError("acteur introuvable".into()))?;
    let config = crate::federation::federation_config(state.clone()).await?;
    let data = config.to_request_data();
    let (follow, followed) = service::follows::follow(&data, &follower, &target).await?;
    println!(
        "{}\t{}@{}\t{}\t{}",
        follow.id, followed.username, followed.domain, followed.ap_id, follow.state
    );
    eprintln!(
        "Follow mis en file d'attente ; il part avec les livraisons de « maillage serve » ou « maillage worker »"
    );
    Ok(())
}

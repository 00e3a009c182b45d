//! `maillage follow [--collectivite NAME] TARGET | --file handles.txt`: a collectivité, or
//! the instance actor (aggregators), follows remote actors; the `Follow`s are queued and
//! sent by the delivery workers of `maillage serve` (or `maillage worker`). With a file
//! (one handle or URL per line, `#` comments), a progress bar and a summary of failures.

use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};

use super::{CliError, CliResult};
use crate::api::collectivites::find_local;
use crate::service;
use crate::state::AppState;

/// Reads the handles of a file: one per line, blank lines and `#` comments skipped.
pub fn read_handles(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect()
}

/// Runs `maillage follow`.
pub async fn run(
    state: AppState,
    collectivite: Option<String>,
    target: Option<String>,
    file: Option<PathBuf>,
) -> CliResult {
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
    let targets = match (target, &file) {
        (Some(target), None) => vec![target],
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError(format!("{} : {e}", path.display())))?;
            read_handles(&text)
        }
        _ => return Err(CliError("un compte à suivre, ou --file FICHIER".into())),
    };
    let bar = if file.is_some() {
        let bar = ProgressBar::new(targets.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
                .expect("BUG: valid progress template"),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut failures = Vec::new();
    for target in &targets {
        bar.set_message(target.clone());
        // A fresh request budget (20 fetches) per target.
        let data = config.to_request_data();
        match service::follows::follow(&data, &follower, target).await {
            Ok((follow, followed)) => bar.println(format!(
                "{}\t{}@{}\t{}\t{}",
                follow.id, followed.username, followed.domain, followed.ap_id, follow.state
            )),
            Err(error) => failures.push((target.clone(), CliError::from(error).0)),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let done = targets.len() - failures.len();
    eprintln!(
        "{} en file d'attente sur {} ; ils partent avec les livraisons de « maillage serve » ou « maillage worker »",
        crate::domain::french::count(done as i64, "suivi mis", "suivis mis"),
        targets.len()
    );
    if failures.is_empty() {
        Ok(())
    } else {
        let mut summary = format!(
            "{} :",
            crate::domain::french::count(failures.len() as i64, "échec", "échecs")
        );
        for (target, reason) in &failures {
            summary.push_str(&format!("\n  - {target} : {reason}"));
        }
        Err(CliError(summary))
    }
}

#[cfg(test)]
mod tests {
    use super::read_handles;

    #[test]
    fn handles_file() {
        let text = "# nodes of the Nord\nacct:marcq@ville.example\n\n  lille@lille.example  # main\nhttps://x.example/actors/a\n";
        assert_eq!(
            read_handles(text),
            [
                "acct:marcq@ville.example",
                "lille@lille.example",
                "https://x.example/actors/a"
            ]
        );
    }
}

//! "Projets proches" (issue 18 point 5): up to [`NEARBY_MAX`] actions of other
//! collectivités on the same themes and with similar words, from everything this node
//! holds (an aggregator: the whole network it follows). Ranking is
//! [`crate::db::nearby`]'s; this leaves out the actions of blocked domains and actors.

use crate::db::nearby::NearbyCandidate;
use crate::domain::Action;
use crate::error::AppResult;
use crate::state::AppState;

/// Actions shown at most.
pub const NEARBY_MAX: usize = 5;

/// Candidates read for [`NEARBY_MAX`] results: blocked owners are left out after the
/// ranking (the policy lives in memory), so some spare ones are read.
const CANDIDATES: i64 = 50;

/// The actions near `action`, best first (none for a deleted action).
///
/// # Errors
/// Storage failures.
pub async fn nearby(state: &AppState, action: &Action) -> AppResult<Vec<Action>> {
    if action.deleted.is_some() {
        return Ok(Vec::new());
    }
    let candidates = state
        .store
        .nearby_candidates(
            action,
            CANDIDATES,
            state.settings.aggregator.effective_admission(),
        )
        .await?;
    let ids: Vec<i64> = candidates
        .iter()
        .filter(|c| !blocked(state, c))
        .take(NEARBY_MAX)
        .map(|c| c.id)
        .collect();
    Ok(state.store.actions_in_order(&ids).await?)
}

fn blocked(state: &AppState, candidate: &NearbyCandidate) -> bool {
    url::Url::parse(&candidate.owner_ap_id).is_ok_and(|owner| state.blocks.actor(&owner))
}

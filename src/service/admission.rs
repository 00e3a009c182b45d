//! Admission on aggregators (issue 19, point 4): a node admin's decisions about remote
//! collectivités — approve, refuse, suspend, reinstate — shared by the admin pages,
//! the API and the CLI. Which actors are listed is the read-time predicate of
//! [`crate::db::admission::unlisted_owners`]; each decision bumps the directory
//! generation. Suspending also removes the actor's follows: this node's follows of it
//! are undone (`Undo{Follow}`), its follows of this node's actors removed and answered
//! with a `Reject`.

use url::Url;

use crate::activitypub::activities::Follow;
use crate::activitypub::ids::parse_id;
use crate::db;
use crate::db::actors::ActorRecord;
use crate::db::admission::{Candidate, Decision};
use crate::error::{AppError, AppResult, FieldError};
use crate::service::follows::{Answer, answer_activity};
use crate::state::AppState;

/// What a node admin decides about a remote collectivité.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Listed (whatever its verification).
    Approve,
    /// Never listed.
    Refuse,
    /// Hidden, follows removed, activities no longer applied.
    Suspend,
    /// Suspension lifted: the actor is listed as its admission says.
    Unsuspend,
}

impl Verdict {
    /// From the API's and CLI's words (`approve`, `refuse`, `suspend`, `unsuspend`).
    ///
    /// # Errors
    /// [`AppError::Validation`] on `decision` otherwise.
    pub fn parse(word: &str) -> AppResult<Self> {
        Ok(match word.trim() {
            "approve" => Verdict::Approve,
            "refuse" => Verdict::Refuse,
            "suspend" => Verdict::Suspend,
            "unsuspend" => Verdict::Unsuspend,
            other => {
                return Err(AppError::Validation(vec![FieldError::new(
                    "decision",
                    format!("« {other} » : choisissez approve, refuse, suspend ou unsuspend"),
                )]));
            }
        })
    }
}

/// The remote collectivité `target` (its actor URL) as the admission lists it.
///
/// # Errors
/// [`AppError::Validation`] for a target that is not a URL; [`AppError::NotFound`]
/// when this node knows no remote collectivité by that id.
pub async fn candidate(state: &AppState, target: &str) -> AppResult<Candidate> {
    let target = target.trim();
    let url = Url::parse(target)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| {
            AppError::Validation(vec![FieldError::new(
                "actor",
                format!("« {target} » n'est pas l'adresse (URL) d'un acteur"),
            )])
        })?;
    state.store.admission_candidate(&url).await?.ok_or_else(|| {
        AppError::NotFound(format!(
            "aucune collectivité distante « {target} » connue de ce nœud"
        ))
    })
}

/// Applies `verdict` to the remote collectivité `target`; the actor as it now stands.
///
/// # Errors
/// See [`candidate`]; storage failures.
pub async fn decide(state: &AppState, target: &str, verdict: Verdict) -> AppResult<Candidate> {
    let actor = candidate(state, target).await?;
    match verdict {
        Verdict::Approve => {
            state
                .store
                .set_admission(actor.id, Some(Decision::Approved))
                .await?;
        }
        Verdict::Refuse => {
            state
                .store
                .set_admission(actor.id, Some(Decision::Refused))
                .await?;
        }
        Verdict::Suspend => suspend(state, actor.id).await?,
        Verdict::Unsuspend => state.store.set_suspended(actor.id, None).await?,
    }
    tracing::info!(actor = %actor.ap_id, ?verdict, "admission decided");
    candidate(state, &actor.ap_id).await
}

/// Suspends `actor_id`: hidden at once, this node's follows of it undone, its follows
/// of this node's actors removed and rejected.
async fn suspend(state: &AppState, actor_id: i64) -> AppResult<()> {
    state
        .store
        .set_suspended(actor_id, Some(chrono::Utc::now()))
        .await?;
    let Some(suspended) = state.store.actor_by_id(actor_id).await? else {
        return Ok(());
    };
    for follow in state.store.follows_of_actor(actor_id).await? {
        if follow.followed_id == actor_id {
            // Ours of it: `Undo{Follow}` (the follower is a local actor).
            if let Some(follower) = state.store.actor_by_id(follow.follower_id).await? {
                if follower.local {
                    super::follows::unfollow(state, &follower, follow.id).await?;
                }
            }
            continue;
        }
        // Its follow of one of ours: removed, answered with a `Reject`.
        let Some(followed) = state.store.actor_by_id(follow.followed_id).await? else {
            continue;
        };
        if !followed.local {
            continue;
        }
        let id = follow
            .ap_id
            .as_deref()
            .and_then(parse_id)
            .unwrap_or_else(|| suspended.ap_id.clone());
        let request = Follow::embedded(id, suspended.ap_id.clone(), &followed.ap_id);
        reject_follow(state, &request, &suspended, &followed).await?;
    }
    state.delivery_wakeup.notify_one();
    Ok(())
}

/// Removes `follower`'s follow of the local actor `followed`, if any, and queues a
/// `Reject` of `follow` in the same transaction.
///
/// # Errors
/// Storage failures; [`AppError::Gone`] when `followed` was deleted meanwhile.
pub async fn reject_follow(
    state: &AppState,
    follow: &Follow,
    follower: &ActorRecord,
    followed: &ActorRecord,
) -> AppResult<()> {
    let reject = answer_activity(state, followed, follower, Answer::Reject, follow);
    let existing = state.store.follow_between(follower.id, followed.id).await?;
    let mut tx = super::begin_as(state, followed.id).await?;
    if let Some(existing) = existing {
        db::follows::delete_follow(&mut tx, existing.id).await?;
    }
    db::activities::store_activity(&mut tx, &reject).await?;
    tx.commit().await?;
    state.delivery_wakeup.notify_one();
    Ok(())
}

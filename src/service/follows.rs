//! Follows (SPEC §3 "Follow lifecycle"): a local actor (a collectivité, or the instance
//! actor for aggregators) follows a remote one found by WebFinger or by URL, and can
//! undo it; remote followers are answered with a signed `Accept`. Every activity is
//! stored and queued in the same transaction as the follow it concerns.

use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;
use activitypub_federation::fetch::webfinger::webfinger_resolve_actor;
use serde_json::{Value, json};
use url::Url;
use uuid::Uuid;

use crate::activitypub::context::with_context;
use crate::db::activities::NewActivity;
use crate::db::actors::ActorRecord;
use crate::db::deliveries::Audience;
use crate::db::follows::FollowRecord;
use crate::error::{AppError, AppResult, FieldError};
use crate::state::AppState;

fn new_activity_id(state: &AppState) -> Url {
    state.url(&format!("/activities/{}", Uuid::now_v7()))
}

/// Builds `Accept` or `Reject` of `follow` by `followed`, addressed to `follower`.
pub fn answer_activity(
    state: &AppState,
    followed: &ActorRecord,
    follower: &ActorRecord,
    kind: &'static str,
    follow: Value,
) -> NewActivity {
    let ap_id = new_activity_id(state);
    NewActivity {
        payload: with_context(json!({
            "id": ap_id,
            "type": kind,
            "actor": followed.ap_id,
            "to": [follower.ap_id],
            "object": follow,
        })),
        ap_id,
        actor_id: followed.id,
        kind,
        object_ap_id: follower.ap_id.clone(),
        audience: Audience::Inboxes(vec![(follower.inbox.clone(), follower.domain.clone())]),
    }
}

/// Finds a remote actor from `acct:user@host`, `user@host`, `@user@host` or its URL.
///
/// # Errors
/// [`AppError::Validation`] on `target` when it cannot be resolved.
pub async fn resolve_target(data: &Data<AppState>, target: &str) -> AppResult<ActorRecord> {
    let target = target.trim();
    let invalid = |message: String| AppError::Validation(vec![FieldError::new("target", message)]);
    let host = match target.split_once("://") {
        Some((_, rest)) => rest.split(['/', '?', '#']).next().unwrap_or_default(),
        None => target.rsplit('@').next().unwrap_or_default(),
    };
    if !host.is_empty() && data.blocks.domain(host) {
        return Err(invalid(format!(
            "le domaine {host} est bloqué sur ce nœud (ou absent de sa liste d'autorisation)"
        )));
    }
    let result = if target.starts_with("http://") || target.starts_with("https://") {
        let url = Url::parse(target).map_err(|e| invalid(format!("adresse invalide : {e}")))?;
        ObjectId::<ActorRecord>::from(url).dereference(data).await
    } else {
        let handle = target.trim_start_matches("acct:").trim_start_matches('@');
        if !handle.contains('@') {
            return Err(invalid(format!(
                "« {target} » : acct:utilisateur@domaine ou l'adresse de l'acteur attendu"
            )));
        }
        webfinger_resolve_actor::<AppState, ActorRecord>(handle, data).await
    };
    let actor = result.map_err(|e| invalid(format!("« {target} » introuvable : {e}")))?;
    if data.blocks.actor(&actor.ap_id) {
        return Err(invalid(format!("{} est bloqué sur ce nœud", actor.ap_id)));
    }
    Ok(actor)
}

/// `follower` (local) follows `target`: a pending follow and its `Follow`, queued.
///
/// # Errors
/// Unresolvable target, following oneself, storage failure.
pub async fn follow(
    data: &Data<AppState>,
    follower: &ActorRecord,
    target: &str,
) -> AppResult<(FollowRecord, ActorRecord)> {
    let followed = resolve_target(data, target).await?;
    if followed.local {
        return Err(AppError::Validation(vec![FieldError::new(
            "target",
            "cet acteur est hébergé sur ce nœud",
        )]));
    }
    if let Some(existing) = data.store.follow_between(follower.id, followed.id).await? {
        if existing.state == "accepted" {
            return Ok((existing, followed));
        }
    }
    let ap_id = new_activity_id(data);
    let activity = NewActivity {
        payload: with_context(json!({
            "id": ap_id,
            "type": "Follow",
            "actor": follower.ap_id,
            "to": [followed.ap_id],
            "object": followed.ap_id,
        })),
        ap_id: ap_id.clone(),
        actor_id: follower.id,
        kind: "Follow",
        object_ap_id: followed.ap_id.clone(),
        audience: Audience::Inboxes(vec![(followed.inbox.clone(), followed.domain.clone())]),
    };
    let follow = data
        .store
        .upsert_follow_with_activity(&ap_id, follower.id, followed.id, "pending", &activity)
        .await?;
    data.delivery_wakeup.notify_one();
    Ok((follow, followed))
}

/// Undoes a follow of `follower`: `Undo{Follow}` to the followed actor, follow removed.
///
/// # Errors
/// [`AppError::NotFound`] when the follow is not `follower`'s.
pub async fn unfollow(state: &AppState, follower: &ActorRecord, follow_id: i64) -> AppResult<()> {
    let follow = state
        .store
        .follow_by_id(follow_id)
        .await?
        .filter(|f| f.follower_id == follower.id)
        .ok_or_else(|| AppError::NotFound(format!("aucun abonnement {follow_id}")))?;
    let followed = state
        .store
        .actor_by_id(follow.followed_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("aucun abonnement {follow_id}")))?;
    let ap_id = new_activity_id(state);
    let undo = NewActivity {
        payload: with_context(json!({
            "id": ap_id,
            "type": "Undo",
            "actor": follower.ap_id,
            "to": [followed.ap_id],
            "object": {
                "id": follow.ap_id,
                "type": "Follow",
                "actor": follower.ap_id,
                "object": followed.ap_id,
            },
        })),
        ap_id,
        actor_id: follower.id,
        kind: "Undo",
        object_ap_id: followed.ap_id.clone(),
        audience: Audience::Inboxes(vec![(followed.inbox.clone(), followed.domain.clone())]),
    };
    state
        .store
        .delete_follow_with_activity(follow.id, Some(&undo))
        .await?;
    state.delivery_wakeup.notify_one();
    Ok(())
}

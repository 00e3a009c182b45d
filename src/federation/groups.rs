//! Owns the aggregator's feeds (SPEC §4, FEP-1b12): followable `Group` actors, one per
//! theme (`@education@<domain>`), département (`@dep-59@<domain>`) and région
//! (`@reg-32@<domain>`), which `Announce` every matching action, new or updated, to their
//! followers — a Mastodon user follows `@dep-59@annuaire.example` and sees the digital
//! actions of the Nord. Only when `aggregator.enabled`.
//!
//! Groups are created on first use (WebFinger, fetch or `Follow`). They sign with the
//! instance actor's key pair (each under its own key id), so that 147 groups need no
//! key generation.

use serde_json::json;
use url::Url;

use super::activities::{activity_id, public, queued};
use crate::activitypub::activities::Announce;
use crate::db::actors::{ActorRecord, NewLocalActor};
use crate::db::deliveries::Audience;
use crate::domain::{Action, GroupKind};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The group named `name`, created if needed.
///
/// # Errors
/// [`AppError::NotFound`] when aggregator mode is off or the name is no group.
pub async fn group(state: &AppState, name: &str) -> AppResult<(GroupKind, ActorRecord)> {
    if !state.settings.aggregator.enabled {
        return Err(AppError::NotFound(format!(
            "aucun groupe « {name} » : ce nœud n'est pas un agrégateur"
        )));
    }
    let kind = GroupKind::parse(name)
        .ok_or_else(|| AppError::NotFound(format!("aucun groupe « {name} »")))?;
    let username = kind.username();
    let base = format!("/groups/{username}");
    let (display, summary) = kind.describe();
    let instance = &state.instance_actor;
    let actor = state
        .store
        .ensure_group_actor(
            NewLocalActor {
                ap_id: &state.url(&base),
                domain: &state.settings.domain,
                inbox: &state.url(&format!("{base}/inbox")),
                shared_inbox: &state.url("/inbox"),
                public_key_pem: &instance.public_key_pem,
                private_key_pem: &instance.private_key_pem,
            },
            &username,
            &display,
            &summary,
        )
        .await?;
    Ok((kind, actor))
}

/// The `Group` document (FEP-1b12).
pub fn group_to_as(state: &AppState, kind: &GroupKind, actor: &ActorRecord) -> serde_json::Value {
    let (name, summary) = kind.describe();
    json!({
        "type": "Group",
        "id": actor.ap_id,
        "preferredUsername": actor.username,
        "name": name,
        "summary": format!("<p>{}</p>", crate::domain::html::escape(&summary)),
        "url": state.url(&kind.page()),
        "inbox": actor.inbox,
        "outbox": format!("{}/outbox", actor.ap_id),
        "followers": format!("{}/followers", actor.ap_id),
        "endpoints": { "sharedInbox": state.url("/inbox") },
        "publicKey": {
            "id": format!("{}#main-key", actor.ap_id),
            "owner": actor.ap_id,
            "publicKeyPem": actor.public_key_pem,
        },
        "manuallyApprovesFollowers": false,
        "discoverable": true,
        "indexable": true,
    })
}

/// The groups an action belongs to: its themes, and the départements and régions of its
/// places (or of its owner when it names no commune).
pub async fn groups_of(state: &AppState, action: &Action) -> AppResult<Vec<GroupKind>> {
    let mut kinds: Vec<GroupKind> = action
        .data
        .themes
        .iter()
        .map(|t| GroupKind::Theme(t.to_string()))
        .collect();
    let index = crate::db::actions::SearchIndex::of(&action.data);
    let mut territory: Vec<(Option<String>, Option<String>)> = index
        .places
        .iter()
        .map(|p| (p.departement.clone(), p.region.clone()))
        .collect();
    if territory.iter().all(|(d, r)| d.is_none() && r.is_none()) {
        if let Some(owner) = state.store.collectivite_by_id(action.owner.id).await? {
            territory.push((owner.profile.departement, owner.profile.region));
        }
    }
    for (departement, region) in territory {
        kinds.extend(departement.map(GroupKind::Departement));
        kinds.extend(region.map(GroupKind::Region));
    }
    let mut unique = Vec::new();
    for kind in kinds {
        if !unique.contains(&kind) {
            unique.push(kind);
        }
    }
    Ok(unique)
}

/// Announces `action` from every matching group that has followers (aggregator mode),
/// among its first `aggregator.max_groups_per_action` groups.
///
/// # Errors
/// Storage failures.
pub async fn announce(state: &AppState, action: &Action) -> AppResult<usize> {
    if !state.settings.aggregator.enabled || action.deleted.is_some() {
        return Ok(0);
    }
    let mut sent = 0;
    let groups = groups_of(state, action).await?;
    for kind in groups
        .into_iter()
        .take(state.settings.aggregator.max_groups_per_action)
    {
        let (_, group) = group(state, &kind.username()).await?;
        if state.store.count_followers(group.id).await? == 0 {
            continue;
        }
        let followers = Url::parse(&format!("{}/followers", group.ap_id))
            .map_err(|e| AppError::Internal(e.into()))?;
        let announce = Announce::new(activity_id(state), group.ap_id.clone(), &action.ap_id)
            .published(chrono::Utc::now())
            .to(vec![public()])
            .cc(vec![followers]);
        let activity = queued(
            &announce,
            group.id,
            &action.ap_id,
            Audience::Followers(group.id),
        );
        state.store.insert_activity(&activity).await?;
        sent += 1;
    }
    if sent > 0 {
        state.delivery_wakeup.notify_one();
    }
    Ok(sent)
}

//! Wraps objects into the activities a local actor publishes (`Create`, `Update`,
//! `Delete` of an action) and turns a typed activity (`crate::activitypub::activities`)
//! into the row stored and queued ([`queued`]). Storing and delivering them is the
//! caller's business.

use activitypub_federation::kinds::activity::{CreateType, DeleteType, UpdateType};
use url::Url;

use super::objects::action::action_to_as;
use crate::activitypub::activities::{Activity, Delete, Kind, ObjectRef, Tombstone};
use crate::activitypub::ids::{PUBLIC, new_activity_id};
use crate::db::activities::NewActivity;
use crate::db::deliveries::Audience;
use crate::domain::Action;
use crate::state::AppState;

/// The kinds of activity published about an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionActivity {
    /// First publication.
    Create,
    /// A change.
    Update,
    /// Deletion (the object becomes a `Tombstone`).
    Delete,
}

/// A new activity id on this node (`/activities/<uuid>`).
pub fn activity_id(state: &AppState) -> Url {
    new_activity_id(&state.base)
}

/// The row of `activity` by the local actor `actor_id`, about `object_ap_id`, to be
/// delivered to `audience`.
pub fn queued<K: Kind>(
    activity: &Activity<K>,
    actor_id: i64,
    object_ap_id: &Url,
    audience: Audience,
) -> NewActivity {
    NewActivity {
        ap_id: activity.id.clone(),
        actor_id,
        kind: activity.kind_name(),
        object_ap_id: object_ap_id.clone(),
        payload: activity.document(),
        audience,
    }
}

/// The public audience.
pub fn public() -> Url {
    Url::parse(PUBLIC).expect("BUG: constant URL")
}

/// Builds the activity `kind` of `action`, signed later by its owner.
pub fn wrap_action(state: &AppState, kind: ActionActivity, action: &Action) -> NewActivity {
    let id = activity_id(state);
    let article = action_to_as(action, state);
    let cc = article.cc.clone();
    match kind {
        ActionActivity::Create => wrap::<CreateType>(id, action, cc, ObjectRef::embed(&article)),
        ActionActivity::Update => wrap::<UpdateType>(id, action, cc, ObjectRef::embed(&article)),
        ActionActivity::Delete => {
            let deleted = action.deleted.unwrap_or(action.updated);
            let tombstone = Tombstone::new(action.ap_id.clone(), "Article", deleted);
            wrap::<DeleteType>(id, action, cc, ObjectRef::embed(&tombstone))
        }
    }
}

/// An activity of `action`'s owner about it, public, to its followers and partners.
fn wrap<K: Kind>(id: Url, action: &Action, cc: Vec<Url>, object: ObjectRef) -> NewActivity {
    let activity = Activity::<K>::new(id, action.owner.ap_id.clone(), object)
        .published(action.updated)
        .to(vec![public()])
        .cc(cc);
    let audience = Audience::FollowersAndPartners {
        owner_id: action.owner.id,
        action: action.ap_id.clone(),
        also: Vec::new(),
    };
    queued(&activity, action.owner.id, &action.ap_id, audience)
}

/// Builds the `Delete` of a local collectivité itself (SPEC §11: object, the actor id),
/// for its followers and `partners` (their inboxes and domains), signed later with its
/// key.
pub fn delete_actor(
    state: &AppState,
    collectivite: &crate::domain::Collectivite,
    partners: Vec<(url::Url, String)>,
) -> NewActivity {
    let followers = state.url(&format!(
        "/actors/{}/followers",
        collectivite.profile.username
    ));
    let delete = Delete::new(
        activity_id(state),
        collectivite.ap_id.clone(),
        &collectivite.ap_id,
    )
    .published(chrono::Utc::now())
    .to(vec![public()])
    .cc(vec![followers]);
    queued(
        &delete,
        collectivite.id,
        &collectivite.ap_id,
        Audience::FollowersAndInboxes(collectivite.id, partners),
    )
}

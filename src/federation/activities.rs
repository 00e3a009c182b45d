//! Wraps objects into the activities a local actor publishes (`Create`, `Update`,
//! `Delete`), with their ids under `/activities/<uuid>`. Storing and delivering them is
//! the caller's business.

use serde_json::json;
use uuid::Uuid;

use super::objects::PUBLIC;
use super::objects::action::action_to_as;
use crate::activitypub::context::with_context;
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

impl ActionActivity {
    fn as_str(self) -> &'static str {
        match self {
            Self::Create => "Create",
            Self::Update => "Update",
            Self::Delete => "Delete",
        }
    }
}

/// Builds the activity `kind` of `action`, signed later by its owner.
pub fn wrap_action(state: &AppState, kind: ActionActivity, action: &Action) -> NewActivity {
    let ap_id = state.url(&format!("/activities/{}", Uuid::now_v7()));
    let article = action_to_as(action, state);
    let object = match kind {
        ActionActivity::Delete => json!({
            "id": action.ap_id,
            "type": "Tombstone",
            "formerType": "Article",
            "deleted": action.deleted.unwrap_or(action.updated),
        }),
        _ => serde_json::to_value(&article).expect("BUG: wire structs always serialise"),
    };
    let payload = with_context(json!({
        "id": ap_id,
        "type": kind.as_str(),
        "actor": action.owner.ap_id,
        "published": action.updated,
        "to": [PUBLIC],
        "cc": article.cc,
        "object": object,
    }));
    NewActivity {
        ap_id,
        actor_id: action.owner.id,
        kind: kind.as_str(),
        object_ap_id: action.ap_id.clone(),
        payload,
        audience: Audience::FollowersAndPartners {
            owner_id: action.owner.id,
            action: action.ap_id.clone(),
            also: Vec::new(),
        },
    }
}

/// Builds an activity of `kind` by the actor (`actor_id`, `actor`) about `object`,
/// addressed to `to`, delivered to `audience` (Join, Leave, Accept, Reject, Like…).
pub fn activity_about(
    state: &AppState,
    kind: &'static str,
    (actor_id, actor): (i64, &url::Url),
    object: serde_json::Value,
    object_ap_id: &url::Url,
    to: &[url::Url],
    audience: Audience,
) -> NewActivity {
    let ap_id = state.url(&format!("/activities/{}", Uuid::now_v7()));
    NewActivity {
        payload: with_context(json!({
            "id": ap_id,
            "type": kind,
            "actor": actor,
            "to": to,
            "object": object,
        })),
        ap_id,
        actor_id,
        kind,
        object_ap_id: object_ap_id.clone(),
        audience,
    }
}

/// Builds the `Delete` of a local collectivité itself (SPEC §11: object, the actor id),
/// for its followers and `partners` (their inboxes and domains), signed later with its
/// key.
pub fn delete_actor(
    state: &AppState,
    collectivite: &crate::domain::Collectivite,
    partners: Vec<(url::Url, String)>,
) -> NewActivity {
    let ap_id = state.url(&format!("/activities/{}", Uuid::now_v7()));
    let followers = state.url(&format!(
        "/actors/{}/followers",
        collectivite.profile.username
    ));
    NewActivity {
        payload: with_context(json!({
            "id": ap_id,
            "type": "Delete",
            "actor": collectivite.ap_id,
            "published": chrono::Utc::now(),
            "to": [PUBLIC],
            "cc": [followers],
            "object": collectivite.ap_id,
        })),
        ap_id,
        actor_id: collectivite.id,
        kind: "Delete",
        object_ap_id: collectivite.ap_id.clone(),
        audience: Audience::FollowersAndInboxes(collectivite.id, partners),
    }
}

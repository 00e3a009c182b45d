//! The instance actor: an `Application` at `/actor` (FEP-d556, FEP-2677). It signs
//! remote fetches and is what aggregators follow with.

use activitypub_federation::protocol::public_key::PublicKey;
use serde::{Deserialize, Serialize};
use url::Url;

use super::collectivite::EndpointsJson;
use crate::state::AppState;

/// The `Application` document.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationJson {
    /// `Application`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `https://<domain>/actor`.
    pub id: Url,
    /// The domain (`acct:<domain>@<domain>`).
    pub preferred_username: String,
    /// Node name.
    pub name: String,
    /// Node description.
    pub summary: String,
    /// Home page of the node.
    pub url: Url,
    /// Inbox.
    pub inbox: Url,
    /// Outbox.
    pub outbox: Url,
    /// Shared inbox.
    pub endpoints: EndpointsJson,
    /// Signing key.
    pub public_key: PublicKey,
    /// Follow requests are accepted automatically.
    pub manually_approves_followers: bool,
    /// Not listed in directories.
    pub discoverable: bool,
}

/// The instance actor document of this node.
pub fn instance_to_as(state: &AppState) -> ApplicationJson {
    let actor = &state.instance_actor;
    ApplicationJson {
        kind: "Application".into(),
        id: actor.ap_id.clone(),
        preferred_username: state.settings.domain.clone(),
        name: state.settings.node.name.clone(),
        summary: state.settings.node.description.clone(),
        url: state.url("/"),
        inbox: state.url("/actor/inbox"),
        outbox: state.url("/actor/outbox"),
        endpoints: EndpointsJson {
            shared_inbox: Some(state.url("/inbox")),
        },
        public_key: PublicKey {
            id: format!("{}#main-key", actor.ap_id),
            owner: actor.ap_id.clone(),
            public_key_pem: actor.public_key_pem.clone(),
        },
        manually_approves_followers: false,
        discoverable: false,
    }
}

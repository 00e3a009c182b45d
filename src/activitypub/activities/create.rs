//! `Create` of an action (`Article`) or of a comment (`Note`), published by a local
//! actor; received for remote actions, posts and replies.

use activitypub_federation::kinds::activity::CreateType;
use url::Url;

use super::{Activity, ObjectRef};

/// A `Create`.
pub type Create = Activity<CreateType>;

impl Create {
    /// `actor` publishes `note` (a comment), addressed to `to`.
    pub fn note(id: Url, actor: Url, to: Vec<Url>, note: ObjectRef) -> Self {
        Self::new(id, actor, note).to(to)
    }
}

//! `Undo` of a `Follow` (sent when a local actor unfollows, received when a follower
//! leaves), or of a `Like` or `Announce` (received).

use activitypub_federation::kinds::activity::UndoType;
use url::Url;

use super::{Activity, ObjectRef};

/// An `Undo`.
pub type Undo = Activity<UndoType>;

impl Undo {
    /// `actor` undoes its `follow` (an embedded [`super::Follow`]), addressed to the
    /// followed actor `to`.
    pub fn follow(id: Url, actor: Url, to: Url, follow: ObjectRef) -> Self {
        Self::new(id, actor, follow).to(vec![to])
    }
}

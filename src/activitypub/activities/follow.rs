//! `Follow` (SPEC §3 "Follow lifecycle"): sent by a local actor to a remote one, and
//! received from a follower; embedded in its `Accept` and `Undo`.

use activitypub_federation::kinds::activity::FollowType;
use url::Url;

use super::Activity;

/// A `Follow`.
pub type Follow = Activity<FollowType>;

impl Follow {
    /// `actor` follows `followed`, addressed to it.
    pub fn send(id: Url, actor: Url, followed: Url) -> Self {
        Self::new(id, actor, &followed).to(vec![followed])
    }

    /// The `Follow` `id` of `actor` for `followed` as embedded in its answer or `Undo`
    /// (no audience).
    pub fn embedded(id: Url, actor: Url, followed: &Url) -> Self {
        Self::new(id, actor, followed)
    }
}

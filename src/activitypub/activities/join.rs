//! `Join` (SPEC §5): a collectivité asks to become a partner of an action, sent to its
//! owner; embedded in the answer (`Accept`/`Reject`).

use activitypub_federation::kinds::activity::JoinType;
use url::Url;

use super::Activity;

/// A `Join`.
pub type Join = Activity<JoinType>;

impl Join {
    /// `actor` asks to join `action`, addressed to its owner `to`.
    pub fn send(id: Url, actor: Url, to: Url, action: &Url) -> Self {
        Self::new(id, actor, action).to(vec![to])
    }

    /// The request `id` of `actor` for `action` as embedded in its answer.
    pub fn embedded(id: Url, actor: Url, action: &Url) -> Self {
        Self::new(id, actor, action)
    }
}

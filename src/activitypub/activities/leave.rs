//! `Leave` (SPEC §5): a partner leaves an action, sent to its owner.

use activitypub_federation::kinds::activity::LeaveType;
use url::Url;

use super::Activity;

/// A `Leave`.
pub type Leave = Activity<LeaveType>;

impl Leave {
    /// `actor` leaves `action`, addressed to its owner `to`.
    pub fn send(id: Url, actor: Url, to: Url, action: &Url) -> Self {
        Self::new(id, actor, action).to(vec![to])
    }
}

//! `Accept` of a `Follow` (auto-accepted) or of a `Join` (a partnership request), sent
//! to the one who asked; received as the answer to ours.

use activitypub_federation::kinds::activity::AcceptType;
use url::Url;

use super::{Activity, ObjectRef};

/// An `Accept`.
pub type Accept = Activity<AcceptType>;

impl Accept {
    /// `actor` accepts `request` (an embedded `Follow` or `Join`), addressed to `to`.
    pub fn answer(id: Url, actor: Url, to: Url, request: ObjectRef) -> Self {
        Self::new(id, actor, request).to(vec![to])
    }
}

//! `Reject` of a `Follow` or of a `Join` (a refused request, or a partnership the owner
//! ends), sent to the one who asked; received as the answer to ours.

use activitypub_federation::kinds::activity::RejectType;
use url::Url;

use super::{Activity, ObjectRef};

/// A `Reject`.
pub type Reject = Activity<RejectType>;

impl Reject {
    /// `actor` rejects `request` (an embedded `Follow` or `Join`), addressed to `to`.
    pub fn answer(id: Url, actor: Url, to: Url, request: ObjectRef) -> Self {
        Self::new(id, actor, request).to(vec![to])
    }
}

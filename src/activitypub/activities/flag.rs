//! `Flag`: a report for the moderators, received when it names something of this node
//! (never sent). Its `object` may list several ids; `content` is the reason.

use activitypub_federation::kinds::activity::FlagType;
use serde_json::Value;
use url::Url;

use super::Activity;
use crate::activitypub::ids::id_of;

/// A `Flag`.
pub type Flag = Activity<FlagType>;

impl Flag {
    /// The ids it reports (one, or a list).
    pub fn reported(&self) -> Vec<Url> {
        match self.object.value() {
            Value::Array(items) => items.iter().filter_map(id_of).collect(),
            one => id_of(one).into_iter().collect(),
        }
    }
}

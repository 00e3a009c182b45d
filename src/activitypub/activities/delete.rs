//! `Delete` of an action (its `Tombstone`) or of a collectivité itself (the actor id),
//! published by its owner; received for remote objects and actors.

use activitypub_federation::kinds::activity::DeleteType;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

use super::Activity;

/// A `Delete`.
pub type Delete = Activity<DeleteType>;

/// What is left of a deleted object: in its `Delete`, and answered with `410 Gone`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tombstone {
    /// The deleted object's id.
    pub id: Url,
    /// `Tombstone`.
    #[serde(rename = "type")]
    pub kind: TombstoneType,
    /// What it was (`Article`).
    pub former_type: String,
    /// When it was deleted.
    pub deleted: DateTime<Utc>,
}

/// The `Tombstone` type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TombstoneType {
    /// `Tombstone`.
    #[default]
    Tombstone,
}

impl Tombstone {
    /// The tombstone of `id`, a `former_type`, deleted at `deleted`.
    pub fn new(id: Url, former_type: &str, deleted: DateTime<Utc>) -> Self {
        Self {
            id,
            kind: TombstoneType::Tombstone,
            former_type: former_type.to_owned(),
            deleted,
        }
    }
}

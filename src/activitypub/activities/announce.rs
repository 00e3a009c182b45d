//! `Announce`: an aggregator's group shares an action with its followers (FEP-1b12);
//! received as interest in a local action.

use activitypub_federation::kinds::activity::AnnounceType;

use super::Activity;

/// An `Announce`.
pub type Announce = Activity<AnnounceType>;

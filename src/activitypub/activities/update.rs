//! `Update` of an action (its content, or its partners), published by its owner;
//! received for remote actions, posts and replies.

use activitypub_federation::kinds::activity::UpdateType;

use super::Activity;

/// An `Update`.
pub type Update = Activity<UpdateType>;

//! `Like`: received as interest in a local action (never sent).

use activitypub_federation::kinds::activity::LikeType;

use super::Activity;

/// A `Like`.
pub type Like = Activity<LikeType>;

//! AS2 wire structs (`…Json`) of actors and comments, and the conversions between AS2
//! and domain values that need the node (its URLs, its store). The pure ones (actions,
//! places) are `crate::activitypub::objects`.
//! Converters read, never write; persisting a remote object is `from_json`'s upsert.

pub mod action;
pub mod collectivite;
pub mod comment;
pub mod instance;

pub use crate::activitypub::ids::PUBLIC;
pub use crate::activitypub::objects::{
    FUTURE_SKEW, PLAUSIBLE_YEARS, believable, one_or_many, place, plausible, remote_dates,
};

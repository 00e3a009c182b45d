//! Owns input drafts: what an editor writes (API JSON, admin forms, CLI files, CSV
//! rows), before validation, and the one conversion of each into a domain value. Every
//! entry point converts through here, so an action or a profile is checked by the same
//! code whichever way it arrives.

pub mod action;
pub mod collectivite;

pub use action::{ActionBody, ContactBody, LinkBody, PlaceBody, ProviderBody, SoftwareBody};
pub use collectivite::{CollectiviteBody, PointBody, parse_web_url};

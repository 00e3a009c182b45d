//! Owns Maillage's domain: validated value types and the records built from them.
//! Every value coming from outside (API bodies, CLI files, database rows, AS2 documents)
//! is parsed into these types at the edge; code past the edge never re-checks them.
//! Persistence lives in [`crate::db`], wire formats in [`crate::api`] and
//! [`crate::federation`].

pub mod action;
pub mod codes;
pub mod collectivite;
pub mod geo;
pub mod html;

pub use crate::taxonomy::ThemeSlug;
pub use action::{
    Action, ActionId, ActionOwner, Contact, LinkRef, NewAction, Phase, Provider, Software, Status,
};
pub use codes::{InseeCode, Siren, Username};
pub use collectivite::{Collectivite, CollectiviteKind, CollectivitePatch, Label, NewCollectivite};
pub use geo::{GeoPoint, Place, PostalAddress};
pub use html::{RichText, SafeHtml, TextFormat};

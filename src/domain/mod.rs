//! Owns Maillage's domain: validated value types and the records built from them.
//! Every value coming from outside (API bodies, admin forms, CLI files, CSV rows,
//! database rows, AS2 documents) is parsed into these types at the edge; code past the
//! edge never re-checks them. What editors write is a draft ([`drafts`]), validated
//! into a domain value with every invalid field listed ([`fields`]). This layer imports
//! nothing above it: persistence lives in `db`, wire formats in `api` and `activitypub`.

pub mod account;
pub mod action;
pub mod codes;
pub mod collectivite;
pub mod drafts;
pub mod fields;
pub mod french;
pub mod geo;
pub mod groups;
pub mod html;

pub use crate::taxonomy::ThemeSlug;
pub use account::{EmailAddress, NotifyMode};
pub use action::{
    Action, ActionId, ActionOwner, Contact, LinkRef, NewAction, Phase, Provider, Software, Status,
};
pub use codes::{InseeCode, Siren, Username};
pub use collectivite::{
    Collectivite, CollectiviteKind, CollectivitePatch, Label, NewCollectivite, VerifiedBy,
    WebsiteCheck,
};
pub use fields::{FieldError, FieldErrors, InvalidFields};
pub use geo::{GeoPoint, Place, PostalAddress};
pub use groups::GroupKind;
pub use html::{RichText, SafeHtml, TextFormat};

//! Actions: the digital public actions of a collectivité (SPEC §2), published as AS2
//! `Article`s. [`NewAction`] holds only validated values; building one from an editor's
//! draft happens in [`super::drafts::action`].

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use url::Url;
use utoipa::ToSchema;
use uuid::Uuid;

use super::codes::Siren;
use super::geo::Place;
use super::html::RichText;
use crate::taxonomy::ThemeSlug;

/// The public id of an action (`/actions/<uuid>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ActionId(pub Uuid);

impl ActionId {
    /// A fresh, time-ordered id.
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }
}

impl fmt::Display for ActionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

macro_rules! slug_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal, { $($(#[$vmeta:meta])* $variant:ident => $slug:literal, $label:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $slug)] $variant,)+
        }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire and database name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $slug),+ }
            }

            /// French label.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            /// Parses a wire name.
            ///
            /// # Errors
            /// A French message listing the possible values.
            pub fn parse(value: &str) -> Result<Self, String> {
                match value {
                    $($slug => Ok($name::$variant),)+
                    other => Err(format!(
                        concat!($what, " inconnu(e) « {} » ; valeurs possibles : {}"),
                        other,
                        [$($slug),+].join(", ")
                    )),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

slug_enum!(
    /// How far an action has gone.
    Phase, "phase", {
        /// An idea, looking for partners.
        Idee => "idee", "Idée";
        /// Being studied.
        Etude => "etude", "Étude";
        /// Being carried out.
        Realisation => "realisation", "Réalisation";
        /// A running public service.
        Service => "service", "Service en fonctionnement";
    }
);

slug_enum!(
    /// Whether an action is going on.
    Status, "statut", {
        /// Going on.
        EnCours => "en-cours", "En cours";
        /// Paused.
        EnPause => "en-pause", "En pause";
        /// Abandoned.
        Abandonne => "abandonne", "Abandonné";
        /// Finished.
        Termine => "termine", "Terminé";
    }
);

/// A piece of software an action uses (for "who uses what").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Software {
    /// Name (`Publik`).
    pub name: String,
    /// Home page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Url>,
    /// SPDX licence id (`AGPL-3.0-or-later`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence: Option<String>,
    /// SILL id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sill_id: Option<String>,
    /// Comptoir du Libre id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comptoir_id: Option<String>,
    /// Wikidata id (`Q…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wikidata: Option<String>,
}

/// A provider (prestataire) that worked on an action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Provider {
    /// Company name.
    pub name: String,
    /// SIREN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub siren: Option<Siren>,
    /// Website.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Url>,
}

/// A link or an image, with a description.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LinkRef {
    /// Where it points.
    pub url: Url,
    /// What it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A contact person; published only when the editor ticked consent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Contact {
    /// Name.
    pub name: String,
    /// Role (`chargée de mission numérique`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// E-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// An action's content, validated, ready to be stored.
#[derive(Debug, Clone)]
pub struct NewAction {
    /// Title.
    pub name: String,
    /// Subtitle: what it is, in one or two sentences.
    pub summary: Option<String>,
    /// What it is (HTML).
    pub content: RichText,
    /// What came of it.
    pub results: Option<RichText>,
    /// What others should know before doing the same.
    pub recommendations: Option<RichText>,
    /// Phase.
    pub phase: Phase,
    /// Status.
    pub status: Status,
    /// Themes (at least one).
    pub themes: Vec<ThemeSlug>,
    /// Places (the collectivité's town hall when none is given).
    pub locations: Vec<Place>,
    /// Start.
    pub start_date: Option<NaiveDate>,
    /// End.
    pub end_date: Option<NaiveDate>,
    /// Budget in euros.
    pub budget_eur: Option<i64>,
    /// Open to other authorities joining (appel à mutualisation).
    pub open_to_partners: bool,
    /// Software used.
    pub software: Vec<Software>,
    /// Providers.
    pub providers: Vec<Provider>,
    /// Links.
    pub links: Vec<LinkRef>,
    /// Images.
    pub images: Vec<LinkRef>,
    /// Contacts.
    pub contacts: Vec<Contact>,
    /// The editor consents to publishing the contacts.
    pub contacts_public: bool,
}

/// The collectivité that owns an action, as shown with it.
#[derive(Debug, Clone)]
pub struct ActionOwner {
    /// Database id of the actor.
    pub id: i64,
    /// Actor id.
    pub ap_id: Url,
    /// Username.
    pub username: String,
    /// Domain.
    pub domain: String,
    /// Display name.
    pub name: String,
    /// Hosted here?
    pub local: bool,
    /// Its official website.
    pub website: Option<Url>,
    /// When its official website was last verified (`None`: not verified).
    pub website_verified_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// An action as stored.
#[derive(Debug, Clone)]
pub struct Action {
    /// Database id.
    pub db_id: i64,
    /// Public id.
    pub id: ActionId,
    /// ActivityPub id.
    pub ap_id: Url,
    /// HTML page.
    pub url: Url,
    /// Hosted here?
    pub local: bool,
    /// Owner.
    pub owner: ActionOwner,
    /// Partners (actor ids) — filled by the partnership workflow.
    pub partners: Vec<Url>,
    /// Content.
    pub data: NewAction,
    /// First published.
    pub published: DateTime<Utc>,
    /// Last updated.
    pub updated: DateTime<Utc>,
    /// Deleted (tombstone) since.
    pub deleted: Option<DateTime<Utc>>,
}

impl Action {
    /// The summary shown by microblogs: the editor's, else the start of the content.
    pub fn display_summary(&self) -> String {
        if let Some(summary) = &self.data.summary {
            return summary.clone();
        }
        let text = self.data.content.html.to_plain_text();
        if text.chars().count() <= 280 {
            text
        } else {
            let cut: String = text.chars().take(279).collect();
            format!("{}…", cut.trim_end())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_and_statuses() {
        assert_eq!(Phase::parse("service").unwrap(), Phase::Service);
        assert!(Phase::parse("fini").unwrap_err().contains("idee"));
        assert_eq!(Status::parse("en-cours").unwrap().as_str(), "en-cours");
        assert_eq!(
            serde_json::to_string(&Status::EnPause).unwrap(),
            "\"en-pause\""
        );
    }
}

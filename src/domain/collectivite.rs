//! Collectivités: the `Organization` actors of Maillage (SPEC §2), local or remote.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;
use utoipa::ToSchema;

use super::codes::{InseeCode, Siren, Username};
use super::geo::{GeoPoint, PostalAddress};

/// What kind of authority a collectivité is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CollectiviteKind {
    /// A commune (INSEE code required).
    Commune,
    /// An intercommunalité (EPCI).
    Epci,
    /// A département.
    Departement,
    /// A région.
    Region,
    /// A syndicat (mixte, intercommunal…).
    Syndicat,
    /// An association of authorities.
    Association,
    /// Anything else.
    Autre,
}

impl CollectiviteKind {
    /// Every kind, in display order.
    pub const ALL: [CollectiviteKind; 7] = [
        Self::Commune,
        Self::Epci,
        Self::Departement,
        Self::Region,
        Self::Syndicat,
        Self::Association,
        Self::Autre,
    ];

    /// The wire and database name (`commune`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Commune => "commune",
            Self::Epci => "epci",
            Self::Departement => "departement",
            Self::Region => "region",
            Self::Syndicat => "syndicat",
            Self::Association => "association",
            Self::Autre => "autre",
        }
    }

    /// French label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Commune => "Commune",
            Self::Epci => "Intercommunalité",
            Self::Departement => "Département",
            Self::Region => "Région",
            Self::Syndicat => "Syndicat",
            Self::Association => "Association",
            Self::Autre => "Autre",
        }
    }

    /// Parses a kind name.
    ///
    /// # Errors
    /// A French message listing the kinds.
    pub fn parse(value: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == value)
            .ok_or_else(|| {
                format!(
                    "type de collectivité inconnu « {value} » ; types possibles : {}",
                    Self::ALL.map(|k| k.as_str()).join(", ")
                )
            })
    }
}

/// A "Territoires, Villes et Villages Internet" label obtained one year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Label {
    /// Year of the label.
    pub year: i32,
    /// Number of "@" (1 to 5).
    pub arobases: u8,
    /// Mentions (`transition-ecologique`, `mediation-numerique`…).
    #[serde(default)]
    pub mentions: Vec<String>,
}

impl Label {
    /// Checks the year, the number of arobases and the mention slugs.
    ///
    /// # Errors
    /// `(field, message)` for the first invalid part.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let this_year = chrono::Datelike::year(&Utc::now());
        if !(1999..=this_year + 1).contains(&self.year) {
            return Err((
                "year",
                format!("année {} invalide : le label existe depuis 1999", self.year),
            ));
        }
        if !(1..=5).contains(&self.arobases) {
            return Err(("arobases", "de 1 à 5 arobases".to_string()));
        }
        for mention in &self.mentions {
            let ok = !mention.is_empty()
                && mention.len() <= 64
                && mention
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !ok {
                return Err((
                    "mentions",
                    format!("mention « {mention} » invalide : a-z, 0-9 et - attendus"),
                ));
            }
        }
        Ok(())
    }
}

/// A collectivité's profile, validated, ready to be stored (local creation).
#[derive(Debug, Clone)]
pub struct NewCollectivite {
    /// Username (`marcq-en-baroeul`).
    pub username: Username,
    /// Display name.
    pub name: String,
    /// Short presentation.
    pub summary: Option<String>,
    /// Kind of authority.
    pub kind: CollectiviteKind,
    /// COG code (communes).
    pub insee: Option<InseeCode>,
    /// SIREN.
    pub siren: Option<Siren>,
    /// SIREN of its EPCI.
    pub epci_siren: Option<Siren>,
    /// Département code.
    pub departement: Option<String>,
    /// Région code.
    pub region: Option<String>,
    /// Population.
    pub population: Option<i64>,
    /// Town-hall point.
    pub location: Option<GeoPoint>,
    /// Postal address.
    pub address: Option<PostalAddress>,
    /// Website.
    pub website: Option<Url>,
    /// Logo or coat of arms.
    pub icon: Option<Url>,
    /// Labels obtained.
    pub labels: Vec<Label>,
}

impl NewCollectivite {
    /// A profile with a name and nothing else, of kind `autre`: what little is known of
    /// a remote actor stored for a follow (tests, benchmarks, imports of follow lists).
    pub fn named(username: Username, name: impl Into<String>) -> Self {
        Self {
            username,
            name: name.into(),
            summary: None,
            kind: CollectiviteKind::Autre,
            insee: None,
            siren: None,
            epci_siren: None,
            departement: None,
            region: None,
            population: None,
            location: None,
            address: None,
            website: None,
            icon: None,
            labels: Vec::new(),
        }
    }
}

/// The editable part of a profile, as replaced by `PATCH` (merge-patched, then validated).
pub type CollectivitePatch = NewCollectivite;

/// A collectivité as stored: its profile, its actor identity and keys.
#[derive(Debug, Clone)]
pub struct Collectivite {
    /// Database id.
    pub id: i64,
    /// ActivityPub id (`https://<domain>/actors/<username>`).
    pub ap_id: Url,
    /// Hosted here?
    pub local: bool,
    /// Domain of its node.
    pub domain: String,
    /// Profile.
    pub profile: NewCollectivite,
    /// Inbox URL.
    pub inbox: Url,
    /// Shared inbox URL.
    pub shared_inbox: Option<Url>,
    /// Public key, PEM.
    pub public_key_pem: String,
    /// Private key, PEM (local collectivités only).
    pub private_key_pem: Option<String>,
    /// Created.
    pub published: DateTime<Utc>,
    /// Last profile change.
    pub updated: DateTime<Utc>,
    /// Where the check of its official website stands.
    pub website_check: WebsiteCheck,
}

/// How an official website was verified (SPEC §11 "Trust on aggregators").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum VerifiedBy {
    /// The page links back to the actor with `rel="me"`, as Mastodon checks it.
    #[serde(rename = "rel-me")]
    RelMe,
    /// The actor's node is on the website's domain (or a subdomain of it), and the
    /// website answered.
    #[serde(rename = "domain")]
    Domain,
}

impl VerifiedBy {
    /// As stored in `actors.website_verified_by`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RelMe => "rel-me",
            Self::Domain => "domain",
        }
    }

    /// From `actors.website_verified_by`.
    ///
    /// # Errors
    /// Any other text.
    pub fn parse(value: &str) -> Result<Self, String> {
        match value {
            "rel-me" => Ok(Self::RelMe),
            "domain" => Ok(Self::Domain),
            other => Err(format!("unknown verification method {other:?}")),
        }
    }
}

/// The last check of a collectivité's official website.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebsiteCheck {
    /// When the last successful check was made (`None`: not verified).
    pub verified_at: Option<DateTime<Utc>>,
    /// How it was verified.
    pub verified_by: Option<VerifiedBy>,
    /// The last attempt.
    pub checked_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed, in French.
    pub error: Option<String>,
}

impl Collectivite {
    /// `username@domain`.
    pub fn handle(&self) -> String {
        format!("{}@{}", self.profile.username, self.domain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for kind in CollectiviteKind::ALL {
            assert_eq!(CollectiviteKind::parse(kind.as_str()).unwrap(), kind);
        }
        assert!(CollectiviteKind::parse("ville").is_err());
    }

    #[test]
    fn labels_are_checked() {
        let ok = Label {
            year: 2024,
            arobases: 5,
            mentions: vec!["mediation-numerique".into()],
        };
        assert!(ok.validate().is_ok());
        assert_eq!(
            Label {
                arobases: 6,
                ..ok.clone()
            }
            .validate()
            .unwrap_err()
            .0,
            "arobases"
        );
        assert_eq!(
            Label {
                year: 1990,
                ..ok.clone()
            }
            .validate()
            .unwrap_err()
            .0,
            "year"
        );
        assert_eq!(
            Label {
                mentions: vec!["Bad Mention".into()],
                ..ok
            }
            .validate()
            .unwrap_err()
            .0,
            "mentions"
        );
    }
}

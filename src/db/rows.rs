//! Row types as read from the database, and their conversion to domain values.
//! A row that does not parse becomes [`StoreError::Corrupt`], never a panic.
//! Columns are documented in `migrations/`.
#![allow(missing_docs)]

use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use url::Url;
use uuid::Uuid;

use super::StoreError;
use crate::domain::{
    Action, ActionId, ActionOwner, Collectivite, CollectiviteKind, GeoPoint, InseeCode, NewAction,
    NewCollectivite, Phase, RichText, SafeHtml, Siren, Status, ThemeSlug, Username, VerifiedBy,
    WebsiteCheck,
};

/// A row of `actors`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActorRow {
    pub id: i64,
    pub ap_id: String,
    pub actor_type: String,
    pub local: bool,
    pub username: String,
    pub domain: String,
    pub name: String,
    pub summary: Option<String>,
    pub kind: Option<String>,
    pub insee: Option<String>,
    pub siren: Option<String>,
    pub epci_siren: Option<String>,
    pub departement: Option<String>,
    pub region: Option<String>,
    pub population: Option<i64>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub address: Option<String>,
    pub website: Option<String>,
    pub icon: Option<String>,
    pub labels: String,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub public_key_pem: String,
    pub private_key_pem: Option<String>,
    pub published: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub last_refreshed_at: DateTime<Utc>,
    pub website_verified_at: Option<DateTime<Utc>>,
    pub website_verified_by: Option<String>,
    pub website_checked_at: Option<DateTime<Utc>>,
    pub website_check_error: Option<String>,
}

/// A row of `actions` joined with its owner.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActionRow {
    pub id: i64,
    pub uuid: Uuid,
    pub ap_id: String,
    pub url: String,
    pub actor_id: i64,
    pub local: bool,
    pub name: String,
    pub summary: Option<String>,
    pub content_html: String,
    pub content_source: Option<String>,
    pub results_html: Option<String>,
    pub results_source: Option<String>,
    pub recommendations_html: Option<String>,
    pub recommendations_source: Option<String>,
    pub phase: String,
    pub status: String,
    pub themes: String,
    pub locations: String,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub budget_eur: Option<i64>,
    pub open_to_partners: bool,
    pub partners: String,
    pub software: String,
    pub providers: String,
    pub links: String,
    pub images: String,
    pub contacts: String,
    pub contacts_public: bool,
    pub published: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub owner_ap_id: String,
    pub owner_username: String,
    pub owner_domain: String,
    pub owner_name: String,
    pub owner_local: bool,
    pub owner_website: Option<String>,
    pub owner_website_verified_at: Option<DateTime<Utc>>,
}

fn corrupt(what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {error}"))
}

fn url(what: &str, value: &str) -> Result<Url, StoreError> {
    Url::parse(value).map_err(|e| corrupt(what, e))
}

fn opt<T, E: std::fmt::Display>(
    what: &str,
    value: Option<&str>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Option<T>, StoreError> {
    value
        .map(|v| parse(v).map_err(|e| corrupt(what, e)))
        .transpose()
}

/// Parses a JSON document column.
pub fn json<T: DeserializeOwned>(what: &str, value: &str) -> Result<T, StoreError> {
    serde_json::from_str(value).map_err(|e| corrupt(what, e))
}

/// Serialises a value for a JSON document column.
pub fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("BUG: domain values always serialise")
}

fn rich(html: Option<String>, source: Option<String>) -> Option<RichText> {
    html.map(|html| RichText {
        html: SafeHtml::from_trusted_storage(html),
        source,
    })
}

impl TryFrom<ActorRow> for Collectivite {
    type Error = StoreError;

    fn try_from(row: ActorRow) -> Result<Self, Self::Error> {
        let kind = row
            .kind
            .as_deref()
            .map(CollectiviteKind::parse)
            .transpose()
            .map_err(|e| corrupt("actors.kind", e))?
            .unwrap_or(CollectiviteKind::Autre);
        let location = match (row.lat, row.lon) {
            (Some(lat), Some(lon)) => {
                Some(GeoPoint::new(lat, lon).map_err(|e| corrupt("actors.lat/lon", e.1))?)
            }
            _ => None,
        };
        let profile = NewCollectivite {
            username: Username::parse(&row.username).map_err(|e| corrupt("actors.username", e))?,
            name: row.name,
            summary: row.summary,
            kind,
            insee: opt("actors.insee", row.insee.as_deref(), InseeCode::parse)?,
            siren: opt("actors.siren", row.siren.as_deref(), Siren::parse)?,
            epci_siren: opt("actors.epci_siren", row.epci_siren.as_deref(), Siren::parse)?,
            departement: row.departement,
            region: row.region,
            population: row.population,
            location,
            address: row
                .address
                .as_deref()
                .map(|a| json("actors.address", a))
                .transpose()?,
            website: opt("actors.website", row.website.as_deref(), Url::parse)?,
            icon: opt("actors.icon", row.icon.as_deref(), Url::parse)?,
            labels: json("actors.labels", &row.labels)?,
        };
        Ok(Collectivite {
            id: row.id,
            ap_id: url("actors.ap_id", &row.ap_id)?,
            local: row.local,
            domain: row.domain,
            profile,
            inbox: url("actors.inbox", &row.inbox)?,
            shared_inbox: opt(
                "actors.shared_inbox",
                row.shared_inbox.as_deref(),
                Url::parse,
            )?,
            public_key_pem: row.public_key_pem,
            private_key_pem: row.private_key_pem,
            published: row.published,
            updated: row.updated,
            website_check: WebsiteCheck {
                verified_at: row.website_verified_at,
                verified_by: opt(
                    "actors.website_verified_by",
                    row.website_verified_by.as_deref(),
                    VerifiedBy::parse,
                )?,
                checked_at: row.website_checked_at,
                error: row.website_check_error,
            },
        })
    }
}

impl TryFrom<ActionRow> for Action {
    type Error = StoreError;

    fn try_from(row: ActionRow) -> Result<Self, Self::Error> {
        let themes: Vec<String> = json("actions.themes", &row.themes)?;
        let themes = themes
            .iter()
            .map(|t| ThemeSlug::parse(t).map_err(|e| corrupt("actions.themes", e)))
            .collect::<Result<Vec<_>, _>>()?;
        let data = NewAction {
            name: row.name,
            summary: row.summary,
            content: RichText {
                html: SafeHtml::from_trusted_storage(row.content_html),
                source: row.content_source,
            },
            results: rich(row.results_html, row.results_source),
            recommendations: rich(row.recommendations_html, row.recommendations_source),
            phase: Phase::parse(&row.phase).map_err(|e| corrupt("actions.phase", e))?,
            status: Status::parse(&row.status).map_err(|e| corrupt("actions.status", e))?,
            themes,
            locations: json("actions.locations", &row.locations)?,
            start_date: row.start_date,
            end_date: row.end_date,
            budget_eur: row.budget_eur,
            open_to_partners: row.open_to_partners,
            software: json("actions.software", &row.software)?,
            providers: json("actions.providers", &row.providers)?,
            links: json("actions.links", &row.links)?,
            images: json("actions.images", &row.images)?,
            contacts: json("actions.contacts", &row.contacts)?,
            contacts_public: row.contacts_public,
        };
        Ok(Action {
            db_id: row.id,
            id: ActionId(row.uuid),
            ap_id: url("actions.ap_id", &row.ap_id)?,
            url: url("actions.url", &row.url)?,
            local: row.local,
            owner: ActionOwner {
                id: row.actor_id,
                ap_id: url("actors.ap_id", &row.owner_ap_id)?,
                username: row.owner_username,
                domain: row.owner_domain,
                name: row.owner_name,
                local: row.owner_local,
                website: opt("actors.website", row.owner_website.as_deref(), Url::parse)?,
                website_verified_at: row.owner_website_verified_at,
            },
            partners: json("actions.partners", &row.partners)?,
            data,
            published: row.published,
            updated: row.updated,
            deleted: row.deleted_at,
        })
    }
}

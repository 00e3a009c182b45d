//! A collectivité as an AS2 `Organization` actor (SPEC §3 "Actor document"), and the
//! `Object`/`Actor` traits that let the federation library fetch, sign and verify.

use activitypub_federation::config::Data;
use activitypub_federation::protocol::public_key::PublicKey;
use activitypub_federation::protocol::verification::verify_domains_match;
use activitypub_federation::traits::{Actor, Object};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

use super::one_or_many;
use super::place::{PlaceJson, PostalAddressJson};
use crate::db::actors::{ActorRecord, RemoteActor};
use crate::domain::html::escape;
use crate::domain::{
    Collectivite, CollectiviteKind, GeoPoint, InseeCode, Label, NewCollectivite, Siren, Username,
};
use crate::federation::FederationError;
use crate::federation::delivery::check_inbox;
use crate::state::AppState;

/// Endpoints of an actor.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EndpointsJson {
    /// Shared inbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_inbox: Option<Url>,
}

/// An `Image` (icon).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ImageJson {
    /// Always `Image`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Where it is.
    pub url: Url,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A profile field (`PropertyValue`), shown by Mastodon under the bio.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PropertyValueJson {
    /// Always `PropertyValue`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Label.
    pub name: String,
    /// Value (HTML allowed).
    pub value: String,
}

/// An actor document: the `Organization` of a collectivité as we send it, and any
/// actor (`Person`, `Application`, `Group`…) as we read it, leniently.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActorJson {
    /// `Organization` (ours), or whatever type the peer uses.
    #[serde(rename = "type")]
    pub kind: String,
    /// Actor id.
    pub id: Url,
    /// Username.
    #[serde(default)]
    pub preferred_username: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Presentation (HTML).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// HTML page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Url>,
    /// Inbox.
    pub inbox: Url,
    /// Outbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbox: Option<Url>,
    /// Followers collection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followers: Option<Url>,
    /// Following collection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub following: Option<Url>,
    /// Shared inbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<EndpointsJson>,
    /// Signing key.
    pub public_key: PublicKey,
    /// Logo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<ImageJson>,
    /// Listed in directories.
    #[serde(default)]
    pub discoverable: bool,
    /// Its posts may be indexed (FEP-5feb; absent means no).
    #[serde(default)]
    pub indexable: bool,
    /// Follow requests are accepted automatically.
    #[serde(default)]
    pub manually_approves_followers: bool,
    /// Town hall.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<PlaceJson>,
    /// Profile fields.
    #[serde(default, deserialize_with = "one_or_many")]
    pub attachment: Vec<PropertyValueJson>,
    /// Created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<DateTime<Utc>>,
    /// Updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<DateTime<Utc>>,
    /// `mai:kind`.
    #[serde(rename = "mai:kind", default, skip_serializing_if = "Option::is_none")]
    pub mai_kind: Option<String>,
    /// `mai:insee`.
    #[serde(rename = "mai:insee", default, skip_serializing_if = "Option::is_none")]
    pub insee: Option<String>,
    /// `mai:siren`.
    #[serde(rename = "mai:siren", default, skip_serializing_if = "Option::is_none")]
    pub siren: Option<String>,
    /// `mai:epci` (SIREN of the EPCI).
    #[serde(rename = "mai:epci", default, skip_serializing_if = "Option::is_none")]
    pub epci: Option<String>,
    /// `mai:departement`.
    #[serde(
        rename = "mai:departement",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub departement: Option<String>,
    /// `mai:region`.
    #[serde(
        rename = "mai:region",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub region: Option<String>,
    /// `mai:population`.
    #[serde(
        rename = "mai:population",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub population: Option<i64>,
    /// `mai:labels`.
    #[serde(rename = "mai:labels", default, deserialize_with = "one_or_many")]
    pub labels: Vec<Label>,
}

/// URLs of a local actor, by username.
pub struct ActorUrls {
    /// Actor id (and HTML page).
    pub id: Url,
    /// Inbox.
    pub inbox: Url,
    /// Outbox.
    pub outbox: Url,
    /// Followers.
    pub followers: Url,
    /// Following.
    pub following: Url,
    /// Shared inbox of the node.
    pub shared_inbox: Url,
}

impl ActorUrls {
    /// The URLs of the local actor `username`.
    pub fn local(state: &AppState, username: &str) -> Self {
        let base = format!("/actors/{username}");
        Self {
            id: state.url(&base),
            inbox: state.url(&format!("{base}/inbox")),
            outbox: state.url(&format!("{base}/outbox")),
            followers: state.url(&format!("{base}/followers")),
            following: state.url(&format!("{base}/following")),
            shared_inbox: state.url("/inbox"),
        }
    }
}

/// The name of the official website's profile field (SPEC §11 "Trust on aggregators").
pub const WEBSITE_FIELD: &str = "Site officiel";

/// Names of the website field read from other nodes: ours, and the one Maillage
/// 0.2 sent.
const WEBSITE_FIELDS: [&str; 2] = [WEBSITE_FIELD, "Site web"];

/// The value of the website field, an HTML link as Mastodon writes one (scheme and
/// the part past 30 characters in `invisible` spans, `rel="me"`): Mastodon then shows
/// it, and marks it verified when the website links back with `rel="me"`.
pub fn website_value(website: &Url) -> String {
    let full = website.as_str();
    let (scheme, rest) = full.split_once("://").unwrap_or(("", full));
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let cut = rest.char_indices().nth(30).map_or(rest.len(), |(i, _)| i);
    let (shown, hidden) = rest.split_at(cut);
    format!(
        r#"<a href="{}" target="_blank" rel="nofollow noopener noreferrer me" translate="no"><span class="invisible">{}://</span><span class="">{}</span><span class="invisible">{}</span></a>"#,
        escape(full),
        escape(scheme),
        escape(shown),
        escape(hidden)
    )
}

/// The official website a remote actor publishes: the first link of its
/// `Site officiel` field (or the older `Site web`), an http(s) address.
pub fn website_of(json: &ActorJson) -> Option<Url> {
    json.attachment
        .iter()
        .filter(|field| field.kind == "PropertyValue")
        .find(|field| {
            WEBSITE_FIELDS
                .iter()
                .any(|name| field.name.trim().eq_ignore_ascii_case(name))
        })
        .and_then(|field| {
            let href = crate::service::verification::links(&field.value)
                .into_iter()
                .map(|(_, href)| href)
                .next()
                .unwrap_or_else(|| field.value.clone());
            crate::domain::drafts::parse_web_url(&href).ok()
        })
        .filter(|url| url.as_str().len() <= crate::activitypub::ids::MAX_ID_LEN)
}

fn property(name: &str, value: String) -> PropertyValueJson {
    PropertyValueJson {
        kind: "PropertyValue".into(),
        name: name.into(),
        value,
    }
}

/// Domain → AS2: the actor document of a local collectivité.
pub fn collectivite_to_as(collectivite: &Collectivite, state: &AppState) -> ActorJson {
    let profile = &collectivite.profile;
    let urls = ActorUrls::local(state, profile.username.as_ref());
    let referential = crate::referential::Referential::global();
    let mut attachment = Vec::new();
    if let Some(insee) = &profile.insee {
        attachment.push(property("Code INSEE", insee.to_string()));
    }
    if let Some(siren) = &profile.siren {
        attachment.push(property("SIREN", siren.to_string()));
    }
    if let Some(dep) = profile.departement.as_deref() {
        let name = referential
            .departement(dep)
            .map(|d| format!("{} ({dep})", d.nom))
            .unwrap_or_else(|| dep.to_string());
        attachment.push(property("Département", escape(&name)));
    }
    if let Some(website) = &profile.website {
        attachment.push(property(WEBSITE_FIELD, website_value(website)));
    }
    let location = profile.location.map(|point| PlaceJson {
        kind: "Place".into(),
        name: Some(format!("Mairie de {}", profile.name)),
        latitude: Some(point.lat),
        longitude: Some(point.lon),
        insee: profile.insee.as_ref().map(|i| i.to_string()),
        address: profile.address.as_ref().map(PostalAddressJson::from),
    });
    ActorJson {
        kind: "Organization".into(),
        id: collectivite.ap_id.clone(),
        preferred_username: profile.username.to_string(),
        name: profile.name.clone(),
        summary: profile
            .summary
            .as_deref()
            .map(|s| format!("<p>{}</p>", escape(s))),
        url: Some(urls.id.clone()),
        inbox: urls.inbox,
        outbox: Some(urls.outbox),
        followers: Some(urls.followers),
        following: Some(urls.following),
        endpoints: Some(EndpointsJson {
            shared_inbox: Some(urls.shared_inbox),
        }),
        public_key: PublicKey {
            id: format!("{}#main-key", collectivite.ap_id),
            owner: collectivite.ap_id.clone(),
            public_key_pem: collectivite.public_key_pem.clone(),
        },
        icon: profile.icon.clone().map(|url| ImageJson {
            kind: "Image".into(),
            url,
            name: None,
        }),
        discoverable: true,
        indexable: true,
        manually_approves_followers: false,
        location,
        attachment,
        published: Some(collectivite.published),
        updated: Some(collectivite.updated),
        mai_kind: Some(profile.kind.as_str().into()),
        insee: profile.insee.as_ref().map(|v| v.to_string()),
        siren: profile.siren.as_ref().map(|v| v.to_string()),
        epci: profile.epci_siren.as_ref().map(|v| v.to_string()),
        departement: profile.departement.clone(),
        region: profile.region.clone(),
        population: profile.population,
        labels: profile.labels.clone(),
    }
}

/// A usable username for a remote actor: `preferredUsername` lowercased, characters
/// outside `[a-z0-9_-]` replaced by `_`, or the last path segment of its id.
pub fn remote_username(json: &ActorJson) -> String {
    let raw = if json.preferred_username.trim().is_empty() {
        json.id
            .path_segments()
            .and_then(|mut s| s.next_back().map(str::to_string))
            .unwrap_or_default()
    } else {
        json.preferred_username.clone()
    };
    let cleaned: String = raw
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if cleaned.is_empty() {
        "_".to_string()
    } else {
        cleaned
    }
}

/// AS2 → domain: the profile of a remote collectivité. Fields that do not validate
/// are dropped (and logged), never fatal, except a missing or invalid username.
///
/// # Errors
/// [`FederationError::Invalid`] when `preferredUsername` is unusable.
pub fn as_to_profile(json: &ActorJson) -> Result<NewCollectivite, FederationError> {
    fn keep<T>(what: &str, value: Option<Result<T, String>>) -> Option<T> {
        match value {
            Some(Ok(v)) => Some(v),
            Some(Err(error)) => {
                tracing::debug!(field = what, %error, "remote field dropped");
                None
            }
            None => None,
        }
    }
    let username = Username::parse(&remote_username(json)).map_err(FederationError::Invalid)?;
    let location = json
        .location
        .as_ref()
        .and_then(|place| GeoPoint::new(place.latitude?, place.longitude?).ok());
    Ok(NewCollectivite {
        username,
        name: json.name.chars().filter(|c| *c != '\0').take(200).collect(),
        summary: json
            .summary
            .as_deref()
            .map(|s| crate::domain::SafeHtml::sanitize_bounded(s).to_plain_text()),
        kind: json
            .mai_kind
            .as_deref()
            .and_then(|k| CollectiviteKind::parse(k).ok())
            .unwrap_or(CollectiviteKind::Autre),
        insee: keep("mai:insee", json.insee.as_deref().map(InseeCode::parse)),
        siren: keep("mai:siren", json.siren.as_deref().map(Siren::parse)),
        epci_siren: keep("mai:epci", json.epci.as_deref().map(Siren::parse)),
        departement: json.departement.clone().filter(|d| d.len() <= 3),
        region: json.region.clone().filter(|r| r.len() <= 3),
        population: json.population.filter(|p| *p >= 0),
        location,
        address: json
            .location
            .as_ref()
            .and_then(|p| p.address.clone())
            .map(Into::into),
        website: website_of(json),
        icon: json.icon.as_ref().map(|i| i.url.clone()),
        labels: json
            .labels
            .iter()
            .filter(|l| l.validate().is_ok())
            .cloned()
            .collect(),
    })
}

/// The domain of an actor id, with its port when explicit (`localhost:8081`).
pub fn domain_of(url: &Url) -> Option<String> {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => Some(format!("{host}:{port}")),
        (Some(host), None) => Some(host.to_string()),
        _ => None,
    }
}

/// Stores (or refreshes) a remote actor received or fetched from its node.
///
/// # Errors
/// [`FederationError::Invalid`] for an actor without a usable id or username.
pub async fn store_remote_actor(
    json: &ActorJson,
    state: &AppState,
) -> Result<ActorRecord, FederationError> {
    let mut profile = as_to_profile(json)?;
    if json.name.trim().is_empty() {
        profile.name = json.preferred_username.clone();
    }
    let domain = domain_of(&json.id)
        .ok_or_else(|| FederationError::Invalid("actor id without host".into()))?;
    // A shared inbox elsewhere than the actor's own host is not trusted (deliveries
    // would go to a server the actor does not run): fall back to its inbox.
    let debug = state.settings.federation.debug;
    check_inbox(&json.inbox, debug).map_err(FederationError::Invalid)?;
    let shared_inbox = json
        .endpoints
        .as_ref()
        .and_then(|e| e.shared_inbox.clone())
        .filter(|inbox| domain_of(inbox).as_deref() == Some(domain.as_str()))
        .filter(|inbox| check_inbox(inbox, debug).is_ok());
    let record = state
        .store
        .upsert_remote_actor(
            RemoteActor {
                actor_type: &json.kind,
                ap_id: &json.id,
                domain: &domain,
                inbox: &json.inbox,
                shared_inbox: shared_inbox.as_ref(),
                public_key_pem: &json.public_key.public_key_pem,
            },
            &profile,
        )
        .await?;
    // A new collectivité, or a new website: checked in the background, as the
    // publishing node checks it (the inbox does not wait).
    if record.website_unchecked {
        crate::service::verification::spawn_check(state, record.id);
    }
    Ok(record)
}

/// Longest `publicKeyPem` accepted: an RSA key of 8 192 bits is under 1 600 bytes.
const MAX_PEM_LEN: usize = 8 * 1024;

async fn verify_actor_json(
    json: &ActorJson,
    expected_domain: &Url,
    data: &Data<AppState>,
) -> Result<(), FederationError> {
    verify_domains_match(&json.id, expected_domain)?;
    verify_domains_match(&json.inbox, expected_domain)?;
    // The library compares host names only: outside debug mode, deliveries go over
    // https to the default port, whatever the actor says.
    check_inbox(&json.inbox, data.settings.federation.debug).map_err(FederationError::Invalid)?;
    if json.public_key.public_key_pem.len() > MAX_PEM_LEN {
        return Err(FederationError::Invalid("publicKeyPem too long".into()));
    }
    if json.public_key.owner != json.id {
        return Err(FederationError::Invalid(
            "publicKey.owner differs from the actor id".into(),
        ));
    }
    Ok(())
}

#[async_trait]
impl Object for ActorRecord {
    type DataType = AppState;
    type Kind = ActorJson;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.ap_id
    }

    fn last_refreshed_at(&self) -> Option<DateTime<Utc>> {
        Some(self.last_refreshed_at)
    }

    async fn read_from_id(
        object_id: Url,
        data: &Data<Self::DataType>,
    ) -> Result<Option<Self>, Self::Error> {
        Ok(data.store.actor_by_ap_id(&object_id).await?)
    }

    async fn into_json(self, data: &Data<Self::DataType>) -> Result<Self::Kind, Self::Error> {
        let collectivite = data
            .store
            .collectivite_by_id(self.id)
            .await?
            .ok_or_else(|| FederationError::Invalid("only collectivités are served".into()))?;
        Ok(collectivite_to_as(&collectivite, data))
    }

    async fn verify(
        json: &Self::Kind,
        expected_domain: &Url,
        data: &Data<Self::DataType>,
    ) -> Result<(), Self::Error> {
        verify_actor_json(json, expected_domain, data).await
    }

    async fn from_json(json: Self::Kind, data: &Data<Self::DataType>) -> Result<Self, Self::Error> {
        store_remote_actor(&json, data).await
    }
}

impl Actor for ActorRecord {
    fn public_key_pem(&self) -> &str {
        &self.public_key_pem
    }

    fn private_key_pem(&self) -> Option<String> {
        self.private_key_pem.clone()
    }

    fn inbox(&self) -> Url {
        self.inbox.clone()
    }

    fn shared_inbox(&self) -> Option<Url> {
        self.shared_inbox.clone()
    }
}

#[async_trait]
impl Object for Collectivite {
    type DataType = AppState;
    type Kind = ActorJson;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.ap_id
    }

    fn last_refreshed_at(&self) -> Option<DateTime<Utc>> {
        Some(self.updated)
    }

    async fn read_from_id(
        object_id: Url,
        data: &Data<Self::DataType>,
    ) -> Result<Option<Self>, Self::Error> {
        Ok(data.store.collectivite_by_ap_id(&object_id).await?)
    }

    async fn into_json(self, data: &Data<Self::DataType>) -> Result<Self::Kind, Self::Error> {
        Ok(collectivite_to_as(&self, data))
    }

    async fn verify(
        json: &Self::Kind,
        expected_domain: &Url,
        data: &Data<Self::DataType>,
    ) -> Result<(), Self::Error> {
        verify_actor_json(json, expected_domain, data).await
    }

    async fn from_json(json: Self::Kind, data: &Data<Self::DataType>) -> Result<Self, Self::Error> {
        let record = store_remote_actor(&json, data).await?;
        data.store
            .collectivite_by_id(record.id)
            .await?
            .ok_or_else(|| FederationError::Invalid(format!("{} is not a collectivité", json.id)))
    }
}

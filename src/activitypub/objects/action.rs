//! An action as an AS2 `Article` with the `mai:` terms (SPEC §3 "Action object").
//! Mastodon shows an Article as `name` + `summary` + a link to `url`, so all three are
//! always set; `summary` falls back to the start of the content.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

use super::place::PlaceJson;
use super::{one_or_many, plausible};
use crate::domain::{
    Contact, LinkRef, NewAction, Phase, Provider, RichText, SafeHtml, Software, Status, ThemeSlug,
};

/// `source` of a text written in Markdown.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SourceJson {
    /// The Markdown.
    pub content: String,
    /// `text/markdown`.
    pub media_type: String,
}

/// A `Hashtag` (one per theme).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TagJson {
    /// `Hashtag`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `#education`.
    pub name: String,
    /// The theme page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<Url>,
}

/// A `Link` or an `Image` attachment.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AttachmentJson {
    /// `Link` or `Image`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Target of a `Link`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<Url>,
    /// Location of an `Image`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Url>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The `Article` document of an action.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArticleJson {
    /// `Article`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Object id.
    pub id: Url,
    /// Owner actor id.
    pub attributed_to: Url,
    /// Title.
    pub name: String,
    /// One or two sentences: what it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Sanitised HTML.
    pub content: String,
    /// `text/html`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Markdown source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceJson>,
    /// HTML page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Url>,
    /// Published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<DateTime<Utc>>,
    /// Updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<DateTime<Utc>>,
    /// Audience.
    #[serde(default, deserialize_with = "one_or_many")]
    pub to: Vec<Url>,
    /// Secondary audience.
    #[serde(default, deserialize_with = "one_or_many")]
    pub cc: Vec<Url>,
    /// Hashtags.
    #[serde(default, deserialize_with = "one_or_many")]
    pub tag: Vec<TagJson>,
    /// Places.
    #[serde(default, deserialize_with = "one_or_many")]
    pub location: Vec<PlaceJson>,
    /// Start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<DateTime<Utc>>,
    /// End.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<DateTime<Utc>>,
    /// Replies collection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replies: Option<Url>,
    /// Links and images.
    #[serde(default, deserialize_with = "one_or_many")]
    pub attachment: Vec<AttachmentJson>,
    /// `mai:phase`.
    #[serde(rename = "mai:phase", default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// `mai:status`.
    #[serde(
        rename = "mai:status",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub status: Option<String>,
    /// `mai:themes` (slugs).
    #[serde(rename = "mai:themes", default, deserialize_with = "one_or_many")]
    pub themes: Vec<String>,
    /// `mai:partners` (actor ids).
    #[serde(rename = "mai:partners", default, deserialize_with = "one_or_many")]
    pub partners: Vec<Url>,
    /// `mai:openToPartners`.
    #[serde(rename = "mai:openToPartners", default)]
    pub open_to_partners: bool,
    /// `mai:budget` (euros).
    #[serde(
        rename = "mai:budget",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub budget: Option<i64>,
    /// `mai:results` (HTML).
    #[serde(
        rename = "mai:results",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub results: Option<String>,
    /// `mai:recommendations` (HTML).
    #[serde(
        rename = "mai:recommendations",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub recommendations: Option<String>,
    /// `mai:software`.
    #[serde(rename = "mai:software", default, deserialize_with = "one_or_many")]
    pub software: Vec<Software>,
    /// `mai:providers`.
    #[serde(rename = "mai:providers", default, deserialize_with = "one_or_many")]
    pub providers: Vec<Provider>,
    /// `mai:contacts`, only when the editor consented to publishing them.
    #[serde(
        rename = "mai:contacts",
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub contacts: Vec<Contact>,
}

fn is_web(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https")
}

/// Partners kept at most for a remote action.
pub const MAX_PARTNERS: usize = 100;

/// The `mai:partners` of a remote action that can be actor ids: `http(s)` URLs without
/// credentials, at most [`crate::activitypub::ids::MAX_ID_LEN`] bytes, not the owner,
/// each once, at most [`MAX_PARTNERS`]. Whether the partners agreed is the caller's
/// question (`receive`).
pub fn partner_ids(json: &ArticleJson) -> Vec<Url> {
    let mut partners: Vec<Url> = Vec::new();
    for partner in &json.partners {
        let usable = is_web(partner)
            && partner.host_str().is_some()
            && partner.username().is_empty()
            && partner.password().is_none()
            && partner.as_str().len() <= crate::activitypub::ids::MAX_ID_LEN
            && *partner != json.attributed_to;
        if usable && !partners.contains(partner) {
            partners.push(partner.clone());
            if partners.len() == MAX_PARTNERS {
                break;
            }
        }
    }
    partners
}

/// True when a JSON object carries `mai:` terms (a Maillage action, not a plain post).
pub fn has_mai_terms(object: &serde_json::Value) -> bool {
    object
        .as_object()
        .is_some_and(|fields| fields.keys().any(|k| k.starts_with("mai:")))
}

/// AS2 → domain: the content of a remote action. Lenient: unknown themes, bad places,
/// bad links are dropped (and logged), HTML is sanitised again (at a bounded cost,
/// [`SafeHtml::sanitize_bounded`]), lengths are capped, NUL characters dropped (a
/// PostgreSQL text cannot hold them), links are http(s) only (they end up in pages).
pub fn as_to_action(json: &ArticleJson) -> NewAction {
    fn capped(text: &str, max: usize) -> String {
        text.chars().filter(|c| *c != '\0').take(max).collect()
    }
    let optional = |text: &Option<String>, max: usize| text.as_deref().map(|t| capped(t, max));
    let sanitize = |html: &str| SafeHtml::sanitize_bounded(&capped(html, 200_000));
    let themes = json
        .themes
        .iter()
        .filter_map(|slug| match ThemeSlug::parse(slug) {
            Ok(theme) => Some(theme),
            Err(error) => {
                tracing::debug!(%error, object = %json.id, "remote theme dropped");
                None
            }
        })
        .fold(Vec::new(), |mut acc, theme| {
            if !acc.contains(&theme) {
                acc.push(theme);
            }
            acc
        });
    let links = json
        .attachment
        .iter()
        .filter(|a| a.kind == "Link")
        .filter_map(|a| {
            Some(LinkRef {
                url: a.href.clone().filter(is_web)?,
                description: a.name.clone(),
            })
        })
        .take(50)
        .collect();
    let images = json
        .attachment
        .iter()
        .filter(|a| a.kind == "Image")
        .filter_map(|a| {
            Some(LinkRef {
                url: a.url.clone().or_else(|| a.href.clone()).filter(is_web)?,
                description: a.name.clone(),
            })
        })
        .take(50)
        .collect();
    NewAction {
        name: capped(json.name.trim(), 200),
        summary: json
            .summary
            .as_deref()
            .map(|s| capped(&sanitize(&capped(s, 10_000)).to_plain_text(), 1000))
            .filter(|s| !s.is_empty()),
        content: RichText {
            html: sanitize(&json.content),
            source: json.source.as_ref().map(|s| capped(&s.content, 100_000)),
        },
        results: json.results.as_deref().map(|html| RichText {
            html: sanitize(html),
            source: None,
        }),
        recommendations: json.recommendations.as_deref().map(|html| RichText {
            html: sanitize(html),
            source: None,
        }),
        phase: json
            .phase
            .as_deref()
            .and_then(|p| Phase::parse(p).ok())
            .unwrap_or(Phase::Realisation),
        status: json
            .status
            .as_deref()
            .and_then(|s| Status::parse(s).ok())
            .unwrap_or(Status::EnCours),
        themes,
        locations: json
            .location
            .iter()
            .take(50)
            .map(|place| {
                let mut place = place.to_place();
                place.name = capped(&place.name, 200);
                place
            })
            .collect(),
        start_date: plausible(json.start_time).map(|t| t.date_naive()),
        end_date: plausible(json.end_time).map(|t| t.date_naive()),
        budget_eur: json.budget.filter(|b| *b >= 0),
        open_to_partners: json.open_to_partners,
        software: json
            .software
            .iter()
            .take(50)
            .map(|s| Software {
                name: capped(&s.name, 200),
                url: s.url.clone().filter(is_web),
                licence: optional(&s.licence, 100),
                sill_id: optional(&s.sill_id, 50),
                comptoir_id: optional(&s.comptoir_id, 50),
                wikidata: optional(&s.wikidata, 50),
            })
            .collect(),
        providers: json
            .providers
            .iter()
            .take(50)
            .map(|p| Provider {
                name: capped(&p.name, 200),
                siren: p.siren.clone(),
                url: p.url.clone().filter(is_web),
            })
            .collect(),
        links,
        images,
        contacts_public: !json.contacts.is_empty(),
        contacts: json
            .contacts
            .iter()
            .take(50)
            .map(|c| Contact {
                name: capped(&c.name, 200),
                role: optional(&c.role, 200),
                email: optional(&c.email, 320),
            })
            .collect(),
    }
}

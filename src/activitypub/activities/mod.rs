/*!
Typed activities: one module per activity type the node speaks, each a typed serde
struct used both ways, to build what a local actor publishes and to read what a peer
sends ([`InboundActivity`], parsed once from the JSON). Every activity shares one
shape, [`Activity<K>`], whose type parameter is its `type` (`FollowType`, …): `id`,
`actor`, `published`, `to`, `cc`, `object` (and `content` for a `Flag`).

Outbound, a module's constructor builds the exact document sent today (the wire is
pinned by `tests/api/wire.rs`). Inbound, every field but the envelope (`id`, `type`,
`actor`, checked by [`Envelope::read`]) is read leniently: an unusable `to` or
`published` is dropped, not refused, as peers send single values, objects and lists
where the spec allows one. Checking the sender and applying the activity are
`federation::inbox` and `federation::receive`.
*/

mod accept;
mod announce;
mod create;
mod delete;
mod flag;
mod follow;
mod inbound;
mod join;
mod leave;
mod like;
mod reject;
mod undo;
mod update;

pub use accept::Accept;
pub use announce::Announce;
pub use create::Create;
pub use delete::{Delete, Tombstone};
pub use flag::Flag;
pub use follow::Follow;
pub use inbound::{ActivityType, Envelope, InboundActivity, InvalidActivity};
pub use join::Join;
pub use leave::Leave;
pub use like::Like;
pub use reject::Reject;
pub use undo::Undo;
pub use update::Update;

use chrono::{DateTime, Utc};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use url::Url;

use super::context::with_context;
use super::ids::{id_of, parse_id};

/// The `type` of an activity, as a unit type (`activitypub_federation::kinds`).
pub trait Kind: Default + Serialize + DeserializeOwned {
    /// The type's name on the wire (`Follow`).
    const NAME: &'static str;
}

macro_rules! kinds {
    ($($kind:ident => $name:literal),* $(,)?) => {
        $(impl Kind for activitypub_federation::kinds::activity::$kind {
            const NAME: &'static str = $name;
        })*
    };
}

kinds!(
    AcceptType => "Accept",
    AnnounceType => "Announce",
    CreateType => "Create",
    DeleteType => "Delete",
    FlagType => "Flag",
    FollowType => "Follow",
    JoinType => "Join",
    LeaveType => "Leave",
    LikeType => "Like",
    RejectType => "Reject",
    UndoType => "Undo",
    UpdateType => "Update",
);

/// An activity of type `K`. Fields are in the order they are sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(deserialize = "K: Kind"))]
pub struct Activity<K> {
    /// Its id.
    #[serde(deserialize_with = "de::id")]
    pub id: Url,
    /// Its type.
    #[serde(rename = "type", deserialize_with = "de::kind")]
    pub kind: K,
    /// Who does it.
    #[serde(deserialize_with = "de::reference")]
    pub actor: Url,
    /// When (only on the activities wrapping an action, and `Announce`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::time"
    )]
    pub published: Option<DateTime<Utc>>,
    /// Primary audience (absent on activities embedded in another).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::references"
    )]
    pub to: Option<Vec<Url>>,
    /// Secondary audience.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::references"
    )]
    pub cc: Option<Vec<Url>>,
    /// What it is about: an id, or an embedded object or activity.
    #[serde(default)]
    pub object: ObjectRef,
    /// A text (a `Flag`'s reason).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::text"
    )]
    pub content: Option<String>,
}

impl<K: Kind> Activity<K> {
    /// `actor` does it to `object`, with no audience yet.
    pub fn new(id: Url, actor: Url, object: impl Into<ObjectRef>) -> Self {
        Self {
            id,
            kind: K::default(),
            actor,
            published: None,
            to: None,
            cc: None,
            object: object.into(),
            content: None,
        }
    }

    /// With a primary audience.
    #[must_use]
    pub fn to(mut self, to: Vec<Url>) -> Self {
        self.to = Some(to);
        self
    }

    /// With a secondary audience.
    #[must_use]
    pub fn cc(mut self, cc: Vec<Url>) -> Self {
        self.cc = Some(cc);
        self
    }

    /// With a publication time.
    #[must_use]
    pub fn published(mut self, at: DateTime<Utc>) -> Self {
        self.published = Some(at);
        self
    }

    /// Its type's name (`Follow`).
    pub fn kind_name(&self) -> &'static str {
        K::NAME
    }

    /// The document sent: the activity with the `@context` first.
    pub fn document(&self) -> Value {
        with_context(self.value())
    }

    /// The activity as JSON without `@context` (embedded in another activity).
    pub fn value(&self) -> Value {
        serde_json::to_value(self).expect("BUG: activities always serialise")
    }

    /// Reads an activity of this type from a peer's document, leniently (see the
    /// module documentation).
    ///
    /// # Errors
    /// A missing or unusable `id`, `type` or `actor`.
    pub fn read(document: &Value) -> Result<Self, InvalidActivity> {
        Self::deserialize(document)
            .map_err(|e| InvalidActivity(format!("activité illisible : {e}")))
    }
}

/// The `object` of an activity as sent: an id (a URL string), an embedded object or
/// activity, or whatever a peer put there (read with [`ObjectRef::id`] and the other
/// accessors, which never fail).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ObjectRef(pub Value);

impl ObjectRef {
    /// An object embedded whole.
    pub fn embed(object: &impl Serialize) -> Self {
        Self(serde_json::to_value(object).expect("BUG: wire structs always serialise"))
    }

    /// Its id, if it names one (see [`id_of`]).
    pub fn id(&self) -> Option<Url> {
        id_of(&self.0)
    }

    /// The `type` of an embedded object, if it says one.
    pub fn kind(&self) -> Option<&str> {
        self.0.get("type").and_then(Value::as_str)
    }

    /// The `actor` of an embedded activity.
    pub fn actor(&self) -> Option<Url> {
        self.0.get("actor").and_then(id_of)
    }

    /// The `object` of an embedded activity.
    pub fn object(&self) -> Option<Url> {
        self.0.get("object").and_then(id_of)
    }

    /// Whether it is an embedded object (it has a `type`), not a bare id.
    pub fn is_embedded(&self) -> bool {
        self.0.is_object() && self.0.get("type").is_some()
    }

    /// The JSON as sent.
    pub fn value(&self) -> &Value {
        &self.0
    }
}

impl From<Url> for ObjectRef {
    fn from(id: Url) -> Self {
        Self(Value::String(id.into()))
    }
}

impl From<&Url> for ObjectRef {
    fn from(id: &Url) -> Self {
        Self(Value::String(id.as_str().to_owned()))
    }
}

/// Lenient readers of inbound fields.
mod de {
    use super::*;

    pub fn id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Url, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_id(&text).ok_or_else(|| D::Error::custom("invalid id"))
    }

    pub fn reference<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Url, D::Error> {
        id_of(&Value::deserialize(deserializer)?).ok_or_else(|| D::Error::custom("invalid id"))
    }

    /// `type` as a string, or the first string of a list that names this type.
    pub fn kind<'de, D: Deserializer<'de>, K: Kind>(deserializer: D) -> Result<K, D::Error> {
        let found = match Value::deserialize(deserializer)? {
            Value::String(name) => name == K::NAME,
            Value::Array(names) => names.iter().find_map(Value::as_str) == Some(K::NAME),
            _ => false,
        };
        if found {
            Ok(K::default())
        } else {
            Err(D::Error::custom(format!("not a {}", K::NAME)))
        }
    }

    pub fn time<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        Ok(match Value::deserialize(deserializer)? {
            Value::String(text) => DateTime::parse_from_rfc3339(&text)
                .ok()
                .map(|t| t.with_timezone(&Utc)),
            _ => None,
        })
    }

    pub fn references<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Vec<Url>>, D::Error> {
        Ok(Some(match Value::deserialize(deserializer)? {
            Value::Array(items) => items.iter().filter_map(id_of).collect(),
            Value::Null => Vec::new(),
            one => id_of(&one).into_iter().collect(),
        }))
    }

    pub fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
        Ok(match Value::deserialize(deserializer)? {
            Value::String(text) => Some(text),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn url(text: &str) -> Url {
        text.parse().unwrap()
    }

    #[test]
    fn built_activities_read_back_the_same() {
        let follow = Follow::new(
            url("https://a.example/activities/1"),
            url("https://a.example/actors/marcq"),
            url("https://b.example/actors/lille"),
        );
        let document = follow.document();
        assert_eq!(
            document["@context"][0],
            "https://www.w3.org/ns/activitystreams"
        );
        assert_eq!(Follow::read(&document).unwrap(), follow);
    }

    #[test]
    fn inbound_fields_beyond_the_envelope_are_read_leniently() {
        let announce = Announce::read(&json!({
            "id": "https://a.example/1",
            "type": ["Announce", "x"],
            "actor": {"id": "https://a.example/u"},
            "published": 3,
            "to": "https://www.w3.org/ns/activitystreams#Public",
            "cc": [5, "pas une url", "https://a.example/u/followers"],
            "object": "https://b.example/actions/1",
        }))
        .unwrap();
        assert_eq!(announce.actor.as_str(), "https://a.example/u");
        assert_eq!(announce.published, None);
        assert_eq!(announce.to.unwrap().len(), 1);
        assert_eq!(announce.cc.unwrap().len(), 1);
        assert_eq!(
            announce.object.id().unwrap().as_str(),
            "https://b.example/actions/1"
        );
        assert!(
            Follow::read(&json!({"id": "https://a.example/1", "type": "Like",
                "actor": "https://a.example/u"}))
            .is_err(),
            "the type is checked"
        );
    }
}

//! What a peer sends: its [`Envelope`] checked, then the typed activity
//! ([`InboundActivity`]), parsed once. Applying it is `federation::receive`.

use serde_json::Value;
use url::Url;

use super::{
    Accept, Announce, Create, Delete, Flag, Follow, Join, Leave, Like, Reject, Undo, Update,
};
use crate::activitypub::ids::{id_of, parse_id};

/// Why an inbound document is not an activity we can read (the message is French,
/// for the peer's `400`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidActivity(pub String);

/// The envelope every activity must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Activity id.
    pub id: Url,
    /// Activity type (the first one when a list).
    pub kind: String,
    /// Actor id.
    pub actor: Url,
}

impl Envelope {
    /// Reads the envelope of an activity.
    ///
    /// # Errors
    /// When `id`, `type` or `actor` is missing or invalid (an id longer than
    /// [`crate::activitypub::ids::MAX_ID_LEN`] is invalid), or an id is not http(s).
    pub fn read(activity: &Value) -> Result<Self, InvalidActivity> {
        let invalid = |message: &str| InvalidActivity(message.to_owned());
        let id = activity
            .get("id")
            .and_then(Value::as_str)
            .and_then(parse_id)
            .ok_or_else(|| invalid("activité sans « id » valide"))?;
        let kind = match activity.get("type") {
            Some(Value::String(kind)) => kind.clone(),
            Some(Value::Array(kinds)) => kinds
                .iter()
                .find_map(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            _ => String::new(),
        };
        if kind.is_empty() {
            return Err(invalid("activité sans « type »"));
        }
        let actor = activity
            .get("actor")
            .and_then(id_of)
            .ok_or_else(|| invalid("activité sans « actor » valide"))?;
        if !matches!(id.scheme(), "http" | "https") || !matches!(actor.scheme(), "http" | "https") {
            return Err(invalid("ids http(s) attendus"));
        }
        Ok(Self { id, kind, actor })
    }
}

/// The activity types the node acts on, read from a `type` string once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityType {
    /// `Follow`.
    Follow,
    /// `Undo`.
    Undo,
    /// `Accept`.
    Accept,
    /// `Reject`.
    Reject,
    /// `Create`.
    Create,
    /// `Update`.
    Update,
    /// `Delete`.
    Delete,
    /// `Join`.
    Join,
    /// `Leave`.
    Leave,
    /// `Like`.
    Like,
    /// `Announce`.
    Announce,
    /// `Flag`.
    Flag,
    /// Any other.
    Other,
}

impl ActivityType {
    /// The type named `name`.
    pub fn parse(name: &str) -> Self {
        match name {
            "Follow" => Self::Follow,
            "Undo" => Self::Undo,
            "Accept" => Self::Accept,
            "Reject" => Self::Reject,
            "Create" => Self::Create,
            "Update" => Self::Update,
            "Delete" => Self::Delete,
            "Join" => Self::Join,
            "Leave" => Self::Leave,
            "Like" => Self::Like,
            "Announce" => Self::Announce,
            "Flag" => Self::Flag,
            _ => Self::Other,
        }
    }
}

/// An inbound activity, by type. Types the node does not act on are kept as
/// [`InboundActivity::Other`] (acknowledged and ignored).
#[derive(Debug, Clone, PartialEq)]
pub enum InboundActivity {
    /// Someone follows a local actor.
    Follow(Follow),
    /// A follow, like or share taken back.
    Undo(Undo),
    /// Our follow or partnership request accepted.
    Accept(Accept),
    /// Our follow or partnership request refused (or the partnership ended).
    Reject(Reject),
    /// A remote action, post or reply.
    Create(Create),
    /// A remote action, post or reply changed.
    Update(Update),
    /// A remote object or actor deleted.
    Delete(Delete),
    /// A partnership request for a local action.
    Join(Join),
    /// A partner leaves a local action.
    Leave(Leave),
    /// Interest in a local action.
    Like(Like),
    /// Interest in a local action (a share).
    Announce(Announce),
    /// A report.
    Flag(Flag),
    /// Any other type (`Move`, `Add`, …).
    Other,
}

impl InboundActivity {
    /// Reads `document`: the envelope, then the activity of its type.
    ///
    /// # Errors
    /// See [`Envelope::read`].
    pub fn parse(document: &Value) -> Result<(Envelope, Self), InvalidActivity> {
        let envelope = Envelope::read(document)?;
        let activity = match ActivityType::parse(&envelope.kind) {
            ActivityType::Follow => Self::Follow(Follow::read(document)?),
            ActivityType::Undo => Self::Undo(Undo::read(document)?),
            ActivityType::Accept => Self::Accept(Accept::read(document)?),
            ActivityType::Reject => Self::Reject(Reject::read(document)?),
            ActivityType::Create => Self::Create(Create::read(document)?),
            ActivityType::Update => Self::Update(Update::read(document)?),
            ActivityType::Delete => Self::Delete(Delete::read(document)?),
            ActivityType::Join => Self::Join(Join::read(document)?),
            ActivityType::Leave => Self::Leave(Leave::read(document)?),
            ActivityType::Like => Self::Like(Like::read(document)?),
            ActivityType::Announce => Self::Announce(Announce::read(document)?),
            ActivityType::Flag => Self::Flag(Flag::read(document)?),
            ActivityType::Other => Self::Other,
        };
        Ok((envelope, activity))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn each_type_is_parsed_into_its_variant() {
        for (kind, is) in [
            (
                "Follow",
                (|a: &InboundActivity| matches!(a, InboundActivity::Follow(_)))
                    as fn(&InboundActivity) -> bool,
            ),
            ("Undo", |a| matches!(a, InboundActivity::Undo(_))),
            ("Accept", |a| matches!(a, InboundActivity::Accept(_))),
            ("Reject", |a| matches!(a, InboundActivity::Reject(_))),
            ("Create", |a| matches!(a, InboundActivity::Create(_))),
            ("Update", |a| matches!(a, InboundActivity::Update(_))),
            ("Delete", |a| matches!(a, InboundActivity::Delete(_))),
            ("Join", |a| matches!(a, InboundActivity::Join(_))),
            ("Leave", |a| matches!(a, InboundActivity::Leave(_))),
            ("Like", |a| matches!(a, InboundActivity::Like(_))),
            ("Announce", |a| matches!(a, InboundActivity::Announce(_))),
            ("Flag", |a| matches!(a, InboundActivity::Flag(_))),
            ("Move", |a| matches!(a, InboundActivity::Other)),
        ] {
            let document = json!({"id": "https://a.example/1", "type": [kind],
                "actor": "https://a.example/u", "object": {"id": "https://a.example/o"}, "to": 3});
            let (envelope, activity) = InboundActivity::parse(&document).unwrap();
            assert_eq!(envelope.kind, kind);
            assert!(is(&activity), "{kind}: {activity:?}");
        }
    }

    #[test]
    fn a_bad_envelope_is_refused_with_a_reason() {
        for (document, reason) in [
            (
                json!({"type": "Follow", "actor": "https://a.example/u"}),
                "id",
            ),
            (
                json!({"id": "https://a.example/1", "actor": "https://a.example/u"}),
                "type",
            ),
            (
                json!({"id": "https://a.example/1", "type": "Follow"}),
                "actor",
            ),
            (
                json!({"id": "ftp://a.example/1", "type": "Follow", "actor": "https://a.example/u"}),
                "http",
            ),
        ] {
            let error = InboundActivity::parse(&document).unwrap_err();
            assert!(error.0.contains(reason), "{error} for {document}");
        }
    }
}

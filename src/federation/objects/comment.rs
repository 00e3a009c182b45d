//! Comments as AS2 `Note`s: local comments published (`comment_to_as`), and the fields
//! of an inbound reply read in one place ([`ReplyJson`]).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use url::Url;

use super::PUBLIC;
use crate::db::comments::Comment;
use crate::state::AppState;

/// The `Note` of a local comment; `mention` is the actor it answers (notified).
pub fn comment_to_as(comment: &Comment, state: &AppState, mention: Option<(&Url, &str)>) -> Value {
    let followers = Url::parse(&format!("{}/followers", comment.author_ap_id))
        .unwrap_or_else(|_| comment.author_ap_id.clone());
    let mut cc = vec![json!(followers)];
    let mut tag = Vec::new();
    if let Some((actor, handle)) = mention {
        cc.push(json!(actor));
        tag.push(json!({"type": "Mention", "href": actor, "name": format!("@{handle}")}));
    }
    json!({
        "id": comment.ap_id,
        "type": "Note",
        "attributedTo": comment.author_ap_id,
        "inReplyTo": comment.in_reply_to,
        "content": comment.content_html,
        "mediaType": "text/html",
        "published": comment.published,
        "updated": comment.updated,
        "url": state.url(&format!("{}#commentaire-{}", action_path(&comment.action_ap_id), comment.uuid)),
        "to": [PUBLIC],
        "cc": cc,
        "tag": tag,
    })
}

fn action_path(action: &Url) -> String {
    action.path().to_string()
}

/// The fields of an inbound reply (`Note` with `inReplyTo`), read leniently: peers
/// send ids as strings, objects or one-element lists, and `content` may be missing.
#[derive(Debug)]
pub struct ReplyJson {
    /// Its id.
    pub id: Url,
    /// Its author.
    pub attributed_to: Url,
    /// What it answers.
    pub in_reply_to: Url,
    /// HTML content (sanitised before storing).
    pub content: String,
    /// Its page(s).
    pub url: Vec<Value>,
    /// Published.
    pub published: Option<DateTime<Utc>>,
    /// Updated.
    pub updated: Option<DateTime<Utc>>,
}

impl ReplyJson {
    /// What `object["inReplyTo"]` names, if anything.
    pub fn target(object: &Value) -> Option<Url> {
        object
            .get("inReplyTo")
            .and_then(crate::federation::inbox::id_of)
    }

    /// Reads a reply; the error says which field is unusable.
    ///
    /// # Errors
    /// A missing or non-URL `id`, `attributedTo` or `inReplyTo`.
    pub fn read(object: &Value) -> Result<Self, String> {
        let id_field = |key: &str| {
            object
                .get(key)
                .and_then(crate::federation::inbox::id_of)
                .ok_or_else(|| format!("{key} absent ou invalide"))
        };
        let time = |key: &str| {
            object
                .get(key)
                .and_then(Value::as_str)
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc))
        };
        Ok(ReplyJson {
            id: id_field("id")?,
            attributed_to: id_field("attributedTo")?,
            in_reply_to: id_field("inReplyTo")?,
            content: object
                .get("content")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            url: match object.get("url") {
                Some(Value::Array(items)) => items.clone(),
                Some(Value::Null) | None => Vec::new(),
                Some(one) => vec![one.clone()],
            },
            published: super::believable(time("published"), Utc::now()),
            updated: super::believable(time("updated"), Utc::now()),
        })
    }
}

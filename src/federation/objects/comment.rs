//! Comments as AS2 `Note`s: local comments published (`comment_to_as`), and the fields
//! of an inbound reply read in one place ([`ReplyJson`]).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use super::{PUBLIC, one_or_many};
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

/// The fields of an inbound reply (`Note` with `inReplyTo`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplyJson {
    /// Its id.
    pub id: Url,
    /// Its author.
    pub attributed_to: Url,
    /// What it answers.
    pub in_reply_to: Url,
    /// HTML content (sanitised before storing).
    #[serde(default)]
    pub content: String,
    /// Its page.
    #[serde(default, deserialize_with = "one_or_many")]
    pub url: Vec<Value>,
    /// Published.
    pub published: Option<DateTime<Utc>>,
    /// Updated.
    pub updated: Option<DateTime<Utc>>,
}

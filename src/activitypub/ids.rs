//! Ids on the wire: reading a peer's (a URL string, an object with an `id`, or a
//! one-element list, capped in length) and minting ours ([`new_activity_id`], the only
//! place an activity id is made).

use serde_json::Value;
use url::Url;

/// `https://www.w3.org/ns/activitystreams#Public`.
pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// Longest id (activity, object or actor URL) accepted from a peer, in bytes. Ids go
/// into unique indexes, and PostgreSQL refuses index entries over about 2.7 KB (the
/// insert would fail, a `500`); real ids are far shorter.
pub const MAX_ID_LEN: usize = 2048;

/// A URL id, unless it does not parse or is longer than [`MAX_ID_LEN`].
pub fn parse_id(text: &str) -> Option<Url> {
    if text.len() > MAX_ID_LEN {
        return None;
    }
    Url::parse(text)
        .ok()
        .filter(|url| url.as_str().len() <= MAX_ID_LEN)
}

/// The id of a value that may be a URL string or an object with an `id` (see
/// [`parse_id`]).
pub fn id_of(value: &Value) -> Option<Url> {
    match value {
        Value::String(s) => parse_id(s),
        Value::Object(map) => map.get("id").and_then(Value::as_str).and_then(parse_id),
        Value::Array(items) if items.len() == 1 => id_of(&items[0]),
        _ => None,
    }
}

/// A new activity id under `base` (the node's `https://domain`):
/// `<base>/activities/<UUIDv7>`, served by `GET /activities/{id}`.
///
/// # Panics
/// Never for a base the configuration accepted (an absolute http(s) URL).
pub fn new_activity_id(base: &str) -> Url {
    Url::parse(&format!("{base}/activities/{}", uuid::Uuid::now_v7()))
        .expect("BUG: the base URL is valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_read_from_strings_objects_and_single_lists() {
        let url = "https://a.example/x";
        for value in [
            serde_json::json!(url),
            serde_json::json!({ "id": url }),
            serde_json::json!([url]),
        ] {
            assert_eq!(id_of(&value).unwrap().as_str(), url, "{value}");
        }
        for value in [
            serde_json::json!([url, url]),
            serde_json::json!(3),
            serde_json::json!("pas une url"),
            serde_json::json!(format!("https://a.example/{}", "x".repeat(MAX_ID_LEN))),
        ] {
            assert!(id_of(&value).is_none(), "{value}");
        }
    }

    #[test]
    fn activity_ids_are_unique_and_under_the_base() {
        let a = new_activity_id("https://n.example");
        let b = new_activity_id("https://n.example");
        assert_ne!(a, b);
        assert!(a.as_str().starts_with("https://n.example/activities/"));
    }
}

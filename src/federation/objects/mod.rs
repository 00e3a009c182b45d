//! AS2 wire structs (`…Json`) and the conversions between them and domain values.
//! Converters read, never write; persisting a remote object is `from_json`'s upsert.

pub mod action;
pub mod collectivite;
pub mod comment;
pub mod instance;
pub mod place;

use serde::{Deserialize, Deserializer};

/// `https://www.w3.org/ns/activitystreams#Public`.
pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// Reads a single value or an array as a `Vec`, skipping elements that do not parse
/// (peers send single values where we expect lists, and the reverse).
pub fn one_or_many<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = serde_json::Value::deserialize(deserializer)?;
    let items = match value {
        serde_json::Value::Null => Vec::new(),
        serde_json::Value::Array(items) => items,
        single => vec![single],
    };
    Ok(items
        .into_iter()
        .filter_map(|item| serde_json::from_value(item).ok())
        .collect())
}

//! AS2 objects on the wire that need nothing of the node: an action's `Article`
//! ([`action`]), places ([`place`]), and the lenient readers they share.

pub mod action;
pub mod place;

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Deserializer};

/// Years a remote date may have. Outside them it is dropped, like any unusable remote
/// field: both engines must store and sort it (PostgreSQL refuses years before 4713 BC
/// and after 294276, RFC 3339 text sorts only with four-digit years), and no digital
/// public action is older.
pub const PLAUSIBLE_YEARS: std::ops::RangeInclusive<i32> = 1900..=9999;

/// `time`, unless its year is outside [`PLAUSIBLE_YEARS`].
pub fn plausible(time: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    time.filter(|time| PLAUSIBLE_YEARS.contains(&time.year()))
}

/// How far ahead of the receiving time a remote `published` or `updated` may be: the
/// clock skew a signature's `Date` is allowed (one hour, as Mastodon), since a peer
/// whose clock is further off cannot deliver anyway; beyond, the date is not believed.
pub const FUTURE_SKEW: chrono::Duration = chrono::Duration::hours(1);

/// A remote `published` or `updated`: [`plausible`], and not more than [`FUTURE_SKEW`]
/// ahead of `now`. A later date is dropped like any unusable remote field (the time of
/// receipt stands in): otherwise an object dated 9999 would win "an older version never
/// overwrites a newer one" against every later edit. Planned dates (`startTime`,
/// `endTime`) may lie in the future and do not go through here.
pub fn believable(time: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    plausible(time).filter(|time| *time <= now + FUTURE_SKEW)
}

/// The `published` and `updated` a remote object is stored with, each [`believable`]
/// or missing: `published` is `updated` when missing (an object is published no later
/// than it is edited), else `now`; `updated` is `published` when missing or earlier
/// (an edit cannot precede its object; "an older version never overwrites a newer one"
/// compares `updated`).
pub fn remote_dates(
    published: Option<DateTime<Utc>>,
    updated: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let updated = believable(updated, now);
    let published = believable(published, now).or(updated).unwrap_or(now);
    let updated = updated.map_or(published, |u| u.max(published));
    (published, updated)
}

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

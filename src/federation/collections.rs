//! `OrderedCollection` and `OrderedCollectionPage` documents (outbox, followers,
//! following, replies), newest first, paged by an opaque `before` cursor.

use serde::Serialize;
use serde_json::Value;
use url::Url;

/// Items per collection page.
pub const PAGE_SIZE: i64 = 20;

/// An `OrderedCollection`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderedCollectionJson {
    /// Collection id.
    pub id: Url,
    /// `OrderedCollection`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Number of items.
    pub total_items: i64,
    /// First page, when items are listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<Url>,
}

/// An `OrderedCollectionPage`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderedCollectionPageJson {
    /// Page id.
    pub id: Url,
    /// `OrderedCollectionPage`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The collection.
    pub part_of: Url,
    /// Number of items of the whole collection.
    pub total_items: i64,
    /// Items, newest first.
    pub ordered_items: Vec<Value>,
    /// Next (older) page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<Url>,
}

impl OrderedCollectionJson {
    /// A collection of `total` items; `paged` adds a `first` page link.
    pub fn new(id: Url, total: i64, paged: bool) -> Self {
        let first = paged.then(|| page_url(&id, None));
        Self {
            id,
            kind: "OrderedCollection",
            total_items: total,
            first,
        }
    }
}

/// The URL of the page of `collection` starting below `before`.
pub fn page_url(collection: &Url, before: Option<i64>) -> Url {
    let mut url = collection.clone();
    {
        let mut query = url.query_pairs_mut();
        query.clear().append_pair("page", "true");
        if let Some(before) = before {
            query.append_pair("before", &before.to_string());
        }
    }
    url
}

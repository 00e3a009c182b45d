//! Owns the JSON-LD `@context` of every document Maillage serves (SPEC §3): the
//! ActivityStreams and security contexts (without the latter, JSON-LD consumers drop
//! `publicKey`) plus inline terms for `mai:`, `toot:` and `schema:`. Nothing here
//! depends on fetching a remote context.

use std::sync::LazyLock;

use serde_json::{Value, json};

/// The Maillage vocabulary namespace.
pub const MAI_NS: &str = "https://w3id.org/maillage/ns#";

static CONTEXT: LazyLock<Value> = LazyLock::new(|| {
    json!([
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/v1",
        {
            "mai": MAI_NS,
            "toot": "http://joinmastodon.org/ns#",
            "schema": "http://schema.org#",
            "xsd": "http://www.w3.org/2001/XMLSchema#",
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "Hashtag": "as:Hashtag",
            "discoverable": "toot:discoverable",
            "indexable": "toot:indexable",
            "PropertyValue": "schema:PropertyValue",
            "value": "schema:value",
            "address": "schema:address",
            "PostalAddress": "schema:PostalAddress",
            "streetAddress": "schema:streetAddress",
            "postalCode": "schema:postalCode",
            "addressLocality": "schema:addressLocality",
            "addressCountry": "schema:addressCountry",
            "mai:partners": { "@type": "@id", "@container": "@set" },
            "mai:themes": { "@container": "@set" },
            "mai:openToPartners": { "@type": "xsd:boolean" },
            "mai:budget": { "@type": "xsd:integer" },
            "mai:population": { "@type": "xsd:integer" },
            "mai:labels": { "@type": "@json" },
            "mai:software": { "@type": "@json" },
            "mai:providers": { "@type": "@json" },
            "mai:contacts": { "@type": "@json" }
        }
    ])
});

/// The `@context` value.
pub fn context() -> &'static Value {
    &CONTEXT
}

/// Puts the `@context` first into a JSON object document.
pub fn with_context(document: Value) -> Value {
    match document {
        Value::Object(fields) => {
            let mut out = serde_json::Map::with_capacity(fields.len() + 1);
            out.insert("@context".into(), context().clone());
            out.extend(fields.into_iter().filter(|(k, _)| k != "@context"));
            Value::Object(out)
        }
        other => other,
    }
}

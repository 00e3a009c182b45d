//! Our documents read as a JSON-LD consumer (Fedify, Mobilizon, bovine…) reads them:
//! expanded with the contexts we reference, loaded from local copies (never fetched).
//! Without the security context, `publicKey` would vanish here.

use std::collections::HashMap;

use json_ld::syntax::{IntoJsonWithContext, Parse, Value as LdValue};
use json_ld::{IriBuf, JsonLdProcessor, RemoteDocument};
use serde_json::{Value, json};

use crate::both_engines;
use crate::helpers::{TestApp, sample_action};

both_engines!(actor_and_article_survive_expansion);

const AS: &str = "https://www.w3.org/ns/activitystreams#";
const SEC: &str = "https://w3id.org/security#";
const MAI: &str = "https://w3id.org/maillage/ns#";

fn loader() -> HashMap<IriBuf, RemoteDocument> {
    let mut loader = HashMap::new();
    for (iri, file) in [
        (
            "https://www.w3.org/ns/activitystreams",
            "activitystreams.jsonld",
        ),
        ("https://w3id.org/security/v1", "security-v1.jsonld"),
    ] {
        let path = format!(
            "{}/tests/fixtures/contexts/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).expect("context fixture");
        let iri = IriBuf::new(iri.to_string()).unwrap();
        let document = RemoteDocument::new(
            Some(iri.clone()),
            Some("application/ld+json".parse().unwrap()),
            LdValue::parse_str(&text).unwrap().0,
        );
        loader.insert(iri, document);
    }
    loader
}

/// Expands `document` and returns the expanded form as plain JSON.
async fn expand(document: &Value) -> Value {
    let input = RemoteDocument::new(
        Some(IriBuf::new("https://example.invalid/doc".to_string()).unwrap()),
        Some("application/ld+json".parse().unwrap()),
        LdValue::parse_str(&document.to_string()).unwrap().0,
    );
    let expanded = input.expand(&loader()).await.expect("expansion succeeds");
    let objects: Vec<Value> = expanded
        .into_iter()
        .map(|object| serde_json::from_str(&object.into_json_with(&()).to_string()).unwrap())
        .collect();
    Value::Array(objects)
}

fn first<'a>(node: &'a Value, property: &str) -> &'a Value {
    &node[property][0]
}

async fn actor_and_article_survive_expansion(app: TestApp) {
    let token = app.collectivite_with_token("marcq", "59378").await;
    let created = app.publish("marcq", &token, &sample_action()).await;

    let actor = app.get_as_ok(&app.url("/actors/marcq")).await;
    let expanded = expand(&actor).await;
    let node = &expanded[0];
    assert_eq!(node["@type"], json!([format!("{AS}Organization")]));
    let key = first(node, &format!("{SEC}publicKey"));
    assert_eq!(key["@id"], app.url("/actors/marcq#main-key"), "{node:#}");
    assert_eq!(
        first(key, &format!("{SEC}owner"))["@id"],
        app.url("/actors/marcq")
    );
    let pem = first(key, &format!("{SEC}publicKeyPem"))["@value"]
        .as_str()
        .unwrap();
    assert!(pem.contains("BEGIN PUBLIC KEY"));
    assert_eq!(first(node, &format!("{MAI}insee"))["@value"], "59378");
    assert_eq!(first(node, &format!("{MAI}population"))["@value"], 40184);
    assert_eq!(
        first(node, "http://joinmastodon.org/ns#discoverable")["@value"],
        true
    );
    let field = first(node, &format!("{AS}attachment"));
    assert_eq!(field["@type"], json!(["http://schema.org#PropertyValue"]));
    assert_eq!(first(field, "http://schema.org#value")["@value"], "59378");

    let article = app.get_as_ok(created["id"].as_str().unwrap()).await;
    let expanded = expand(&article).await;
    let node = &expanded[0];
    assert_eq!(node["@type"], json!([format!("{AS}Article")]));
    assert_eq!(
        first(node, &format!("{AS}attributedTo"))["@id"],
        app.url("/actors/marcq")
    );
    assert_eq!(first(node, &format!("{MAI}phase"))["@value"], "service");
    let themes: Vec<&str> = node[format!("{MAI}themes")]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["@value"].as_str().unwrap())
        .collect();
    assert_eq!(themes.len(), 2);
    assert_eq!(first(node, &format!("{MAI}openToPartners"))["@value"], true);
    let software = first(node, &format!("{MAI}software"));
    assert_eq!(software["@type"], "@json");
    assert_eq!(software["@value"][0]["name"], "Publik");
    let place = first(node, &format!("{AS}location"));
    assert_eq!(first(place, &format!("{AS}latitude"))["@value"], 50.672);
    let address = first(place, "http://schema.org#address");
    assert_eq!(
        first(address, "http://schema.org#postalCode")["@value"],
        "59700"
    );
    let tag = first(node, &format!("{AS}tag"));
    assert_eq!(tag["@type"], json!([format!("{AS}Hashtag")]));
}

//! The ActivityPub read side as a fediverse server sees it: WebFinger, host-meta,
//! NodeInfo, actor documents, collections, content negotiation, every id dereferencing,
//! and another node fetching ours through the federation library.

use activitypub_federation::fetch::object_id::ObjectId;
use maillage::domain::Collectivite;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_engines;
use crate::helpers::{Engine, TestApp, sample_action, spawn_app};

both_engines!(
    webfinger_and_host_meta,
    nodeinfo_is_complete,
    actor_documents,
    every_id_dereferences,
    content_negotiation,
    vocabulary_is_served,
);

fn webfinger_url(app: &TestApp, resource: &str) -> url::Url {
    url::Url::parse_with_params(&app.url("/.well-known/webfinger"), [("resource", resource)])
        .unwrap()
}

async fn webfinger_and_host_meta(app: TestApp) {
    app.create_collectivite("marcq", "59378").await;
    let actor = app.url("/actors/marcq");
    for resource in [format!("acct:marcq@{}", app.domain), actor.clone()] {
        let response = app
            .client
            .get(webfinger_url(&app, &resource))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{resource}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/jrd+json")
        );
        let jrd: Value = response.json().await.unwrap();
        assert_eq!(jrd["subject"], format!("acct:marcq@{}", app.domain));
        let this = jrd["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "self")
            .unwrap();
        assert_eq!(this["type"], "application/activity+json");
        assert_eq!(this["href"], actor);
    }
    // The instance actor: acct:<domain>@<domain> (FEP-d556).
    let jrd: Value = app
        .get_json(webfinger_url(&app, &format!("acct:{0}@{0}", app.domain)))
        .await;
    assert_eq!(jrd["links"][0]["href"], app.url("/actor"));
    let host_meta = app
        .client
        .get(app.url("/.well-known/host-meta"))
        .send()
        .await
        .unwrap();
    assert!(
        host_meta.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/xrd+xml")
    );
    let xml = host_meta.text().await.unwrap();
    assert!(
        xml.contains(&format!(
            "template=\"{}/.well-known/webfinger?resource={{uri}}\"",
            app.base
        )),
        "{xml}"
    );
}

async fn nodeinfo_is_complete(app: TestApp) {
    let token = app.collectivite_with_token("marcq", "59378").await;
    app.publish("marcq", &token, &sample_action()).await;
    let links: Value = app.get_json(app.url("/.well-known/nodeinfo")).await;
    let href = links["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "http://nodeinfo.diaspora.software/ns/schema/2.1")
        .unwrap()["href"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        links["links"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["rel"] == "https://www.w3.org/ns/activitystreams#Application")
    );
    let info: Value = app.get_json(&href).await;
    // Every property the NodeInfo 2.1 schema requires.
    assert_eq!(info["version"], "2.1");
    assert_eq!(info["software"]["name"], "maillage");
    assert!(info["software"]["version"].is_string());
    assert_eq!(info["protocols"], json!(["activitypub"]));
    assert!(info["services"]["inbound"].is_array() && info["services"]["outbound"].is_array());
    assert_eq!(info["openRegistrations"], false);
    assert_eq!(info["usage"]["users"]["total"], 1);
    assert_eq!(info["usage"]["localPosts"], 1);
    assert!(info["metadata"].is_object());
    assert_eq!(info["metadata"]["collectivites"][0]["insee"], "59378");
    let name = info["software"]["name"].as_str().unwrap();
    assert!(
        name.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    );
}

async fn actor_documents(app: TestApp) {
    app.create_collectivite("marcq", "59378").await;
    let actor = app.get_as_ok(&app.url("/actors/marcq")).await;
    assert_eq!(
        actor["@context"][0],
        "https://www.w3.org/ns/activitystreams"
    );
    assert_eq!(actor["@context"][1], "https://w3id.org/security/v1");
    assert_eq!(actor["@context"][2]["mai"], "https://w3id.org/maillage/ns#");
    assert_eq!(actor["type"], "Organization");
    assert_eq!(actor["id"], app.url("/actors/marcq"));
    assert_eq!(actor["preferredUsername"], "marcq");
    assert_eq!(actor["name"], "Marcq-en-Barœul");
    assert_eq!(actor["inbox"], app.url("/actors/marcq/inbox"));
    assert_eq!(actor["outbox"], app.url("/actors/marcq/outbox"));
    assert_eq!(actor["endpoints"]["sharedInbox"], app.url("/inbox"));
    assert_eq!(actor["publicKey"]["id"], app.url("/actors/marcq#main-key"));
    assert_eq!(actor["publicKey"]["owner"], app.url("/actors/marcq"));
    let pem = actor["publicKey"]["publicKeyPem"].as_str().unwrap();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    // RSA-2048: the DER of the SubjectPublicKeyInfo is 294 bytes.
    use rsa::pkcs8::DecodePublicKey;
    use rsa::traits::PublicKeyParts;
    let key = rsa::RsaPublicKey::from_public_key_pem(pem).unwrap();
    assert_eq!(key.size() * 8, 2048);
    assert_eq!(actor["discoverable"], true);
    assert_eq!(actor["indexable"], true);
    assert_eq!(actor["manuallyApprovesFollowers"], false);
    assert_eq!(actor["location"]["type"], "Place");
    assert_eq!(
        actor["attachment"][0],
        json!({"type": "PropertyValue", "name": "Code INSEE", "value": "59378"})
    );
    assert_eq!(actor["attachment"][1]["value"], "215903782");
    for (term, value) in [
        ("mai:kind", json!("commune")),
        ("mai:insee", json!("59378")),
        ("mai:siren", json!("215903782")),
        ("mai:epci", json!("200093201")),
        ("mai:departement", json!("59")),
        ("mai:region", json!("32")),
        ("mai:population", json!(40184)),
        ("mai:labels", json!([])),
    ] {
        assert_eq!(actor[term], value, "{term}");
    }
    let followers = app.get_as_ok(&app.url("/actors/marcq/followers")).await;
    assert_eq!(followers["type"], "OrderedCollection");
    assert_eq!(followers["totalItems"], 0);
    assert!(followers.get("orderedItems").is_none() && followers.get("first").is_none());
    let following = app.get_as_ok(&app.url("/actors/marcq/following")).await;
    assert_eq!(following["totalItems"], 0);

    let instance = app.get_as_ok(&app.url("/actor")).await;
    assert_eq!(instance["type"], "Application");
    assert_eq!(instance["preferredUsername"], app.domain);
    assert_eq!(instance["publicKey"]["owner"], app.url("/actor"));
}

/// Collects every URL-valued id-like property of a document, recursively.
fn ids_in(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if key == "@context" || key == "to" || key == "inbox" || key == "sharedInbox" {
                    continue;
                }
                if matches!(
                    key.as_str(),
                    "id" | "url"
                        | "href"
                        | "outbox"
                        | "followers"
                        | "following"
                        | "replies"
                        | "first"
                        | "attributedTo"
                        | "owner"
                        | "actor"
                        | "cc"
                        | "partOf"
                ) {
                    match v {
                        Value::String(s) if s.starts_with("http") => out.push(s.clone()),
                        Value::Array(items) => items
                            .iter()
                            .filter_map(|i| i.as_str())
                            .for_each(|s| out.push(s.to_string())),
                        _ => {}
                    }
                }
                ids_in(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| ids_in(i, out)),
        _ => {}
    }
}

async fn every_id_dereferences(app: TestApp) {
    let token = app.collectivite_with_token("marcq", "59378").await;
    app.publish("marcq", &token, &sample_action()).await;
    let mut to_visit = vec![app.url("/actors/marcq"), app.url("/actor")];
    let mut seen = std::collections::HashSet::new();
    while let Some(url) = to_visit.pop() {
        let url = url.split('#').next().unwrap().to_string();
        if !url.starts_with(&app.base) || !seen.insert(url.clone()) {
            continue;
        }
        let response = app.get_as(&url).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{url} does not dereference"
        );
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        if content_type.starts_with("application/activity+json") {
            let document: Value = response.json().await.unwrap();
            ids_in(&document, &mut to_visit);
        }
    }
    for expected in [
        "/actors/marcq/outbox",
        "/actors/marcq/followers",
        "/actors/marcq/following",
        "/actor/outbox",
        "/themes/services-publics",
    ] {
        assert!(
            seen.contains(&app.url(expected)),
            "{expected} not reached: {seen:?}"
        );
    }
    assert!(seen.iter().any(|u| u.contains("/activities/")), "{seen:?}");
    assert!(seen.iter().any(|u| u.ends_with("/replies")), "{seen:?}");
}

async fn content_negotiation(app: TestApp) {
    let token = app.collectivite_with_token("marcq", "59378").await;
    let created = app.publish("marcq", &token, &sample_action()).await;
    let id = created["id"].as_str().unwrap();
    for accept in [
        "application/activity+json",
        "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"",
        "application/json",
        "*/*",
    ] {
        let response = app
            .client
            .get(id)
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["content-type"],
            "application/activity+json",
            "{accept}"
        );
        assert_eq!(response.headers()["vary"], "Accept");
    }
    let (status, page) = app.get_html(id).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<h1>Guichet numérique des démarches</h1>"));
    let (status, page) = app.get_html("/actors/marcq").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<h1>Marcq-en-Barœul</h1>"));
    // Errors too are HTML for browsers.
    let (status, page) = app.get_html("/actors/inconnue").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("Introuvable"));
}

async fn vocabulary_is_served(app: TestApp) {
    let response = app
        .client
        .get(app.url("/ns"))
        .header("accept", "application/ld+json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/ld+json");
    let document: Value = response.json().await.unwrap();
    let terms: Vec<&str> = document["@graph"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["@id"].as_str().unwrap())
        .collect();
    // Every mai: term we send is defined.
    let token = app.collectivite_with_token("marcq", "59378").await;
    let created = app.publish("marcq", &token, &json!({"name": "A", "content": "B", "themes": ["culture"], "contacts": [{"name": "C"}], "contacts_public": true})).await;
    let article = app.get_as_ok(created["id"].as_str().unwrap()).await;
    let actor = app.get_as_ok(&app.url("/actors/marcq")).await;
    for document in [&article, &actor] {
        for key in document
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| k.starts_with("mai:"))
        {
            assert!(terms.contains(&key.as_str()), "{key} is not defined in /ns");
        }
    }
    let (status, page) = app.get_html("/ns").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("mai:openToPartners"));
}

/// A second node fetches our actor with the federation library, as a remote server
/// would, verifies it and stores it as a remote collectivité.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_node_fetches_our_actor() {
    let a = spawn_app(Engine::Sqlite).await.unwrap();
    let b = spawn_app(Engine::Sqlite).await.unwrap();
    a.create_collectivite("marcq", "59378").await;
    let config = maillage::federation::federation_config(b.state.clone())
        .await
        .unwrap();
    let data = config.to_request_data();
    let id: ObjectId<Collectivite> = ObjectId::parse(&a.url("/actors/marcq")).unwrap();
    let fetched = id.dereference(&data).await.expect("B fetches A's actor");
    assert!(!fetched.local);
    assert_eq!(fetched.domain, a.domain);
    assert_eq!(fetched.profile.name, "Marcq-en-Barœul");
    assert_eq!(fetched.profile.insee.as_ref().unwrap().as_ref(), "59378");
    assert_eq!(
        fetched.profile.siren.as_ref().unwrap().as_ref(),
        "215903782"
    );
    assert_eq!(
        fetched.shared_inbox.as_ref().unwrap().as_str(),
        a.url("/inbox")
    );
    let stored = b
        .state
        .store
        .collectivite_by_ap_id(&a.url("/actors/marcq").parse().unwrap())
        .await
        .unwrap()
        .expect("stored on B");
    assert_eq!(stored.public_key_pem, fetched.public_key_pem);
    assert!(stored.private_key_pem.is_none());
}

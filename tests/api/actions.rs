//! Actions through the JSON API: publish, read, edit, delete, and what federation sees.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_engines;
use crate::helpers::{TestApp, assert_problem, sample_action};

both_engines!(
    publish_read_and_federate,
    update_publishes_an_update,
    delete_leaves_a_tombstone,
    contacts_need_consent,
    markdown_is_sanitised,
    defaults_and_pagination,
    actions_of_another_collectivite_are_protected,
);

async fn publish_read_and_federate(app: TestApp) {
    let token = app.collectivite_with_token("marcq", "59378").await;
    let created = app.publish("marcq", &token, &sample_action()).await;
    let id = created["id"].as_str().unwrap().to_string();
    let uuid = created["uuid"].as_str().unwrap().to_string();
    assert_eq!(id, app.url(&format!("/actions/{uuid}")));
    assert_eq!(
        created["themes"],
        json!(["services-publics", "solidarites"])
    );
    assert_eq!(created["collectivite"]["username"], "marcq");
    assert!(
        created["content"]
            .as_str()
            .unwrap()
            .contains("<strong>guichet numérique</strong>")
    );
    assert!(
        created["content_source"]
            .as_str()
            .unwrap()
            .contains("**guichet numérique**")
    );

    let read: Value = app
        .get_json(app.url(&format!("/api/v1/actions/{uuid}")))
        .await;
    assert_eq!(read["name"], created["name"]);
    assert_eq!(read["budget_eur"], 45000);
    assert_eq!(read["start_date"], "2023-01-09");

    // The Article carries every property of SPEC §3.
    let article = app.get_as_ok(&id).await;
    assert_eq!(article["type"], "Article");
    assert_eq!(article["id"], id);
    assert_eq!(article["attributedTo"], app.url("/actors/marcq"));
    assert_eq!(article["name"], "Guichet numérique des démarches");
    assert!(
        article["summary"]
            .as_str()
            .unwrap()
            .starts_with("Toutes les démarches")
    );
    assert_eq!(article["mediaType"], "text/html");
    assert_eq!(article["source"]["mediaType"], "text/markdown");
    assert_eq!(article["url"], id);
    assert!(article["published"].is_string() && article["updated"].is_string());
    assert_eq!(
        article["to"],
        json!(["https://www.w3.org/ns/activitystreams#Public"])
    );
    assert_eq!(article["cc"], json!([app.url("/actors/marcq/followers")]));
    assert_eq!(article["tag"][0]["type"], "Hashtag");
    assert_eq!(article["tag"][0]["name"], "#servicespublics");
    assert_eq!(
        article["tag"][0]["href"],
        app.url("/themes/services-publics")
    );
    assert_eq!(article["location"][0]["type"], "Place");
    assert_eq!(article["location"][0]["latitude"], 50.672);
    assert_eq!(article["location"][0]["longitude"], 3.097);
    assert_eq!(article["location"][0]["mai:insee"], "59378");
    assert_eq!(article["location"][0]["address"]["type"], "PostalAddress");
    assert_eq!(article["location"][0]["address"]["postalCode"], "59700");
    assert_eq!(article["startTime"], "2023-01-09T00:00:00Z");
    assert_eq!(
        article["replies"],
        app.url(&format!("/actions/{uuid}/replies"))
    );
    assert_eq!(article["mai:phase"], "service");
    assert_eq!(article["mai:status"], "en-cours");
    assert_eq!(
        article["mai:themes"],
        json!(["services-publics", "solidarites"])
    );
    assert_eq!(article["mai:openToPartners"], true);
    assert_eq!(article["mai:budget"], 45000);
    assert!(article["mai:results"].as_str().unwrap().contains("3 200"));
    assert!(
        article["mai:recommendations"]
            .as_str()
            .unwrap()
            .contains("<em>avant</em>")
    );
    assert_eq!(article["mai:software"][0]["name"], "Publik");
    assert_eq!(article["mai:providers"][0]["siren"], "443170139");
    assert_eq!(article["attachment"][0]["type"], "Link");
    assert!(
        article.get("mai:contacts").is_none(),
        "no consent, no contacts"
    );
    assert_eq!(article["@context"][1], "https://w3id.org/security/v1");

    // The outbox holds one Create wrapping the Article, and its id dereferences.
    let outbox = app.get_as_ok(&app.url("/actors/marcq/outbox")).await;
    assert_eq!(outbox["type"], "OrderedCollection");
    assert_eq!(outbox["totalItems"], 1);
    let page = app.get_as_ok(outbox["first"].as_str().unwrap()).await;
    assert_eq!(page["type"], "OrderedCollectionPage");
    let create = &page["orderedItems"][0];
    assert_eq!(create["type"], "Create");
    assert_eq!(create["actor"], app.url("/actors/marcq"));
    assert_eq!(create["object"]["id"], id);
    let activity = app.get_as_ok(create["id"].as_str().unwrap()).await;
    assert_eq!(activity["type"], "Create");
    assert_eq!(activity["object"]["type"], "Article");
}

async fn update_publishes_an_update(app: TestApp) {
    let token = app.collectivite_with_token("marcq", "59378").await;
    let created = app.publish("marcq", &token, &sample_action()).await;
    let uuid = created["uuid"].as_str().unwrap();
    let response = app
        .client
        .patch(app.url(&format!("/api/v1/actions/{uuid}")))
        .bearer_auth(&token)
        .json(
            &json!({ "name": "Guichet numérique v2", "phase": "realisation", "budget_eur": null }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["name"], "Guichet numérique v2");
    assert_eq!(updated["phase"], "realisation");
    assert!(updated["budget_eur"].is_null());
    assert_eq!(
        updated["themes"], created["themes"],
        "untouched fields stay"
    );
    assert_eq!(updated["content_source"], created["content_source"]);
    assert_ne!(updated["updated"], created["updated"]);

    let article = app.get_as_ok(created["id"].as_str().unwrap()).await;
    assert_eq!(article["name"], "Guichet numérique v2");
    assert!(article.get("mai:budget").is_none());

    // Still one action in the outbox; the Update is stored as an activity.
    let page = app
        .get_as_ok(&app.url("/actors/marcq/outbox?page=true"))
        .await;
    assert_eq!(page["orderedItems"].as_array().unwrap().len(), 1);
    assert_eq!(
        page["orderedItems"][0]["object"]["name"],
        "Guichet numérique v2"
    );

    // A patch that breaks validation is refused as a whole.
    let bad = app
        .client
        .patch(app.url(&format!("/api/v1/actions/{uuid}")))
        .bearer_auth(&token)
        .json(&json!({ "name": "", "end_date": "2020-01-01" }))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await;
    let fields = crate::helpers::problem_fields(&problem);
    assert!(fields.contains(&"name".to_string()) && fields.contains(&"end_date".to_string()));
}

async fn delete_leaves_a_tombstone(app: TestApp) {
    let token = app.collectivite_with_token("marcq", "59378").await;
    let created = app.publish("marcq", &token, &sample_action()).await;
    let uuid = created["uuid"].as_str().unwrap();
    let id = created["id"].as_str().unwrap();
    let deleted = app
        .client
        .delete(app.url(&format!("/api/v1/actions/{uuid}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    let gone = app.get_as(id).await;
    assert_eq!(gone.status(), StatusCode::GONE);
    assert_eq!(gone.headers()["content-type"], "application/activity+json");
    let tombstone: Value = gone.json().await.unwrap();
    assert_eq!(tombstone["type"], "Tombstone");
    assert_eq!(tombstone["formerType"], "Article");
    assert_eq!(tombstone["id"], id);

    let api = app
        .client
        .get(app.url(&format!("/api/v1/actions/{uuid}")))
        .send()
        .await
        .unwrap();
    assert_problem(api, StatusCode::GONE).await;
    let again = app
        .client
        .delete(app.url(&format!("/api/v1/actions/{uuid}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_problem(again, StatusCode::GONE).await;

    let (status, page) = app.get_html(id).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(page.contains("Action supprimée"));

    let outbox = app.get_as_ok(&app.url("/actors/marcq/outbox")).await;
    assert_eq!(outbox["totalItems"], 0);
}

async fn contacts_need_consent(app: TestApp) {
    let token = app.collectivite_with_token("marcq", "59378").await;
    let created = app.publish("marcq", &token, &sample_action()).await;
    let uuid = created["uuid"].as_str().unwrap();
    assert_eq!(
        created["contacts"][0]["name"], "Camille Martin",
        "the owner sees them"
    );

    let public: Value = app
        .get_json(app.url(&format!("/api/v1/actions/{uuid}")))
        .await;
    assert!(public.get("contacts").is_none(), "{public}");
    let (_, page) = app.get_html(created["id"].as_str().unwrap()).await;
    assert!(!page.contains("camille.martin@example.fr"));

    app.client
        .patch(app.url(&format!("/api/v1/actions/{uuid}")))
        .bearer_auth(&token)
        .json(&json!({ "contacts_public": true }))
        .send()
        .await
        .unwrap();
    let article = app.get_as_ok(created["id"].as_str().unwrap()).await;
    assert_eq!(
        article["mai:contacts"][0]["email"],
        "camille.martin@example.fr"
    );
    let (_, page) = app.get_html(created["id"].as_str().unwrap()).await;
    assert!(page.contains("camille.martin@example.fr"));
}

async fn markdown_is_sanitised(app: TestApp) {
    let token = app.collectivite_with_token("marcq", "59378").await;
    let body = json!({
        "name": "<script>alert('nom')</script>Atelier",
        "content": "Bonjour <script>alert(1)</script> <a href=\"javascript:alert(2)\">clic</a> <img src=\"https://pisteur.example/x.png\" onerror=\"alert(3)\">",
        "themes": ["education"],
    });
    let created = app.publish("marcq", &token, &body).await;
    let content = created["content"].as_str().unwrap();
    for forbidden in ["<script", "javascript:", "onerror", "<img"] {
        assert!(!content.contains(forbidden), "{forbidden} in {content}");
    }
    let (_, page) = app.get_html(created["id"].as_str().unwrap()).await;
    assert!(!page.contains("<script>alert('nom')"), "names are escaped");
    assert!(
        page.contains("&#60;script&#62;") || page.contains("&lt;script&gt;"),
        "the name is shown, escaped"
    );
}

async fn defaults_and_pagination(app: TestApp) {
    let token = app.collectivite_with_token("marcq", "59378").await;
    for i in 0..3 {
        app.publish(
            "marcq",
            &token,
            &json!({ "name": format!("Action {i}"), "content": "Texte", "themes": ["culture"] }),
        )
        .await;
    }
    let first: Value = app
        .get_json(app.url("/api/v1/collectivites/marcq/actions?limit=2"))
        .await;
    assert_eq!(first["total"], 3);
    let names: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Action 2", "Action 1"], "newest first");
    // Defaults: phase, status, and the town hall as location.
    let item = &first["items"][0];
    assert_eq!(item["phase"], "realisation");
    assert_eq!(item["status"], "en-cours");
    assert_eq!(item["location"][0]["name"], "Marcq-en-Barœul");
    assert_eq!(item["location"][0]["insee"], "59378");
    let next = first["next"].as_str().unwrap();
    let second: Value = app
        .get_json(app.url(&format!(
            "/api/v1/collectivites/marcq/actions?limit=2&cursor={next}"
        )))
        .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(second["items"][0]["name"], "Action 0");
    assert!(second["next"].is_null());
}

async fn actions_of_another_collectivite_are_protected(app: TestApp) {
    let marcq = app.collectivite_with_token("marcq", "59378").await;
    let lille = app.collectivite_with_token("lille", "59350").await;
    let created = app.publish("marcq", &marcq, &sample_action()).await;
    let uuid = created["uuid"].as_str().unwrap();
    let url = app.url(&format!("/api/v1/actions/{uuid}"));

    let by_lille = app.post_action("marcq", &lille, &sample_action()).await;
    assert_problem(by_lille, StatusCode::FORBIDDEN).await;
    let patch = app
        .client
        .patch(&url)
        .bearer_auth(&lille)
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_problem(patch, StatusCode::FORBIDDEN).await;
    let delete = app
        .client
        .delete(&url)
        .bearer_auth(&lille)
        .send()
        .await
        .unwrap();
    assert_problem(delete, StatusCode::FORBIDDEN).await;
    let anonymous = app.client.delete(&url).send().await.unwrap();
    assert_problem(anonymous, StatusCode::UNAUTHORIZED).await;
    // The admin token may act for every collectivité.
    let admin = app
        .client
        .patch(&url)
        .bearer_auth(&app.admin_token)
        .json(&json!({"name": "Par l'admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), StatusCode::OK);
}

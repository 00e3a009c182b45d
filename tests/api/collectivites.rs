//! Collectivités through the JSON API: creation filled from the referential, listing,
//! editing, and who may do what.

use reqwest::StatusCode;
use serde_json::json;

use crate::both_engines;
use crate::helpers::{TestApp, assert_problem, problem_fields};

both_engines!(
    create_fills_from_referential,
    list_show_and_edit,
    permissions_on_collectivites,
    other_kinds_fill_from_referential,
);

async fn create_fills_from_referential(app: TestApp) {
    let created = app.create_collectivite("marcq-en-baroeul", "59378").await;
    assert_eq!(created["name"], "Marcq-en-Barœul");
    assert_eq!(created["siren"], "215903782");
    assert_eq!(created["departement"], "59");
    assert_eq!(created["departement_name"], "Nord");
    assert_eq!(created["region"], "32");
    assert_eq!(created["region_name"], "Hauts-de-France");
    assert_eq!(created["epci_siren"], "200093201");
    assert_eq!(created["epci_name"], "Métropole Européenne de Lille");
    assert_eq!(created["population"], 40184);
    assert_eq!(created["location"]["lat"], 50.672);
    assert_eq!(created["location"]["lon"], 3.09697);
    assert_eq!(created["address"]["postal_code"], "59700");
    assert_eq!(created["kind"], "commune");
    assert_eq!(
        created["handle"],
        format!("marcq-en-baroeul@{}", app.domain)
    );
    assert_eq!(
        created["id"],
        format!("{}/actors/marcq-en-baroeul", app.base)
    );

    // The same username again is a conflict on that field.
    let again = app
        .client
        .post(app.url("/api/v1/collectivites"))
        .bearer_auth(&app.admin_token)
        .json(&json!({ "username": "marcq-en-baroeul", "insee": "59378" }))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(again, StatusCode::CONFLICT).await;
    assert_eq!(problem_fields(&problem), ["username"]);
}

async fn list_show_and_edit(app: TestApp) {
    app.create_collectivite("lille", "59350").await;
    let token = app.collectivite_with_token("roubaix", "59512").await;

    let list: serde_json::Value = app.get_json(app.url("/api/v1/collectivites")).await;
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Lille", "Roubaix"]);

    let shown: serde_json::Value = app.get_json(app.url("/api/v1/collectivites/roubaix")).await;
    assert_eq!(shown["insee"], "59512");

    let patched = app
        .client
        .patch(app.url("/api/v1/collectivites/roubaix"))
        .bearer_auth(&token)
        .json(&json!({
            "summary": "Ville pionnière du zéro déchet et du numérique responsable.",
            "website": "https://www.ville-roubaix.fr",
            "labels": [{ "year": 2024, "arobases": 4, "mentions": ["transition-ecologique"] }]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    let patched: serde_json::Value = patched.json().await.unwrap();
    assert_eq!(patched["website"], "https://www.ville-roubaix.fr/");
    assert_eq!(patched["name"], "Roubaix", "untouched fields stay");
    assert_eq!(patched["labels"][0]["arobases"], 4);

    // The actor document follows the profile.
    let actor = app.get_as_ok(&app.url("/actors/roubaix")).await;
    assert!(actor["summary"].as_str().unwrap().contains("zéro déchet"));
    let fields: Vec<&str> = actor["attachment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"Site officiel"), "{fields:?}");
    assert_eq!(actor["mai:labels"][0]["year"], 2024);

    // The username cannot change: it is part of the actor id.
    let renamed = app
        .client
        .patch(app.url("/api/v1/collectivites/roubaix"))
        .bearer_auth(&token)
        .json(&json!({ "username": "roubaix2" }))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(renamed, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem_fields(&problem), ["username"]);

    // Clearing a field with null (merge patch).
    let cleared: serde_json::Value = app
        .client
        .patch(app.url("/api/v1/collectivites/roubaix"))
        .bearer_auth(&token)
        .json(&json!({ "website": null }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(cleared["website"].is_null());
}

async fn permissions_on_collectivites(app: TestApp) {
    let lille_token = app.collectivite_with_token("lille", "59350").await;
    app.create_collectivite("roubaix", "59512").await;

    // Creating needs an admin token.
    let no_token = app
        .client
        .post(app.url("/api/v1/collectivites"))
        .json(&json!({ "username": "tourcoing", "insee": "59599" }))
        .send()
        .await
        .unwrap();
    assert_problem(no_token, StatusCode::UNAUTHORIZED).await;
    let not_admin = app
        .client
        .post(app.url("/api/v1/collectivites"))
        .bearer_auth(&lille_token)
        .json(&json!({ "username": "tourcoing", "insee": "59599" }))
        .send()
        .await
        .unwrap();
    assert_problem(not_admin, StatusCode::FORBIDDEN).await;

    // Editing another collectivité is forbidden; a bad token is unauthorised.
    let other = app
        .client
        .patch(app.url("/api/v1/collectivites/roubaix"))
        .bearer_auth(&lille_token)
        .json(&json!({ "summary": "piraté" }))
        .send()
        .await
        .unwrap();
    assert_problem(other, StatusCode::FORBIDDEN).await;
    let bad = app
        .client
        .patch(app.url("/api/v1/collectivites/roubaix"))
        .bearer_auth("mai_not-a-token")
        .json(&json!({ "summary": "piraté" }))
        .send()
        .await
        .unwrap();
    assert_problem(bad, StatusCode::UNAUTHORIZED).await;
    let unknown = app
        .client
        .get(app.url("/api/v1/collectivites/nowhere"))
        .send()
        .await
        .unwrap();
    assert_problem(unknown, StatusCode::NOT_FOUND).await;
}

async fn other_kinds_fill_from_referential(app: TestApp) {
    let create = |body: serde_json::Value| {
        app.client
            .post(app.url("/api/v1/collectivites"))
            .bearer_auth(&app.admin_token)
            .json(&body)
            .send()
    };
    let epci: serde_json::Value =
        create(json!({ "username": "mel", "kind": "epci", "siren": "200093201" }))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(epci["name"], "Métropole Européenne de Lille");
    assert_eq!(epci["kind"], "epci");
    let dep: serde_json::Value =
        create(json!({ "username": "nord", "kind": "departement", "departement": "59" }))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(dep["name"], "Nord");
    assert_eq!(dep["region"], "32");
    let corse: serde_json::Value = create(json!({ "username": "ajaccio", "insee": "2A004" }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(corse["name"], "Ajaccio");
    assert_eq!(corse["departement"], "2A");
}

both_engines!(a_deleted_collectivite_keeps_its_name);

/// A deleted collectivité's name stays reserved, refused before any key pair is made,
/// and the API, its page and the command say it the same way: « a été supprimée ».
async fn a_deleted_collectivite_keeps_its_name(app: TestApp) {
    app.create_collectivite("marcq", "59378").await;
    let response = app
        .client
        .delete(app.url("/api/v1/collectivites/marcq"))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let api = assert_problem(
        app.client
            .get(app.url("/api/v1/collectivites/marcq"))
            .send()
            .await
            .unwrap(),
        StatusCode::GONE,
    )
    .await;
    assert!(
        api["detail"]
            .as_str()
            .unwrap()
            .contains("a été supprimée le"),
        "{api}"
    );
    let (status, page) = app.get_html("/actors/marcq").await;
    assert_eq!(status, StatusCode::GONE);
    assert!(page.contains("a été supprimée le"), "{page}");
    let response = app
        .client
        .post(app.url("/api/v1/collectivites"))
        .bearer_auth(&app.admin_token)
        .json(&json!({"username": "marcq", "insee": "59378"}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, StatusCode::CONFLICT).await;
    assert!(problem.to_string().contains("est réservé"), "{problem}");
    let error = crate::cli::fails(
        crate::cli_admin::cli(
            &app,
            &[
                "collectivite",
                "create",
                "--username",
                "marcq",
                "--insee",
                "59378",
            ],
            None,
        )
        .await,
    );
    assert!(error.contains("a été supprimée le"), "{error}");
}

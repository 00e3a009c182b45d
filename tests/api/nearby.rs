//! "Projets proches" (issue 18 point 5): on each action page and at
//! `GET /api/v1/actions/{id}/nearby`, up to 5 actions of other collectivités, ranked by
//! shared themes, then text similarity, then recency; the action's own collectivité,
//! deleted actions and blocked domains left out.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_engines;
use crate::helpers::{TestApp, assert_problem};

fn body(name: &str, summary: &str, themes: &[&str]) -> Value {
    json!({
        "name": name,
        "summary": summary,
        "content": "Présentation du projet au conseil municipal.",
        "phase": "service",
        "themes": themes,
    })
}

async fn nearby(app: &TestApp, uuid: &str) -> Vec<Value> {
    let answer = app
        .get_json(app.url(&format!("/api/v1/actions/{uuid}/nearby")))
        .await;
    answer
        .as_array()
        .unwrap_or_else(|| panic!("an array: {answer}"))
        .clone()
}

fn names(list: &[Value]) -> Vec<&str> {
    list.iter().map(|a| a["name"].as_str().unwrap()).collect()
}

/// Stores an action of a collectivité of another node, as federation would.
async fn remote_action(
    app: &TestApp,
    domain: &str,
    name: &str,
    summary: &str,
    themes: &[&str],
) -> String {
    let store = &app.state.store;
    let actor: url::Url = format!("https://{domain}/actors/ville").parse().unwrap();
    let inbox: url::Url = format!("https://{domain}/inbox").parse().unwrap();
    let key = app.actor("marcq").await;
    let profile = maillage::domain::drafts::CollectiviteBody {
        username: Some("ville".into()),
        kind: Some("autre".into()),
        name: Some(format!("Ville de {domain}")),
        ..Default::default()
    }
    .into_profile()
    .unwrap();
    let owner = store
        .upsert_remote_actor(
            maillage::db::actors::RemoteActor {
                actor_type: "Organization",
                ap_id: &actor,
                domain,
                inbox: &inbox,
                shared_inbox: None,
                public_key_pem: &key.public_key_pem,
            },
            &profile,
        )
        .await
        .unwrap();
    // Themes may be empty: a peer's unknown themes are dropped on arrival.
    let mut valid = body(name, summary, &["culture"]);
    let body: maillage::domain::drafts::ActionBody = serde_json::from_value(valid.take()).unwrap();
    let mut data = maillage::domain::NewAction::try_from(body).unwrap();
    data.themes = themes
        .iter()
        .map(|t| maillage::taxonomy::ThemeSlug::parse(t).unwrap())
        .collect();
    let ap_id: url::Url = format!("https://{domain}/actions/{}", uuid::Uuid::new_v4())
        .parse()
        .unwrap();
    let now = chrono::Utc::now();
    store
        .upsert_remote_action(&ap_id, &ap_id, owner.id, &data, &[], now, now)
        .await
        .unwrap();
    store
        .action_by_ap_id(&ap_id)
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string()
}

/// Marcq-en-Barœul's action whose nearby actions the tests read.
async fn publish_guichet(app: &TestApp, token: &str) -> Value {
    let themes = ["services-publics", "solidarites"];
    let name = "Guichet numérique des démarches";
    let summary = "Les démarches de la mairie en ligne.";
    app.publish("marcq", token, &body(name, summary, &themes))
        .await
}

both_engines!(nearby_actions_in_order);

async fn nearby_actions_in_order(app: TestApp) {
    let marcq = app.collectivite_with_token("marcq", "59378").await;
    let lille = app.collectivite_with_token("lille", "59350").await;
    let rennes = app.collectivite_with_token("rennes", "35238").await;
    let albi = app.collectivite_with_token("albi", "81004").await;
    let ajaccio = app.collectivite_with_token("ajaccio", "2A004").await;
    let both = ["services-publics", "solidarites"];
    let guichet = publish_guichet(&app, &marcq).await;
    let uuid = guichet["uuid"].as_str().unwrap();
    // Before any other collectivité publishes: none, and the page says so.
    assert!(nearby(&app, uuid).await.is_empty());
    let (status, page) = app.get_html(guichet["id"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Aucun projet proche pour l'instant"),
        "{page}"
    );

    // The same collectivité's own similar action: never shown.
    app.publish(
        "marcq",
        &marcq,
        &body("Guichet numérique des démarches (bis)", "En ligne.", &both),
    )
    .await;
    // Older first, so that recency decides between the two Albi actions.
    app.publish(
        "albi",
        &albi,
        &body(
            "Fibre optique",
            "Raccordement des écoles.",
            &["services-publics"],
        ),
    )
    .await;
    app.publish(
        "albi",
        &albi,
        &body(
            "Wi-Fi public",
            "Bornes sur les places.",
            &["services-publics"],
        ),
    )
    .await;
    app.publish(
        "ajaccio",
        &ajaccio,
        &body(
            "Médiathèque numérique en ligne",
            "Prêt de livres.",
            &["culture"],
        ),
    )
    .await;
    app.publish(
        "ajaccio",
        &ajaccio,
        &body("Archives numériques", "Fonds anciens.", &["patrimoine"]),
    )
    .await;
    app.publish(
        "ajaccio",
        &ajaccio,
        &body("Musée virtuel", "Collections.", &["culture"]),
    )
    .await;
    app.publish(
        "rennes",
        &rennes,
        &body(
            "Guichet numérique pour les démarches",
            "Démarches de la mairie en ligne.",
            &["services-publics"],
        ),
    )
    .await;
    let deleted = app
        .publish(
            "rennes",
            &rennes,
            &body(
                "Guichet numérique des démarches en ligne",
                "Les démarches de la mairie en ligne.",
                &both,
            ),
        )
        .await;
    let response = app
        .client
        .delete(app.url(&format!(
            "/api/v1/actions/{}",
            deleted["uuid"].as_str().unwrap()
        )))
        .bearer_auth(&rennes)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    app.publish(
        "lille",
        &lille,
        &body("Portail des démarches", "Accueil des usagers.", &both),
    )
    .await;

    let list = nearby(&app, uuid).await;
    // Two shared themes first; then one shared theme, similar words before none, the
    // later updated first; then words alone, two similar words before one. The
    // sixth (Archives numériques) is past the limit; Musée virtuel shares nothing.
    assert_eq!(
        names(&list),
        [
            "Portail des démarches",
            "Guichet numérique pour les démarches",
            "Wi-Fi public",
            "Fibre optique",
            "Médiathèque numérique en ligne",
        ],
        "{list:#?}"
    );
    assert_eq!(list[0]["collectivite"]["name"], "Lille");
    assert_eq!(list[0]["shared_themes"], json!(both));
    assert_eq!(
        list[1]["collectivite"]["handle"],
        format!("rennes@{}", app.domain)
    );
    assert_eq!(list[4]["shared_themes"], json!([]));
    assert!(list[0]["url"].as_str().unwrap().starts_with(&app.base));

    // The page: the section, the sentence, the town and title of each, in order.
    let (status, page) = app.get_html(guichet["id"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let section = &page[page.find("id=\"projets-proches\"").expect("section")..];
    let section = &section[..section.find("</section>").unwrap()];
    assert!(section.starts_with("id=\"projets-proches\">Projets proches</h2>"));
    assert!(section.contains(
        "Actions d'autres collectivités sur les mêmes thèmes : contactez-les pour mutualiser."
    ));
    assert!(section.contains("<ul>") && section.matches("<li>").count() == 5);
    let positions: Vec<usize> = [
        "Lille</a> : <a",
        "Portail des démarches",
        "Guichet numérique pour les démarches",
        "Wi-Fi public",
        "Fibre optique",
        "Médiathèque numérique en ligne",
    ]
    .iter()
    .map(|text| {
        section
            .find(text)
            .unwrap_or_else(|| panic!("{text}: {section}"))
    })
    .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{section}");
    assert!(!section.contains("(bis)") && !section.contains("Musée virtuel"));

    // Unknown and deleted actions: problem+json.
    let response = app
        .client
        .get(app.url(&format!("/api/v1/actions/{}/nearby", uuid::Uuid::new_v4())))
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::NOT_FOUND).await;
    let response = app
        .client
        .get(app.url(&format!(
            "/api/v1/actions/{}/nearby",
            deleted["uuid"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::GONE).await;
    let response = app
        .client
        .get(app.url("/api/v1/actions/pas-un-uuid/nearby"))
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::NOT_FOUND).await;
}

both_engines!(nearby_from_the_network_without_blocked_domains);

/// What a node holds from other nodes is shown (an aggregator's whole network), unless
/// its domain is blocked; an action without themes finds actions by its words.
async fn nearby_from_the_network_without_blocked_domains(app: TestApp) {
    let marcq = app.collectivite_with_token("marcq", "59378").await;
    let both = ["services-publics", "solidarites"];
    let guichet = publish_guichet(&app, &marcq).await;
    let uuid = guichet["uuid"].as_str().unwrap();
    remote_action(
        &app,
        "bloque.example",
        "Guichet des démarches en ligne",
        "Démarches.",
        &both,
    )
    .await;
    let lyon = remote_action(
        &app,
        "lyon.example",
        "Démarches numériques",
        "Accueil.",
        &["solidarites"],
    )
    .await;
    assert_eq!(
        names(&nearby(&app, uuid).await),
        ["Guichet des démarches en ligne", "Démarches numériques"]
    );

    let response = app
        .client
        .post(app.url("/api/v1/moderation/blocks"))
        .bearer_auth(&app.admin_token)
        .json(&json!({"target": "bloque.example", "reason": "test"}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let list = nearby(&app, uuid).await;
    assert_eq!(names(&list), ["Démarches numériques"]);
    assert_eq!(list[0]["collectivite"]["name"], "Ville de lyon.example");
    assert_eq!(
        list[0]["url"].as_str().unwrap(),
        list[0]["id"].as_str().unwrap()
    );
    let (_, page) = app.get_html(guichet["id"].as_str().unwrap()).await;
    assert!(
        page.contains("Démarches numériques") && !page.contains("Guichet des démarches en ligne")
    );

    // A peer's action without themes: found by its words alone, and finds by them.
    let sans = remote_action(
        &app,
        "paris.example",
        "Guichet numérique de quartier",
        "Sans thème connu.",
        &[],
    )
    .await;
    let from_sans = nearby(&app, &sans).await;
    let found = names(&from_sans);
    assert!(
        found.contains(&"Guichet numérique des démarches"),
        "{found:?}"
    );
    assert!(found.contains(&"Démarches numériques"), "{found:?}");
    assert!(
        !found.contains(&"Guichet des démarches en ligne"),
        "blocked: {found:?}"
    );
    assert!(names(&nearby(&app, uuid).await).contains(&"Guichet numérique de quartier"));
    // An action never lists itself.
    assert!(!names(&nearby(&app, &lyon).await).contains(&"Démarches numériques"));
}

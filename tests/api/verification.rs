//! Verified official websites (issue 19): a "town website" served on loopback links
//! back to the collectivité with `rel="me"` (or does not), the official-domain rule,
//! bounds of the fetch (redirects, size), and one canonical collectivité per INSEE code
//! on a directory that follows an impostor too.

use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_engines;
use crate::helpers::{TestApp, spawn_app, wait_until};

both_engines!(
    rel_me_link_verifies_and_its_removal_unverifies,
    official_domain_verifies_without_rel_me,
    redirects_and_size_are_bounded,
    impostor_is_left_out_behind_the_verified_town,
    none_verified_all_shown_and_the_admin_is_told,
);

/// A town's website on loopback: `/` answers the current page; `/away` redirects to
/// another host, `/huge` is 2 MiB of padding then the link.
struct Site {
    base: String,
    page: Arc<Mutex<String>>,
}

async fn town_site() -> Site {
    let page = Arc::new(Mutex::new(String::from("<p>Bienvenue</p>")));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let shared = page.clone();
    let router = axum::Router::new()
        .route(
            "/",
            axum::routing::get(move || {
                let page = shared.lock().unwrap().clone();
                async move { axum::response::Html(page) }
            }),
        )
        .route(
            "/away",
            axum::routing::get(move || async move {
                axum::response::Redirect::temporary(&format!("http://127.0.0.1:{port}/"))
            }),
        )
        .route(
            "/huge",
            axum::routing::get(|| async {
                let mut body = "<!-- padding -->".repeat(2 * 1024 * 1024 / 16);
                body.push_str(&HUGE_LINK.lock().unwrap());
                axum::response::Html(body)
            }),
        );
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Site {
        base: format!("http://localhost:{port}"),
        page,
    }
}

static HUGE_LINK: Mutex<String> = Mutex::new(String::new());

impl Site {
    fn set(&self, html: &str) {
        *self.page.lock().unwrap() = html.to_string();
    }
}

async fn set_website(app: &TestApp, username: &str, website: &str) -> Value {
    let response = app
        .client
        .patch(app.url(&format!("/api/v1/collectivites/{username}")))
        .bearer_auth(&app.admin_token)
        .json(&json!({ "website": website }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn check(app: &TestApp, username: &str) -> Value {
    let response = app
        .client
        .post(app.url(&format!("/api/v1/collectivites/{username}/website/check")))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn rel_me_link_verifies_and_its_removal_unverifies(app: TestApp) {
    let site = town_site().await;
    let actor = app.create_collectivite("marcq", "59378").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    set_website(&app, "marcq", &format!("{}/", site.base)).await;
    // No link back: not verified, with the reason for the editor.
    let checked = check(&app, "marcq").await;
    assert!(checked["website_verified_at"].is_null(), "{checked}");
    let error = checked["website_check_error"].as_str().unwrap();
    assert!(error.contains("rel=\"me\""), "{error}");

    // `<a rel="me">`, as the admin tells the town to write it.
    site.set(&format!(
        r#"<html><body><a rel="me" href="{actor}">Notre page sur Maillage</a></body></html>"#
    ));
    let checked = check(&app, "marcq").await;
    assert!(checked["website_verified_at"].is_string(), "{checked}");
    assert_eq!(checked["website_verified_by"], "rel-me");
    let view = app.get_json(app.url("/api/v1/collectivites/marcq")).await;
    assert!(view["website_verified_at"].is_string(), "{view}");
    let (_, page) = app.get_html(&actor).await;
    assert!(page.contains("site officiel vérifié le"), "{page}");

    // The link removed: verified → not verified.
    site.set("<p>Bienvenue</p>");
    let checked = check(&app, "marcq").await;
    assert!(checked["website_verified_at"].is_null(), "{checked}");
    let (_, page) = app.get_html(&actor).await;
    assert!(page.contains("non vérifiée"), "{page}");

    // `<link rel="me">` in the head works too, and a `rel` with other words.
    site.set(&format!(
        r#"<html><head><link rel="me authn" href="{actor}"></head><body></body></html>"#
    ));
    let checked = check(&app, "marcq").await;
    assert_eq!(checked["website_verified_by"], "rel-me", "{checked}");
    // A link without `me` in its rel does not count.
    site.set(&format!(r#"<a rel="nofollow" href="{actor}">x</a>"#));
    let checked = check(&app, "marcq").await;
    assert!(checked["website_verified_at"].is_null(), "{checked}");

    // A new website clears the verification (and is checked again).
    site.set(&format!(r#"<a rel="me" href="{actor}">x</a>"#));
    check(&app, "marcq").await;
    let view = set_website(&app, "marcq", &format!("{}/huge", site.base)).await;
    assert!(view["website_verified_at"].is_null(), "{view}");

    // The actor document publishes the field Mastodon shows.
    let doc = app.get_as_ok(&actor).await;
    let field = doc["attachment"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Site officiel")
        .expect("Site officiel field")
        .clone();
    assert!(
        field["value"]
            .as_str()
            .unwrap()
            .contains(&format!(r#"href="{}/huge""#, site.base)),
        "{field}"
    );
    assert_eq!(doc["url"], actor, "url stays the profile page");
}

async fn official_domain_verifies_without_rel_me(app: TestApp) {
    // The node's own address is on the website's domain (same host and port here):
    // verified once the website answers, without a rel=me link.
    app.create_collectivite("marcq", "59378").await;
    set_website(&app, "marcq", &format!("{}/accessibilite", app.base)).await;
    let checked = check(&app, "marcq").await;
    assert_eq!(checked["website_verified_by"], "domain", "{checked}");
    // Not when the website does not answer successfully.
    set_website(&app, "marcq", &format!("{}/nulle-part", app.base)).await;
    let checked = check(&app, "marcq").await;
    assert!(checked["website_verified_at"].is_null(), "{checked}");
    assert!(
        checked["website_check_error"]
            .as_str()
            .unwrap()
            .contains("404"),
        "{checked}"
    );
    // Another host (another port) is not the node's domain.
    let site = town_site().await;
    set_website(&app, "marcq", &format!("{}/", site.base)).await;
    let checked = check(&app, "marcq").await;
    assert!(checked["website_verified_at"].is_null(), "{checked}");
}

async fn redirects_and_size_are_bounded(app: TestApp) {
    let site = town_site().await;
    let actor = app.create_collectivite("marcq", "59378").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    site.set(&format!(r#"<a rel="me" href="{actor}">x</a>"#));
    // `/away` redirects to 127.0.0.1, another host, whose page has the link: refused.
    set_website(&app, "marcq", &format!("{}/away", site.base)).await;
    let checked = check(&app, "marcq").await;
    assert!(checked["website_verified_at"].is_null(), "{checked}");
    assert!(
        checked["website_check_error"]
            .as_str()
            .unwrap()
            .contains("redirection vers un autre domaine refusée"),
        "{checked}"
    );
    // The link past the first MiB of a 2 MiB page is not read.
    *HUGE_LINK.lock().unwrap() = format!(r#"<a rel="me" href="{actor}">x</a>"#);
    set_website(&app, "marcq", &format!("{}/huge", site.base)).await;
    let checked = check(&app, "marcq").await;
    assert!(checked["website_verified_at"].is_null(), "{checked}");
    assert!(
        checked["website_check_error"]
            .as_str()
            .unwrap()
            .contains("premiers Kio"),
        "{checked}"
    );
    // Without a website, the check is refused with a reason.
    app.create_collectivite("lille", "59350").await;
    let response = app
        .client
        .post(app.url("/api/v1/collectivites/lille/website/check"))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// `follower` (its collectivité `lille`) follows `target`'s `marcq`, and the follow is
/// accepted.
async fn follow(follower: &TestApp, token: &str, target: &TestApp) {
    let response = follower
        .client
        .post(follower.url("/api/v1/collectivites/lille/follows"))
        .bearer_auth(token)
        .json(&json!({ "target": format!("acct:marcq@{}", target.domain) }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    follower.drain().await;
    target.drain().await;
}

async fn directory_names(app: &TestApp, query: &str) -> Vec<String> {
    let page = app
        .get_json(app.url(&format!("/api/v1/directory/actions{query}")))
        .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect()
}

async fn impostor_is_left_out_behind_the_verified_town(app: TestApp) {
    let site = town_site().await;
    let town = spawn_app(app.engine).await.unwrap();
    let impostor = spawn_app(app.engine).await.unwrap();
    let town_token = town.collectivite_with_token("marcq", "59378").await;
    let town_actor = town.url("/actors/marcq");
    site.set(&format!(r#"<a rel="me" href="{town_actor}">Maillage</a>"#));
    set_website(&town, "marcq", &format!("{}/", site.base)).await;
    town.publish(
        "marcq",
        &town_token,
        &json!({"name": "Archives en ligne", "content": "x", "themes": ["patrimoine"]}),
    )
    .await;
    // The impostor claims the same INSEE code and the same website.
    let impostor_token = impostor.collectivite_with_token("marcq", "59378").await;
    set_website(&impostor, "marcq", &format!("{}/", site.base)).await;
    impostor
        .publish(
            "marcq",
            &impostor_token,
            &json!({"name": "Fausse action", "content": "x", "themes": ["patrimoine"]}),
        )
        .await;

    // The directory node follows both; each actor's website is checked there, in the
    // background, as its own node checks it.
    let lille = app.collectivite_with_token("lille", "59350").await;
    follow(&app, &lille, &town).await;
    follow(&app, &lille, &impostor).await;
    app.drain().await;
    wait_until("both actions backfilled and the town verified", || {
        let app = &app;
        let town_actor = town_actor.clone();
        async move {
            let all = directory_names(app, "?unverified=true").await;
            let town = app
                .state
                .store
                .collectivite_by_ap_id(&url::Url::parse(&town_actor).unwrap())
                .await
                .unwrap();
            all.len() == 2 && town.is_some_and(|t| t.website_check.verified_at.is_some())
        }
    })
    .await;
    wait_until("the impostor checked", || {
        let app = &app;
        let id = url::Url::parse(&impostor.url("/actors/marcq")).unwrap();
        async move {
            let impostor = app.state.store.collectivite_by_ap_id(&id).await.unwrap();
            impostor.is_some_and(|c| c.website_check.checked_at.is_some())
        }
    })
    .await;
    assert_eq!(directory_names(&app, "").await, ["Archives en ligne"]);
    let mut all = directory_names(&app, "?unverified=true").await;
    all.sort();
    assert_eq!(all, ["Archives en ligne", "Fausse action"]);
    // Marked in the answer: the owner's verification.
    let page = app
        .get_json(app.url("/api/v1/directory/actions?unverified=true"))
        .await;
    for item in page["items"].as_array().unwrap() {
        let verified = item["collectivite"]["website_verified_at"].is_string();
        assert_eq!(verified, item["name"] == "Archives en ligne", "{item}");
    }
    // The collectivités' listing leaves it out too, unless asked.
    let listed = app
        .get_json(app.url("/api/v1/directory/collectivites"))
        .await;
    let domains: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["insee"] == "59378")
        .map(|c| c["handle"].as_str().unwrap())
        .collect();
    assert_eq!(domains, [format!("marcq@{}", town.domain)]);
    let listed = app
        .get_json(app.url("/api/v1/directory/collectivites?unverified=true"))
        .await;
    assert_eq!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["insee"] == "59378")
            .count(),
        2
    );
    // The pages: hidden by default, shown and marked with the filter.
    let (_, home) = app.get_html("/").await;
    assert!(!home.contains("Fausse action"));
    assert!(home.contains("Afficher les collectivités non vérifiées"));
    let (_, home) = app.get_html("/?unverified=true").await;
    assert!(home.contains("Fausse action"));
    assert!(home.contains("non vérifiée"), "marked");
    assert!(app.state.store.unsettled_codes().await.unwrap().is_empty());
}

async fn none_verified_all_shown_and_the_admin_is_told(app: TestApp) {
    let a = app.collectivite_with_token("marcq", "59378").await;
    let b = app.collectivite_with_token("marcq-bis", "59378").await;
    for (username, token, name) in [("marcq", &a, "Première"), ("marcq-bis", &b, "Seconde")] {
        app.publish(
            username,
            token,
            &json!({"name": name, "content": "x", "themes": ["patrimoine"]}),
        )
        .await;
    }
    let mut names = directory_names(&app, "").await;
    names.sort();
    assert_eq!(names, ["Première", "Seconde"], "none verified: all shown");
    let unsettled = app.state.store.unsettled_codes().await.unwrap();
    assert_eq!(
        unsettled.len(),
        2,
        "its INSEE code and SIREN: {unsettled:?}"
    );
    assert_eq!(unsettled[0].code, "59378");
    assert_eq!(unsettled[0].actors, 2);
    let (_, home) = app.get_html("/").await;
    assert!(home.contains("non vérifiée"), "marked");
}

//! The admin's exchange pages (partnerships, comments, follows, blocks), end to end.
//!
//! In a real browser (headless Chromium over WebDriver, as in `browser.rs`; skipped
//! without chromedriver unless `MAILLAGE_REQUIRE_BROWSER=1`): an editor signs in,
//! creates an action open to partners, a second town's editor on another node asks to
//! join, the first accepts, and the action page on both nodes and on an aggregator
//! shows the partnership. Over plain HTTP: CSRF refusals, node-admin pages, errors
//! shown next to their fields with what was typed, 404 for other collectivités.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::both_engines;
use crate::browser::Driver;
use crate::helpers::{Engine, TestApp, post_signed, spawn_app, spawn_app_with, wait_until};

pub(crate) const PASSWORD: &str = "un mot de passe solide";
const ACTION_NAME: &str = "Groupement d'achat d'énergie";

pub(crate) async fn account(app: &TestApp, user: &str, collectivites: &[&str], admin: bool) {
    let collectivites: Vec<String> = collectivites.iter().map(|c| c.to_string()).collect();
    maillage::service::users::create_user(&app.state, user, PASSWORD, &collectivites, admin, None)
        .await
        .unwrap();
}

/// Runs every node's deliveries until none is due (activities answer activities).
async fn settle(nodes: &[&TestApp]) {
    for _ in 0..10 {
        let mut done = 0;
        for node in nodes {
            done += node.drain().await;
        }
        if done == 0 {
            return;
        }
    }
    panic!("deliveries never settled");
}

/// The aggregator `g` follows `url` with its instance actor.
async fn aggregator_follows(g: &TestApp, url: &str) {
    let instance = g
        .state
        .store
        .actor_by_id(g.state.instance_actor.id)
        .await
        .unwrap()
        .unwrap();
    let config = maillage::federation::federation_config(g.state.clone())
        .await
        .unwrap();
    maillage::service::follows::follow(&config.to_request_data(), &instance, url)
        .await
        .unwrap();
}

async fn stored_partners(node: &TestApp, ap_id: &str) -> Vec<String> {
    node.state
        .store
        .action_by_ap_id(&ap_id.parse().unwrap())
        .await
        .unwrap()
        .map(|a| a.partners.iter().map(|p| p.to_string()).collect())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------
// Browser

impl Driver {
    /// The WebDriver id of the element found with `using` (`css selector`, `xpath`).
    pub(crate) async fn element(&self, using: &str, value: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            // Polled here rather than with an implicit wait: `call` fails on errors.
            let found = self
                .script(&format!(
                    "return {};",
                    match using {
                        "xpath" => format!(
                            "document.evaluate({}, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue !== null",
                            json!(value)
                        ),
                        _ => format!("document.querySelector({}) !== null", json!(value)),
                    }
                ))
                .await;
            if found == json!(true) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no element {value} on {}",
                self.script("return location.href;").await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let element = self
            .call(
                reqwest::Method::POST,
                "/element",
                json!({"using": using, "value": value}),
            )
            .await;
        element
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Types `text` into the field `css` (emptied first).
    pub(crate) async fn fill(&self, css: &str, text: &str) {
        let id = self.element("css selector", css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/clear"),
            json!({}),
        )
        .await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            json!({"text": text}),
        )
        .await;
    }

    /// Clicks the (first) button whose text is exactly `text`.
    pub(crate) async fn press(&self, text: &str) {
        let id = self
            .element(
                "xpath",
                &format!("//button[normalize-space()={}]", json!(text)),
            )
            .await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            json!({}),
        )
        .await;
    }

    /// Waits until the JavaScript expression `condition` is true.
    pub(crate) async fn wait_for(&self, what: &str, condition: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ok = self
                .script(&format!(
                    "return document.readyState === 'complete' && ({condition});"
                ))
                .await;
            if ok == json!(true) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what} on {}: {}",
                self.script("return location.href;").await,
                self.page_text().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(crate) async fn page_text(&self) -> String {
        self.script("return document.body ? document.body.innerText : '';")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The text of the element `css` ("" when absent).
    pub(crate) async fn text_of(&self, css: &str) -> String {
        self.script(&format!(
            "var e = document.querySelector({}); return e ? e.innerText : '';",
            json!(css)
        ))
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Opens `path` on `app` as `user`, signing in when the node asks for it (the
    /// session cookie is per host, not per port: each node's sign-in replaces the
    /// other's).
    pub(crate) async fn open_as(&self, app: &TestApp, path: &str, user: &str) {
        self.goto(&app.url(path)).await;
        let here = self.script("return location.pathname;").await;
        if here == json!("/admin/connexion") {
            self.fill("#username", user).await;
            self.fill("#password", PASSWORD).await;
            self.press("Se connecter").await;
        }
        self.wait_for(
            &format!("{path} as {user}"),
            &format!("location.pathname === {}", json!(path)),
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partnership_in_the_browser() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let a = spawn_app(Engine::Sqlite).await.unwrap();
    let b = spawn_app(Engine::Sqlite).await.unwrap();
    let g = spawn_app_with(Engine::Sqlite, |s| s.aggregator.enabled = true)
        .await
        .unwrap();
    a.create_collectivite("marcq", "59378").await;
    b.create_collectivite("lille", "59350").await;
    account(&a, "marie", &["marcq"], false).await;
    account(&b, "paul", &["lille"], false).await;
    let lille_id = b.url("/actors/lille");

    // The aggregator follows both towns.
    aggregator_follows(&g, &a.url("/actors/marcq")).await;
    aggregator_follows(&g, &lille_id).await;
    settle(&[&g, &a, &b]).await;
    for (node, name) in [(&a, "marcq"), (&b, "lille")] {
        let followers = node
            .get_as_ok(&node.url(&format!("/actors/{name}/followers")))
            .await;
        assert_eq!(followers["totalItems"], 1, "the aggregator follows {name}");
    }

    // Marie (node A) signs in and publishes an action open to partners.
    driver
        .open_as(&a, "/admin/c/marcq/actions/nouvelle", "marie")
        .await;
    driver.fill("[name=name]", ACTION_NAME).await;
    driver
        .fill(
            "[name=content]",
            "Achat groupé d'électricité pour les bâtiments communaux.",
        )
        .await;
    driver
        .click("input[name=themes][value=developpement-durable]")
        .await;
    driver.click("input[name=open_to_partners]").await;
    // The place is picked on the map (centred on the town hall): the click fills
    // latitude and longitude.
    driver
        .wait_for(
            "the map picker",
            "document.querySelector('.map-picker.leaflet-container') !== null",
        )
        .await;
    driver.click(".map-picker").await;
    driver
        .wait_for(
            "latitude and longitude from the map",
            "document.getElementById('lat').value !== '' && document.getElementById('lon').value !== ''",
        )
        .await;
    driver.press("Publier").await;
    driver
        .wait_for(
            "the action listed after publishing",
            &format!(
                "location.pathname === '/admin/c/marcq/actions' && document.body.innerText.includes({})",
                json!(ACTION_NAME)
            ),
        )
        .await;
    let listed = a.get_json(a.url("/api/v1/directory/actions")).await;
    assert_eq!(listed["total"], 1, "{listed}");
    assert_eq!(listed["items"][0]["name"], ACTION_NAME);
    assert_eq!(listed["items"][0]["open_to_partners"], true, "{listed}");
    let action_id = listed["items"][0]["id"].as_str().unwrap().to_string();
    let stored = a
        .state
        .store
        .action_by_ap_id(&action_id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let point = stored.data.locations[0]
        .point
        .expect("a point from the map");
    assert!(
        (point.lat - 50.67).abs() < 0.1 && (point.lon - 3.1).abs() < 0.1,
        "the point picked near Marcq's town hall: {point:?}"
    );
    settle(&[&a, &g]).await;
    wait_until("the action on the aggregator", || async {
        g.state
            .store
            .action_by_ap_id(&action_id.parse().unwrap())
            .await
            .unwrap()
            .is_some()
    })
    .await;

    // Paul (node B) asks Lille to join it.
    driver
        .open_as(&b, "/admin/c/lille/partenariats", "paul")
        .await;
    let label = driver.text_of("label[for=action]").await;
    assert_eq!(label, "Adresse de l'action (obligatoire)");
    driver.fill("#action", &action_id).await;
    driver.press("Rejoindre ce projet").await;
    driver
        .wait_for(
            "the request sent",
            "location.search.includes('fait=demande')",
        )
        .await;
    let sent = driver.text_of("#liste-envoyees").await;
    assert!(sent.contains(ACTION_NAME), "{sent}");
    assert!(sent.contains("en attente"), "{sent}");
    settle(&[&b, &a]).await;

    // Marie accepts on node A.
    driver
        .open_as(&a, "/admin/c/marcq/partenariats", "marie")
        .await;
    let received = driver.text_of("#liste-recues").await;
    assert!(received.contains("Lille"), "{received}");
    assert!(received.contains("en attente"), "{received}");
    driver.press("Accepter").await;
    driver
        .wait_for(
            "the acceptance",
            "location.search.includes('fait=acceptee')",
        )
        .await;
    let received = driver.text_of("#liste-recues").await;
    assert!(received.contains("acceptée"), "{received}");
    assert!(received.contains("Mettre fin au partenariat"), "{received}");
    settle(&[&a, &b, &g]).await;

    // The action page on node A names Lille as partner.
    driver.goto(&action_id).await;
    driver
        .wait_for(
            "the partners on A",
            "document.getElementById('partenaires') !== null",
        )
        .await;
    let partners = driver.text_of("#partenaires + ul").await;
    assert!(partners.contains("Lille"), "{partners}");
    assert_eq!(
        driver.text_of("#partenaires").await,
        "Projet mené avec 1 autre collectivité"
    );

    // Node B: the request is accepted, Lille's page and the directory show the action.
    wait_until("the partnership on node B", || async {
        stored_partners(&b, &action_id).await == vec![lille_id.clone()]
    })
    .await;
    driver
        .open_as(&b, "/admin/c/lille/partenariats", "paul")
        .await;
    let sent = driver.text_of("#liste-envoyees").await;
    assert!(sent.contains(ACTION_NAME), "{sent}");
    assert!(sent.contains("acceptée"), "{sent}");
    driver.goto(&lille_id).await;
    let mutualised = driver.text_of("#partenariats").await;
    assert!(mutualised.contains("Projets menés avec"), "{mutualised}");
    let page = driver.page_text().await;
    assert!(page.contains(ACTION_NAME), "{page}");
    driver.goto(&b.url("/?partnered=true")).await;
    assert_eq!(driver.result_names().await, [ACTION_NAME]);
    let partnered = b
        .get_json(b.url("/api/v1/directory/actions?partnered=true"))
        .await;
    assert_eq!(partnered["total"], 1, "{partnered}");
    assert_eq!(partnered["items"][0]["id"], action_id.as_str());

    // The aggregator's copy has Lille as partner, and its directory lists it.
    wait_until("the partnership on the aggregator", || async {
        stored_partners(&g, &action_id).await == vec![lille_id.clone()]
    })
    .await;
    driver.goto(&g.url("/?partnered=true")).await;
    assert_eq!(driver.result_names().await, [ACTION_NAME]);
    let partnered = g
        .get_json(g.url("/api/v1/directory/actions?partnered=true"))
        .await;
    assert_eq!(partnered["total"], 1, "{partnered}");
    assert_eq!(partnered["items"][0]["id"], action_id.as_str());
    assert_eq!(
        partnered["items"][0]["partners"],
        json!([lille_id]),
        "{partnered}"
    );
    driver.end().await;
}

// ---------------------------------------------------------------------------------
// Plain HTTP

both_engines!(exchange_pages_over_http);

/// A signed-in editor of a node, over plain HTTP.
pub(crate) struct Session<'a> {
    pub(crate) app: &'a TestApp,
    pub(crate) cookie: String,
}

fn form_body(fields: &[(&str, &str)]) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields {
        serializer.append_pair(name, value);
    }
    serializer.finish()
}

/// The value of the attribute `attribute` of the first tag containing `marker`.
pub(crate) fn attribute_after(html: &str, marker: &str, attribute: &str) -> Option<String> {
    let start = html.find(marker)?;
    let tag_start = html[..start].rfind('<')?;
    let tag_end = start + html[start..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let key = format!("{attribute}=\"");
    let from = tag.find(&key)? + key.len();
    let to = from + tag[from..].find('"')?;
    Some(tag[from..to].to_string())
}

impl<'a> Session<'a> {
    pub(crate) async fn sign_in(app: &'a TestApp, user: &str) -> Session<'a> {
        let response = app
            .post_sign_in(&[("username", user), ("password", PASSWORD)], None)
            .await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "sign-in of {user}"
        );
        let cookie = crate::helpers::first_cookie(&response);
        Session { app, cookie }
    }

    pub(crate) async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = self
            .app
            .client
            .get(self.app.url(path))
            .header("cookie", &self.cookie)
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// The session's CSRF token, as the pages carry it.
    pub(crate) async fn csrf(&self) -> String {
        let (status, page) = self.get("/admin").await;
        assert_eq!(status, StatusCode::OK);
        attribute_after(&page, "name=\"csrf\"", "value").expect("a CSRF field")
    }

    /// POSTs a form; returns the status, the redirect target and the body.
    pub(crate) async fn post(
        &self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, String, String) {
        let response = self
            .app
            .client
            .post(self.app.url(path))
            .header("cookie", &self.cookie)
            .header("accept", "text/html")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(fields))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, location, response.text().await.unwrap())
    }
}

/// The `id` of the first element holding `text` in its opening tag, e.g. a field.
pub(crate) fn described_by(page: &str, marker: &str) -> Vec<String> {
    attribute_after(page, marker, "aria-describedby")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// The text of the element with `id` (up to its closing tag).
pub(crate) fn text_of_id(page: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let Some(start) = page.find(&marker) else {
        return String::new();
    };
    let from = start + page[start..].find('>').unwrap() + 1;
    let to = from + page[from..].find('<').unwrap();
    page[from..to].to_string()
}

async fn exchange_pages_over_http(a: TestApp) {
    let b = spawn_app(a.engine).await.unwrap();
    let marcq = a.collectivite_with_token("marcq", "59378").await;
    a.create_collectivite("roubaix", "59512").await;
    b.create_collectivite("lille", "59350").await;
    account(&a, "marie", &["marcq"], false).await;
    account(&a, "admin", &[], true).await;
    account(&b, "paul", &["lille"], false).await;
    let roubaix = a.token_for("roubaix").await;
    let closed = a
        .publish(
            "roubaix",
            &roubaix,
            &json!({"name": "Projet fermé", "content": "Rien à partager.", "themes": ["culture"]}),
        )
        .await;
    let open = a
        .publish(
            "marcq",
            &marcq,
            &json!({"name": ACTION_NAME, "content": "Achat groupé.", "themes": ["developpement-durable"],
                    "open_to_partners": true}),
        )
        .await;
    let action_id = open["id"].as_str().unwrap().to_string();

    // Signed out: to the sign-in page, back here afterwards.
    let response = a
        .client
        .get(a.url("/admin/c/marcq/partenariats"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["location"],
        "/admin/connexion?suivant=%2Fadmin%2Fc%2Fmarcq%2Fpartenariats"
    );

    let marie = Session::sign_in(&a, "marie").await;
    let csrf = marie.csrf().await;
    for path in [
        "/admin/c/marcq/partenariats",
        "/admin/c/marcq/commentaires",
        "/admin/c/marcq/abonnements",
    ] {
        let (status, page) = marie.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {page}");
        assert!(page.contains(&format!("value=\"{csrf}\"")), "{path}");
    }
    // Another collectivité of the node, one elsewhere, one that does not exist: 404.
    for username in ["roubaix", "lille", "nulle-part"] {
        let (status, _) = marie
            .get(&format!("/admin/c/{username}/partenariats"))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{username}");
        let (status, _, _) = marie
            .post(
                &format!("/admin/c/{username}/abonnements"),
                &[("csrf", &csrf), ("target", "acct:x@exemple.fr")],
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{username}");
    }

    // CSRF: a missing or foreign token is refused, and nothing happens.
    for fields in [
        vec![("action", action_id.as_str())],
        vec![("csrf", "pas-le-bon"), ("action", action_id.as_str())],
        vec![("csrf", ""), ("action", action_id.as_str())],
    ] {
        let (status, _, page) = marie
            .post("/admin/c/marcq/partenariats/demander", &fields)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
        assert!(page.contains("formulaire expiré"), "{page}");
    }
    let (status, _, _) = marie
        .post(
            "/admin/blocages",
            &[("csrf", "faux"), ("target", "spam.example")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(a.state.store.blocks().await.unwrap().is_empty());

    // An invalid join address: the error next to the field, the value kept (422).
    let cases = [
        ("pas une url", "adresse (URL)"),
        ("", "obligatoire"),
        ("ftp://exemple.fr/x", "adresse (URL)"),
        (action_id.as_str(), "déjà la vôtre"),
        (closed["id"].as_str().unwrap(), "ouverte"),
        ("http://127.0.0.1:9/actions/x", "introuvable"),
    ];
    for (typed, expected) in cases {
        let (status, _, page) = marie
            .post(
                "/admin/c/marcq/partenariats",
                &[("csrf", &csrf), ("action", typed)],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{typed}: {page}");
        let error = text_of_id(&page, "action-erreur");
        assert!(error.contains(expected), "{typed}: {error}");
        assert_eq!(
            described_by(&page, "id=\"action\""),
            ["action-aide", "action-erreur"],
            "{typed}"
        );
        assert!(page.contains("aria-invalid=\"true\""));
        assert_eq!(
            attribute_after(&page, "id=\"action\"", "value").unwrap(),
            typed,
            "the value typed is kept"
        );
    }
    // Same for the follow form and its target.
    let (status, _, page) = marie
        .post(
            "/admin/c/marcq/abonnements",
            &[("csrf", &csrf), ("target", "sans-domaine")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(text_of_id(&page, "target-erreur").contains("acct:utilisateur@domaine"));
    assert_eq!(
        attribute_after(&page, "id=\"target\"", "value").unwrap(),
        "sans-domaine"
    );

    // Node admins only: blocks and reports.
    let (status, page) = marie.get("/admin/blocages").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    let (status, _, _) = marie
        .post(
            "/admin/blocages",
            &[("csrf", &csrf), ("target", "spam.example")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let admin = Session::sign_in(&a, "admin").await;
    let admin_csrf = admin.csrf().await;
    let (status, page) = admin.get("/admin/blocages").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let (status, _, page) = admin
        .post(
            "/admin/blocages",
            &[
                ("csrf", &admin_csrf),
                ("target", "pas un domaine"),
                ("reason", "du spam"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(text_of_id(&page, "target-erreur").contains("ni un nom de domaine"));
    assert_eq!(
        attribute_after(&page, "id=\"target\"", "value").unwrap(),
        "pas un domaine"
    );
    assert_eq!(
        attribute_after(&page, "id=\"reason\"", "value").unwrap(),
        "du spam"
    );
    let (status, location, _) = admin
        .post(
            "/admin/blocages",
            &[
                ("csrf", &admin_csrf),
                ("target", "Spam.Example"),
                ("reason", "du spam"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "/admin/blocages?fait=blocage");
    let (_, page) = admin.get(&location).await;
    assert!(page.contains("Blocage enregistré"), "{page}");
    assert!(page.contains("spam.example") && page.contains(">Lever</button>"));
    let block = a.state.store.blocks().await.unwrap()[0].id;
    for (path, status_wanted) in [
        (
            format!("/admin/blocages/{block}/lever"),
            StatusCode::SEE_OTHER,
        ),
        (
            format!("/admin/blocages/{block}/lever"),
            StatusCode::NOT_FOUND,
        ),
        ("/admin/blocages/x/lever".to_string(), StatusCode::NOT_FOUND),
    ] {
        let (status, _, _) = admin.post(&path, &[("csrf", &admin_csrf)]).await;
        assert_eq!(status, status_wanted, "{path}");
    }
    assert!(a.state.store.blocks().await.unwrap().is_empty());
    // A node admin edits every local collectivité, not those of other nodes.
    let (status, _) = admin.get("/admin/c/marcq/partenariats").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = admin.get("/admin/c/lille/partenariats").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Lille (node B) asks through the form; Marcq accepts through the form.
    let paul = Session::sign_in(&b, "paul").await;
    let paul_csrf = paul.csrf().await;
    let (status, location, page) = paul
        .post(
            "/admin/c/lille/partenariats/demander",
            &[("csrf", &paul_csrf), ("action", &format!(" {action_id} "))],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert_eq!(location, "/admin/c/lille/partenariats?fait=demande");
    assert_eq!(b.drain().await, 1, "the Join goes out");
    let received = a
        .state
        .store
        .partnerships_of(a.actor("marcq").await.id, false)
        .await
        .unwrap();
    assert_eq!(received.len(), 1);
    let request = received[0].id;
    let (_, page) = marie.get("/admin/c/marcq/partenariats").await;
    assert!(page.contains("en attente") && page.contains(">Accepter</button>"));
    assert!(page.contains(">Refuser</button>"));
    // Paul cannot answer for Marcq (his collectivité is the requester on B anyway).
    let (status, _, _) = paul
        .post(
            &format!("/admin/c/lille/partenariats/{request}/accepter"),
            &[("csrf", &paul_csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for bad in ["x", "999999"] {
        let (status, _, _) = marie
            .post(
                &format!("/admin/c/marcq/partenariats/{bad}/accepter"),
                &[("csrf", &csrf)],
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
    }
    let (status, location, _) = marie
        .post(
            &format!("/admin/c/marcq/partenariats/{request}/accepter"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "/admin/c/marcq/partenariats?fait=acceptee");
    // Answered twice: the page says so (409), no 500.
    let (status, _, page) = marie
        .post(
            &format!("/admin/c/marcq/partenariats/{request}/refuser"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{page}");
    assert!(page.contains("déjà acceptée"), "{page}");
    settle(&[&a, &b]).await;
    let (_, page) = paul.get("/admin/c/lille/partenariats").await;
    assert!(page.contains("acceptée"), "{page}");
    assert!(page.contains(&ACTION_NAME.replace('\'', "&#39;")), "{page}");
    assert!(page.contains(">Mettre fin au partenariat</button>"));

    // A comment from Lille waits for moderation on A; Marie answers it and approves.
    let note = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": b.url("/activities/n1"),
        "type": "Create",
        "actor": b.url("/actors/lille"),
        "object": {
            "id": b.url("/notes/n1"),
            "type": "Note",
            "attributedTo": b.url("/actors/lille"),
            "inReplyTo": action_id,
            "content": "<p>Nous avons fait pareil !<script>alert(1)</script></p>",
            "published": "2026-11-01T10:00:00Z",
        }
    });
    let lille = b.actor("lille").await;
    let status = post_signed(
        &a.client,
        &a.url("/inbox"),
        &lille,
        note.to_string().as_bytes(),
        |_| {},
    )
    .await
    .status();
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, page) = marie.get("/admin/c/marcq/commentaires").await;
    assert!(page.contains("Nous avons fait pareil"), "{page}");
    assert!(!page.contains("<script>alert"), "sanitised");
    assert!(page.contains(">Approuver</button>") && page.contains(">Rejeter</button>"));
    let comment = a
        .state
        .store
        .comment_by_ap_id(&b.url("/notes/n1").parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .id;
    let reply = format!("/admin/c/marcq/commentaires/{comment}/repondre");
    let (status, _, page) = marie
        .post(&reply, &[("csrf", &csrf), ("content", "   ")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    let error_id = format!("reponse-{comment}-erreur");
    assert!(text_of_id(&page, &error_id).contains("vide"), "{page}");
    assert!(
        described_by(&page, &format!("id=\"reponse-{comment}\"")).contains(&error_id),
        "{page}"
    );
    let (status, location, _) = marie
        .post(
            &reply,
            &[("csrf", &csrf), ("content", "Merci, **bonne idée** !")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "/admin/c/marcq/commentaires?fait=reponse");
    let (status, _, _) = marie
        .post(
            &format!("/admin/c/marcq/commentaires/{comment}/approuver"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let comments = a
        .state
        .store
        .comments_to_moderate(
            maillage::db::comments::CommentState::Approved,
            None,
            None,
            500,
        )
        .await
        .unwrap();
    assert_eq!(comments.len(), 2, "the comment and the answer");
    assert!(
        comments
            .iter()
            .any(|c| c.local && c.content_html.contains("<strong>bonne idée</strong>"))
    );
    let (_, page) = marie.get("/admin/c/marcq/commentaires").await;
    assert!(page.contains("Aucun commentaire en attente."), "{page}");
    // Paul cannot moderate comments of Marcq's actions.
    let (status, _, _) = paul
        .post(
            &format!("/admin/c/lille/commentaires/{comment}/rejeter"),
            &[("csrf", &paul_csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Follows: Marie follows Lille through the form, then stops.
    let (status, location, page) = marie
        .post(
            "/admin/c/marcq/abonnements",
            &[
                ("csrf", &csrf),
                ("target", &format!("acct:lille@{}", b.domain)),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert_eq!(location, "/admin/c/marcq/abonnements?fait=abonnement");
    settle(&[&a, &b]).await;
    let (_, page) = marie.get("/admin/c/marcq/abonnements").await;
    assert!(page.contains(&format!("@lille@{}", b.domain)), "{page}");
    assert!(page.contains("accepté"), "{page}");
    let follow = a
        .state
        .store
        .following_of(a.actor("marcq").await.id)
        .await
        .unwrap()[0]
        .id;
    let (status, _, _) = paul
        .post(
            &format!("/admin/c/lille/abonnements/{follow}/retirer"),
            &[("csrf", &paul_csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not Paul's follow");
    let (status, location, _) = marie
        .post(
            &format!("/admin/c/marcq/abonnements/{follow}/retirer"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "/admin/c/marcq/abonnements?fait=desabonnement");
    assert!(
        a.state
            .store
            .following_of(a.actor("marcq").await.id)
            .await
            .unwrap()
            .is_empty()
    );

    // Paul ends the partnership from B.
    let sent = b
        .state
        .store
        .partnerships_of(b.actor("lille").await.id, true)
        .await
        .unwrap();
    let (status, location, _) = paul
        .post(
            &format!("/admin/c/lille/partenariats/{}/terminer", sent[0].id),
            &[("csrf", &paul_csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "/admin/c/lille/partenariats?fait=terminee");
    settle(&[&b, &a]).await;
    assert!(stored_partners(&a, &action_id).await.is_empty());
    let (_, page) = marie.get("/admin/c/marcq/partenariats").await;
    assert!(page.contains("terminée"), "{page}");

    // A report from Lille reaches the admin page; "Traité" handles it.
    let flag = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": b.url("/activities/flag-1"),
        "type": "Flag", "actor": b.url("/actors/lille"), "object": [action_id],
        "content": "Contenu <b>trompeur</b>"});
    let status = post_signed(
        &a.client,
        &a.url("/inbox"),
        &lille,
        flag.to_string().as_bytes(),
        |_| {},
    )
    .await
    .status();
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, page) = admin.get("/admin/blocages").await;
    assert!(
        !page.contains("<b>trompeur"),
        "the report is shown as text: {page}"
    );
    assert!(page.contains("trompeur"), "{page}");
    assert!(page.contains(">Traité</button>"), "{page}");
    let report = a.state.store.reports(true).await.unwrap()[0].id;
    let path = format!("/admin/signalements/{report}/traite");
    let (status, location, _) = admin.post(&path, &[("csrf", &admin_csrf)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "/admin/blocages?fait=traite");
    let (status, _, _) = admin.post(&path, &[("csrf", &admin_csrf)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "already handled");
    assert!(a.state.store.reports(true).await.unwrap().is_empty());
    let (_, page) = admin.get("/admin/blocages").await;
    assert!(!page.contains(">Traité</button>"), "{page}");
}

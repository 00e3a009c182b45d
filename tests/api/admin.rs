//! The editors' web admin over real HTTP: sign-in (errors, rate limit, redirect), the
//! action form (publish, errors kept next to the fields, edit, delete), the profile
//! form, the CSV import, CSRF and access to other collectivités.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use serde_json::Value;

use crate::both_engines;
use crate::helpers::{Engine, TestApp, csrf_of, sample_action, spawn_app_with};

const PASSWORD: &str = "un mot de passe solide";

/// A signed-in editor of `marcq`: its cookie and CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

async fn create_marie(app: &TestApp) {
    maillage::service::users::create_user(
        &app.state,
        "marie",
        PASSWORD,
        &["marcq".into()],
        false,
        None,
    )
    .await
    .expect("create user");
}

async fn login(app: &TestApp, username: &str, password: &str) -> reqwest::Response {
    app.post_sign_in(&[("username", username), ("password", password)], None)
        .await
}

/// `marcq` (59378), the account `marie` editing it, signed in.
async fn sign_in(app: &TestApp) -> Session {
    app.collectivite_with_token("marcq", "59378").await;
    create_marie(app).await;
    let response = login(app, "marie", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/admin");
    let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    assert!(cookie.starts_with("maillage_session="), "{cookie}");
    let mut session = Session {
        cookie,
        csrf: String::new(),
    };
    let (status, page) = get(app, &session, "/admin").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    session.csrf = csrf_of(&page);
    session
}

async fn get(app: &TestApp, session: &Session, path: &str) -> (StatusCode, String) {
    let response = app
        .client
        .get(app.url(path))
        .header(COOKIE, &session.cookie)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

/// POSTs url-encoded `pairs` (keys may repeat) with the session cookie.
async fn post_form(
    app: &TestApp,
    session: &Session,
    path: &str,
    pairs: &[(&str, &str)],
) -> reqwest::Response {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    app.client
        .post(app.url(path))
        .header(COOKIE, &session.cookie)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("accept", "text/html")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn text(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    (status, response.text().await.unwrap())
}

fn location(response: &reqwest::Response) -> String {
    response.headers()[LOCATION].to_str().unwrap().to_string()
}

/// A complete action form as a browser sends it.
fn action_form<'a>(csrf: &'a str, name: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("name", name),
        ("summary", "Des ateliers pour tous les âges."),
        (
            "content",
            "Des **ateliers** chaque semaine.\r\n\r\n- initiation\r\n- démarches",
        ),
        ("results", "300 participants."),
        ("recommendations", ""),
        ("phase", "service"),
        ("status", "en-cours"),
        ("themes", "services-publics"),
        ("themes", "solidarites"),
        ("open_to_partners", "on"),
        ("start_date", "2024-01-15"),
        ("end_date", ""),
        ("budget_eur", "12 000"),
        ("insee", "59378, 59350"),
        ("lat", ""),
        ("lon", ""),
        ("software", "Publik\r\nNextcloud\r\n"),
        ("providers", "Entr'ouvert"),
        ("links", "https://www.marcq-en-baroeul.org/ateliers"),
    ]
}

async fn api_action(app: &TestApp, uuid: &str) -> (StatusCode, Value) {
    let response = app
        .client
        .get(app.url(&format!("/api/v1/actions/{uuid}")))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn sign_in_errors(app: TestApp) {
    app.collectivite_with_token("marcq", "59378").await;
    create_marie(&app).await;
    // Not signed in: to the sign-in page, coming back afterwards.
    let response = app.client.get(app.url("/admin")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/admin/connexion?suivant=%2Fadmin");
    let response = app
        .client
        .get(app.url("/admin/c/marcq/actions/nouvelle"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/admin/connexion?suivant="));
    // A wrong password: the page again, with the error and the name typed.
    for attempt in 1..=5 {
        let (status, page) = text(login(&app, "marie", "pas le bon mot de passe").await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
        assert!(
            page.contains("identifiant ou mot de passe incorrect"),
            "{page}"
        );
        assert!(page.contains(r#"value="marie""#), "{page}");
        assert!(
            page.contains("aria-describedby=\"erreur-connexion\""),
            "{page}"
        );
    }
    // The sixth failure is refused before the password is even checked.
    let (status, page) = text(login(&app, "marie", "pas le bon mot de passe").await).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{page}");
    assert!(page.contains("trop d&#39;essais"), "{page}");
    let (status, _) = text(login(&app, "marie", PASSWORD).await).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

async fn publish_through_the_form(app: TestApp) {
    let session = sign_in(&app).await;
    // The dashboard links to the forms.
    let (_, dashboard) = get(&app, &session, "/admin").await;
    assert!(dashboard.contains("/admin/c/marcq/actions/nouvelle"));
    let (status, page) = get(&app, &session, "/admin/c/marcq/actions/nouvelle").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    for expected in [
        r#"<label for="name">Titre <span class="required">(obligatoire)</span></label>"#,
        r#"<label for="summary">Sous-titre</label>"#,
        r#"<label for="content">Description <span class="required">(obligatoire)</span></label>"#,
        r#"<label for="open_to_partners">Cette action cherche des partenaires : d'autres collectivités peuvent demander à la rejoindre</label>"#,
        r#"name="themes" value="services-publics""#,
        r#"<option value="realisation" selected>Réalisation</option>"#,
        r#"type="date""#,
        "<legend>Démocratie et services publics</legend>",
        r#"<button type="submit">Publier</button>"#,
    ] {
        assert!(page.contains(expected), "missing {expected}");
    }
    // Every input has its label.
    for id in [
        "name",
        "summary",
        "content",
        "results",
        "recommendations",
        "phase",
        "status",
        "start_date",
        "end_date",
        "budget_eur",
        "insee",
        "lat",
        "lon",
        "software",
        "providers",
        "links",
    ] {
        assert!(
            page.contains(&format!(r#"<label for="{id}">"#)),
            "label of {id}"
        );
        assert!(
            page.contains(&format!(r#"id="{id}" name="{id}""#)),
            "input {id}"
        );
    }
    assert_eq!(csrf_of(&page), session.csrf);

    let response = post_form(
        &app,
        &session,
        "/admin/c/marcq/actions/nouvelle",
        &action_form(&session.csrf, "Ateliers numériques du mercredi"),
    )
    .await;
    let status = response.status();
    let target = response.headers().get(LOCATION).cloned();
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "{}",
        response.text().await.unwrap()
    );
    assert_eq!(target.unwrap(), "/admin/c/marcq/actions");
    let (status, list) = get(&app, &session, "/admin/c/marcq/actions").await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains("Ateliers numériques du mercredi"), "{list}");
    assert!(list.contains("Service en fonctionnement"), "{list}");
    assert!(list.contains("Publier une action"));
    assert!(list.contains("/supprimer"));

    let page = app.get_json(app.url("/api/v1/directory/actions")).await;
    let item = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "Ateliers numériques du mercredi")
        .unwrap_or_else(|| panic!("not in the directory: {page}"))
        .clone();
    let uuid = item["uuid"].as_str().unwrap();
    let (status, action) = api_action(&app, uuid).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        action["themes"],
        serde_json::json!(["services-publics", "solidarites"])
    );
    assert_eq!(action["phase"], "service");
    assert_eq!(action["open_to_partners"], true);
    assert_eq!(action["budget_eur"], 12000);
    assert_eq!(action["start_date"], "2024-01-15");
    assert!(action["end_date"].is_null());
    assert_eq!(
        action["content_source"],
        "Des **ateliers** chaque semaine.\n\n- initiation\n- démarches"
    );
    assert!(
        action["content"]
            .as_str()
            .unwrap()
            .contains("<strong>ateliers</strong>")
    );
    let places: Vec<&str> = action["location"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["insee"].as_str().unwrap())
        .collect();
    assert_eq!(places, ["59378", "59350"]);
    assert_eq!(action["software"][1]["name"], "Nextcloud");
    assert_eq!(action["providers"][0]["name"], "Entr'ouvert");
    assert_eq!(
        action["links"][0]["url"],
        "https://www.marcq-en-baroeul.org/ateliers"
    );

    // Nothing typed for the places: the town hall.
    let mut form = action_form(&session.csrf, "Sans lieu");
    form.retain(|(k, _)| *k != "insee");
    let response = post_form(&app, &session, "/admin/c/marcq/actions/nouvelle", &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = app
        .get_json(app.url("/api/v1/directory/actions?q=sans+lieu"))
        .await;
    let uuid = page["items"][0]["uuid"].as_str().unwrap();
    let (_, action) = api_action(&app, uuid).await;
    assert_eq!(action["location"][0]["insee"], "59378", "{action}");
    assert!(action["location"][0]["point"].is_object(), "{action}");
}

async fn invalid_form_is_shown_again(app: TestApp) {
    let session = sign_in(&app).await;
    let mut form = action_form(&session.csrf, "   ");
    form.retain(|(k, _)| *k != "themes");
    form.push(("themes", "pas-un-theme"));
    form.push(("themes", "solidarites"));
    form.retain(|(k, _)| !["content", "budget_eur", "links", "lat", "end_date"].contains(k));
    form.extend([
        ("content", "Mon texte <tapé> & gardé"),
        ("budget_eur", "beaucoup"),
        ("links", "https://ok.example\r\npas-une-adresse"),
        ("lat", "50.6"),
        ("end_date", "2020-01-01"),
    ]);
    let (status, page) =
        text(post_form(&app, &session, "/admin/c/marcq/actions/nouvelle", &form).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    // Messages next to the fields, linked to them.
    assert!(
        page.contains(
            r#"<span class="field-error" id="name-erreur">Erreur : ne peut pas être vide</span>"#
        ),
        "{page}"
    );
    assert!(
        page.contains(r#"aria-describedby="name-aide name-erreur" aria-invalid="true""#),
        "{page}"
    );
    assert!(
        page.contains(r#"id="themes-erreur">Erreur : thème inconnu « pas-un-theme »</span>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"id="budget_eur-erreur">Erreur : « beaucoup » n&#"#),
        "{page}"
    );
    assert!(
        page.contains(r#"id="links-erreur">Erreur : ligne 2 : "#),
        "{page}"
    );
    assert!(page.contains(r#"id="lon-erreur">"#), "{page}");
    assert!(page.contains(r#"id="end_date-erreur">"#), "{page}");
    assert!(
        page.contains(r##"<a href="#name">Titre : ne peut pas être vide</a>"##),
        "{page}"
    );
    // Everything typed is kept.
    assert!(
        page.contains("Mon texte &#60;tapé&#62; &#38; gardé")
            || page.contains("Mon texte &lt;tapé&gt; &amp; gardé"),
        "{page}"
    );
    assert!(page.contains(r#"value="beaucoup""#), "{page}");
    assert!(page.contains(r#"value="59378, 59350""#), "{page}");
    assert!(page.contains(r#"value="50.6""#), "{page}");
    assert!(
        page.contains(r#"value="Des ateliers pour tous les âges.""#),
        "{page}"
    );
    assert!(page.contains(r#"value="solidarites" checked"#), "{page}");
    assert!(
        !page.contains(r#"value="services-publics" checked"#),
        "{page}"
    );
    assert!(
        page.contains(r#"id="open_to_partners" name="open_to_partners" value="on" checked"#),
        "{page}"
    );
    assert!(
        page.contains(r#"<option value="service" selected>"#),
        "{page}"
    );
    assert!(page.contains("Publik\nNextcloud"), "{page}");
    // Nothing was published.
    let count = app
        .get_json(app.url("/api/v1/collectivites/marcq/actions"))
        .await;
    assert_eq!(count["total"], 0);
    // Junk bodies are form errors, not server errors.
    let response = app
        .client
        .post(app.url("/admin/c/marcq/actions/nouvelle"))
        .header(COOKIE, &session.cookie)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!(
            "csrf={}&name=%FF%FE&themes&phase=%01&lat=nan&budget_eur=99999999999999999999",
            session.csrf
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // A NUL byte in a form is refused before any handler (src/input.rs).
    let response = app
        .client
        .post(app.url("/admin/c/marcq/actions/nouvelle"))
        .header(COOKIE, &session.cookie)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("csrf={}&name=a%00b&phase=%00", session.csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

async fn csrf_is_required(app: TestApp) {
    let session = sign_in(&app).await;
    let publish = |csrf: &'static str| action_form(csrf, "Sans jeton");
    for (path, pairs) in [
        ("/admin/c/marcq/actions/nouvelle", publish("")),
        ("/admin/c/marcq/actions/nouvelle", publish("faux-jeton")),
        ("/admin/c/marcq/profil", vec![("name", "Marcq")]),
        (
            "/admin/c/marcq/profil",
            vec![("csrf", "faux"), ("name", "Marcq")],
        ),
    ] {
        let (status, page) = text(post_form(&app, &session, path, &pairs).await).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {page}");
    }
    let count = app
        .get_json(app.url("/api/v1/collectivites/marcq/actions"))
        .await;
    assert_eq!(count["total"], 0);
    // Deleting needs the token too.
    let token = app.token_for("marcq").await;
    let action = app.publish("marcq", &token, &sample_action()).await;
    let uuid = action["uuid"].as_str().unwrap();
    let path = format!("/admin/c/marcq/actions/{uuid}/supprimer");
    let (status, _) = text(post_form(&app, &session, &path, &[]).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = text(post_form(&app, &session, &path, &[("csrf", "x")]).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = api_action(&app, uuid).await;
    assert_eq!(status, StatusCode::OK);
    // The import too.
    let (status, _) = upload(&app, &session, "faux", Some("nom;description;themes\n")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn other_collectivites_are_hidden(app: TestApp) {
    let session = sign_in(&app).await;
    let lille = app.collectivite_with_token("lille", "59350").await;
    let action = app.publish("lille", &lille, &sample_action()).await;
    let uuid = action["uuid"].as_str().unwrap();
    for path in [
        "/admin/c/lille/actions".to_string(),
        "/admin/c/lille/actions/nouvelle".to_string(),
        "/admin/c/lille/profil".to_string(),
        "/admin/c/lille/import".to_string(),
        format!("/admin/c/lille/actions/{uuid}"),
        format!("/admin/c/marcq/actions/{uuid}"),
        "/admin/c/marcq/actions/pas-un-uuid".to_string(),
        "/admin/c/inconnue/actions".to_string(),
    ] {
        let (status, page) = get(&app, &session, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {page}");
    }
    let csrf = session.csrf.as_str();
    for (path, pairs) in [
        (
            "/admin/c/lille/actions/nouvelle".to_string(),
            action_form(csrf, "Chez les voisins"),
        ),
        (
            format!("/admin/c/marcq/actions/{uuid}"),
            action_form(csrf, "Chez les voisins"),
        ),
        (
            format!("/admin/c/marcq/actions/{uuid}/supprimer"),
            vec![("csrf", csrf)],
        ),
        (
            format!("/admin/c/lille/actions/{uuid}/supprimer"),
            vec![("csrf", csrf)],
        ),
        (
            "/admin/c/lille/profil".to_string(),
            vec![("csrf", csrf), ("name", "Lille")],
        ),
    ] {
        let (status, page) = text(post_form(&app, &session, &path, &pairs).await).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {page}");
    }
    let (status, action) = api_action(&app, uuid).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(action["name"], sample_action()["name"]);
}

async fn edit_and_delete(app: TestApp) {
    let session = sign_in(&app).await;
    let token = app.token_for("marcq").await;
    let published = app.publish("marcq", &token, &sample_action()).await;
    let uuid = published["uuid"].as_str().unwrap().to_string();
    let path = format!("/admin/c/marcq/actions/{uuid}");
    let (status, page) = get(&app, &session, &path).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    // Pre-filled from the stored action, Markdown source included.
    assert!(
        page.contains(r#"value="Guichet numérique des démarches""#),
        "{page}"
    );
    assert!(
        page.contains("La ville ouvre un **guichet numérique**"),
        "{page}"
    );
    assert!(page.contains(r#"value="services-publics" checked"#));
    assert!(page.contains(r#"value="solidarites" checked"#));
    assert!(page.contains(r#"<option value="service" selected>"#));
    assert!(page.contains(r#"value="2023-01-09""#));
    assert!(page.contains(r#"value="45000""#));
    assert!(page.contains(r#"value="59378""#));
    assert!(page.contains(">\nPublik</textarea>"), "{page}");
    assert!(page.contains(r#"<button type="submit">Enregistrer</button>"#));

    // Save with a new title and one more software; the rest as shown.
    let mut form = vec![("csrf", session.csrf.clone())];
    let fields = [
        "name",
        "summary",
        "content",
        "results",
        "recommendations",
        "phase",
        "status",
        "start_date",
        "end_date",
        "budget_eur",
        "insee",
        "lat",
        "lon",
        "software",
        "providers",
        "links",
    ];
    for field in fields {
        form.push((field, input_value(&page, field)));
    }
    form.retain(|(k, _)| *k != "name" && *k != "software");
    form.push(("name", "Guichet numérique, version 2".into()));
    form.push(("software", "Publik\nNextcloud".into()));
    form.push(("themes", "services-publics".into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = post_form(&app, &session, &path, &pairs).await;
    let status = response.status();
    let target = response.headers().get(LOCATION).cloned();
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "{}",
        response.text().await.unwrap()
    );
    assert_eq!(target.unwrap(), "/admin/c/marcq/actions");
    let (_, action) = api_action(&app, &uuid).await;
    assert_eq!(action["name"], "Guichet numérique, version 2");
    assert_eq!(action["themes"], serde_json::json!(["services-publics"]));
    assert_eq!(action["open_to_partners"], false, "unchecked box");
    assert_eq!(action["content_source"], sample_action()["content"]);
    // What the form does not show is kept.
    assert_eq!(action["location"][0]["name"], "Hôtel de ville", "{action}");
    assert_eq!(
        action["software"][0]["url"],
        "https://publik.entrouvert.com/"
    );
    assert_eq!(action["software"][1]["name"], "Nextcloud");
    assert_eq!(action["providers"][0]["siren"], "443170139");
    assert_eq!(action["links"][0]["description"], "Site de la ville");
    assert_eq!(action["contacts_public"], false);
    let owner_view = app
        .client
        .get(app.url(&format!("/api/v1/actions/{uuid}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(owner_view["contacts"][0]["name"], "Camille Martin");
    let (_, list) = get(&app, &session, "/admin/c/marcq/actions").await;
    assert!(list.contains("Guichet numérique, version 2"), "{list}");

    // An invalid edit changes nothing.
    let mut bad = pairs.clone();
    bad.retain(|(k, _)| *k != "start_date");
    bad.push(("start_date", "hier"));
    let (status, page) = text(post_form(&app, &session, &path, &bad).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains(r#"id="start_date-erreur">Erreur : « hier » n&#"#),
        "{page}"
    );
    assert!(page.contains(r#"value="hier""#));

    // Delete.
    let response = post_form(
        &app,
        &session,
        &format!("{path}/supprimer"),
        &[("csrf", &session.csrf)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/admin/c/marcq/actions");
    let (status, _) = api_action(&app, &uuid).await;
    assert_eq!(status, StatusCode::GONE);
    let (_, list) = get(&app, &session, "/admin/c/marcq/actions").await;
    assert!(!list.contains("Guichet numérique"), "{list}");
    let (status, _) = get(&app, &session, &path).await;
    assert_eq!(status, StatusCode::GONE);
    let response = post_form(
        &app,
        &session,
        &format!("{path}/supprimer"),
        &[("csrf", &session.csrf)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::GONE);
}

/// The value of the input or textarea `name` in `page`.
fn input_value(page: &str, name: &str) -> String {
    let marker = format!(r#"id="{name}" name="{name}""#);
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no input {name}"));
    let rest = &page[start..];
    let tag_end = rest.find('>').unwrap();
    let value = if page[..start].ends_with("<textarea ") {
        let body = &rest[tag_end + 1..];
        let body = body.strip_prefix('\n').unwrap_or(body);
        body[..body.find("</textarea>").unwrap()].to_string()
    } else if page[..start].ends_with("<select ") {
        let body = &rest[..rest.find("</select>").unwrap()];
        let selected = body.find(" selected>").unwrap();
        let open = body[..selected].rfind("value=\"").unwrap() + 7;
        body[open..selected - 1].to_string()
    } else {
        let tag = &rest[..tag_end];
        let open = tag.find("value=\"").unwrap() + 7;
        tag[open..open + tag[open..].find('"').unwrap()].to_string()
    };
    unescape(&value)
}

fn unescape(text: &str) -> String {
    text.replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

const PROFILE_FIELDS: [&str; 9] = [
    "name",
    "summary",
    "website",
    "insee",
    "siren",
    "population",
    "street",
    "postal_code",
    "locality",
];

/// The profile form as shown, with `changes`.
async fn profile_form(
    app: &TestApp,
    session: &Session,
    changes: &[(&'static str, &str)],
) -> Vec<(&'static str, String)> {
    let (status, page) = get(app, session, "/admin/c/marcq/profil").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let mut form = vec![("csrf", session.csrf.clone())];
    for field in PROFILE_FIELDS {
        let value = match changes.iter().find(|(f, _)| *f == field) {
            Some((_, value)) => value.to_string(),
            None => input_value(&page, field),
        };
        form.push((field, value));
    }
    form
}

async fn post_profile(
    app: &TestApp,
    session: &Session,
    form: &[(&'static str, String)],
) -> reqwest::Response {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    post_form(app, session, "/admin/c/marcq/profil", &pairs).await
}

async fn profile_edit(app: TestApp) {
    let session = sign_in(&app).await;
    let (status, page) = get(&app, &session, "/admin/c/marcq/profil").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(r#"value="Marcq-en-Barœul""#), "{page}");
    assert!(page.contains(r#"value="59378""#));
    assert!(page.contains("<label for=\"website\">Site web</label>"));
    for field in PROFILE_FIELDS {
        assert!(
            page.contains(&format!(r#"<label for="{field}">"#)),
            "label of {field}"
        );
    }

    let form = profile_form(
        &app,
        &session,
        &[
            ("summary", "Ville connectée et solidaire."),
            ("website", "https://www.marcq-en-baroeul.org"),
            ("street", "88 place du Général de Gaulle"),
        ],
    )
    .await;
    let response = post_profile(&app, &session, &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/admin/c/marcq/profil?enregistre");
    let profile = app.get_json(app.url("/api/v1/collectivites/marcq")).await;
    assert_eq!(profile["summary"], "Ville connectée et solidaire.");
    assert_eq!(profile["website"], "https://www.marcq-en-baroeul.org/");
    assert_eq!(
        profile["address"]["street"],
        "88 place du Général de Gaulle"
    );
    assert_eq!(profile["address"]["postal_code"], "59700");
    assert_eq!(profile["name"], "Marcq-en-Barœul");
    let old_siren = profile["siren"].clone();
    let (_, page) = get(&app, &session, "/admin/c/marcq/profil?enregistre").await;
    assert!(page.contains("Profil enregistré"));

    // Errors next to the fields, everything typed kept.
    let form = profile_form(
        &app,
        &session,
        &[
            ("website", "pas une adresse"),
            ("insee", "99999"),
            ("population", "beaucoup"),
            ("summary", "Gardé <tel quel>"),
        ],
    )
    .await;
    let (status, page) = text(post_profile(&app, &session, &form).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(
        page.contains(r#"id="website-erreur">Erreur : « pas une adresse »"#),
        "{page}"
    );
    assert!(
        page.contains(r#"id="insee-erreur">Erreur : aucune commune actuelle"#),
        "{page}"
    );
    assert!(page.contains(r#"id="population-erreur">"#), "{page}");
    assert!(!page.contains(r#"id="name-erreur""#), "{page}");
    assert!(page.contains(r#"value="pas une adresse""#));
    assert!(page.contains(r#"value="99999""#));
    assert_eq!(input_value(&page, "summary"), "Gardé <tel quel>");
    let profile = app.get_json(app.url("/api/v1/collectivites/marcq")).await;
    assert_eq!(profile["insee"], "59378");
    assert_eq!(profile["summary"], "Ville connectée et solidaire.");

    // A new INSEE code fills what came from the old one and was left as shown.
    let form = profile_form(&app, &session, &[("insee", "59350")]).await;
    let response = post_profile(&app, &session, &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let profile = app.get_json(app.url("/api/v1/collectivites/marcq")).await;
    assert_eq!(profile["insee"], "59350");
    assert_eq!(profile["name"], "Lille", "{profile}");
    assert_ne!(profile["siren"], old_siren, "{profile}");
    assert_eq!(profile["address"]["locality"], "Lille", "{profile}");
    assert_eq!(profile["summary"], "Ville connectée et solidaire.");
    // The username cannot change, whatever is posted.
    let response = post_form(
        &app,
        &session,
        "/admin/c/marcq/profil",
        &[
            ("csrf", &session.csrf),
            ("insee", "59350"),
            ("username", "autre"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let profile = app.get_json(app.url("/api/v1/collectivites/marcq")).await;
    assert_eq!(profile["username"], "marcq");
    assert_eq!(profile["name"], "Lille");
}

/// POSTs a `multipart/form-data` upload (`csrf`, and `file` when given).
async fn upload(
    app: &TestApp,
    session: &Session,
    csrf: &str,
    file: Option<&str>,
) -> (StatusCode, String) {
    let boundary = "----maillage-test-boundary";
    let mut body =
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n");
    match file {
        Some(content) => body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"actions.csv\"\r\nContent-Type: text/csv\r\n\r\n{content}\r\n"
        )),
        None => body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\"\r\nContent-Type: application/octet-stream\r\n\r\n\r\n"
        )),
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    let response = app
        .client
        .post(app.url("/admin/c/marcq/import"))
        .header(COOKIE, &session.cookie)
        .header(
            CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    text(response).await
}

async fn csv_import(app: TestApp) {
    let session = sign_in(&app).await;
    let (status, page) = get(&app, &session, "/admin/c/marcq/import").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"enctype="multipart/form-data""#));
    assert!(page.contains(
        r#"<label for="file">Fichier CSV <span class="required">(obligatoire)</span></label>"#
    ));
    assert!(page.contains("<code>themes</code> (obligatoire)"), "{page}");
    let csv = "reference;nom;description;themes;phase\n\
               A1;Atelier numérique;Des ateliers **chaque semaine**;services-publics;service\n\
               A2;Sans thème connu;Du texte;pas-un-theme;\n\
               A3;Budget participatif;Les habitants votent;democratie-locale;\n";
    let (status, page) = upload(&app, &session, &session.csrf, Some(csv)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("3 lignes : 2 créées, 0 mise à jour, 0 inchangée, 1 rejetée"),
        "{page}"
    );
    assert!(
        page.contains("<th scope=\"row\">ligne 3</th><td>Sans thème connu</td>"),
        "{page}"
    );
    assert!(
        page.contains("themes : thème inconnu « pas-un-theme »"),
        "{page}"
    );
    let (_, list) = get(&app, &session, "/admin/c/marcq/actions").await;
    assert!(list.contains("Atelier numérique"), "{list}");
    assert!(list.contains("Budget participatif"), "{list}");
    // Importing again duplicates nothing.
    let (status, page) = upload(&app, &session, &session.csrf, Some(csv)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("0 créée, 0 mise à jour, 2 inchangées, 1 rejetée"),
        "{page}"
    );
    let count = app
        .get_json(app.url("/api/v1/collectivites/marcq/actions"))
        .await;
    assert_eq!(count["total"], 2);
    // A file that cannot be read, or no file: the page with the error.
    let (status, page) = upload(&app, &session, &session.csrf, Some("titre;texte\nx;y\n")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("ligne 1 : colonne inconnue « texte »"),
        "{page}"
    );
    let (status, page) = upload(&app, &session, &session.csrf, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("choisissez un fichier"), "{page}");
    // A NUL byte in a cell (a UTF-16 file, or a hostile one): the page with the line,
    // never a 500 (PostgreSQL cannot store a NUL in text), nothing imported.
    let (status, page) = upload(
        &app,
        &session,
        &session.csrf,
        Some(
            "reference;nom;description;themes
A9;Atelier\0nul;Du texte;culture
",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(
        page.contains("ligne 2 : le fichier contient un octet nul"),
        "{page}"
    );
    // Not multipart at all: a client error.
    let response = post_form(
        &app,
        &session,
        "/admin/c/marcq/import",
        &[("csrf", &session.csrf)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

both_engines!(
    sign_in_errors,
    publish_through_the_form,
    invalid_form_is_shown_again,
    csrf_is_required,
    other_collectivites_are_hidden,
    edit_and_delete,
    profile_edit,
    csv_import,
    where_to_after_sign_in,
);

/// After signing in: back to the admin page asked for, never elsewhere, and never a
/// `500` for a `suivant` that cannot be a `Location` (a line break).
async fn where_to_after_sign_in(app: TestApp) {
    app.collectivite_with_token("marcq", "59378").await;
    create_marie(&app).await;
    for (next, expected) in [
        ("/admin/c/marcq/actions", "/admin/c/marcq/actions"),
        ("https://ailleurs.example/admin", "/admin"),
        ("//ailleurs.example/admin", "/admin"),
        ("/admin\r\nSet-Cookie: x=y", "/admin"),
        ("/admin/c/marcq\u{7f}", "/admin"),
    ] {
        let response = app
            .post_sign_in(
                &[
                    ("username", "marie"),
                    ("password", PASSWORD),
                    ("suivant", next),
                ],
                None,
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(location(&response), expected, "{next:?}");
    }
}

/// The admin map picker shows the tiles of `map.provider`, as the public pages do, and
/// says who serves them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn map_picker_uses_the_provider() {
    let app = spawn_app_with(Engine::Sqlite, |s| {
        s.map.provider = Some(maillage::config::TileProvider::Ign);
    })
    .await
    .unwrap();
    let session = sign_in(&app).await;
    let (status, page) = get(&app, &session, "/admin/c/marcq/actions/nouvelle").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let picker = &page[page.find("map-picker").expect("the picker")..];
    assert!(
        picker.contains("data-tiles=\"https://data.geopf.fr/wmts"),
        "{picker}"
    );
    assert!(picker.contains("Le fond de carte vient de l"), "{picker}");
}

//! HTML pages: French, server-rendered, escaped, linked to each other.

use reqwest::StatusCode;

use crate::both_engines;
use crate::helpers::{Engine, TestApp, sample_action, spawn_app, spawn_app_with};

both_engines!(pages_show_collectivites_and_actions);

async fn pages_show_collectivites_and_actions(app: TestApp) {
    let token = app.collectivite_with_token("marcq", "59378").await;
    let created = app.publish("marcq", &token, &sample_action()).await;

    let response = app.client.get(app.url("/")).send().await.unwrap();
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let (status, home) = app.get_html("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(home.contains("<html lang=\"fr\">"));
    assert!(home.contains("Marcq-en-Barœul"));
    assert!(home.contains("Guichet numérique des démarches"));
    // The sample action is open to partners: its card says so.
    assert!(home.contains("<p class=\"badge\">Cherche des collectivités partenaires</p>"));

    let (_, collectivite) = app.get_html("/actors/marcq").await;
    assert!(collectivite.contains("215903782"));
    assert!(collectivite.contains("Métropole Européenne de Lille"));
    assert!(collectivite.contains(&format!("@marcq@{}", app.domain)));
    assert!(collectivite.contains(created["id"].as_str().unwrap()));

    let (_, action) = app.get_html(created["id"].as_str().unwrap()).await;
    assert!(action.contains("<strong>guichet numérique</strong>"));
    assert!(action.contains("Résultats"));
    assert!(action.contains("Efficacité des services publics"));
    assert!(action.contains("Cette action cherche des partenaires"));
    assert!(action.contains("Publik (AGPL-3.0-or-later)"));
    assert!(action.contains("45\u{202f}000 €"));
    assert!(action.contains("du 9 janvier 2023 au 31 décembre 2025"));

    let (status, theme) = app.get_html("/themes/solidarites").await;
    assert_eq!(status, StatusCode::OK);
    assert!(theme.contains("Guichet numérique des démarches"));
    let (status, _) = app.get_html("/themes/cuisine").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Territory, "who uses what" and statistics pages.
    let (status, nord) = app.get_html("/departements/59").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        nord.contains("<h1>Nord (59)</h1>") && nord.contains("Guichet numérique des démarches")
    );
    let (_, region) = app.get_html("/regions/32").await;
    assert!(region.contains("Hauts-de-France") && region.contains("Marcq-en-Barœul"));
    let (status, _) = app.get_html("/departements/00").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, publik) = app.get_html("/logiciels/publik").await;
    assert!(
        publik.contains("Utilisé par 1 collectivité<") && publik.contains("Marcq-en-Barœul"),
        "{publik}"
    );
    let (_, provider) = app.get_html("/prestataires/443170139").await;
    assert!(provider.contains("Guichet numérique des démarches"));
    let (status, stats) = app.get_html("/statistiques").await;
    assert_eq!(status, StatusCode::OK);
    assert!(stats.contains("<table class=\"chart\">") && stats.contains("Actions par thème"));
    assert!(stats.contains("Efficacité des services publics"));
    // The action page links its software and shows its places on a small map.
    assert!(
        action.contains("href=\"/logiciels/Publik\""),
        "software link"
    );
    assert!(action.contains("class=\"mini-map\""));

    let css = app
        .client
        .get(app.url("/static/maillage.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
}

both_engines!(openapi_describes_the_api);

async fn openapi_describes_the_api(app: TestApp) {
    let document: serde_json::Value = app.get_json(app.url("/api/openapi.json")).await;
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = document["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/api/v1/collectivites", &["get", "post"][..]),
        ("/api/v1/collectivites/{username}", &["get", "patch"]),
        ("/api/v1/collectivites/{username}/actions", &["get", "post"]),
        ("/api/v1/actions/{id}", &["get", "patch", "delete"]),
    ] {
        for method in methods {
            assert!(paths[path].get(*method).is_some(), "{method} {path}");
        }
    }
    let schemas = document["components"]["schemas"].as_object().unwrap();
    for schema in [
        "ActionBody",
        "ActionView",
        "CollectiviteBody",
        "CollectiviteView",
        "Problem",
    ] {
        assert!(schemas.contains_key(schema), "{schema}");
    }
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

/// Issue 18: words for citizens, not developers; French plurals, numbers and months.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_speak_plain_french() {
    let app = spawn_app_with(Engine::Sqlite, |s| {
        s.node.contact = "accessibilite@ville.example".into();
    })
    .await
    .unwrap();
    let (_, empty) = app.get_html("/").await;
    assert!(
        !empty.contains("maillage collectivite create"),
        "no CLI on the home page"
    );
    let towns = maillage::cli::demo::seed_one_node(&app.state)
        .await
        .unwrap();
    assert_eq!(towns.len(), 6);

    let (_, home) = app.get_html("/").await;
    for developer_word in [
        ">Vocabulaire<",
        ">API<",
        "(agrégateur)",
        "action(s)",
        "collectivité(s)",
    ] {
        assert!(
            !home.contains(developer_word),
            "home page shows {developer_word}"
        );
    }
    assert!(
        home.contains("Données ouvertes (tableur CSV)") && home.contains("href=\"/accessibilite\"")
    );
    assert!(home.contains("Sur cette page, vous pouvez chercher"));
    assert!(home.contains("45 actions trouvées"), "count in words");

    // Population with French thousands separators; no raw coordinates.
    let (_, rennes) = app.get_html("/actors/rennes").await;
    assert!(
        rennes.contains("\u{202f}") && rennes.contains(" habitants</dd>"),
        "population written 230 890 habitants"
    );
    assert!(!rennes.contains("Mairie</dt>"), "no coordinates");
    assert!(rennes.contains("Ce que vous pouvez faire"));

    // Plurals on a département page.
    let (_, nord) = app.get_html("/departements/59").await;
    assert!(
        nord.contains("Dans ce département, 3 collectivités publient leurs actions ici"),
        "{nord}"
    );
    // Months by name on the statistics page.
    let (_, stats) = app.get_html("/statistiques").await;
    let now = chrono::Utc::now();
    assert!(
        !stats.contains(&now.format("%Y-%m").to_string()),
        "no 2026-12"
    );
    assert!(
        stats.contains(&maillage::web::words::month(
            &now.format("%Y-%m").to_string()
        )),
        "month in French"
    );

    // The accessibility declaration, with the contact and the recourse.
    let (status, declaration) = app.get_html("/accessibilite").await;
    assert_eq!(status, StatusCode::OK);
    // No audit has been made: the status the law requires without one, in the
    // declaration and in the public and admin footers.
    assert!(
        declaration.contains("<strong>non conforme</strong>"),
        "{declaration}"
    );
    assert!(!declaration.contains("partiellement conforme"));
    let (_, sign_in) = app.get_html("/admin/connexion").await;
    for page in [&declaration, &home, &sign_in] {
        assert!(page.contains("Accessibilité : non conforme</a>"));
        assert!(!page.contains("partiellement conforme"));
    }
    assert!(declaration.contains("href=\"mailto:accessibilite@ville.example\""));
    assert!(declaration.contains("Défenseur des droits"));
    assert!(declaration.contains("axe-core"));

    // Past the last page, no « Actions 101 à 100 sur 1 ».
    let (_, beyond) = app.get_html("/?cursor=100").await;
    assert!(!beyond.contains("Actions 101"), "{beyond}");

    // No third-party tiles by default; when configured, the page says so.
    assert!(home.contains("data-tiles=\"\""));
    let ign = spawn_app_with(Engine::Sqlite, |s| {
        s.map.provider = Some(maillage::config::TileProvider::Ign);
    })
    .await
    .unwrap();
    let (_, ign_home) = ign.get_html("/").await;
    assert!(ign_home.contains("data.geopf.fr/wmts"));
    assert!(
        ign_home.contains("Le fond de carte vient de l&#39;IGN")
            || ign_home.contains("Le fond de carte vient de l'IGN"),
        "{ign_home}"
    );
}

/// Issue 18 point 3: text answers are compressed as the client asks (gzip, brotli),
/// images are not, streamed exports stay streamed; static files revalidate with
/// `304`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_are_compressed_and_static_files_revalidate() {
    let app = spawn_app(Engine::Sqlite).await.unwrap();
    let token = app.collectivite_with_token("marcq", "59378").await;
    app.publish("marcq", &token, &sample_action()).await;
    for (path, accept) in [
        ("/", "text/html"),
        ("/api/v1/directory/actions", "application/json"),
        ("/static/map.js", "*/*"),
        ("/static/maillage.css", "text/css"),
        ("/static/france-outline.geojson", "*/*"),
        ("/directory.geojson", "application/geo+json"),
        ("/directory.csv", "text/csv"),
    ] {
        for encoding in ["gzip", "br"] {
            let response = app
                .client
                .get(app.url(path))
                .header("accept", accept)
                .header("accept-encoding", encoding)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(
                response.headers()["content-encoding"],
                encoding,
                "{path} in {encoding}"
            );
            let body = response.bytes().await.unwrap();
            if encoding == "gzip" {
                assert_eq!(&body[..2], &[0x1f, 0x8b], "{path}: a gzip stream");
            }
        }
    }
    let png = app
        .client
        .get(app.url("/static/vendor/leaflet/images/layers.png"))
        .header("accept-encoding", "gzip, br")
        .send()
        .await
        .unwrap();
    assert!(
        png.headers().get("content-encoding").is_none(),
        "images as they are"
    );
    // A client that asks for nothing gets plain bytes.
    let plain = app.client.get(app.url("/")).send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    // The streamed CSV export, gzipped, holds the same bytes as the plain one.
    let csv = |encoding: &'static str| {
        let request = app.client.get(app.url("/directory.csv"));
        async move {
            let response = request
                .header("accept-encoding", encoding)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.bytes().await.unwrap()
        }
    };
    let plain_csv = csv("identity").await;
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&csv("gzip").await[..]),
        &mut unzipped,
    )
    .unwrap();
    assert!(plain_csv.len() > 100, "the export holds the action");
    assert_eq!(unzipped, plain_csv.to_vec(), "gzip CSV = plain CSV");
    // Admin pages carry the CSRF token beside federated text: never compressed (BREACH),
    // the sign-in form as the rest.
    for path in ["/admin/connexion"] {
        let admin = app
            .client
            .get(app.url(path))
            .header("accept-encoding", "gzip, br")
            .send()
            .await
            .unwrap();
        assert!(
            admin.headers().get("content-encoding").is_none(),
            "{path} compressed"
        );
        let body = admin.text().await.unwrap();
        assert!(
            body.contains("<html") || body.contains("<!DOCTYPE"),
            "{path}: {body}"
        );
    }

    let first = app
        .client
        .get(app.url("/static/map.js"))
        .send()
        .await
        .unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    let modified = first.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_string();
    // Weak: the same tag names the plain and the compressed bytes.
    assert!(etag.starts_with("W/\"") && etag.len() > 10, "{etag}");
    for (header, value) in [
        ("if-none-match", etag.as_str()),
        ("if-modified-since", modified.as_str()),
    ] {
        let again = app
            .client
            .get(app.url("/static/map.js"))
            .header(header, value)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{header}");
        assert_eq!(again.headers()["etag"], etag.as_str());
        assert_eq!(again.headers()["vary"], "accept-encoding", "{header}");
        assert!(again.bytes().await.unwrap().is_empty());
    }
    let changed = app
        .client
        .get(app.url("/static/map.js"))
        .header("if-none-match", "\"autre\"")
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    assert!(!changed.bytes().await.unwrap().is_empty());
}

/// Issue 18: the footer of every page, error pages included, and the declaration state
/// the conformance the operator's audit measured (`[accessibility]`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_declared_conformance_is_on_every_page() {
    let a = crate::helpers::spawn_app_with(crate::helpers::Engine::Sqlite, |s| {
        s.accessibility.audit_date = "2026-10-01".into();
        s.accessibility.audited_by = "Access42".into();
        s.accessibility.compliance_rate = Some(75);
        s.accessibility.schema_url = "https://ville.example/schema".into();
    })
    .await
    .unwrap();
    let plain = crate::helpers::spawn_app(crate::helpers::Engine::Sqlite)
        .await
        .unwrap();
    for path in [
        "/",
        "/statistiques",
        "/page-qui-n-existe-pas",
        "/admin/connexion",
    ] {
        let (_, page) = a.get_html(path).await;
        assert!(
            page.contains("Accessibilité : partiellement conforme"),
            "{path}: {page}"
        );
        let (_, page) = plain.get_html(path).await;
        assert!(
            page.contains("Accessibilité : non conforme"),
            "{path}: {page}"
        );
    }
    let (_, page) = a.get_html("/accessibilite").await;
    assert!(
        page.contains("<strong>partiellement conforme</strong>"),
        "{page}"
    );
    assert!(
        page.contains("réalisé le 1er octobre 2026 par Access42 révèle que 75 %"),
        "{page}"
    );
    assert!(
        page.contains("href=\"https://ville.example/schema\""),
        "{page}"
    );
    let (_, page) = plain.get_html("/accessibilite").await;
    assert!(page.contains("Aucun audit de conformité"), "{page}");
}

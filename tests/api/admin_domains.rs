//! The domain policy on the node admins' page « Blocages et signalements » over real
//! HTTP: the mode, allowed domains added (errors next to the field) and removed,
//! Mastodon CSV files imported (counts and lines left out) and exported, node admins
//! only, CSRF required.

use reqwest::StatusCode;

use crate::admin_browser::{Session, account, attribute_after, described_by, text_of_id};
use crate::both_engines;
use crate::helpers::{Engine, TestApp, spawn_app_with};

both_engines!(domain_policy_page);

const MASTODON_BLOCKS: &str = "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n\
spam.example,suspend,true,true,\"Spam, en masse\",false\n\
bruit.example,noop,false,false,,false\n\
sp*m.example,suspend,true,true,,true\n";

/// POSTs the import form (`multipart/form-data`); `None` leaves a part out.
async fn upload(
    session: &Session<'_>,
    csrf: Option<&str>,
    list: &str,
    file: Option<&[u8]>,
) -> (StatusCode, String) {
    let boundary = "----maillage-test-boundary";
    let mut body = Vec::new();
    let mut part = |name: &str, filename: Option<&str>, content: &[u8]| {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"").as_bytes(),
        );
        if let Some(filename) = filename {
            body.extend_from_slice(
                format!("; filename=\"{filename}\"\r\nContent-Type: text/csv").as_bytes(),
            );
        }
        body.extend_from_slice(b"\r\n\r\n");
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    };
    if let Some(csrf) = csrf {
        part("csrf", None, csrf.as_bytes());
    }
    part("list", None, list.as_bytes());
    match file {
        Some(content) => part("file", Some("domain_blocks.csv"), content),
        None => part("file", Some(""), b""),
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let response = session
        .app
        .client
        .post(session.app.url("/admin/blocages/import"))
        .header("cookie", &session.cookie)
        .header("accept", "text/html")
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

/// GETs an export: status, content type, disposition, body.
async fn download(session: &Session<'_>, path: &str) -> (StatusCode, String, String, String) {
    let response = session
        .app
        .client
        .get(session.app.url(path))
        .header("cookie", &session.cookie)
        .send()
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let (content_type, disposition) = (header("content-type"), header("content-disposition"));
    (
        response.status(),
        content_type,
        disposition,
        response.text().await.unwrap(),
    )
}

async fn allowed(app: &TestApp) -> Vec<String> {
    let allows = app.state.store.allows().await.unwrap();
    allows.into_iter().map(|a| a.domain).collect()
}

async fn blocked(app: &TestApp) -> Vec<String> {
    let blocks = app.state.store.blocks().await.unwrap();
    blocks.into_iter().map(|b| b.target).collect()
}

async fn domain_policy_page(a: TestApp) {
    a.create_collectivite("marcq", "59378").await;
    account(&a, "marie", &["marcq"], false).await;
    account(&a, "admin", &[], true).await;
    let admin = Session::sign_in(&a, "admin").await;
    let csrf = admin.csrf().await;

    // The mode, the lists, the forms.
    let (status, page) = admin.get("/admin/blocages").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Mode liste de blocage"), "{page}");
    assert!(page.contains("federation.allowlist_mode"), "{page}");
    assert!(page.contains("Domaines autorisés (0)"), "{page}");
    assert!(page.contains(r#"href="/admin/blocages/export.csv""#));
    assert!(page.contains(r#"href="/admin/autorisations/export.csv""#));
    assert!(page.contains(r#"action="/admin/blocages/import" enctype="multipart/form-data""#));
    assert!(page.contains(
        r#"<label for="file">Fichier CSV <span class="required">(obligatoire)</span></label>"#
    ));
    assert_eq!(described_by(&page, "id=\"file\""), ["file-aide"]);

    // Allow a domain: bad input comes back next to the field, with what was typed.
    for (typed, expected) in [
        ("pas un domaine", "pas un nom de domaine"),
        ("sp*m.example", "masqué"),
        (
            "https://ville.example/users/a",
            "nom de domaine est attendu",
        ),
        ("  ", "obligatoire"),
    ] {
        let (status, _, page) = admin
            .post(
                "/admin/autorisations",
                &[
                    ("csrf", &csrf),
                    ("domain", typed),
                    ("allow_reason", "partenaire"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{typed}: {page}");
        let error = text_of_id(&page, "domain-erreur");
        assert!(error.contains(expected), "{typed}: {error}");
        assert_eq!(
            described_by(&page, "id=\"domain\""),
            ["domain-aide", "domain-erreur"]
        );
        assert!(page.contains("aria-invalid=\"true\""));
        assert_eq!(
            attribute_after(&page, "id=\"domain\"", "value").unwrap(),
            typed.trim()
        );
        assert_eq!(
            attribute_after(&page, "id=\"allow_reason\"", "value").unwrap(),
            "partenaire"
        );
        // The block form is left alone.
        assert_eq!(described_by(&page, "id=\"target\""), ["target-aide"]);
    }
    let long = "x".repeat(501);
    let (status, _, page) = admin
        .post(
            "/admin/autorisations",
            &[
                ("csrf", &csrf),
                ("domain", "ville.example"),
                ("allow_reason", &long),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text_of_id(&page, "allow_reason-erreur").contains("500 caractères au plus"));
    assert!(allowed(&a).await.is_empty());

    let (status, location, _) = admin
        .post(
            "/admin/autorisations",
            &[
                ("csrf", &csrf),
                ("domain", " Ville.Example "),
                ("allow_reason", "partenaire"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "/admin/blocages?fait=autorisation");
    assert_eq!(allowed(&a).await, ["ville.example"]);
    let id = a.state.store.allows().await.unwrap()[0].id;
    let (_, page) = admin.get(&location).await;
    assert!(page.contains("Domaine autorisé : l"), "{page}");
    assert!(page.contains("Domaines autorisés (1)"), "{page}");
    assert!(
        page.contains(&format!(
            "<th scope=\"row\" id=\"autorise-{id}\" class=\"handle\">ville.example</th><td data-label=\"Motif\">partenaire</td>"
        )),
        "{page}"
    );
    assert!(page.contains(&format!("action=\"/admin/autorisations/{id}/retirer\"")));
    assert!(page.contains(&format!(
        "aria-describedby=\"autorise-{id}\">Retirer</button>"
    )));

    // Remove it; then it is gone.
    for (path, wanted) in [
        (
            format!("/admin/autorisations/{id}/retirer"),
            StatusCode::SEE_OTHER,
        ),
        (
            format!("/admin/autorisations/{id}/retirer"),
            StatusCode::NOT_FOUND,
        ),
        (
            "/admin/autorisations/x/retirer".to_string(),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (status, location, page) = admin.post(&path, &[("csrf", &csrf)]).await;
        assert_eq!(status, wanted, "{path}: {page}");
        if status == StatusCode::SEE_OTHER {
            assert_eq!(location, "/admin/blocages?fait=retire");
        }
    }
    assert!(allowed(&a).await.is_empty());
    let (_, page) = admin.get("/admin/blocages?fait=retire").await;
    assert!(
        page.contains("Domaine retiré des domaines autorisés."),
        "{page}"
    );

    // Import Mastodon's domain blocks: good lines go in, the others are listed.
    let (status, page) = upload(
        &admin,
        Some(&csrf),
        "blocages",
        Some(MASTODON_BLOCKS.as_bytes()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("1 domaine importé, 1 ignoré, 1 refusé"),
        "{page}"
    );
    assert!(
        page.contains("<li>ligne 4 : sp*m.example : « sp*m.example » est masqué (obfuscate)"),
        "{page}"
    );
    assert!(
        page.contains("<li>ligne 3 : bruit.example : sévérité « noop »"),
        "{page}"
    );
    assert!(page.contains("role=\"status\""));
    assert_eq!(blocked(&a).await, ["spam.example"]);
    assert!(page.contains(">Lever</button>"), "the block is listed");
    // Allowed domains, Mastodon's `#domain` file.
    let (status, page) = upload(
        &admin,
        Some(&csrf),
        "autorisations",
        Some("#domain\nami.example\nautre.example\n".as_bytes()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("Résultat de l'import (domaines autorisés)"),
        "{page}"
    );
    assert!(
        page.contains("2 domaines importés, 0 ignoré, 0 refusé"),
        "{page}"
    );
    assert!(page.contains(r#"value="autorisations" checked"#), "{page}");
    assert_eq!(allowed(&a).await, ["ami.example", "autre.example"]);

    // Files that cannot be read: the page, the error next to the file field.
    for (file, expected) in [
        (Some(&b"\xffspam.example\n\xe9t\xe9.example\n"[..]), "UTF-8"),
        (Some(&b"#domain\nnul\0.example\n"[..]), "octet nul"),
        (None, "choisissez un fichier"),
    ] {
        let (status, page) = upload(&admin, Some(&csrf), "blocages", file).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
        assert!(
            text_of_id(&page, "file-erreur").contains(expected),
            "{page}"
        );
        assert_eq!(
            described_by(&page, "id=\"file\""),
            ["file-aide", "file-erreur"]
        );
    }
    assert_eq!(blocked(&a).await, ["spam.example"]);

    // Exports, in Mastodon's formats.
    let (status, content_type, disposition, csv) =
        download(&admin, "/admin/blocages/export.csv").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "text/csv; charset=utf-8");
    assert_eq!(disposition, "attachment; filename=\"domain_blocks.csv\"");
    assert_eq!(
        csv,
        "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n\
         spam.example,suspend,true,true,\"Spam, en masse\",false\n"
    );
    let (status, content_type, disposition, csv) =
        download(&admin, "/admin/autorisations/export.csv").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "text/csv; charset=utf-8");
    assert_eq!(disposition, "attachment; filename=\"domain_allows.csv\"");
    assert_eq!(csv, "#domain\nami.example\nautre.example\n");

    // CSRF: missing or foreign, refused, nothing changes.
    let (status, page) = upload(
        &admin,
        None,
        "blocages",
        Some(b"autre-spam.example\n".as_slice()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    assert!(page.contains("formulaire expiré"), "{page}");
    let (status, _) = upload(
        &admin,
        Some("faux"),
        "blocages",
        Some(b"autre-spam.example\n".as_slice()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for fields in [
        vec![("domain", "autre.example")],
        vec![("csrf", "faux"), ("domain", "autre.example")],
    ] {
        let (status, _, _) = admin.post("/admin/autorisations", &fields).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let ami = a.state.store.allows().await.unwrap()[0].id;
    let (status, _, _) = admin
        .post(&format!("/admin/autorisations/{ami}/retirer"), &[])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(blocked(&a).await, ["spam.example"]);
    assert_eq!(allowed(&a).await, ["ami.example", "autre.example"]);

    // Node admins only: an editor gets 403 everywhere here, signed-out visitors the
    // sign-in page.
    let marie = Session::sign_in(&a, "marie").await;
    let marie_csrf = marie.csrf().await;
    for path in [
        "/admin/blocages/export.csv",
        "/admin/autorisations/export.csv",
    ] {
        let (status, _, _, body) = download(&marie, path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(!body.contains("ami.example"), "{path}");
        let response = a.client.get(a.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
    }
    let (status, _) = upload(
        &marie,
        Some(&marie_csrf),
        "blocages",
        Some(b"autre-spam.example\n".as_slice()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = marie
        .post(
            "/admin/autorisations",
            &[("csrf", &marie_csrf), ("domain", "autre.example")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = marie
        .post(
            &format!("/admin/autorisations/{ami}/retirer"),
            &[("csrf", &marie_csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(blocked(&a).await, ["spam.example"]);
    assert_eq!(allowed(&a).await, ["ami.example", "autre.example"]);
}

/// In allow-list mode the page says so, and lists the domains of the configuration
/// file (without buttons), which the exports carry too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowlist_mode_and_configured_domains() {
    let a = spawn_app_with(Engine::Sqlite, |s| {
        s.federation.allowlist_mode = true;
        s.federation.allowed_domains = vec!["Conf-Ami.Example".into()];
        s.federation.blocked_domains = vec!["conf-spam.example".into()];
    })
    .await
    .unwrap();
    account(&a, "admin", &[], true).await;
    let admin = Session::sign_in(&a, "admin").await;
    let (status, page) = admin.get("/admin/blocages").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains(
            "Mode liste d'autorisation : seuls les domaines autorisés fédèrent avec ce nœud"
        ),
        "{page}"
    );
    assert!(!page.contains("Mode liste de blocage"));
    assert!(
        page.contains(
            "<th scope=\"row\" class=\"handle\">conf-ami.example</th><td>(fichier de configuration)</td>"
        ),
        "{page}"
    );
    assert!(
        page.contains(
            "<th scope=\"row\" class=\"handle\">conf-spam.example</th><td>domaine</td><td>(fichier de configuration)</td>"
        ),
        "{page}"
    );
    assert!(page.contains("Domaines autorisés (1)"), "{page}");
    assert!(page.contains("Blocages en vigueur (1)"), "{page}");
    assert!(!page.contains(">Retirer</button>") && !page.contains(">Lever</button>"));
    let (_, _, _, csv) = download(&admin, "/admin/autorisations/export.csv").await;
    assert_eq!(csv, "#domain\nconf-ami.example\n");
    let (_, _, _, csv) = download(&admin, "/admin/blocages/export.csv").await;
    assert!(
        csv.ends_with("\nconf-spam.example,suspend,true,true,federation.blocked_domains,false\n"),
        "{csv}"
    );
}

//! The domain policy: allow-list mode applied to inbound activities and fetches, and
//! the lists moved in and out as Mastodon CSV (API and CLI), live without restart.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_engines;
use crate::cli::{fails, ok};
use crate::cli_ops::maillage;
use crate::helpers::{
    Engine, TestApp, assert_problem, post_signed, post_signed_with, spawn_app, spawn_app_with,
};

both_engines!(mastodon_csv_round_trip);
both_engines!(a_nul_byte_in_a_domain_list_is_refused_by_line);

const MASTODON_EXPORT: &str = "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n\
spam.example,suspend,true,true,\"Spam, en masse\",false\n\
bruit.example,silence,false,false,,false\n\
rien.example,noop,false,false,,false\n\
sp*m2.example,suspend,true,true,,true\n\
pas un domaine,suspend,true,true,,false\n\
https://x.example/users/a,suspend,true,true,,false\n";

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    app.client
        .request(method, app.url(path))
        .bearer_auth(&app.admin_token)
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn get_as_admin(app: &TestApp, path: &str) -> Value {
    send(app, reqwest::Method::GET, path, vec![])
        .await
        .json()
        .await
        .unwrap()
}

async fn a_nul_byte_in_a_domain_list_is_refused_by_line(app: TestApp) {
    // A NUL in a comment or a domain (a UTF-16 file, or a hostile one): PostgreSQL
    // cannot store it, so the file is refused as a whole with the line, nothing goes in.
    for (path, body) in [
        (
            "/api/v1/moderation/blocks/import",
            &b"#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n\
               bon.example,suspend,true,true,,false\n\
               spam.example,suspend,true,true,Spam\0cach\xc3\xa9,false\n"[..],
        ),
        (
            "/api/v1/moderation/allows/import",
            &b"#domain\nami.example\nnul\0.example\n"[..],
        ),
    ] {
        let response = send(&app, reqwest::Method::POST, path, body.to_vec()).await;
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        let message = problem["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("ligne 3 : le fichier contient un octet nul"),
            "{path}: {problem}"
        );
    }
    assert!(!app.state.blocks.domain("bon.example"));
    assert!(!app.state.blocks.domain("spam.example"));
    let blocks = get_as_admin(&app, "/api/v1/moderation/blocks").await;
    assert_eq!(blocks, json!([]));
    let allows = get_as_admin(&app, "/api/v1/moderation/allows").await;
    assert_eq!(allows, json!([]));
}

async fn mastodon_csv_round_trip(app: TestApp) {
    // Node-admin only.
    let marcq = app.collectivite_with_token("marcq", "59378").await;
    let response = app
        .client
        .post(app.url("/api/v1/moderation/blocks/import"))
        .bearer_auth(&marcq)
        .body("spam.example\n")
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::FORBIDDEN).await;

    // Mastodon's export: suspend and silence block, noop is skipped, the rest is
    // reported by line while the good lines go in.
    let response = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/moderation/blocks/import",
        MASTODON_EXPORT.into(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["imported"], 2, "{report}");
    assert_eq!(report["skipped"][0]["line"], 4, "{report}");
    let errors: Vec<(u64, String)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(errors.len(), 3, "{report}");
    assert_eq!(errors[0].0, 5);
    assert!(errors[0].1.contains("masqué"), "{report}");
    assert_eq!((errors[1].0, errors[2].0), (6, 7), "{report}");
    assert!(app.state.blocks.domain("spam.example"));
    assert!(app.state.blocks.domain("a.bruit.example"));
    assert!(!app.state.blocks.domain("rien.example"));

    // Importing again changes nothing; the export reads back in Mastodon's format.
    let again: Value = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/moderation/blocks/import",
        MASTODON_EXPORT.into(),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(again["imported"], 2);
    let blocks = get_as_admin(&app, "/api/v1/moderation/blocks").await;
    assert_eq!(blocks.as_array().unwrap().len(), 2, "{blocks}");
    let response = send(
        &app,
        reqwest::Method::GET,
        "/api/v1/moderation/blocks/export",
        vec![],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert_eq!(
        response.text().await.unwrap(),
        "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n\
         bruit.example,suspend,true,true,,false\n\
         spam.example,suspend,true,true,\"Spam, en masse\",false\n"
    );

    // Allows: a bare list (with a BOM), then the `#domain` export; one by one too.
    let response = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/moderation/allows/import",
        "\u{feff}ville-a.example\nville-b.example\n".into(),
    )
    .await;
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["imported"], 2, "{report}");
    let response = app
        .client
        .post(app.url("/api/v1/moderation/allows"))
        .bearer_auth(&app.admin_token)
        .json(&json!({"domain": "Ville-C.example", "reason": "partenaire"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let allowed: Value = response.json().await.unwrap();
    assert_eq!(allowed["domain"], "ville-c.example");
    let export = send(
        &app,
        reqwest::Method::GET,
        "/api/v1/moderation/allows/export",
        vec![],
    )
    .await
    .text()
    .await
    .unwrap();
    assert_eq!(
        export,
        "#domain\nville-a.example\nville-b.example\nville-c.example\n"
    );
    let response = send(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/v1/moderation/allows/{}", allowed["id"]),
        vec![],
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = send(
        &app,
        reqwest::Method::DELETE,
        "/api/v1/moderation/allows/424242",
        vec![],
    )
    .await;
    assert_problem(response, StatusCode::NOT_FOUND).await;
    assert_eq!(
        get_as_admin(&app, "/api/v1/moderation/allows")
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Bad input: not UTF-8, not a domain.
    let response = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/moderation/allows/import",
        vec![b'v', 0xff, 0xfe, b'\n'],
    )
    .await;
    let problem = assert_problem(response, StatusCode::BAD_REQUEST).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("UTF-8"),
        "{problem}"
    );
    let response = app
        .client
        .post(app.url("/api/v1/moderation/allows"))
        .bearer_auth(&app.admin_token)
        .json(&json!({"domain": "https://ville.example/actors/x"}))
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
}

/// A signed `Like` from `signer` (a local actor of another test node) to `inbox`.
async fn like(from: &TestApp, signer: &str, inbox: &str, n: u32) -> StatusCode {
    let actor = from.actor(signer).await;
    let body = json!({"@context": "https://www.w3.org/ns/activitystreams",
        "id": from.url(&format!("/activities/like-{n}")), "type": "Like",
        "actor": actor.ap_id, "object": "https://ailleurs.example/actions/1"});
    post_signed(
        &from.client,
        inbox,
        &actor,
        body.to_string().as_bytes(),
        |_| {},
    )
    .await
    .status()
}

/// Allow-list mode: unlisted domains are refused inbound and for fetches; an allow
/// from the API applies at once; configured allows let peers in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowlist_mode_refuses_unlisted_domains() {
    let strict = spawn_app_with(Engine::Sqlite, |s| s.federation.allowlist_mode = true)
        .await
        .unwrap();
    let peer = spawn_app(Engine::Sqlite).await.unwrap();
    peer.collectivite_with_token("lille", "59350").await;
    let marcq = strict.collectivite_with_token("marcq", "59378").await;
    let inbox = strict.url("/inbox");

    // Inbound: refused before any key is fetched.
    assert_eq!(like(&peer, "lille", &inbox, 1).await, StatusCode::FORBIDDEN);
    // Fetches: following an unlisted actor is refused.
    let response = strict
        .client
        .post(strict.url("/api/v1/collectivites/marcq/follows"))
        .bearer_auth(&marcq)
        .json(&json!({"target": peer.url("/actors/lille")}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(problem.to_string().contains("bloqué"), "{problem}");

    // Allowing a domain through the API lets its signatures be checked at once: a
    // key on an unresolvable allowed host now fails verification (401), not policy (403).
    let key = maillage::service::keys::generate_keypair().await.unwrap();
    let forged = |n: u32| {
        json!({"@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("https://ville.invalid/activities/{n}"), "type": "Like",
            "actor": "https://ville.invalid/actors/x", "object": "https://ville.invalid/a"})
        .to_string()
    };
    let post = |n: u32| {
        let (client, inbox, pem, body) = (
            strict.client.clone(),
            inbox.clone(),
            key.private_key.clone(),
            forged(n),
        );
        async move {
            post_signed_with(
                &client,
                &inbox,
                "https://ville.invalid/actors/x#main-key",
                &pem,
                body.as_bytes(),
                |_| {},
            )
            .await
            .status()
        }
    };
    assert_eq!(post(1).await, StatusCode::FORBIDDEN);
    let response = strict
        .client
        .post(strict.url("/api/v1/moderation/allows"))
        .bearer_auth(&strict.admin_token)
        .json(&json!({"domain": "ville.invalid"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(post(2).await, StatusCode::UNAUTHORIZED);

    // A block still wins over an allow.
    let response = strict
        .client
        .post(strict.url("/api/v1/moderation/blocks"))
        .bearer_auth(&strict.admin_token)
        .json(&json!({"target": "ville.invalid"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(post(3).await, StatusCode::FORBIDDEN);

    // Configured allows: the peer's activities are verified and applied.
    let open = spawn_app_with(Engine::Sqlite, |s| {
        s.federation.allowlist_mode = true;
        s.federation.allowed_domains = vec!["localhost".into()];
    })
    .await
    .unwrap();
    assert_eq!(
        like(&peer, "lille", &open.url("/inbox"), 2).await,
        StatusCode::ACCEPTED
    );
}

/// `maillage domains`: import a Mastodon file, list, export, block and allow.
#[test]
fn domains_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("MAILLAGE_FEDERATION__ALLOWLIST_MODE", "true")];
    let run = |args: &[&str], input: &str| maillage(dir.path(), &env, args, input);
    std::fs::write(dir.path().join("blocks.csv"), MASTODON_EXPORT).unwrap();
    // Only serve, init, migrate and demo create a database.
    ok(run(&["migrate"], ""));
    let out = ok(run(&["domains", "import", "blocks.csv"], ""));
    assert!(
        out.contains("2 domaines importés, 1 ignoré, 3 refusés"),
        "{out}"
    );
    ok(run(
        &["domains", "allow", "ville.example", "--reason", "voisine"],
        "",
    ));
    ok(run(&["domains", "block", "https://x.example/users/a"], ""));
    let out = ok(run(
        &["domains", "import", "--allow", "-"],
        "#domain\nautre.example\n",
    ));
    assert!(out.contains("1 domaine importé"), "{out}");
    let list = ok(run(&["domains", "list"], ""));
    assert!(list.contains("liste d'autorisation"), "{list}");
    for expected in [
        "bloqué\tspam.example",
        "bloqué\thttps://x.example/users/a",
        "autorisé\tville.example\tvoisine",
        "autorisé\tautre.example",
    ] {
        assert!(list.contains(expected), "{expected} in {list}");
    }
    ok(run(
        &["domains", "export", "--allow", "--output", "allows.csv"],
        "",
    ));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("allows.csv")).unwrap(),
        "#domain\nautre.example\nville.example\n"
    );
    let error = fails(run(&["domains", "allow", "pas un domaine"], ""));
    assert!(error.contains("n'est pas un nom de domaine"), "{error}");
    let error = fails(run(&["domains", "import", "absent.csv"], ""));
    assert!(error.contains("absent.csv"), "{error}");
}

//! The permission rules of `service::permissions` (issue 15), over real HTTP between
//! real nodes: an action received from another node is edited and deleted only by its
//! own node, whoever asks here.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use serde_json::json;

use crate::both_engines;
use crate::helpers::{TestApp, assert_problem, csrf_of, sample_action, spawn_app, wait_until};

both_engines!(a_received_action_is_edited_only_by_its_node);

const PASSWORD: &str = "un mot de passe solide";

/// On node B, an action B received from node A: the API (an editor's token, the node
/// admin's token) and the web admin refuse to change or delete it
/// (`editable_action`'s `Remote` branch, `owned_action` in the admin).
async fn a_received_action_is_edited_only_by_its_node(a: TestApp) {
    let b = spawn_app(a.engine).await.unwrap();
    let marcq = a.collectivite_with_token("marcq", "59378").await;
    let lille = b.collectivite_with_token("lille", "59350").await;
    let published = a.publish("marcq", &marcq, &sample_action()).await;
    let ap_id: url::Url = published["id"].as_str().unwrap().parse().unwrap();

    // B's Lille follows A's Marcq; the action arrives by backfill.
    let response = b
        .client
        .post(b.url("/api/v1/collectivites/lille/follows"))
        .bearer_auth(&lille)
        .json(&json!({ "target": format!("acct:marcq@{}", a.domain) }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(b.drain().await, 1, "the Follow goes out");
    assert_eq!(a.drain().await, 1, "the Accept comes back");
    let received = || async { b.state.store.action_by_ap_id(&ap_id).await.unwrap() };
    wait_until("backfill of the action", || async {
        received().await.is_some()
    })
    .await;
    let action = received().await.unwrap();
    assert!(!action.local);
    let path = format!("/api/v1/actions/{}", action.id);

    // The API: 403 problem+json for PATCH and DELETE, with any token of B.
    for token in [&lille, &b.admin_token] {
        let response = b
            .client
            .patch(b.url(&path))
            .bearer_auth(token)
            .json(&json!({ "name": "Repris par un autre nœud" }))
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, StatusCode::FORBIDDEN).await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("publiée par un autre nœud"),
            "{problem}"
        );
        let response = b
            .client
            .delete(b.url(&path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_problem(response, StatusCode::FORBIDDEN).await;
    }

    // The web admin: Lille's editor reaches no such action (404), neither its form,
    // nor a save, nor a deletion.
    maillage::service::users::create_user(
        &b.state,
        "marie",
        PASSWORD,
        &["lille".into()],
        false,
        None,
    )
    .await
    .unwrap();
    let response = b
        .post_sign_in(&[("username", "marie"), ("password", PASSWORD)], None)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/admin");
    let cookie = response.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let html = |path: String| {
        b.client
            .get(b.url(&path))
            .header(COOKIE, &cookie)
            .header("accept", "text/html")
    };
    let dashboard = html("/admin".into()).send().await.unwrap();
    assert_eq!(dashboard.status(), StatusCode::OK);
    let csrf = csrf_of(&dashboard.text().await.unwrap());
    let form = format!("/admin/c/lille/actions/{}", action.id);
    let response = html(form.clone()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    for (target, body) in [
        (
            form.clone(),
            format!("csrf={csrf}&name=Repris&phase=service&status=en-cours"),
        ),
        (format!("{form}/supprimer"), format!("csrf={csrf}")),
    ] {
        let response = b
            .client
            .post(b.url(&target))
            .header(COOKIE, &cookie)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("accept", "text/html")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{target}");
    }

    // Nothing changed on B, nothing was queued.
    let kept = received().await.unwrap();
    assert_eq!(kept.data.name, action.data.name);
    assert!(kept.deleted.is_none());
    assert_eq!(b.drain().await, 0);
}

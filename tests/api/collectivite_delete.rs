//! What deleting a local collectivité does to the rest of its node (issue 14, SPEC §11),
//! on both engines: its partnerships on other local actions end, with their `Update`s,
//! in the delete's transaction; an action created for it while it is being deleted is
//! refused with `410` problem+json, never stored for a `Tombstone`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_engines;
use crate::cli_admin::follow_marcq;
use crate::helpers::{TestApp, assert_problem, sample_action, spawn_app};

both_engines!(
    deleted_partner_leaves_local_actions,
    stale_owner_gets_no_action,
    actions_racing_a_delete_are_refused,
);

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    maillage::db::on_pool!(&app.state.store, pool => {
        sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
    })
}

/// Live actions owned by a deleted collectivité: there must never be any.
async fn live_actions_of_tombstones(app: &TestApp) -> i64 {
    count(
        app,
        "SELECT COUNT(*) FROM actions a JOIN actors o ON o.id = a.actor_id \
         WHERE o.actor_type = 'Tombstone' AND a.deleted_at IS NULL",
    )
    .await
}

/// Roubaix, a partner of Marcq's action on the same node, is deleted: it leaves the
/// action's partners (request `left`), and the action's `Update` reaches Marcq's
/// follower on another node, whose copy drops Roubaix too.
async fn deleted_partner_leaves_local_actions(a: TestApp) {
    let marcq = a.collectivite_with_token("marcq", "59378").await;
    let roubaix = a.collectivite_with_token("roubaix", "59512").await;
    let b = spawn_app(a.engine).await.unwrap();
    follow_marcq(&b, &a, "lille", "59350").await;
    let mut open = sample_action();
    open["open_to_partners"] = json!(true);
    let action = a.publish("marcq", &marcq, &open).await;
    let action_id = action["id"].as_str().unwrap().to_string();
    let response = a
        .client
        .post(a.url("/api/v1/collectivites/roubaix/partnership-requests"))
        .bearer_auth(&roubaix)
        .json(&json!({ "action": action_id }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let received = || async {
        let list: Value = a
            .client
            .get(a.url("/api/v1/collectivites/marcq/partnership-requests?direction=received"))
            .bearer_auth(&marcq)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        list
    };
    let request = received().await[0]["id"].as_i64().unwrap();
    let response = a
        .client
        .post(a.url(&format!("/api/v1/partnership-requests/{request}/accept")))
        .bearer_auth(&marcq)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    a.drain().await;
    let roubaix_id = a.url("/actors/roubaix");
    let partners_on = |node: &TestApp| {
        let id: url::Url = action_id.parse().unwrap();
        let store = node.state.store.clone();
        async move {
            let action = store.action_by_ap_id(&id).await.unwrap().unwrap();
            action
                .partners
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(partners_on(&a).await, [roubaix_id.as_str()]);
    assert_eq!(partners_on(&b).await, [roubaix_id.as_str()], "B's copy");
    let updates = || {
        count(
            &a,
            "SELECT COUNT(*) FROM activities WHERE kind = 'Update' AND local = TRUE",
        )
    };
    let updates_before = updates().await;

    let response = a
        .client
        .delete(a.url("/api/v1/collectivites/roubaix"))
        .bearer_auth(&a.admin_token)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());

    assert!(partners_on(&a).await.is_empty(), "no longer a partner");
    let list = received().await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["state"], "left", "{list}");
    assert_eq!(
        updates().await,
        updates_before + 1,
        "one Update of the action"
    );
    let page = a.get_json(&action_id).await;
    assert!(
        !page.to_string().contains(&roubaix_id),
        "the action no longer names Roubaix: {page}"
    );
    assert!(a.drain().await >= 1, "the Update goes out");
    assert!(partners_on(&b).await.is_empty(), "B's copy drops Roubaix");
    assert_eq!(live_actions_of_tombstones(&a).await, 0);
}

/// A request that read its collectivité just before the collectivité was deleted
/// creates no action for it: `410`, as problem+json, and nothing stored or queued.
async fn stale_owner_gets_no_action(a: TestApp) {
    a.create_collectivite("marcq", "59378").await;
    let marcq = a
        .state
        .store
        .local_collectivite("marcq")
        .await
        .unwrap()
        .unwrap();
    maillage::service::collectivites::delete_collectivite(&a.state, &marcq)
        .await
        .unwrap();
    let activities = count(&a, "SELECT COUNT(*) FROM activities").await;
    let data = maillage::domain::NewAction::try_from(
        serde_json::from_value::<maillage::domain::drafts::ActionBody>(sample_action()).unwrap(),
    )
    .unwrap();
    let error = maillage::service::actions::create_action(&a.state, &marcq, data)
        .await
        .expect_err("no action for a deleted collectivité");
    assert_eq!(error.status(), StatusCode::GONE, "{error:?}");
    let response = axum::response::IntoResponse::into_response(error);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(count(&a, "SELECT COUNT(*) FROM actions").await, 0);
    assert_eq!(
        count(&a, "SELECT COUNT(*) FROM activities").await,
        activities,
        "no Create stored"
    );
}

/// Actions posted (admin token) while the collectivité is deleted, all at once over
/// real HTTP: each is created (and then tombstoned with it) or refused with `404`/`410`
/// problem+json, never a `5xx`; no live action is left to a `Tombstone`.
async fn actions_racing_a_delete_are_refused(a: TestApp) {
    a.create_collectivite("marcq", "59378").await;
    let post = || {
        a.client
            .post(a.url("/api/v1/collectivites/marcq/actions"))
            .bearer_auth(&a.admin_token)
            .json(&sample_action())
            .send()
    };
    let delete = a
        .client
        .delete(a.url("/api/v1/collectivites/marcq"))
        .bearer_auth(&a.admin_token)
        .send();
    let (posts, deleted) = tokio::join!(
        futures_util::future::join_all((0..12).map(|_| post())),
        delete
    );
    assert!(deleted.unwrap().status().is_success());
    let mut refused = 0;
    for response in posts {
        let response = response.unwrap();
        match response.status() {
            StatusCode::CREATED => {}
            status @ (StatusCode::GONE | StatusCode::NOT_FOUND) => {
                assert_problem(response, status).await;
                refused += 1;
            }
            other => panic!("{other}: {}", response.text().await.unwrap()),
        }
    }
    assert_eq!(live_actions_of_tombstones(&a).await, 0, "{refused} refused");
    // After the delete, every post is refused.
    assert_problem(post().await.unwrap(), StatusCode::GONE).await;
    assert_eq!(live_actions_of_tombstones(&a).await, 0);
}

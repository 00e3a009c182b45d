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
    action_waiting_for_a_delete_goes_with_it,
    stale_actions_are_gone,
    tombstone_requests_and_replies_are_refused,
    mutual_partners_deleted_at_once,
    listed_partner_leaves_on_delete,
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

/// The partnership requests `owner` received.
async fn received(a: &TestApp, owner: &str, token: &str) -> Value {
    a.client
        .get(a.url(&format!(
            "/api/v1/collectivites/{owner}/partnership-requests?direction=received"
        )))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `who` asks to join `action`, and `owner` (its first received request) accepts.
async fn join_and_accept(
    a: &TestApp,
    action: &str,
    (who, token): (&str, &str),
    (owner, owner_token): (&str, &str),
) {
    let response = a
        .client
        .post(a.url(&format!("/api/v1/collectivites/{who}/partnership-requests")))
        .bearer_auth(token)
        .json(&json!({ "action": action }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let request = received(a, owner, owner_token).await[0]["id"]
        .as_i64()
        .unwrap();
    let response = a
        .client
        .post(a.url(&format!("/api/v1/partnership-requests/{request}/accept")))
        .bearer_auth(owner_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
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
    join_and_accept(&a, &action_id, ("roubaix", &roubaix), ("marcq", &marcq)).await;
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
    let list = received(&a, "marcq", &marcq).await;
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
/// real HTTP: each is created (and then tombstoned with it) or refused with `410`
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
            StatusCode::GONE => {
                assert_problem(response, StatusCode::GONE).await;
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

/// The parsed sample action.
fn new_action() -> maillage::domain::NewAction {
    maillage::domain::NewAction::try_from(
        serde_json::from_value::<maillage::domain::drafts::ActionBody>(sample_action()).unwrap(),
    )
    .unwrap()
}

async fn stored(a: &TestApp, username: &str) -> maillage::domain::Collectivite {
    a.state
        .store
        .local_collectivite(username)
        .await
        .unwrap()
        .unwrap()
}

/// The race of `actions_racing_a_delete_are_refused`, made deterministic: an action is
/// being inserted (its owner's row locked) when the deletion starts; the deletion
/// waits for it, then tombstones it with its owner.
async fn action_waiting_for_a_delete_goes_with_it(a: TestApp) {
    use maillage::db;
    a.create_collectivite("marcq", "59378").await;
    let marcq = stored(&a, "marcq").await;
    let mut tx = a.state.store.begin().await.unwrap();
    assert!(
        db::actors::lock_live_collectivite(&mut tx, marcq.id)
            .await
            .unwrap()
    );
    let deletion = tokio::spawn({
        let (state, marcq) = (a.state.clone(), marcq.clone());
        async move { maillage::service::collectivites::delete_collectivite(&state, &marcq).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!deletion.is_finished(), "the deletion waits for the insert");
    let id = maillage::domain::ActionId::generate();
    let ap_id = a.state.url(&format!("/actions/{id}"));
    let identity = db::actions::ActionIdentity {
        id,
        url: ap_id.clone(),
        ap_id: ap_id.clone(),
        owner_id: marcq.id,
        local: true,
        import_key: None,
    };
    db::actions::insert_action(&mut tx, &identity, &new_action())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let deleted = deletion.await.unwrap().expect("the deletion runs after");
    assert_eq!(deleted.actions, 1, "the action inserted first goes too");
    let action = a
        .state
        .store
        .action_by_ap_id(&ap_id)
        .await
        .unwrap()
        .unwrap();
    assert!(action.deleted.is_some(), "tombstoned with its owner");
    assert_eq!(live_actions_of_tombstones(&a).await, 0);
}

/// An action read before it was deleted (with its owner here): updating it,
/// re-partnering it or deleting it again answers `410`, with nothing published.
async fn stale_actions_are_gone(a: TestApp) {
    use maillage::service::actions;
    a.create_collectivite("marcq", "59378").await;
    let marcq = stored(&a, "marcq").await;
    let stale = actions::create_action(&a.state, &marcq, new_action())
        .await
        .unwrap();
    actions::delete_action(&a.state, &stale).await.unwrap();
    let activities = count(&a, "SELECT COUNT(*) FROM activities").await;
    let gone = |result: Result<maillage::domain::Action, maillage::error::AppError>| {
        let error = result.expect_err("a deleted action");
        assert_eq!(error.status(), StatusCode::GONE, "{error:?}");
    };
    gone(actions::update_action(&a.state, &stale, new_action()).await);
    let partner: url::Url = a.url("/actors/marcq").parse().unwrap();
    gone(actions::set_partners(&a.state, &stale, vec![partner]).await);
    gone(actions::delete_action(&a.state, &stale).await);
    assert_eq!(
        count(&a, "SELECT COUNT(*) FROM activities").await,
        activities,
        "nothing published"
    );
}

/// Roubaix is deleted while its request, its reply, or an answer to its request was
/// on the way (each read Roubaix before): `410`, no request or comment of a Tombstone
/// stored, and an acceptance never brings it back into the action's partners.
async fn tombstone_requests_and_replies_are_refused(a: TestApp) {
    use maillage::service::{collectivites, comments, partnerships};
    let marcq = a.collectivite_with_token("marcq", "59378").await;
    a.create_collectivite("roubaix", "59512").await;
    let mut open = sample_action();
    open["open_to_partners"] = json!(true);
    let action_id: url::Url = a.publish("marcq", &marcq, &open).await["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let roubaix = stored(&a, "roubaix").await;
    let own = maillage::service::actions::create_action(&a.state, &roubaix, new_action())
        .await
        .unwrap();
    collectivites::delete_collectivite(&a.state, &roubaix)
        .await
        .unwrap();
    let config = maillage::federation::federation_config(a.state.clone())
        .await
        .unwrap();
    let error = partnerships::request(&config.to_request_data(), &roubaix, &action_id)
        .await
        .expect_err("no request of a Tombstone");
    assert_eq!(error.status(), StatusCode::GONE, "{error:?}");
    let error = comments::reply(&a.state, &roubaix, &own, None, "Merci !")
        .await
        .expect_err("no reply of a Tombstone");
    assert_eq!(error.status(), StatusCode::GONE, "{error:?}");
    assert_eq!(count(&a, "SELECT COUNT(*) FROM partnerships").await, 0);
    assert_eq!(count(&a, "SELECT COUNT(*) FROM comments").await, 0);

    // What a request racing the deletion stored before the lock: its acceptance is
    // refused.
    let join: url::Url = a.url("/activities/racing-join").parse().unwrap();
    let marcq_id = stored(&a, "marcq").await.id;
    let pending = a
        .state
        .store
        .upsert_partnership(&maillage::db::partnerships::NewPartnership {
            ap_id: &join,
            action_ap_id: &action_id,
            action_name: "Action",
            requester_id: roubaix.id,
            owner_id: marcq_id,
        })
        .await
        .unwrap();
    let error = partnerships::answer(&a.state, &pending, true)
        .await
        .expect_err("no Tombstone among the partners");
    assert_eq!(error.status(), StatusCode::GONE, "{error:?}");
    let action = a
        .state
        .store
        .action_by_ap_id(&action_id)
        .await
        .unwrap()
        .unwrap();
    assert!(action.partners.is_empty(), "{:?}", action.partners);
}

/// Marcq and Roubaix, each a partner of the other's action, are deleted at the same
/// time over HTTP: both deletions succeed (never a `5xx`, no deadlock), and no action
/// names a deleted collectivité among its partners.
async fn mutual_partners_deleted_at_once(a: TestApp) {
    let marcq = a.collectivite_with_token("marcq", "59378").await;
    let roubaix = a.collectivite_with_token("roubaix", "59512").await;
    let mut open = sample_action();
    open["open_to_partners"] = json!(true);
    let marcq_action = a.publish("marcq", &marcq, &open).await;
    let roubaix_action = a.publish("roubaix", &roubaix, &open).await;
    let (marcq_side, roubaix_side) = (("marcq", marcq.as_str()), ("roubaix", roubaix.as_str()));
    for (action, who, owner) in [
        (&marcq_action, roubaix_side, marcq_side),
        (&roubaix_action, marcq_side, roubaix_side),
    ] {
        join_and_accept(&a, action["id"].as_str().unwrap(), who, owner).await;
    }
    let partnered = || {
        count(
            &a,
            "SELECT COUNT(*) FROM actions WHERE deleted_at IS NULL AND partners LIKE '%/actors/%'",
        )
    };
    assert_eq!(partnered().await, 2, "each partners the other");
    let delete = |who: &'static str| {
        a.client
            .delete(a.url(&format!("/api/v1/collectivites/{who}")))
            .bearer_auth(&a.admin_token)
            .send()
    };
    let (first, second) = tokio::join!(delete("marcq"), delete("roubaix"));
    for response in [first.unwrap(), second.unwrap()] {
        let status = response.status();
        assert!(
            status.is_success(),
            "{status}: {}",
            response.text().await.unwrap()
        );
    }
    assert_eq!(live_actions_of_tombstones(&a).await, 0);
    assert_eq!(
        count(
            &a,
            "SELECT COUNT(*) FROM actors WHERE local = TRUE AND actor_type = 'Tombstone'"
        )
        .await,
        2
    );
}

/// A partner listed without a partnership (`set_partners`, as the demo data does)
/// leaves the action too when it is deleted.
async fn listed_partner_leaves_on_delete(a: TestApp) {
    use maillage::service::{actions, collectivites};
    a.create_collectivite("marcq", "59378").await;
    a.create_collectivite("roubaix", "59512").await;
    let marcq = stored(&a, "marcq").await;
    let roubaix = stored(&a, "roubaix").await;
    let action = actions::create_action(&a.state, &marcq, new_action())
        .await
        .unwrap();
    actions::set_partners(&a.state, &action, vec![roubaix.ap_id.clone()])
        .await
        .unwrap();
    collectivites::delete_collectivite(&a.state, &roubaix)
        .await
        .unwrap();
    let action = a
        .state
        .store
        .action_by_ap_id(&action.ap_id)
        .await
        .unwrap()
        .unwrap();
    assert!(action.partners.is_empty(), "{:?}", action.partners);
}

//! The same new row written by several requests at once (two activities about one new
//! action, two signatures of one unknown actor): every writer succeeds and one row is
//! stored. On PostgreSQL the later inserts used to fail on the row's other unique keys
//! (an action's `uuid`, an actor's username and domain), and the peer got a `500`.

use maillage::db::actors::RemoteActor;

use crate::both_engines;
use crate::helpers::{TestApp, sample_action};

both_engines!(simultaneous_copies_of_a_new_row_store_one);

/// Rounds of writers racing on a fresh row each: a race lost once is caught.
const ROUNDS: usize = 100;
const WRITERS: usize = 8;

async fn simultaneous_copies_of_a_new_row_store_one(app: TestApp) {
    let store = &app.state.store;
    let domain = "ailleurs.example";
    let inbox: url::Url = format!("https://{domain}/inbox").parse().unwrap();
    app.collectivite_with_token("marcq", "59378").await;
    let key = app.actor("marcq").await;
    let body: maillage::domain::drafts::ActionBody =
        serde_json::from_value(sample_action()).unwrap();
    let data = maillage::domain::NewAction::try_from(body).unwrap();
    for round in 0..ROUNDS {
        let ap_id: url::Url = format!("https://{domain}/actors/ville-{round}")
            .parse()
            .unwrap();
        let profile = maillage::domain::drafts::CollectiviteBody {
            username: Some(format!("ville-{round}")),
            kind: Some("autre".into()),
            name: Some(format!("Ville {round}")),
            ..Default::default()
        }
        .into_profile()
        .unwrap();
        let actors = futures_util::future::join_all((0..WRITERS).map(|_| {
            store.upsert_remote_actor(
                RemoteActor {
                    actor_type: "Organization",
                    ap_id: &ap_id,
                    domain,
                    inbox: &inbox,
                    shared_inbox: None,
                    public_key_pem: &key.public_key_pem,
                },
                &profile,
            )
        }))
        .await;
        let ids: Vec<i64> = actors
            .into_iter()
            .map(|stored| stored.expect("every writer of the actor succeeds").id)
            .collect();
        assert!(ids.iter().all(|id| *id == ids[0]), "one actor: {ids:?}");

        let action: url::Url = format!("https://{domain}/actions/{round}").parse().unwrap();
        let now = chrono::Utc::now();
        let stored =
            futures_util::future::join_all((0..WRITERS).map(|_| {
                store.upsert_remote_action(&action, &action, ids[0], &data, &[], now, now)
            }))
            .await;
        for result in stored {
            result.expect("every writer of the action succeeds");
        }
        let found = store.action_by_ap_id(&action).await.unwrap().unwrap();
        assert_eq!(found.data.name, data.name);
    }
    assert_eq!(
        store.count_remote_actions().await.unwrap(),
        ROUNDS as i64,
        "one row per action"
    );
}

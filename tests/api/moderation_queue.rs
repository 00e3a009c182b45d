//! The moderation queue under hostile traffic (issue 13 point 8): listed by arrival,
//! newest first and paged, so that old-dated replies cannot bury a new one; pending
//! comments capped per remote actor and per domain; an edited rejected comment stays
//! rejected. Two real nodes: B's collectivités reply to an action of A.

use chrono::{TimeZone, Utc};
use maillage::db::comments::{CommentState, NewComment};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    Engine, TestApp, assert_problem, post_signed, sample_action, say_skipped, spawn_app_with,
};

/// Node A (with `caps` per actor and per domain) with `marcq` and one action, and
/// node B with `lille`, `roubaix` and `tourcoing`; `None` without PostgreSQL.
async fn two_nodes(engine: Engine, caps: (u32, u32)) -> Option<(TestApp, TestApp, String)> {
    let a = spawn_app_with(engine, |s| {
        s.moderation.max_pending_per_actor = caps.0;
        s.moderation.max_pending_per_domain = caps.1;
    })
    .await?;
    let b = spawn_app_with(engine, |_| {}).await?;
    let token = a.collectivite_with_token("marcq", "59378").await;
    let action = a.publish("marcq", &token, &sample_action()).await;
    for (username, insee) in [
        ("lille", "59350"),
        ("roubaix", "59512"),
        ("tourcoing", "59599"),
    ] {
        b.create_collectivite(username, insee).await;
    }
    let action_id = action["id"].as_str().unwrap().to_string();
    Some((a, b, action_id))
}

/// `kind` (`Create` or `Update`) of the Note `note` by B's `author`, answering
/// `action_id`, posted to A's shared inbox; the response.
#[allow(clippy::too_many_arguments)]
async fn send_note(
    a: &TestApp,
    b: &TestApp,
    author: &str,
    kind: &str,
    note: &str,
    action_id: &str,
    content: &str,
    updated: &str,
) -> reqwest::Response {
    let actor = b.url(&format!("/actors/{author}"));
    let activity = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": b.url(&format!("/activities/{kind}-{note}-{updated}")),
        "type": kind,
        "actor": actor,
        "object": {
            "id": b.url(&format!("/notes/{note}")),
            "type": "Note",
            "attributedTo": actor,
            "inReplyTo": action_id,
            "content": format!("<p>{content}</p>"),
            "published": "2026-11-01T10:00:00Z",
            "updated": updated,
        }
    });
    let signer = b.actor(author).await;
    post_signed(
        &a.client,
        &a.url("/inbox"),
        &signer,
        activity.to_string().as_bytes(),
        |_| {},
    )
    .await
}

/// A reply, created now; its status.
async fn reply(a: &TestApp, b: &TestApp, author: &str, note: &str, action_id: &str) -> StatusCode {
    send_note(
        a,
        b,
        author,
        "Create",
        note,
        action_id,
        &format!("Commentaire {note}"),
        "2026-11-01T10:00:00Z",
    )
    .await
    .status()
}

/// One page of A's moderation queue (admin token): the comments and the next page.
async fn queue_page(a: &TestApp, query: &str) -> (Vec<Value>, Option<String>) {
    let url = if query.starts_with("http") {
        query.to_string()
    } else {
        a.url(&format!("/api/v1/moderation/comments{query}"))
    };
    let response = a
        .client
        .get(url)
        .bearer_auth(&a.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let next = response.headers().get("link").map(|link| {
        let link = link.to_str().unwrap();
        assert!(link.ends_with(">; rel=\"next\""), "{link}");
        link.trim_start_matches('<')
            .trim_end_matches(">; rel=\"next\"")
            .to_string()
    });
    (response.json().await.unwrap(), next)
}

async fn comment_id(a: &TestApp, b: &TestApp, note: &str) -> (i64, CommentState) {
    let comment = a
        .state
        .store
        .comment_by_ap_id(&b.url(&format!("/notes/{note}")).parse().unwrap())
        .await
        .unwrap()
        .expect("the comment is stored");
    (comment.id, comment.state)
}

async fn moderation_queue_by_arrival(engine: Engine) {
    let Some((a, b, action_id)) = two_nodes(engine, (0, 0)).await else {
        return say_skipped("moderation_queue_by_arrival");
    };
    assert_eq!(
        reply(&a, &b, "lille", "premier", &action_id).await,
        StatusCode::ACCEPTED
    );
    // 505 replies from Lille dated 1970 already wait (stored as the inbox stores them).
    let lille = a
        .state
        .store
        .actor_by_ap_id(&b.url("/actors/lille").parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let action = a
        .state
        .store
        .action_by_ap_id(&action_id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let old = Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap();
    for i in 0..505 {
        let ap_id: url::Url = b.url(&format!("/notes/vieux-{i}")).parse().unwrap();
        a.state
            .store
            .upsert_remote_comment(
                &NewComment {
                    ap_id: &ap_id,
                    action_db_id: action.db_id,
                    in_reply_to: &action.ap_id,
                    author_id: lille.id,
                    content_html: "<p>Enterré</p>",
                    url: None,
                    state: CommentState::Pending,
                    published: old,
                    updated: old,
                },
                None,
            )
            .await
            .unwrap()
            .expect("stored");
    }
    // A real new comment arrives: it is the first of the queue.
    assert_eq!(
        reply(&a, &b, "roubaix", "nouveau", &action_id).await,
        StatusCode::ACCEPTED
    );
    let (first, next) = queue_page(&a, "").await;
    assert_eq!(first.len(), 100, "pages of 100 by default");
    assert!(
        first[0]["content"]
            .as_str()
            .unwrap()
            .contains("Commentaire nouveau"),
        "{}",
        first[0]
    );
    // The pages hold every pending comment once, newest arrival first.
    let mut all = first;
    let mut next = next;
    while let Some(url) = next {
        let (page, more) = queue_page(&a, &url).await;
        all.extend(page);
        next = more;
    }
    assert_eq!(all.len(), 507);
    let ids: Vec<i64> = all.iter().map(|c| c["id"].as_i64().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable_by(|x, y| y.cmp(x));
    assert_eq!(ids, sorted, "arrival order (ids grow with arrivals here)");
    assert!(
        all.last().unwrap()["content"]
            .as_str()
            .unwrap()
            .contains("Commentaire premier")
    );
    let (small, _) = queue_page(&a, "?limit=5").await;
    assert_eq!(small.len(), 5);
    for bad in [
        "?limit=0",
        "?limit=501",
        "?limit=abc",
        "?after=x",
        "?state=perdu",
    ] {
        let response = a
            .client
            .get(a.url(&format!("/api/v1/moderation/comments{bad}")))
            .bearer_auth(&a.admin_token)
            .send()
            .await
            .unwrap();
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    }

    // A rejected comment edited by its author stays rejected, out of the queue.
    let (premier, _) = comment_id(&a, &b, "premier").await;
    let rejected = a
        .client
        .post(a.url(&format!("/api/v1/comments/{premier}/reject")))
        .bearer_auth(&a.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(rejected.status(), StatusCode::OK);
    let edit = send_note(
        &a,
        &b,
        "lille",
        "Update",
        "premier",
        &action_id,
        "Commentaire premier, corrigé",
        "2026-11-02T10:00:00Z",
    )
    .await;
    assert_eq!(edit.status(), StatusCode::ACCEPTED);
    let (_, state) = comment_id(&a, &b, "premier").await;
    assert_eq!(state, CommentState::Rejected);
    let (first, _) = queue_page(&a, "?limit=500").await;
    assert!(first.iter().all(|c| c["id"].as_i64().unwrap() != premier));
    // An approved one edited goes back to the top of the queue.
    let (nouveau, _) = comment_id(&a, &b, "nouveau").await;
    let approved = a
        .client
        .post(a.url(&format!("/api/v1/comments/{nouveau}/approve")))
        .bearer_auth(&a.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), StatusCode::OK);
    assert_eq!(
        reply(&a, &b, "tourcoing", "dernier", &action_id).await,
        StatusCode::ACCEPTED
    );
    let edit = send_note(
        &a,
        &b,
        "roubaix",
        "Update",
        "nouveau",
        &action_id,
        "Commentaire nouveau, modifié",
        "2026-11-02T10:00:00Z",
    )
    .await;
    assert_eq!(edit.status(), StatusCode::ACCEPTED);
    let (first, _) = queue_page(&a, "?limit=2").await;
    assert!(
        first[0]["content"].as_str().unwrap().contains("modifié"),
        "{first:?}"
    );
    assert!(
        first[1]["content"]
            .as_str()
            .unwrap()
            .contains("Commentaire dernier")
    );
}

async fn moderation_queue_caps(engine: Engine) {
    // Two pending comments per actor, three per domain.
    let Some((a, b, action_id)) = two_nodes(engine, (2, 3)).await else {
        return say_skipped("moderation_queue_caps");
    };
    assert_eq!(
        reply(&a, &b, "lille", "l1", &action_id).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        reply(&a, &b, "lille", "l2", &action_id).await,
        StatusCode::ACCEPTED
    );
    let over = send_note(
        &a,
        &b,
        "lille",
        "Create",
        "l3",
        &action_id,
        "l3",
        "2026-11-01T10:00:00Z",
    )
    .await;
    assert!(over.headers().contains_key("retry-after"));
    let problem = assert_problem(over, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("en attente"),
        "{problem}"
    );
    // An edit of a waiting comment is no new comment: it passes.
    let edit = send_note(
        &a,
        &b,
        "lille",
        "Update",
        "l1",
        &action_id,
        "l1 bis",
        "2026-11-03T10:00:00Z",
    )
    .await;
    assert_eq!(edit.status(), StatusCode::ACCEPTED);
    assert_eq!(
        reply(&a, &b, "roubaix", "r1", &action_id).await,
        StatusCode::ACCEPTED
    );
    // The domain has three waiting: Tourcoing, on the same node, waits too.
    assert_eq!(
        reply(&a, &b, "tourcoing", "t1", &action_id).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    let (queue, _) = queue_page(&a, "").await;
    assert_eq!(queue.len(), 3);
    // Once a moderator handles one, Lille's retry is taken.
    let (l1, _) = comment_id(&a, &b, "l1").await;
    let approved = a
        .client
        .post(a.url(&format!("/api/v1/comments/{l1}/approve")))
        .bearer_auth(&a.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), StatusCode::OK);
    assert_eq!(
        reply(&a, &b, "lille", "l3", &action_id).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        reply(&a, &b, "tourcoing", "t1", &action_id).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the domain is full again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderation_queue_by_arrival_sqlite() {
    moderation_queue_by_arrival(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderation_queue_by_arrival_postgres() {
    moderation_queue_by_arrival(Engine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderation_queue_caps_sqlite() {
    moderation_queue_caps(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderation_queue_caps_postgres() {
    moderation_queue_caps(Engine::Postgres).await;
}

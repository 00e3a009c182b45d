//! Mutualisation across nodes (SPEC §5): a partnership asked, accepted and left
//! between two real nodes; comments from another server, moderated, answered;
//! likes, shares, reports and blocks. Real HTTP, real signatures, both engines.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_engines;
use crate::helpers::{TestApp, call, post_signed, spawn_app, spawn_app_with, wait_until};

both_engines!(
    partnership_across_nodes,
    comments_interest_reports_and_blocks,
    answers_at_the_same_time_keep_every_partner
);

async fn stored_partners(node: &TestApp, ap_id: &str) -> Vec<String> {
    node.state
        .store
        .action_by_ap_id(&ap_id.parse().unwrap())
        .await
        .unwrap()
        .map(|a| a.partners.iter().map(|p| p.to_string()).collect())
        .unwrap_or_default()
}

async fn partnership_across_nodes(a: TestApp) {
    let b = spawn_app(a.engine).await.unwrap();
    let marcq = a.collectivite_with_token("marcq", "59378").await;
    let lille = b.collectivite_with_token("lille", "59350").await;
    let closed = a
        .publish(
            "marcq",
            &marcq,
            &json!({"name": "Projet fermé", "content": "Rien à partager.", "themes": ["culture"]}),
        )
        .await;
    let open = a
        .publish(
            "marcq",
            &marcq,
            &json!({"name": "Groupement d'achat d'énergie", "content": "Achat groupé d'électricité pour les bâtiments communaux.",
                    "themes": ["developpement-durable"], "open_to_partners": true}),
        )
        .await;
    let action_id = open["id"].as_str().unwrap().to_string();
    let lille_id = b.url("/actors/lille");

    // Bad requests: no action, not a URL, not open to partners, one's own action.
    let path = "/api/v1/collectivites/lille/partnership-requests";
    let (status, problem) = call(&b, reqwest::Method::POST, path, &lille, Some(json!({}))).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "action");
    let (status, _) = call(
        &b,
        reqwest::Method::POST,
        path,
        &lille,
        Some(json!({"action": "pas une url"})),
    )
    .await;
    assert_eq!(status, 422);
    let (status, problem) = call(
        &b,
        reqwest::Method::POST,
        path,
        &lille,
        Some(json!({"action": closed["id"]})),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("ouverte"),
        "{problem}"
    );
    let (status, _) = call(
        &a,
        reqwest::Method::POST,
        "/api/v1/collectivites/marcq/partnership-requests",
        &marcq,
        Some(json!({"action": action_id})),
    )
    .await;
    assert_eq!(status, 422, "one's own action");

    // Lille (node B) asks to join Marcq's action (node A).
    let (status, sent) = call(
        &b,
        reqwest::Method::POST,
        path,
        &lille,
        Some(json!({"action": action_id})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    assert_eq!(sent["state"], "pending");
    assert_eq!(sent["direction"], "sent");
    assert_eq!(sent["action_name"], "Groupement d'achat d'énergie");
    assert_eq!(b.drain().await, 1, "the Join goes out");
    let (_, received) = call(
        &a,
        reqwest::Method::GET,
        "/api/v1/collectivites/marcq/partnership-requests?direction=received",
        &marcq,
        None,
    )
    .await;
    assert_eq!(received.as_array().unwrap().len(), 1, "{received}");
    assert_eq!(received[0]["state"], "pending");
    assert_eq!(received[0]["requester"]["id"], lille_id);
    assert_eq!(received[0]["requester"]["name"], "Lille");
    let request_id = received[0]["id"].as_i64().unwrap();

    // Lille's token cannot answer for Marcq; a bad decision is a 404.
    let accept = format!("/api/v1/partnership-requests/{request_id}/accept");
    let (status, _) = call(&a, reqwest::Method::POST, &accept, &lille, None).await;
    assert_eq!(status, 401, "a token of another node is unknown here");
    let (status, _) = call(
        &a,
        reqwest::Method::POST,
        &format!("/api/v1/partnership-requests/{request_id}/maybe"),
        &marcq,
        None,
    )
    .await;
    assert_eq!(status, 404);

    // Marcq accepts: Accept to Lille, Update (partners) to followers and partners.
    let (status, answered) = call(&a, reqwest::Method::POST, &accept, &marcq, None).await;
    assert_eq!(status, 200, "{answered}");
    assert_eq!(answered["state"], "accepted");
    let (status, _) = call(&a, reqwest::Method::POST, &accept, &marcq, None).await;
    assert_eq!(status, 409, "answered twice");
    assert_eq!(
        stored_partners(&a, &action_id).await,
        vec![lille_id.clone()]
    );
    let article = a.get_as_ok(&action_id).await;
    assert_eq!(article["mai:partners"], json!([lille_id]), "{article}");
    assert_eq!(
        a.drain().await,
        2,
        "Accept and Update, both to node B:\n{}",
        a.deliveries().await
    );
    // A Join from a current partner (its Accept lost?) is answered again.
    let join_again = json!({"@context": "https://www.w3.org/ns/activitystreams",
        "id": b.url("/activities/join-again"), "type": "Join", "actor": lille_id, "object": action_id});
    let lille_actor = b.actor("lille").await;
    let status = post_signed(
        &a.client,
        &a.url("/inbox"),
        &lille_actor,
        join_again.to_string().as_bytes(),
        |_| {},
    )
    .await
    .status();
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        a.drain().await,
        1,
        "the Accept is sent again:\n{}",
        a.deliveries().await
    );
    let (_, sent) = call(
        &b,
        reqwest::Method::GET,
        &format!("{path}?direction=sent"),
        &lille,
        None,
    )
    .await;
    assert_eq!(sent[0]["state"], "accepted", "{sent}");
    // Node B now lists the action (fetched on Accept, updated by the Update).
    wait_until("the joined action on node B", || async {
        stored_partners(&b, &action_id).await == vec![lille_id.clone()]
    })
    .await;
    let partnered = b
        .get_json(b.url("/api/v1/directory/actions?partnered=true"))
        .await;
    assert_eq!(partnered["total"], 1, "{partnered}");
    assert_eq!(partnered["items"][0]["id"], action_id);
    let (_, page) = a.get_html(&action_id).await;
    assert!(page.contains("Lille"), "the action page names its partner");
    let (_, page) = b.get_html(&lille_id).await;
    assert!(
        page.contains("Projets menés avec d'autres collectivités"),
        "the partner's page lists the action"
    );
    assert!(page.contains("achat d"), "{page}");

    // Lille leaves: Leave to A, which publishes the Update (to Lille too).
    let b_request = sent[0]["id"].as_i64().unwrap();
    let (status, ended) = call(
        &b,
        reqwest::Method::DELETE,
        &format!("/api/v1/partnership-requests/{b_request}"),
        &lille,
        None,
    )
    .await;
    assert_eq!(status, 200, "{ended}");
    assert_eq!(ended["state"], "left");
    assert_eq!(b.drain().await, 1, "the Leave goes out");
    assert!(stored_partners(&a, &action_id).await.is_empty());
    let (_, received) = call(
        &a,
        reqwest::Method::GET,
        "/api/v1/collectivites/marcq/partnership-requests",
        &marcq,
        None,
    )
    .await;
    assert_eq!(received[0]["state"], "left");
    assert_eq!(
        a.drain().await,
        1,
        "the Update reaches the partner who left"
    );
    assert!(stored_partners(&b, &action_id).await.is_empty());
    let (status, _) = call(
        &b,
        reqwest::Method::DELETE,
        &format!("/api/v1/partnership-requests/{b_request}"),
        &lille,
        None,
    )
    .await;
    assert_eq!(status, 409, "already ended");

    // Asking again after leaving is possible; the owner may reject.
    let (status, again) = call(
        &b,
        reqwest::Method::POST,
        path,
        &lille,
        Some(json!({"action": action_id})),
    )
    .await;
    assert_eq!(status, 202, "{again}");
    assert_eq!(b.drain().await, 1);
    let (_, received) = call(
        &a,
        reqwest::Method::GET,
        "/api/v1/collectivites/marcq/partnership-requests",
        &marcq,
        None,
    )
    .await;
    assert_eq!(received[0]["state"], "pending");
    let reject = format!("/api/v1/partnership-requests/{}/reject", received[0]["id"]);
    let (status, rejected) = call(&a, reqwest::Method::POST, &reject, &marcq, None).await;
    assert_eq!(status, 200);
    assert_eq!(rejected["state"], "rejected");
    assert_eq!(a.drain().await, 1, "the Reject");
    let (_, sent) = call(
        &b,
        reqwest::Method::GET,
        &format!("{path}?direction=sent"),
        &lille,
        None,
    )
    .await;
    assert_eq!(sent[0]["state"], "rejected", "{sent}");
    assert!(stored_partners(&a, &action_id).await.is_empty());
}

/// A Note replying to `in_reply_to`, by `author` (an actor of node `from`).
fn reply(
    from: &TestApp,
    author: &str,
    id: &str,
    in_reply_to: &str,
    content: &str,
    updated: &str,
) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": from.url(&format!("/activities/{id}-{updated}")),
        "type": "Create",
        "actor": from.url(&format!("/actors/{author}")),
        "object": {
            "id": from.url(&format!("/notes/{id}")),
            "type": "Note",
            "attributedTo": from.url(&format!("/actors/{author}")),
            "inReplyTo": in_reply_to,
            "content": content,
            "published": "2026-11-01T10:00:00Z",
            "updated": updated,
        }
    })
}

async fn comments_interest_reports_and_blocks(a: TestApp) {
    let b = spawn_app(a.engine).await.unwrap();
    let marcq = a.collectivite_with_token("marcq", "59378").await;
    b.collectivite_with_token("lille", "59350").await;
    let lille = b.actor("lille").await;
    let action = a
        .publish("marcq", &marcq, &crate::helpers::sample_action())
        .await;
    let action_id = action["id"].as_str().unwrap().to_string();
    let uuid = action["uuid"].as_str().unwrap().to_string();
    let inbox = a.url("/inbox");
    let send = |body: Value| {
        let client = a.client.clone();
        let inbox = inbox.clone();
        let lille = lille.clone();
        async move {
            post_signed(&client, &inbox, &lille, body.to_string().as_bytes(), |_| {})
                .await
                .status()
        }
    };

    // Replies to something that is not ours are ignored whatever their shape; ours
    // are read leniently (ids as lists or objects, no content).
    let mut elsewhere = reply(
        &b,
        "lille",
        "x1",
        "https://ailleurs.example/notes/1",
        "<p>x</p>",
        "2026-11-01T10:00:00Z",
    );
    elsewhere["object"]["attributedTo"] = json!([{"id": "https://ailleurs.example/u"}, 3]);
    elsewhere["object"]["content"] = Value::Null;
    assert_eq!(send(elsewhere).await, StatusCode::ACCEPTED);
    let mut odd = reply(&b, "lille", "x2", &action_id, "", "2026-11-01T10:00:00Z");
    odd["object"]["attributedTo"] = json!([b.url("/actors/lille")]);
    odd["object"]["inReplyTo"] = json!({"id": action_id, "type": "Article"});
    odd["object"]["content"] = Value::Null;
    assert_eq!(send(odd).await, StatusCode::ACCEPTED);
    let (_, pending) = call(
        &a,
        reqwest::Method::GET,
        "/api/v1/moderation/comments",
        &marcq,
        None,
    )
    .await;
    assert_eq!(
        pending.as_array().unwrap().len(),
        1,
        "the odd but valid reply: {pending}"
    );
    let odd_id = pending[0]["id"].as_i64().unwrap();
    let (status, _) = call(
        &a,
        reqwest::Method::POST,
        &format!("/api/v1/comments/{odd_id}/reject"),
        &marcq,
        None,
    )
    .await;
    assert_eq!(status, 200);

    // A reply from node B lands in moderation, sanitised.
    let note = reply(
        &b,
        "lille",
        "n1",
        &action_id,
        "<p>Nous avons fait pareil !<script>alert(1)</script><a href=\"javascript:alert(2)\" onclick=\"x()\">lien</a></p>",
        "2026-11-01T10:00:00Z",
    );
    assert_eq!(send(note).await, StatusCode::ACCEPTED);
    let comments_path = format!("/api/v1/actions/{uuid}/comments");
    assert_eq!(
        a.get_json(a.url(&comments_path)).await,
        json!([]),
        "not shown before approval"
    );
    let (_, pending) = call(
        &a,
        reqwest::Method::GET,
        "/api/v1/moderation/comments",
        &marcq,
        None,
    )
    .await;
    assert_eq!(pending.as_array().unwrap().len(), 1, "{pending}");
    let comment = &pending[0];
    assert_eq!(comment["author_name"], "Lille");
    let content = comment["content"].as_str().unwrap();
    assert!(content.contains("Nous avons fait pareil"), "{content}");
    for bad in ["<script", "javascript:", "onclick"] {
        assert!(!content.contains(bad), "{bad} in {content}");
    }
    let (status, _) = call(
        &a,
        reqwest::Method::GET,
        "/api/v1/moderation/comments?state=nope",
        &marcq,
        None,
    )
    .await;
    assert_eq!(status, 422);

    // Approved: on the action page, in the API and in `replies`.
    let comment_id = comment["id"].as_i64().unwrap();
    let (status, approved) = call(
        &a,
        reqwest::Method::POST,
        &format!("/api/v1/comments/{comment_id}/approve"),
        &marcq,
        None,
    )
    .await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["state"], "approved");
    assert_eq!(
        a.get_json(a.url(&comments_path))
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let replies = a.get_as_ok(&format!("{action_id}/replies")).await;
    assert_eq!(replies["totalItems"], 1, "{replies}");
    let (_, page) = a.get_html(&action_id).await;
    assert!(
        page.contains("Nous avons fait pareil"),
        "comment on the page"
    );
    assert!(page.contains("Lille"), "author named on the page");

    // An older version changes nothing; a newer one does; Delete removes it.
    let older = reply(
        &b,
        "lille",
        "n1",
        &action_id,
        "<p>ancienne</p>",
        "2026-10-01T10:00:00Z",
    );
    assert_eq!(send(older).await, StatusCode::ACCEPTED);
    let mut newer = reply(
        &b,
        "lille",
        "n1",
        &action_id,
        "<p>Version corrigée</p>",
        "2026-11-02T10:00:00Z",
    );
    newer["type"] = json!("Update");
    assert_eq!(send(newer).await, StatusCode::ACCEPTED);
    // An edited comment goes back to moderation: approved text cannot be swapped.
    assert_eq!(
        a.get_json(a.url(&comments_path)).await,
        json!([]),
        "hidden once edited"
    );
    let (status, _) = call(
        &a,
        reqwest::Method::POST,
        &format!("/api/v1/comments/{comment_id}/approve"),
        &marcq,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let shown = a.get_json(a.url(&comments_path)).await;
    assert!(
        shown[0]["content"]
            .as_str()
            .unwrap()
            .contains("Version corrigée"),
        "{shown}"
    );

    // The owner answers, mentioning Lille: a Note delivered to Lille's node.
    let (status, answer) = call(
        &a,
        reqwest::Method::POST,
        &comments_path,
        &marcq,
        Some(json!({"content": "Merci, **échangeons** !", "in_reply_to": comment_id})),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    assert!(
        answer["content"]
            .as_str()
            .unwrap()
            .contains("<strong>échangeons</strong>")
    );
    let note = a.get_as_ok(answer["ap_id"].as_str().unwrap()).await;
    assert_eq!(note["type"], "Note");
    assert_eq!(note["inReplyTo"], b.url("/notes/n1"));
    assert_eq!(note["tag"][0]["type"], "Mention");
    assert_eq!(note["tag"][0]["href"], b.url("/actors/lille"));
    assert_eq!(a.drain().await, 1, "delivered to the mentioned author");
    let (status, problem) = call(
        &a,
        reqwest::Method::POST,
        &comments_path,
        &marcq,
        Some(json!({"content": "  "})),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    let (status, _) = call(
        &a,
        reqwest::Method::POST,
        &comments_path,
        &marcq,
        Some(json!({"content": "x", "in_reply_to": 999999})),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        a.get_as_ok(&format!("{action_id}/replies")).await["totalItems"],
        2
    );

    let delete = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": b.url("/activities/del-n1"), "type": "Delete",
        "actor": b.url("/actors/lille"), "object": b.url("/notes/n1")});
    assert_eq!(send(delete).await, StatusCode::ACCEPTED);
    assert_eq!(
        a.get_as_ok(&format!("{action_id}/replies")).await["totalItems"],
        1,
        "only the local answer left"
    );

    // Interest: Like and Announce, each undone.
    let like = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": b.url("/activities/like-1"), "type": "Like",
        "actor": b.url("/actors/lille"), "object": action_id});
    assert_eq!(send(like.clone()).await, StatusCode::ACCEPTED);
    let announce = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": b.url("/activities/boost-1"), "type": "Announce",
        "actor": b.url("/actors/lille"), "object": action_id});
    assert_eq!(send(announce).await, StatusCode::ACCEPTED);
    let interest_path = format!("/api/v1/actions/{uuid}/interest");
    let interest = a.get_json(a.url(&interest_path)).await;
    assert_eq!(interest.as_array().unwrap().len(), 2, "{interest}");
    assert!(
        interest
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["collectivite"] == true && i["name"] == "Lille")
    );
    let (_, page) = a.get_html(&action_id).await;
    assert!(
        page.contains("1 collectivité s'intéresse à cette action"),
        "interest on the page"
    );
    let undo = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": b.url("/activities/undo-like-1"), "type": "Undo",
        "actor": b.url("/actors/lille"), "object": like});
    assert_eq!(send(undo).await, StatusCode::ACCEPTED);
    let interest = a.get_json(a.url(&interest_path)).await;
    assert_eq!(interest.as_array().unwrap().len(), 1);
    assert_eq!(interest[0]["kind"], "Announce");

    // A report reaches the admin.
    let admin = a.admin_token.clone();
    let flag = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": b.url("/activities/flag-1"), "type": "Flag",
        "actor": b.url("/actors/lille"), "object": [action_id, "https://elsewhere.example/x"], "content": "Contenu <b>trompeur</b>"});
    assert_eq!(send(flag).await, StatusCode::ACCEPTED);
    let (status, _) = call(
        &a,
        reqwest::Method::GET,
        "/api/v1/moderation/reports",
        &marcq,
        None,
    )
    .await;
    assert_eq!(status, 403, "reports are for node admins");
    let (_, reports) = call(
        &a,
        reqwest::Method::GET,
        "/api/v1/moderation/reports",
        &admin,
        None,
    )
    .await;
    assert_eq!(reports.as_array().unwrap().len(), 1, "{reports}");
    assert_eq!(reports[0]["objects"], json!([action_id]));
    assert_eq!(reports[0]["content"], "Contenu trompeur");
    let (status, _) = call(
        &a,
        reqwest::Method::POST,
        &format!("/api/v1/moderation/reports/{}/resolve", reports[0]["id"]),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 204);

    // Blocking B's domain: its activities are refused at once; lifting it restores them.
    let (status, problem) = call(
        &a,
        reqwest::Method::POST,
        "/api/v1/moderation/blocks",
        &admin,
        Some(json!({"target": "pas un domaine"})),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    let host = b.domain.split(':').next().unwrap().to_string();
    let (status, block) = call(
        &a,
        reqwest::Method::POST,
        "/api/v1/moderation/blocks",
        &admin,
        Some(json!({"target": b.url("/actors/lille"), "reason": "spam"})),
    )
    .await;
    assert_eq!(status, 201, "{block} {host}");
    let like2 = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": b.url("/activities/like-2"), "type": "Like",
        "actor": b.url("/actors/lille"), "object": action_id});
    assert_eq!(send(like2.clone()).await, StatusCode::FORBIDDEN);
    let (status, _) = call(
        &a,
        reqwest::Method::DELETE,
        &format!("/api/v1/moderation/blocks/{}", block["id"]),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(send(like2).await, StatusCode::ACCEPTED);
    let (status, _) = call(
        &a,
        reqwest::Method::DELETE,
        "/api/v1/moderation/blocks/424242",
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 404);
}

/// Comments from a trusted domain are published without moderation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_domains_skip_moderation() {
    let a = spawn_app_with(crate::helpers::Engine::Sqlite, |s| {
        s.moderation.trusted_domains = vec!["localhost".into()];
    })
    .await
    .unwrap();
    let b = spawn_app(crate::helpers::Engine::Sqlite).await.unwrap();
    let marcq = a.collectivite_with_token("marcq", "59378").await;
    b.collectivite_with_token("lille", "59350").await;
    let lille = b.actor("lille").await;
    let action = a
        .publish("marcq", &marcq, &crate::helpers::sample_action())
        .await;
    let note = reply(
        &b,
        "lille",
        "t1",
        action["id"].as_str().unwrap(),
        "<p>Bonjour</p>",
        "2026-11-01T10:00:00Z",
    );
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
    let shown = a
        .get_json(a.url(&format!(
            "/api/v1/actions/{}/comments",
            action["uuid"].as_str().unwrap()
        )))
        .await;
    assert_eq!(shown[0]["state"], "approved", "{shown}");
}

/// Requests for one action answered at the same time each keep the others' partner
/// (the partners are read in the answer's transaction), and an answer made from a
/// stale copy of a request that was answered meanwhile stores and sends nothing.
async fn answers_at_the_same_time_keep_every_partner(app: TestApp) {
    use maillage::service::partnerships::answer;
    let marcq = app.collectivite_with_token("marcq", "59378").await;
    let open = app
        .publish(
            "marcq",
            &marcq,
            &json!({"name": "Groupement d'achat", "content": "Achat groupé.",
                    "themes": ["developpement-durable"], "open_to_partners": true}),
        )
        .await;
    let action = open["id"].as_str().unwrap().to_string();
    let mut requests = Vec::new();
    for (name, insee) in [
        ("lille", "59350"),
        ("roubaix", "59512"),
        ("rennes", "35238"),
    ] {
        let token = app.collectivite_with_token(name, insee).await;
        let path = format!("/api/v1/collectivites/{name}/partnership-requests");
        let body = Some(json!({"action": action}));
        let (status, request) = call(&app, reqwest::Method::POST, &path, &token, body).await;
        assert_eq!(status, 202, "{request}");
        let id = request["id"].as_i64().unwrap();
        requests.push(app.state.store.partnership(id).await.unwrap().unwrap());
    }
    let state = &app.state;
    let (a, b, c) = tokio::join!(
        answer(state, &requests[0], true),
        answer(state, &requests[1], true),
        answer(state, &requests[2], true),
    );
    for result in [a, b, c] {
        result.expect("answered");
    }
    let mut partners = stored_partners(&app, &action).await;
    partners.sort();
    let expected = ["lille", "rennes", "roubaix"].map(|n| app.url(&format!("/actors/{n}")));
    assert_eq!(partners, expected);

    let owner = requests[0].owner.id;
    let before = state.store.count_activities_of(owner).await.unwrap();
    let stale = answer(state, &requests[0], false).await;
    assert!(
        matches!(stale, Err(maillage::error::AppError::Conflict { .. })),
        "{stale:?}"
    );
    assert_eq!(
        state.store.count_activities_of(owner).await.unwrap(),
        before
    );
    let request = state
        .store
        .partnership(requests[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(request.state.as_str(), "accepted");
    assert_eq!(stored_partners(&app, &action).await.len(), 3);
}

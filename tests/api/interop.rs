//! Interoperability with a server nobody here wrote: a small [Fedify](https://fedify.dev)
//! peer (`tests/interop/fedify/peer.mjs`, run with Node on a loopback port) follows a
//! collectivité of a real Maillage node and receives its activities. Each side verifies
//! the other's HTTP signatures with its own code: Maillage checks Fedify's `Follow`,
//! Fedify checks Maillage's `Accept`, `Create`, `Update` and `Delete` (its inbox only
//! records what it verified); Fedify's reply to an action goes through moderation to
//! the action page. Forgeries are refused both ways.
//!
//! Needs `node` on `PATH` and `npm ci` run in `tests/interop/fedify`. Without them the
//! test says `SKIPPED` on stderr and passes, unless `MAILLAGE_REQUIRE_INTEROP=1` (CI sets
//! it), in which case it fails. `FEDIFY_PEER_LOG=info` (default `debug`) sets the level
//! of Fedify's logs, which are printed when the test fails.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use maillage::db::actors::ActorRecord;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Engine, TestApp, post_signed_with, sample_action, spawn_app};

/// Where the peer and its `node_modules` live.
fn peer_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/fedify")
}

/// Why the peer cannot run here, if it cannot.
fn missing_prerequisite() -> Option<String> {
    crate::helpers::node_module_missing(&peer_dir(), "@fedify/fedify")
}

/// A running `node peer.mjs`, killed when dropped (also when the test panics, in which
/// case its log is printed).
struct Peer {
    child: Child,
    base: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Peer {
    /// Starts the peer on a free loopback port and waits until it answers.
    async fn start(client: &reqwest::Client) -> Peer {
        Peer::start_in(client, &peer_dir(), Path::new("node")).await
    }

    /// Starts `node peer.mjs` in the folder `peer` with the `node` program given.
    async fn start_in(client: &reqwest::Client, peer: &Path, node: &Path) -> Peer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("fedify-peer.log");
        let out = std::fs::File::create(&log).expect("peer log");
        let err = out.try_clone().expect("peer log");
        let level = std::env::var("FEDIFY_PEER_LOG").unwrap_or_else(|_| "debug".into());
        let child = Command::new(node)
            .arg("peer.mjs")
            .arg(port.to_string())
            .current_dir(peer)
            .env("FEDIFY_PEER_LOG", level)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn node peer.mjs");
        let mut started = Peer {
            child,
            base: format!("http://localhost:{port}"),
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = started.child.try_wait() {
                panic!("the Fedify peer exited at start ({status})");
            }
            let health = client.get(started.url("/control/health")).send().await;
            if health.is_ok_and(|r| r.status() == StatusCode::OK) {
                return started;
            }
            assert!(Instant::now() < deadline, "the Fedify peer never answered");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The activities Fedify's inbox accepted so far.
    async fn received(&self, client: &reqwest::Client) -> Vec<Value> {
        let response = client.get(self.url("/control/received")).send().await;
        match response {
            Ok(response) => response.json().await.expect("received: JSON"),
            Err(error) => panic!("GET /control/received: {error}"),
        }
    }

    /// Polls `received` until one activity satisfies `matches`; returns it.
    async fn wait_for(
        &self,
        client: &reqwest::Client,
        what: &str,
        matches: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let received = self.received(client).await;
            if let Some(found) = received.iter().find(|a| matches(a)) {
                return found.clone();
            }
            assert!(
                Instant::now() < deadline,
                "Fedify never received {what}; it has {received:#?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let mut text = String::new();
            if let Ok(mut file) = std::fs::File::open(&self.log) {
                let _ = file.read_to_string(&mut text);
            }
            let _ = writeln!(
                std::io::stderr(),
                "---- Fedify peer log ({}) ----\n{text}---- end of Fedify peer log ----",
                self.log.display()
            );
        }
    }
}

fn key_of(actor: &ActorRecord) -> (String, &str) {
    (
        format!("{}#main-key", actor.ap_id),
        actor.private_key_pem.as_deref().unwrap(),
    )
}

async fn assert_queue(a: &TestApp, done: i64) {
    let counts = a.state.store.delivery_counts().await.unwrap();
    assert_eq!(
        (counts.done, counts.failed, counts.pending),
        (done, 0, 0),
        "deliveries (done, failed, pending) on A"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fedify_follows_a_collectivite_and_verifies_its_activities() {
    if let Some(reason) = missing_prerequisite() {
        let message = format!(
            "SKIPPED: Fedify interop (node or tests/interop/fedify/node_modules missing; \
             run npm ci there): {reason}"
        );
        if std::env::var("MAILLAGE_REQUIRE_INTEROP").is_ok_and(|v| v == "1") {
            panic!("MAILLAGE_REQUIRE_INTEROP=1 but the Fedify peer cannot run: {reason}");
        }
        let _ = writeln!(std::io::stderr(), "{message}");
        return;
    }
    let started = Instant::now();
    let a = spawn_app(Engine::Sqlite).await.unwrap();
    let token = a.collectivite_with_token("marcq", "59378").await;
    let marcq = a.actor("marcq").await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let peer = Peer::start(&client).await;
    let fedify_actor = peer.url("/users/citoyenne");
    let peer_up = started.elapsed();

    // Fedify resolves acct:marcq@localhost:PORT by WebFinger, fetches the actor and
    // sends a signed Follow, which Maillage verifies against Fedify's published key.
    let mut control = url::Url::parse(&peer.url("/control/follow")).unwrap();
    control
        .query_pairs_mut()
        .append_pair("target", &format!("acct:marcq@{}", a.domain));
    let response = client.post(control).send().await.unwrap();
    let status = response.status();
    let follow: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "Fedify's Follow: {follow}");
    assert_eq!(follow["followed"], a.url("/actors/marcq"));
    assert_eq!(
        a.state.store.count_followers(marcq.id).await.unwrap(),
        1,
        "Maillage verified and accepted Fedify's Follow"
    );
    let follower = a
        .state
        .store
        .actor_by_ap_id(&fedify_actor.parse().unwrap())
        .await
        .unwrap()
        .expect("Fedify's actor is stored");
    assert!(!follower.local);

    // The Accept: Maillage signs it, Fedify verifies it (a refusal is a 401 → failed).
    assert_eq!(a.drain().await, 1, "one Accept");
    assert_queue(&a, 1).await;
    let accept = peer
        .wait_for(&client, "the Accept", |x| x["type"] == "Accept")
        .await;
    assert_eq!(accept["actor"], a.url("/actors/marcq"));
    assert_eq!(
        accept["object"], follow["follow"],
        "Accept of Fedify's Follow"
    );

    // Create, Update, Delete of an action reach Fedify, signed by Marcq.
    let action = a.publish("marcq", &token, &sample_action()).await;
    let action_id = action["id"].as_str().unwrap().to_string();
    let uuid = action["uuid"].as_str().unwrap().to_string();
    assert_eq!(a.drain().await, 1, "one follower, one Create");
    assert_queue(&a, 2).await;
    let create = peer
        .wait_for(&client, "the Create", |x| x["type"] == "Create")
        .await;
    assert_eq!(create["actor"], a.url("/actors/marcq"));
    assert_eq!(create["object"], action_id);
    assert_eq!(create["objectType"], "Article");
    assert_eq!(create["name"], "Guichet numérique des démarches");

    // Fedify replies to the action: the Note lands in moderation and, once approved,
    // shows on the action page with its author's name.
    let mut control = url::Url::parse(&peer.url("/control/reply")).unwrap();
    control
        .query_pairs_mut()
        .append_pair("inReplyTo", &action_id)
        .append_pair("to", &a.url("/actors/marcq"))
        .append_pair(
            "content",
            "<p>Nous aussi, à Fedify-sur-Mer : merci du partage !</p>",
        );
    let response = client.post(control).send().await.unwrap();
    let status = response.status();
    let sent: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "Fedify's reply: {sent}");
    let pending: Value = a
        .client
        .get(a.url("/api/v1/moderation/comments"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pending.as_array().map(Vec::len), Some(1), "{pending}");
    assert_eq!(pending[0]["ap_id"], sent["note"]);
    assert_eq!(pending[0]["author_name"], "Citoyenne (Fedify)");
    let (_, page) = a.get_html(&action_id).await;
    assert!(
        !page.contains("Fedify-sur-Mer"),
        "not shown before approval"
    );
    let response = a
        .client
        .post(a.url(&format!("/api/v1/comments/{}/approve", pending[0]["id"])))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (_, page) = a.get_html(&action_id).await;
    assert!(
        page.contains("Fedify-sur-Mer"),
        "the approved reply on the action page"
    );
    assert!(
        page.contains("Citoyenne (Fedify)"),
        "with its author's name"
    );

    let response = a
        .client
        .patch(a.url(&format!("/api/v1/actions/{uuid}")))
        .bearer_auth(&token)
        .json(&json!({"name": "Guichet numérique 2027"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(a.drain().await, 1);
    assert_queue(&a, 3).await;
    let update = peer
        .wait_for(&client, "the Update", |x| x["type"] == "Update")
        .await;
    assert_eq!(update["actor"], a.url("/actors/marcq"));
    assert_eq!(update["object"], action_id);
    assert_eq!(update["objectType"], "Article");
    assert_eq!(update["name"], "Guichet numérique 2027");

    let response = a
        .client
        .delete(a.url(&format!("/api/v1/actions/{uuid}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(a.drain().await, 1);
    assert_queue(&a, 4).await;
    let delete = peer
        .wait_for(&client, "the Delete", |x| x["type"] == "Delete")
        .await;
    assert_eq!(delete["actor"], a.url("/actors/marcq"));
    assert_eq!(delete["object"], action_id);
    assert_eq!(delete["objectType"], "Tombstone");
    let exchanged = started.elapsed();

    // Maillage refuses what claims to come from Fedify but is signed by someone else:
    // Marcq's own key (the signer is not the actor)...
    let forged = |n: u32| {
        serde_json::to_vec(&json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": peer.url(&format!("/forged/{n}")),
            "type": "Create",
            "actor": fedify_actor,
            "object": {"id": peer.url(&format!("/notes/{n}")), "type": "Note",
                       "attributedTo": fedify_actor, "content": "faux"},
        }))
        .unwrap()
    };
    let (marcq_key_id, marcq_pem) = key_of(&marcq);
    let response = post_signed_with(
        &a.client,
        &a.url("/inbox"),
        &marcq_key_id,
        marcq_pem,
        &forged(1),
        |_| {},
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // ... or Fedify's key id with a key that is not Fedify's.
    let fedify_key_id = format!("{fedify_actor}#main-key");
    let response = post_signed_with(
        &a.client,
        &a.url("/inbox"),
        &fedify_key_id,
        marcq_pem,
        &forged(2),
        |_| {},
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // Fedify refuses what claims to come from Marcq but is not signed with Marcq's key,
    // and what is not signed at all; neither is recorded.
    a.create_collectivite("lille", "59350").await;
    let lille = a.actor("lille").await;
    let (_, lille_pem) = key_of(&lille);
    let spoof = serde_json::to_vec(&json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": a.url("/activities/forged"),
        "type": "Create",
        "actor": a.url("/actors/marcq"),
        "object": {"id": a.url("/actions/forged"), "type": "Article",
                   "attributedTo": a.url("/actors/marcq"), "name": "Fausse action"},
    }))
    .unwrap();
    let fedify_inbox = peer.url("/users/citoyenne/inbox");
    let response = post_signed_with(
        &client,
        &fedify_inbox,
        &marcq_key_id,
        lille_pem,
        &spoof,
        |_| {},
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "bad signature");
    let response = client
        .post(&fedify_inbox)
        .header("content-type", "application/activity+json")
        .body(spoof.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "unsigned");
    let received = peer.received(&client).await;
    assert!(
        received.iter().all(|x| x["name"] != "Fausse action"),
        "{received:#?}"
    );
    let kinds: Vec<&str> = received.iter().filter_map(|x| x["type"].as_str()).collect();
    assert_eq!(kinds, ["Accept", "Create", "Update", "Delete"]);

    let _ = writeln!(
        std::io::stderr(),
        "Fedify interop: peer up in {} ms, follow + 4 activities verified in {} ms, total {} ms",
        peer_up.as_millis(),
        (exchanged - peer_up).as_millis(),
        started.elapsed().as_millis()
    );
}

/// Where the Fedify 2.x peer lives, with its own Node 22 (`node` npm package).
fn fedify2_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/fedify2")
}

/// The Node 22 binary `npm ci` installs in `tests/interop/fedify2`.
fn fedify2_node() -> PathBuf {
    fedify2_dir().join("node_modules/.bin/node")
}

/// Why the Fedify 2 peer cannot run here, if it cannot.
fn fedify2_missing() -> Option<String> {
    if let Some(reason) = crate::helpers::node_module_missing(&fedify2_dir(), "@fedify/fedify") {
        return Some(reason);
    }
    let version = Command::new(fedify2_node()).arg("--version").output();
    match version {
        Ok(out)
            if out.status.success() && String::from_utf8_lossy(&out.stdout).starts_with("v22") =>
        {
            None
        }
        Ok(out) => Some(format!(
            "{} is not Node 22: {}",
            fedify2_node().display(),
            String::from_utf8_lossy(&out.stdout).trim()
        )),
        Err(error) => Some(format!("{}: {error}", fedify2_node().display())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fedify2_knocks_once_with_rfc9421_and_verifies_both_kinds_sqlite() {
    fedify2_knocks_once_with_rfc9421_and_verifies_both_kinds(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fedify2_knocks_once_with_rfc9421_and_verifies_both_kinds_postgres() {
    fedify2_knocks_once_with_rfc9421_and_verifies_both_kinds(Engine::Postgres).await;
}

/// Fedify 2.x signs RFC 9421 first: its Follow and its reply are accepted on the first
/// knock (its own record of what it sent shows no 401); Maillage then signs to it with
/// RFC 9421 (learnt from the Follow), and with draft-cavage once told to, and Fedify
/// verifies both (its inbox records only what verified, with the kind it carried).
async fn fedify2_knocks_once_with_rfc9421_and_verifies_both_kinds(engine: Engine) {
    if let Some(reason) = fedify2_missing() {
        if std::env::var("MAILLAGE_REQUIRE_INTEROP").is_ok_and(|v| v == "1") {
            panic!("MAILLAGE_REQUIRE_INTEROP=1 but the Fedify 2 peer cannot run: {reason}");
        }
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: Fedify 2 interop (run npm ci in tests/interop/fedify2): {reason}"
        );
        return;
    }
    let Some(a) = spawn_app(engine).await else {
        crate::helpers::say_skipped("fedify2_knocks_once_with_rfc9421_and_verifies_both_kinds");
        return;
    };
    let token = a.collectivite_with_token("marcq", "59378").await;
    let marcq = a.actor("marcq").await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let peer = Peer::start_in(&client, &fedify2_dir(), &fedify2_node()).await;
    let peer_host = peer.base.trim_start_matches("http://").to_string();

    let mut control = url::Url::parse(&peer.url("/control/follow")).unwrap();
    control
        .query_pairs_mut()
        .append_pair("target", &format!("acct:marcq@{}", a.domain));
    let response = client.post(control).send().await.unwrap();
    let status = response.status();
    let follow: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "Fedify 2's Follow: {follow}");
    assert_eq!(a.state.store.count_followers(marcq.id).await.unwrap(), 1);

    // What Fedify sent to Maillage's inboxes: RFC 9421, accepted at once.
    let sent = |all: Value| -> Vec<(String, u64)> {
        all.as_array()
            .unwrap()
            .iter()
            .filter(|r| r["method"] == "POST" && r["url"].as_str().unwrap().starts_with(&a.base))
            .map(|r| {
                (
                    r["signature"].as_str().unwrap_or("none").to_string(),
                    r["status"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let all: Value = client
        .get(peer.url("/control/sent"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sent(all.clone()), [("rfc9421".to_string(), 202)], "{all:#}");
    let styles = a.state.store.instance_signature_styles().await.unwrap();
    assert!(
        styles
            .iter()
            .any(|(d, s, ..)| *d == peer_host && s == "rfc9421"),
        "Maillage learnt that Fedify 2 speaks RFC 9421: {styles:?}"
    );

    // The Accept goes out RFC 9421; Fedify verifies it.
    assert_eq!(a.drain().await, 1);
    assert_queue(&a, 1).await;
    let accept = peer
        .wait_for(&client, "the Accept", |x| x["type"] == "Accept")
        .await;
    assert_eq!(accept["signature"], "rfc9421", "{accept}");

    // Told to use draft-cavage for this host, Maillage signs the Create that way, and
    // Fedify verifies that too.
    a.state
        .signature_styles
        .remember(
            &a.state.store,
            &peer_host,
            maillage::federation::signing::Style::Cavage,
            "test",
        )
        .await
        .unwrap();
    let action = a.publish("marcq", &token, &sample_action()).await;
    assert_eq!(a.drain().await, 1);
    assert_queue(&a, 2).await;
    let create = peer
        .wait_for(&client, "the Create", |x| x["type"] == "Create")
        .await;
    assert_eq!(create["object"], action["id"]);
    assert_eq!(create["signature"], "draft-cavage", "{create}");

    // Fedify's reply: again RFC 9421 on the first knock, accepted.
    let mut control = url::Url::parse(&peer.url("/control/reply")).unwrap();
    control
        .query_pairs_mut()
        .append_pair("inReplyTo", action["id"].as_str().unwrap())
        .append_pair("to", &a.url("/actors/marcq"))
        .append_pair("content", "<p>Bravo, de la part de Fedify 2 !</p>");
    let response = client.post(control).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let all: Value = client
        .get(peer.url("/control/sent"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        sent(all.clone()),
        [("rfc9421".to_string(), 202), ("rfc9421".to_string(), 202)],
        "no 401 answered to Fedify 2: {all:#}"
    );
    let _ = writeln!(
        std::io::stderr(),
        "Fedify 2 interop ({engine:?}): first knocks accepted, both signature kinds verified"
    );
}

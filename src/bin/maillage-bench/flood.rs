//! `flood`: one node's shared inbox flooded for a while with valid activities and junk
//! from many fake hosts, while `/healthz` is probed and the node's memory sampled.
//! Afterwards every valid activity refused for rate (429) is sent again, as a real
//! sender would, and the node's database and metrics must show each applied exactly
//! once. Then the attack phases of issue 13 ([`crate::attacks`]), one after the other:
//! concurrent sign-ins, repeated `Accept`s, concurrent exports, slow key servers.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::HeaderMap;
use maillage::activitypub::signatures;
use serde_json::{Value, json};

use crate::attacks;
use crate::fake::{self, Actor};
use crate::node::{self, Node};
use crate::report::{Report, percentile};

/// Parameters.
#[derive(Debug, Clone, clap::Args)]
pub struct FloodArgs {
    /// Length of the flood, in seconds.
    #[arg(long, default_value_t = 30)]
    pub seconds: u64,
    /// Fake remote hosts (each its own loopback port).
    #[arg(long, default_value_t = 50)]
    pub hosts: usize,
    /// Actors per fake host.
    #[arg(long, default_value_t = 2)]
    pub actors_per_host: usize,
    /// Distinct valid `Create{Article}` activities prepared (sent again as duplicates
    /// once all went out).
    #[arg(long, default_value_t = 20_000)]
    pub valid: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Length of each attack phase (sign-ins, Accepts, exports, slow key servers), in
    /// seconds; 0 skips them.
    #[arg(long, default_value_t = 20)]
    pub attack_seconds: u64,
    /// Local actions generated in the directory before the flood (what the exports
    /// carry, with the actions the flood stores).
    #[arg(long, default_value_t = 3_000)]
    pub actions: usize,
    /// Slow key servers (one byte per second each) the slow-key phase points at.
    #[arg(long, default_value_t = 4)]
    pub slow_servers: usize,
}

/// A prepared request.
#[derive(Clone)]
pub struct Request {
    pub kind: &'static str,
    pub headers: HeaderMap,
    pub body: Arc<Vec<u8>>,
}

/// Kinds of junk, with what the node must answer.
const JUNK: [(&str, u16); 9] = [
    ("unsigned", 401),
    ("bad-signature", 401),
    ("digest-mismatch", 401),
    ("malformed-json", 400),
    ("deep-nesting", 400),
    ("oversized", 413),
    ("unknown-host", 401),
    ("mismatched-actor", 403),
    ("stale-date", 401),
];

pub fn create(actor: &Actor, i: usize) -> Vec<u8> {
    let base = actor.id.origin().ascii_serialization();
    serde_json::to_vec(&json!({
        "@context": ["https://www.w3.org/ns/activitystreams", {"mai": "https://w3id.org/maillage/ns#"}],
        "id": format!("{base}/activities/flood-{i}"),
        "type": "Create",
        "actor": actor.id,
        "object": {
            "id": format!("{base}/actions/flood-{i}"), "type": "Article", "attributedTo": actor.id,
            "name": format!("Action de démonstration n° {i}"),
            "summary": "Un guichet numérique pour les démarches des habitants.",
            "content": "<p>Prise de rendez-vous en ligne, suivi des demandes.</p>",
            "mai:themes": ["services-publics"], "mai:phase": "service",
        },
    }))
    .expect("BUG: JSON serialises")
}

fn sign(
    inbox: &url::Url,
    body: &[u8],
    actor: &Actor,
    now: chrono::DateTime<chrono::Utc>,
) -> HeaderMap {
    signatures::sign_request_with(
        "POST",
        inbox,
        Some(body),
        &actor.key_id,
        &actor.key.private,
        now,
    )
    .expect("BUG: signing")
}

/// Signs the valid activities on every core (RSA signing is slow).
pub fn valid_requests(inbox: &url::Url, actors: &[Actor], n: usize) -> Vec<Request> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunks: Vec<Vec<usize>> = (0..threads)
        .map(|t| (0..n).filter(|i| i % threads == t).collect())
        .collect();
    let mut requests: Vec<(usize, Request)> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|&i| {
                            let actor = &actors[i % actors.len()];
                            let body = create(actor, i);
                            let headers = sign(inbox, &body, actor, chrono::Utc::now());
                            (
                                i,
                                Request {
                                    kind: "valid",
                                    headers,
                                    body: Arc::new(body),
                                },
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("signing thread"))
            .collect()
    });
    requests.sort_by_key(|(i, _)| *i);
    requests.into_iter().map(|(_, r)| r).collect()
}

/// A few requests of each junk kind.
fn junk_requests(inbox: &url::Url, actors: &[Actor], other_key: &fake::Key) -> Vec<Request> {
    let now = chrono::Utc::now();
    let mut junk = Vec::new();
    for n in 0..20 {
        let actor = &actors[n % actors.len()];
        let body = create(actor, 1_000_000 + n);
        for (kind, _) in JUNK {
            let (headers, body) = match kind {
                "unsigned" => {
                    let mut headers = HeaderMap::new();
                    headers.insert("content-type", "application/activity+json".parse().unwrap());
                    (headers, body.clone())
                }
                "bad-signature" => {
                    let headers = signatures::sign_request_with(
                        "POST",
                        inbox,
                        Some(&body),
                        &actor.key_id,
                        &other_key.private,
                        now,
                    )
                    .unwrap();
                    (headers, body.clone())
                }
                "digest-mismatch" => {
                    let mut tampered = body.clone();
                    tampered.extend_from_slice(b" ");
                    (sign(inbox, &body, actor, now), tampered)
                }
                "malformed-json" => {
                    let broken = body[..body.len() / 2].to_vec();
                    (sign(inbox, &broken, actor, now), broken)
                }
                "deep-nesting" => {
                    let deep = format!(
                        "{{\"id\":\"{}/x\",\"type\":\"Create\",\"actor\":\"{}\",\"object\":{}{}}}",
                        actor.id,
                        actor.id,
                        "[".repeat(50_000),
                        "]".repeat(50_000)
                    )
                    .into_bytes();
                    (sign(inbox, &deep, actor, now), deep)
                }
                "oversized" => {
                    let big = format!(
                        "{{\"id\":\"{}/big\",\"type\":\"Create\",\"actor\":\"{}\",\"content\":\"{}\"}}",
                        actor.id,
                        actor.id,
                        "x".repeat(1_200_000)
                    )
                    .into_bytes();
                    (sign(inbox, &big, actor, now), big)
                }
                "unknown-host" => {
                    let ghost = Actor {
                        id: format!("http://localhost:9/actors/fantome{n}")
                            .parse()
                            .unwrap(),
                        key: actor.key.clone(),
                        key_id: format!("http://localhost:9/actors/fantome{n}#main-key"),
                    };
                    let body = create(&ghost, 2_000_000 + n);
                    (sign(inbox, &body, &ghost, now), body)
                }
                "mismatched-actor" => {
                    let other = &actors[(n + 1) % actors.len()];
                    let mut value: Value = serde_json::from_slice(&body).unwrap();
                    value["actor"] = json!(other.id);
                    let body = serde_json::to_vec(&value).unwrap();
                    (sign(inbox, &body, actor, now), body)
                }
                "stale-date" => {
                    let old = now - chrono::Duration::hours(2);
                    (sign(inbox, &body, actor, old), body.clone())
                }
                _ => unreachable!(),
            };
            junk.push(Request {
                kind,
                headers,
                body: Arc::new(body),
            });
        }
    }
    junk
}

/// What the flood saw, per kind of request: statuses and latencies.
#[derive(Default)]
struct Seen {
    statuses: BTreeMap<(&'static str, u16), u64>,
    latencies: Vec<Duration>,
    /// Valid activities answered 202, by index.
    accepted: HashSet<usize>,
    /// Valid activities to send again (429 or a transport error), by index.
    retry: HashSet<usize>,
}

pub async fn post(client: &reqwest::Client, inbox: &str, request: &Request) -> Option<u16> {
    match client
        .post(inbox)
        .headers(request.headers.clone())
        .body(request.body.as_ref().clone())
        .send()
        .await
    {
        Ok(response) => Some(response.status().as_u16()),
        Err(error) => {
            static SHOWN: AtomicUsize = AtomicUsize::new(0);
            if request.kind != "oversized" && SHOWN.fetch_add(1, Ordering::Relaxed) < 3 {
                eprintln!("{} request failed: {error:?}", request.kind);
            }
            None
        }
    }
}

/// Runs the scenario.
pub async fn run(args: FloodArgs, report: &mut Report) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let settings = node::settings(dir.path())?;
    let keys = fake::keys(4).await?;
    let other_key = fake::keys(1).await?.remove(0);
    let hosts = fake::start(args.hosts, args.actors_per_host, &keys, Default::default()).await?;
    let actors: Vec<Actor> = hosts.iter().flat_map(|h| h.actors.clone()).collect();

    // The node's database: one collectivité following every fake actor, generated
    // actions, an editor account; the follow of the first fake actor waits for its
    // `Accept` (the first one backfills, the repeated ones must not).
    let seeded = node::seed(&settings, &hosts, node::Link::LocalFollowsRemote).await?;
    {
        let state = maillage::startup::prepare(settings.clone()).await?;
        crate::search::generate(&state, args.actions).await?;
        maillage::service::users::create_user(
            &state,
            "redactrice",
            attacks::EDITOR_PASSWORD,
            &["marcq".to_string()],
            false,
            None,
        )
        .await?;
        let followed = state
            .store
            .actor_by_ap_id(&actors[0].id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the first fake actor is not stored"))?;
        let follow = state
            .store
            .follow_between(seeded.collectivite.id, followed.id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the seeded follow is missing"))?;
        state
            .store
            .set_follow_state(follow.id, maillage::db::follows::FollowState::Pending)
            .await?;
        state.store.close().await;
    }
    let node = Node::spawn(settings, dir.path()).await?;
    let inbox_url: url::Url = format!("{}/inbox", node.base).parse()?;
    let inbox = inbox_url.to_string();

    eprintln!("flood: signing {} valid activities…", args.valid);
    // The first fake actor's follow waits for its `Accept` (the attack phase): its
    // `Create`s would be ignored, so it sends none.
    let senders = &actors[1..];
    let valid = Arc::new(valid_requests(&inbox_url, senders, args.valid));
    let junk = Arc::new(junk_requests(&inbox_url, &actors, &other_key));

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .timeout(Duration::from_secs(30))
        .build()?;
    let pid = node.pid();
    let probe = attacks::Probe::start(&node.base, pid);

    // The flood: half valid (new, then duplicates), half junk of every kind.
    eprintln!(
        "flood: {} s, {} hosts, {} actors, concurrency {}",
        args.seconds,
        args.hosts,
        actors.len(),
        args.concurrency
    );
    let seen = Arc::new(Mutex::new(Seen::default()));
    let counter = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let (seen, counter, valid, junk, client, inbox) = (
            seen.clone(),
            counter.clone(),
            valid.clone(),
            junk.clone(),
            client.clone(),
            inbox.clone(),
        );
        let lone_client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(30))
            .build()?;
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let (index, request) = if n % 2 == 0 {
                    let i = (n / 2) % valid.len();
                    (Some(i), &valid[i])
                } else {
                    (None, &junk[(n / 2) % junk.len()])
                };
                let sent = Instant::now();
                // A node refusing a body it has not read closes the connection: the
                // oversized requests go on their own connections, as they would come
                // from their own server.
                let status = if request.kind == "oversized" {
                    post(&lone_client, &inbox, request).await
                } else {
                    post(&client, &inbox, request).await
                };
                let elapsed = sent.elapsed();
                let mut seen = seen.lock().unwrap();
                seen.latencies.push(elapsed);
                *seen
                    .statuses
                    .entry((request.kind, status.unwrap_or(0)))
                    .or_default() += 1;
                if let Some(i) = index {
                    if status == Some(202) {
                        seen.accepted.insert(i);
                        seen.retry.remove(&i);
                    } else if !seen.accepted.contains(&i) {
                        seen.retry.insert(i);
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let flood_time = started.elapsed();
    let probed = probe.finish().await?;

    // Valid activities never accepted (rate-limited) are sent again, freshly signed.
    let retry: Vec<usize> = {
        let seen = seen.lock().unwrap();
        let mut retry: Vec<usize> = seen.retry.iter().copied().collect();
        retry.sort_unstable();
        retry
    };
    let sent_valid = {
        let seen = seen.lock().unwrap();
        seen.accepted.len() + seen.retry.len()
    };
    eprintln!(
        "flood: sending {} rate-limited activities again…",
        retry.len()
    );
    let retry_started = Instant::now();
    for i in &retry {
        let actor = &senders[i % senders.len()];
        loop {
            let body = create(actor, *i);
            let request = Request {
                kind: "valid",
                headers: sign(&inbox_url, &body, actor, chrono::Utc::now()),
                body: Arc::new(body),
            };
            match post(&client, &inbox, &request).await {
                Some(202) => break,
                Some(429) | None => tokio::time::sleep(Duration::from_millis(250)).await,
                Some(other) => anyhow::bail!("valid activity {i} answered {other}"),
            }
            anyhow::ensure!(
                retry_started.elapsed() < Duration::from_secs(300),
                "the node still refuses valid activities after 5 minutes"
            );
        }
    }
    let metrics = client
        .get(format!("{}/metrics", node.base))
        .send()
        .await?
        .text()
        .await?;
    let applied_metric = metric_sum(
        &metrics,
        "maillage_inbox_activities_total",
        "outcome=\"applied\"",
    );
    let (_, flood_hwm) = node::memory(pid);

    // The attack phases, once the flood's own counts are taken.
    let mut phases = Report::new("flood");
    if args.attack_seconds > 0 {
        let target = attacks::Target {
            base: &node.base,
            pid,
            seconds: args.attack_seconds,
            concurrency: args.concurrency,
        };
        let follower = seeded.collectivite.ap_id.clone();
        attacks::sign_ins(&target, &mut phases, "redactrice").await?;
        attacks::repeated_accepts(&target, &mut phases, &follower, &actors[0]).await?;
        attacks::exports(&target, &mut phases).await?;
        attacks::slow_key_servers(&target, &mut phases, &actors[1], args.slow_servers).await?;
    }
    let (_, hwm) = node::memory(pid);
    let base = node.base.clone();
    let db_url = node.settings.database.url.clone();
    node.stop()?;

    // Exactly once: one stored action per distinct valid activity sent.
    let store = maillage::db::Store::connect(&db_url, 2).await?;
    let stored = store.count_remote_actions().await?;

    let seen = seen.lock().unwrap();
    let mut latencies = seen.latencies.clone();
    latencies.sort();
    let total: u64 = seen.statuses.values().sum();
    report.line(
        "flood: inbox requests",
        format!(
            "{total} in {:.1} s ({:.0}/s), p50 {:.1} ms, p99 {:.1} ms",
            flood_time.as_secs_f64(),
            total as f64 / flood_time.as_secs_f64(),
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.99)
        ),
    );
    for ((kind, status), count) in &seen.statuses {
        let expected = JUNK
            .iter()
            .find(|(k, _)| k == kind)
            .map_or("202 or 429".to_string(), |(_, s)| format!("{s} or 429"));
        let expected = if *kind == "oversized" {
            format!("{expected}, or the connection cut before the body is read")
        } else {
            expected
        };
        report.line(
            &format!("flood: {kind} → {status}"),
            format!("{count} (expected {expected})"),
        );
        report.json(&format!("status.{kind}.{status}"), json!(count));
    }
    probed.report(report, "flood: inbox flood", "inbox");
    report.line(
        "flood: node memory",
        format!(
            "peak RSS {flood_hwm:.1} MiB after the inbox flood, {hwm:.1} MiB after every phase (VmHWM)"
        ),
    );
    report.json("peak_rss_mib", json!(hwm));
    report.append(phases);
    report.line(
        "flood: exactly once",
        format!(
            "{sent_valid} distinct valid activities sent ({} re-sent after 429), {stored} stored, {applied_metric} applied (metrics)",
            retry.len()
        ),
    );
    report.json("valid_distinct", json!(sent_valid));
    report.json("stored", json!(stored));
    report.json("applied_metric", json!(applied_metric));
    report.json("node", json!(base));
    // Any answer outside the expected ones is a failure of the node.
    let unexpected: Vec<String> = seen
        .statuses
        .iter()
        .filter(|((kind, status), _)| {
            let expected = JUNK
                .iter()
                .find(|(k, _)| k == kind)
                .map_or(202, |(_, s)| *s);
            // An oversized body refused for rate before it is read: the node closes the
            // connection while the client still writes (a broken pipe, status 0 here).
            let cut = *kind == "oversized" && *status == 0;
            *status != expected && *status != 429 && !cut
        })
        .map(|((kind, status), n)| format!("{kind} → {status} ×{n}"))
        .collect();
    anyhow::ensure!(unexpected.is_empty(), "unexpected answers: {unexpected:?}");
    anyhow::ensure!(
        stored as usize == sent_valid && applied_metric as usize == sent_valid,
        "not exactly once: {sent_valid} sent, {stored} stored, {applied_metric} applied"
    );
    Ok(())
}

/// Sums the samples of `name` whose labels contain `label` in a Prometheus page.
pub fn metric_sum(page: &str, name: &str, label: &str) -> f64 {
    page.lines()
        .filter(|l| l.starts_with(name) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

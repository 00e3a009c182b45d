//! The attack phases of `flood` (issue 13), each for a while against the same node,
//! one after the other: concurrent sign-ins with wrong passwords, repeated `Accept`s
//! of one follow, concurrent exports of the whole directory, and inbound activities
//! whose `keyId` points at servers that answer one byte per second. Through each,
//! `/healthz` is probed and the node's resident memory sampled ([`Probe`]).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::fake::Actor;
use crate::node;
use crate::report::{Report, percentile};

/// The password of the bench's editor account (the attacks use wrong ones).
pub const EDITOR_PASSWORD: &str = "mot de passe du banc d'essai";

/// `/healthz` probed every 20 ms and the node's resident memory sampled every 100 ms
/// (`VmRSS`, and `RssAnon`: without the mapped database file) until [`Probe::finish`].
pub struct Probe {
    stop: Arc<AtomicBool>,
    health: tokio::task::JoinHandle<(Vec<Duration>, u64)>,
    sampler: tokio::task::JoinHandle<(f64, f64)>,
}

/// What a [`Probe`] saw.
pub struct Probed {
    /// `/healthz` latencies, sorted.
    pub health: Vec<Duration>,
    /// Probes that failed or were not `200`.
    pub failures: u64,
    /// Highest `VmRSS` sample, MiB (mapped database pages included).
    pub peak_rss: f64,
    /// Highest `RssAnon` sample, MiB (the node's own memory).
    pub peak_anon: f64,
}

impl Probe {
    /// Starts probing the node at `base` (process `pid`).
    pub fn start(base: &str, pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        // Its own client: the probe never waits behind the attack's connections.
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("BUG: client");
        let url = format!("{base}/healthz");
        let health = {
            let stop = stop.clone();
            tokio::spawn(async move {
                let (mut times, mut failures) = (Vec::new(), 0_u64);
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    match client.get(&url).send().await {
                        Ok(r) if r.status().is_success() => times.push(started.elapsed()),
                        _ => failures += 1,
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                times.sort();
                (times, failures)
            })
        };
        let sampler = {
            let stop = stop.clone();
            tokio::spawn(async move {
                let (mut rss, mut anon) = (0.0_f64, 0.0_f64);
                while !stop.load(Ordering::Relaxed) {
                    rss = rss.max(node::memory(pid).0);
                    anon = anon.max(node::anonymous_memory(pid));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                (rss, anon)
            })
        };
        Probe {
            stop,
            health,
            sampler,
        }
    }

    /// Stops probing.
    pub async fn finish(self) -> anyhow::Result<Probed> {
        self.stop.store(true, Ordering::Relaxed);
        let (health, failures) = self.health.await?;
        let (peak_rss, peak_anon) = self.sampler.await?;
        Ok(Probed {
            health,
            failures,
            peak_rss,
            peak_anon,
        })
    }
}

impl Probed {
    /// Reports `/healthz` p50/p99/max and the peak sample under `label`, in the table
    /// and in the JSON (`KEY.healthz_p99_ms`, `KEY.peak_rss_mib`).
    pub fn report(&self, report: &mut Report, label: &str, key: &str) {
        let p99 = percentile(&self.health, 0.99);
        report.line(
            &format!("{label}: /healthz"),
            format!(
                "{} probes, p50 {:.1} ms, p99 {p99:.1} ms, max {:.1} ms, {} failed (target p99 < 100 ms: {})",
                self.health.len(),
                percentile(&self.health, 0.50),
                percentile(&self.health, 1.0),
                self.failures,
                if p99 < 100.0 && self.failures == 0 {
                    "met"
                } else {
                    "MISSED"
                }
            ),
        );
        report.line(
            &format!("{label}: node memory"),
            format!(
                "peak RssAnon {:.1} MiB (target < 150 MB: {}); peak VmRSS {:.1} MiB, mapped database pages included (samples every 100 ms)",
                self.peak_anon,
                if self.peak_anon * 1.048_576 < 150.0 {
                    "met"
                } else {
                    "MISSED"
                },
                self.peak_rss,
            ),
        );
        report.json(
            &format!("{key}.healthz_p50_ms"),
            json!(percentile(&self.health, 0.5)),
        );
        report.json(&format!("{key}.healthz_p99_ms"), json!(p99));
        report.json(&format!("{key}.healthz_failures"), json!(self.failures));
        report.json(&format!("{key}.peak_rss_mib"), json!(self.peak_rss));
        report.json(&format!("{key}.peak_rss_anon_mib"), json!(self.peak_anon));
    }
}

/// Statuses counted by phase (`0` for a transport error or a timeout).
#[derive(Default, Clone)]
pub struct Statuses(Arc<Mutex<BTreeMap<u16, u64>>>);

impl Statuses {
    fn count(&self, status: Option<u16>) {
        *self
            .0
            .lock()
            .unwrap()
            .entry(status.unwrap_or(0))
            .or_default() += 1;
    }

    fn summary(&self) -> String {
        let counts = self.0.lock().unwrap();
        let total: u64 = counts.values().sum();
        let each: Vec<String> = counts.iter().map(|(s, n)| format!("{s} ×{n}")).collect();
        format!("{total} requests: {}", each.join(", "))
    }
}

/// What every phase needs.
pub struct Target<'a> {
    /// `http://localhost:PORT`.
    pub base: &'a str,
    /// The node's process.
    pub pid: u32,
    /// Seconds per phase.
    pub seconds: u64,
    /// Requests in flight at once.
    pub concurrency: usize,
}

/// Runs `concurrency` loops of `attack` for `seconds` while probing; reports under
/// `label`.
async fn phase<F, Fut>(
    target: &Target<'_>,
    report: &mut Report,
    label: &str,
    key: &str,
    concurrency: usize,
    attack: F,
) -> anyhow::Result<()>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Option<u16>> + Send,
{
    eprintln!(
        "flood: {label}, {} s, {concurrency} at once…",
        target.seconds
    );
    let probe = Probe::start(target.base, target.pid);
    let statuses = Statuses::default();
    let counter = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(target.seconds);
    let attack = Arc::new(attack);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (attack, statuses, counter) = (attack.clone(), statuses.clone(), counter.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                statuses.count(attack(n).await);
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let probed = probe.finish().await?;
    report.line(label, statuses.summary());
    probed.report(report, label, key);
    Ok(())
}

/// Concurrent sign-ins with wrong passwords for one account, from one address, through
/// the sign-in form (with its CSRF token, as a browser sends it).
pub async fn sign_ins(target: &Target<'_>, report: &mut Report, user: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let form = client
        .get(format!("{}/admin/connexion", target.base))
        .send()
        .await?;
    let cookie = form
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("maillage_connexion="))
        .and_then(|v| v.split(';').next())
        .ok_or_else(|| anyhow::anyhow!("the sign-in form set no token cookie"))?
        .to_string();
    let (url, user) = (format!("{}/admin/connexion", target.base), user.to_string());
    phase(
        target,
        report,
        "flood: concurrent sign-ins (wrong passwords)",
        "sign_ins",
        target.concurrency,
        move |n| {
            let form = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("username", &user)
                .append_pair("password", &format!("mauvais mot de passe {n}"))
                .append_pair("csrf", &cookie)
                .finish();
            let request = client
                .post(&url)
                .header("cookie", format!("maillage_connexion={cookie}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form);
            async move { request.send().await.ok().map(|r| r.status().as_u16()) }
        },
    )
    .await
}

/// The same `Accept{Follow}` of one of the node's follows, sent again and again by the
/// followed actor: 2 000 distinct activities, signed before the phase (signing here
/// would take the cores the probe and the node need), then sent in turn.
pub async fn repeated_accepts(
    target: &Target<'_>,
    report: &mut Report,
    follower: &url::Url,
    followed: &Actor,
) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let inbox: url::Url = format!("{}/inbox", target.base).parse()?;
    let signed = {
        let (inbox, follower, followed) = (inbox.clone(), follower.clone(), followed.clone());
        tokio::task::spawn_blocking(move || {
            (0..2_000)
                .map(|n| {
                    let body = serde_json::to_vec(&json!({
                        "@context": "https://www.w3.org/ns/activitystreams",
                        "id": format!("{}/accepts/{n}", followed.id),
                        "type": "Accept",
                        "actor": followed.id,
                        "object": {"type": "Follow", "actor": follower, "object": followed.id},
                    }))
                    .expect("BUG: JSON serialises");
                    let headers = maillage::activitypub::signatures::sign_request_with(
                        "POST",
                        &inbox,
                        Some(&body),
                        &followed.key_id,
                        &followed.key.private,
                        chrono::Utc::now(),
                    )
                    .expect("BUG: signing");
                    (headers, body)
                })
                .collect::<Vec<_>>()
        })
        .await?
    };
    let signed = Arc::new(signed);
    phase(
        target,
        report,
        "flood: repeated Accepts of one follow",
        "accepts",
        target.concurrency,
        move |n| {
            let (headers, body) = &signed[n % signed.len()];
            let request = client
                .post(inbox.as_str())
                .headers(headers.clone())
                .body(body.clone());
            async move { request.send().await.ok().map(|r| r.status().as_u16()) }
        },
    )
    .await
}

/// Concurrent exports of the whole directory (GeoJSON, CSV, Atom in turn), each read to
/// its end by the client.
pub async fn exports(target: &Target<'_>, report: &mut Report) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let base = target.base.to_string();
    phase(
        target,
        report,
        "flood: concurrent exports",
        "exports",
        target.concurrency.min(16),
        move |n| {
            let path = ["/directory.geojson", "/directory.csv", "/directory.atom"][n % 3];
            let request = client.get(format!("{base}{path}"));
            async move {
                let response = request.send().await.ok()?;
                let status = response.status().as_u16();
                let mut body = response.bytes_stream();
                while let Some(chunk) = body.next().await {
                    chunk.ok()?;
                }
                Some(status)
            }
        },
    )
    .await
}

/// A server that accepts every connection and answers one byte per second.
async fn one_byte_per_second() -> anyhow::Result<u16> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request).await;
                for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/activity+json\r\n\r\n{}"
                {
                    if stream.write_all(&[*byte]).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            });
        }
    });
    Ok(port)
}

/// Inbound activities whose `keyId` points at `servers` slow key servers (one byte per
/// second); the node must fetch each key before it can check the signature.
pub async fn slow_key_servers(
    target: &Target<'_>,
    report: &mut Report,
    signer: &Actor,
    servers: usize,
) -> anyhow::Result<()> {
    let mut ports = Vec::new();
    for _ in 0..servers {
        ports.push(one_byte_per_second().await?);
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let inbox: url::Url = format!("{}/inbox", target.base).parse()?;
    let key = signer.key.clone();
    phase(
        target,
        report,
        "flood: slow key servers (1 byte/s)",
        "slow_keys",
        target.concurrency,
        move |n| {
            let actor = format!("http://localhost:{}/actors/lent{n}", ports[n % ports.len()]);
            let body = serde_json::to_vec(&json!({
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": format!("{actor}/likes/{n}"),
                "type": "Like",
                "actor": actor,
                "object": "https://example.invalid/x",
            }))
            .expect("BUG: JSON serialises");
            let headers = maillage::activitypub::signatures::sign_request_with(
                "POST",
                &inbox,
                Some(&body),
                &format!("{actor}#main-key"),
                &key.private,
                chrono::Utc::now(),
            )
            .expect("BUG: signing");
            let request = client.post(inbox.as_str()).headers(headers).body(body);
            async move { request.send().await.ok().map(|r| r.status().as_u16()) }
        },
    )
    .await
}

//! Owns outbound delivery (SPEC §3 "Delivery"): workers claim due rows of the persistent
//! queue, sign each POST with the sending actor's key (draft-cavage, `Digest`, `Date`,
//! `Host`, `Content-Type` covered; or RFC 9421 for a host that takes it, with a second
//! knock on `401`, see [`super::signing`]), and record the outcome: delivered; retried with
//! exponential backoff and jitter (10 tries over about 70 hours, `Retry-After` honoured
//! on 429/503); failed for good on other 4xx; follower removed on `410 Gone`. Instances
//! failing for days are marked unreachable and only probed now and then; any success,
//! or any inbound traffic from them, revives them. Does not build activities: the
//! queue rows are written by [`crate::db`] with the change that caused them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use rand::Rng;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use tokio::sync::Semaphore;
use url::Url;

use crate::activitypub::signatures;
use crate::db::deliveries::DeliveryJob;
use crate::state::AppState;

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i64 = 10;

/// Delay before the attempt following attempt `n` (1-based), before jitter. Ten tries
/// span 1 m + 5 m + 15 m + 1 h + 3 h + 6 h + 12 h + 24 h + 24 h ≈ 70 h ≥ 48 h.
const SCHEDULE_SECS: [i64; 9] = [60, 300, 900, 3_600, 10_800, 21_600, 43_200, 86_400, 86_400];

/// Longest `Retry-After` we agree to wait.
const MAX_RETRY_AFTER: i64 = 86_400;

/// How long a claimed batch stays leased to a worker (a crashed worker's rows come back).
const LEASE: Duration = Duration::from_secs(300);

/// Longest a delivered row of a batch waits to be recorded with others.
const RECORD_DELIVERED_AFTER: Duration = Duration::from_secs(1);

/// How long a woken worker waits for more wakeups before looking at the queue.
const WAKEUP_COALESCE: Duration = Duration::from_millis(10);

/// The backoff delay after `attempts` failed attempts, with ±10 % jitter.
pub fn backoff(attempts: i64) -> chrono::Duration {
    let index = (attempts.max(1) - 1).min(SCHEDULE_SECS.len() as i64 - 1) as usize;
    let base = SCHEDULE_SECS[index] as f64;
    let jitter = rand::rng().random_range(0.9..1.1);
    chrono::Duration::milliseconds((base * jitter * 1000.0) as i64)
}

/// What came of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx.
    Delivered(u16),
    /// `410 Gone`: the inbox's actors are gone.
    Gone,
    /// Another 4xx: the receiver refuses it; retrying would not help.
    Rejected(u16, String),
    /// 5xx, timeout, network error, or 429/503: try again (at the given time if the
    /// receiver said when).
    Retry(Option<u16>, String, Option<DateTime<Utc>>),
}

/// Reads `Retry-After` (seconds or an HTTP date).
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let at = if let Ok(seconds) = value.parse::<i64>() {
        now + chrono::Duration::seconds(seconds.clamp(0, MAX_RETRY_AFTER))
    } else {
        let when: DateTime<Utc> = httpdate::parse_http_date(value).ok()?.into();
        when.min(now + chrono::Duration::seconds(MAX_RETRY_AFTER))
    };
    Some(at.max(now))
}

/// True when `url`'s host is a literal IP address that is not globally routable.
pub fn is_private_ip_literal(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => {
            ip.is_private()
                || ip.is_loopback()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
                || ip.is_documentation()
                || ip.is_multicast()
                || ip.octets()[0] == 0
                || ip.octets()[0] >= 240
                || (ip.octets()[0] == 198 && (ip.octets()[1] & 0xfe) == 18)
                || (ip.octets()[0] == 100 && (ip.octets()[1] & 0xc0) == 0x40)
        }
        Some(url::Host::Ipv6(ip)) => {
            ip.is_loopback()
                || ip.is_unspecified()
                || (ip.segments()[0] & 0xfe00) == 0xfc00
                || (ip.segments()[0] & 0xffc0) == 0xfe80
                || ip.is_multicast()
                || ip.to_ipv4_mapped().is_some()
                // NAT64 and 6to4 can reach IPv4 space.
                || (ip.segments()[0] == 0x64 && ip.segments()[1] == 0xff9b)
                || ip.segments()[0] == 0x2002
        }
        _ => false,
    }
}

/// Whether this node may deliver to `inbox`: outside debug mode only `https` without an
/// explicit port, as the federation library requires of every URL it fetches (an actor
/// fetched that way may still name a plain-http inbox on another port of its host).
///
/// # Errors
/// Why not, for the delivery's record.
pub fn check_inbox(inbox: &Url, debug: bool) -> Result<(), String> {
    match (inbox.scheme(), inbox.port()) {
        ("https", None) => Ok(()),
        ("http" | "https", _) if debug => Ok(()),
        ("http" | "https", Some(port)) => Err(format!(
            "inbox {inbox} refused: explicit port {port} (https on the default port only)"
        )),
        (scheme, _) => Err(format!("inbox {inbox} refused: {scheme} (https only)")),
    }
}

/// Classifies an HTTP answer.
pub fn classify(status: StatusCode, headers: &HeaderMap, now: DateTime<Utc>) -> Outcome {
    let code = status.as_u16();
    if status.is_success() {
        Outcome::Delivered(code)
    } else if status == StatusCode::GONE {
        Outcome::Gone
    } else if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
        Outcome::Retry(
            Some(code),
            format!("HTTP {code}"),
            retry_after(headers, now),
        )
    } else if status.is_client_error() && status != StatusCode::REQUEST_TIMEOUT {
        Outcome::Rejected(code, format!("HTTP {code}"))
    } else {
        Outcome::Retry(Some(code), format!("HTTP {code}"), None)
    }
}

/// Instances marked reachable in the last [`RecentlyAlive::FOR`]: an inbox receiving
/// from an instance marks it alive (SPEC §3 "Delivery"), but once is enough for a
/// while, not a database read per activity. A failed delivery forgets the instance at
/// once in this process; a worker in another process is seen within that time.
#[derive(Debug, Default)]
pub struct RecentlyAlive(Mutex<HashMap<String, std::time::Instant>>);

impl RecentlyAlive {
    /// How long a mark lasts.
    pub const FOR: Duration = Duration::from_secs(10);

    /// True when `domain` was marked alive less than [`Self::FOR`] ago.
    pub fn seen(&self, domain: &str) -> bool {
        self.0
            .lock()
            .expect("BUG: poisoned alive marks")
            .get(domain)
            .is_some_and(|at| at.elapsed() < Self::FOR)
    }

    /// Notes that `domain` was just marked alive.
    pub fn record(&self, domain: &str) {
        let mut marks = self.0.lock().expect("BUG: poisoned alive marks");
        if marks.len() >= 10_000 {
            marks.retain(|_, at| at.elapsed() < Self::FOR);
        }
        marks.insert(domain.to_string(), std::time::Instant::now());
    }

    /// Forgets `domain` (a delivery to it failed).
    pub fn forget(&self, domain: &str) {
        self.0
            .lock()
            .expect("BUG: poisoned alive marks")
            .remove(domain);
    }
}

/// A delivery worker: claims, signs, sends, records.
pub struct DeliveryWorker {
    state: AppState,
    keys: Mutex<HashMap<String, Arc<signatures::SigningKey>>>,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl DeliveryWorker {
    /// A worker for this node.
    pub fn new(state: AppState) -> Self {
        Self {
            state,
            keys: Mutex::default(),
            hosts: Mutex::default(),
        }
    }

    fn host_permits(&self, domain: &str) -> Arc<Semaphore> {
        let mut hosts = self.hosts.lock().expect("BUG: poisoned host map");
        hosts
            .entry(domain.to_string())
            .or_insert_with(|| {
                Arc::new(Semaphore::new(self.state.settings.delivery.per_host.max(1)))
            })
            .clone()
    }

    fn private_key(&self, job: &DeliveryJob) -> Result<Arc<signatures::SigningKey>, String> {
        let mut keys = self.keys.lock().expect("BUG: poisoned key cache");
        // The job carries the stored key: once it is gone (a deleted collectivité's),
        // the cached copy goes too, and nothing more is signed with it.
        let Some(pem) = job.private_key_pem.as_deref() else {
            keys.remove(&job.actor_ap_id);
            return Err(format!("{} has no private key", job.actor_ap_id));
        };
        if let Some(key) = keys.get(&job.actor_ap_id) {
            return Ok(key.clone());
        }
        let key = Arc::new(signatures::SigningKey::from_pem(pem).map_err(|e| e.to_string())?);
        if keys.len() > 10_000 {
            keys.clear();
        }
        keys.insert(job.actor_ap_id.clone(), key.clone());
        Ok(key)
    }

    /// Signs and sends one delivery.
    async fn send(&self, job: &DeliveryJob) -> Outcome {
        let inbox = match Url::parse(&job.inbox) {
            Ok(url) => url,
            Err(e) => return Outcome::Rejected(0, format!("bad inbox URL: {e}")),
        };
        if self.state.blocks.domain(&job.domain)
            || inbox
                .host_str()
                .is_some_and(|h| self.state.blocks.domain(h))
        {
            return Outcome::Rejected(0, format!("domain {} is blocked", job.domain));
        }
        if let Err(reason) = check_inbox(&inbox, self.state.settings.federation.debug) {
            return Outcome::Rejected(0, reason);
        }
        if !self.state.settings.allows_private_addresses() && is_private_ip_literal(&inbox) {
            // The DNS guard never sees IP literals: refuse them here (SSRF).
            return Outcome::Rejected(0, format!("inbox {inbox} is a private address"));
        }
        let key = match self.private_key(job) {
            Ok(key) => key,
            Err(e) => return Outcome::Rejected(0, e),
        };
        let key_id = format!("{}#main-key", job.actor_ap_id);
        let styles = &self.state.signature_styles;
        let style = styles.style(&self.state.store, &job.domain).await;
        let first = match self.post(job, &inbox, &key_id, &key, style).await {
            Ok(response) => response,
            Err(outcome) => return outcome,
        };
        if first.status() != StatusCode::UNAUTHORIZED {
            return classify(first.status(), first.headers(), Utc::now());
        }
        // Double-knock: refused as unsigned, so signed the other way at once; the way
        // that worked is remembered for the host.
        let other = style.other();
        let second = match self.post(job, &inbox, &key_id, &key, other).await {
            Ok(response) => response,
            Err(outcome) => return outcome,
        };
        if second.status().is_success() {
            let reason = match other {
                super::signing::Style::Rfc9421 => super::signing::REASON_KNOCK_RFC9421,
                super::signing::Style::Cavage => super::signing::REASON_KNOCK_CAVAGE,
            };
            if let Err(error) = styles
                .remember(&self.state.store, &job.domain, other, reason)
                .await
            {
                tracing::warn!(domain = %job.domain, %error, "remembering the signature style");
            }
        }
        classify(second.status(), second.headers(), Utc::now())
    }

    /// One signed POST of a delivery's payload; a failure to sign or to send is the
    /// outcome.
    async fn post(
        &self,
        job: &DeliveryJob,
        inbox: &Url,
        key_id: &str,
        key: &signatures::SigningKey,
        style: super::signing::Style,
    ) -> Result<reqwest::Response, Outcome> {
        let body = job.payload.as_bytes();
        let headers = style
            .sign("POST", inbox, Some(body), key_id, key, Utc::now())
            .map_err(|e| Outcome::Rejected(0, format!("signing failed: {e}")))?;
        let request = self
            .state
            .http
            .post(inbox.as_str())
            .headers(headers)
            .body(job.payload.clone());
        request
            .send()
            .await
            .map_err(|error| Outcome::Retry(None, format!("{error}"), None))
    }

    /// Records an outcome: queue row, instance health, followers.
    async fn record(&self, job: &DeliveryJob, outcome: Outcome) -> anyhow::Result<()> {
        let store = &self.state.store;
        let settings = &self.state.settings.delivery;
        match outcome {
            Outcome::Delivered(status) => {
                // Recorded with the rest of its batch (`run_batch`).
                tracing::debug!(inbox = %job.inbox, activity = %job.activity_ap_id, status, "delivered");
            }
            Outcome::Gone => {
                store.delivery_failed(job.id, Some(410), "410 Gone").await?;
                let removed = store.remove_followers_at(&job.inbox).await?;
                tracing::info!(inbox = %job.inbox, removed, "inbox gone, followers removed");
            }
            Outcome::Rejected(status, error) => {
                tracing::warn!(inbox = %job.inbox, activity = %job.activity_ap_id, status, %error, "delivery refused");
                store
                    .delivery_failed(job.id, (status > 0).then_some(status), &error)
                    .await?;
            }
            Outcome::Retry(status, error, at) => {
                let attempts = job.attempts + 1;
                if attempts >= MAX_ATTEMPTS {
                    tracing::warn!(inbox = %job.inbox, activity = %job.activity_ap_id, %error, "delivery abandoned after {attempts} attempts");
                    store.delivery_failed(job.id, status, &error).await?;
                } else {
                    let now = Utc::now();
                    let next = at.unwrap_or_else(|| now + backoff(attempts));
                    tracing::debug!(inbox = %job.inbox, %error, %next, "delivery will be retried");
                    store.delivery_retry(job.id, next, status, &error).await?;
                }
                let (failures, since) = store.instance_failed(&job.domain).await?;
                let unreachable_after =
                    chrono::Duration::seconds(settings.unreachable_after_secs as i64);
                if failures >= 3 && Utc::now() - since >= unreachable_after {
                    let probe =
                        Utc::now() + chrono::Duration::seconds(settings.probe_interval_secs as i64);
                    store.instance_unreachable(&job.domain).await?;
                    store.postpone_domain(&job.domain, probe).await?;
                    tracing::warn!(domain = %job.domain, %probe, "instance unreachable; next probe then");
                }
                // After the failure is written: an activity from the instance received
                // from now on revives it.
                self.state.recently_alive.forget(&job.domain);
            }
        }
        Ok(())
    }

    /// Sends one delivery and records a failure; returns its status and domain when it
    /// was delivered (the batch records those together).
    async fn deliver(&self, job: DeliveryJob) -> anyhow::Result<Option<(i64, u16, String)>> {
        let outcome = {
            let permits = self.host_permits(&job.domain);
            let _permit = permits.acquire().await?;
            self.send(&job).await
        };
        let delivered = match outcome {
            Outcome::Delivered(status) => Some((job.id, status, job.domain.clone())),
            _ => None,
        };
        self.record(&job, outcome).await?;
        Ok(delivered)
    }

    /// Records the deliveries of a batch that went through: one write for all, then
    /// each of their instances marked alive (waking its postponed deliveries).
    async fn record_delivered(&self, delivered: &[(i64, u16, String)]) -> anyhow::Result<()> {
        if delivered.is_empty() {
            return Ok(());
        }
        let store = &self.state.store;
        let done: Vec<(i64, Option<u16>)> = delivered
            .iter()
            .map(|(id, status, _)| (*id, Some(*status)))
            .collect();
        store.deliveries_done(&done).await?;
        let domains: std::collections::BTreeSet<&str> =
            delivered.iter().map(|(_, _, d)| d.as_str()).collect();
        for domain in domains {
            if store.instance_alive(domain).await? {
                tracing::info!(domain, "instance reachable again");
                store.wake_domain(domain).await?;
            }
        }
        Ok(())
    }

    /// Claims one batch of due deliveries and processes it; returns how many were due.
    ///
    /// # Errors
    /// Storage failures (delivery failures are recorded, not returned).
    pub async fn run_batch(&self) -> anyhow::Result<usize> {
        let batch = self.state.settings.delivery.batch.max(1) as i64;
        let jobs = self
            .state
            .store
            .claim_deliveries(batch, chrono::Duration::from_std(LEASE)?)
            .await?;
        let count = jobs.len();
        let mut sending: futures_util::stream::FuturesUnordered<_> =
            jobs.into_iter().map(|job| self.deliver(job)).collect();
        // Deliveries that went through are recorded together, but not later than
        // RECORD_DELIVERED_AFTER the first of them: a slow host in the batch must not
        // keep the others leased (re-sent after a crash or once the lease expires).
        let mut delivered = Vec::with_capacity(count);
        let mut oldest: Option<tokio::time::Instant> = None;
        let mut failure = None;
        loop {
            let next = match oldest {
                Some(at) => {
                    tokio::time::timeout_at(at + RECORD_DELIVERED_AFTER, sending.next()).await
                }
                None => Ok(sending.next().await),
            };
            match next {
                Ok(Some(Ok(Some(done)))) => {
                    delivered.push(done);
                    oldest.get_or_insert_with(tokio::time::Instant::now);
                }
                Ok(Some(Ok(None))) => {}
                Ok(Some(Err(error))) => failure = Some(error),
                Ok(None) => break,
                Err(_) => {
                    self.record_delivered(&delivered).await?;
                    delivered.clear();
                    oldest = None;
                }
            }
        }
        // What went through is recorded even if recording another outcome failed.
        self.record_delivered(&delivered).await?;
        if count > 0 {
            self.forget_spent_keys().await?;
        }
        failure.map_or(Ok(count), Err)
    }

    /// A deleted collectivité's key is kept until its `Delete` is delivered or given
    /// up (SPEC §11), then dropped: a read, and a write only when a key goes.
    async fn forget_spent_keys(&self) -> anyhow::Result<()> {
        let forgotten = self.state.store.forget_spent_keys().await?;
        if forgotten > 0 {
            tracing::info!(forgotten, "private keys of deleted collectivités dropped");
        }
        Ok(())
    }

    /// Processes due deliveries until none is due (tests and `maillage worker --once`).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn drain(&self) -> anyhow::Result<usize> {
        let mut total = 0;
        loop {
            let done = self.run_batch().await?;
            if done == 0 {
                return Ok(total);
            }
            total += done;
        }
    }

    /// Runs until `stop` completes: works while deliveries are due, otherwise sleeps
    /// until woken (a new activity) or until the next one is due.
    pub async fn run(self, stop: impl std::future::Future<Output = ()>) {
        let wakeup = self.state.delivery_wakeup.clone();
        let poll = Duration::from_millis(self.state.settings.delivery.poll_interval_ms.max(10));
        tokio::pin!(stop);
        let mut blocks_read = std::time::Instant::now();
        loop {
            // Blocks decided in another process (the admin in `serve`, for a separate
            // `maillage worker`) apply here within a minute.
            if blocks_read.elapsed() > Duration::from_secs(60) {
                if let Err(error) = self.state.blocks.reload(&self.state.store).await {
                    tracing::warn!(%error, "reloading blocks");
                }
                // Also on the idle tick: the last Delete may have been given up by
                // `queue` commands or another worker.
                if let Err(error) = self.forget_spent_keys().await {
                    tracing::warn!(error = format!("{error:#}"), "dropping spent keys");
                }
                blocks_read = std::time::Instant::now();
            }
            // A read first: waking up (each inbound activity wakes the worker) must not
            // cost a write when nothing is due, or it competes with the inbox's writes.
            let due = match self.state.store.next_delivery_due().await {
                Ok(next) => next.is_some_and(|at| at <= chrono::Utc::now()),
                Err(_) => true,
            };
            let worked = match if due { self.run_batch().await } else { Ok(0) } {
                Ok(n) => n,
                Err(error) => {
                    tracing::error!(error = format!("{error:#}"), "delivery worker");
                    0
                }
            };
            if worked > 0 {
                continue;
            }
            tokio::select! {
                () = &mut stop => return,
                () = wakeup.notified() => {
                    // Wakeups come in bursts (one per inbound activity under load): look
                    // once per burst, not once per activity.
                    tokio::time::sleep(WAKEUP_COALESCE).await;
                },
                () = tokio::time::sleep(poll) => {},
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_spans_two_days_over_ten_tries() {
        let total: i64 = (1..MAX_ATTEMPTS).map(|n| backoff(n).num_seconds()).sum();
        assert!(total >= 48 * 3600, "{total}");
        assert!(backoff(1).num_seconds() >= 54 && backoff(1).num_seconds() <= 66);
        assert!(backoff(50).num_seconds() <= 86_400 * 11 / 10);
    }

    #[test]
    fn private_ip_literals() {
        for private in [
            "http://127.0.0.1/inbox",
            "http://10.1.2.3/",
            "http://[::1]/",
            "http://169.254.169.254/",
            "http://[fd00::1]/",
            "http://0.0.0.0/",
        ] {
            assert!(
                is_private_ip_literal(&private.parse().unwrap()),
                "{private}"
            );
        }
        for public in [
            "https://example.org/inbox",
            "https://193.0.6.139/",
            "http://localhost:8080/",
        ] {
            assert!(!is_private_ip_literal(&public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn inboxes_https_only_outside_debug() {
        for (inbox, production, debug) in [
            ("https://ville.example/inbox", true, true),
            ("https://ville.example:443/inbox", true, true),
            ("http://ville.example/inbox", false, true),
            ("http://ville.example:8080/inbox", false, true),
            ("https://ville.example:8443/inbox", false, true),
            ("ftp://ville.example/inbox", false, false),
        ] {
            let url: Url = inbox.parse().unwrap();
            assert_eq!(check_inbox(&url, false).is_ok(), production, "{inbox}");
            assert_eq!(
                check_inbox(&url, true).is_ok(),
                debug,
                "{inbox} in debug mode"
            );
        }
    }

    #[test]
    fn outcomes() {
        let now = Utc::now();
        let empty = HeaderMap::new();
        assert_eq!(
            classify(StatusCode::ACCEPTED, &empty, now),
            Outcome::Delivered(202)
        );
        assert_eq!(classify(StatusCode::GONE, &empty, now), Outcome::Gone);
        assert!(matches!(
            classify(StatusCode::FORBIDDEN, &empty, now),
            Outcome::Rejected(403, _)
        ));
        assert!(matches!(
            classify(StatusCode::BAD_GATEWAY, &empty, now),
            Outcome::Retry(Some(502), _, None)
        ));
        assert!(matches!(
            classify(StatusCode::REQUEST_TIMEOUT, &empty, now),
            Outcome::Retry(Some(408), _, None)
        ));
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "120".parse().unwrap());
        match classify(StatusCode::TOO_MANY_REQUESTS, &headers, now) {
            Outcome::Retry(Some(429), _, Some(at)) => assert_eq!((at - now).num_seconds(), 120),
            other => panic!("{other:?}"),
        }
        headers.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2099 07:28:00 GMT".parse().unwrap(),
        );
        match classify(StatusCode::SERVICE_UNAVAILABLE, &headers, now) {
            Outcome::Retry(Some(503), _, Some(at)) => {
                assert!((at - now).num_seconds() <= MAX_RETRY_AFTER)
            }
            other => panic!("{other:?}"),
        }
    }
}

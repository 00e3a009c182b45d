//! The persistent delivery queue (SPEC §3 "Delivery"): rows are written in the same
//! transaction as the activity, claimed by workers with a lease, and finished as
//! delivered, rescheduled or failed. Claiming is the one engine-specific query:
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL, a single atomic `UPDATE` on SQLite (one
//! writer at a time).

use chrono::{DateTime, Duration, Utc};
use url::Url;

use super::{BeginWrite, Store, StoreResult, Tx, on_pool};

/// Where an activity goes.
#[derive(Debug, Clone)]
pub enum Audience {
    /// Every accepted follower of this actor, one delivery per (shared) inbox.
    Followers(i64),
    /// The followers of the action's owner and the action's remote partners (SPEC §3:
    /// changes to an action also go to its partners, who may not follow the owner).
    FollowersAndPartners {
        /// The owner.
        owner_id: i64,
        /// The action's ActivityPub id.
        action: Url,
        /// And these inboxes (a partner who just left).
        also: Vec<(Url, String)>,
    },
    /// These inboxes, with the domain of each.
    Inboxes(Vec<(Url, String)>),
    /// The actor's followers and these inboxes (a reply mentioning its author).
    FollowersAndInboxes(i64, Vec<(Url, String)>),
    /// Nobody (kept for the outbox only).
    Nobody,
}

/// SQL queueing an activity (`$1`) for every accepted remote follower of `$3`.
const ENQUEUE_FOLLOWERS: &str = "INSERT INTO deliveries \
     (activity_id, inbox, domain, state, attempts, next_attempt_at, created_at, updated_at) \
     SELECT DISTINCT $1, COALESCE(a.shared_inbox, a.inbox), a.domain, 'pending', 0, $2, $2, $2 \
     FROM follows f JOIN actors a ON a.id = f.follower_id \
     WHERE f.followed_id = $3 AND f.state = 'accepted' AND a.local = FALSE \
     ON CONFLICT (activity_id, inbox) DO NOTHING";

/// SQL queueing an activity (`$1`) for the remote accepted partners of action `$3`.
const ENQUEUE_PARTNERS: &str = "INSERT INTO deliveries \
     (activity_id, inbox, domain, state, attempts, next_attempt_at, created_at, updated_at) \
     SELECT DISTINCT $1, COALESCE(a.shared_inbox, a.inbox), a.domain, 'pending', 0, $2, $2, $2 \
     FROM partnerships p JOIN actors a ON a.id = p.requester_id \
     WHERE p.action_ap_id = $3 AND p.state = 'accepted' AND a.local = FALSE \
     ON CONFLICT (activity_id, inbox) DO NOTHING";

/// SQL queueing an activity (`$1`) for one inbox (`$2`, domain `$3`).
const ENQUEUE_INBOX: &str = "INSERT INTO deliveries \
     (activity_id, inbox, domain, state, attempts, next_attempt_at, created_at, updated_at) \
     VALUES ($1, $2, $3, 'pending', 0, $4, $4, $4) \
     ON CONFLICT (activity_id, inbox) DO NOTHING";

impl Audience {
    /// Whose followers, whose action's partners, and which inboxes to queue for.
    pub(crate) fn parts(&self) -> (Option<i64>, Option<&Url>, &[(Url, String)]) {
        match self {
            Audience::Followers(actor_id) => (Some(*actor_id), None, &[]),
            Audience::FollowersAndPartners {
                owner_id,
                action,
                also,
            } => (Some(*owner_id), Some(action), also),
            Audience::FollowersAndInboxes(actor_id, inboxes) => (Some(*actor_id), None, inboxes),
            Audience::Inboxes(inboxes) => (None, None, inboxes),
            Audience::Nobody => (None, None, &[]),
        }
    }
}

/// Queues the stored activity `activity_id` for `audience` in `tx`.
pub async fn enqueue(tx: &mut Tx, activity_id: i64, audience: &Audience) -> StoreResult<()> {
    let now = chrono::Utc::now();
    let (followers_of, partners_of, inboxes) = audience.parts();
    on_pool!(tx, conn => {
        if let Some(actor_id) = followers_of {
            sqlx::query(ENQUEUE_FOLLOWERS)
                .bind(activity_id)
                .bind(now)
                .bind(actor_id)
                .execute(&mut *conn)
                .await?;
        }
        if let Some(action) = partners_of {
            sqlx::query(ENQUEUE_PARTNERS)
                .bind(activity_id)
                .bind(now)
                .bind(action.as_str())
                .execute(&mut *conn)
                .await?;
        }
        for (inbox, domain) in inboxes {
            sqlx::query(ENQUEUE_INBOX)
                .bind(activity_id)
                .bind(inbox.as_str())
                .bind(domain.as_str())
                .bind(now)
                .execute(&mut *conn)
                .await?;
        }
    });
    Ok(())
}

/// A claimed delivery, with what is needed to sign and send it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryJob {
    /// Delivery id.
    pub id: i64,
    /// Target inbox.
    pub inbox: String,
    /// Its domain (concurrency and health are per domain).
    pub domain: String,
    /// Attempts made before this one.
    pub attempts: i64,
    /// The activity JSON.
    pub payload: String,
    /// Activity id.
    pub activity_ap_id: String,
    /// Signing actor id.
    pub actor_ap_id: String,
    /// Signing actor's private key (PEM).
    pub private_key_pem: Option<String>,
}

/// Counts for monitoring and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueCounts {
    /// Waiting to be sent (including retries).
    pub pending: i64,
    /// Delivered.
    pub done: i64,
    /// Given up.
    pub failed: i64,
}

/// The queue of one host, as `maillage queue status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HostQueue {
    /// The host (domain) deliveries go to.
    pub domain: String,
    /// Deliveries waiting (including retries).
    pub pending: i64,
    /// Deliveries given up.
    pub failed: i64,
    /// When the oldest pending one was queued.
    pub oldest_pending: Option<DateTime<Utc>>,
    /// When the next pending one is due.
    pub next_due: Option<DateTime<Utc>>,
    /// Since when the host is marked unreachable, if it is.
    pub unreachable_since: Option<DateTime<Utc>>,
}

/// Which deliveries `queue retry` makes due now.
#[derive(Debug, Clone, Copy)]
pub enum Retry<'a> {
    /// The pending deliveries to this host.
    Host(&'a str),
    /// The failed deliveries (to this host only, when given), pending again with their
    /// attempts reset.
    Failed(Option<&'a str>),
}

const CLAIM_SQLITE: &str = "UPDATE deliveries SET locked_until = $1, updated_at = $2 \
     WHERE id IN (SELECT id FROM deliveries WHERE state = 'pending' AND next_attempt_at <= $2 \
     AND (locked_until IS NULL OR locked_until < $2) ORDER BY next_attempt_at, id LIMIT $3) \
     RETURNING id";

const CLAIM_POSTGRES: &str = "UPDATE deliveries SET locked_until = $1, updated_at = $2 \
     WHERE id IN (SELECT id FROM deliveries WHERE state = 'pending' AND next_attempt_at <= $2 \
     AND (locked_until IS NULL OR locked_until < $2) ORDER BY next_attempt_at, id LIMIT $3 \
     FOR UPDATE SKIP LOCKED) RETURNING id";

const JOB: &str = "SELECT d.id, d.inbox, d.domain, d.attempts, v.payload, \
     v.ap_id AS activity_ap_id, a.ap_id AS actor_ap_id, a.private_key_pem \
     FROM deliveries d JOIN activities v ON v.id = d.activity_id \
     JOIN actors a ON a.id = v.actor_id";

/// `$first, $first+1, …`: `n` parameters for an `IN (…)` list, the same text on both
/// engines (SQLite has no arrays).
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// Claims up to `limit` due deliveries for `lease`; a crashed worker's claims expire
    /// and are taken again (at-least-once; receivers deduplicate by activity id).
    pub async fn claim_deliveries(
        &self,
        limit: i64,
        lease: Duration,
    ) -> StoreResult<Vec<DeliveryJob>> {
        let now = Utc::now();
        let until = now + lease;
        let ids: Vec<i64> = match self {
            Store::Sqlite(pool) => {
                sqlx::query_scalar(CLAIM_SQLITE)
                    .bind(until)
                    .bind(now)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?
            }
            Store::Postgres(pool) => {
                sqlx::query_scalar(CLAIM_POSTGRES)
                    .bind(until)
                    .bind(now)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?
            }
        };
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // One read for the whole batch.
        let sql = format!(
            "{JOB} WHERE d.id IN ({}) ORDER BY d.next_attempt_at, d.id",
            placeholders(1, ids.len())
        );
        Ok(on_pool!(self, pool => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for id in ids {
                query = query.bind(id);
            }
            query.fetch_all(pool).await?
        }))
    }

    /// Marks deliveries done, each with the status its receiver answered: one
    /// statement per distinct status, not one per delivery.
    pub async fn deliveries_done(&self, done: &[(i64, Option<u16>)]) -> StoreResult<()> {
        let mut by_status: std::collections::BTreeMap<Option<u16>, Vec<i64>> = Default::default();
        for (id, status) in done {
            by_status.entry(*status).or_default().push(*id);
        }
        let now = Utc::now();
        on_pool!(self, pool => {
            for (status, ids) in by_status {
                let sql = format!(
                    "UPDATE deliveries SET state = 'done', attempts = attempts + 1, \
                     last_status = $1, last_error = NULL, locked_until = NULL, updated_at = $2 \
                     WHERE state = 'pending' AND id IN ({})",
                    placeholders(3, ids.len())
                );
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(status.map(i64::from))
                    .bind(now);
                for id in ids {
                    query = query.bind(id);
                }
                query.execute(pool).await?;
            }
        });
        Ok(())
    }

    /// Reschedules a delivery for `next` after a failed attempt.
    pub async fn delivery_retry(
        &self,
        id: i64,
        next: DateTime<Utc>,
        status: Option<u16>,
        error: &str,
    ) -> StoreResult<()> {
        const SQL: &str = "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = $1, \
             last_status = $2, last_error = $3, locked_until = NULL, updated_at = $4 WHERE id = $5";
        on_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(next)
                .bind(status.map(i64::from))
                .bind(error)
                .bind(Utc::now())
                .bind(id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Gives up on a delivery (permanent refusal or too many attempts).
    pub async fn delivery_failed(
        &self,
        id: i64,
        status: Option<u16>,
        error: &str,
    ) -> StoreResult<()> {
        const SQL: &str = "UPDATE deliveries SET state = 'failed', attempts = attempts + 1, \
             last_status = $1, last_error = $2, locked_until = NULL, updated_at = $3 WHERE id = $4";
        on_pool!(self, pool => {
            sqlx::query(SQL).bind(status.map(i64::from)).bind(error).bind(Utc::now()).bind(id).execute(pool).await?;
        });
        Ok(())
    }

    /// Postpones every pending delivery to `domain` until `until` (unreachable instance).
    pub async fn postpone_domain(&self, domain: &str, until: DateTime<Utc>) -> StoreResult<()> {
        const SQL: &str = "UPDATE deliveries SET next_attempt_at = $1, updated_at = $2 \
             WHERE domain = $3 AND state = 'pending' AND next_attempt_at < $1 AND locked_until IS NULL";
        on_pool!(self, pool => {
            sqlx::query(SQL).bind(until).bind(Utc::now()).bind(domain).execute(pool).await?;
        });
        Ok(())
    }

    /// Makes every pending delivery to `domain` due now (the instance came back).
    pub async fn wake_domain(&self, domain: &str) -> StoreResult<u64> {
        const SQL: &str = "UPDATE deliveries SET next_attempt_at = $1, updated_at = $1 \
             WHERE domain = $2 AND state = 'pending' AND next_attempt_at > $1";
        Ok(on_pool!(self, pool => {
            sqlx::query(SQL).bind(Utc::now()).bind(domain).execute(pool).await?.rows_affected()
        }))
    }

    /// Pending, done and failed deliveries.
    pub async fn delivery_counts(&self) -> StoreResult<QueueCounts> {
        const SQL: &str = "SELECT state, COUNT(*) FROM deliveries GROUP BY state";
        let rows: Vec<(String, i64)> =
            on_pool!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await?);
        let mut counts = QueueCounts::default();
        for (state, n) in rows {
            match state.as_str() {
                "pending" => counts.pending = n,
                "done" => counts.done = n,
                "failed" => counts.failed = n,
                _ => {}
            }
        }
        Ok(counts)
    }

    /// Pending and failed deliveries per host, hosts with neither left out.
    pub async fn queue_by_host(&self) -> StoreResult<Vec<HostQueue>> {
        const SQL: &str = "SELECT d.domain, \
             COUNT(CASE WHEN d.state = 'pending' THEN 1 END) AS pending, \
             COUNT(CASE WHEN d.state = 'failed' THEN 1 END) AS failed, \
             MIN(CASE WHEN d.state = 'pending' THEN d.created_at END) AS oldest_pending, \
             MIN(CASE WHEN d.state = 'pending' THEN d.next_attempt_at END) AS next_due, \
             MIN(i.unreachable_since) AS unreachable_since \
             FROM deliveries d LEFT JOIN instances i ON i.domain = d.domain \
             WHERE d.state IN ('pending', 'failed') GROUP BY d.domain ORDER BY d.domain";
        Ok(on_pool!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await?))
    }

    /// Makes the deliveries `which` names due now (a claimed one is left to its
    /// worker); returns how many. A host retried is no longer marked unreachable, so
    /// that the workers do not postpone it again at once.
    pub async fn retry_deliveries(&self, which: Retry<'_>) -> StoreResult<u64> {
        const HOST: &str = "UPDATE deliveries SET next_attempt_at = $1, updated_at = $1 \
             WHERE state = 'pending' AND domain = $2 \
             AND (locked_until IS NULL OR locked_until < $1)";
        // Only what may succeed now: network errors, 5xx and 429 (a 4xx refusal stays
        // refused), from an actor still here with its key, and not an activity whose
        // object a later Delete of ours removed (re-sending its Create would revive it).
        const FAILED: &str = "UPDATE deliveries SET state = 'pending', attempts = 0, \
             next_attempt_at = $1, locked_until = NULL, updated_at = $1 \
             WHERE state = 'failed' AND (CAST($2 AS TEXT) IS NULL OR domain = $2) \
             AND (last_status IS NULL OR last_status >= 500 OR last_status = 429) \
             AND activity_id IN (SELECT v.id FROM activities v JOIN actors a ON a.id = v.actor_id \
             WHERE a.actor_type <> 'Tombstone' AND a.private_key_pem IS NOT NULL \
             AND (v.kind = 'Delete' OR v.object_ap_id IS NULL OR NOT EXISTS \
             (SELECT 1 FROM activities later WHERE later.object_ap_id = v.object_ap_id \
             AND later.kind = 'Delete' AND later.id > v.id)))";
        // Only the hosts whose deliveries were just made due.
        const REVIVE: &str = "UPDATE instances SET failures = 0, first_failure_at = NULL, \
             unreachable_since = NULL WHERE domain IN \
             (SELECT domain FROM deliveries WHERE state = 'pending' AND updated_at = $1)";
        let now = Utc::now();
        let (sql, domain) = match which {
            Retry::Host(domain) => (HOST, Some(domain)),
            Retry::Failed(domain) => (FAILED, domain),
        };
        Ok(on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let changed = sqlx::query(sql).bind(now).bind(domain).execute(&mut *tx).await?.rows_affected();
            sqlx::query(REVIVE).bind(now).execute(&mut *tx).await?;
            tx.commit().await?;
            changed
        }))
    }

    /// How many deliveries the activity `ap_id` has.
    pub async fn deliveries_of_activity(&self, ap_id: &Url) -> StoreResult<i64> {
        const SQL: &str = "SELECT COUNT(*) FROM deliveries d JOIN activities v \
             ON v.id = d.activity_id WHERE v.ap_id = $1";
        Ok(
            on_pool!(self, pool => sqlx::query_scalar(SQL).bind(ap_id.as_str()).fetch_one(pool).await?),
        )
    }

    /// When the oldest pending delivery was queued, if any.
    pub async fn oldest_pending_delivery(&self) -> StoreResult<Option<DateTime<Utc>>> {
        const SQL: &str = "SELECT MIN(created_at) FROM deliveries WHERE state = 'pending'";
        Ok(on_pool!(self, pool => sqlx::query_scalar(SQL).fetch_one(pool).await?))
    }

    /// Instances currently marked unreachable.
    pub async fn count_unreachable_instances(&self) -> StoreResult<i64> {
        const SQL: &str = "SELECT COUNT(*) FROM instances WHERE unreachable_since IS NOT NULL";
        Ok(on_pool!(self, pool => sqlx::query_scalar(SQL).fetch_one(pool).await?))
    }

    /// The earliest time a pending delivery becomes due, if any.
    pub async fn next_delivery_due(&self) -> StoreResult<Option<DateTime<Utc>>> {
        const SQL: &str = "SELECT MIN(next_attempt_at) FROM deliveries WHERE state = 'pending'";
        Ok(on_pool!(self, pool => sqlx::query_scalar(SQL).fetch_one(pool).await?))
    }

    /// Records a failed attempt to `domain`; returns the failures in a row and when they
    /// started.
    pub async fn instance_failed(&self, domain: &str) -> StoreResult<(i64, DateTime<Utc>)> {
        const SQL: &str = "INSERT INTO instances (domain, failures, first_failure_at) VALUES ($1, 1, $2) \
             ON CONFLICT (domain) DO UPDATE SET failures = instances.failures + 1, \
             first_failure_at = COALESCE(instances.first_failure_at, excluded.first_failure_at) \
             RETURNING failures, first_failure_at";
        let row: (i64, Option<DateTime<Utc>>) = on_pool!(self, pool => {
            sqlx::query_as(SQL).bind(domain).bind(Utc::now()).fetch_one(pool).await?
        });
        Ok((row.0, row.1.unwrap_or_else(Utc::now)))
    }

    /// Marks `domain` unreachable since now (if not already).
    pub async fn instance_unreachable(&self, domain: &str) -> StoreResult<()> {
        const SQL: &str = "UPDATE instances SET unreachable_since = COALESCE(unreachable_since, $1) WHERE domain = $2";
        on_pool!(self, pool => {
            sqlx::query(SQL).bind(Utc::now()).bind(domain).execute(pool).await?;
        });
        Ok(())
    }

    /// Records that `domain` answered or wrote to us; returns true when it had been
    /// failing (its waiting deliveries should then be woken).
    pub async fn instance_alive(&self, domain: &str) -> StoreResult<bool> {
        const WAS: &str = "SELECT failures FROM instances WHERE domain = $1";
        const SQL: &str = "INSERT INTO instances (domain, failures, last_success_at) VALUES ($1, 0, $2) \
             ON CONFLICT (domain) DO UPDATE SET failures = 0, first_failure_at = NULL, \
             unreachable_since = NULL, last_success_at = excluded.last_success_at";
        let failures: Option<i64> = on_pool!(self, pool => {
            sqlx::query_scalar(WAS).bind(domain).fetch_optional(pool).await?
        });
        if failures == Some(0) {
            return Ok(false);
        }
        on_pool!(self, pool => {
            sqlx::query(SQL).bind(domain).bind(Utc::now()).execute(pool).await?;
        });
        Ok(failures.is_some_and(|n| n > 0))
    }

    /// How this node signs its requests to `domain` (migration 0017): `Some("rfc9421")`,
    /// `Some("draft-cavage")` once decided, `None` for the default (draft-cavage).
    pub async fn instance_signature_style(&self, domain: &str) -> StoreResult<Option<String>> {
        const SQL: &str = "SELECT http_signatures FROM instances WHERE domain = $1";
        let style: Option<Option<String>> = on_pool!(self, pool => {
            sqlx::query_scalar(SQL).bind(domain).fetch_optional(pool).await?
        });
        Ok(style.flatten())
    }

    /// Remembers how to sign requests to `domain`, and why (French, for operators).
    pub async fn set_instance_signature_style(
        &self,
        domain: &str,
        style: &str,
        reason: &str,
    ) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO instances (domain, failures, http_signatures, \
             http_signatures_reason, http_signatures_at) VALUES ($1, 0, $2, $3, $4) \
             ON CONFLICT (domain) DO UPDATE SET http_signatures = excluded.http_signatures, \
             http_signatures_reason = excluded.http_signatures_reason, \
             http_signatures_at = excluded.http_signatures_at";
        on_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(domain)
                .bind(style)
                .bind(reason)
                .bind(Utc::now())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Instances whose signature style is decided: domain, style, reason, when.
    pub async fn instance_signature_styles(
        &self,
    ) -> StoreResult<Vec<(String, String, Option<String>, Option<DateTime<Utc>>)>> {
        const SQL: &str = "SELECT domain, http_signatures, http_signatures_reason, \
             http_signatures_at FROM instances WHERE http_signatures IS NOT NULL ORDER BY domain";
        Ok(on_pool!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await?))
    }

    /// Domains currently marked unreachable.
    pub async fn unreachable_instances(&self) -> StoreResult<Vec<String>> {
        const SQL: &str =
            "SELECT domain FROM instances WHERE unreachable_since IS NOT NULL ORDER BY domain";
        Ok(on_pool!(self, pool => sqlx::query_scalar(SQL).fetch_all(pool).await?))
    }

    /// Removes the follows of actors whose inbox or shared inbox is `inbox` (it answered
    /// `410 Gone`); returns how many were removed.
    pub async fn remove_followers_at(&self, inbox: &str) -> StoreResult<u64> {
        const SQL: &str = "DELETE FROM follows WHERE follower_id IN \
             (SELECT id FROM actors WHERE local = FALSE AND (inbox = $1 OR shared_inbox = $1))";
        Ok(
            on_pool!(self, pool => sqlx::query(SQL).bind(inbox).execute(pool).await?.rows_affected()),
        )
    }
}

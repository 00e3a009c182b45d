//! Admission on aggregators (issue 19): which remote actors' actions are listed
//! ([`unlisted_owners`], the read-time predicate every directory read shares), a node
//! admin's decisions (`actors.admission`, `actors.suspended_at`), the inbound
//! activities held past a spam bound (`held_activities`) and the arrivals of new
//! remote actions the hourly quotas count (`action_arrivals`).

use chrono::{DateTime, Duration, Utc};
use url::Url;

use super::{Store, StoreResult, on_pool};
use crate::config::Admission;

/// The condition keeping the actions (`a`) of listed owners under `admission`, or
/// `None` when every owner is listed. One `NOT IN` over the (small) set of remote
/// actors that are not: both engines evaluate the subquery once per statement.
/// Local collectivités are always listed; a suspended or refused actor never is; under
/// `verified` an actor is listed once its website is verified or an admin approved it,
/// under `manual` once an admin approved it.
pub fn unlisted_owners(admission: Admission) -> &'static str {
    match admission {
        Admission::Open => {
            "a.actor_id NOT IN (SELECT id FROM actors WHERE local = FALSE \
             AND (suspended_at IS NOT NULL OR admission = 'refused'))"
        }
        Admission::Verified => {
            "a.actor_id NOT IN (SELECT id FROM actors WHERE local = FALSE \
             AND (suspended_at IS NOT NULL OR admission = 'refused' \
             OR (admission IS NULL AND website_verified_at IS NULL)))"
        }
        Admission::Manual => {
            "a.actor_id NOT IN (SELECT id FROM actors WHERE local = FALSE \
             AND (suspended_at IS NOT NULL OR admission IS NULL OR admission <> 'approved'))"
        }
    }
}

/// A node admin's decision about a remote actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Listed whatever its verification.
    Approved,
    /// Never listed.
    Refused,
}

impl Decision {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approved => "approved",
            Decision::Refused => "refused",
        }
    }
}

/// A remote actor as the admission page and API show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Candidate {
    /// Database id.
    pub id: i64,
    /// ActivityPub id.
    pub ap_id: String,
    /// Display name.
    pub name: String,
    /// `preferredUsername`.
    pub username: String,
    /// Its node's domain.
    pub domain: String,
    /// Claimed INSEE code.
    pub insee: Option<String>,
    /// Claimed SIREN.
    pub siren: Option<String>,
    /// Official website.
    pub website: Option<String>,
    /// When its website was last verified (NULL: not verified).
    pub website_verified_at: Option<DateTime<Utc>>,
    /// `approved`, `refused` or none.
    pub admission: Option<String>,
    /// When an admin suspended it.
    pub suspended_at: Option<DateTime<Utc>>,
    /// Its live actions stored here.
    pub action_count: i64,
    /// Its activities held.
    pub held_count: i64,
}

impl Candidate {
    /// True when `admission` lists this actor's actions (see [`unlisted_owners`]).
    pub fn listed(&self, admission: Admission) -> bool {
        if self.suspended_at.is_some() || self.admission.as_deref() == Some("refused") {
            return false;
        }
        let approved = self.admission.as_deref() == Some("approved");
        match admission {
            Admission::Open => true,
            Admission::Verified => approved || self.website_verified_at.is_some(),
            Admission::Manual => approved,
        }
    }

    /// Waiting for a node admin: not listed, not decided, not suspended.
    pub fn pending(&self, admission: Admission) -> bool {
        self.admission.is_none() && self.suspended_at.is_none() && !self.listed(admission)
    }
}

/// An inbound activity held for a node admin.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HeldActivity {
    /// Id.
    pub id: i64,
    /// The activity's id.
    pub ap_id: String,
    /// Its sender (database id).
    pub actor_id: i64,
    /// The sender's id.
    pub actor_ap_id: String,
    /// Its type.
    pub kind: String,
    /// The activity as received (JSON).
    pub activity: String,
    /// Why it was held (French).
    pub reason: String,
    /// When.
    pub received_at: DateTime<Utc>,
}

const CANDIDATES: &str = "SELECT o.id, o.ap_id, o.name, o.username, o.domain, o.insee, o.siren, \
     o.website, o.website_verified_at, o.admission, o.suspended_at, \
     (SELECT COUNT(*) FROM actions a WHERE a.actor_id = o.id AND a.deleted_at IS NULL) \
       AS action_count, \
     (SELECT COUNT(*) FROM held_activities h WHERE h.actor_id = o.id) AS held_count \
     FROM actors o WHERE o.local = FALSE AND o.actor_type = 'Organization'";

const HELD: &str = "SELECT h.id, h.ap_id, h.actor_id, o.ap_id AS actor_ap_id, h.kind, \
     h.activity, h.reason, h.received_at FROM held_activities h \
     JOIN actors o ON o.id = h.actor_id";

impl Store {
    /// Remote collectivités, by name (at most 1 000).
    pub async fn admission_candidates(&self) -> StoreResult<Vec<Candidate>> {
        let text = format!("{CANDIDATES} ORDER BY o.name, o.id LIMIT 1000");
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(text)).fetch_all(pool).await?
        }))
    }

    /// One remote collectivité by id URL.
    pub async fn admission_candidate(&self, ap_id: &Url) -> StoreResult<Option<Candidate>> {
        let text = format!("{CANDIDATES} AND o.ap_id = $1");
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(text))
                .bind(ap_id.as_str())
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Records an admin's decision (`None`: back to undecided); what the directory
    /// lists changes, so its generation is bumped in the same transaction.
    pub async fn set_admission(
        &self,
        actor_id: i64,
        decision: Option<Decision>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        on_pool!(tx, conn => {
            sqlx::query("UPDATE actors SET admission = $1 WHERE id = $2 AND local = FALSE")
                .bind(decision.map(Decision::as_str))
                .bind(actor_id)
                .execute(&mut *conn)
                .await?
                .rows_affected()
        });
        super::actions::bump_generation(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Suspends (`Some(when)`) or reinstates a remote actor, bumping the directory
    /// generation.
    pub async fn set_suspended(
        &self,
        actor_id: i64,
        when: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        on_pool!(tx, conn => {
            sqlx::query("UPDATE actors SET suspended_at = $1 WHERE id = $2 AND local = FALSE")
                .bind(when)
                .bind(actor_id)
                .execute(&mut *conn)
                .await?
                .rows_affected()
        });
        super::actions::bump_generation(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The admission state of an actor: its decision and suspension.
    pub async fn admission_of(
        &self,
        actor_id: i64,
    ) -> StoreResult<(Option<String>, Option<DateTime<Utc>>)> {
        const SQL: &str = "SELECT admission, suspended_at FROM actors WHERE id = $1";
        let row: Option<(Option<String>, Option<DateTime<Utc>>)> = on_pool!(self, pool => {
            sqlx::query_as(SQL).bind(actor_id).fetch_optional(pool).await?
        });
        Ok(row.unwrap_or_default())
    }

    /// True when `admission` lists the actions of `actor_id` (the same predicate as
    /// the directory's, [`unlisted_owners`]).
    pub async fn is_listed(&self, actor_id: i64, admission: Admission) -> StoreResult<bool> {
        let text = format!(
            "SELECT COUNT(*) FROM (SELECT CAST($1 AS BIGINT) AS actor_id) a WHERE {}",
            unlisted_owners(admission)
        );
        let n: i64 = on_pool!(self, pool => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(text)).bind(actor_id).fetch_one(pool).await?
        });
        Ok(n > 0)
    }

    /// True when the action `ap_id` is already stored (an update, not a new action).
    pub async fn action_known(&self, ap_id: &str) -> StoreResult<bool> {
        const SQL: &str = "SELECT COUNT(*) FROM actions WHERE ap_id = $1";
        let n: i64 =
            on_pool!(self, pool => sqlx::query_scalar(SQL).bind(ap_id).fetch_one(pool).await?);
        Ok(n > 0)
    }

    /// New remote actions that arrived in the last hour from `actor_id` and from
    /// `domain`.
    pub async fn recent_arrivals(&self, actor_id: i64, domain: &str) -> StoreResult<(i64, i64)> {
        const SQL: &str = "SELECT \
             (SELECT COUNT(*) FROM action_arrivals WHERE actor_id = $1 AND arrived_at >= $3), \
             (SELECT COUNT(*) FROM action_arrivals WHERE domain = $2 AND arrived_at >= $3)";
        let since = Utc::now() - Duration::hours(1);
        Ok(on_pool!(self, pool => {
            sqlx::query_as(SQL).bind(actor_id).bind(domain).bind(since).fetch_one(pool).await?
        }))
    }

    /// Counts a new remote action of `actor_id` (from `domain`) for the quotas, and
    /// forgets arrivals older than a day.
    pub async fn record_arrival(&self, actor_id: i64, domain: &str) -> StoreResult<()> {
        let now = Utc::now();
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM action_arrivals WHERE arrived_at < $1")
                .bind(now - Duration::days(1))
                .execute(pool)
                .await?;
            sqlx::query("INSERT INTO action_arrivals (actor_id, domain, arrived_at) VALUES ($1, $2, $3)")
                .bind(actor_id)
                .bind(domain)
                .bind(now)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Remote actors of `domain` that arrived before `actor_id`.
    pub async fn actors_before_in_domain(&self, actor_id: i64, domain: &str) -> StoreResult<i64> {
        const SQL: &str = "SELECT COUNT(*) FROM actors WHERE domain = $1 AND id < $2 \
             AND local = FALSE AND actor_type = 'Organization'";
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(SQL).bind(domain).bind(actor_id).fetch_one(pool).await?
        }))
    }

    /// Holds an inbound activity (once per activity id).
    pub async fn hold_activity(
        &self,
        ap_id: &str,
        actor_id: i64,
        kind: &str,
        activity: &str,
        reason: &str,
    ) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO held_activities \
             (ap_id, actor_id, kind, activity, reason, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (ap_id) DO NOTHING";
        on_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(ap_id)
                .bind(actor_id)
                .bind(kind)
                .bind(activity)
                .bind(reason)
                .bind(Utc::now())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Held activities, oldest first (at most 500).
    pub async fn held_activities(&self) -> StoreResult<Vec<HeldActivity>> {
        let text = format!("{HELD} ORDER BY h.id LIMIT 500");
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(text)).fetch_all(pool).await?
        }))
    }

    /// One held activity.
    pub async fn held_activity(&self, id: i64) -> StoreResult<Option<HeldActivity>> {
        let text = format!("{HELD} WHERE h.id = $1");
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(text)).bind(id).fetch_optional(pool).await?
        }))
    }

    /// Removes a held activity; false when there was none.
    pub async fn delete_held(&self, id: i64) -> StoreResult<bool> {
        let removed = on_pool!(self, pool => {
            sqlx::query("DELETE FROM held_activities WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(removed > 0)
    }

    /// How many activities are held.
    pub async fn count_held(&self) -> StoreResult<i64> {
        const SQL: &str = "SELECT COUNT(*) FROM held_activities";
        Ok(on_pool!(self, pool => sqlx::query_scalar(SQL).fetch_one(pool).await?))
    }
}

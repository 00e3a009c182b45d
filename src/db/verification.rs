//! Official websites' verification (issue 19, SPEC §11 "Trust on aggregators"): the
//! outcome of a check written to the `actors.website_*` columns of migration 0015, the
//! collectivités due for a periodic check, and the codes several collectivités claim
//! with none verified (the admin's notice). What is shown and hidden is one SQL
//! predicate, [`crate::db::search::outranked`].

use chrono::{DateTime, Utc};

use super::{Store, StoreResult, on_pool};
use crate::domain::VerifiedBy;

/// A code (INSEE or SIREN) that several collectivités claim, none of them verified.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UnsettledCode {
    /// `INSEE` or `SIREN`.
    pub kind: String,
    /// The code.
    pub code: String,
    /// How many collectivités claim it.
    pub actors: i64,
}

/// A collectivité whose website is due for a check.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueWebsite {
    /// Actor id.
    pub id: i64,
}

impl Store {
    /// Records the outcome of a check of `website` (the actor's website when the check
    /// started: a check of an older address records nothing). A success sets
    /// `website_verified_at` to `now`, a failure clears it; the directory generation is
    /// bumped when the collectivité becomes verified or stops being so, and on a
    /// website's first check. Answers whether it did, or `None` when the website
    /// changed meanwhile.
    pub async fn record_website_check(
        &self,
        actor_id: i64,
        website: &str,
        outcome: Result<VerifiedBy, &str>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<bool>> {
        const READ: &str = "SELECT website_verified_at, website_checked_at FROM actors \
             WHERE id = $1 AND website = $2 AND actor_type = 'Organization'";
        const WRITE: &str = "UPDATE actors SET website_verified_at = $1, \
             website_verified_by = $2, website_checked_at = $3, website_check_error = $4 \
             WHERE id = $5 AND website = $6";
        let mut tx = self.begin().await?;
        type Before = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);
        let before: Option<Before> = on_pool!(&mut tx, conn => {
            sqlx::query_as(READ)
                .bind(actor_id)
                .bind(website)
                .fetch_optional(&mut *conn)
                .await?
        });
        let Some((before, checked)) = before else {
            return Ok(None);
        };
        let (verified_at, by, error) = match outcome {
            Ok(by) => (Some(now), Some(by.as_str()), None),
            Err(error) => (None, None, Some(error)),
        };
        on_pool!(&mut tx, conn => {
            sqlx::query(WRITE)
                .bind(verified_at)
                .bind(by)
                .bind(now)
                .bind(error)
                .bind(actor_id)
                .bind(website)
                .execute(&mut *conn)
                .await?
                .rows_affected()
        });
        // The first check of a website also bumps: a new website cleared the
        // verification without bumping (`upsert_remote_actor`, profile updates).
        let changed = before.is_some() != verified_at.is_some() || checked.is_none();
        if changed {
            super::actions::bump_generation(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(Some(changed))
    }

    /// Collectivités with a website never checked, or last checked before `before`,
    /// the longest waiting first, at most `limit`.
    pub async fn websites_due(
        &self,
        before: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<DueWebsite>> {
        const SQL: &str = "SELECT id FROM actors WHERE actor_type = 'Organization' \
             AND website IS NOT NULL AND (website_checked_at IS NULL OR website_checked_at < $1) \
             ORDER BY website_checked_at IS NOT NULL, website_checked_at, id LIMIT $2";
        Ok(on_pool!(self, pool => {
            sqlx::query_as(SQL).bind(before).bind(limit).fetch_all(pool).await?
        }))
    }

    /// True when some collectivité is left out of the directory by default
    /// ([`crate::db::search::outranked`]); searches skip the condition otherwise.
    pub async fn any_outranked(&self) -> StoreResult<bool> {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "SELECT EXISTS (SELECT 1 FROM actors o WHERE o.actor_type = 'Organization' \
                 AND {})",
                crate::db::search::outranked("o")
            )
        });
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(SQL.as_str())).fetch_one(pool).await?
        }))
    }

    /// Codes (INSEE, then SIREN) claimed by several collectivités, none of them
    /// verified: the directory shows them all, marked, and the admin is told.
    pub async fn unsettled_codes(&self) -> StoreResult<Vec<UnsettledCode>> {
        const SQL: &str = "SELECT 'INSEE' AS kind, insee AS code, COUNT(*) AS actors \
             FROM actors WHERE actor_type = 'Organization' AND insee IS NOT NULL \
             GROUP BY insee HAVING COUNT(*) > 1 AND COUNT(website_verified_at) = 0 \
             UNION ALL SELECT 'SIREN' AS kind, siren AS code, COUNT(*) AS actors \
             FROM actors WHERE actor_type = 'Organization' AND siren IS NOT NULL \
             GROUP BY siren HAVING COUNT(*) > 1 AND COUNT(website_verified_at) = 0 \
             ORDER BY kind, code";
        Ok(on_pool!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await?))
    }
}

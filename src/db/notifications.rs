//! Editors' notices (issue 18): what waits for an account (a partnership request
//! received, an answer to its request, a comment to moderate), written with
//! [`insert_notices`] in the transaction of the event itself, so that no event goes
//! untold and no notice tells of an event that was rolled back. The dashboard lists the
//! unread ones; the sender ([`crate::service::notifications`]) mails them, claiming each
//! before sending so that two workers never send the same one.

use chrono::{DateTime, Utc};

use super::{BeginWrite, Store, StoreResult, Tx, on_pool};

/// What a notice tells of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// A partnership request for one of the collectivité's actions.
    PartnershipRequest,
    /// The owner's answer to one of the collectivité's requests.
    PartnershipAnswer,
    /// A comment on one of its actions, waiting for moderation.
    CommentPending,
}

impl NoticeKind {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PartnershipRequest => "partnership_request",
            Self::PartnershipAnswer => "partnership_answer",
            Self::CommentPending => "comment_pending",
        }
    }

    /// Parses the stored word.
    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::PartnershipRequest,
            Self::PartnershipAnswer,
            Self::CommentPending,
        ]
        .into_iter()
        .find(|k| k.as_str() == value)
    }
}

/// A notice to write for the accounts editing one collectivité.
#[derive(Debug, Clone)]
pub struct NewNotice {
    /// What it tells of.
    pub kind: NoticeKind,
    /// The collectivité whose editors are told (nothing is written unless it is local).
    pub collectivite_id: i64,
    /// One French sentence.
    pub summary: String,
    /// The admin page to act on it (a path, `/admin/…`).
    pub link: String,
    /// Whether to mail it (the node has SMTP settings).
    pub mail: bool,
}

/// Notices written in an hour for one account in `immediate` mode past which a new one
/// is listed on its dashboard only (`skipped`, not mailed), so that a peer repeating
/// events cannot flood a mailbox through the town's SMTP account (a digest is one mail
/// a day whatever it holds).
pub const MAILS_PER_HOUR: i64 = 20;

/// How long read notices are kept (then purged when their account reads others).
pub const READ_KEPT_DAYS: i64 = 90;

/// Writes `notice` for every active account editing its collectivité (or, when no
/// active editor is bound to it, for the node admins) in `tx`, the transaction of the
/// event, when that collectivité is local. Past [`MAILS_PER_HOUR`] notices in the last
/// hour for an account in `immediate` mode, the new one is listed but not mailed
/// (`skipped`).
pub async fn insert_notices(tx: &mut Tx, notice: &NewNotice) -> StoreResult<()> {
    let now = Utc::now();
    on_pool!(tx, conn => {
        sqlx::query(INSERT_NOTICES)
            .bind(notice.kind.as_str())
            .bind(&notice.summary)
            .bind(&notice.link)
            .bind(now)
            .bind(if notice.mail { "pending" } else { "none" })
            .bind(notice.collectivite_id)
            .bind(now - chrono::Duration::hours(1))
            .bind(MAILS_PER_HOUR)
            .execute(&mut *conn)
            .await?;
    });
    Ok(())
}

/// See [`insert_notices`].
const INSERT_NOTICES: &str = "INSERT INTO notifications \
     (user_id, kind, summary, link, created_at, mail_state, mail_next_at) \
     SELECT u.id, $1, $2, $3, $4, \
       CASE WHEN $5 = 'pending' AND u.notify = 'immediate' AND (SELECT COUNT(*) FROM notifications h \
         WHERE h.user_id = u.id AND h.created_at > $7) >= $8 THEN 'skipped' ELSE $5 END, \
       $4 FROM users u \
     WHERE u.disabled_at IS NULL \
     AND EXISTS (SELECT 1 FROM actors a WHERE a.id = $6 AND a.local = TRUE) \
     AND (EXISTS (SELECT 1 FROM user_collectivites l WHERE l.user_id = u.id AND l.actor_id = $6) \
       OR (u.admin = TRUE AND NOT EXISTS (SELECT 1 FROM user_collectivites l \
         JOIN users e ON e.id = l.user_id WHERE l.actor_id = $6 AND e.disabled_at IS NULL)))";

/// A notice as the dashboard shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Notice {
    /// Database id.
    pub id: i64,
    /// What it tells of (the stored word, [`NoticeKind`]).
    pub kind: String,
    /// One French sentence.
    pub summary: String,
    /// The admin page to act on it.
    pub link: String,
    /// Written at.
    pub created_at: DateTime<Utc>,
    /// Read on the dashboard at.
    pub read_at: Option<DateTime<Utc>>,
    /// `pending`, `sent`, `skipped`, `none` or `failed`.
    pub mail_state: String,
}

/// A notice to mail, with its account.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MailNotice {
    /// Database id.
    pub id: i64,
    /// The account.
    pub user_id: i64,
    /// Its login name.
    pub username: String,
    /// Its address.
    pub email: String,
    /// What it tells of (the stored word).
    pub kind: String,
    /// One French sentence.
    pub summary: String,
    /// The admin page to act on it.
    pub link: String,
    /// Written at.
    pub created_at: DateTime<Utc>,
    /// Tries so far.
    pub mail_attempts: i64,
}

const MAIL_SELECT: &str = "SELECT n.id, n.user_id, u.username, u.email, n.kind, n.summary, \
     n.link, n.created_at, n.mail_attempts FROM notifications n JOIN users u ON u.id = n.user_id";

impl Store {
    /// The latest unread notices of an account (newest first), `limit` at most, and
    /// how many it has unread in all.
    pub async fn unread_notices(
        &self,
        user_id: i64,
        limit: i64,
    ) -> StoreResult<(Vec<Notice>, i64)> {
        const LIST: &str = "SELECT id, kind, summary, link, created_at, read_at, mail_state \
             FROM notifications WHERE user_id = $1 AND read_at IS NULL \
             ORDER BY id DESC LIMIT $2";
        const COUNT: &str =
            "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL";
        on_pool!(self, pool => {
            let list = sqlx::query_as(LIST).bind(user_id).bind(limit).fetch_all(pool).await?;
            let count = sqlx::query_scalar(COUNT).bind(user_id).fetch_one(pool).await?;
            Ok((list, count))
        })
    }

    /// Marks read the account's notices `ids` (those its page showed: a notice
    /// arrived since, or beyond the page, stays unread); how many changed. Its read
    /// notices older than [`READ_KEPT_DAYS`] and no longer waiting for their mail are
    /// purged at the same time.
    pub async fn mark_notices_read(&self, user_id: i64, ids: &[i64]) -> StoreResult<u64> {
        const SQL: &str = "UPDATE notifications SET read_at = $1 \
             WHERE user_id = $2 AND id = $3 AND read_at IS NULL";
        const PURGE: &str = "DELETE FROM notifications WHERE user_id = $1 \
             AND read_at IS NOT NULL AND read_at < $2 AND mail_state <> 'pending'";
        let now = Utc::now();
        Ok(on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let mut read = 0;
            for id in ids {
                read += sqlx::query(SQL)
                    .bind(now)
                    .bind(user_id)
                    .bind(*id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            }
            sqlx::query(PURGE)
                .bind(user_id)
                .bind(now - chrono::Duration::days(READ_KEPT_DAYS))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            read
        }))
    }

    /// Puts the unread notices whose mail failed for good back in the queue, due
    /// `now`, with their tries reset; how many (one read on the dashboard is dealt
    /// with).
    pub async fn retry_failed_notices(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        const SQL: &str = "UPDATE notifications SET mail_state = 'pending', \
             mail_attempts = 0, mail_next_at = $1, mail_error = NULL WHERE mail_state = 'failed' AND read_at IS NULL";
        Ok(on_pool!(self, pool => sqlx::query(SQL).bind(now).execute(pool).await?.rows_affected()))
    }

    /// Marks `skipped` the notices waiting to be mailed to accounts that get none
    /// (no address, mails off, disabled); how many.
    pub async fn skip_unmailable_notices(&self) -> StoreResult<u64> {
        const SQL: &str = "UPDATE notifications SET mail_state = 'skipped' \
             WHERE mail_state = 'pending' AND user_id IN (SELECT id FROM users \
             WHERE email IS NULL OR email = '' OR notify = 'off' OR disabled_at IS NOT NULL)";
        Ok(on_pool!(self, pool => sqlx::query(SQL).execute(pool).await?.rows_affected()))
    }

    /// Notices due to be mailed one by one (accounts in `immediate` mode), oldest
    /// first, `limit` at most.
    pub async fn due_immediate_notices(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<MailNotice>> {
        let sql = format!(
            "{MAIL_SELECT} WHERE n.mail_state = 'pending' AND n.mail_next_at <= $1 \
             AND u.notify = 'immediate' AND u.email IS NOT NULL ORDER BY n.id LIMIT $2"
        );
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(now).bind(limit).fetch_all(pool).await?
        }))
    }

    /// The accounts in `digest` mode with notices due, whose last digest was not on
    /// the local day `today` (`YYYY-MM-DD`).
    pub async fn digest_accounts_due(
        &self,
        now: DateTime<Utc>,
        today: &str,
    ) -> StoreResult<Vec<i64>> {
        const SQL: &str = "SELECT DISTINCT u.id FROM users u JOIN notifications n ON n.user_id = u.id \
             WHERE u.notify = 'digest' AND u.email IS NOT NULL \
             AND (u.digest_sent_on IS NULL OR u.digest_sent_on <> $2) \
             AND n.mail_state = 'pending' AND n.mail_next_at <= $1 ORDER BY u.id";
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(SQL).bind(now).bind(today).fetch_all(pool).await?
        }))
    }

    /// The notices due for one account's digest, oldest first.
    pub async fn due_notices_of(
        &self,
        user_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<MailNotice>> {
        let sql = format!(
            "{MAIL_SELECT} WHERE n.user_id = $1 AND n.mail_state = 'pending' \
             AND n.mail_next_at <= $2 AND u.email IS NOT NULL ORDER BY n.id"
        );
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(user_id).bind(now).fetch_all(pool).await?
        }))
    }

    /// Claims notices for sending until `lease_until`: those still pending and due at
    /// `now` are moved out of every other sender's reach; returns the ids claimed.
    pub async fn claim_notices(
        &self,
        ids: &[i64],
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<Vec<i64>> {
        const SQL: &str = "UPDATE notifications SET mail_next_at = $1 \
             WHERE id = $2 AND mail_state = 'pending' AND mail_next_at <= $3";
        let mut claimed = Vec::new();
        on_pool!(self, pool => {
            for id in ids {
                let done = sqlx::query(SQL)
                    .bind(lease_until)
                    .bind(*id)
                    .bind(now)
                    .execute(pool)
                    .await?
                    .rows_affected();
                if done > 0 {
                    claimed.push(*id);
                }
            }
        });
        Ok(claimed)
    }

    /// Records that the notices `ids` were mailed and, for a digest, the local day
    /// `digest_day` of the account `user_id`, in one transaction.
    pub async fn notices_mailed(
        &self,
        ids: &[i64],
        digest_day: Option<(i64, &str)>,
    ) -> StoreResult<()> {
        const SENT: &str = "UPDATE notifications SET mail_state = 'sent', mailed_at = $1, \
             mail_attempts = mail_attempts + 1, mail_error = NULL WHERE id = $2";
        const DAY: &str = "UPDATE users SET digest_sent_on = $1 WHERE id = $2";
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let now = Utc::now();
            for id in ids {
                sqlx::query(SENT).bind(now).bind(*id).execute(&mut *tx).await?;
            }
            if let Some((user_id, day)) = digest_day {
                sqlx::query(DAY).bind(day).bind(user_id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Records a failed try for the notices `ids`: tried again at `retry_at`, or
    /// `failed` for good when `retry_at` is `None`.
    pub async fn notices_not_mailed(
        &self,
        ids: &[i64],
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        const RETRY: &str = "UPDATE notifications SET mail_attempts = mail_attempts + 1, \
             mail_error = $1, mail_next_at = $2 WHERE id = $3";
        const FAILED: &str = "UPDATE notifications SET mail_attempts = mail_attempts + 1, \
             mail_error = $1, mail_state = 'failed' WHERE id = $2";
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            for id in ids {
                match retry_at {
                    Some(at) => sqlx::query(RETRY).bind(error).bind(at).bind(*id).execute(&mut *tx).await?,
                    None => sqlx::query(FAILED).bind(error).bind(*id).execute(&mut *tx).await?,
                };
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Notices by mail state (`pending`, `sent`…), for `maillage notifications status`
    /// and tests.
    pub async fn count_notices_by_mail_state(&self) -> StoreResult<Vec<(String, i64)>> {
        const SQL: &str = "SELECT mail_state, COUNT(*) FROM notifications \
             GROUP BY mail_state ORDER BY mail_state";
        Ok(on_pool!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await?))
    }
}

//! Editors' accounts for the web admin (SPEC §5): one account per editor, bound to one
//! or more collectivités, or a node admin; and their cookie sessions.

use chrono::{DateTime, Utc};

use super::{BeginWrite, Engine, Store, StoreResult, on_pool};
use crate::domain::{Collectivite, EmailAddress, NotifyMode};

/// An account.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    /// Database id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// argon2id hash (PHC string).
    pub password_hash: String,
    /// Node admin (every collectivité, blocks, reports).
    pub admin: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Disabled by the operator since then: cannot sign in, has no session.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Where notifications are mailed (none: the dashboard only).
    pub email: Option<String>,
    /// How often: `immediate`, `digest` or `off` ([`crate::domain::NotifyMode`]).
    pub notify: String,
    /// The server's local day (`YYYY-MM-DD`) of the last digest mailed.
    pub digest_sent_on: Option<String>,
}

impl User {
    /// The account's notification mode (`immediate` for an unknown stored word).
    pub fn notify_mode(&self) -> NotifyMode {
        NotifyMode::parse(&self.notify).unwrap_or_default()
    }
}

/// An account as `maillage user list` shows it.
#[derive(Debug, Clone)]
pub struct UserListing {
    /// The account.
    pub user: User,
    /// The usernames of the collectivités it edits (none for a node admin).
    pub collectivites: Vec<String>,
    /// Its live sessions.
    pub sessions: i64,
}

/// A live session with its user.
#[derive(Debug, Clone)]
pub struct Session {
    /// The user.
    pub user: User,
    /// The session's CSRF token, required in every form it posts.
    pub csrf_token: String,
}

/// What a change guarded by "one enabled node admin stays" did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountChange {
    /// Done.
    Changed,
    /// The account already was in that state.
    Unchanged,
    /// Refused: it would leave the node without an enabled admin.
    LastAdmin,
    /// No such account (deleted meanwhile).
    Missing,
}

impl AccountChange {
    /// From whether the guarded statement changed the row and, read after it in the
    /// same transaction, whether the account exists already in the state asked for.
    fn of(changed: bool, already: Option<bool>) -> Self {
        match (changed, already) {
            (true, _) => AccountChange::Changed,
            (false, None) => AccountChange::Missing,
            (false, Some(true)) => AccountChange::Unchanged,
            (false, Some(false)) => AccountChange::LastAdmin,
        }
    }
}

/// On PostgreSQL, run first in the transaction of a change guarded by "one enabled node
/// admin stays": it waits for any other such change, so that two of them never each
/// see the other admin (READ COMMITTED); the next statement sees what it committed.
/// SQLite write transactions are serial already.
const LOCK_ADMINS: &str =
    "SELECT id FROM users WHERE admin = TRUE AND disabled_at IS NULL ORDER BY id FOR UPDATE";

impl Store {
    /// Creates an account bound to `collectivites` (actor ids), in one transaction.
    pub async fn insert_user(
        &self,
        username: &str,
        password_hash: &str,
        admin: bool,
        collectivites: &[i64],
        email: Option<&EmailAddress>,
    ) -> StoreResult<User> {
        const USER: &str = "INSERT INTO users (username, password_hash, admin, created_at, email) \
             VALUES ($1, $2, $3, $4, $5) RETURNING *";
        const LINK: &str = "INSERT INTO user_collectivites (user_id, actor_id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING";
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let user: User = sqlx::query_as(USER)
                .bind(username)
                .bind(password_hash)
                .bind(admin)
                .bind(Utc::now())
                .bind(email.map(AsRef::as_ref))
                .fetch_one(&mut *tx)
                .await?;
            for actor_id in collectivites {
                sqlx::query(LINK).bind(user.id).bind(*actor_id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(user)
        })
    }

    /// Sets where and how often an account's notifications are mailed.
    pub async fn set_user_notifications(
        &self,
        user_id: i64,
        email: Option<&EmailAddress>,
        mode: NotifyMode,
    ) -> StoreResult<()> {
        const SQL: &str = "UPDATE users SET email = $1, notify = $2 WHERE id = $3";
        on_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(email.map(AsRef::as_ref))
                .bind(mode.as_str())
                .bind(user_id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Replaces the password of an account and ends its sessions, in one transaction.
    pub async fn set_password(&self, user_id: i64, password_hash: &str) -> StoreResult<()> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                .bind(password_hash)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Disables an account (ending its sessions, in one transaction) or enables it
    /// again, never disabling the last enabled node admin ([`AccountChange`]).
    pub async fn set_user_disabled(
        &self,
        user_id: i64,
        disabled: bool,
    ) -> StoreResult<AccountChange> {
        const DISABLE: &str = "UPDATE users SET disabled_at = $1 WHERE id = $2 \
             AND disabled_at IS NULL AND (admin = FALSE OR EXISTS (SELECT 1 FROM users o \
             WHERE o.admin = TRUE AND o.disabled_at IS NULL AND o.id <> $2))";
        const ENABLE: &str =
            "UPDATE users SET disabled_at = NULL WHERE id = $1 AND disabled_at IS NOT NULL";
        let lock = self.engine() == Engine::Postgres;
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let changed = if disabled {
                if lock {
                    sqlx::query(LOCK_ADMINS).execute(&mut *tx).await?;
                }
                sqlx::query(DISABLE).bind(Utc::now()).bind(user_id).execute(&mut *tx).await?
            } else {
                sqlx::query(ENABLE).bind(user_id).execute(&mut *tx).await?
            }
            .rows_affected()
                > 0;
            if disabled {
                sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
            }
            let state: Option<(bool, Option<DateTime<Utc>>)> =
                sqlx::query_as("SELECT admin, disabled_at FROM users WHERE id = $1")
                    .bind(user_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            tx.commit().await?;
            Ok(AccountChange::of(changed, state.map(|(_, at)| at.is_some() == disabled)))
        })
    }

    /// Deletes an account with its sessions and its links to collectivités, unless it
    /// is the last enabled node admin ([`AccountChange`]).
    pub async fn delete_user(&self, user_id: i64) -> StoreResult<AccountChange> {
        // Sessions and links go by ON DELETE CASCADE.
        const SQL: &str = "DELETE FROM users WHERE id = $1 AND (admin = FALSE OR EXISTS \
             (SELECT 1 FROM users o WHERE o.admin = TRUE AND o.disabled_at IS NULL AND o.id <> $1))";
        let lock = self.engine() == Engine::Postgres;
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            if lock {
                sqlx::query(LOCK_ADMINS).execute(&mut *tx).await?;
            }
            let deleted = sqlx::query(SQL).bind(user_id).execute(&mut *tx).await?.rows_affected() > 0;
            let left: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(AccountChange::of(deleted, left.map(|_| false)))
        })
    }

    /// Makes an account a node admin or an editor again, unless that would leave no
    /// enabled node admin ([`AccountChange`]).
    pub async fn set_user_admin(&self, user_id: i64, admin: bool) -> StoreResult<AccountChange> {
        const SQL: &str = "UPDATE users SET admin = $2 WHERE id = $1 AND admin <> $2 AND ($2 OR EXISTS \
             (SELECT 1 FROM users o WHERE o.admin = TRUE AND o.disabled_at IS NULL AND o.id <> $1))";
        let lock = self.engine() == Engine::Postgres && !admin;
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            if lock {
                sqlx::query(LOCK_ADMINS).execute(&mut *tx).await?;
            }
            let changed = sqlx::query(SQL)
                .bind(user_id)
                .bind(admin)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0;
            let role: Option<bool> = sqlx::query_scalar("SELECT admin FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(AccountChange::of(changed, role.map(|role| role == admin)))
        })
    }

    /// Every account by name, with the collectivités it edits and its live sessions.
    pub async fn users(&self) -> StoreResult<Vec<UserListing>> {
        const USERS: &str = "SELECT * FROM users ORDER BY username";
        const LINKS: &str = "SELECT l.user_id, a.username FROM user_collectivites l \
             JOIN actors a ON a.id = l.actor_id ORDER BY a.username";
        const SESSIONS: &str =
            "SELECT user_id, COUNT(*) FROM sessions WHERE expires_at > $1 GROUP BY user_id";
        let users: Vec<User> = on_pool!(self, pool => sqlx::query_as(USERS).fetch_all(pool).await?);
        let links: Vec<(i64, String)> =
            on_pool!(self, pool => sqlx::query_as(LINKS).fetch_all(pool).await?);
        let sessions: Vec<(i64, i64)> = on_pool!(self, pool => {
            sqlx::query_as(SESSIONS).bind(Utc::now()).fetch_all(pool).await?
        });
        Ok(users
            .into_iter()
            .map(|user| UserListing {
                collectivites: links
                    .iter()
                    .filter(|(id, _)| *id == user.id)
                    .map(|(_, name)| name.clone())
                    .collect(),
                sessions: sessions
                    .iter()
                    .find(|(id, _)| *id == user.id)
                    .map_or(0, |(_, n)| *n),
                user,
            })
            .collect())
    }

    /// An account by login name.
    pub async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as("SELECT * FROM users WHERE username = $1")
                .bind(username)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// The collectivités an account edits (every local one for a node admin), by name.
    pub async fn collectivites_of_user(&self, user: &User) -> StoreResult<Vec<Collectivite>> {
        if user.admin {
            return self.local_collectivites().await;
        }
        let ids: Vec<i64> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT actor_id FROM user_collectivites WHERE user_id = $1")
                .bind(user.id)
                .fetch_all(pool)
                .await?
        });
        let mut list = Vec::new();
        for id in ids {
            list.extend(self.collectivite_by_id(id).await?);
        }
        list.sort_by(|a, b| a.profile.name.cmp(&b.profile.name));
        Ok(list)
    }

    /// Opens a session (the cookie token's hash) until `expires_at`, only if the
    /// account still has the password hash that was checked (`checked_hash`) and is
    /// not disabled: a sign-in that checked the old password while `user passwd` or
    /// `user disable` ran opens nothing. On PostgreSQL the account row is locked
    /// (`FOR SHARE`): while such a change (or `user delete`) is uncommitted, the insert
    /// waits for it and checks the row it committed. False when nothing was opened.
    pub async fn insert_session(
        &self,
        token_hash: &str,
        user_id: i64,
        checked_hash: &str,
        csrf_token: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        const SQL: &str = "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
             SELECT $1, id, $3, $4, $5 FROM users \
             WHERE id = $2 AND password_hash = $6 AND disabled_at IS NULL";
        // READ COMMITTED would read the old row beside an uncommitted change, and the
        // change's `DELETE FROM sessions` would miss this one.
        const SQL_POSTGRES: &str = "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
             SELECT $1, id, $3, $4, $5 FROM users \
             WHERE id = $2 AND password_hash = $6 AND disabled_at IS NULL FOR SHARE";
        let sql = match self.engine() {
            Engine::Sqlite => SQL,
            Engine::Postgres => SQL_POSTGRES,
        };
        on_pool!(self, pool => {
            let opened = sqlx::query(sql)
                .bind(token_hash)
                .bind(user_id)
                .bind(csrf_token)
                .bind(Utc::now())
                .bind(expires_at)
                .bind(checked_hash)
                .execute(pool)
                .await?
                .rows_affected()
                > 0;
            // Expired sessions go when new ones come.
            sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
                .bind(Utc::now())
                .execute(pool)
                .await?;
            Ok(opened)
        })
    }

    /// The live session of a cookie token's hash.
    pub async fn session(&self, token_hash: &str) -> StoreResult<Option<Session>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: User,
            csrf_token: String,
        }
        const SQL: &str = "SELECT u.*, s.csrf_token FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL";
        let row: Option<Row> = on_pool!(self, pool => {
            sqlx::query_as(SQL).bind(token_hash).bind(Utc::now()).fetch_optional(pool).await?
        });
        Ok(row.map(|r| Session {
            user: r.user,
            csrf_token: r.csrf_token,
        }))
    }

    /// Closes a session.
    pub async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                .bind(token_hash)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}

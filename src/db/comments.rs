//! Comments (SPEC §3, §5 "exchange of experience"): `Note`s replying to a local action
//! or to a comment on it, from the fediverse (pending moderation unless the sender's
//! domain is trusted) or written by a local editor (published at once). Content is
//! stored sanitised.

use chrono::{DateTime, Utc};
use url::Url;
use uuid::Uuid;

use super::notifications::{NewNotice, insert_notices};
use super::{Store, StoreResult, Tx, on_pool};

/// Moderation state of a comment.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum CommentState {
    /// Waiting for a moderator.
    Pending,
    /// Shown on the action page and in its `replies`.
    Approved,
    /// Hidden.
    Rejected,
}

impl CommentState {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    /// Parses the stored word (or a query parameter).
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "pending" => Some(Self::Pending),
            "approved" => Some(Self::Approved),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }
}

/// A comment with its author and the action it belongs to.
#[derive(Debug, Clone)]
pub struct Comment {
    /// Database id.
    pub id: i64,
    /// Public id (local comments' URL).
    pub uuid: Uuid,
    /// ActivityPub id.
    pub ap_id: Url,
    /// Database id of the action.
    pub action_db_id: i64,
    /// ActivityPub id of the action.
    pub action_ap_id: Url,
    /// Name of the action.
    pub action_name: String,
    /// Owner (database id) of the action.
    pub action_owner_id: i64,
    /// What it answers (the action or another comment).
    pub in_reply_to: Url,
    /// Author's database id.
    pub author_id: i64,
    /// Author's ActivityPub id.
    pub author_ap_id: Url,
    /// Author's name.
    pub author_name: String,
    /// Author's `user@domain`.
    pub author_handle: String,
    /// Author's type (`Person`, `Organization`…).
    pub author_type: String,
    /// Written here?
    pub local: bool,
    /// Sanitised HTML.
    pub content_html: String,
    /// Page of the comment on its server.
    pub url: Option<Url>,
    /// Moderation state.
    pub state: CommentState,
    /// Published.
    pub published: DateTime<Utc>,
    /// Last updated.
    pub updated: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct CommentRow {
    id: i64,
    uuid: Uuid,
    ap_id: String,
    action_id: i64,
    action_ap_id: String,
    action_name: String,
    action_owner_id: i64,
    in_reply_to: String,
    author_id: i64,
    author_ap_id: String,
    author_name: String,
    author_username: String,
    author_domain: String,
    author_type: String,
    local: bool,
    content_html: String,
    url: Option<String>,
    state: String,
    published: DateTime<Utc>,
    updated: DateTime<Utc>,
}

impl TryFrom<CommentRow> for Comment {
    type Error = super::StoreError;

    fn try_from(row: CommentRow) -> StoreResult<Self> {
        let url = |what: &str, v: &str| {
            Url::parse(v).map_err(|e| super::StoreError::Corrupt(format!("comments.{what}: {e}")))
        };
        Ok(Comment {
            id: row.id,
            uuid: row.uuid,
            ap_id: url("ap_id", &row.ap_id)?,
            action_db_id: row.action_id,
            action_ap_id: url("action", &row.action_ap_id)?,
            action_name: row.action_name,
            action_owner_id: row.action_owner_id,
            in_reply_to: url("in_reply_to", &row.in_reply_to)?,
            author_id: row.author_id,
            author_ap_id: url("author", &row.author_ap_id)?,
            author_name: if row.author_name.is_empty() {
                row.author_username.clone()
            } else {
                row.author_name
            },
            author_handle: format!("{}@{}", row.author_username, row.author_domain),
            author_type: row.author_type,
            local: row.local,
            content_html: row.content_html,
            url: row.url.as_deref().and_then(|u| Url::parse(u).ok()),
            state: CommentState::parse(&row.state).ok_or_else(|| {
                super::StoreError::Corrupt(format!("comments.state: {}", row.state))
            })?,
            published: row.published,
            updated: row.updated,
        })
    }
}

const SELECT: &str = "SELECT c.id, c.uuid, c.ap_id, c.action_id, a.ap_id AS action_ap_id, \
     a.name AS action_name, a.actor_id AS action_owner_id, c.in_reply_to, c.author_id, \
     u.ap_id AS author_ap_id, u.name AS author_name, u.username AS author_username, \
     u.domain AS author_domain, u.actor_type AS author_type, c.local, c.content_html, c.url, \
     c.state, c.published, c.updated \
     FROM comments c JOIN actions a ON a.id = c.action_id JOIN actors u ON u.id = c.author_id";

/// A comment to store.
#[derive(Debug, Clone)]
pub struct NewComment<'a> {
    /// ActivityPub id.
    pub ap_id: &'a Url,
    /// Database id of the local action it belongs to.
    pub action_db_id: i64,
    /// What it answers.
    pub in_reply_to: &'a Url,
    /// Author.
    pub author_id: i64,
    /// Sanitised HTML.
    pub content_html: &'a str,
    /// Its page.
    pub url: Option<&'a Url>,
    /// Initial state.
    pub state: CommentState,
    /// Published.
    pub published: DateTime<Utc>,
    /// Updated.
    pub updated: DateTime<Utc>,
}

/// Stores a comment written here in `tx`; returns its database id.
pub async fn insert_local_comment(
    tx: &mut Tx,
    uuid: Uuid,
    new: &NewComment<'_>,
) -> StoreResult<i64> {
    const SQL: &str = "INSERT INTO comments (uuid, ap_id, action_id, in_reply_to, author_id, \
         local, content_html, url, state, published, updated, received_at) \
         VALUES ($1, $2, $3, $4, $5, TRUE, $6, $7, $8, $9, $10, $11) RETURNING id";
    Ok(on_pool!(tx, conn => {
        sqlx::query_scalar(SQL)
            .bind(uuid)
            .bind(new.ap_id.as_str())
            .bind(new.action_db_id)
            .bind(new.in_reply_to.as_str())
            .bind(new.author_id)
            .bind(new.content_html)
            .bind(new.url.map(Url::as_str))
            .bind(new.state.as_str())
            .bind(new.published)
            .bind(new.updated)
            .bind(Utc::now())
            .fetch_one(&mut *conn)
            .await?
    }))
}

impl Store {
    /// Stores a remote comment, or updates its content when this version is newer and
    /// from the same author. An edited comment goes back to moderation (`pending`,
    /// and to the top of the queue when it had been approved) unless `new.state` is
    /// `approved` (a trusted domain), which keeps its state, so an approved comment
    /// cannot be swapped for other text; a rejected comment stays rejected, whatever
    /// its edits. When the comment is left waiting for moderation, `notice` is written
    /// for the action owner's editors in the same transaction. `None` when nothing
    /// changed.
    pub async fn upsert_remote_comment(
        &self,
        new: &NewComment<'_>,
        notice: Option<&NewNotice>,
    ) -> StoreResult<Option<i64>> {
        const SQL: &str = "INSERT INTO comments (uuid, ap_id, action_id, in_reply_to, author_id, \
             local, content_html, url, state, published, updated, received_at) \
             VALUES ($1, $2, $3, $4, $5, FALSE, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (ap_id) DO UPDATE SET content_html = excluded.content_html, \
             url = excluded.url, updated = excluded.updated, \
             state = CASE WHEN comments.state = 'rejected' THEN 'rejected' \
               WHEN excluded.state = 'approved' THEN comments.state ELSE 'pending' END, \
             received_at = CASE WHEN comments.state = 'approved' AND excluded.state <> 'approved' \
               THEN excluded.received_at ELSE comments.received_at END \
             WHERE comments.author_id = excluded.author_id AND comments.updated < excluded.updated \
             RETURNING id, state";
        let mut tx = self.begin().await?;
        let stored: Option<(i64, String)> = on_pool!(tx, conn => {
            sqlx::query_as(SQL)
                .bind(Uuid::now_v7())
                .bind(new.ap_id.as_str())
                .bind(new.action_db_id)
                .bind(new.in_reply_to.as_str())
                .bind(new.author_id)
                .bind(new.content_html)
                .bind(new.url.map(Url::as_str))
                .bind(new.state.as_str())
                .bind(new.published)
                .bind(new.updated)
                .bind(Utc::now())
                .fetch_optional(&mut *conn)
                .await?
        });
        if let (Some((_, state)), Some(notice)) = (&stored, notice) {
            if state == CommentState::Pending.as_str() {
                insert_notices(&mut tx, notice).await?;
            }
        }
        tx.commit().await?;
        Ok(stored.map(|(id, _)| id))
    }

    /// Comments waiting for moderation from the actor `author_id`, and from every
    /// actor of `domain` (the caps of `[moderation]`).
    pub async fn pending_comments_from(
        &self,
        author_id: i64,
        domain: &str,
    ) -> StoreResult<(i64, i64)> {
        const SQL: &str = "SELECT \
             (SELECT COUNT(*) FROM comments WHERE author_id = $1 AND state = 'pending'), \
             (SELECT COUNT(*) FROM comments c JOIN actors u ON u.id = c.author_id \
              WHERE u.domain = $2 AND c.state = 'pending')";
        Ok(on_pool!(self, pool => {
            sqlx::query_as(SQL).bind(author_id).bind(domain).fetch_one(pool).await?
        }))
    }

    /// Sets the moderation state of a comment.
    pub async fn set_comment_state(&self, id: i64, state: CommentState) -> StoreResult<bool> {
        const SQL: &str = "UPDATE comments SET state = $1 WHERE id = $2";
        let done = on_pool!(self, pool => {
            sqlx::query(SQL).bind(state.as_str()).bind(id).execute(pool).await?.rows_affected()
        });
        Ok(done > 0)
    }

    /// Deletes the comment `ap_id` when `author_id` wrote it.
    pub async fn delete_comment(&self, ap_id: &Url, author_id: i64) -> StoreResult<bool> {
        const SQL: &str = "DELETE FROM comments WHERE ap_id = $1 AND author_id = $2";
        let done = on_pool!(self, pool => {
            sqlx::query(SQL).bind(ap_id.as_str()).bind(author_id).execute(pool).await?.rows_affected()
        });
        Ok(done > 0)
    }

    /// A comment by database id.
    pub async fn comment(&self, id: i64) -> StoreResult<Option<Comment>> {
        let text = format!("{SELECT} WHERE c.id = $1");
        let row: Option<CommentRow> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(text)).bind(id).fetch_optional(pool).await?
        });
        row.map(Comment::try_from).transpose()
    }

    /// A comment by public id.
    pub async fn comment_by_uuid(&self, uuid: Uuid) -> StoreResult<Option<Comment>> {
        let text = format!("{SELECT} WHERE c.uuid = $1");
        let row: Option<CommentRow> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(text)).bind(uuid).fetch_optional(pool).await?
        });
        row.map(Comment::try_from).transpose()
    }

    /// A comment by ActivityPub id.
    pub async fn comment_by_ap_id(&self, ap_id: &Url) -> StoreResult<Option<Comment>> {
        let text = format!("{SELECT} WHERE c.ap_id = $1");
        let row: Option<CommentRow> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(text)).bind(ap_id.as_str()).fetch_optional(pool).await?
        });
        row.map(Comment::try_from).transpose()
    }

    /// Comments on an action, oldest first: approved ones only unless `all`.
    pub async fn comments_of_action(
        &self,
        action_db_id: i64,
        all: bool,
    ) -> StoreResult<Vec<Comment>> {
        let state = if all { "" } else { " AND c.state = 'approved'" };
        let text = format!("{SELECT} WHERE c.action_id = $1{state} ORDER BY c.published, c.id");
        let rows: Vec<CommentRow> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(text)).bind(action_db_id).fetch_all(pool).await?
        });
        rows.into_iter().map(Comment::try_from).collect()
    }

    /// Comments in `state` on the actions of `owner_id` (or of every local collectivité
    /// when `None`), by arrival, newest first: at most `limit`, from the one after the
    /// comment `after` (the last of the previous page) when given.
    pub async fn comments_to_moderate(
        &self,
        state: CommentState,
        owner_id: Option<i64>,
        after: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<Comment>> {
        // Keyset on (arrival, id): the previous page's last row is read in the same
        // statement, so its stored timestamp compares exactly.
        let text = format!(
            "{SELECT} WHERE c.state = $1 AND a.local = TRUE AND ($2 = 0 OR a.actor_id = $2) \
             AND ($3 = 0 OR (c.received_at, c.id) < \
               (SELECT p.received_at, p.id FROM comments p WHERE p.id = $3)) \
             ORDER BY c.received_at DESC, c.id DESC LIMIT $4"
        );
        let rows: Vec<CommentRow> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(text))
                .bind(state.as_str())
                .bind(owner_id.unwrap_or(0))
                .bind(after.unwrap_or(0))
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(Comment::try_from).collect()
    }

    /// How many comments are in `state` on the actions of `owner_id`.
    pub async fn count_comments_to_moderate(
        &self,
        state: CommentState,
        owner_id: i64,
    ) -> StoreResult<i64> {
        const SQL: &str = "SELECT COUNT(*) FROM comments c JOIN actions a ON a.id = c.action_id \
             WHERE c.state = $1 AND a.actor_id = $2";
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(SQL).bind(state.as_str()).bind(owner_id).fetch_one(pool).await?
        }))
    }
}

//! Follows between actors (SPEC §3 "Follow lifecycle"): remote followers of local
//! actors, and local actors' follows of remote ones, each with its `Follow` id and
//! state (`pending`, `accepted`, `rejected`).

use chrono::{DateTime, Utc};
use url::Url;

use super::{Store, StoreResult, Tx, on_pool};

/// Where a follow stands, stored as its lowercase name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowState {
    /// Asked, not answered (our follows of remote actors).
    Pending,
    /// In force.
    Accepted,
    /// Refused by the followed actor.
    Rejected,
}

impl FollowState {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
        }
    }

    /// French label for pages.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "en attente",
            Self::Accepted => "accepté",
            Self::Rejected => "refusé",
        }
    }
}

impl std::fmt::Display for FollowState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored state that is none of [`FollowState`]'s (a corrupt row).
#[derive(Debug, thiserror::Error)]
#[error("follows.state: {0}")]
pub struct UnknownFollowState(String);

impl TryFrom<String> for FollowState {
    type Error = UnknownFollowState;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Ok(match value.as_str() {
            "pending" => Self::Pending,
            "accepted" => Self::Accepted,
            "rejected" => Self::Rejected,
            _ => return Err(UnknownFollowState(value)),
        })
    }
}

/// A follow.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FollowRecord {
    /// Database id.
    pub id: i64,
    /// Id of the `Follow` activity.
    pub ap_id: Option<String>,
    /// Who follows.
    pub follower_id: i64,
    /// Who is followed.
    pub followed_id: i64,
    /// State.
    #[sqlx(try_from = "String")]
    pub state: FollowState,
    /// When.
    pub published: DateTime<Utc>,
}

/// A follow with the other actor's identity, for listings.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FollowListing {
    /// Database id of the follow.
    pub id: i64,
    /// State.
    #[sqlx(try_from = "String")]
    pub state: FollowState,
    /// When.
    pub published: DateTime<Utc>,
    /// The other actor's id.
    pub actor_ap_id: String,
    /// Its username.
    pub actor_username: String,
    /// Its domain.
    pub actor_domain: String,
    /// Its name.
    pub actor_name: String,
}

const UPSERT: &str = "INSERT INTO follows (ap_id, follower_id, followed_id, state, published) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (follower_id, followed_id) DO UPDATE \
     SET ap_id = excluded.ap_id, state = excluded.state RETURNING *";

/// Records (or replaces) the follow of `follower_id` to `followed_id` in `tx`, with
/// its `Follow` id and state.
pub async fn upsert_follow(
    tx: &mut Tx,
    ap_id: &Url,
    follower_id: i64,
    followed_id: i64,
    state: FollowState,
) -> StoreResult<FollowRecord> {
    Ok(on_pool!(tx, conn => {
        sqlx::query_as(UPSERT)
            .bind(ap_id.as_str())
            .bind(follower_id)
            .bind(followed_id)
            .bind(state.as_str())
            .bind(Utc::now())
            .fetch_one(&mut *conn)
            .await?
    }))
}

/// Removes follow `id` in `tx`; false when there was none.
pub async fn delete_follow(tx: &mut Tx, id: i64) -> StoreResult<bool> {
    let removed = on_pool!(tx, conn => {
        sqlx::query("DELETE FROM follows WHERE id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
    });
    Ok(removed > 0)
}

impl Store {
    /// Records a follow with no activity (imports, benchmarks, tests).
    pub async fn insert_follow(
        &self,
        ap_id: Option<&Url>,
        follower_id: i64,
        followed_id: i64,
        state: FollowState,
    ) -> StoreResult<FollowRecord> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(UPSERT)
                .bind(ap_id.map(Url::as_str))
                .bind(follower_id)
                .bind(followed_id)
                .bind(state.as_str())
                .bind(Utc::now())
                .fetch_one(pool)
                .await?
        }))
    }

    /// The follow with this `Follow` activity id.
    pub async fn follow_by_ap_id(&self, ap_id: &str) -> StoreResult<Option<FollowRecord>> {
        const SQL: &str = "SELECT * FROM follows WHERE ap_id = $1";
        Ok(on_pool!(self, pool => sqlx::query_as(SQL).bind(ap_id).fetch_optional(pool).await?))
    }

    /// The follow of `follower_id` to `followed_id`.
    pub async fn follow_between(
        &self,
        follower_id: i64,
        followed_id: i64,
    ) -> StoreResult<Option<FollowRecord>> {
        const SQL: &str = "SELECT * FROM follows WHERE follower_id = $1 AND followed_id = $2";
        Ok(on_pool!(self, pool => {
            sqlx::query_as(SQL).bind(follower_id).bind(followed_id).fetch_optional(pool).await?
        }))
    }

    /// The follow with this database id.
    pub async fn follow_by_id(&self, id: i64) -> StoreResult<Option<FollowRecord>> {
        const SQL: &str = "SELECT * FROM follows WHERE id = $1";
        Ok(on_pool!(self, pool => sqlx::query_as(SQL).bind(id).fetch_optional(pool).await?))
    }

    /// Sets the state of a follow; true when it was `pending` until now (of concurrent
    /// answers, exactly one sees that).
    pub async fn set_follow_state(&self, id: i64, state: FollowState) -> StoreResult<bool> {
        const FROM_PENDING: &str =
            "UPDATE follows SET state = $1 WHERE id = $2 AND state = 'pending'";
        const SQL: &str = "UPDATE follows SET state = $1 WHERE id = $2";
        let answered = on_pool!(self, pool => {
            sqlx::query(FROM_PENDING).bind(state.as_str()).bind(id).execute(pool).await?.rows_affected()
        });
        if answered == 0 {
            on_pool!(self, pool => {
                sqlx::query(SQL).bind(state.as_str()).bind(id).execute(pool).await?;
            });
        }
        Ok(answered > 0)
    }

    /// Removes a follow without telling anyone (the follower undid it).
    pub async fn delete_follow(&self, id: i64) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let removed = delete_follow(&mut tx, id).await?;
        tx.commit().await?;
        Ok(removed)
    }

    /// Every follow from or to `actor_id`.
    pub async fn follows_of_actor(&self, actor_id: i64) -> StoreResult<Vec<FollowRecord>> {
        const SQL: &str =
            "SELECT * FROM follows WHERE follower_id = $1 OR followed_id = $1 ORDER BY id";
        Ok(on_pool!(self, pool => sqlx::query_as(SQL).bind(actor_id).fetch_all(pool).await?))
    }

    /// True when some local actor follows `actor_id` and was accepted.
    pub async fn is_followed_locally(&self, actor_id: i64) -> StoreResult<bool> {
        const SQL: &str = "SELECT COUNT(*) FROM follows f JOIN actors a ON a.id = f.follower_id \
             WHERE f.followed_id = $1 AND f.state = 'accepted' AND a.local = TRUE";
        let n: i64 =
            on_pool!(self, pool => sqlx::query_scalar(SQL).bind(actor_id).fetch_one(pool).await?);
        Ok(n > 0)
    }

    /// What `actor_id` follows, newest first.
    pub async fn following_of(&self, actor_id: i64) -> StoreResult<Vec<FollowListing>> {
        const SQL: &str = "SELECT f.id, f.state, f.published, a.ap_id AS actor_ap_id, \
             a.username AS actor_username, a.domain AS actor_domain, a.name AS actor_name \
             FROM follows f JOIN actors a ON a.id = f.followed_id WHERE f.follower_id = $1 \
             ORDER BY f.id DESC";
        Ok(on_pool!(self, pool => sqlx::query_as(SQL).bind(actor_id).fetch_all(pool).await?))
    }

    /// Who follows `actor_id`, newest first.
    pub async fn followers_of(&self, actor_id: i64) -> StoreResult<Vec<FollowListing>> {
        const SQL: &str = "SELECT f.id, f.state, f.published, a.ap_id AS actor_ap_id, \
             a.username AS actor_username, a.domain AS actor_domain, a.name AS actor_name \
             FROM follows f JOIN actors a ON a.id = f.follower_id WHERE f.followed_id = $1 \
             ORDER BY f.id DESC";
        Ok(on_pool!(self, pool => sqlx::query_as(SQL).bind(actor_id).fetch_all(pool).await?))
    }

    /// Number of accepted followers of an actor.
    pub async fn count_followers(&self, actor_id: i64) -> StoreResult<i64> {
        const SQL: &str =
            "SELECT COUNT(*) FROM follows WHERE followed_id = $1 AND state = 'accepted'";
        Ok(on_pool!(self, pool => sqlx::query_scalar(SQL).bind(actor_id).fetch_one(pool).await?))
    }

    /// Number of accepted follows of an actor.
    pub async fn count_following(&self, actor_id: i64) -> StoreResult<i64> {
        const SQL: &str =
            "SELECT COUNT(*) FROM follows WHERE follower_id = $1 AND state = 'accepted'";
        Ok(on_pool!(self, pool => sqlx::query_scalar(SQL).bind(actor_id).fetch_one(pool).await?))
    }

    /// True when the inbound activity `ap_id` was already applied.
    pub async fn was_received(&self, ap_id: &str) -> StoreResult<bool> {
        const SQL: &str = "SELECT COUNT(*) FROM received_activities WHERE ap_id = $1";
        let n: i64 =
            on_pool!(self, pool => sqlx::query_scalar(SQL).bind(ap_id).fetch_one(pool).await?);
        Ok(n > 0)
    }

    /// Records that the inbound activity `ap_id` was applied.
    pub async fn mark_received(&self, ap_id: &str) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO received_activities (ap_id, received_at) VALUES ($1, $2) \
             ON CONFLICT (ap_id) DO NOTHING";
        on_pool!(self, pool => {
            sqlx::query(SQL).bind(ap_id).bind(Utc::now()).execute(pool).await?;
        });
        Ok(())
    }
}

//! Follows between actors. Only counted for now; the follow lifecycle (inbox, `Accept`,
//! `Undo`) fills this table.

use super::{Store, StoreResult, on_pool};

impl Store {
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
}

//! Activities: every activity a local actor published (`/activities/<uuid>`), kept with
//! the change that caused it, in the same transaction. The delivery queue builds on it.

use chrono::{DateTime, Utc};
use url::Url;

use super::deliveries::{Audience, enqueue};
use super::{Store, StoreResult, Tx, on_pool};

/// An activity to store with the change that caused it.
#[derive(Debug, Clone)]
pub struct NewActivity {
    /// ActivityPub id.
    pub ap_id: Url,
    /// Database id of the actor.
    pub actor_id: i64,
    /// `Create`, `Update`, `Delete`…
    pub kind: &'static str,
    /// Id of its object.
    pub object_ap_id: Url,
    /// The full JSON document, `@context` included.
    pub payload: serde_json::Value,
    /// Who it is delivered to (queued in the same transaction).
    pub audience: Audience,
}

/// A stored activity.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActivityRecord {
    /// Database id.
    pub id: i64,
    /// ActivityPub id.
    pub ap_id: String,
    /// Kind.
    pub kind: String,
    /// JSON document.
    pub payload: String,
    /// Published.
    pub published: DateTime<Utc>,
}

/// Stores `activity` and queues its deliveries ([`enqueue`]) in `tx`; returns its id.
pub async fn store_activity(tx: &mut Tx, activity: &NewActivity) -> StoreResult<i64> {
    const SQL: &str = "INSERT INTO activities \
         (ap_id, actor_id, kind, object_ap_id, payload, local, published) \
         VALUES ($1, $2, $3, $4, $5, TRUE, $6) RETURNING id";
    let id: i64 = on_pool!(tx, conn => {
        sqlx::query_scalar(SQL)
            .bind(activity.ap_id.as_str())
            .bind(activity.actor_id)
            .bind(activity.kind)
            .bind(activity.object_ap_id.as_str())
            .bind(activity.payload.to_string())
            .bind(chrono::Utc::now())
            .fetch_one(&mut *conn)
            .await?
    });
    enqueue(tx, id, &activity.audience).await?;
    Ok(id)
}

impl Store {
    /// Stores an activity on its own and queues its deliveries, in one transaction.
    pub async fn insert_activity(&self, activity: &NewActivity) -> StoreResult<i64> {
        let mut tx = self.begin().await?;
        let id = store_activity(&mut tx, activity).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Number of activities an actor published.
    pub async fn count_activities_of(&self, actor_id: i64) -> StoreResult<i64> {
        const SQL: &str = "SELECT COUNT(*) FROM activities WHERE actor_id = $1";
        Ok(on_pool!(self, pool => sqlx::query_scalar(SQL).bind(actor_id).fetch_one(pool).await?))
    }

    /// The local activity with this ActivityPub id.
    pub async fn local_activity(&self, ap_id: &Url) -> StoreResult<Option<ActivityRecord>> {
        const SQL: &str = "SELECT id, ap_id, kind, payload, published FROM activities \
             WHERE ap_id = $1 AND local = TRUE";
        Ok(on_pool!(self, pool => {
            sqlx::query_as(SQL).bind(ap_id.as_str()).fetch_optional(pool).await?
        }))
    }
}

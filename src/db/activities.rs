//! Activities: every activity a local actor published (`/activities/<uuid>`), kept with
//! the change that caused it, in the same transaction. The delivery queue builds on it.

use chrono::{DateTime, Utc};
use url::Url;

use super::{Store, StoreResult, on_pool};

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

/// SQL inserting a [`NewActivity`]; bind with [`bind_activity!`].
pub(crate) const INSERT_ACTIVITY: &str = "INSERT INTO activities \
     (ap_id, actor_id, kind, object_ap_id, payload, local, published) \
     VALUES ($1, $2, $3, $4, $5, TRUE, $6)";

/// Binds a [`NewActivity`] to [`INSERT_ACTIVITY`].
macro_rules! bind_activity {
    ($query:expr, $activity:expr) => {{
        let a: &$crate::db::activities::NewActivity = $activity;
        $query
            .bind(a.ap_id.as_str())
            .bind(a.actor_id)
            .bind(a.kind)
            .bind(a.object_ap_id.as_str())
            .bind(a.payload.to_string())
            .bind(chrono::Utc::now())
    }};
}
pub(crate) use bind_activity;

impl Store {
    /// The local activity with this ActivityPub id.
    pub async fn local_activity(&self, ap_id: &Url) -> StoreResult<Option<ActivityRecord>> {
        const SQL: &str = "SELECT id, ap_id, kind, payload, published FROM activities \
             WHERE ap_id = $1 AND local = TRUE";
        Ok(on_pool!(self, pool => {
            sqlx::query_as(SQL).bind(ap_id.as_str()).fetch_optional(pool).await?
        }))
    }
}

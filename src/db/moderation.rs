//! Interest and moderation: `Like`/`Announce` of local actions (SPEC §3, "X
//! collectivités s'intéressent à cette action"), `Flag` reports, and the domains and
//! actors blocked from the admin.

use chrono::{DateTime, Utc};
use url::Url;

use super::{Store, StoreResult, on_pool};

/// Someone who liked or shared an action.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Interest {
    /// `Like` or `Announce`.
    pub kind: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// The actor's id.
    pub actor_ap_id: String,
    /// Its type (`Organization` for a collectivité).
    pub actor_type: String,
    /// Its name.
    pub actor_name: String,
    /// Its username.
    pub actor_username: String,
    /// Its domain.
    pub actor_domain: String,
}

/// A `Flag` report.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Report {
    /// Database id.
    pub id: i64,
    /// The `Flag` id.
    pub ap_id: String,
    /// Who reported (ActivityPub id).
    pub reporter: String,
    /// The reported objects, JSON array of ids.
    pub objects: String,
    /// The reporter's comment.
    pub content: String,
    /// Received.
    pub created_at: DateTime<Utc>,
    /// Handled.
    pub resolved_at: Option<DateTime<Utc>>,
}

/// A block decided from the admin.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Block {
    /// Database id.
    pub id: i64,
    /// A domain, or an actor's id.
    pub target: String,
    /// `domain` or `actor`.
    pub kind: String,
    /// Why (for the other moderators).
    pub reason: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A domain this node federates with in allow-list mode.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct DomainAllow {
    /// Database id.
    pub id: i64,
    /// The domain (its subdomains are allowed too).
    pub domain: String,
    /// Why (for the other moderators).
    pub reason: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl Store {
    /// Records a `Like` or `Announce` of a local action (once per actor and kind).
    pub async fn add_reaction(
        &self,
        ap_id: &Url,
        kind: &str,
        actor_id: i64,
        action_db_id: i64,
    ) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO reactions (ap_id, kind, actor_id, action_id, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (kind, actor_id, action_id) \
             DO UPDATE SET ap_id = excluded.ap_id";
        on_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(ap_id.as_str())
                .bind(kind)
                .bind(actor_id)
                .bind(action_db_id)
                .bind(Utc::now())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Removes the reaction whose activity is `ap_id` (an `Undo`), if `actor_id` made it.
    pub async fn remove_reaction_by_ap_id(&self, ap_id: &Url, actor_id: i64) -> StoreResult<bool> {
        const SQL: &str = "DELETE FROM reactions WHERE ap_id = $1 AND actor_id = $2";
        let done = on_pool!(self, pool => {
            sqlx::query(SQL).bind(ap_id.as_str()).bind(actor_id).execute(pool).await?.rows_affected()
        });
        Ok(done > 0)
    }

    /// Removes `actor_id`'s reaction of `kind` to an action (an `Undo` whose object
    /// carries no known id).
    pub async fn remove_reaction(
        &self,
        kind: &str,
        actor_id: i64,
        action_db_id: i64,
    ) -> StoreResult<bool> {
        const SQL: &str =
            "DELETE FROM reactions WHERE kind = $1 AND actor_id = $2 AND action_id = $3";
        let done = on_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(kind)
                .bind(actor_id)
                .bind(action_db_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }

    /// Who liked or shared an action, newest first.
    pub async fn interest_in(&self, action_db_id: i64) -> StoreResult<Vec<Interest>> {
        const SQL: &str = "SELECT r.kind, r.created_at, u.ap_id AS actor_ap_id, \
             u.actor_type, u.name AS actor_name, u.username AS actor_username, \
             u.domain AS actor_domain FROM reactions r JOIN actors u ON u.id = r.actor_id \
             WHERE r.action_id = $1 ORDER BY r.created_at DESC, r.id DESC";
        Ok(on_pool!(self, pool => {
            sqlx::query_as(SQL).bind(action_db_id).fetch_all(pool).await?
        }))
    }

    /// Records a `Flag` (once per activity id).
    pub async fn insert_report(
        &self,
        ap_id: &Url,
        actor_id: i64,
        objects: &[Url],
        content: &str,
    ) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO reports (ap_id, actor_id, objects, content, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (ap_id) DO NOTHING";
        on_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(ap_id.as_str())
                .bind(actor_id)
                .bind(super::rows::to_json(&objects))
                .bind(content)
                .bind(Utc::now())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Reports, open ones first then the latest handled, newest first.
    pub async fn reports(&self, open_only: bool) -> StoreResult<Vec<Report>> {
        let text = format!(
            "SELECT r.id, r.ap_id, u.ap_id AS reporter, r.objects, r.content, r.created_at, \
             r.resolved_at FROM reports r JOIN actors u ON u.id = r.actor_id {} \
             ORDER BY r.resolved_at IS NOT NULL, r.created_at DESC LIMIT 500",
            if open_only {
                "WHERE r.resolved_at IS NULL"
            } else {
                ""
            }
        );
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(text)).fetch_all(pool).await?
        }))
    }

    /// Marks a report handled.
    pub async fn resolve_report(&self, id: i64) -> StoreResult<bool> {
        const SQL: &str =
            "UPDATE reports SET resolved_at = $1 WHERE id = $2 AND resolved_at IS NULL";
        let done = on_pool!(self, pool => {
            sqlx::query(SQL).bind(Utc::now()).bind(id).execute(pool).await?.rows_affected()
        });
        Ok(done > 0)
    }

    /// Adds a block (`domain` or `actor`); blocking again updates the reason (an empty
    /// one keeps the old).
    pub async fn add_block(&self, target: &str, kind: &str, reason: &str) -> StoreResult<Block> {
        const SQL: &str = "INSERT INTO blocks (target, kind, reason, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (target) DO UPDATE SET reason = CASE WHEN excluded.reason = '' \
             THEN blocks.reason ELSE excluded.reason END \
             RETURNING *";
        Ok(on_pool!(self, pool => {
            sqlx::query_as(SQL)
                .bind(target)
                .bind(kind)
                .bind(reason)
                .bind(Utc::now())
                .fetch_one(pool)
                .await?
        }))
    }

    /// Lifts a block.
    pub async fn remove_block(&self, id: i64) -> StoreResult<bool> {
        let done = on_pool!(self, pool => {
            sqlx::query("DELETE FROM blocks WHERE id = $1").bind(id).execute(pool).await?.rows_affected()
        });
        Ok(done > 0)
    }

    /// Every block, by target.
    pub async fn blocks(&self) -> StoreResult<Vec<Block>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as("SELECT * FROM blocks ORDER BY kind, target").fetch_all(pool).await?
        }))
    }

    /// Allows a domain (allow-list mode); allowing again updates the reason (an empty one
    /// keeps the old).
    pub async fn add_allow(&self, domain: &str, reason: &str) -> StoreResult<DomainAllow> {
        const SQL: &str = "INSERT INTO domain_allows (domain, reason, created_at) \
             VALUES ($1, $2, $3) ON CONFLICT (domain) DO UPDATE SET reason = CASE WHEN excluded.reason = '' \
             THEN domain_allows.reason ELSE excluded.reason END \
             RETURNING *";
        Ok(on_pool!(self, pool => {
            sqlx::query_as(SQL)
                .bind(domain)
                .bind(reason)
                .bind(Utc::now())
                .fetch_one(pool)
                .await?
        }))
    }

    /// Removes an allowed domain.
    pub async fn remove_allow(&self, id: i64) -> StoreResult<bool> {
        let done = on_pool!(self, pool => {
            sqlx::query("DELETE FROM domain_allows WHERE id = $1").bind(id).execute(pool).await?.rows_affected()
        });
        Ok(done > 0)
    }

    /// Every allowed domain, by name.
    pub async fn allows(&self) -> StoreResult<Vec<DomainAllow>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as("SELECT * FROM domain_allows ORDER BY domain").fetch_all(pool).await?
        }))
    }
}

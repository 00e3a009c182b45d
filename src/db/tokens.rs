//! API bearer tokens, stored as SHA-256 hashes (SPEC §6). The token itself is shown once.

use chrono::{DateTime, Utc};

use super::{Store, StoreResult, on_pool};

/// A stored token, without the secret.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRecord {
    /// Database id.
    pub id: i64,
    /// The collectivité it acts for; `None` for node-admin tokens.
    pub actor_id: Option<i64>,
    /// Node-admin token?
    pub admin: bool,
}

/// A token as `maillage token list` shows it: never the token nor its hash.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenListing {
    /// Database id (what `token revoke` takes).
    pub id: i64,
    /// Node-admin token?
    pub admin: bool,
    /// The username of the collectivité it acts for; `None` for node-admin tokens.
    pub collectivite: Option<String>,
    /// The note given at creation.
    pub label: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last used for an API request, if ever.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl Store {
    /// The tokens, oldest first: every one, or those acting for the actor `actor_id`.
    pub async fn tokens(&self, actor_id: Option<i64>) -> StoreResult<Vec<TokenListing>> {
        const SQL: &str = "SELECT t.id, t.admin, a.username AS collectivite, t.label, \
             t.created_at, t.last_used_at FROM api_tokens t LEFT JOIN actors a ON a.id = t.actor_id \
             WHERE CAST($1 AS BIGINT) IS NULL OR t.actor_id = $1 ORDER BY t.id";
        Ok(on_pool!(self, pool => {
            sqlx::query_as(SQL).bind(actor_id).fetch_all(pool).await?
        }))
    }

    /// Deletes the token `id`; false when there is none.
    pub async fn delete_token(&self, id: i64) -> StoreResult<bool> {
        Ok(on_pool!(self, pool => {
            sqlx::query("DELETE FROM api_tokens WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
                > 0
        }))
    }

    /// Stores the hash of a new token.
    pub async fn insert_token(
        &self,
        token_hash: &str,
        actor_id: Option<i64>,
        admin: bool,
        label: Option<&str>,
    ) -> StoreResult<i64> {
        const SQL: &str = "INSERT INTO api_tokens (token_hash, actor_id, admin, label, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id";
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(SQL)
                .bind(token_hash)
                .bind(actor_id)
                .bind(admin)
                .bind(label)
                .bind(Utc::now())
                .fetch_one(pool)
                .await?
        }))
    }

    /// The token with this hash, its last use recorded.
    pub async fn use_token(&self, token_hash: &str) -> StoreResult<Option<TokenRecord>> {
        const SQL: &str = "UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2 \
             RETURNING id, actor_id, admin";
        Ok(on_pool!(self, pool => {
            sqlx::query_as(SQL).bind(Utc::now()).bind(token_hash).fetch_optional(pool).await?
        }))
    }
}

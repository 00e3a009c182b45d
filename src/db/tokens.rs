//! API bearer tokens, stored as SHA-256 hashes (SPEC §6). The token itself is shown once.

use chrono::Utc;

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

impl Store {
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

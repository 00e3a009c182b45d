//! Plain posts (`Note`, `Page`, `Article` without `mai:` terms) of followed actors:
//! shown with the actor, kept out of the directory.

use chrono::{DateTime, Utc};
use url::Url;

use super::{Store, StoreResult, on_pool};

/// A stored post.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PostRecord {
    /// Database id.
    pub id: i64,
    /// Object id.
    pub ap_id: String,
    /// Author.
    pub actor_id: i64,
    /// AS2 type.
    pub kind: String,
    /// Title, if any.
    pub name: Option<String>,
    /// Sanitised HTML.
    pub content_html: String,
    /// Page on its origin.
    pub url: Option<String>,
    /// Published.
    pub published: DateTime<Utc>,
    /// Updated.
    pub updated: DateTime<Utc>,
}

/// A post to store.
#[derive(Debug, Clone)]
pub struct NewPost<'a> {
    /// Object id.
    pub ap_id: &'a Url,
    /// Author.
    pub actor_id: i64,
    /// AS2 type.
    pub kind: &'a str,
    /// Title.
    pub name: Option<&'a str>,
    /// Sanitised HTML.
    pub content_html: &'a str,
    /// Page.
    pub url: Option<&'a Url>,
    /// Published.
    pub published: DateTime<Utc>,
    /// Updated.
    pub updated: DateTime<Utc>,
}

impl Store {
    /// Inserts or updates a post from its author.
    pub async fn upsert_post(&self, post: &NewPost<'_>) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO posts (ap_id, actor_id, kind, name, content_html, url, published, updated) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (ap_id) DO UPDATE SET \
             name = excluded.name, content_html = excluded.content_html, url = excluded.url, \
             updated = excluded.updated WHERE posts.actor_id = excluded.actor_id AND posts.deleted_at IS NULL";
        on_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(post.ap_id.as_str())
                .bind(post.actor_id)
                .bind(post.kind)
                .bind(post.name)
                .bind(post.content_html)
                .bind(post.url.map(|u| u.as_str()))
                .bind(post.published)
                .bind(post.updated)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Deletes a post on its author's `Delete`; false when there was none.
    pub async fn delete_post(&self, ap_id: &Url, actor_id: i64) -> StoreResult<bool> {
        const SQL: &str = "UPDATE posts SET deleted_at = $1 WHERE ap_id = $2 AND actor_id = $3 AND deleted_at IS NULL";
        Ok(on_pool!(self, pool => {
            sqlx::query(SQL).bind(Utc::now()).bind(ap_id.as_str()).bind(actor_id).execute(pool).await?.rows_affected() > 0
        }))
    }

    /// Live posts of an actor, newest first.
    pub async fn posts_of(&self, actor_id: i64, limit: i64) -> StoreResult<Vec<PostRecord>> {
        const SQL: &str = "SELECT id, ap_id, actor_id, kind, name, content_html, url, published, updated \
             FROM posts WHERE actor_id = $1 AND deleted_at IS NULL ORDER BY id DESC LIMIT $2";
        Ok(
            on_pool!(self, pool => sqlx::query_as(SQL).bind(actor_id).bind(limit).fetch_all(pool).await?),
        )
    }
}

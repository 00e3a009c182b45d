//! Owns the business operations, shared by the JSON API, the CLI and the web pages:
//! a handler extracts, calls one function here, and responds. Permission checks,
//! multi-table writes and publishing activities live here, not in handlers.

pub mod actions;
pub mod admission;
pub mod collectivites;
pub mod comments;
pub mod directory;
pub mod domain_policy;
pub mod exports;
pub mod follows;
pub mod import;
pub mod keys;
pub mod login_limiter;
pub mod moderation;
pub mod nearby;
pub mod notifications;
pub mod partnerships;
pub mod passwords;
pub mod permissions;
pub mod tokens;
pub mod users;
pub mod verification;

/// Opens a write transaction on behalf of the local actor `actor_id` (a collectivité,
/// the instance actor or a group) and locks its row, so that a deletion of it waits for
/// the transaction or came first. A service calls it after its remote fetches (seconds)
/// and before it stores anything signed by, or recorded for, that actor.
///
/// # Errors
/// [`AppError::Gone`] (`410`) when the actor was deleted meanwhile: a follow, request or
/// comment of a `Tombstone`, signed with a key being dropped, is never stored.
pub(crate) async fn begin_as(
    state: &crate::state::AppState,
    actor_id: i64,
) -> crate::error::AppResult<crate::db::Tx> {
    let mut tx = state.store.begin().await?;
    if !crate::db::actors::lock_live_local_actor(&mut tx, actor_id).await? {
        return Err(crate::error::AppError::Gone(
            "cette collectivité a été supprimée entre-temps".into(),
        ));
    }
    Ok(tx)
}

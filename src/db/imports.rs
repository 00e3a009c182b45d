//! Spreadsheet imports: the import key of an action (the `reference` cell of the row it
//! came from, or a hash of that row), unique per collectivité, so that importing the
//! same file again finds the actions it created instead of creating them twice.

use super::actions::select_action;
use super::rows::ActionRow;
use super::{Store, StoreResult, on_pool};
use crate::domain::Action;

impl Store {
    /// The action of actor `actor_id` imported with `key`, tombstoned or not.
    pub async fn action_by_import_key(
        &self,
        actor_id: i64,
        key: &str,
    ) -> StoreResult<Option<Action>> {
        let sql = concat!(
            select_action!(),
            " WHERE a.actor_id = $1 AND a.import_key = $2"
        );
        let row: Option<ActionRow> = on_pool!(self, pool => {
            sqlx::query_as(sql).bind(actor_id).bind(key).fetch_optional(pool).await?
        });
        row.map(Action::try_from).transpose()
    }
}

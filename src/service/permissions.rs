//! Owns who may read or change what, for every entry point alike: a live action found
//! by its id, an action only its own node edits, the actions an editor's admin pages
//! reach. Each check answers a typed error; the JSON API renders it with [`From`] into
//! [`AppError`], the web admin with its own French wording. Who holds a token or a session is checked by the callers'
//! extractors (`api::auth`, `web::admin::Editor`).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::{Action, Collectivite, french};
use crate::error::AppError;
use crate::state::AppState;

/// Why an action cannot be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum ActionDenied {
    /// The id is not a UUID.
    #[error("« {0} » is not an action id")]
    NotAnId(String),
    /// No such action, or not one this caller may reach.
    #[error("no action « {0} »")]
    Unknown(String),
    /// The action was deleted (a `Tombstone`).
    #[error("action « {name} » deleted")]
    Deleted {
        /// The action's title.
        name: String,
        /// When it was deleted.
        when: DateTime<Utc>,
    },
    /// Another node published it: only that node edits or deletes it.
    #[error("action published by another node")]
    Remote,
    /// A database error while looking.
    #[error(transparent)]
    Store(#[from] crate::db::StoreError),
}

impl From<ActionDenied> for AppError {
    fn from(denied: ActionDenied) -> Self {
        match denied {
            ActionDenied::NotAnId(id) => {
                AppError::NotFound(format!("« {id} » n'est pas un identifiant d'action (UUID)"))
            }
            ActionDenied::Unknown(id) => AppError::NotFound(format!("aucune action « {id} »")),
            ActionDenied::Deleted { name, when } => {
                AppError::Gone(format!("l'action « {name} » {}", french::deleted_on(when)))
            }
            ActionDenied::Remote => {
                AppError::Forbidden("cette action est publiée par un autre nœud".into())
            }
            ActionDenied::Store(error) => error.into(),
        }
    }
}

fn live(action: Action) -> Result<Action, ActionDenied> {
    match action.deleted {
        Some(when) => Err(ActionDenied::Deleted {
            name: action.data.name,
            when,
        }),
        None => Ok(action),
    }
}

/// The live action `id`, local or received (SPEC §6: anyone reads it).
///
/// # Errors
/// [`ActionDenied::NotAnId`], [`ActionDenied::Unknown`], [`ActionDenied::Deleted`].
pub async fn live_action(state: &AppState, id: &str) -> Result<Action, ActionDenied> {
    let uuid = Uuid::parse_str(id).map_err(|_| ActionDenied::NotAnId(id.to_string()))?;
    let action = state
        .store
        .action(uuid)
        .await?
        .ok_or_else(|| ActionDenied::Unknown(id.to_string()))?;
    live(action)
}

/// The live action `id`, when this node published it: a received action is edited
/// and deleted only by its own node.
///
/// # Errors
/// Those of [`live_action`], and [`ActionDenied::Remote`].
pub async fn editable_action(state: &AppState, id: &str) -> Result<Action, ActionDenied> {
    let action = live_action(state, id).await?;
    if !action.local {
        return Err(ActionDenied::Remote);
    }
    Ok(action)
}

/// The action `id` of `owner`, published here: what an editor's admin pages reach.
/// Any other action, received or another collectivité's, is [`ActionDenied::Unknown`],
/// so the pages do not tell whether it exists.
///
/// # Errors
/// [`ActionDenied::NotAnId`], [`ActionDenied::Unknown`], [`ActionDenied::Deleted`].
pub async fn owned_action(
    state: &AppState,
    owner: &Collectivite,
    id: &str,
) -> Result<Action, ActionDenied> {
    let uuid = Uuid::parse_str(id).map_err(|_| ActionDenied::NotAnId(id.to_string()))?;
    let action = state
        .store
        .action(uuid)
        .await?
        .filter(|a| a.local && a.owner.id == owner.id)
        .ok_or_else(|| ActionDenied::Unknown(id.to_string()))?;
    live(action)
}

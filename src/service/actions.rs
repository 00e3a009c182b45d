//! Actions (SPEC §2, §3): create, update and delete a local action; each change stores
//! its `Create`/`Update`/`Delete` activity in the same transaction, so federation never
//! misses one.

use crate::db::actions::ActionIdentity;
use crate::domain::{Action, ActionId, Collectivite, NewAction, Place};
use crate::error::{AppError, AppResult};
use crate::federation::activities::{ActionActivity, wrap_action};
use crate::state::AppState;

/// Announces from the aggregator's groups; the change is committed already, so a
/// failure is logged, not returned (a client retry would duplicate the action).
async fn announce(state: &AppState, action: &Action) {
    if let Err(error) = crate::federation::groups::announce(state, action).await {
        tracing::warn!(action = %action.ap_id, %error, "group announce failed");
    }
}

/// The collectivité's town hall as a place, used when an action names none.
pub(crate) fn default_place(owner: &Collectivite) -> Option<Place> {
    let profile = &owner.profile;
    profile.location.map(|point| Place {
        name: profile.name.clone(),
        point: Some(point),
        insee: profile.insee.clone(),
        address: profile.address.clone(),
    })
}

/// Publishes a new action of a local collectivité.
pub async fn create_action(
    state: &AppState,
    owner: &Collectivite,
    data: NewAction,
) -> AppResult<Action> {
    create_keyed_action(state, owner, data, None).await
}

/// [`create_action`] for a spreadsheet row: the row's import key is stored with the
/// action, in its transaction.
///
/// # Errors
/// [`AppError::Conflict`] when the owner already has an action with this key.
pub async fn create_keyed_action(
    state: &AppState,
    owner: &Collectivite,
    mut data: NewAction,
    import_key: Option<&str>,
) -> AppResult<Action> {
    if data.locations.is_empty() {
        data.locations.extend(default_place(owner));
    }
    let id = ActionId::generate();
    let ap_id = state.url(&format!("/actions/{id}"));
    let identity = ActionIdentity {
        id,
        url: ap_id.clone(),
        ap_id,
        owner_id: owner.id,
        local: true,
        import_key: import_key.map(str::to_string),
    };
    let (action, _activity) = state
        .store
        .insert_action(&identity, &data, |action| {
            wrap_action(state, ActionActivity::Create, action)
        })
        .await?;
    announce(state, &action).await;
    state.delivery_wakeup.notify_one();
    Ok(action)
}

/// Replaces the content of a local action.
///
/// # Errors
/// [`AppError::Gone`] for a deleted action.
pub async fn update_action(
    state: &AppState,
    action: &Action,
    data: NewAction,
) -> AppResult<Action> {
    ensure_live(action)?;
    let (action, _activity) = state
        .store
        .update_action(action.db_id, &data, |action| {
            wrap_action(state, ActionActivity::Update, action)
        })
        .await?;
    announce(state, &action).await;
    state.delivery_wakeup.notify_one();
    Ok(action)
}

/// Sets the partners of a local action and publishes the `Update` (SPEC §5 step 4).
///
/// # Errors
/// [`AppError::Gone`] for a deleted action.
pub async fn set_partners(
    state: &AppState,
    action: &Action,
    partners: Vec<url::Url>,
) -> AppResult<Action> {
    ensure_live(action)?;
    let (action, _activity) = state
        .store
        .set_action_partners(action.db_id, &partners, |action| {
            wrap_action(state, ActionActivity::Update, action)
        })
        .await?;
    announce(state, &action).await;
    state.delivery_wakeup.notify_one();
    Ok(action)
}

/// Deletes a local action: it becomes a `Tombstone` (`410 Gone`).
///
/// # Errors
/// [`AppError::Gone`] when already deleted.
pub async fn delete_action(state: &AppState, action: &Action) -> AppResult<Action> {
    ensure_live(action)?;
    let (action, _activity) = state
        .store
        .delete_action(action.db_id, |action| {
            wrap_action(state, ActionActivity::Delete, action)
        })
        .await?;
    state.delivery_wakeup.notify_one();
    Ok(action)
}

fn ensure_live(action: &Action) -> AppResult<()> {
    match action.deleted {
        Some(when) => Err(AppError::Gone(format!(
            "l'action {} a été supprimée le {}",
            action.id,
            when.format("%d/%m/%Y")
        ))),
        None => Ok(()),
    }
}

//! Actions (SPEC §2, §3): create, update and delete a local action; each change stores
//! its `Create`/`Update`/`Delete` activity in the same transaction ([`Tx`]), so
//! federation never misses one.

use crate::db::actions::ActionIdentity;
use crate::db::{self, Tx};
use crate::domain::{Action, ActionId, Collectivite, NewAction, Place, french};
use crate::error::{AppError, AppResult};
use crate::federation::activities::{ActionActivity, wrap_action};
use crate::state::AppState;

/// Announces from the aggregator's groups; the change is committed already, so a
/// failure is logged, not returned (a client retry would duplicate the action).
pub(crate) async fn announce(state: &AppState, action: &Action) {
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
    let mut tx = state.store.begin().await?;
    // The owner's row locked: a deletion running now waits, or came first and then
    // left no live collectivité to own the action (SPEC §11).
    if !db::actors::lock_live_collectivite(&mut tx, owner.id).await? {
        return Err(collectivite_gone(owner));
    }
    let db_id = db::actions::insert_action(&mut tx, &identity, &data).await?;
    let action = publish(state, &mut tx, db_id, ActionActivity::Create).await?;
    tx.commit().await?;
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
    let mut tx = state.store.begin().await?;
    if !db::actions::update_action(&mut tx, action.db_id, &data).await? {
        return Err(deleted_meanwhile(action));
    }
    let action = publish(state, &mut tx, action.db_id, ActionActivity::Update).await?;
    tx.commit().await?;
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
    let mut tx = state.store.begin().await?;
    if !db::actions::set_partners(&mut tx, action.db_id, &partners).await? {
        return Err(deleted_meanwhile(action));
    }
    let action = publish(state, &mut tx, action.db_id, ActionActivity::Update).await?;
    tx.commit().await?;
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
    let mut tx = state.store.begin().await?;
    if !db::actions::tombstone_action(&mut tx, action.db_id).await? {
        return Err(deleted_meanwhile(action));
    }
    let action = publish(state, &mut tx, action.db_id, ActionActivity::Delete).await?;
    tx.commit().await?;
    state.delivery_wakeup.notify_one();
    Ok(action)
}

/// Reads the local action `db_id` as `tx` left it and stores (and queues) the activity
/// `kind` saying so, in `tx`; returns the action.
pub(crate) async fn publish(
    state: &AppState,
    tx: &mut Tx,
    db_id: i64,
    kind: ActionActivity,
) -> AppResult<Action> {
    let action = db::actions::action_in(tx, db_id).await?;
    db::activities::store_activity(tx, &wrap_action(state, kind, &action)).await?;
    Ok(action)
}

/// A collectivité deleted since it was read: it owns nothing new.
fn collectivite_gone(owner: &Collectivite) -> AppError {
    AppError::Gone(format!(
        "la collectivité « {} » a été supprimée",
        owner.profile.username
    ))
}

/// An action deleted since it was read (by another request, or with its owner).
fn deleted_meanwhile(action: &Action) -> AppError {
    AppError::Gone(format!(
        "l'action {} a été supprimée entre-temps",
        action.id
    ))
}

fn ensure_live(action: &Action) -> AppResult<()> {
    match action.deleted {
        Some(when) => Err(AppError::Gone(format!(
            "l'action {} {}",
            action.id,
            french::deleted_on(when)
        ))),
        None => Ok(()),
    }
}

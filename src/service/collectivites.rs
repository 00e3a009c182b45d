//! Collectivités (SPEC §2, §11): creating a local one with its keys, replacing its
//! profile, and deleting it with everything that ties it to others.

use crate::db::actors::NewLocalActor;
use crate::db::{self, StoreError};
use crate::domain::{Collectivite, NewCollectivite, french};
use crate::error::{AppError, AppResult};
use crate::federation::objects::collectivite::ActorUrls;
use crate::service::keys::generate_keypair;
use crate::service::partnerships;
use crate::state::AppState;

fn username_taken(error: StoreError, username: &str) -> AppError {
    match error {
        StoreError::Conflict(_) => AppError::Conflict {
            field: Some("username".into()),
            message: format!("l'identifiant « {username} » est déjà pris sur ce nœud"),
        },
        other => other.into(),
    }
}

/// Creates a local collectivité with a fresh RSA-2048 key pair.
///
/// # Errors
/// [`AppError::Conflict`] on `username` when it is taken, or reserved by a deleted
/// collectivité (all checked before the key pair is generated).
pub async fn create_collectivite(
    state: &AppState,
    profile: NewCollectivite,
) -> AppResult<Collectivite> {
    let username = profile.username.to_string();
    if state.store.local_collectivite(&username).await?.is_some() {
        return Err(username_taken(
            StoreError::Conflict(username.clone()),
            &username,
        ));
    }
    // Checked before the key pair (seconds of work) is made.
    if let Some((_, deleted)) = state.store.deleted_local_collectivite(&username).await? {
        return Err(AppError::Conflict {
            field: Some("username".into()),
            message: format!(
                "l'identifiant « {username} » est réservé : la collectivité de ce nom {}, et d'autres serveurs connaissent son adresse",
                french::deleted_on(deleted)
            ),
        });
    }
    let keys = generate_keypair().await?;
    let urls = ActorUrls::local(state, &username);
    let created = state
        .store
        .insert_local_collectivite(
            NewLocalActor {
                ap_id: &urls.id,
                domain: &state.settings.domain,
                inbox: &urls.inbox,
                shared_inbox: &urls.shared_inbox,
                public_key_pem: &keys.public_key,
                private_key_pem: &keys.private_key,
            },
            &profile,
        )
        .await
        .map_err(|e| username_taken(e, &username))?;
    if created.profile.website.is_some() {
        super::verification::spawn_check(state, created.id);
    }
    Ok(created)
}

/// Replaces the profile of a local collectivité (the username cannot change: it is part
/// of the actor id).
///
/// # Errors
/// [`AppError::Validation`] when the patch tries to change the username.
pub async fn update_collectivite(
    state: &AppState,
    collectivite: &Collectivite,
    profile: NewCollectivite,
) -> AppResult<Collectivite> {
    if profile.username != collectivite.profile.username {
        return Err(AppError::Validation(vec![crate::domain::FieldError::new(
            "username",
            "l'identifiant ne peut pas changer : il fait partie de l'adresse fédérée de la collectivité",
        )]));
    }
    let updated = state
        .store
        .update_collectivite_profile(collectivite.id, &profile)
        .await?;
    // A new website is checked again (its verification was cleared).
    if updated.profile.website.is_some() && updated.website_check.checked_at.is_none() {
        super::verification::spawn_check(state, updated.id);
    }
    Ok(updated)
}

/// What deleting a collectivité did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    /// Its actions, tombstoned.
    pub actions: u64,
    /// Deliveries of its `Delete` queued (followers' and partners' inboxes).
    pub deliveries: i64,
}

/// SPEC §11 "Delete of a collectivité", in one transaction: queues `Delete{Actor}` for
/// its followers and remote partners (both read in that transaction), signed with its
/// key (kept until those deliveries are done); ends its partnerships on other local
/// collectivités' actions (it leaves their partners, each action's `Update` queued);
/// tombstones its actions; removes its comments, follows, other partnerships, tokens
/// and editors' links. It then answers `410` with a `Tombstone`, its actions too, and
/// WebFinger `404`; it leaves the directory and the feeds.
///
/// # Errors
/// [`AppError::Gone`] when another deletion came first; storage failures.
pub async fn delete_collectivite(
    state: &AppState,
    collectivite: &Collectivite,
) -> AppResult<Deleted> {
    let mut tx = state.store.begin().await?;
    // One deletion at a time: two of collectivités partnering each other's actions
    // would each lock the other's actions (PostgreSQL deadlock).
    db::actors::lock_instance_actor(&mut tx).await?;
    // Then its own row: a deletion at the same time waits here, then finds a
    // Tombstone; an answer to one of its requests (which locks it) waits, or came
    // first and its acceptance is read below.
    if !db::actors::tombstone_local_collectivite(&mut tx, collectivite.id).await? {
        return Err(AppError::Gone(format!(
            "la collectivité « {} » a déjà été supprimée",
            collectivite.profile.username
        )));
    }
    let partners = db::actors::partner_inboxes(&mut tx, collectivite.id).await?;
    let activity = crate::federation::activities::delete_actor(state, collectivite, partners);
    // Queued while its follows still exist: they are its audience.
    db::activities::store_activity(&mut tx, &activity).await?;
    let partner = &collectivite.ap_id;
    let mut touched = Vec::new();
    for (request, action) in
        db::partnerships::accepted_on_local_actions(&mut tx, collectivite.id).await?
    {
        use db::partnerships::PartnershipState::{Accepted, Left};
        // False: its owner ended it meanwhile, and updated the action then.
        if db::partnerships::set_partnership_state(&mut tx, request, Accepted, Left).await? {
            touched.push(action);
        }
    }
    // Also lists written without a partnership (the demo data, `set_partners`).
    touched.extend(db::actions::live_local_actions_naming(&mut tx, partner).await?);
    // Locked in ascending id order, as everywhere.
    touched.sort_unstable();
    touched.dedup();
    let mut updated = Vec::new();
    for action in touched {
        let change =
            partnerships::change_partners(state, &mut tx, action, partner, false, Vec::new());
        updated.extend(change.await?);
    }
    let actions = db::actions::live_actions_of(&mut tx, collectivite.id).await?;
    for id in &actions {
        db::actions::tombstone_action(&mut tx, *id).await?;
    }
    db::actors::remove_collectivite_links(&mut tx, collectivite.id).await?;
    db::actions::bump_generation(&mut tx).await?;
    tx.commit().await?;
    for action in &updated {
        crate::service::actions::announce(state, action).await;
    }
    let deliveries = state.store.deliveries_of_activity(&activity.ap_id).await?;
    state.delivery_wakeup.notify_one();
    let actions = actions.len() as u64;
    tracing::info!(
        collectivite = %collectivite.ap_id,
        actions,
        partnerships_ended = updated.len(),
        deliveries,
        "collectivité deleted; Delete queued"
    );
    Ok(Deleted {
        actions,
        deliveries,
    })
}

/// The local collectivité `username`, or [`AppError::NotFound`]
/// ([`AppError::Gone`] when it was deleted): the one lookup of the API, the
/// ActivityPub routes and the pages.
///
/// # Errors
/// Not found, gone, or a storage failure.
pub async fn find_local(state: &AppState, username: &str) -> AppResult<Collectivite> {
    if let Some(collectivite) = state.store.local_collectivite(username).await? {
        return Ok(collectivite);
    }
    match state.store.deleted_local_collectivite(username).await? {
        Some((_, deleted)) => Err(AppError::Gone(format!(
            "la collectivité « {username} » {}",
            french::deleted_on(deleted)
        ))),
        None => Err(AppError::NotFound(format!(
            "aucune collectivité « {username} » sur ce nœud"
        ))),
    }
}

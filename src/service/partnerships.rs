//! Partnerships (SPEC §5): ask to join an action (`Join`), answer (`Accept`/`Reject`),
//! end (`Leave`). The owner's node keeps the action's `partners` in step and publishes
//! the `Update`, in the same transaction as the answer. Inbound activities of the same
//! workflow are in `federation::receive` and end up here.

use activitypub_federation::config::Data;
use serde_json::Value;
use url::Url;

use crate::activitypub::activities::{Accept, Join, Leave, ObjectRef, Reject};

use crate::db::activities::NewActivity;
use crate::db::deliveries::Audience;
use crate::db::partnerships::{NewPartnership, Partnership, PartnershipState};
use crate::db::{self, Tx};
use crate::domain::{Action, Collectivite};
use crate::error::{AppError, AppResult, FieldError};
use crate::federation::activities::{ActionActivity, activity_id, queued, wrap_action};
use crate::federation::objects::action::{ArticleJson, has_mai_terms};
use crate::state::AppState;

fn invalid(field: &str, message: impl Into<String>) -> AppError {
    AppError::Validation(vec![FieldError::new(field, message.into())])
}

fn conflict(message: String) -> AppError {
    AppError::Conflict {
        field: None,
        message,
    }
}

/// The `Join` of a request, as embedded in its answer.
fn join_object(partnership: &Partnership) -> ObjectRef {
    ObjectRef::embed(&Join::embedded(
        partnership.ap_id.clone(),
        partnership.requester.ap_id.clone(),
        &partnership.action_ap_id,
    ))
}

/// The answer (`accept` or not) of the owner to `partnership`'s request.
fn answer_of(
    state: &AppState,
    partnership: &Partnership,
    accept: bool,
    audience: Audience,
) -> NewActivity {
    let (id, owner, to) = (
        activity_id(state),
        partnership.owner.ap_id.clone(),
        partnership.requester.ap_id.clone(),
    );
    let request = join_object(partnership);
    let (owner_id, about) = (partnership.owner.id, &partnership.ap_id);
    if accept {
        queued(
            &Accept::answer(id, owner, to, request),
            owner_id,
            about,
            audience,
        )
    } else {
        queued(
            &Reject::answer(id, owner, to, request),
            owner_id,
            about,
            audience,
        )
    }
}

/// Where an activity to `side` goes: its inbox when remote, nowhere when local.
async fn audience_for(state: &AppState, actor_id: i64) -> AppResult<Audience> {
    let actor = state
        .store
        .actor_by_id(actor_id)
        .await?
        .ok_or_else(|| AppError::NotFound("acteur inconnu".into()))?;
    Ok(if actor.local {
        Audience::Nobody
    } else {
        Audience::Inboxes(vec![(actor.delivery_inbox().clone(), actor.domain.clone())])
    })
}

/// What the requester knows of the action it asks to join.
struct Target {
    ap_id: Url,
    name: String,
    owner_id: i64,
    owner_ap_id: Url,
    open: bool,
    live: bool,
}

async fn target(data: &Data<AppState>, action: &Url) -> AppResult<Target> {
    let state: &AppState = data;
    if let Some(known) = state.store.action_by_ap_id(action).await? {
        return Ok(Target {
            ap_id: known.ap_id.clone(),
            name: known.data.name.clone(),
            owner_id: known.owner.id,
            owner_ap_id: known.owner.ap_id.clone(),
            open: known.data.open_to_partners,
            live: known.deleted.is_none(),
        });
    }
    // Not in the directory here: ask its server.
    let fetched = activitypub_federation::fetch::fetch_object_http::<AppState, Value>(action, data)
        .await
        .map_err(|e| invalid("action", format!("action {action} introuvable : {e}")))?
        .object;
    if !has_mai_terms(&fetched) {
        return Err(invalid(
            "action",
            format!("{action} n'est pas une action Maillage"),
        ));
    }
    let article: ArticleJson = serde_json::from_value(fetched)
        .map_err(|e| invalid("action", format!("action {action} illisible : {e}")))?;
    if article.id.origin() != article.attributed_to.origin() {
        return Err(invalid(
            "action",
            "l'action et son auteur ne sont pas sur le même serveur",
        ));
    }
    let owner = crate::federation::receive::remote_actor(data, &article.attributed_to)
        .await
        .map_err(|e| invalid("action", e.to_string()))?;
    Ok(Target {
        ap_id: article.id,
        name: article.name,
        owner_id: owner.id,
        owner_ap_id: owner.ap_id,
        open: article.open_to_partners,
        live: true,
    })
}

/// `requester` asks to join `action` (local or remote): records the request and sends
/// the `Join` to the owner (`202` on the API).
///
/// # Errors
/// [`AppError::Validation`] on `action` when it cannot be found, is not open to
/// partners, is the requester's own, or the requester is already a partner.
pub async fn request(
    data: &Data<AppState>,
    requester: &Collectivite,
    action: &Url,
) -> AppResult<Partnership> {
    let state: &AppState = data;
    let target = target(data, action).await?;
    if !target.live {
        return Err(invalid("action", "cette action a été supprimée"));
    }
    if target.owner_id == requester.id {
        return Err(invalid("action", "cette action est déjà la vôtre"));
    }
    if !target.open {
        return Err(invalid(
            "action",
            "cette action n'est pas ouverte aux partenaires (« appel à mutualisation »)",
        ));
    }
    if let Some(existing) = state
        .store
        .partnership_for(&target.ap_id, requester.id)
        .await?
    {
        match existing.state {
            PartnershipState::Accepted => {
                return Err(invalid(
                    "action",
                    "vous êtes déjà partenaire de cette action",
                ));
            }
            // Pending: the Join is sent again (its first delivery may have been lost).
            PartnershipState::Pending | PartnershipState::Rejected | PartnershipState::Left => {}
        }
    }
    let audience = audience_for(state, target.owner_id).await?;
    let join = queued(
        &Join::send(
            activity_id(state),
            requester.ap_id.clone(),
            target.owner_ap_id.clone(),
            &target.ap_id,
        ),
        requester.id,
        &target.ap_id,
        audience,
    );
    let handle = format!(
        "{}@{}",
        requester.profile.username.as_ref(),
        requester.domain
    );
    let notice = crate::service::notifications::partnership_request(
        state,
        target.owner_id,
        (&requester.profile.name, &handle),
        &target.name,
    )
    .await?;
    let mut tx = crate::service::begin_as(state, requester.id).await?;
    let id = db::partnerships::upsert_partnership(
        &mut tx,
        &NewPartnership {
            ap_id: &join.ap_id,
            action_ap_id: &target.ap_id,
            action_name: &target.name,
            requester_id: requester.id,
            owner_id: target.owner_id,
        },
    )
    .await?;
    db::activities::store_activity(&mut tx, &join).await?;
    if let Some(notice) = &notice {
        db::notifications::insert_notices(&mut tx, notice).await?;
    }
    tx.commit().await?;
    let partnership = reread(state, id).await?;
    state.delivery_wakeup.notify_one();
    state.mail_wakeup.notify_one();
    tracing::info!(action = %target.ap_id, requester = %requester.ap_id, "partnership requested");
    Ok(partnership)
}

/// The owner's local action of a partnership.
async fn owned_action(state: &AppState, partnership: &Partnership) -> AppResult<Action> {
    let action = state
        .store
        .action_by_ap_id(&partnership.action_ap_id)
        .await?
        .filter(|a| a.owner.id == partnership.owner.id && a.owner.local)
        .ok_or_else(|| AppError::NotFound("cette action n'est pas sur ce nœud".into()))?;
    if action.deleted.is_some() {
        return Err(AppError::Gone("cette action a été supprimée".into()));
    }
    Ok(action)
}

/// Stores the answer and, when partners change (`partners`: the action and whether the
/// requester joins or leaves them), the action's new list and `Update`, in one
/// transaction. The action's row is locked before its partners are read, so that
/// answers about the same action at the same time each keep the other's change.
///
/// # Errors
/// [`AppError::Conflict`] when the request changed since `partnership` was read.
async fn settle(
    state: &AppState,
    partnership: &Partnership,
    new_state: PartnershipState,
    answer: Option<&NewActivity>,
    partners: Option<(&Action, bool)>,
) -> AppResult<Partnership> {
    // A partner who leaves gets this last `Update` too, so its copy drops it.
    let leaver = match new_state {
        PartnershipState::Left => match audience_for(state, partnership.requester.id).await? {
            Audience::Inboxes(inboxes) => inboxes,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    let notice =
        crate::service::notifications::partnership_answer(state, partnership, new_state).await?;
    let mut tx = state.store.begin().await?;
    lock_sides(&mut tx, partnership).await?;
    if !db::partnerships::set_partnership_state(
        &mut tx,
        partnership.id,
        partnership.state,
        new_state,
    )
    .await?
    {
        return Err(conflict(
            "cette demande a changé entre-temps : rechargez la page".into(),
        ));
    }
    if let Some(answer) = answer {
        db::activities::store_activity(&mut tx, answer).await?;
    }
    if let Some(notice) = &notice {
        db::notifications::insert_notices(&mut tx, notice).await?;
    }
    let changed = match partners {
        Some((action, added)) => {
            let partner = &partnership.requester.ap_id;
            change_partners(state, &mut tx, action.db_id, partner, added, leaver).await?
        }
        None => None,
    };
    tx.commit().await?;
    state.mail_wakeup.notify_one();
    if let Some(action) = changed {
        crate::service::actions::announce(state, &action).await;
    }
    state.delivery_wakeup.notify_one();
    reread(state, partnership.id).await
}

/// Locks the rows of the local sides of `partnership` in `tx`, in ascending id order
/// (as every transaction locking two actors does), before its state changes: a
/// deletion of either side waits for the answer, which it then sees and ends, or came
/// first and the answer is refused, so that a deleted collectivité never comes back
/// into an action's `partners`.
///
/// # Errors
/// [`AppError::Gone`] when a local side is no longer a live collectivité.
async fn lock_sides(tx: &mut Tx, partnership: &Partnership) -> AppResult<()> {
    let mut sides: Vec<_> = [&partnership.requester, &partnership.owner]
        .into_iter()
        .filter(|side| side.local)
        .collect();
    sides.sort_by_key(|side| side.id);
    for side in sides {
        if !db::actors::lock_live_collectivite(tx, side.id).await? {
            return Err(AppError::Gone(format!(
                "la collectivité {} a été supprimée",
                side.ap_id
            )));
        }
    }
    Ok(())
}

/// Adds `partner` to (`added`) or removes it from the partners of the live local
/// action `action_db_id` in `tx`, and stores its `Update`, also sent to `also` (a
/// partner who leaves). `None` when the action is deleted: nothing to change.
pub(crate) async fn change_partners(
    state: &AppState,
    tx: &mut Tx,
    action_db_id: i64,
    partner: &Url,
    added: bool,
    also: Vec<(Url, String)>,
) -> AppResult<Option<Action>> {
    let Some(action) = db::actions::lock_live_action(tx, action_db_id).await? else {
        return Ok(None);
    };
    let mut partners = action.partners;
    if !added {
        partners.retain(|p| p != partner);
    } else if !partners.contains(partner) {
        partners.push(partner.clone());
    }
    db::actions::set_partners(tx, action_db_id, &partners).await?;
    let action = db::actions::action_in(tx, action_db_id).await?;
    let mut update = wrap_action(state, ActionActivity::Update, &action);
    if let Audience::FollowersAndPartners { also: inboxes, .. } = &mut update.audience {
        inboxes.extend(also);
    }
    db::activities::store_activity(tx, &update).await?;
    Ok(Some(action))
}

/// The request `id` as stored now.
async fn reread(state: &AppState, id: i64) -> AppResult<Partnership> {
    state
        .store
        .partnership(id)
        .await?
        .ok_or_else(|| AppError::NotFound("demande de partenariat disparue".into()))
}

/// The owner answers a pending request: `Accept` (the requester joins `partners`, an
/// `Update` goes out) or `Reject`.
///
/// # Errors
/// [`AppError::Conflict`] when the request was already answered.
pub async fn answer(
    state: &AppState,
    partnership: &Partnership,
    accept: bool,
) -> AppResult<Partnership> {
    if partnership.state != PartnershipState::Pending {
        return Err(conflict(format!(
            "cette demande est déjà {}",
            partnership.state.label()
        )));
    }
    let action = owned_action(state, partnership).await?;
    let audience = audience_for(state, partnership.requester.id).await?;
    let reply = answer_of(state, partnership, accept, audience);
    if !accept {
        return settle(
            state,
            partnership,
            PartnershipState::Rejected,
            Some(&reply),
            None,
        )
        .await;
    }
    tracing::info!(action = %action.ap_id, partner = %partnership.requester.ap_id, "partnership accepted");
    settle(
        state,
        partnership,
        PartnershipState::Accepted,
        Some(&reply),
        Some((&action, true)),
    )
    .await
}

/// Ends an accepted partnership, by either side (`by`). The requester sends `Leave`;
/// the owner removes the partner (`Reject` of the old `Join` tells them). On the
/// owner's node the partners list and its `Update` follow.
///
/// # Errors
/// [`AppError::Conflict`] unless the partnership is accepted; [`AppError::Forbidden`]
/// when `by` is neither side.
pub async fn end(
    state: &AppState,
    partnership: &Partnership,
    by: &Collectivite,
) -> AppResult<Partnership> {
    if partnership.state != PartnershipState::Accepted {
        return Err(conflict(format!(
            "ce partenariat n'est pas en cours (demande {})",
            partnership.state.label()
        )));
    }
    let notice = if by.id == partnership.requester.id {
        queued(
            &Leave::send(
                activity_id(state),
                by.ap_id.clone(),
                partnership.owner.ap_id.clone(),
                &partnership.action_ap_id,
            ),
            by.id,
            &partnership.action_ap_id,
            audience_for(state, partnership.owner.id).await?,
        )
    } else if by.id == partnership.owner.id {
        let audience = audience_for(state, partnership.requester.id).await?;
        answer_of(state, partnership, false, audience)
    } else {
        return Err(AppError::Forbidden(
            "seules les deux collectivités du partenariat peuvent y mettre fin".into(),
        ));
    };
    left(state, partnership, Some(&notice)).await
}

/// Marks a partnership ended and, when the action is ours, removes the partner.
pub(crate) async fn left(
    state: &AppState,
    partnership: &Partnership,
    notice: Option<&NewActivity>,
) -> AppResult<Partnership> {
    let action = if partnership.owner.local {
        owned_action(state, partnership).await.ok()
    } else {
        None
    };
    let partners = action.as_ref().map(|action| (action, false));
    tracing::info!(action = %partnership.action_ap_id, partner = %partnership.requester.ap_id, "partnership ended");
    settle(state, partnership, PartnershipState::Left, notice, partners).await
}

/// An inbound `Join` from `requester` for a local action: recorded as pending, or
/// refused at once (`Reject`) when the action is not open to partners.
pub(crate) async fn received_join(
    state: &AppState,
    join_id: &Url,
    requester: &crate::db::actors::ActorRecord,
    action: &Action,
) -> AppResult<bool> {
    if action.deleted.is_some() {
        return Ok(false);
    }
    let existing = state
        .store
        .partnership_for(&action.ap_id, requester.id)
        .await?;
    // A request still pending that comes again (under a new id) is recorded, but its
    // owner's editors were told already: no second notice, so that a peer repeating it
    // cannot flood their mailboxes.
    let told = existing
        .as_ref()
        .is_some_and(|p| matches!(p.state, PartnershipState::Pending));
    if let Some(existing) = existing {
        if matches!(existing.state, PartnershipState::Accepted) {
            // Already a partner: its Accept was probably lost; answer again.
            let audience = audience_for(state, existing.requester.id).await?;
            // The Join answered is this one, whatever the id of the first.
            let again = Partnership {
                ap_id: join_id.clone(),
                ..existing
            };
            let accept = answer_of(state, &again, true, audience);
            state.store.insert_activity(&accept).await?;
            state.delivery_wakeup.notify_one();
            return Ok(true);
        }
    }
    // A request for an action closed to partners is refused at once: nobody to tell.
    let notice = if action.data.open_to_partners && !told {
        let handle = format!("{}@{}", requester.username, requester.domain);
        let name = if requester.name.is_empty() {
            &requester.username
        } else {
            &requester.name
        };
        crate::service::notifications::partnership_request(
            state,
            action.owner.id,
            (name, &handle),
            &action.data.name,
        )
        .await?
    } else {
        None
    };
    let mut tx = state.store.begin().await?;
    let id = db::partnerships::upsert_partnership(
        &mut tx,
        &NewPartnership {
            ap_id: join_id,
            action_ap_id: &action.ap_id,
            action_name: &action.data.name,
            requester_id: requester.id,
            owner_id: action.owner.id,
        },
    )
    .await?;
    if let Some(notice) = &notice {
        db::notifications::insert_notices(&mut tx, notice).await?;
    }
    tx.commit().await?;
    let partnership = reread(state, id).await?;
    state.mail_wakeup.notify_one();
    if !action.data.open_to_partners {
        answer(state, &partnership, false).await?;
    }
    Ok(true)
}

/// The owner's answer (`accepted` or not) to a request a local collectivité sent:
/// `Accept` of a pending one accepts it, `Reject` of a pending one refuses it, `Reject`
/// of an accepted one ends it (the owner removed the partner). Returns the new state,
/// or `None` when the answer does not apply to the request's state (or it changed
/// meanwhile): nothing stored.
pub(crate) async fn received_answer(
    state: &AppState,
    partnership: &Partnership,
    accepted: bool,
) -> AppResult<Option<PartnershipState>> {
    use PartnershipState as S;
    let new_state = match (accepted, partnership.state) {
        (true, S::Pending) => S::Accepted,
        (false, S::Pending) => S::Rejected,
        (false, S::Accepted) => S::Left,
        _ => return Ok(None),
    };
    let notice =
        crate::service::notifications::partnership_answer(state, partnership, new_state).await?;
    let mut tx = state.store.begin().await?;
    if !db::partnerships::set_partnership_state(
        &mut tx,
        partnership.id,
        partnership.state,
        new_state,
    )
    .await?
    {
        return Ok(None);
    }
    if let Some(notice) = &notice {
        db::notifications::insert_notices(&mut tx, notice).await?;
    }
    tx.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(Some(new_state))
}

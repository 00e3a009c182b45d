//! Owns what inbound activities do once verified (SPEC §3 "Activities"): one function
//! per activity type, each checking the origins it relies on before writing. Unknown
//! or irrelevant activities are acknowledged and ignored ([`Applied::Ignored`]).

use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;
use chrono::Utc;
use serde_json::Value;
use url::Url;

use super::inbox::{InboxError, id_of};
use super::objects::action::{ArticleJson, as_to_action, has_mai_terms, partner_ids};
use super::objects::collectivite::domain_of;
use super::objects::comment::ReplyJson;
use super::objects::remote_dates;
use crate::activitypub::activities::{
    ActivityType, Envelope, Flag, Follow, InboundActivity, ObjectRef,
};
use crate::db::actors::ActorRecord;
use crate::db::follows::FollowState;
use crate::db::posts::NewPost;
use crate::domain::SafeHtml;
use crate::error::AppError;
use crate::service;
use crate::state::AppState;

/// What applying an activity did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// It changed something.
    Done,
    /// Nothing to do (said why, for the log).
    Ignored(String),
}

fn ignored(reason: impl Into<String>) -> Result<Applied, InboxError> {
    Ok(Applied::Ignored(reason.into()))
}

fn same_origin(a: &Url, b: &Url) -> bool {
    domain_of(a).is_some() && domain_of(a) == domain_of(b)
}

/// Applies a verified activity from `actor`.
///
/// # Errors
/// [`InboxError::Forbidden`] when an object's origin does not match its sender,
/// [`InboxError::BadRequest`] for an unusable object, `Internal` for storage failures.
pub async fn apply(
    data: &Data<AppState>,
    activity: &InboundActivity,
    envelope: &Envelope,
    actor: &ActorRecord,
) -> Result<Applied, InboxError> {
    if !same_origin(&envelope.id, &actor.ap_id) {
        return Err(InboxError::Forbidden(format!(
            "l'activité {} n'est pas du domaine de {}",
            envelope.id, actor.ap_id
        )));
    }
    let (_, suspended) = data.store.admission_of(actor.id).await?;
    if suspended.is_some() {
        return suspended_sender(data, activity, envelope, actor).await;
    }
    match activity {
        InboundActivity::Follow(a) => follow(data, envelope, &a.object, actor).await,
        InboundActivity::Undo(a) => undo(data, &a.object, actor).await,
        InboundActivity::Accept(a) => answer(data, &a.object, actor, FollowState::Accepted).await,
        InboundActivity::Reject(a) => answer(data, &a.object, actor, FollowState::Rejected).await,
        InboundActivity::Create(a) => create_or_update(data, a.object.value(), actor).await,
        InboundActivity::Update(a) => create_or_update(data, a.object.value(), actor).await,
        InboundActivity::Delete(a) => delete(data, a.object.value(), actor).await,
        InboundActivity::Join(a) => join(data, envelope, a.object.value(), actor).await,
        InboundActivity::Leave(a) => leave(data, a.object.value(), actor).await,
        InboundActivity::Like(a) => react(data, envelope, a.object.value(), actor).await,
        InboundActivity::Announce(a) => react(data, envelope, a.object.value(), actor).await,
        InboundActivity::Flag(a) => flag(data, envelope, a, actor).await,
        InboundActivity::Other => ignored(format!("type {} non pris en charge", envelope.kind)),
    }
}

/// An activity of an actor a node admin suspended: not applied; a `Follow` is answered
/// with a `Reject`, so that its node knows where it stands.
async fn suspended_sender(
    data: &Data<AppState>,
    activity: &InboundActivity,
    envelope: &Envelope,
    actor: &ActorRecord,
) -> Result<Applied, InboxError> {
    if let InboundActivity::Follow(a) = activity {
        if let Some(followed) = match a.object.id() {
            Some(target) => data.store.live_local_actor(&target).await?,
            None => None,
        } {
            let follow =
                Follow::embedded(envelope.id.clone(), actor.ap_id.clone(), &followed.ap_id);
            service::admission::reject_follow(data, &follow, actor, &followed).await?;
        }
    }
    ignored(format!("{} est suspendu sur ce nœud", actor.ap_id))
}

/// Whether an inbound activity passes the spam bounds of an aggregator (issue 19,
/// `aggregator.max_*`), checked before applying it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// Apply it.
    Pass,
    /// Apply it; it brings a new action, to count once applied.
    NewAction,
    /// Hold it for a node admin, for this reason (French).
    Hold(String),
}

/// The spam bounds of an aggregator for `activity` from `actor`: its domain's actors
/// (those past `max_actors_per_domain`, by arrival, unless approved), and for a
/// `Create`/`Update` bringing a new action, the hourly quotas of the actor and its
/// domain. Other nodes, and other activities, pass.
///
/// # Errors
/// Storage failures.
pub async fn gate(
    data: &Data<AppState>,
    activity: &InboundActivity,
    envelope: &Envelope,
    actor: &ActorRecord,
) -> Result<Gate, InboxError> {
    // Checked before anything is held or marked received: a sender past a bound must
    // not claim (and so block) the id of another server's activity.
    if !same_origin(&envelope.id, &actor.ap_id) {
        return Err(InboxError::Forbidden(format!(
            "l'activité {} n'est pas du domaine de {}",
            envelope.id, actor.ap_id
        )));
    }
    let settings = &data.settings.aggregator;
    if !settings.enabled || actor.local {
        return Ok(Gate::Pass);
    }
    let object = match activity {
        InboundActivity::Create(a) => Some(a.object.value()),
        InboundActivity::Update(a) => Some(a.object.value()),
        InboundActivity::Follow(_) => None,
        _ => return Ok(Gate::Pass),
    };
    let (decision, _) = data.store.admission_of(actor.id).await?;
    let approved = decision.as_deref() == Some("approved");
    if settings.max_actors_per_domain > 0 && !approved {
        let before = data
            .store
            .actors_before_in_domain(actor.id, &actor.domain)
            .await?;
        if before >= settings.max_actors_per_domain {
            return Ok(Gate::Hold(format!(
                "{} collectivités de {} sont déjà connues de ce nœud \
                 (aggregator.max_actors_per_domain = {}) : approuvez celle-ci pour l'admettre",
                before, actor.domain, settings.max_actors_per_domain
            )));
        }
    }
    let Some(object) = object else {
        return Ok(Gate::Pass);
    };
    // Replies and plain posts are not actions; an object by id may be one.
    let kind = object.get("type").and_then(Value::as_str);
    let replies = object.get("inReplyTo").is_some_and(|v| !v.is_null());
    if kind.is_some_and(|k| k != "Article") || replies {
        return Ok(Gate::Pass);
    }
    let Some(id) = id_of(object) else {
        return Ok(Gate::Pass);
    };
    if data.store.action_known(id.as_str()).await? {
        return Ok(Gate::Pass);
    }
    let (by_actor, by_domain) = data.store.recent_arrivals(actor.id, &actor.domain).await?;
    let (per_actor, per_domain) = (
        settings.max_new_actions_per_actor_per_hour,
        settings.max_new_actions_per_domain_per_hour,
    );
    if per_actor > 0 && by_actor >= per_actor {
        return Ok(Gate::Hold(format!(
            "{by_actor} nouvelles actions de cet acteur en une heure \
             (aggregator.max_new_actions_per_actor_per_hour = {per_actor})"
        )));
    }
    if per_domain > 0 && by_domain >= per_domain {
        return Ok(Gate::Hold(format!(
            "{by_domain} nouvelles actions du domaine {} en une heure \
             (aggregator.max_new_actions_per_domain_per_hour = {per_domain})",
            actor.domain
        )));
    }
    Ok(Gate::NewAction)
}

/// Releases held activity `id`: applied as if just received (past the spam bounds,
/// which a node admin lifts for it), then forgotten; what applying it did.
///
/// # Errors
/// [`AppError::NotFound`] for an unknown id; what applying it refuses (it is then
/// kept); storage failures.
pub async fn release_held(data: &Data<AppState>, id: i64) -> Result<Applied, AppError> {
    let missing = || AppError::NotFound(format!("aucune activité retenue « {id} »"));
    let held = data.store.held_activity(id).await?.ok_or_else(missing)?;
    let actor = data
        .store
        .actor_by_id(held.actor_id)
        .await?
        .ok_or_else(missing)?;
    let document: Value = serde_json::from_str(&held.activity)
        .map_err(|e| AppError::BadRequest(format!("activité retenue illisible : {e}")))?;
    let (envelope, activity) = InboundActivity::parse(&document).map_err(InboxError::from)?;
    let applied = apply(data, &activity, &envelope, &actor).await?;
    if applied == Applied::Done {
        if let InboundActivity::Create(_) | InboundActivity::Update(_) = activity {
            data.store.record_arrival(actor.id, &actor.domain).await?;
        }
    }
    data.store.delete_held(id).await?;
    data.delivery_wakeup.notify_one();
    tracing::info!(id = %held.ap_id, ?applied, "held activity released");
    Ok(applied)
}

/// `Follow` of a local actor: store the follower, answer `Accept` (auto-accept).
async fn follow(
    data: &Data<AppState>,
    envelope: &Envelope,
    object: &ObjectRef,
    follower: &ActorRecord,
) -> Result<Applied, InboxError> {
    let Some(target) = object.id() else {
        return Err(InboxError::BadRequest("Follow sans objet".into()));
    };
    // Only a live local actor can be followed: a deleted collectivité signs nothing.
    let mut followed = data.store.live_local_actor(&target).await?;
    if followed.is_none() {
        // Groups exist on first use: a Follow may be the first thing they see.
        let group_name = target
            .as_str()
            .strip_prefix(&format!("{}/groups/", data.base))
            .map(str::to_string);
        if let Some(name) = group_name {
            followed = super::groups::group(data, &name)
                .await
                .ok()
                .map(|(_, actor)| actor);
        }
    }
    let Some(followed) = followed.filter(|f| f.local) else {
        return ignored(format!("{target} n'est pas un acteur actif de ce nœud"));
    };
    let follow = Follow::embedded(envelope.id.clone(), follower.ap_id.clone(), &followed.ap_id);
    service::follows::accept_follower(data, &follow, follower, &followed).await?;
    tracing::info!(follower = %follower.ap_id, followed = %followed.ap_id, "new follower");
    // Aggregator mode: joining the network is following the aggregator, which follows
    // back (and so backfills the new node's actions).
    if data.settings.aggregator.enabled
        && followed.id == data.instance_actor.id
        && data
            .store
            .follow_between(followed.id, follower.id)
            .await?
            .is_none()
    {
        if let Err(error) = service::follows::follow(data, &followed, follower.ap_id.as_str()).await
        {
            tracing::warn!(follower = %follower.ap_id, %error, "follow-back failed");
        }
    }
    Ok(Applied::Done)
}

/// `Undo{Follow}`: the follower leaves.
async fn undo(
    data: &Data<AppState>,
    object: &ObjectRef,
    actor: &ActorRecord,
) -> Result<Applied, InboxError> {
    let kind = object.kind().map(ActivityType::parse);
    // An embedded activity says whose it is: only its own actor may undo it.
    if let Some(owner) = object.actor() {
        if owner != actor.ap_id {
            return Err(InboxError::Forbidden(format!(
                "{} ne peut pas annuler une activité de {owner}",
                actor.ap_id
            )));
        }
    }
    let by_id = match object.id() {
        Some(id) => data.store.follow_by_ap_id(id.as_str()).await?,
        None => None,
    };
    let follow = match by_id {
        Some(follow) => Some(follow),
        None if kind == Some(ActivityType::Follow) => match object.object() {
            Some(target) => match data.store.actor_by_ap_id(&target).await? {
                Some(followed) => data.store.follow_between(actor.id, followed.id).await?,
                None => None,
            },
            None => None,
        },
        None => None,
    };
    let reaction = match kind {
        Some(ActivityType::Like) => Some("Like"),
        Some(ActivityType::Announce) => Some("Announce"),
        // No type, or an empty one: an id-only Undo of a reaction, as before typing.
        _ if object.kind().is_none_or(str::is_empty) => Some(""),
        _ => None,
    };
    if let (None, Some(reaction)) = (&follow, reaction) {
        return undo_reaction(data, object.value(), reaction, actor).await;
    }
    match follow {
        Some(follow) if follow.follower_id == actor.id => {
            data.store.delete_follow(follow.id).await?;
            tracing::info!(follower = %actor.ap_id, "follower left");
            Ok(Applied::Done)
        }
        Some(_) => Err(InboxError::Forbidden(
            "ce suivi n'est pas celui de l'expéditeur".into(),
        )),
        None => ignored(format!(
            "Undo d'un objet inconnu ({})",
            object.kind().unwrap_or_default()
        )),
    }
}

/// `Accept`/`Reject{Follow}` of one of our follows.
async fn answer(
    data: &Data<AppState>,
    object: &ObjectRef,
    actor: &ActorRecord,
    state: FollowState,
) -> Result<Applied, InboxError> {
    let mut follow = match object.id() {
        Some(id) => data.store.follow_by_ap_id(id.as_str()).await?,
        None => None,
    };
    if follow.is_none() {
        // Some servers answer with their own copy of the Follow: match actor and object.
        if let (Some(follower), Some(target)) = (object.actor(), object.object()) {
            if target == actor.ap_id {
                if let Some(local) = data.store.live_local_actor(&follower).await? {
                    follow = data.store.follow_between(local.id, actor.id).await?;
                }
            }
        }
    }
    let Some(follow) = follow else {
        return answer_join(data, object.value(), actor, state).await;
    };
    if follow.followed_id != actor.id {
        return Err(InboxError::Forbidden(
            "seul l'acteur suivi peut répondre".into(),
        ));
    }
    let was_pending = data.store.set_follow_state(follow.id, state).await?;
    tracing::info!(followed = %actor.ap_id, state = state.as_str(), was_pending, "our follow answered");
    // Only a follow that becomes accepted is backfilled: a repeated `Accept` (or one
    // after a `Reject`) walks nothing again.
    if state == FollowState::Accepted && was_pending {
        super::backfill::spawn(data, actor.clone());
    }
    Ok(Applied::Done)
}

/// The object of a `Create`/`Update`: embedded, or fetched by id from its origin, which
/// must be the sender's (an object elsewhere cannot be the sender's: nothing is fetched).
async fn object_document(
    data: &Data<AppState>,
    object: &Value,
    actor: &ActorRecord,
) -> Result<Value, InboxError> {
    if object.is_object() && object.get("type").is_some() {
        return Ok(object.clone());
    }
    let id = id_of(object).ok_or_else(|| InboxError::BadRequest("objet sans id".into()))?;
    if !same_origin(&id, &actor.ap_id) {
        return Err(InboxError::Forbidden(format!(
            "l'objet {id} n'est pas du domaine de {}",
            actor.ap_id
        )));
    }
    let fetched = activitypub_federation::fetch::fetch_object_http::<AppState, Value>(&id, data)
        .await
        .map_err(|e| InboxError::BadRequest(format!("objet {id} introuvable : {e}")))?;
    Ok(fetched.object)
}

/// `Create`/`Update` of an `Article` with `mai:` terms (a remote action) or of a plain
/// post, from an actor some local actor follows.
pub async fn create_or_update(
    data: &Data<AppState>,
    object: &Value,
    actor: &ActorRecord,
) -> Result<Applied, InboxError> {
    let object = object_document(data, object, actor).await?;
    let kind = object
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if !matches!(kind.as_str(), "Article" | "Note" | "Page") {
        return ignored(format!("objet de type {kind} ignoré"));
    }
    if object.get("inReplyTo").is_some_and(|v| !v.is_null()) {
        return comment(data, object, actor).await;
    }
    if !data.store.is_followed_locally(actor.id).await?
        && !data.store.is_partner_of_local(actor.id).await?
    {
        return ignored(format!(
            "{} n'est suivi par aucun acteur de ce nœud",
            actor.ap_id
        ));
    }
    let id = id_of(&object).ok_or_else(|| InboxError::BadRequest("objet sans id".into()))?;
    let author = object.get("attributedTo").and_then(id_of);
    if author.as_ref() != Some(&actor.ap_id) || !same_origin(&id, &actor.ap_id) {
        return Err(InboxError::Forbidden(format!(
            "l'objet {id} n'est pas attribué à {}",
            actor.ap_id
        )));
    }
    if kind == "Article" && has_mai_terms(&object) {
        let article: ArticleJson = serde_json::from_value(object)
            .map_err(|e| InboxError::BadRequest(format!("Article illisible : {e}")))?;
        let data_ = as_to_action(&article);
        if data_.name.is_empty() {
            return Err(InboxError::BadRequest("Article sans nom".into()));
        }
        let (published, updated) = remote_dates(article.published, article.updated, Utc::now());
        let stored = data
            .store
            .upsert_remote_action(
                &article.id,
                // A page elsewhere than the actor's origin, or not http(s) (a
                // `javascript:` URL would end up in our pages' links), is not trusted.
                article
                    .url
                    .as_ref()
                    .filter(|u| {
                        matches!(u.scheme(), "http" | "https") && same_origin(u, &actor.ap_id)
                    })
                    .unwrap_or(&article.id),
                actor.id,
                &data_,
                &partners(data, &article).await?,
                published,
                updated,
            )
            .await?;
        if !stored {
            return ignored("version plus ancienne ou action supprimée");
        }
        // Only an aggregator's groups announce actions, of the actors it lists.
        let admission = data.settings.aggregator.effective_admission();
        if data.settings.aggregator.enabled && data.store.is_listed(actor.id, admission).await? {
            // The action is stored: a failed announce must not make the peer retry.
            let announced = match data.store.action_by_ap_id(&article.id).await {
                Ok(Some(action)) => super::groups::announce(data, &action).await.map(|_| ()),
                Ok(None) => Ok(()),
                Err(error) => Err(error.into()),
            };
            if let Err(error) = announced {
                tracing::warn!(action = %article.id, %error, "group announce failed");
            }
        }
        return Ok(Applied::Done);
    }
    let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_string);
    let content = SafeHtml::sanitize_bounded(
        &text("content")
            .unwrap_or_default()
            .chars()
            .take(100_000)
            .collect::<String>(),
    );
    let when = |key: &str| {
        text(key)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let (published, updated) = remote_dates(when("published"), when("updated"), Utc::now());
    // No NUL (a PostgreSQL text cannot hold it); an http(s) page only.
    let name = text("name").map(|n| {
        n.chars()
            .filter(|c| *c != '\0')
            .take(200)
            .collect::<String>()
    });
    let url = object
        .get("url")
        .and_then(id_of)
        .filter(|u| matches!(u.scheme(), "http" | "https"));
    data.store
        .upsert_post(&NewPost {
            ap_id: &id,
            actor_id: actor.id,
            kind: &kind,
            name: name.as_deref(),
            content_html: content.as_str(),
            url: url.as_ref(),
            published,
            updated,
        })
        .await?;
    Ok(Applied::Done)
}

/// The partners of a remote action worth keeping (FEDERATION.md "Partnerships"): its
/// owner's signed list, reduced to usable actor ids ([`partner_ids`]), and, for the
/// collectivités of this node, to those that asked to join that action: this node
/// knows their word, and keeps no partnership they did not seek (or have left).
async fn partners(data: &Data<AppState>, article: &ArticleJson) -> Result<Vec<Url>, InboxError> {
    use crate::db::partnerships::PartnershipState as S;
    let mut kept = Vec::new();
    for partner in partner_ids(article) {
        if !partner.as_str().starts_with(&format!("{}/", data.base)) {
            kept.push(partner);
            continue;
        }
        let Some(local) = data.store.live_local_actor(&partner).await? else {
            continue;
        };
        let asked = data.store.partnership_for(&article.id, local.id).await?;
        if asked.is_some_and(|p| matches!(p.state, S::Pending | S::Accepted)) {
            kept.push(partner);
        }
    }
    Ok(kept)
}

/// `Delete` of an object (tombstone, origin must match) or of the actor itself.
async fn delete(
    data: &Data<AppState>,
    object: &Value,
    actor: &ActorRecord,
) -> Result<Applied, InboxError> {
    let id = id_of(object).ok_or_else(|| InboxError::BadRequest("Delete sans objet".into()))?;
    if id == actor.ap_id {
        let removed = data.store.delete_remote_actor(&actor.ap_id).await?;
        tracing::info!(actor = %actor.ap_id, removed, "actor deleted itself");
        return Ok(Applied::Done);
    }
    if !same_origin(&id, &actor.ap_id) {
        return Err(InboxError::Forbidden(format!(
            "{id} n'est pas du domaine de {}",
            actor.ap_id
        )));
    }
    if data.store.tombstone_remote_action(&id, actor.id).await?
        || data.store.delete_post(&id, actor.id).await?
        || data.store.delete_comment(&id, actor.id).await?
    {
        return Ok(Applied::Done);
    }
    ignored(format!("{id} inconnu ou déjà supprimé"))
}

/// Resolves a remote actor by id (fetching it if needed).
///
/// # Errors
/// The actor cannot be fetched or is invalid.
pub async fn remote_actor(data: &Data<AppState>, id: &Url) -> Result<ActorRecord, InboxError> {
    let object: ObjectId<ActorRecord> = id.clone().into();
    object
        .dereference(data)
        .await
        .map_err(|e| InboxError::BadRequest(format!("acteur {id} introuvable : {e}")))
}

/// The local, live action an activity's object names, if any.
async fn local_action_of(
    data: &Data<AppState>,
    object: &Value,
) -> Result<Option<crate::domain::Action>, InboxError> {
    let Some(id) = id_of(object) else {
        return Ok(None);
    };
    Ok(data
        .store
        .action_by_ap_id(&id)
        .await?
        .filter(|a| a.owner.local && a.deleted.is_none()))
}

/// `Create`/`Update{Note}` replying to a local action or one of its comments: a
/// comment (pending moderation unless the sender's domain is trusted).
async fn comment(
    data: &Data<AppState>,
    object: Value,
    actor: &ActorRecord,
) -> Result<Applied, InboxError> {
    // Whether it answers something of ours first: a reply to anything else is ignored
    // whatever its shape.
    let Some(target) = ReplyJson::target(&object) else {
        return ignored("réponse sans inReplyTo lisible");
    };
    let Some(action) = service::comments::reply_target(data, &target).await? else {
        return ignored(format!("réponse à {target} qui n'est pas de ce nœud"));
    };
    let reply = ReplyJson::read(&object)
        .map_err(|e| InboxError::BadRequest(format!("réponse illisible : {e}")))?;
    if reply.attributed_to != actor.ap_id || !same_origin(&reply.id, &actor.ap_id) {
        return Err(InboxError::Forbidden(format!(
            "la réponse {} n'est pas attribuée à {}",
            reply.id, actor.ap_id
        )));
    }
    // `reply.in_reply_to` is `target`, read the same way: the action found above.
    if action.deleted.is_some() {
        return ignored("réponse à une action supprimée");
    }
    Ok(
        if service::comments::receive_reply(data, &reply, actor, &action).await? {
            Applied::Done
        } else {
            Applied::Ignored("version plus ancienne de ce commentaire".into())
        },
    )
}

/// `Join{action}`: a partnership request for a local action (SPEC §5).
async fn join(
    data: &Data<AppState>,
    envelope: &Envelope,
    object: &Value,
    actor: &ActorRecord,
) -> Result<Applied, InboxError> {
    let Some(action) = local_action_of(data, object).await? else {
        return ignored("Join d'une action qui n'est pas de ce nœud");
    };
    if !actor.actor_type.eq_ignore_ascii_case("Organization") {
        return ignored("seules les collectivités (Organization) peuvent rejoindre une action");
    }
    Ok(
        if service::partnerships::received_join(data, &envelope.id, actor, &action).await? {
            Applied::Done
        } else {
            Applied::Ignored("déjà partenaire".into())
        },
    )
}

/// `Accept`/`Reject{Join}` of a request a local collectivité sent; a `Reject` of an
/// accepted one means the owner ended the partnership.
async fn answer_join(
    data: &Data<AppState>,
    object: &Value,
    actor: &ActorRecord,
    state: FollowState,
) -> Result<Applied, InboxError> {
    let Some(id) = id_of(object) else {
        return ignored("réponse sans objet");
    };
    let Some(partnership) = data.store.partnership_by_ap_id(id.as_str()).await? else {
        return ignored("réponse à un suivi ou une demande inconnus");
    };
    if partnership.owner.id != actor.id {
        return Err(InboxError::Forbidden(
            "seul le porteur de l'action peut répondre".into(),
        ));
    }
    let accepted = state == FollowState::Accepted;
    let Some(new_state) =
        service::partnerships::received_answer(data, &partnership, accepted).await?
    else {
        return ignored("demande déjà dans cet état ou changée entre-temps");
    };
    tracing::info!(action = %partnership.action_ap_id, state = new_state.as_str(), "our partnership request answered");
    if new_state == crate::db::partnerships::PartnershipState::Accepted {
        // The partner's node lists the action: read it from its origin now.
        let object = ObjectRef::from(&partnership.action_ap_id);
        if let Err(error) = create_or_update(data, object.value(), actor).await {
            tracing::warn!(action = %partnership.action_ap_id, %error, "fetching the joined action");
        }
    }
    Ok(Applied::Done)
}

/// `Leave{action}`: a partner of a local action leaves; the owner publishes the
/// `Update` of its partners.
async fn leave(
    data: &Data<AppState>,
    object: &Value,
    actor: &ActorRecord,
) -> Result<Applied, InboxError> {
    let Some(action) = local_action_of(data, object).await? else {
        return ignored("Leave d'une action qui n'est pas de ce nœud");
    };
    match data.store.partnership_for(&action.ap_id, actor.id).await? {
        Some(p) if p.state == crate::db::partnerships::PartnershipState::Accepted => {
            service::partnerships::left(data, &p, None).await?;
            Ok(Applied::Done)
        }
        _ => ignored("Leave sans partenariat en cours"),
    }
}

/// `Like`/`Announce` of a local action: counted as interest.
async fn react(
    data: &Data<AppState>,
    envelope: &Envelope,
    object: &Value,
    actor: &ActorRecord,
) -> Result<Applied, InboxError> {
    let Some(action) = local_action_of(data, object).await? else {
        return ignored(format!(
            "{} d'un objet qui n'est pas une action de ce nœud",
            envelope.kind
        ));
    };
    data.store
        .add_reaction(&envelope.id, &envelope.kind, actor.id, action.db_id)
        .await?;
    Ok(Applied::Done)
}

/// `Undo{Like}`/`Undo{Announce}`.
async fn undo_reaction(
    data: &Data<AppState>,
    object: &Value,
    kind: &str,
    actor: &ActorRecord,
) -> Result<Applied, InboxError> {
    if let Some(id) = id_of(object) {
        if data.store.remove_reaction_by_ap_id(&id, actor.id).await? {
            return Ok(Applied::Done);
        }
    }
    if let (false, Some(target)) = (kind.is_empty(), object.get("object")) {
        if let Some(action) = local_action_of(data, target).await? {
            if data
                .store
                .remove_reaction(kind, actor.id, action.db_id)
                .await?
            {
                return Ok(Applied::Done);
            }
        }
    }
    ignored("Undo d'un objet inconnu")
}

/// `Flag`: a report for the moderators, when it names something of this node.
async fn flag(
    data: &Data<AppState>,
    envelope: &Envelope,
    flag: &Flag,
    actor: &ActorRecord,
) -> Result<Applied, InboxError> {
    let ours: Vec<Url> = flag
        .reported()
        .into_iter()
        .filter(|u| u.as_str().starts_with(&format!("{}/", data.base)))
        .take(50)
        .collect();
    if ours.is_empty() {
        return ignored("signalement sans objet de ce nœud");
    }
    let content: String = flag
        .content
        .as_deref()
        .unwrap_or_default()
        .chars()
        .take(5_000)
        .collect();
    let content = SafeHtml::sanitize_bounded(&content).to_plain_text();
    data.store
        .insert_report(&envelope.id, actor.id, &ours, &content)
        .await?;
    tracing::info!(reporter = %actor.ap_id, "report received");
    Ok(Applied::Done)
}

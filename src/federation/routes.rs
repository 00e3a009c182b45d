//! Routes serving ActivityPub documents: actors, actions, activities, collections, the
//! instance actor, discovery and `/ns`. The same URLs serve HTML to browsers (content
//! negotiation on `Accept`, SPEC §3); the pages themselves are rendered by [`crate::web`].

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;
use uuid::Uuid;

use super::collections::{OrderedCollectionJson, OrderedCollectionPageJson, PAGE_SIZE, page_url};
use super::objects::action::action_to_as;
use super::objects::collectivite::collectivite_to_as;
use super::objects::instance::instance_to_as;
use super::vocabulary::vocabulary_document;
use super::{AS2_CONTENT_TYPE, discovery};
use crate::activitypub::activities::{ActivityType, Create, ObjectRef, Tombstone};
use crate::activitypub::context::with_context;
use crate::domain::Action;
use crate::error::{AppError, AppResult};
use crate::service::collectivites::find_local;
use crate::state::AppState;
use crate::web;

/// The federation routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/.well-known/webfinger", get(discovery::webfinger))
        .route("/.well-known/host-meta", get(discovery::host_meta))
        .route("/.well-known/nodeinfo", get(discovery::nodeinfo_links))
        .route("/nodeinfo/2.1", get(discovery::nodeinfo))
        .route("/actor", get(get_instance_actor))
        .route("/actor/outbox", get(get_instance_outbox))
        .route("/actors/{username}", get(get_actor))
        .route("/actors/{username}/outbox", get(get_outbox))
        .route("/actors/{username}/followers", get(get_followers))
        .route("/actors/{username}/following", get(get_following))
        .route("/actions/{id}", get(get_action))
        .route("/actions/{id}/replies", get(get_replies))
        .route("/activities/{id}", get(get_activity))
        .route("/comments/{id}", get(get_comment))
        .route("/groups/{name}", get(get_group))
        .route("/groups/{name}/outbox", get(get_group_outbox))
        .route("/groups/{name}/followers", get(get_group_followers))
        .route("/ns", get(get_vocabulary))
        .route_layer(axum::middleware::from_fn(super::inbox::authorized_fetch))
}

/// True when the client prefers HTML over ActivityPub JSON.
pub fn wants_html(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.contains("application/activity+json") || accept.contains("application/ld+json") {
        return false;
    }
    accept.contains("text/html")
}

/// An AS2 document response (`@context` added), with `Vary: Accept`.
pub fn as2_response(status: StatusCode, document: impl Serialize) -> Response {
    let value = serde_json::to_value(document).expect("BUG: wire structs always serialise");
    let body = serde_json::to_vec(&with_context(value)).expect("BUG: JSON values serialise");
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(AS2_CONTENT_TYPE),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    response
}

/// The `Tombstone` of a deleted object, answered with `410 Gone`.
pub fn tombstone_response(
    id: &Url,
    former_type: &str,
    deleted: chrono::DateTime<chrono::Utc>,
) -> Response {
    as2_response(
        StatusCode::GONE,
        Tombstone::new(id.clone(), former_type, deleted),
    )
}

/// Parses a path segment as a UUID; anything else is simply not found.
pub fn parse_uuid(value: &str) -> AppResult<Uuid> {
    Uuid::parse_str(value).map_err(|_| AppError::NotFound(format!("« {value} » n'existe pas")))
}

pub(crate) async fn local_action(state: &AppState, id: &str) -> AppResult<Action> {
    let uuid = parse_uuid(id)?;
    state
        .store
        .action(uuid)
        .await?
        .filter(|a| a.local)
        .ok_or_else(|| AppError::NotFound(format!("aucune action « {id} » sur ce nœud")))
}

/// `GET /actors/{username}`: the `Organization`, or its page.
async fn get_actor(
    State(state): State<AppState>,
    Path(username): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let collectivite = match find_local(&state, &username).await {
        // SPEC §11: a deleted collectivité answers 410 with a Tombstone (its page, the
        // same 410 with the message).
        Err(AppError::Gone(message)) if !wants_html(&headers) => {
            return match state.store.deleted_local_collectivite(&username).await? {
                Some((ap_id, deleted)) => Ok(tombstone_response(&ap_id, "Organization", deleted)),
                None => Err(AppError::Gone(message)),
            };
        }
        other => other?,
    };
    if wants_html(&headers) {
        return web::pages::collectivite_page(&state, &collectivite).await;
    }
    Ok(as2_response(
        StatusCode::OK,
        collectivite_to_as(&collectivite, &state),
    ))
}

/// `?page=true&before=N` of a paged collection.
#[derive(Debug, Deserialize)]
struct PageQuery {
    page: Option<String>,
    before: Option<String>,
}

impl PageQuery {
    fn cursor(&self) -> AppResult<Option<i64>> {
        self.before
            .as_deref()
            .map(|b| {
                b.parse::<i64>()
                    .map_err(|_| AppError::BadRequest(format!("curseur « {b} » invalide")))
            })
            .transpose()
    }
}

/// `GET /actors/{username}/outbox`: a `Create` per live action, newest first.
async fn get_outbox(
    State(state): State<AppState>,
    Path(username): Path<String>,
    Query(query): Query<PageQuery>,
) -> AppResult<Response> {
    let collectivite = find_local(&state, &username).await?;
    let id = state.url(&format!("/actors/{username}/outbox"));
    let total = state.store.count_actions_of(collectivite.id).await?;
    if query.page.is_none() {
        return Ok(as2_response(
            StatusCode::OK,
            OrderedCollectionJson::new(id, total, true),
        ));
    }
    let before = query.cursor()?;
    let items = state
        .store
        .outbox_page(collectivite.id, before, PAGE_SIZE)
        .await?;
    let next = (items.len() as i64 == PAGE_SIZE)
        .then(|| {
            items
                .last()
                .map(|last| page_url(&id, Some(last.activity_id)))
        })
        .flatten();
    let ordered_items = items
        .iter()
        .map(|item| {
            let article = action_to_as(&item.action, &state);
            Create::new(
                item.activity_ap_id.clone(),
                item.action.owner.ap_id.clone(),
                ObjectRef::embed(&article),
            )
            .published(item.action.published)
            .to(article.to.clone())
            .cc(article.cc.clone())
            .value()
        })
        .collect();
    Ok(as2_response(
        StatusCode::OK,
        OrderedCollectionPageJson {
            id: page_url(&id, before),
            kind: "OrderedCollectionPage",
            part_of: id,
            total_items: total,
            ordered_items,
            next,
        },
    ))
}

/// `GET /actors/{username}/followers`: the count (items are not exposed).
async fn get_followers(
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> AppResult<Response> {
    let collectivite = find_local(&state, &username).await?;
    let total = state.store.count_followers(collectivite.id).await?;
    let id = state.url(&format!("/actors/{username}/followers"));
    Ok(as2_response(
        StatusCode::OK,
        OrderedCollectionJson::new(id, total, false),
    ))
}

/// `GET /actors/{username}/following`: the count.
async fn get_following(
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> AppResult<Response> {
    let collectivite = find_local(&state, &username).await?;
    let total = state.store.count_following(collectivite.id).await?;
    let id = state.url(&format!("/actors/{username}/following"));
    Ok(as2_response(
        StatusCode::OK,
        OrderedCollectionJson::new(id, total, false),
    ))
}

/// `GET /actions/{id}`: the `Article` (or `410` + `Tombstone`), or its page.
async fn get_action(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let action = local_action(&state, &id).await?;
    if wants_html(&headers) {
        return web::pages::action_page(&state, &action).await;
    }
    if let Some(deleted) = action.deleted {
        return Ok(tombstone_response(&action.ap_id, "Article", deleted));
    }
    Ok(as2_response(StatusCode::OK, action_to_as(&action, &state)))
}

/// `GET /actions/{id}/replies`: approved comments, oldest first, embedded.
async fn get_replies(State(state): State<AppState>, Path(id): Path<String>) -> AppResult<Response> {
    let action = local_action(&state, &id).await?;
    if let Some(deleted) = action.deleted {
        return Ok(tombstone_response(&action.ap_id, "Article", deleted));
    }
    let comments = state.store.comments_of_action(action.db_id, false).await?;
    let mut items: Vec<Value> = Vec::with_capacity(comments.len());
    for comment in &comments {
        items.push(match comment.local {
            true => crate::service::comments::note_of(&state, comment).await?,
            false => Value::String(comment.ap_id.to_string()),
        });
    }
    let collection = state.url(&format!("/actions/{id}/replies"));
    Ok(as2_response(
        StatusCode::OK,
        serde_json::json!({
            "id": collection,
            "type": "OrderedCollection",
            "totalItems": items.len(),
            "orderedItems": items,
        }),
    ))
}

/// `GET /comments/{id}`: a comment written here, as a `Note` (HTML: its action page).
async fn get_comment(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let comment = state
        .store
        .comment_by_uuid(parse_uuid(&id)?)
        .await?
        .filter(|c| c.local)
        .ok_or_else(|| AppError::NotFound(format!("aucun commentaire « {id} » sur ce nœud")))?;
    if wants_html(&headers) {
        let target = format!(
            "{}#commentaire-{}",
            comment.action_ap_id.path(),
            comment.uuid
        );
        return Ok(axum::response::Redirect::to(&target).into_response());
    }
    Ok(as2_response(
        StatusCode::OK,
        crate::service::comments::note_of(&state, &comment).await?,
    ))
}

/// `GET /activities/{id}`: an activity published here. The object of a `Create` or
/// `Update` is shown as it is now (as in the outbox), and only by id once deleted, so
/// an old activity never serves content its author has since changed or removed.
async fn get_activity(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    parse_uuid(&id)?;
    let url = state.url(&format!("/activities/{id}"));
    let activity = state
        .store
        .local_activity(&url)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("aucune activité « {id} » sur ce nœud")))?;
    let mut payload: Value = serde_json::from_str(&activity.payload)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored activity {id}: {e}")))?;
    if matches!(
        ActivityType::parse(&activity.kind),
        ActivityType::Create | ActivityType::Update
    ) {
        let object_id = payload
            .get("object")
            .and_then(|o| o.get("id"))
            .and_then(Value::as_str)
            .and_then(|s| Url::parse(s).ok());
        if let Some(object_id) = object_id {
            let current = state.store.action_by_ap_id(&object_id).await?;
            payload["object"] = match current {
                Some(action) if action.deleted.is_none() => {
                    serde_json::to_value(action_to_as(&action, &state))
                        .map_err(|e| AppError::Internal(e.into()))?
                }
                _ => Value::String(object_id.to_string()),
            };
        }
    }
    Ok(as2_response(StatusCode::OK, payload))
}

/// `GET /groups/{name}`: a theme or territory `Group` (aggregators), or its page.
async fn get_group(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let (kind, actor) = super::groups::group(&state, &name).await?;
    if wants_html(&headers) {
        return Ok(axum::response::Redirect::to(state.url(&kind.page()).as_str()).into_response());
    }
    Ok(as2_response(
        StatusCode::OK,
        super::groups::group_to_as(&state, &kind, &actor),
    ))
}

/// `GET /groups/{name}/outbox`: the count of its announces.
async fn get_group_outbox(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> AppResult<Response> {
    let (_, actor) = super::groups::group(&state, &name).await?;
    let total = state.store.count_activities_of(actor.id).await?;
    let id = state.url(&format!("/groups/{}/outbox", actor.username));
    Ok(as2_response(
        StatusCode::OK,
        OrderedCollectionJson::new(id, total, false),
    ))
}

/// `GET /groups/{name}/followers`: the count.
async fn get_group_followers(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> AppResult<Response> {
    let (_, actor) = super::groups::group(&state, &name).await?;
    let total = state.store.count_followers(actor.id).await?;
    let id = state.url(&format!("/groups/{}/followers", actor.username));
    Ok(as2_response(
        StatusCode::OK,
        OrderedCollectionJson::new(id, total, false),
    ))
}

/// `GET /actor`: the instance actor.
async fn get_instance_actor(State(state): State<AppState>) -> Response {
    as2_response(StatusCode::OK, instance_to_as(&state))
}

/// `GET /actor/outbox`: the instance actor publishes nothing.
async fn get_instance_outbox(State(state): State<AppState>) -> Response {
    as2_response(
        StatusCode::OK,
        OrderedCollectionJson::new(state.url("/actor/outbox"), 0, false),
    )
}

/// `GET /ns`: the `mai:` vocabulary (JSON-LD, or an HTML table).
async fn get_vocabulary(headers: HeaderMap) -> AppResult<Response> {
    if wants_html(&headers) {
        return web::pages::vocabulary_page();
    }
    let mut response = axum::Json(vocabulary_document()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/ld+json"),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    Ok(response)
}

//! Mutualisation and moderation routes (SPEC §5, §6): partnership requests sent and
//! received, comments (editors' replies, moderation), interest in an action, reports
//! and blocks. Handlers extract and check the token; the work is in `service`.

use activitypub_federation::config::Data;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;
use utoipa::ToSchema;

use super::ApiJson;
use super::auth::Bearer;
use super::collectivites::find_local;
use crate::db::comments::{Comment, CommentState};
use crate::db::moderation::Block;
use crate::db::partnerships::{Partnership, PartnershipState};
use crate::domain::FieldError;
use crate::error::{AppError, AppResult, Problem};
use crate::service;
use crate::state::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/collectivites/{username}/partnership-requests",
            get(list_requests).post(create_request),
        )
        .route("/api/v1/partnership-requests/{id}", delete(end_partnership))
        .route(
            "/api/v1/partnership-requests/{id}/{decision}",
            post(answer_request),
        )
        .route(
            "/api/v1/actions/{id}/comments",
            get(list_comments).post(create_comment),
        )
        .route("/api/v1/actions/{id}/interest", get(interest))
        .route("/api/v1/moderation/comments", get(moderation_comments))
        .route("/api/v1/comments/{id}/{decision}", post(moderate_comment))
        .route("/api/v1/moderation/reports", get(list_reports))
        .route(
            "/api/v1/moderation/reports/{id}/resolve",
            post(resolve_report),
        )
        .route(
            "/api/v1/moderation/blocks",
            get(list_blocks).post(create_block),
        )
        .route("/api/v1/moderation/blocks/{id}", delete(delete_block))
}

fn not_found(what: &str, id: &str) -> AppError {
    AppError::NotFound(format!("aucun(e) {what} « {id} » sur ce nœud"))
}

fn parse_id(what: &str, id: &str) -> AppResult<i64> {
    id.parse().map_err(|_| not_found(what, id))
}

/// One side of a partnership.
#[derive(Debug, Serialize, ToSchema)]
pub struct SideView {
    /// Actor id.
    pub id: String,
    /// `user@domain`.
    pub handle: String,
    /// Name.
    pub name: String,
}

/// A partnership request, sent or received.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartnershipView {
    /// Request id (for `…/accept`, `…/reject`, `DELETE`).
    pub id: i64,
    /// `sent` or `received`, from the collectivité asked about (or the requester's
    /// side when listed otherwise).
    pub direction: String,
    /// The action's id.
    pub action: String,
    /// The action's name.
    pub action_name: String,
    /// `pending`, `accepted`, `rejected` or `left`.
    pub state: PartnershipState,
    /// Who asks.
    pub requester: SideView,
    /// Who owns the action.
    pub owner: SideView,
    /// Asked at.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl PartnershipView {
    fn new(p: Partnership, sent: bool) -> Self {
        let side = |s: crate::db::partnerships::Side| SideView {
            handle: format!("{}@{}", s.username, s.domain),
            id: s.ap_id.to_string(),
            name: s.name,
        };
        Self {
            id: p.id,
            direction: if sent { "sent" } else { "received" }.into(),
            action: p.action_ap_id.to_string(),
            action_name: p.action_name,
            state: p.state,
            requester: side(p.requester),
            owner: side(p.owner),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// What to join.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnershipBody {
    /// The action's id (URL), on this node or another.
    pub action: Option<String>,
}

/// `?direction=`.
#[derive(Debug, Deserialize)]
pub struct DirectionQuery {
    direction: Option<String>,
}

/// Ask to join an action open to partners: sends `Join` as this collectivité.
#[utoipa::path(post, path = "/api/v1/collectivites/{username}/partnership-requests", tag = "mutualisation",
    params(("username" = String, Path, description = "The collectivité asking")),
    request_body = PartnershipBody,
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Request sent", body = PartnershipView),
        (status = 403, description = "Another collectivité's token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown action, not open to partners, already a partner", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_request(
    data: Data<AppState>,
    Path(username): Path<String>,
    bearer: Bearer,
    ApiJson(body): ApiJson<PartnershipBody>,
) -> AppResult<impl IntoResponse> {
    let requester = find_local(&data, &username).await?;
    bearer.require_collectivite(requester.id)?;
    let action = body
        .action
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| AppError::Validation(vec![FieldError::new("action", "obligatoire")]))?;
    let action = Url::parse(action)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| {
            AppError::Validation(vec![FieldError::new(
                "action",
                "l'adresse (URL) de l'action est attendue",
            )])
        })?;
    let partnership = service::partnerships::request(&data, &requester, &action).await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(PartnershipView::new(partnership, true)),
    ))
}

/// Partnership requests a collectivité sent or received (`direction=sent|received`,
/// default received), newest first.
#[utoipa::path(get, path = "/api/v1/collectivites/{username}/partnership-requests", tag = "mutualisation",
    params(("username" = String, Path, description = "Collectivité"),
        ("direction" = Option<String>, Query, description = "`received` (default) or `sent`")),
    security(("bearer" = [])),
    responses((status = 200, description = "Requests", body = [PartnershipView])))]
pub async fn list_requests(
    State(state): State<AppState>,
    Path(username): Path<String>,
    Query(query): Query<DirectionQuery>,
    bearer: Bearer,
) -> AppResult<axum::Json<Vec<PartnershipView>>> {
    let collectivite = find_local(&state, &username).await?;
    bearer.require_collectivite(collectivite.id)?;
    let sent = match query.direction.as_deref() {
        None | Some("received") => false,
        Some("sent") => true,
        Some(other) => {
            return Err(AppError::Validation(vec![FieldError::new(
                "direction",
                format!("« {other} » : received ou sent attendu"),
            )]));
        }
    };
    let list = state.store.partnerships_of(collectivite.id, sent).await?;
    Ok(axum::Json(
        list.into_iter()
            .map(|p| PartnershipView::new(p, sent))
            .collect(),
    ))
}

async fn find_partnership(state: &AppState, id: &str) -> AppResult<Partnership> {
    state
        .store
        .partnership(parse_id("demande de partenariat", id)?)
        .await?
        .ok_or_else(|| not_found("demande de partenariat", id))
}

/// Accept or reject a received request (`accept` or `reject`); on accept the action's
/// partners gain the requester and an `Update` goes to followers and partners.
#[utoipa::path(post, path = "/api/v1/partnership-requests/{id}/{decision}", tag = "mutualisation",
    params(("id" = i64, Path, description = "Request id"), ("decision" = String, Path, description = "`accept` or `reject`")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Answered", body = PartnershipView),
        (status = 403, description = "Not the owner's token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already answered", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn answer_request(
    State(state): State<AppState>,
    Path((id, decision)): Path<(String, String)>,
    bearer: Bearer,
) -> AppResult<axum::Json<PartnershipView>> {
    let accept = match decision.as_str() {
        "accept" => true,
        "reject" => false,
        _ => return Err(not_found("route", &decision)),
    };
    let partnership = find_partnership(&state, &id).await?;
    if !partnership.owner.local {
        return Err(AppError::Forbidden(
            "seul le porteur de l'action répond à une demande".into(),
        ));
    }
    bearer.require_collectivite(partnership.owner.id)?;
    let answered = service::partnerships::answer(&state, &partnership, accept).await?;
    Ok(axum::Json(PartnershipView::new(answered, false)))
}

/// End an accepted partnership: the partner leaves (`Leave`), or the owner removes
/// the partner.
#[utoipa::path(delete, path = "/api/v1/partnership-requests/{id}", tag = "mutualisation",
    params(("id" = i64, Path, description = "Request id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Ended", body = PartnershipView),
        (status = 409, description = "Not an accepted partnership", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn end_partnership(
    State(state): State<AppState>,
    Path(id): Path<String>,
    bearer: Bearer,
) -> AppResult<axum::Json<PartnershipView>> {
    let partnership = find_partnership(&state, &id).await?;
    // The token's collectivité is the side that ends it (an admin token: the local one).
    let sides = [&partnership.requester, &partnership.owner];
    let side = sides
        .into_iter()
        .filter(|s| s.local)
        .find(|s| bearer.0.admin || bearer.0.actor_id == Some(s.id))
        .ok_or_else(|| {
            AppError::Forbidden("ce jeton n'est pas celui d'une collectivité du partenariat".into())
        })?;
    let by = state
        .store
        .collectivite_by_id(side.id)
        .await?
        .ok_or_else(|| not_found("collectivité", &side.id.to_string()))?;
    let sent = by.id == partnership.requester.id;
    let ended = service::partnerships::end(&state, &partnership, &by).await?;
    Ok(axum::Json(PartnershipView::new(ended, sent)))
}

/// A comment.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommentView {
    /// Comment id (for moderation).
    pub id: i64,
    /// ActivityPub id.
    pub ap_id: String,
    /// The action's id.
    pub action: String,
    /// The action's name.
    pub action_name: String,
    /// What it answers.
    pub in_reply_to: String,
    /// Author's id.
    pub author: String,
    /// Author's name.
    pub author_name: String,
    /// Author's `user@domain`.
    pub author_handle: String,
    /// Sanitised HTML.
    pub content: String,
    /// `pending`, `approved` or `rejected`.
    pub state: CommentState,
    /// Written on this node.
    pub local: bool,
    /// Published.
    pub published: DateTime<Utc>,
}

impl From<Comment> for CommentView {
    fn from(c: Comment) -> Self {
        Self {
            id: c.id,
            ap_id: c.ap_id.to_string(),
            action: c.action_ap_id.to_string(),
            action_name: c.action_name,
            in_reply_to: c.in_reply_to.to_string(),
            author: c.author_ap_id.to_string(),
            author_name: c.author_name,
            author_handle: c.author_handle,
            content: c.content_html,
            state: c.state,
            local: c.local,
            published: c.published,
        }
    }
}

/// A reply by the action's owner.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    /// Markdown.
    pub content: Option<String>,
    /// Id of the comment answered (its author is mentioned and notified); none: the
    /// action itself.
    pub in_reply_to: Option<i64>,
}

/// Approved comments of an action, oldest first (every comment for its editors).
#[utoipa::path(get, path = "/api/v1/actions/{id}/comments", tag = "mutualisation",
    params(("id" = String, Path, description = "Action uuid")),
    responses((status = 200, description = "Comments", body = [CommentView])))]
pub async fn list_comments(
    State(state): State<AppState>,
    Path(id): Path<String>,
    super::auth::MaybeBearer(token): super::auth::MaybeBearer,
) -> AppResult<axum::Json<Vec<CommentView>>> {
    let action = service::permissions::live_action(&state, &id).await?;
    let editor = token
        .as_ref()
        .is_some_and(|t| t.admin || t.actor_id == Some(action.owner.id));
    let comments = state.store.comments_of_action(action.db_id, editor).await?;
    Ok(axum::Json(
        comments.into_iter().map(CommentView::from).collect(),
    ))
}

/// The owner replies (a `Note` to its followers, mentioning the author answered).
#[utoipa::path(post, path = "/api/v1/actions/{id}/comments", tag = "mutualisation",
    params(("id" = String, Path, description = "Action uuid")),
    request_body = CommentBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Published", body = CommentView),
        (status = 422, description = "Empty or too long", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_comment(
    State(state): State<AppState>,
    Path(id): Path<String>,
    bearer: Bearer,
    ApiJson(body): ApiJson<CommentBody>,
) -> AppResult<impl IntoResponse> {
    let action = service::permissions::live_action(&state, &id).await?;
    if !action.owner.local {
        return Err(not_found("action", &id));
    }
    bearer.require_collectivite(action.owner.id)?;
    let author = state
        .store
        .collectivite_by_id(action.owner.id)
        .await?
        .ok_or_else(|| not_found("collectivité", &id))?;
    let answering = match body.in_reply_to {
        Some(comment_id) => Some(
            state
                .store
                .comment(comment_id)
                .await?
                .filter(|c| c.action_db_id == action.db_id)
                .ok_or_else(|| {
                    AppError::Validation(vec![FieldError::new(
                        "in_reply_to",
                        format!("aucun commentaire {comment_id} sur cette action"),
                    )])
                })?,
        ),
        None => None,
    };
    let content = body.content.unwrap_or_default();
    let comment =
        service::comments::reply(&state, &author, &action, answering.as_ref(), &content).await?;
    Ok((StatusCode::CREATED, axum::Json(CommentView::from(comment))))
}

/// Someone interested in an action.
#[derive(Debug, Serialize, ToSchema)]
pub struct InterestView {
    /// `Like` or `Announce`.
    pub kind: String,
    /// Actor id.
    pub actor: String,
    /// Name.
    pub name: String,
    /// `user@domain`.
    pub handle: String,
    /// A collectivité (`Organization`)?
    pub collectivite: bool,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Who liked or shared an action from the fediverse, newest first.
#[utoipa::path(get, path = "/api/v1/actions/{id}/interest", tag = "mutualisation",
    params(("id" = String, Path, description = "Action uuid")),
    responses((status = 200, description = "Likes and shares", body = [InterestView])))]
pub async fn interest(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<axum::Json<Vec<InterestView>>> {
    let action = service::permissions::live_action(&state, &id).await?;
    let list = state.store.interest_in(action.db_id).await?;
    Ok(axum::Json(
        list.into_iter()
            .map(|i| InterestView {
                collectivite: i.actor_type == "Organization",
                handle: format!("{}@{}", i.actor_username, i.actor_domain),
                name: if i.actor_name.is_empty() {
                    i.actor_username
                } else {
                    i.actor_name
                },
                actor: i.actor_ap_id,
                kind: i.kind,
                created_at: i.created_at,
            })
            .collect(),
    ))
}

/// `?state=&limit=&after=`.
#[derive(Debug, Deserialize)]
pub struct StateQuery {
    state: Option<String>,
    limit: Option<String>,
    after: Option<String>,
}

/// Comments listed per page by default, and at most.
const COMMENTS_PAGE: (i64, i64) = (100, 500);

/// Comments to moderate on this collectivité's actions (any local one for an admin
/// token), `state=pending` by default, by arrival, newest first; `limit` per page
/// (1–500, 100 by default), the next page `after` the last id of this one (given as
/// a `Link: <…>; rel="next"` header when the page is full).
#[utoipa::path(get, path = "/api/v1/moderation/comments", tag = "mutualisation",
    params(
        ("state" = Option<String>, Query, description = "`pending` (default), `approved` or `rejected`"),
        ("limit" = Option<i64>, Query, description = "Comments per page, 1–500 (100)"),
        ("after" = Option<i64>, Query, description = "The last comment id of the previous page"),
    ),
    security(("bearer" = [])),
    responses((status = 200, description = "Comments, newest arrival first", body = [CommentView])))]
pub async fn moderation_comments(
    State(state): State<AppState>,
    Query(query): Query<StateQuery>,
    bearer: Bearer,
) -> AppResult<Response> {
    let mut errors = crate::domain::FieldErrors::default();
    let wanted = match query.state.as_deref() {
        None => Some(CommentState::Pending),
        Some(s) => {
            let parsed = CommentState::parse(s);
            if parsed.is_none() {
                errors.push(
                    "state",
                    format!("« {s} » : pending, approved ou rejected attendu"),
                );
            }
            parsed
        }
    };
    let limit = match query.limit.as_deref().map(str::parse::<i64>) {
        None => COMMENTS_PAGE.0,
        Some(Ok(n)) if (1..=COMMENTS_PAGE.1).contains(&n) => n,
        Some(_) => {
            errors.push("limit", format!("un entier de 1 à {}", COMMENTS_PAGE.1));
            COMMENTS_PAGE.0
        }
    };
    let after = match query.after.as_deref().map(str::parse::<i64>) {
        None => None,
        Some(Ok(id)) if id > 0 => Some(id),
        Some(_) => {
            errors.push("after", "l'identifiant d'un commentaire attendu");
            None
        }
    };
    let wanted = errors.finish(|| wanted.expect("BUG: checked"))?;
    let owner = if bearer.0.admin {
        None
    } else {
        bearer.0.actor_id
    };
    let comments = state
        .store
        .comments_to_moderate(wanted, owner, after, limit)
        .await?;
    let next = (comments.len() as i64 == limit)
        .then(|| comments.last())
        .flatten()
        .map(|last| {
            state.url(&format!(
                "/api/v1/moderation/comments?state={}&limit={limit}&after={}",
                wanted.as_str(),
                last.id
            ))
        });
    let mut response = axum::Json(
        comments
            .into_iter()
            .map(CommentView::from)
            .collect::<Vec<_>>(),
    )
    .into_response();
    if let Some(next) = next {
        response.headers_mut().insert(
            axum::http::header::LINK,
            axum::http::HeaderValue::from_str(&format!("<{next}>; rel=\"next\""))
                .expect("BUG: a URL is a header value"),
        );
    }
    Ok(response)
}

/// Approve or reject a comment (`approve` or `reject`).
#[utoipa::path(post, path = "/api/v1/comments/{id}/{decision}", tag = "mutualisation",
    params(("id" = i64, Path, description = "Comment id"), ("decision" = String, Path, description = "`approve` or `reject`")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Moderated", body = CommentView),
        (status = 403, description = "Not the action owner's token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn moderate_comment(
    State(state): State<AppState>,
    Path((id, decision)): Path<(String, String)>,
    bearer: Bearer,
) -> AppResult<axum::Json<CommentView>> {
    let approve = match decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(not_found("route", &decision)),
    };
    let comment = state
        .store
        .comment(parse_id("commentaire", &id)?)
        .await?
        .ok_or_else(|| not_found("commentaire", &id))?;
    bearer.require_collectivite(comment.action_owner_id)?;
    let comment = service::comments::moderate(&state, &comment, approve).await?;
    Ok(axum::Json(CommentView::from(comment)))
}

/// A `Flag` report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    /// Report id.
    pub id: i64,
    /// Who reported.
    pub reporter: String,
    /// What (ids on this node).
    pub objects: Vec<String>,
    /// Their words.
    pub content: String,
    /// Received.
    pub created_at: DateTime<Utc>,
    /// Handled.
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Reports received (node-admin token), open ones first.
#[utoipa::path(get, path = "/api/v1/moderation/reports", tag = "mutualisation",
    security(("bearer" = [])),
    responses((status = 200, description = "Reports", body = [ReportView])))]
pub async fn list_reports(
    State(state): State<AppState>,
    bearer: Bearer,
) -> AppResult<axum::Json<Vec<ReportView>>> {
    bearer.require_admin()?;
    let reports = state.store.reports(false).await?;
    Ok(axum::Json(
        reports
            .into_iter()
            .map(|r| ReportView {
                id: r.id,
                reporter: r.reporter,
                objects: serde_json::from_str(&r.objects).unwrap_or_default(),
                content: r.content,
                created_at: r.created_at,
                resolved_at: r.resolved_at,
            })
            .collect(),
    ))
}

/// Mark a report handled (node-admin token).
#[utoipa::path(post, path = "/api/v1/moderation/reports/{id}/resolve", tag = "mutualisation",
    params(("id" = i64, Path, description = "Report id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Handled")))]
pub async fn resolve_report(
    State(state): State<AppState>,
    Path(id): Path<String>,
    bearer: Bearer,
) -> AppResult<StatusCode> {
    bearer.require_admin()?;
    if !state
        .store
        .resolve_report(parse_id("signalement", &id)?)
        .await?
    {
        return Err(not_found("signalement ouvert", &id));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// A block to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockBody {
    /// A domain (`spam.example`) or an actor's id (URL).
    pub target: Option<String>,
    /// Why (shown to other moderators).
    pub reason: Option<String>,
}

/// Blocked domains and actors (node-admin token).
#[utoipa::path(get, path = "/api/v1/moderation/blocks", tag = "mutualisation",
    security(("bearer" = [])),
    responses((status = 200, description = "Blocks", body = [Block])))]
pub async fn list_blocks(
    State(state): State<AppState>,
    bearer: Bearer,
) -> AppResult<axum::Json<Vec<Block>>> {
    bearer.require_admin()?;
    Ok(axum::Json(state.store.blocks().await?))
}

/// Block a domain or an actor (node-admin token): its activities get `403`, nothing
/// is fetched from or sent to it.
#[utoipa::path(post, path = "/api/v1/moderation/blocks", tag = "mutualisation",
    request_body = BlockBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Blocked", body = Block),
        (status = 422, description = "Not a domain or actor URL", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_block(
    State(state): State<AppState>,
    bearer: Bearer,
    ApiJson(body): ApiJson<BlockBody>,
) -> AppResult<impl IntoResponse> {
    bearer.require_admin()?;
    let block = service::moderation::block(
        &state,
        body.target.as_deref().unwrap_or_default(),
        body.reason.as_deref().unwrap_or_default(),
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(block)))
}

/// Lift a block (node-admin token).
#[utoipa::path(delete, path = "/api/v1/moderation/blocks/{id}", tag = "mutualisation",
    params(("id" = i64, Path, description = "Block id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Lifted")))]
pub async fn delete_block(
    State(state): State<AppState>,
    Path(id): Path<String>,
    bearer: Bearer,
) -> AppResult<StatusCode> {
    bearer.require_admin()?;
    service::moderation::unblock(&state, parse_id("blocage", &id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

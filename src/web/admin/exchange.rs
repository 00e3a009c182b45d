//! The admin's exchange pages (SPEC §5, §6): partnerships (ask to join an action,
//! answer the requests received, end a partnership), comments to moderate and answer,
//! follows, and the node's blocks and reports (node admins only; the domain policy on
//! the same page is in [`super::domains`]). Every POST carries the session's CSRF
//! token; a form with invalid input comes back (`422`) with the error next to its field
//! and what was typed; success redirects back to the page (`303`) with a short notice.
//! The work is done by `service`, as for the JSON API.

use activitypub_federation::config::Data;
use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use url::Url;

use super::Editor;
use crate::db::comments::{Comment, CommentState};
use crate::db::follows::FollowListing;
use crate::db::partnerships::{Partnership, PartnershipState, Side};
use crate::domain::Collectivite;
use crate::error::{AppError, AppResult, FieldError};
use crate::service;
use crate::state::AppState;
use crate::web::pages::{french_date, html};

/// The exchange routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/c/{username}/partenariats",
            get(partnerships_page).post(join),
        )
        .route("/admin/c/{username}/partenariats/demander", post(join))
        .route(
            "/admin/c/{username}/partenariats/{id}/{decision}",
            post(partnership_decision),
        )
        .route("/admin/c/{username}/commentaires", get(comments_page))
        .route(
            "/admin/c/{username}/commentaires/{id}/{decision}",
            post(comment_decision),
        )
        .route(
            "/admin/c/{username}/abonnements",
            get(follows_page).post(follow),
        )
        .route(
            "/admin/c/{username}/abonnements/{id}/retirer",
            post(unfollow),
        )
        .route("/admin/blocages", get(blocks_page).post(add_block))
        .route("/admin/blocages/{id}/lever", post(lift_block))
        .route("/admin/signalements/{id}/traite", post(resolve_report))
}

/// `?fait=`: what the last form did, shown once after its redirect.
#[derive(Debug, Deserialize, Default)]
pub struct Done {
    fait: Option<String>,
}

impl Done {
    /// The notice for a known code (anything else shows nothing).
    fn notice(&self) -> Option<String> {
        let text = match self.fait.as_deref()? {
            "demande" => {
                "Demande envoyée : la collectivité porteuse de l'action l'acceptera ou la refusera."
            }
            "acceptee" => {
                "Demande acceptée : la collectivité est désormais partenaire de l'action."
            }
            "refusee" => "Demande refusée.",
            "terminee" => "Le partenariat a pris fin.",
            "approuve" => "Commentaire approuvé : il est affiché sur la page de l'action.",
            "rejete" => "Commentaire rejeté : il reste masqué.",
            "reponse" => "Réponse publiée.",
            "abonnement" => {
                "Abonnement demandé : il sera actif une fois accepté par l'autre serveur."
            }
            "desabonnement" => "Abonnement retiré.",
            "blocage" => "Blocage enregistré : il s'applique immédiatement.",
            "leve" => "Blocage levé.",
            "autorisation" => "Domaine autorisé : l'autorisation s'applique immédiatement.",
            "retire" => "Domaine retiré des domaines autorisés.",
            "traite" => "Signalement marqué comme traité.",
            _ => return None,
        };
        Some(text.to_string())
    }
}

/// A form with only the CSRF token (buttons).
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct CsrfForm {
    pub(super) csrf: String,
}

fn not_found(what: &str, id: &str) -> AppError {
    AppError::NotFound(format!("aucun(e) {what} « {id} » pour cette collectivité"))
}

fn parse_id(what: &str, id: &str) -> AppResult<i64> {
    id.parse().map_err(|_| not_found(what, id))
}

/// The message of the errors on `field` (joined), if any.
pub(super) fn field_message(errors: &[FieldError], field: &str) -> Option<String> {
    let messages: Vec<&str> = errors
        .iter()
        .filter(|e| e.field == field)
        .map(|e| e.message.as_str())
        .collect();
    (!messages.is_empty()).then(|| messages.join(" ; "))
}

/// The message of errors on other fields than `known` (shown at the top of the page).
fn other_messages(errors: &[FieldError], known: &[&str]) -> Option<String> {
    let messages: Vec<String> = errors
        .iter()
        .filter(|e| !known.contains(&e.field.as_str()))
        .map(|e| format!("{} : {}", e.field, e.message))
        .collect();
    (!messages.is_empty()).then(|| messages.join(" ; "))
}

/// Back to a page after a form, with the notice `code`.
pub(super) fn done(path: &str, code: &str) -> Response {
    Redirect::to(&format!("{path}?fait={code}")).into_response()
}

/// A link target only when it is a web address.
fn web_link(url: &Url) -> Option<String> {
    matches!(url.scheme(), "http" | "https").then(|| url.to_string())
}

fn display_name(name: &str, username: &str) -> String {
    if name.trim().is_empty() {
        username.to_string()
    } else {
        name.to_string()
    }
}

// ---------------------------------------------------------------------------------
// Partnerships

/// One partnership request, from the side of the collectivité shown.
pub struct PartnershipItem {
    id: i64,
    action_name: String,
    action_url: Option<String>,
    /// The other collectivité.
    other_name: String,
    other_url: Option<String>,
    other_handle: String,
    state: &'static str,
    pending: bool,
    accepted: bool,
    date: String,
}

impl PartnershipItem {
    fn new(p: &Partnership, other: &Side) -> Self {
        Self {
            id: p.id,
            action_name: p.action_name.clone(),
            action_url: web_link(&p.action_ap_id),
            other_name: display_name(&other.name, &other.username),
            other_url: web_link(&other.ap_id),
            other_handle: format!("{}@{}", other.username, other.domain),
            state: p.state.label(),
            pending: p.state == PartnershipState::Pending,
            accepted: p.state == PartnershipState::Accepted,
            date: french_date(p.updated_at),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/exchange_partnerships.html")]
struct PartnershipsPage {
    node_name: String,
    csrf: String,
    username: String,
    name: String,
    notice: Option<String>,
    error: Option<String>,
    action: String,
    action_error: Option<String>,
    received: Vec<PartnershipItem>,
    sent: Vec<PartnershipItem>,
}

/// What a re-rendered page shows of a failed form.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    status: Option<StatusCode>,
    notice: Option<String>,
    error: Option<String>,
    errors: Vec<FieldError>,
}

impl Outcome {
    fn notice(done: &Done) -> Self {
        Self {
            notice: done.notice(),
            ..Self::default()
        }
    }

    /// A refused form: field errors next to their fields, others at the top.
    pub(super) fn failed(error: &AppError) -> Self {
        let (errors, message) = match error {
            AppError::Validation(errors) => (errors.clone(), None),
            AppError::Conflict {
                field: Some(field),
                message,
            } => (vec![FieldError::new(field.clone(), message.clone())], None),
            other => (Vec::new(), Some(other.to_string())),
        };
        Self {
            status: Some(error.status()),
            notice: None,
            error: message,
            errors,
        }
    }

    fn status(&self) -> StatusCode {
        self.status.unwrap_or(StatusCode::OK)
    }
}

/// An error a page shows itself (the user can act on it); others propagate.
pub(super) fn shown_on_page(error: &AppError) -> bool {
    matches!(
        error,
        AppError::Validation(_)
            | AppError::Conflict { .. }
            | AppError::Gone(_)
            | AppError::NotFound(_)
    )
}

async fn render_partnerships(
    state: &AppState,
    editor: &Editor,
    c: &Collectivite,
    action: String,
    outcome: Outcome,
) -> AppResult<Response> {
    let received = state
        .store
        .partnerships_of(c.id, false)
        .await?
        .iter()
        .map(|p| PartnershipItem::new(p, &p.requester))
        .collect();
    let sent = state
        .store
        .partnerships_of(c.id, true)
        .await?
        .iter()
        .map(|p| PartnershipItem::new(p, &p.owner))
        .collect();
    let mut error = outcome.error.clone();
    if let Some(others) = other_messages(&outcome.errors, &["action"]) {
        error = Some(others);
    }
    html(
        outcome.status(),
        &PartnershipsPage {
            node_name: state.settings.node.name.clone(),
            csrf: editor.session.csrf_token.clone(),
            username: c.profile.username.to_string(),
            name: c.profile.name.clone(),
            notice: outcome.notice.clone(),
            error,
            action,
            action_error: field_message(&outcome.errors, "action"),
            received,
            sent,
        },
    )
}

/// `GET /admin/c/{username}/partenariats`: the join form, requests received and sent.
pub async fn partnerships_page(
    State(state): State<AppState>,
    editor: Editor,
    Path(username): Path<String>,
    Query(done): Query<Done>,
) -> AppResult<Response> {
    let c = editor.collectivite(&username)?;
    render_partnerships(&state, &editor, c, String::new(), Outcome::notice(&done)).await
}

/// The join form.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct JoinForm {
    csrf: String,
    action: String,
}

fn action_url(typed: &str) -> AppResult<Url> {
    let invalid = |message: &str| AppError::Validation(vec![FieldError::new("action", message)]);
    if typed.is_empty() {
        return Err(invalid(
            "obligatoire : collez l'adresse (URL) de la page de l'action",
        ));
    }
    Url::parse(typed)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| {
            invalid("l'adresse (URL) de l'action est attendue, par exemple https://exemple.fr/actions/…")
        })
}

/// `POST /admin/c/{username}/partenariats[/demander]`: asks to join an action (a `Join`
/// to its owner). The page's form posts to the page itself, so that a session expired
/// meanwhile brings the editor back to the page after signing in.
pub async fn join(
    data: Data<AppState>,
    editor: Editor,
    Path(username): Path<String>,
    Form(form): Form<JoinForm>,
) -> AppResult<Response> {
    editor.check_csrf(&form.csrf)?;
    let c = editor.collectivite(&username)?;
    let typed = form.action.trim();
    let result = match action_url(typed) {
        Ok(url) => service::partnerships::request(&data, c, &url).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(_) => Ok(done(
            &format!("/admin/c/{}/partenariats", c.profile.username),
            "demande",
        )),
        Err(error) if shown_on_page(&error) => {
            render_partnerships(
                &data,
                &editor,
                c,
                typed.to_string(),
                Outcome::failed(&error),
            )
            .await
        }
        Err(error) => Err(error),
    }
}

/// `POST /admin/c/{username}/partenariats/{id}/{accepter|refuser|terminer}`.
pub async fn partnership_decision(
    State(state): State<AppState>,
    editor: Editor,
    Path((username, id, decision)): Path<(String, String, String)>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    editor.check_csrf(&form.csrf)?;
    let c = editor.collectivite(&username)?;
    let partnership = state
        .store
        .partnership(parse_id("demande de partenariat", &id)?)
        .await?
        .filter(|p| p.owner.id == c.id || p.requester.id == c.id)
        .ok_or_else(|| not_found("demande de partenariat", &id))?;
    let (result, code) = match decision.as_str() {
        "accepter" | "refuser" if partnership.owner.id == c.id => {
            let accept = decision == "accepter";
            (
                service::partnerships::answer(&state, &partnership, accept).await,
                if accept { "acceptee" } else { "refusee" },
            )
        }
        "terminer" => (
            service::partnerships::end(&state, &partnership, c).await,
            "terminee",
        ),
        _ => return Err(not_found("demande de partenariat", &id)),
    };
    match result {
        Ok(_) => Ok(done(
            &format!("/admin/c/{}/partenariats", c.profile.username),
            code,
        )),
        Err(error) if shown_on_page(&error) => {
            render_partnerships(&state, &editor, c, String::new(), Outcome::failed(&error)).await
        }
        Err(error) => Err(error),
    }
}

// ---------------------------------------------------------------------------------
// Comments

/// A comment on one of the collectivité's actions.
pub struct CommentItem {
    id: i64,
    action_name: String,
    action_url: Option<String>,
    author_name: String,
    author_handle: String,
    author_url: Option<String>,
    /// Sanitised when stored.
    content: String,
    date: String,
    pending: bool,
    /// The reply typed (kept on error).
    reply: String,
    reply_error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/exchange_comments.html")]
struct CommentsPage {
    node_name: String,
    csrf: String,
    username: String,
    name: String,
    notice: Option<String>,
    error: Option<String>,
    pending: Vec<CommentItem>,
    /// All the comments waiting, when more than this page shows.
    pending_total: i64,
    /// The next page of the queue (older arrivals), when there is one.
    older: Option<String>,
    published: Vec<CommentItem>,
}

/// How many published comments the page offers to answer.
const PUBLISHED_SHOWN: usize = 30;
/// Comments waiting for moderation shown per page, newest arrival first.
const PENDING_PAGE: i64 = 50;

/// `?apres=ID`: the page of the queue after the comment `ID`.
#[derive(Debug, Deserialize)]
pub struct QueuePage {
    apres: Option<i64>,
}

fn comment_item(comment: &Comment, reply: Option<(&str, &Outcome)>) -> CommentItem {
    CommentItem {
        id: comment.id,
        action_name: comment.action_name.clone(),
        action_url: web_link(&comment.action_ap_id),
        author_name: comment.author_name.clone(),
        author_handle: comment.author_handle.clone(),
        author_url: comment
            .url
            .as_ref()
            .and_then(web_link)
            .or_else(|| web_link(&comment.author_ap_id)),
        content: comment.content_html.clone(),
        date: french_date(comment.published),
        pending: comment.state == CommentState::Pending,
        reply: reply
            .map(|(typed, _)| typed.to_string())
            .unwrap_or_default(),
        reply_error: reply.and_then(|(_, outcome)| field_message(&outcome.errors, "content")),
    }
}

async fn render_comments(
    state: &AppState,
    editor: &Editor,
    c: &Collectivite,
    reply: Option<(i64, &str)>,
    outcome: Outcome,
    after: Option<i64>,
) -> AppResult<Response> {
    let typed = |comment: &Comment| {
        reply
            .filter(|(id, _)| *id == comment.id)
            .map(|(_, text)| (text, &outcome))
    };
    let waiting = state
        .store
        .comments_to_moderate(CommentState::Pending, Some(c.id), after, PENDING_PAGE)
        .await?;
    let older = (waiting.len() as i64 == PENDING_PAGE)
        .then(|| waiting.last())
        .flatten()
        .map(|last| {
            format!(
                "/admin/c/{}/commentaires?apres={}",
                c.profile.username, last.id
            )
        });
    let pending = waiting
        .iter()
        .map(|comment| comment_item(comment, typed(comment)))
        .collect();
    let pending_total = state
        .store
        .count_comments_to_moderate(CommentState::Pending, c.id)
        .await?;
    let published = state
        .store
        .comments_to_moderate(
            CommentState::Approved,
            Some(c.id),
            None,
            4 * PUBLISHED_SHOWN as i64,
        )
        .await?
        .iter()
        .filter(|comment| comment.author_id != c.id)
        .take(PUBLISHED_SHOWN)
        .map(|comment| comment_item(comment, typed(comment)))
        .collect();
    let mut error = outcome.error.clone();
    if let Some(others) = other_messages(&outcome.errors, &["content"]) {
        error = Some(others);
    }
    html(
        outcome.status(),
        &CommentsPage {
            node_name: state.settings.node.name.clone(),
            csrf: editor.session.csrf_token.clone(),
            username: c.profile.username.to_string(),
            name: c.profile.name.clone(),
            notice: outcome.notice.clone(),
            error,
            pending,
            pending_total,
            older,
            published,
        },
    )
}

/// `GET /admin/c/{username}/commentaires`: comments to moderate, and the latest
/// published ones, each with a reply form.
pub async fn comments_page(
    State(state): State<AppState>,
    editor: Editor,
    Path(username): Path<String>,
    Query(done): Query<Done>,
    Query(page): Query<QueuePage>,
) -> AppResult<Response> {
    let c = editor.collectivite(&username)?;
    render_comments(&state, &editor, c, None, Outcome::notice(&done), page.apres).await
}

/// A moderation button or the reply form.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct CommentForm {
    csrf: String,
    content: String,
}

/// `POST /admin/c/{username}/commentaires/{id}/{approuver|rejeter|repondre}`.
pub async fn comment_decision(
    State(state): State<AppState>,
    editor: Editor,
    Path((username, id, decision)): Path<(String, String, String)>,
    Form(form): Form<CommentForm>,
) -> AppResult<Response> {
    editor.check_csrf(&form.csrf)?;
    let c = editor.collectivite(&username)?;
    let comment = state
        .store
        .comment(parse_id("commentaire", &id)?)
        .await?
        .filter(|comment| comment.action_owner_id == c.id)
        .ok_or_else(|| not_found("commentaire", &id))?;
    let page = format!("/admin/c/{}/commentaires", c.profile.username);
    match decision.as_str() {
        "approuver" | "rejeter" => {
            let approve = decision == "approuver";
            service::comments::moderate(&state, &comment, approve).await?;
            Ok(done(&page, if approve { "approuve" } else { "rejete" }))
        }
        "repondre" => {
            let action = state
                .store
                .action_by_ap_id(&comment.action_ap_id)
                .await?
                .filter(|a| a.owner.id == c.id && a.deleted.is_none())
                .ok_or_else(|| AppError::Gone("cette action a été supprimée".into()))?;
            match service::comments::reply(&state, c, &action, Some(&comment), &form.content).await
            {
                Ok(_) => Ok(done(&page, "reponse")),
                Err(error) if shown_on_page(&error) => {
                    render_comments(
                        &state,
                        &editor,
                        c,
                        Some((comment.id, &form.content)),
                        Outcome::failed(&error),
                        None,
                    )
                    .await
                }
                Err(error) => Err(error),
            }
        }
        _ => Err(not_found("commentaire", &id)),
    }
}

// ---------------------------------------------------------------------------------
// Follows

/// A follow, either way.
pub struct FollowItem {
    id: i64,
    name: String,
    handle: String,
    url: Option<String>,
    state: &'static str,
    date: String,
}

impl From<&FollowListing> for FollowItem {
    fn from(f: &FollowListing) -> Self {
        Self {
            id: f.id,
            name: display_name(&f.actor_name, &f.actor_username),
            handle: format!("{}@{}", f.actor_username, f.actor_domain),
            url: Url::parse(&f.actor_ap_id).ok().as_ref().and_then(web_link),
            state: f.state.label(),
            date: french_date(f.published),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/exchange_follows.html")]
struct FollowsPage {
    node_name: String,
    csrf: String,
    username: String,
    name: String,
    handle: String,
    notice: Option<String>,
    error: Option<String>,
    target: String,
    target_error: Option<String>,
    following: Vec<FollowItem>,
    followers: Vec<FollowItem>,
}

async fn render_follows(
    state: &AppState,
    editor: &Editor,
    c: &Collectivite,
    target: String,
    outcome: Outcome,
) -> AppResult<Response> {
    let following = state
        .store
        .following_of(c.id)
        .await?
        .iter()
        .map(FollowItem::from)
        .collect();
    let followers = state
        .store
        .followers_of(c.id)
        .await?
        .iter()
        .map(FollowItem::from)
        .collect();
    let mut error = outcome.error.clone();
    if let Some(others) = other_messages(&outcome.errors, &["target"]) {
        error = Some(others);
    }
    html(
        outcome.status(),
        &FollowsPage {
            node_name: state.settings.node.name.clone(),
            csrf: editor.session.csrf_token.clone(),
            username: c.profile.username.to_string(),
            name: c.profile.name.clone(),
            handle: c.handle(),
            notice: outcome.notice.clone(),
            error,
            target,
            target_error: field_message(&outcome.errors, "target"),
            following,
            followers,
        },
    )
}

/// `GET /admin/c/{username}/abonnements`: follows, followers, the follow form.
pub async fn follows_page(
    State(state): State<AppState>,
    editor: Editor,
    Path(username): Path<String>,
    Query(done): Query<Done>,
) -> AppResult<Response> {
    let c = editor.collectivite(&username)?;
    render_follows(&state, &editor, c, String::new(), Outcome::notice(&done)).await
}

/// The follow form.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct FollowForm {
    csrf: String,
    target: String,
}

async fn local_actor(
    state: &AppState,
    c: &Collectivite,
) -> AppResult<crate::db::actors::ActorRecord> {
    state
        .store
        .actor_by_id(c.id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("collectivité « {} »", c.profile.username)))
}

/// `POST /admin/c/{username}/abonnements`: follows a remote actor (a signed `Follow`).
pub async fn follow(
    data: Data<AppState>,
    editor: Editor,
    Path(username): Path<String>,
    Form(form): Form<FollowForm>,
) -> AppResult<Response> {
    editor.check_csrf(&form.csrf)?;
    let c = editor.collectivite(&username)?;
    let typed = form.target.trim();
    let result = if typed.is_empty() {
        Err(AppError::Validation(vec![FieldError::new(
            "target",
            "obligatoire : acct:utilisateur@domaine ou l'adresse de l'acteur",
        )]))
    } else {
        let actor = local_actor(&data, c).await?;
        service::follows::follow(&data, &actor, typed).await
    };
    match result {
        Ok(_) => Ok(done(
            &format!("/admin/c/{}/abonnements", c.profile.username),
            "abonnement",
        )),
        Err(error) if shown_on_page(&error) => {
            render_follows(
                &data,
                &editor,
                c,
                typed.to_string(),
                Outcome::failed(&error),
            )
            .await
        }
        Err(error) => Err(error),
    }
}

/// `POST /admin/c/{username}/abonnements/{id}/retirer`: `Undo{Follow}`.
pub async fn unfollow(
    State(state): State<AppState>,
    editor: Editor,
    Path((username, id)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    editor.check_csrf(&form.csrf)?;
    let c = editor.collectivite(&username)?;
    let id = parse_id("abonnement", &id)?;
    let actor = local_actor(&state, c).await?;
    service::follows::unfollow(&state, &actor, id).await?;
    Ok(done(
        &format!("/admin/c/{}/abonnements", c.profile.username),
        "desabonnement",
    ))
}

// ---------------------------------------------------------------------------------
// Blocks and reports (node admins)

/// A block.
pub struct BlockItem {
    id: i64,
    target: String,
    kind: &'static str,
    reason: String,
    date: String,
}

/// One reported object.
pub struct ReportedObject {
    text: String,
    link: bool,
}

/// A report.
pub struct ReportItem {
    id: i64,
    reporter: String,
    reporter_link: bool,
    objects: Vec<ReportedObject>,
    content: String,
    date: String,
    resolved: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/exchange_blocks.html")]
struct BlocksPage {
    node_name: String,
    csrf: String,
    notice: Option<String>,
    error: Option<String>,
    target: String,
    target_error: Option<String>,
    reason: String,
    reason_error: Option<String>,
    blocks: Vec<BlockItem>,
    reports: Vec<ReportItem>,
    /// The domain policy: mode, allowed domains, import and export.
    policy: super::domains::PolicyView,
}

/// What the blocks page shows again of its forms.
#[derive(Debug, Default)]
pub(super) struct BlocksForms {
    /// The block form: the target and the reason typed.
    pub(super) block: (String, String),
    /// The allow form and the import.
    pub(super) policy: super::domains::PolicyForms,
}

pub(super) fn require_admin(editor: &Editor) -> AppResult<()> {
    if editor.session.user.admin {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "page réservée à l'administration du nœud".into(),
        ))
    }
}

fn is_web(text: &str) -> bool {
    Url::parse(text).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

pub(super) async fn render_blocks(
    state: &AppState,
    editor: &Editor,
    forms: BlocksForms,
    outcome: Outcome,
) -> AppResult<Response> {
    let blocks = state
        .store
        .blocks()
        .await?
        .into_iter()
        .map(|b| BlockItem {
            id: b.id,
            kind: if b.kind == "domain" {
                "domaine"
            } else {
                "acteur"
            },
            target: b.target,
            reason: b.reason,
            date: french_date(b.created_at),
        })
        .collect();
    let reports = state
        .store
        .reports(false)
        .await?
        .into_iter()
        .map(|r| ReportItem {
            id: r.id,
            reporter_link: is_web(&r.reporter),
            reporter: r.reporter,
            objects: serde_json::from_str::<Vec<String>>(&r.objects)
                .unwrap_or_default()
                .into_iter()
                .map(|text| ReportedObject {
                    link: is_web(&text),
                    text,
                })
                .collect(),
            content: r.content,
            date: french_date(r.created_at),
            resolved: r.resolved_at.map(french_date),
        })
        .collect();
    let mut error = outcome.error.clone();
    let known = [&["target", "reason"][..], super::domains::FIELDS].concat();
    if let Some(others) = other_messages(&outcome.errors, &known) {
        error = Some(others);
    }
    let policy = super::domains::policy_view(state, forms.policy, &outcome.errors).await?;
    let typed = forms.block;
    html(
        outcome.status(),
        &BlocksPage {
            node_name: state.settings.node.name.clone(),
            csrf: editor.session.csrf_token.clone(),
            notice: outcome.notice.clone(),
            error,
            target: typed.0,
            target_error: field_message(&outcome.errors, "target"),
            reason: typed.1,
            reason_error: field_message(&outcome.errors, "reason"),
            blocks,
            reports,
            policy,
        },
    )
}

/// `GET /admin/blocages` (node admins): blocks, the block form, reports.
pub async fn blocks_page(
    State(state): State<AppState>,
    editor: Editor,
    Query(done): Query<Done>,
) -> AppResult<Response> {
    require_admin(&editor)?;
    render_blocks(&state, &editor, Default::default(), Outcome::notice(&done)).await
}

/// The block form.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct BlockForm {
    csrf: String,
    target: String,
    reason: String,
}

/// Longest reason kept.
pub(super) const MAX_REASON_CHARS: usize = 500;

/// `POST /admin/blocages`: blocks a domain or an actor.
pub async fn add_block(
    State(state): State<AppState>,
    editor: Editor,
    Form(form): Form<BlockForm>,
) -> AppResult<Response> {
    editor.check_csrf(&form.csrf)?;
    require_admin(&editor)?;
    let result = if form.reason.chars().count() > MAX_REASON_CHARS {
        Err(AppError::Validation(vec![FieldError::new(
            "reason",
            format!("{MAX_REASON_CHARS} caractères au plus"),
        )]))
    } else {
        service::moderation::block(&state, &form.target, &form.reason).await
    };
    match result {
        Ok(_) => Ok(done("/admin/blocages", "blocage")),
        Err(error) if shown_on_page(&error) => {
            render_blocks(
                &state,
                &editor,
                BlocksForms {
                    block: (form.target.trim().to_string(), form.reason),
                    ..Default::default()
                },
                Outcome::failed(&error),
            )
            .await
        }
        Err(error) => Err(error),
    }
}

/// `POST /admin/blocages/{id}/lever`.
pub async fn lift_block(
    State(state): State<AppState>,
    editor: Editor,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    editor.check_csrf(&form.csrf)?;
    require_admin(&editor)?;
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::NotFound(format!("aucun blocage « {id} »")))?;
    match service::moderation::unblock(&state, id).await {
        Ok(()) => Ok(done("/admin/blocages", "leve")),
        Err(error @ AppError::NotFound(_)) => {
            render_blocks(&state, &editor, Default::default(), Outcome::failed(&error)).await
        }
        Err(error) => Err(error),
    }
}

/// `POST /admin/signalements/{id}/traite`: marks a report handled.
pub async fn resolve_report(
    State(state): State<AppState>,
    editor: Editor,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    editor.check_csrf(&form.csrf)?;
    require_admin(&editor)?;
    let missing = || AppError::NotFound(format!("aucun signalement ouvert « {id} »"));
    let report: i64 = id.parse().map_err(|_| missing())?;
    if state.store.resolve_report(report).await? {
        Ok(done("/admin/blocages", "traite"))
    } else {
        render_blocks(
            &state,
            &editor,
            Default::default(),
            Outcome::failed(&missing()),
        )
        .await
    }
}

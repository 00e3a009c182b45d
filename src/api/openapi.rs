//! The OpenAPI 3.1 document of the JSON API, generated from the handlers' annotations
//! and the DTOs (utoipa), served at `GET /api/openapi.json`.

use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::state::AppState;

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Maillage API",
        description = "API JSON d'un nœud Maillage : collectivités et actions numériques publiques. Errors are RFC 9457 problem+json.",
        license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later"),
    ),
    paths(
        super::collectivites::create_collectivite,
        super::collectivites::list_collectivites,
        super::collectivites::get_collectivite,
        super::collectivites::update_collectivite,
        super::collectivites::check_website,
        super::collectivites::delete_collectivite,
        super::actions::create_action,
        super::actions::list_actions,
        super::actions::get_action,
        super::actions::list_nearby,
        super::actions::update_action,
        super::actions::delete_action,
        super::follows::create_follow,
        super::follows::list_follows,
        super::follows::delete_follow,
        super::follows::list_followers,
        super::partnerships::create_request,
        super::partnerships::list_requests,
        super::partnerships::answer_request,
        super::partnerships::end_partnership,
        super::comments::list_comments,
        super::comments::create_comment,
        super::interest::interest,
        super::comments::moderation_comments,
        super::comments::moderate_comment,
        super::reports::list_reports,
        super::reports::resolve_report,
        super::blocks::list_blocks,
        super::blocks::create_block,
        super::blocks::delete_block,
        super::admission::list_admission,
        super::admission::decide_admission,
        super::admission::list_held,
        super::admission::release,
        super::admission::delete_held,
        super::domains::list_allows,
        super::domains::create_allow,
        super::domains::delete_allow,
        super::domains::export_blocks,
        super::domains::import_blocks,
        super::domains::export_allows,
        super::domains::import_allows,
        super::directory::search_actions,
        super::directory::list_collectivites,
        super::directory::stats,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "collectivites", description = "Collectivités hosted on this node"),
        (name = "actions", description = "Digital public actions"),
        (name = "follows", description = "Follows and followers across the fediverse"),
        (name = "mutualisation", description = "Partnerships, comments, interest and moderation"),
        (name = "directory", description = "The directory: this node's actions and those it follows"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("Token from `maillage token create`"))
                    .build(),
            ),
        );
    }
}

/// `GET /api/openapi.json`.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/openapi.json",
        get(|| async { Json(ApiDoc::openapi()) }),
    )
}

//! Discovery documents: WebFinger (acct and actor-URL resources, the instance actor as
//! `acct:<domain>@<domain>`, FEP-d556), host-meta, and NodeInfo 2.1 (with the instance
//! actor link of FEP-2677).

use axum::Json;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AS2_CONTENT_TYPE;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// `?resource=` of a WebFinger query.
#[derive(Debug, Deserialize)]
pub struct WebfingerQuery {
    resource: Option<String>,
}

/// A JRD link.
#[derive(Debug, Serialize)]
struct JrdLink {
    rel: &'static str,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    href: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    template: Option<String>,
}

/// What a WebFinger resource names on this node.
enum Resource {
    Instance,
    Actor(String),
}

fn parse_resource(state: &AppState, resource: &str) -> AppResult<Resource> {
    let domain = &state.settings.domain;
    if let Some(acct) = resource.strip_prefix("acct:") {
        let acct = acct.trim_start_matches('@');
        let Some((user, host)) = acct.rsplit_once('@') else {
            return Err(AppError::BadRequest(format!(
                "ressource « {resource} » invalide : acct:utilisateur@domaine attendu"
            )));
        };
        if !host.eq_ignore_ascii_case(domain) {
            return Err(AppError::NotFound(format!(
                "« {host} » n'est pas le domaine de ce nœud ({domain})"
            )));
        }
        if user.eq_ignore_ascii_case(domain) {
            return Ok(Resource::Instance);
        }
        return Ok(Resource::Actor(user.to_lowercase()));
    }
    let base = &state.base;
    if resource == format!("{base}/actor") || resource == format!("{base}/") || resource == *base {
        return Ok(Resource::Instance);
    }
    if let Some(user) = resource.strip_prefix(&format!("{base}/actors/")) {
        return Ok(Resource::Actor(user.trim_end_matches('/').to_string()));
    }
    if let Some(group) = resource.strip_prefix(&format!("{base}/groups/")) {
        return Ok(Resource::Actor(group.trim_end_matches('/').to_string()));
    }
    Err(AppError::NotFound(format!(
        "ressource « {resource} » inconnue sur ce nœud"
    )))
}

/// `GET /.well-known/webfinger?resource=acct:user@domain` (or the actor URL).
pub async fn webfinger(
    State(state): State<AppState>,
    Query(query): Query<WebfingerQuery>,
) -> AppResult<Response> {
    let resource = query
        .resource
        .filter(|r| !r.is_empty())
        .ok_or_else(|| AppError::BadRequest("paramètre « resource » manquant".into()))?;
    let domain = &state.settings.domain;
    let (subject, actor_url, profile_url, kind) = match parse_resource(&state, &resource)? {
        Resource::Instance => (
            format!("acct:{domain}@{domain}"),
            state.url("/actor"),
            state.url("/"),
            "Application",
        ),
        Resource::Actor(user)
            if state.settings.aggregator.enabled
                && crate::domain::GroupKind::parse(&user).is_some()
                && state.store.local_collectivite(&user).await?.is_none() =>
        {
            let (kind, group) = super::groups::group(&state, &user).await?;
            (
                format!("acct:{}@{domain}", group.username),
                group.ap_id.clone(),
                state.url(&kind.page()),
                "Group",
            )
        }
        Resource::Actor(user) => {
            let collectivite = state
                .store
                .local_collectivite(&user)
                .await?
                .ok_or_else(|| AppError::NotFound(format!("aucune collectivité « {user} » ici")))?;
            (
                format!("acct:{}@{domain}", collectivite.profile.username),
                collectivite.ap_id.clone(),
                collectivite.ap_id,
                "Organization",
            )
        }
    };
    let body = json!({
        "subject": subject,
        "aliases": [actor_url],
        "links": [
            JrdLink { rel: "self", kind: Some(AS2_CONTENT_TYPE), href: Some(actor_url.to_string()), template: None },
            JrdLink { rel: "http://webfinger.net/rel/profile-page", kind: Some("text/html"), href: Some(profile_url.to_string()), template: None },
        ],
        "properties": { "https://www.w3.org/ns/activitystreams#type": kind },
    });
    Ok((
        [(header::CONTENT_TYPE, "application/jrd+json; charset=utf-8")],
        Json(body),
    )
        .into_response())
}

/// `GET /.well-known/host-meta` (XRD pointing at WebFinger).
pub async fn host_meta(State(state): State<AppState>) -> Response {
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">
  <Link rel="lrdd" type="application/jrd+json" template="{}/.well-known/webfinger?resource={{uri}}"/>
</XRD>
"#,
        state.base
    );
    (
        [(header::CONTENT_TYPE, "application/xrd+xml; charset=utf-8")],
        body,
    )
        .into_response()
}

/// `GET /.well-known/nodeinfo`: where NodeInfo and the instance actor are.
pub async fn nodeinfo_links(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "links": [
            {
                "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
                "href": state.url("/nodeinfo/2.1"),
            },
            {
                "rel": "https://www.w3.org/ns/activitystreams#Application",
                "href": state.url("/actor"),
            }
        ]
    }))
}

/// `GET /nodeinfo/2.1`: software, protocols, usage, hosted collectivités.
pub async fn nodeinfo(State(state): State<AppState>) -> AppResult<Response> {
    let collectivites = state.store.local_collectivites().await?;
    let actions = state.store.count_local_actions().await?;
    let users = collectivites.len() as i64;
    let now = chrono::Utc::now();
    let active_month = state
        .store
        .count_active_collectivites(now - chrono::Duration::days(30))
        .await?;
    let active_halfyear = state
        .store
        .count_active_collectivites(now - chrono::Duration::days(180))
        .await?;
    let hosted: Vec<Value> = collectivites
        .iter()
        .map(|c| {
            json!({
                "username": c.profile.username,
                "name": c.profile.name,
                "kind": c.profile.kind.as_str(),
                "insee": c.profile.insee,
                "actor": c.ap_id,
            })
        })
        .collect();
    let body = json!({
        "version": "2.1",
        "software": {
            "name": "maillage",
            "version": env!("CARGO_PKG_VERSION"),
        },
        "protocols": ["activitypub"],
        "services": { "inbound": [], "outbound": [] },
        "openRegistrations": false,
        "usage": {
            "users": { "total": users, "activeMonth": active_month, "activeHalfyear": active_halfyear },
            "localPosts": actions,
        },
        "metadata": {
            "nodeName": state.settings.node.name,
            "nodeDescription": state.settings.node.description,
            "collectivites": hosted,
        },
    });
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.1#\"",
        )],
        Json(body),
    )
        .into_response())
}

//! Page handlers and their view structs. Templates never see rows or wire structs.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use crate::directory::SearchQuery;
use crate::directory::search::Facet;
use crate::domain::{Action, Collectivite, french};
use crate::error::{AppError, AppResult};
use crate::federation::vocabulary::{TERMS, Term};
use crate::referential::Referential;
use crate::state::AppState;
use crate::taxonomy::Taxonomy;

use super::words;

pub(crate) fn french_date(date: DateTime<Utc>) -> String {
    super::words::date(date)
}

/// Renders `template` as an HTML response with `status`.
pub fn html(status: StatusCode, template: &impl Template) -> AppResult<Response> {
    let body = template
        .render()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("template: {e}")))?;
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    // Scripts only from the node itself (remote content can never run script here);
    // map tiles may come from any https server.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data: https:; connect-src 'self'; frame-ancestors 'none'; \
             base-uri 'self'; form-action 'self'",
        ),
    );
    Ok(response)
}

/// An action in a list.
pub struct ActionCard {
    pub(crate) url: String,
    pub(crate) name: String,
    pub(crate) summary: String,
    pub(crate) owner_name: String,
    pub(crate) owner_url: String,
    pub(crate) phase: &'static str,
    pub(crate) updated: String,
    pub(crate) themes: Vec<(String, String)>,
    /// The owner invites other collectivités to join (shown as a badge).
    pub(crate) open_to_partners: bool,
    /// When the owner's official website was verified ("7 décembre 2026"); `None`:
    /// marked "non vérifiée".
    pub(crate) owner_verified: Option<String>,
}

fn theme_pairs(action: &Action) -> Vec<(String, String)> {
    action
        .data
        .themes
        .iter()
        .map(|t| (t.to_string(), t.theme().label.clone()))
        .collect()
}

impl From<&Action> for ActionCard {
    fn from(action: &Action) -> Self {
        // Only http(s) pages become links (a remote `url` is checked on arrival too).
        let url = if matches!(action.url.scheme(), "http" | "https") {
            &action.url
        } else {
            &action.ap_id
        };
        Self {
            url: url.to_string(),
            name: action.data.name.clone(),
            summary: action.display_summary(),
            owner_name: action.owner.name.clone(),
            owner_url: action.owner.ap_id.to_string(),
            phase: action.data.phase.label(),
            updated: french_date(action.updated),
            themes: theme_pairs(action),
            open_to_partners: action.data.open_to_partners && action.deleted.is_none(),
            owner_verified: action.owner.website_verified_at.map(french_date),
        }
    }
}

/// A collectivité in a list.
pub struct CollectiviteLink {
    url: String,
    name: String,
}

/// A filter option with its facet count.
pub struct FilterOption {
    key: String,
    label: String,
    count: i64,
    selected: bool,
}

/// The themes of one axe, as filter options.
pub struct AxeOptions {
    label: String,
    options: Vec<FilterOption>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    node_name: String,
    description: String,
    collectivites: Vec<CollectiviteLink>,
    q: String,
    axes: Vec<AxeOptions>,
    phases: Vec<FilterOption>,
    departements: Vec<FilterOption>,
    regions: Vec<FilterOption>,
    partnered: bool,
    open_to_partners: bool,
    unverified: bool,
    total: i64,
    /// "45 actions".
    total_text: String,
    /// "Actions 1 à 20 sur 45".
    range_text: String,
    /// Filters in use (said on the closed panel).
    filters_active: usize,
    filters_active_text: String,
    actions: Vec<ActionCard>,
    query_suffix: String,
    map_suffix: String,
    tile_url: String,
    attribution: String,
    /// Says who serves third-party tiles (empty with the outline alone).
    tiles_notice: String,
    error: Option<String>,
    prev_url: Option<String>,
    next_url: Option<String>,
}

fn options(facets: &[Facet], selected: &[String]) -> Vec<FilterOption> {
    let mut options: Vec<FilterOption> = facets
        .iter()
        .map(|f| FilterOption {
            key: f.key.clone(),
            label: if f.label.is_empty() {
                f.key.clone()
            } else {
                format!("{} ({})", f.label, f.key)
            },
            count: f.count,
            selected: selected.contains(&f.key),
        })
        .collect();
    options.sort_by(|a, b| a.key.cmp(&b.key));
    options
}

/// The filters a query applies, as the panel counts them: each theme, phase and
/// status, and each other criterion set (not the sort, the page size or the page, nor
/// unknown parameters).
fn active_filters(query: &SearchQuery) -> usize {
    let set = [
        query.q.is_some(),
        query.insee.is_some(),
        query.departement.is_some(),
        query.region.is_some(),
        query.epci.is_some(),
        query.collectivite.is_some(),
        query.partnered,
        query.open_to_partners,
        query.unverified,
        query.bbox.is_some(),
        query.updated_since.is_some(),
        query.software.is_some(),
        query.provider.is_some(),
    ];
    query.themes.len()
        + query.phases.len()
        + query.statuses.len()
        + set.into_iter().filter(|s| *s).count()
}

/// `GET /`: the directory — search form with facet counts, the map, the results.
pub async fn home_page(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    client: crate::limits::ClientAddress,
) -> AppResult<Response> {
    let raw = raw.unwrap_or_default();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let (query, error) =
        match SearchQuery::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
            Ok(query) => (query, None),
            Err(error) => (
                SearchQuery {
                    limit: 20,
                    ..Default::default()
                },
                Some(
                    error
                        .problem()
                        .errors
                        .iter()
                        .map(|e| format!("{} : {}", e.field, e.message))
                        .collect::<Vec<_>>()
                        .join(" ; "),
                ),
            ),
        };
    crate::service::directory::charge(&state, &client, &query)?;
    let page = crate::service::directory::search(&state, &query).await?;
    let collectivites = state.store.local_collectivites().await?;
    let kept: Vec<&(String, String)> = pairs.iter().filter(|(k, _)| k != "cursor").collect();
    let suffix = |extra: Option<(&str, String)>| {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &kept {
            serializer.append_pair(k, v);
        }
        if let Some((k, v)) = extra {
            serializer.append_pair(k, &v);
        }
        let text = serializer.finish();
        if text.is_empty() {
            String::new()
        } else {
            format!("?{text}")
        }
    };
    let themes_selected: Vec<String> = query.themes.iter().map(|t| t.to_string()).collect();
    let taxonomy = Taxonomy::global();
    let axes = taxonomy
        .axes
        .iter()
        .map(|axe| AxeOptions {
            label: axe.label.clone(),
            options: axe
                .themes
                .iter()
                .map(|t| FilterOption {
                    key: t.slug.clone(),
                    label: t.label.clone(),
                    count: page
                        .facets
                        .theme
                        .iter()
                        .find(|f| f.key == t.slug)
                        .map(|f| f.count)
                        .unwrap_or(0),
                    selected: themes_selected.contains(&t.slug),
                })
                .collect(),
        })
        .collect();
    let phases = crate::domain::Phase::ALL
        .iter()
        .map(|p| FilterOption {
            key: p.as_str().into(),
            label: p.label().into(),
            count: page
                .facets
                .phase
                .iter()
                .find(|f| f.key == p.as_str())
                .map(|f| f.count)
                .unwrap_or(0),
            selected: query.phases.contains(p),
        })
        .collect();
    let prev_url = (query.offset > 0).then(|| {
        let offset = (query.offset - query.limit).max(0);
        format!(
            "/{}",
            suffix((offset > 0).then(|| ("cursor", offset.to_string())))
        )
    });
    let next_url = page
        .next
        .as_ref()
        .map(|next| format!("/{}", suffix(Some(("cursor", next.clone())))));
    let filters_active = active_filters(&query);
    let (tile_url, attribution, tiles_notice) = state.settings.map.for_pages();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    html(
        status,
        &HomePage {
            node_name: state.settings.node.name.clone(),
            description: state.settings.node.description.clone(),
            collectivites: collectivites
                .iter()
                .map(|c| CollectiviteLink {
                    url: c.ap_id.to_string(),
                    name: c.profile.name.clone(),
                })
                .collect(),
            q: query.q.clone().unwrap_or_default(),
            axes,
            phases,
            departements: options(
                &page.facets.departement,
                &query.departement.iter().cloned().collect::<Vec<_>>(),
            ),
            regions: options(
                &page.facets.region,
                &query.region.iter().cloned().collect::<Vec<_>>(),
            ),
            partnered: query.partnered,
            open_to_partners: query.open_to_partners,
            unverified: query.unverified,
            total: page.total,
            total_text: if page.total == 0 {
                "Aucune action trouvée".into()
            } else {
                words::count(page.total, "action trouvée", "actions trouvées")
            },
            // Empty past the last page (a stale link): no « Actions 101 à 100 ».
            range_text: if page.items.is_empty() {
                String::new()
            } else {
                format!(
                    "Actions {} à {} sur {}.",
                    words::number(query.offset + 1),
                    words::number(query.offset + page.items.len() as i64),
                    words::number(page.total)
                )
            },
            filters_active,
            filters_active_text: words::count(
                filters_active as i64,
                "filtre actif",
                "filtres actifs",
            ),
            actions: page.items.iter().map(ActionCard::from).collect(),
            query_suffix: suffix(None),
            map_suffix: suffix(Some(("cap", "2000".to_string()))),
            tile_url,
            attribution,
            tiles_notice,
            error,
            prev_url,
            next_url,
        },
    )
}

struct CollectiviteView {
    name: String,
    url: String,
    handle: String,
    kind: &'static str,
    summary: Option<String>,
    insee: Option<String>,
    siren: Option<String>,
    epci: Option<String>,
    departement: Option<String>,
    region: Option<String>,
    /// "230 890 habitants".
    population: Option<String>,
    website: Option<String>,
    /// When the official website was verified; `None`: "non vérifiée".
    verified: Option<String>,
    labels: Vec<String>,
}

#[derive(Template)]
#[template(path = "collectivite.html")]
struct CollectivitePage {
    node_name: String,
    c: CollectiviteView,
    actions: Vec<ActionCard>,
    /// Actions of others it is an accepted partner of (mutualisation).
    partnerships: Vec<ActionCard>,
}

/// The page of a collectivité with its actions.
pub async fn collectivite_page(
    state: &AppState,
    collectivite: &Collectivite,
) -> AppResult<Response> {
    let referential = Referential::global();
    let p = &collectivite.profile;
    let actions = state.store.actions_of(collectivite.id, None, 100).await?;
    let mut partnerships = Vec::new();
    for p in state.store.partnerships_of(collectivite.id, true).await? {
        if p.state != crate::db::partnerships::PartnershipState::Accepted {
            continue;
        }
        if let Some(action) = state.store.action_by_ap_id(&p.action_ap_id).await? {
            if action.deleted.is_none() {
                partnerships.push(ActionCard::from(&action));
            }
        }
    }
    let view = CollectiviteView {
        name: p.name.clone(),
        url: collectivite.ap_id.to_string(),
        handle: collectivite.handle(),
        kind: p.kind.label(),
        summary: p.summary.clone(),
        insee: p.insee.as_ref().map(|v| v.to_string()),
        siren: p.siren.as_ref().map(|v| v.to_string()),
        epci: p.epci_siren.as_ref().map(|s| {
            referential
                .epci(s.as_ref())
                .map(|e| e.nom.clone())
                .unwrap_or_else(|| s.to_string())
        }),
        departement: p.departement.as_deref().map(|d| {
            referential
                .departement(d)
                .map(|x| format!("{} ({d})", x.nom))
                .unwrap_or_else(|| d.to_string())
        }),
        region: p.region.as_deref().map(|r| {
            referential
                .region(r)
                .map(|x| x.nom.clone())
                .unwrap_or_else(|| r.to_string())
        }),
        population: p
            .population
            .map(|n| words::count(n, "habitant", "habitants")),
        website: p.website.as_ref().map(|u| u.to_string()),
        verified: collectivite.website_check.verified_at.map(french_date),
        labels: p
            .labels
            .iter()
            .map(|l| {
                let mut text = format!(
                    "{} : {}",
                    l.year,
                    words::count(l.arobases.into(), "arobase", "arobases")
                );
                if !l.mentions.is_empty() {
                    text.push_str(&format!(" (mentions : {})", l.mentions.join(", ")));
                }
                text
            })
            .collect(),
    };
    html(
        StatusCode::OK,
        &CollectivitePage {
            node_name: state.settings.node.name.clone(),
            c: view,
            actions: actions.iter().map(ActionCard::from).collect(),
            partnerships,
        },
    )
}

struct ActionView {
    id: String,
    /// Where the "Signaler cette action" form posts.
    report_path: String,
    name: String,
    summary: Option<String>,
    owner_name: String,
    owner_url: String,
    owner_handle: String,
    /// When the owner's official website was verified; `None`: "non vérifiée".
    owner_verified: Option<String>,
    phase: &'static str,
    status: &'static str,
    published: String,
    updated: String,
    themes: Vec<(String, String)>,
    open_to_partners: bool,
    content: String,
    results: Option<String>,
    recommendations: Option<String>,
    dates: Option<String>,
    budget: Option<String>,
    places: Vec<String>,
    software: Vec<(String, String)>,
    providers: Vec<(String, String)>,
    partners: Vec<(String, String)>,
    /// "2 autres collectivités".
    partners_text: String,
    has_points: bool,
    points: String,
    tiles: String,
    attribution: String,
    tiles_notice: String,
    links: Vec<(String, String)>,
    contacts: Vec<String>,
    comments: Vec<CommentItem>,
    /// Collectivités that liked or shared the action (page, name).
    interested: Vec<(String, String)>,
    /// Other fediverse accounts that did.
    interested_others: usize,
    interested_others_text: String,
    /// "Projets proches": actions of other collectivités, best first.
    nearby: Vec<NearbyItem>,
}

/// An action of another collectivité near the one shown.
struct NearbyItem {
    url: String,
    name: String,
    owner_name: String,
    owner_url: String,
    /// The shared themes' labels, comma-separated.
    shared: String,
}

impl NearbyItem {
    fn new(action: &Action, near: &Action) -> Self {
        let card = ActionCard::from(near);
        Self {
            url: card.url,
            name: card.name,
            owner_name: card.owner_name,
            owner_url: card.owner_url,
            shared: near
                .data
                .themes
                .iter()
                .filter(|t| action.data.themes.contains(t))
                .map(|t| t.theme().label.clone())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

#[derive(Template)]
#[template(path = "action.html")]
struct ActionPage {
    node_name: String,
    a: ActionView,
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    node_name: String,
    title: String,
    message: String,
}

fn euros(amount: i64) -> String {
    format!("{} €", words::number(amount))
}

/// A page with a title and a message, e.g. for errors.
pub fn message_response(status: StatusCode, title: String, message: String) -> Response {
    html(
        status,
        &MessagePage {
            node_name: "Maillage".into(),
            title,
            message,
        },
    )
    .into_response()
}

/// The "Signaler cette action" form of an action's page.
#[derive(Debug, serde::Deserialize, Default)]
#[serde(default)]
pub struct ReportForm {
    motif: String,
    contact: String,
}

/// `POST /actions/{id}/signaler`: a visitor reports a local action to the node's
/// admins (issue 19); rate limited per client address. Bad input is a `422` page in
/// French.
pub async fn report_action(
    axum::extract::State(state): axum::extract::State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    client: crate::limits::ClientAddress,
    axum::Form(form): axum::Form<ReportForm>,
) -> AppResult<Response> {
    let action = crate::federation::routes::local_action(&state, &id).await?;
    if action.deleted.is_some() {
        return Err(AppError::NotFound(format!(
            "l'action « {id} » a été supprimée"
        )));
    }
    crate::service::moderation::citizen_report(
        &state,
        client.0.as_deref(),
        &action,
        &form.motif,
        &form.contact,
    )
    .await?;
    html(
        StatusCode::OK,
        &MessagePage {
            node_name: state.settings.node.name.clone(),
            title: "Signalement envoyé".into(),
            message: format!(
                "Merci : votre signalement de « {} » a été transmis à l'administration de ce nœud.",
                action.data.name
            ),
        },
    )
}

/// The page of an action (a `410` page once deleted).
pub async fn action_page(state: &AppState, action: &Action) -> AppResult<Response> {
    let node_name = state.settings.node.name.clone();
    if let Some(deleted) = action.deleted {
        return html(
            StatusCode::GONE,
            &MessagePage {
                node_name,
                title: "Action supprimée".into(),
                message: format!(
                    "Cette action de {} {}.",
                    action.owner.name,
                    french::deleted_on(deleted)
                ),
            },
        );
    }
    let d = &action.data;
    let mut partners = Vec::new();
    for partner in &action.partners {
        // A partner this node does not know yet is shown as its handle.
        let name = match state.store.collectivite_by_ap_id(partner).await? {
            Some(c) => c.profile.name,
            None => {
                let user = partner
                    .path_segments()
                    .and_then(|mut s| s.next_back())
                    .unwrap_or("");
                let host = crate::federation::objects::collectivite::domain_of(partner)
                    .unwrap_or_default();
                format!("@{user}@{host}")
            }
        };
        partners.push((partner.to_string(), name));
    }
    let comments = state
        .store
        .comments_of_action(action.db_id, false)
        .await?
        .into_iter()
        .map(|c| CommentItem {
            anchor: format!("commentaire-{}", c.uuid),
            author_name: c.author_name,
            author_url: c.author_ap_id.to_string(),
            author_handle: c.author_handle,
            published: french_date(c.published),
            content: c.content_html,
        })
        .collect();
    let (interested, interested_others) = interest_of(state, action).await?;
    let nearby = crate::service::nearby::nearby(state, action)
        .await?
        .iter()
        .map(|near| NearbyItem::new(action, near))
        .collect();
    let dates = match (d.start_date, d.end_date) {
        (Some(s), Some(e)) => Some(format!("du {} au {}", words::day(s), words::day(e))),
        (Some(s), None) => Some(format!("depuis le {}", words::day(s))),
        (None, Some(e)) => Some(format!("jusqu'au {}", words::day(e))),
        (None, None) => None,
    };
    let points: Vec<(f64, f64, String)> = d
        .locations
        .iter()
        .filter_map(|p| p.point.map(|pt| (pt.lat, pt.lon, p.name.clone())))
        .collect();
    let (tiles, attribution, tiles_notice) = state.settings.map.for_pages();
    let view = ActionView {
        id: action.ap_id.to_string(),
        report_path: format!("/actions/{}/signaler", action.id),
        name: d.name.clone(),
        summary: d.summary.clone(),
        owner_name: action.owner.name.clone(),
        owner_url: action.owner.ap_id.to_string(),
        owner_handle: format!("{}@{}", action.owner.username, action.owner.domain),
        owner_verified: action.owner.website_verified_at.map(french_date),
        phase: d.phase.label(),
        status: d.status.label(),
        published: french_date(action.published),
        updated: french_date(action.updated),
        themes: theme_pairs(action),
        open_to_partners: d.open_to_partners,
        content: d.content.html.to_string(),
        results: d.results.as_ref().map(|r| r.html.to_string()),
        recommendations: d.recommendations.as_ref().map(|r| r.html.to_string()),
        dates,
        budget: d.budget_eur.map(euros),
        places: d
            .locations
            .iter()
            .map(|p| match &p.insee {
                Some(insee) => format!("{} (INSEE {insee})", p.name),
                None => p.name.clone(),
            })
            .collect(),
        software: d
            .software
            .iter()
            .map(|s| {
                let shown = match &s.licence {
                    Some(licence) => format!("{} ({licence})", s.name),
                    None => s.name.clone(),
                };
                (s.name.clone(), shown)
            })
            .collect(),
        providers: d
            .providers
            .iter()
            .map(|p| {
                let shown = match &p.siren {
                    Some(siren) => format!("{} (SIREN {siren})", p.name),
                    None => p.name.clone(),
                };
                (p.name.clone(), shown)
            })
            .collect(),
        partners_text: words::count(
            partners.len() as i64,
            "autre collectivité",
            "autres collectivités",
        ),
        partners,
        has_points: !points.is_empty(),
        points: serde_json::to_string(&points).expect("BUG: points serialise"),
        tiles,
        attribution,
        tiles_notice,
        links: d
            .links
            .iter()
            .map(|l| {
                (
                    l.url.to_string(),
                    l.description.clone().unwrap_or_else(|| l.url.to_string()),
                )
            })
            .collect(),
        contacts: if d.contacts_public {
            d.contacts
                .iter()
                .map(|c| {
                    [Some(c.name.clone()), c.role.clone(), c.email.clone()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" — ")
                })
                .collect()
        } else {
            Vec::new()
        },
        comments,
        interested,
        interested_others,
        interested_others_text: words::count(
            interested_others as i64,
            "autre compte",
            "autres comptes",
        ),
        nearby,
    };
    html(StatusCode::OK, &ActionPage { node_name, a: view })
}

/// An approved comment on an action page.
struct CommentItem {
    anchor: String,
    author_name: String,
    author_url: String,
    author_handle: String,
    published: String,
    content: String,
}

/// Interest (likes, shares) in a local action: collectivités by name, others counted.
async fn interest_of(
    state: &AppState,
    action: &Action,
) -> AppResult<(Vec<(String, String)>, usize)> {
    let mut collectivites: Vec<(String, String)> = Vec::new();
    let mut others = std::collections::BTreeSet::new();
    for i in state.store.interest_in(action.db_id).await? {
        if i.actor_type == "Organization" {
            if !collectivites.iter().any(|(url, _)| *url == i.actor_ap_id) {
                let name = if i.actor_name.is_empty() {
                    i.actor_username
                } else {
                    i.actor_name
                };
                collectivites.push((i.actor_ap_id, name));
            }
        } else {
            others.insert(i.actor_ap_id);
        }
    }
    Ok((collectivites, others.len()))
}

#[derive(Template)]
#[template(path = "vocabulary.html")]
struct VocabularyPage {
    node_name: String,
    terms: &'static [Term],
}

/// The HTML table of the `mai:` vocabulary.
pub fn vocabulary_page() -> AppResult<Response> {
    html(
        StatusCode::OK,
        &VocabularyPage {
            node_name: "Maillage".into(),
            terms: TERMS,
        },
    )
}

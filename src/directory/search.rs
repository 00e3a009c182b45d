//! The search query of the directory (SPEC §4 `GET /api/v1/directory/actions`):
//! parameters parsed and checked once, at the edge, into [`SearchQuery`]; the answer
//! is a [`SearchPage`] of actions with facet counts.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::FieldErrors;
use crate::domain::{Action, InseeCode, Phase, Siren, Status, ThemeSlug};
use crate::error::AppResult;
use crate::referential::Referential;
use crate::taxonomy::Taxonomy;

/// Result order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Best text match first (the default with `q`).
    Relevance,
    /// Most recently updated first (the default without `q`).
    Updated,
    /// By name.
    Name,
}

/// A checked directory search.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// Full text.
    pub q: Option<String>,
    /// Any of these themes (an `axe` adds its three themes).
    pub themes: Vec<ThemeSlug>,
    /// Any of these phases.
    pub phases: Vec<Phase>,
    /// Any of these statuses.
    pub statuses: Vec<Status>,
    /// In this commune.
    pub insee: Option<InseeCode>,
    /// In this département.
    pub departement: Option<String>,
    /// In this région.
    pub region: Option<String>,
    /// In this EPCI.
    pub epci: Option<Siren>,
    /// Owned by this actor (id URL, or `user@domain`).
    pub collectivite: Option<String>,
    /// Only actions with partners.
    pub partnered: bool,
    /// Only actions open to partners.
    pub open_to_partners: bool,
    /// Include the actions of unverified collectivités that another, verified, one
    /// outranks for their INSEE code or SIREN (left out by default; issue 19).
    pub unverified: bool,
    /// `min_lon, min_lat, max_lon, max_lat`.
    pub bbox: Option<[f64; 4]>,
    /// Updated since.
    pub updated_since: Option<DateTime<Utc>>,
    /// Using this software (name, SILL id, Comptoir du Libre id or Wikidata id).
    pub software: Option<String>,
    /// With this provider (name or SIREN).
    pub provider: Option<String>,
    /// Order.
    pub sort: Option<Sort>,
    /// Page size (1–100).
    pub limit: i64,
    /// Offset of the page.
    pub offset: i64,
    /// Relevance windows of this many text matches (`directory.relevance_window`; 0:
    /// the default), see [`crate::db::search::RELEVANCE_WINDOW`]. Not a URL parameter.
    pub relevance_window: i64,
    /// Lists only the actions of the owners this admission policy admits
    /// ([`crate::db::admission::unlisted_owners`]; `None`: every owner). Set from
    /// `aggregator.admission` by the service. Not a URL parameter.
    pub admission: Option<crate::config::Admission>,
}

/// The deepest page a search walks to (`cursor`, an offset): a deeper one costs a scan
/// of every row before it, and the exports stream the whole result instead. Without
/// the bound, `cursor=9223372036854775807` overflowed `cursor + limit`.
pub const MAX_CURSOR: i64 = 10_000;

/// One facet value with its count.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Facet {
    /// Value (slug, code or name).
    pub key: String,
    /// Label for people.
    pub label: String,
    /// Matching actions.
    pub count: i64,
}

/// Facet counts over the whole result set.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Facets {
    /// Per theme.
    pub theme: Vec<Facet>,
    /// Per phase.
    pub phase: Vec<Facet>,
    /// Per département.
    pub departement: Vec<Facet>,
    /// Per région.
    pub region: Vec<Facet>,
    /// Per software.
    pub software: Vec<Facet>,
    /// Per provider.
    pub provider: Vec<Facet>,
}

/// A page of results.
#[derive(Debug, Clone)]
pub struct SearchPage {
    /// Actions of this page.
    pub items: Vec<Action>,
    /// All matching actions.
    pub total: i64,
    /// Facet counts.
    pub facets: Facets,
    /// Cursor of the next page.
    pub next: Option<String>,
}

fn bool_param(errors: &mut FieldErrors, field: &str, value: &str) -> bool {
    match value {
        "true" | "1" | "oui" => true,
        "false" | "0" | "non" | "" => false,
        other => {
            errors.push(field, format!("« {other} » : true ou false attendu"));
            false
        }
    }
}

impl SearchQuery {
    /// Parses query-string pairs (`theme`, `phase` and `status` may repeat).
    ///
    /// # Errors
    /// [`crate::error::AppError::Validation`] naming every bad parameter.
    pub fn parse<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> AppResult<Self> {
        let mut errors = FieldErrors::default();
        let mut query = SearchQuery {
            limit: 20,
            ..Default::default()
        };
        let referential = Referential::global();
        for (key, value) in pairs {
            let value = value.trim();
            match key {
                "q" if value.chars().count() > super::text::MAX_QUERY_CHARS => errors.push(
                    "q",
                    format!(
                        "recherche trop longue : {} caractères au plus",
                        super::text::MAX_QUERY_CHARS
                    ),
                ),
                "q" => query.q = Some(value.to_string()).filter(|q| !q.is_empty()),
                "theme" => query
                    .themes
                    .extend(errors.check("theme", ThemeSlug::parse(value))),
                "axe" => match Taxonomy::global().axe(value) {
                    Some(axe) => query.themes.extend(
                        axe.themes
                            .iter()
                            .filter_map(|t| ThemeSlug::parse(&t.slug).ok()),
                    ),
                    None => errors.push("axe", format!("axe inconnu « {value} »")),
                },
                "phase" => query
                    .phases
                    .extend(errors.check("phase", Phase::parse(value))),
                "status" => query
                    .statuses
                    .extend(errors.check("status", Status::parse(value))),
                "insee" => query.insee = errors.check("insee", InseeCode::parse(value)),
                "departement" => match referential.departement(&value.to_uppercase()) {
                    Some(d) => query.departement = Some(d.code.clone()),
                    None => errors.push("departement", format!("département « {value} » inconnu")),
                },
                "region" => match referential.region(value) {
                    Some(r) => query.region = Some(r.code.clone()),
                    None => errors.push("region", format!("région « {value} » inconnue")),
                },
                "epci" => query.epci = errors.check("epci", Siren::parse(value)),
                "collectivite" => {
                    query.collectivite = Some(
                        value
                            .trim_start_matches("acct:")
                            .trim_start_matches('@')
                            .to_string(),
                    )
                }
                "partnered" => query.partnered = bool_param(&mut errors, "partnered", value),
                "unverified" => query.unverified = bool_param(&mut errors, "unverified", value),
                "open_to_partners" => {
                    query.open_to_partners = bool_param(&mut errors, "open_to_partners", value)
                }
                "bbox" => {
                    let numbers: Vec<f64> = value
                        .split(',')
                        .filter_map(|n| n.trim().parse().ok())
                        .collect();
                    match numbers.as_slice() {
                        [min_lon, min_lat, max_lon, max_lat]
                            if (-180.0..=180.0).contains(min_lon)
                                && (-180.0..=180.0).contains(max_lon)
                                && (-90.0..=90.0).contains(min_lat)
                                && (-90.0..=90.0).contains(max_lat)
                                && min_lon <= max_lon
                                && min_lat <= max_lat =>
                        {
                            query.bbox = Some([*min_lon, *min_lat, *max_lon, *max_lat])
                        }
                        _ => errors
                            .push("bbox", "minLon,minLat,maxLon,maxLat attendu (degrés WGS84)"),
                    }
                }
                "updated_since" => {
                    let parsed = DateTime::parse_from_rfc3339(value)
                        .map(|d| d.with_timezone(&Utc))
                        .ok()
                        .or_else(|| {
                            NaiveDate::parse_from_str(value, "%Y-%m-%d")
                                .ok()
                                .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
                        });
                    // Both engines store years 1 to 9999 (PostgreSQL refuses some
                    // dates chrono reads, and a 500 is no answer to a typo).
                    match parsed.filter(|d| (1..=9999).contains(&d.year())) {
                        Some(date) => query.updated_since = Some(date),
                        None => errors.push(
                            "updated_since",
                            "date AAAA-MM-JJ ou RFC 3339 attendue, des années 1 à 9999",
                        ),
                    }
                }
                "software" => query.software = Some(value.to_string()).filter(|v| !v.is_empty()),
                "provider" => query.provider = Some(value.to_string()).filter(|v| !v.is_empty()),
                "sort" => match value {
                    "relevance" => query.sort = Some(Sort::Relevance),
                    "updated" => query.sort = Some(Sort::Updated),
                    "name" => query.sort = Some(Sort::Name),
                    other => errors.push(
                        "sort",
                        format!("« {other} » : relevance, updated ou name attendu"),
                    ),
                },
                "limit" => match value.parse::<i64>() {
                    Ok(n) if (1..=100).contains(&n) => query.limit = n,
                    _ => errors.push("limit", "un entier de 1 à 100"),
                },
                "cursor" => match value.parse::<i64>() {
                    Ok(n) if (0..=MAX_CURSOR).contains(&n) => query.offset = n,
                    _ => errors.push(
                        "cursor",
                        format!(
                            "un curseur de 0 à {MAX_CURSOR} : au-delà, précisez la recherche \
                             (updated_since, collectivite…) ou prenez l'export /directory.csv"
                        ),
                    ),
                },
                _ => {}
            }
        }
        Ok(errors.finish(|| query)?)
    }

    /// What identifies the result set (every filter; not the order or the page), for
    /// caching its total and facets.
    pub fn cache_key(&self) -> String {
        format!(
            "{:?}",
            SearchQuery {
                sort: None,
                limit: 0,
                offset: 0,
                ..self.clone()
            }
        )
    }

    /// The order actually used.
    pub fn effective_sort(&self) -> Sort {
        self.sort.unwrap_or(if self.q.is_some() {
            Sort::Relevance
        } else {
            Sort::Updated
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_parameter() {
        let query = SearchQuery::parse([
            ("q", "école numérique"),
            ("theme", "education"),
            ("axe", "vivre-ensemble"),
            ("phase", "service"),
            ("status", "en-cours"),
            ("departement", "2a"),
            ("region", "94"),
            ("partnered", "true"),
            ("bbox", "2.0,48.0,3.0,49.0"),
            ("updated_since", "2024-01-01"),
            ("sort", "name"),
            ("limit", "5"),
            ("cursor", "10"),
        ])
        .unwrap();
        assert_eq!(query.themes.len(), 4);
        assert_eq!(query.departement.as_deref(), Some("2A"));
        assert!(query.partnered);
        assert_eq!(query.limit, 5);
        assert_eq!(query.offset, 10);
        assert_eq!(query.effective_sort(), Sort::Name);
    }

    #[test]
    fn reports_every_bad_parameter() {
        let error = SearchQuery::parse([
            ("theme", "cuisine"),
            ("departement", "00"),
            ("bbox", "1,2,3"),
            ("limit", "0"),
            ("sort", "random"),
            ("partnered", "peut-être"),
            ("updated_since", "-262143-01-01"),
            ("q", &"mot ".repeat(60)),
        ])
        .unwrap_err();
        let problem = error.problem();
        assert_eq!(problem.errors.len(), 8, "{:?}", problem.errors);
    }
}

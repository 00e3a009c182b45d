//! The draft of an action: [`ActionBody`] is an action as an editor writes it, the JSON
//! of `POST /api/v1/…/actions`, the file format of `maillage action create`, what the
//! admin form and the CSV import fill in. `TryFrom<ActionBody> for NewAction` is the one
//! validation of an action: it checks every field and reports them all, with their JSON
//! paths (`themes[1]`, `location[0].lat`). `From<&NewAction>` gives the draft back, for
//! a merge patch or a form filled with the stored action.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::collectivite::{NAME_MAX, parse_web_url};
use crate::domain::{
    Contact, FieldErrors, GeoPoint, InseeCode, InvalidFields, LinkRef, NewAction, Phase, Place,
    PostalAddress, Provider, RichText, Siren, Software, Status, TextFormat, ThemeSlug,
};
use crate::referential::Referential;

/// Maximum length of a summary (Mastodon shows it whole).
pub const SUMMARY_MAX: usize = 500;
/// Maximum length of `content`, `results` and `recommendations` as written.
pub const TEXT_MAX: usize = 50_000;
/// Maximum number of items in each list (places, software, links…).
pub const LIST_MAX: usize = 50;

/// A place of an action.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceBody {
    /// Name of the place.
    pub name: Option<String>,
    /// Latitude (-90..90).
    #[serde(alias = "latitude")]
    pub lat: Option<f64>,
    /// Longitude (-180..180).
    #[serde(alias = "longitude")]
    pub lon: Option<f64>,
    /// Commune code; fills name and point from the referential when they are missing.
    pub insee: Option<String>,
    /// Postal address.
    pub address: Option<PostalAddress>,
}

/// A piece of software.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SoftwareBody {
    /// Name.
    pub name: Option<String>,
    /// Home page.
    pub url: Option<String>,
    /// SPDX licence id.
    pub licence: Option<String>,
    /// SILL id.
    pub sill_id: Option<String>,
    /// Comptoir du Libre id.
    pub comptoir_id: Option<String>,
    /// Wikidata id (`Q…`).
    pub wikidata: Option<String>,
}

/// A provider.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderBody {
    /// Company name.
    pub name: Option<String>,
    /// SIREN.
    pub siren: Option<String>,
    /// Website.
    pub url: Option<String>,
}

/// A link or an image.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    /// Address.
    pub url: Option<String>,
    /// Description.
    pub description: Option<String>,
}

/// A contact person.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    /// Name.
    pub name: Option<String>,
    /// Role.
    pub role: Option<String>,
    /// E-mail.
    pub email: Option<String>,
}

/// An action as written by an editor (SPEC §2 field names).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    /// Title (required, 200 characters at most).
    pub name: Option<String>,
    /// Subtitle: what it is, in one or two sentences (shown by Mastodon).
    pub summary: Option<String>,
    /// What it is (required), in `format`.
    pub content: Option<String>,
    /// `markdown` (default) or `html`, for `content`, `results` and `recommendations`.
    pub format: Option<TextFormat>,
    /// What came of it.
    pub results: Option<String>,
    /// What others should know before doing the same.
    pub recommendations: Option<String>,
    /// `idee`, `etude`, `realisation` (default) or `service`.
    pub phase: Option<String>,
    /// `en-cours` (default), `en-pause`, `abandonne` or `termine`.
    pub status: Option<String>,
    /// Theme slugs (at least one).
    pub themes: Option<Vec<String>>,
    /// Places; the collectivité's town hall when empty.
    pub location: Option<Vec<PlaceBody>>,
    /// Start date (`YYYY-MM-DD`).
    pub start_date: Option<String>,
    /// End date (`YYYY-MM-DD`), not before the start.
    pub end_date: Option<String>,
    /// Budget in euros.
    pub budget_eur: Option<i64>,
    /// Other authorities are invited to join (appel à mutualisation).
    pub open_to_partners: Option<bool>,
    /// Software used.
    pub software: Option<Vec<SoftwareBody>>,
    /// Providers.
    pub providers: Option<Vec<ProviderBody>>,
    /// Links.
    pub links: Option<Vec<LinkBody>>,
    /// Images.
    pub images: Option<Vec<LinkBody>>,
    /// Contacts (published only with `contacts_public`).
    pub contacts: Option<Vec<ContactBody>>,
    /// The people listed consent to their contact being published.
    pub contacts_public: Option<bool>,
}

fn required_text(
    errors: &mut FieldErrors,
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Option<String> {
    match value.map(str::trim) {
        None => {
            errors.push(field, "obligatoire");
            None
        }
        Some("") => {
            errors.push(field, "ne peut pas être vide");
            None
        }
        Some(text) if text.chars().count() > max => {
            errors.push(field, format!("trop long : {max} caractères au plus"));
            None
        }
        Some(text) => Some(text.to_string()),
    }
}

fn optional_text(
    errors: &mut FieldErrors,
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Option<String> {
    match value.map(str::trim) {
        None | Some("") => None,
        Some(text) if text.chars().count() > max => {
            errors.push(field, format!("trop long : {max} caractères au plus"));
            None
        }
        Some(text) => Some(text.to_string()),
    }
}

fn list<T>(errors: &mut FieldErrors, field: &str, value: Option<Vec<T>>) -> Vec<T> {
    let items = value.unwrap_or_default();
    if items.len() > LIST_MAX {
        errors.push(field, format!("{LIST_MAX} éléments au plus"));
        return Vec::new();
    }
    items
}

fn date(errors: &mut FieldErrors, field: &str, value: Option<&str>) -> Option<NaiveDate> {
    let value = value.map(str::trim).filter(|v| !v.is_empty())?;
    errors.check(
        field,
        NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .map_err(|_| format!("« {value} » n'est pas une date AAAA-MM-JJ")),
    )
}

fn place(errors: &mut FieldErrors, i: usize, body: PlaceBody) -> Option<Place> {
    let field = |name: &str| format!("location[{i}].{name}");
    let referential = Referential::global();
    let insee = body
        .insee
        .as_deref()
        .and_then(|code| errors.check(field("insee"), InseeCode::parse(code)));
    let commune = insee.as_ref().and_then(|code| referential.commune(code));
    if insee.is_some() && commune.is_none() {
        errors.push(field("insee"), "aucune commune actuelle n'a ce code INSEE");
    }
    let point = match (body.lat, body.lon) {
        (Some(lat), Some(lon)) => match GeoPoint::new(lat, lon) {
            Ok(point) => Some(point),
            Err((which, message)) => {
                errors.push(field(&which[..3]), message);
                None
            }
        },
        (None, None) => commune.and_then(|c| c.point()),
        (Some(_), None) => {
            errors.push(
                field("lon"),
                "longitude manquante (lat et lon vont ensemble)",
            );
            None
        }
        (None, Some(_)) => {
            errors.push(
                field("lat"),
                "latitude manquante (lat et lon vont ensemble)",
            );
            None
        }
    };
    let name = body
        .name
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .or_else(|| commune.map(|c| c.nom.clone()));
    let Some(name) = name else {
        errors.push(field("name"), "obligatoire (ou un code INSEE)");
        return None;
    };
    Some(Place {
        name,
        point,
        insee,
        address: body.address.filter(|a| !a.is_empty()),
    })
}

impl TryFrom<ActionBody> for NewAction {
    type Error = InvalidFields;

    fn try_from(body: ActionBody) -> Result<Self, InvalidFields> {
        let mut errors = FieldErrors::default();
        let format = body.format.unwrap_or_default();
        let name = required_text(&mut errors, "name", body.name.as_deref(), NAME_MAX);
        let summary = optional_text(&mut errors, "summary", body.summary.as_deref(), SUMMARY_MAX);
        let content = required_text(&mut errors, "content", body.content.as_deref(), TEXT_MAX)
            .map(|text| RichText::render(&text, format));
        let results = optional_text(&mut errors, "results", body.results.as_deref(), TEXT_MAX)
            .map(|text| RichText::render(&text, format));
        let recommendations = optional_text(
            &mut errors,
            "recommendations",
            body.recommendations.as_deref(),
            TEXT_MAX,
        )
        .map(|text| RichText::render(&text, format));
        let phase = match body.phase.as_deref() {
            None => Some(Phase::Realisation),
            Some(p) => errors.check("phase", Phase::parse(p)),
        };
        let status = match body.status.as_deref() {
            None => Some(Status::EnCours),
            Some(s) => errors.check("status", Status::parse(s)),
        };
        let mut themes: Vec<ThemeSlug> = Vec::new();
        match body.themes {
            None => errors.push("themes", "obligatoire : au moins un thème"),
            Some(list) if list.is_empty() => errors.push("themes", "au moins un thème"),
            Some(list) => {
                for (i, slug) in list.iter().enumerate() {
                    if let Some(theme) =
                        errors.check(format!("themes[{i}]"), ThemeSlug::parse(slug))
                    {
                        if !themes.contains(&theme) {
                            themes.push(theme);
                        }
                    }
                }
            }
        }
        let locations: Vec<Place> = list(&mut errors, "location", body.location)
            .into_iter()
            .enumerate()
            .filter_map(|(i, p)| place(&mut errors, i, p))
            .collect();
        let start_date = date(&mut errors, "start_date", body.start_date.as_deref());
        let end_date = date(&mut errors, "end_date", body.end_date.as_deref());
        if let (Some(start), Some(end)) = (start_date, end_date) {
            if end < start {
                errors.push(
                    "end_date",
                    format!("la date de fin ({end}) précède la date de début ({start})"),
                );
            }
        }
        if body.budget_eur.is_some_and(|b| b < 0) {
            errors.push("budget_eur", "ne peut pas être négatif");
        }
        let software = list(&mut errors, "software", body.software)
            .into_iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let field = |n: &str| format!("software[{i}].{n}");
                let name = required_text(&mut errors, &field("name"), s.name.as_deref(), NAME_MAX)?;
                Some(Software {
                    name,
                    url: s
                        .url
                        .as_deref()
                        .and_then(|u| errors.check(field("url"), parse_web_url(u))),
                    licence: optional_text(
                        &mut errors,
                        &field("licence"),
                        s.licence.as_deref(),
                        100,
                    ),
                    sill_id: optional_text(
                        &mut errors,
                        &field("sill_id"),
                        s.sill_id.as_deref(),
                        50,
                    ),
                    comptoir_id: optional_text(
                        &mut errors,
                        &field("comptoir_id"),
                        s.comptoir_id.as_deref(),
                        50,
                    ),
                    wikidata: optional_text(
                        &mut errors,
                        &field("wikidata"),
                        s.wikidata.as_deref(),
                        50,
                    ),
                })
            })
            .collect();
        let providers = list(&mut errors, "providers", body.providers)
            .into_iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let field = |n: &str| format!("providers[{i}].{n}");
                let name = required_text(&mut errors, &field("name"), p.name.as_deref(), NAME_MAX)?;
                Some(Provider {
                    name,
                    siren: p
                        .siren
                        .as_deref()
                        .and_then(|s| errors.check(field("siren"), Siren::parse(s))),
                    url: p
                        .url
                        .as_deref()
                        .and_then(|u| errors.check(field("url"), parse_web_url(u))),
                })
            })
            .collect();
        let link_list =
            |field: &str, value: Option<Vec<LinkBody>>, errors: &mut FieldErrors| -> Vec<LinkRef> {
                list(errors, field, value)
                    .into_iter()
                    .enumerate()
                    .filter_map(|(i, l)| {
                        let Some(url) = l.url.as_deref() else {
                            errors.push(format!("{field}[{i}].url"), "obligatoire");
                            return None;
                        };
                        Some(LinkRef {
                            url: errors.check(format!("{field}[{i}].url"), parse_web_url(url))?,
                            description: optional_text(
                                errors,
                                &format!("{field}[{i}].description"),
                                l.description.as_deref(),
                                500,
                            ),
                        })
                    })
                    .collect()
            };
        let links = link_list("links", body.links, &mut errors);
        let images = link_list("images", body.images, &mut errors);
        let contacts = list(&mut errors, "contacts", body.contacts)
            .into_iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let field = |n: &str| format!("contacts[{i}].{n}");
                let name = required_text(&mut errors, &field("name"), c.name.as_deref(), NAME_MAX)?;
                let email = optional_text(&mut errors, &field("email"), c.email.as_deref(), 254);
                if let Some(email) = &email {
                    let ok = email.split_once('@').is_some_and(|(user, host)| {
                        !user.is_empty()
                            && host.contains('.')
                            && !email.contains(char::is_whitespace)
                    });
                    if !ok {
                        errors.push(
                            field("email"),
                            format!("« {email} » n'est pas une adresse e-mail"),
                        );
                    }
                }
                Some(Contact {
                    name,
                    role: optional_text(&mut errors, &field("role"), c.role.as_deref(), NAME_MAX),
                    email,
                })
            })
            .collect();
        errors.finish(|| NewAction {
            name: name.expect("BUG: checked"),
            summary,
            content: content.expect("BUG: checked"),
            results,
            recommendations,
            phase: phase.expect("BUG: checked"),
            status: status.expect("BUG: checked"),
            themes,
            locations,
            start_date,
            end_date,
            budget_eur: body.budget_eur,
            open_to_partners: body.open_to_partners.unwrap_or(false),
            software,
            providers,
            links,
            images,
            contacts,
            contacts_public: body.contacts_public.unwrap_or(false),
        })
    }
}

fn text_back(text: &RichText) -> String {
    text.source.clone().unwrap_or_else(|| text.html.to_string())
}

impl From<&NewAction> for ActionBody {
    fn from(d: &NewAction) -> Self {
        let format = if d.content.source.is_some() {
            TextFormat::Markdown
        } else {
            TextFormat::Html
        };
        Self {
            name: Some(d.name.clone()),
            summary: d.summary.clone(),
            content: Some(text_back(&d.content)),
            format: Some(format),
            results: d.results.as_ref().map(text_back),
            recommendations: d.recommendations.as_ref().map(text_back),
            phase: Some(d.phase.as_str().into()),
            status: Some(d.status.as_str().into()),
            themes: Some(d.themes.iter().map(|t| t.to_string()).collect()),
            location: Some(
                d.locations
                    .iter()
                    .map(|p| PlaceBody {
                        name: Some(p.name.clone()),
                        lat: p.point.map(|x| x.lat),
                        lon: p.point.map(|x| x.lon),
                        insee: p.insee.as_ref().map(|i| i.to_string()),
                        address: p.address.clone(),
                    })
                    .collect(),
            ),
            start_date: d.start_date.map(|x| x.to_string()),
            end_date: d.end_date.map(|x| x.to_string()),
            budget_eur: d.budget_eur,
            open_to_partners: Some(d.open_to_partners),
            software: Some(
                d.software
                    .iter()
                    .map(|s| SoftwareBody {
                        name: Some(s.name.clone()),
                        url: s.url.as_ref().map(|u| u.to_string()),
                        licence: s.licence.clone(),
                        sill_id: s.sill_id.clone(),
                        comptoir_id: s.comptoir_id.clone(),
                        wikidata: s.wikidata.clone(),
                    })
                    .collect(),
            ),
            providers: Some(
                d.providers
                    .iter()
                    .map(|p| ProviderBody {
                        name: Some(p.name.clone()),
                        siren: p.siren.as_ref().map(|s| s.to_string()),
                        url: p.url.as_ref().map(|u| u.to_string()),
                    })
                    .collect(),
            ),
            links: Some(d.links.iter().map(link_back).collect()),
            images: Some(d.images.iter().map(link_back).collect()),
            contacts: Some(
                d.contacts
                    .iter()
                    .map(|c| ContactBody {
                        name: Some(c.name.clone()),
                        role: c.role.clone(),
                        email: c.email.clone(),
                    })
                    .collect(),
            ),
            contacts_public: Some(d.contacts_public),
        }
    }
}

fn link_back(l: &LinkRef) -> LinkBody {
    LinkBody {
        url: Some(l.url.to_string()),
        description: l.description.clone(),
    }
}

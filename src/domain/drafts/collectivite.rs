//! The draft of a collectivité profile: [`CollectiviteBody`] is a profile as an editor
//! or the node admin writes it (the API's JSON, the CLI's flags, the admin form).
//! [`CollectiviteBody::into_profile`] is the one validation of a profile: it checks every
//! field, reports them all, and fills what the editor left out from the referential
//! (name, SIREN, EPCI, département, région, population, town-hall point).

use serde::{Deserialize, Serialize};
use url::Url;
use utoipa::ToSchema;

use crate::domain::groups::reserved_by_a_group;
use crate::domain::{
    CollectiviteKind, FieldErrors, GeoPoint, InseeCode, InvalidFields, Label, NewCollectivite,
    PostalAddress, Siren, Username,
};
use crate::referential::Referential;

/// A point given as `{"lat": …, "lon": …}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PointBody {
    /// Latitude (-90..90).
    #[serde(alias = "latitude")]
    pub lat: f64,
    /// Longitude (-180..180).
    #[serde(alias = "longitude")]
    pub lon: f64,
}

/// A collectivité profile as sent by an editor. Only `username` is always required;
/// for a commune, `insee` fills the rest from the referential.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectiviteBody {
    /// `[a-z0-9_-]{1,64}`, part of the federated address; cannot change later.
    pub username: Option<String>,
    /// `commune` (default), `epci`, `departement`, `region`, `syndicat`, `association`, `autre`.
    pub kind: Option<String>,
    /// Display name; defaults to the referential's name.
    pub name: Option<String>,
    /// A few sentences about the collectivité and its digital policy.
    pub summary: Option<String>,
    /// COG code (required for a commune).
    pub insee: Option<String>,
    /// SIREN.
    pub siren: Option<String>,
    /// SIREN of the EPCI.
    pub epci_siren: Option<String>,
    /// Département code.
    pub departement: Option<String>,
    /// Région code.
    pub region: Option<String>,
    /// Population.
    pub population: Option<i64>,
    /// Town-hall point.
    pub location: Option<PointBody>,
    /// Postal address.
    pub address: Option<PostalAddress>,
    /// Website (http or https).
    pub website: Option<String>,
    /// Logo URL.
    pub icon: Option<String>,
    /// Labels « Territoires, Villes et Villages Internet ».
    pub labels: Option<Vec<Label>>,
}

/// Maximum length of a name.
pub const NAME_MAX: usize = 200;
/// Maximum length of a summary.
pub const SUMMARY_MAX: usize = 2000;

/// Parses an `http(s)` URL field.
pub fn parse_web_url(value: &str) -> Result<Url, String> {
    match Url::parse(value.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => Ok(url),
        _ => Err(format!(
            "« {value} » n'est pas une adresse web (http:// ou https://)"
        )),
    }
}

impl CollectiviteBody {
    /// Validates the body and completes it from the referential.
    ///
    /// # Errors
    /// [`InvalidFields`] listing every invalid field.
    pub fn into_profile(self) -> Result<NewCollectivite, InvalidFields> {
        let mut errors = FieldErrors::default();
        let referential = Referential::global();
        let username = match self.username.as_deref() {
            None => {
                errors.push("username", "obligatoire");
                None
            }
            Some(u) => errors.check("username", Username::parse(u)).filter(|_| {
                match reserved_by_a_group(u) {
                    Some(message) => {
                        errors.push("username", message);
                        false
                    }
                    None => true,
                }
            }),
        };
        let kind = match self.kind.as_deref() {
            None => Some(CollectiviteKind::Commune),
            Some(k) => errors.check("kind", CollectiviteKind::parse(k)),
        };
        let insee = self
            .insee
            .as_deref()
            .and_then(|i| errors.check("insee", InseeCode::parse(i)));
        let commune = match &insee {
            Some(code) => {
                let found = referential.commune(code);
                if found.is_none() {
                    errors.push(
                        "insee",
                        format!("aucune commune actuelle n'a le code INSEE « {code} »"),
                    );
                }
                found
            }
            None => {
                if kind == Some(CollectiviteKind::Commune) && self.insee.is_none() {
                    errors.push("insee", "obligatoire pour une commune");
                }
                None
            }
        };
        let siren = self
            .siren
            .as_deref()
            .and_then(|s| errors.check("siren", Siren::parse(s)))
            .or_else(|| commune.and_then(|c| Siren::parse(&c.siren).ok()));
        let epci_siren = self
            .epci_siren
            .as_deref()
            .and_then(|s| errors.check("epci_siren", Siren::parse(s)))
            .or_else(|| commune.and_then(|c| Siren::parse(&c.epci_siren).ok()));
        let epci = match kind {
            Some(CollectiviteKind::Epci) => {
                siren.as_ref().and_then(|s| referential.epci(s.as_ref()))
            }
            _ => None,
        };
        let departement = self
            .departement
            .clone()
            .or_else(|| commune.map(|c| c.departement.clone()));
        if let Some(code) = &departement {
            if referential.departement(code).is_none() {
                errors.push("departement", format!("département « {code} » inconnu"));
            }
        }
        let region = self
            .region
            .clone()
            .or_else(|| commune.map(|c| c.region.clone()))
            .or_else(|| {
                departement
                    .as_deref()
                    .and_then(|d| referential.departement(d))
                    .map(|d| d.region.clone())
            });
        if let Some(code) = &region {
            if referential.region(code).is_none() {
                errors.push("region", format!("région « {code} » inconnue"));
            }
        }
        let referential_name = commune
            .map(|c| c.nom.clone())
            .or_else(|| epci.map(|e| e.nom.clone()))
            .or_else(|| match kind {
                Some(CollectiviteKind::Departement) => departement
                    .as_deref()
                    .and_then(|d| referential.departement(d))
                    .map(|d| d.nom.clone()),
                Some(CollectiviteKind::Region) => region
                    .as_deref()
                    .and_then(|r| referential.region(r))
                    .map(|r| r.nom.clone()),
                _ => None,
            });
        let name = match self.name.as_deref().map(str::trim) {
            Some("") => {
                errors.push("name", "ne peut pas être vide");
                None
            }
            Some(n) if n.chars().count() > NAME_MAX => {
                errors.push("name", format!("{NAME_MAX} caractères au plus"));
                None
            }
            Some(n) => Some(n.to_string()),
            None => {
                if referential_name.is_none() {
                    errors.push("name", "obligatoire (aucun nom trouvé dans le référentiel)");
                }
                referential_name
            }
        };
        let summary = self
            .summary
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        if summary
            .as_ref()
            .is_some_and(|s| s.chars().count() > SUMMARY_MAX)
        {
            errors.push("summary", format!("{SUMMARY_MAX} caractères au plus"));
        }
        let population = self
            .population
            .or_else(|| commune.and_then(|c| c.population))
            .or_else(|| epci.and_then(|e| e.population));
        if population.is_some_and(|p| p < 0) {
            errors.push("population", "ne peut pas être négative");
        }
        let location = match self.location {
            Some(point) => match GeoPoint::new(point.lat, point.lon) {
                Ok(point) => Some(point),
                Err((field, message)) => {
                    errors.push(format!("location.{}", &field[..3]), message);
                    None
                }
            },
            None => commune.and_then(|c| c.point()),
        };
        let address = self.address.or_else(|| {
            commune.map(|c| PostalAddress {
                street: None,
                postal_code: c.postal_code().map(str::to_string),
                locality: Some(c.nom.clone()),
            })
        });
        let website = self
            .website
            .as_deref()
            .and_then(|w| errors.check("website", parse_web_url(w)));
        let icon = self
            .icon
            .as_deref()
            .and_then(|w| errors.check("icon", parse_web_url(w)));
        let labels = self.labels.unwrap_or_default();
        for (i, label) in labels.iter().enumerate() {
            if let Err((field, message)) = label.validate() {
                errors.push(format!("labels[{i}].{field}"), message);
            }
        }
        errors.finish(|| NewCollectivite {
            username: username.expect("BUG: checked"),
            name: name.expect("BUG: checked"),
            summary,
            kind: kind.expect("BUG: checked"),
            insee,
            siren,
            epci_siren,
            departement,
            region,
            population,
            location,
            address,
            website,
            icon,
            labels,
        })
    }
}

impl From<&NewCollectivite> for CollectiviteBody {
    fn from(p: &NewCollectivite) -> Self {
        Self {
            username: Some(p.username.to_string()),
            kind: Some(p.kind.as_str().to_string()),
            name: Some(p.name.clone()),
            summary: p.summary.clone(),
            insee: p.insee.as_ref().map(|v| v.to_string()),
            siren: p.siren.as_ref().map(|v| v.to_string()),
            epci_siren: p.epci_siren.as_ref().map(|v| v.to_string()),
            departement: p.departement.clone(),
            region: p.region.clone(),
            population: p.population,
            location: p.location.map(|l| PointBody {
                lat: l.lat,
                lon: l.lon,
            }),
            address: p.address.clone(),
            website: p.website.as_ref().map(|u| u.to_string()),
            icon: p.icon.as_ref().map(|u| u.to_string()),
            labels: Some(p.labels.clone()),
        }
    }
}

//! Owns the French referential (communes, EPCI, départements, régions), embedded in the
//! binary from `data/referentiel/` (Licence Ouverte data plus town-hall points; sources
//! and licences in that folder's README). Parsed once, on first use.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Deserialize;

use crate::domain::{GeoPoint, InseeCode};

const COMMUNES_CSV: &str = include_str!("../../data/referentiel/communes.csv");
const EPCI_CSV: &str = include_str!("../../data/referentiel/epci.csv");
const DEPARTEMENTS_CSV: &str = include_str!("../../data/referentiel/departements.csv");
const REGIONS_CSV: &str = include_str!("../../data/referentiel/regions.csv");

/// A current commune.
#[derive(Debug, Clone, Deserialize)]
pub struct Commune {
    /// COG code.
    pub insee: String,
    /// Official name, article included (`La Madeleine`).
    pub nom: String,
    /// Département code (`59`, `2A`, `971`).
    pub departement: String,
    /// Région code (`32`).
    pub region: String,
    /// SIREN of the commune (empty for some overseas collectivités).
    pub siren: String,
    /// SIREN of its EPCI, if any.
    pub epci_siren: String,
    /// Postcodes, space-separated.
    pub codes_postaux: String,
    /// INSEE *population municipale*.
    pub population: Option<i64>,
    /// Town-hall latitude.
    pub lat: Option<f64>,
    /// Town-hall longitude.
    pub lon: Option<f64>,
}

impl Commune {
    /// The town-hall point, when known.
    pub fn point(&self) -> Option<GeoPoint> {
        GeoPoint::new(self.lat?, self.lon?).ok()
    }

    /// The first postcode.
    pub fn postal_code(&self) -> Option<&str> {
        self.codes_postaux.split_whitespace().next()
    }
}

/// An EPCI à fiscalité propre.
#[derive(Debug, Clone, Deserialize)]
pub struct Epci {
    /// SIREN.
    pub siren: String,
    /// Name.
    pub nom: String,
    /// CC, CA, CU, METRO or MET69.
    #[serde(rename = "type")]
    pub kind: String,
    /// DGCL population.
    pub population: Option<i64>,
}

/// A département.
#[derive(Debug, Clone, Deserialize)]
pub struct Departement {
    /// Code (`59`).
    pub code: String,
    /// Name (`Nord`).
    pub nom: String,
    /// Région code.
    pub region: String,
}

/// A région.
#[derive(Debug, Clone, Deserialize)]
pub struct Region {
    /// Code (`32`).
    pub code: String,
    /// Name (`Hauts-de-France`).
    pub nom: String,
}

/// The whole referential, indexed by code.
#[derive(Debug)]
pub struct Referential {
    communes: HashMap<String, Commune>,
    epci: HashMap<String, Epci>,
    departements: HashMap<String, Departement>,
    regions: HashMap<String, Region>,
}

fn load<T: for<'de> Deserialize<'de>>(name: &str, text: &str) -> Vec<T> {
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .collect::<Result<Vec<T>, _>>()
        .unwrap_or_else(|e| panic!("BUG: embedded {name} is checked by a unit test: {e}"))
}

static REFERENTIAL: LazyLock<Referential> = LazyLock::new(|| Referential {
    communes: load::<Commune>("communes.csv", COMMUNES_CSV)
        .into_iter()
        .map(|c| (c.insee.clone(), c))
        .collect(),
    epci: load::<Epci>("epci.csv", EPCI_CSV)
        .into_iter()
        .map(|e| (e.siren.clone(), e))
        .collect(),
    departements: load::<Departement>("departements.csv", DEPARTEMENTS_CSV)
        .into_iter()
        .map(|d| (d.code.clone(), d))
        .collect(),
    regions: load::<Region>("regions.csv", REGIONS_CSV)
        .into_iter()
        .map(|r| (r.code.clone(), r))
        .collect(),
});

impl Referential {
    /// The embedded referential (parsed on first call).
    pub fn global() -> &'static Referential {
        &REFERENTIAL
    }

    /// The commune with this INSEE code.
    pub fn commune(&self, insee: &InseeCode) -> Option<&Commune> {
        self.communes.get(insee.as_ref())
    }

    /// The EPCI with this SIREN.
    pub fn epci(&self, siren: &str) -> Option<&Epci> {
        self.epci.get(siren)
    }

    /// The département with this code.
    pub fn departement(&self, code: &str) -> Option<&Departement> {
        self.departements.get(code)
    }

    /// The région with this code.
    pub fn region(&self, code: &str) -> Option<&Region> {
        self.regions.get(code)
    }

    /// Every commune, in no particular order.
    pub fn communes(&self) -> impl Iterator<Item = &Commune> {
        self.communes.values()
    }

    /// Number of communes.
    pub fn commune_count(&self) -> usize {
        self.communes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marcq_en_baroeul() {
        let referential = Referential::global();
        let marcq = referential
            .commune(&InseeCode::parse("59378").unwrap())
            .unwrap();
        assert_eq!(marcq.nom, "Marcq-en-Barœul");
        assert_eq!(marcq.siren, "215903782");
        assert_eq!(marcq.departement, "59");
        assert_eq!(marcq.region, "32");
        assert!(marcq.point().is_some());
        assert_eq!(
            referential.epci(&marcq.epci_siren).unwrap().nom,
            "Métropole Européenne de Lille"
        );
        assert_eq!(referential.departement("59").unwrap().nom, "Nord");
        assert_eq!(referential.region("32").unwrap().nom, "Hauts-de-France");
    }

    #[test]
    fn every_file_loads() {
        let referential = Referential::global();
        assert_eq!(referential.commune_count(), 34969);
        assert_eq!(referential.epci.len(), 1255);
        assert_eq!(referential.departements.len(), 109);
        assert_eq!(referential.regions.len(), 26);
        assert!(
            referential
                .commune(&InseeCode::parse("2A004").unwrap())
                .is_some()
        );
    }
}

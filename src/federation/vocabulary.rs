//! The `mai:` vocabulary (`https://w3id.org/maillage/ns#`), served at `GET /ns` as a
//! JSON-LD document defining every term, and as an HTML table to browsers.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::activitypub::context::MAI_NS;

/// One term of the vocabulary.
#[derive(Debug, Clone, Serialize)]
pub struct Term {
    /// Compact name (`mai:phase`).
    pub term: &'static str,
    /// Where it is used.
    pub domain: &'static str,
    /// What its value is.
    pub range: &'static str,
    /// What it means.
    pub definition: &'static str,
}

/// Every `mai:` term.
pub const TERMS: &[Term] = &[
    Term {
        term: "mai:kind",
        domain: "Organization",
        range: "commune | epci | departement | region | syndicat | association | autre",
        definition: "Kind of local authority.",
    },
    Term {
        term: "mai:insee",
        domain: "Organization, Place",
        range: "string (COG code, 5 characters)",
        definition: "INSEE code of the commune (Code officiel géographique); 2A/2B for Corsica.",
    },
    Term {
        term: "mai:siren",
        domain: "Organization",
        range: "string (9 digits)",
        definition: "SIREN number of the authority.",
    },
    Term {
        term: "mai:epci",
        domain: "Organization",
        range: "string (9 digits)",
        definition: "SIREN of the intercommunalité (EPCI à fiscalité propre) the commune belongs to.",
    },
    Term {
        term: "mai:departement",
        domain: "Organization",
        range: "string",
        definition: "Code of the département (59, 2A, 971).",
    },
    Term {
        term: "mai:region",
        domain: "Organization",
        range: "string",
        definition: "Code of the région (32).",
    },
    Term {
        term: "mai:population",
        domain: "Organization",
        range: "xsd:integer",
        definition: "Population (INSEE population municipale for communes).",
    },
    Term {
        term: "mai:labels",
        domain: "Organization",
        range: "JSON list of {year, arobases 1..5, mentions[]}",
        definition: "Labels « Territoires, Villes et Villages Internet » obtained.",
    },
    Term {
        term: "mai:phase",
        domain: "Article",
        range: "idee | etude | realisation | service",
        definition: "How far the action has gone; service means a running public service.",
    },
    Term {
        term: "mai:status",
        domain: "Article",
        range: "en-cours | en-pause | abandonne | termine",
        definition: "Whether the action is going on.",
    },
    Term {
        term: "mai:themes",
        domain: "Article",
        range: "set of theme slugs",
        definition: "Themes of the Maillage taxonomy (four axes, twelve themes, from Atlaas).",
    },
    Term {
        term: "mai:partners",
        domain: "Article",
        range: "set of actor ids",
        definition: "Collectivités co-carrying the action (mutualisation).",
    },
    Term {
        term: "mai:openToPartners",
        domain: "Article",
        range: "xsd:boolean",
        definition: "The owner invites other authorities to join the action (appel à mutualisation).",
    },
    Term {
        term: "mai:budget",
        domain: "Article",
        range: "xsd:integer (euros)",
        definition: "Budget of the action in euros.",
    },
    Term {
        term: "mai:results",
        domain: "Article",
        range: "HTML string",
        definition: "What came of the action.",
    },
    Term {
        term: "mai:recommendations",
        domain: "Article",
        range: "HTML string",
        definition: "What others should know before doing the same.",
    },
    Term {
        term: "mai:software",
        domain: "Article",
        range: "JSON list of {name, url, licence (SPDX), sill_id, comptoir_id, wikidata}",
        definition: "Software used by the action.",
    },
    Term {
        term: "mai:providers",
        domain: "Article",
        range: "JSON list of {name, siren, url}",
        definition: "Providers (prestataires) who worked on the action.",
    },
    Term {
        term: "mai:contacts",
        domain: "Article",
        range: "JSON list of {name, role, email}",
        definition: "Contact persons, published only with the editor's consent.",
    },
];

/// The JSON-LD document served at `/ns`.
pub fn vocabulary_document() -> Value {
    let mut context = Map::new();
    context.insert("mai".into(), json!(MAI_NS));
    context.insert(
        "rdf".into(),
        json!("http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
    );
    context.insert(
        "rdfs".into(),
        json!("http://www.w3.org/2000/01/rdf-schema#"),
    );
    context.insert("definition".into(), json!("rdfs:comment"));
    context.insert("domain".into(), json!("rdfs:domain"));
    context.insert("range".into(), json!("rdfs:range"));
    json!({
        "@context": context,
        "@id": MAI_NS.trim_end_matches('#'),
        "rdfs:label": "Maillage vocabulary",
        "rdfs:comment": "Terms used by Maillage, the federated directory of the digital public actions of French local authorities.",
        "@graph": TERMS.iter().map(|t| json!({
            "@id": t.term,
            "@type": "rdf:Property",
            "definition": t.definition,
            "domain": t.domain,
            "range": t.range,
        })).collect::<Vec<_>>(),
    })
}

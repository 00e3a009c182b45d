//! Exports of directory results (SPEC §4): GeoJSON (one point per place of each action),
//! CSV (semicolon-separated UTF-8, one row per action, fit for data.gouv.fr) and Atom.
//! Pure conversions from domain values; routes and the CLI choose what to export.

use serde_json::{Value, json};

use crate::domain::Action;
use crate::domain::html::escape;
use crate::referential::Referential;

/// The GeoJSON `FeatureCollection` of `actions`: a `Point` feature per located place.
pub fn to_geojson(actions: &[Action]) -> Value {
    let features: Vec<Value> = actions
        .iter()
        .flat_map(|action| {
            action.data.locations.iter().filter_map(move |place| {
                let point = place.point?;
                Some(json!({
                    "type": "Feature",
                    "geometry": { "type": "Point", "coordinates": [point.lon, point.lat] },
                    "properties": {
                        "id": action.ap_id,
                        "url": action.url,
                        "name": action.data.name,
                        "summary": action.display_summary(),
                        "collectivite": action.owner.name,
                        "collectivite_id": action.owner.ap_id,
                        "place": place.name,
                        "insee": place.insee,
                        "themes": action.data.themes,
                        "phase": action.data.phase,
                        "status": action.data.status,
                        "open_to_partners": action.data.open_to_partners,
                        "partnered": !action.partners.is_empty(),
                        "updated": action.updated,
                    },
                }))
            })
        })
        .collect();
    json!({ "type": "FeatureCollection", "features": features })
}

/// CSV header, in French (open-data convention).
pub const CSV_COLUMNS: [&str; 23] = [
    "id",
    "url",
    "nom",
    "resume",
    "collectivite",
    "collectivite_id",
    "insee",
    "departement",
    "region",
    "themes",
    "phase",
    "statut",
    "date_debut",
    "date_fin",
    "budget_eur",
    "logiciels",
    "prestataires",
    "partenaires",
    "ouvert_aux_partenaires",
    "latitude",
    "longitude",
    "publie_le",
    "mis_a_jour_le",
];

/// Prefixes a cell that a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab,
/// carriage return) with `'`: names and summaries come from other nodes.
fn defuse(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

/// The CSV of `actions`: `;`-separated, UTF-8 without BOM, a header row, one row per
/// action; lists inside a cell are separated by `|`.
///
/// # Errors
/// Only if writing to memory fails.
pub fn to_csv(actions: &[Action]) -> anyhow::Result<String> {
    let referential = Referential::global();
    let mut writer = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(Vec::new());
    writer.write_record(CSV_COLUMNS)?;
    for action in actions {
        let d = &action.data;
        let first = d.locations.first();
        let commune = first
            .and_then(|p| p.insee.as_ref())
            .and_then(|insee| referential.commune(insee));
        let point = d.locations.iter().find_map(|p| p.point);
        let join = |items: Vec<String>| items.join("|");
        writer.write_record(
            [
                action.ap_id.to_string(),
                action.url.to_string(),
                d.name.clone(),
                action.display_summary(),
                action.owner.name.clone(),
                action.owner.ap_id.to_string(),
                first
                    .and_then(|p| p.insee.as_ref())
                    .map(|i| i.to_string())
                    .unwrap_or_default(),
                commune.map(|c| c.departement.clone()).unwrap_or_default(),
                commune.map(|c| c.region.clone()).unwrap_or_default(),
                join(d.themes.iter().map(|t| t.to_string()).collect()),
                d.phase.to_string(),
                d.status.to_string(),
                d.start_date.map(|x| x.to_string()).unwrap_or_default(),
                d.end_date.map(|x| x.to_string()).unwrap_or_default(),
                d.budget_eur.map(|b| b.to_string()).unwrap_or_default(),
                join(d.software.iter().map(|s| s.name.clone()).collect()),
                join(d.providers.iter().map(|p| p.name.clone()).collect()),
                join(action.partners.iter().map(|p| p.to_string()).collect()),
                d.open_to_partners.to_string(),
                point.map(|p| p.lat.to_string()).unwrap_or_default(),
                point.map(|p| p.lon.to_string()).unwrap_or_default(),
                action.published.to_rfc3339(),
                action.updated.to_rfc3339(),
            ]
            .map(|cell| defuse(&cell)),
        )?;
    }
    Ok(String::from_utf8(writer.into_inner()?)?)
}

/// The Atom feed of `actions`, titled `title`, found at `self_url`.
pub fn to_atom(actions: &[Action], title: &str, self_url: &str, site: &str) -> String {
    let updated = actions
        .iter()
        .map(|a| a.updated)
        .max()
        .unwrap_or_else(chrono::Utc::now);
    let mut out = String::with_capacity(1024 + actions.len() * 800);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"fr\">\n");
    out.push_str(&format!(
        "  <title>{}</title>\n  <id>{}</id>\n  <link rel=\"self\" href=\"{}\"/>\n  <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n  <updated>{}</updated>\n  <generator>Maillage</generator>\n",
        escape(title),
        escape(self_url),
        escape(self_url),
        escape(site),
        updated.to_rfc3339()
    ));
    for action in actions {
        out.push_str("  <entry>\n");
        out.push_str(&format!("    <id>{}</id>\n", escape(action.ap_id.as_str())));
        out.push_str(&format!(
            "    <title>{}</title>\n",
            escape(&action.data.name)
        ));
        out.push_str(&format!(
            "    <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
            escape(action.url.as_str())
        ));
        out.push_str(&format!(
            "    <published>{}</published>\n",
            action.published.to_rfc3339()
        ));
        out.push_str(&format!(
            "    <updated>{}</updated>\n",
            action.updated.to_rfc3339()
        ));
        out.push_str(&format!(
            "    <author><name>{}</name><uri>{}</uri></author>\n",
            escape(&action.owner.name),
            escape(action.owner.ap_id.as_str())
        ));
        for theme in &action.data.themes {
            out.push_str(&format!(
                "    <category term=\"{}\" label=\"{}\"/>\n",
                escape(theme.as_ref()),
                escape(&theme.theme().label)
            ));
        }
        out.push_str(&format!(
            "    <summary>{}</summary>\n",
            escape(&action.display_summary())
        ));
        out.push_str(&format!(
            "    <content type=\"html\">{}</content>\n",
            escape(action.data.content.html.as_str())
        ));
        out.push_str("  </entry>\n");
    }
    out.push_str("</feed>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::defuse;

    #[test]
    fn spreadsheet_formulas_are_defused() {
        assert_eq!(
            defuse("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        assert_eq!(defuse("+33 1 23"), "'+33 1 23");
        assert_eq!(defuse("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(defuse("Médiathèque"), "Médiathèque");
        assert_eq!(defuse(""), "");
    }
}

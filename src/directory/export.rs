//! Exports of directory results (SPEC §4): GeoJSON (one point per place of each action),
//! CSV (semicolon-separated UTF-8, one row per action, fit for data.gouv.fr) and Atom.
//! Pure conversions from domain values; routes and the CLI choose what to export.

use serde_json::{Value, json};

use crate::domain::Action;
use crate::domain::html::escape;
use crate::referential::Referential;

/// The GeoJSON features of `action`: a `Point` feature per located place.
fn features(action: &Action) -> impl Iterator<Item = Value> + '_ {
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
}

/// The GeoJSON `FeatureCollection` of `actions`: a `Point` feature per located place.
pub fn to_geojson(actions: &[Action]) -> Value {
    let features: Vec<Value> = actions.iter().flat_map(features).collect();
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

/// Columns holding numbers the node wrote (`budget_eur`, `latitude`, `longitude`):
/// never defused, so that `-1.67494` stays a number for a spreadsheet.
const CSV_NUMERIC: [&str; 3] = ["budget_eur", "latitude", "longitude"];

/// Prefixes a cell that a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab,
/// carriage return) with `'`: names and summaries come from other nodes.
fn defuse(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

/// The cells of `action`'s CSV row, in [`CSV_COLUMNS`] order, text cells defused.
fn csv_record(action: &Action) -> [String; 23] {
    let referential = Referential::global();
    let d = &action.data;
    let first = d.locations.first();
    let commune = first
        .and_then(|p| p.insee.as_ref())
        .and_then(|insee| referential.commune(insee));
    let point = d.locations.iter().find_map(|p| p.point);
    let join = |items: Vec<String>| items.join("|");
    let cells = [
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
    ];
    let mut column = CSV_COLUMNS.iter();
    cells.map(|cell| match column.next() {
        Some(name) if CSV_NUMERIC.contains(name) => cell,
        _ => defuse(&cell),
    })
}

/// The formats a directory export is streamed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A GeoJSON `FeatureCollection`.
    Geojson,
    /// `;`-separated CSV.
    Csv,
}

/// Writes an export piece by piece ([`Encoder::start`], [`Encoder::action`] for each
/// action, [`Encoder::finish`]), so that the whole export is never held in memory.
/// The concatenated pieces are byte for byte [`to_geojson`] or [`to_csv`].
#[derive(Debug)]
pub struct Encoder {
    format: Format,
    /// A GeoJSON feature was written (the next one needs a comma).
    written: bool,
}

/// The text of an empty `FeatureCollection`, split where its features go.
fn geojson_frame() -> (String, String) {
    let empty = json!({ "type": "FeatureCollection", "features": [] }).to_string();
    let (head, tail) = empty
        .split_once("[]")
        .expect("BUG: an empty feature list serialises as []");
    (format!("{head}["), format!("]{tail}"))
}

impl Encoder {
    /// An encoder of `format`.
    pub fn new(format: Format) -> Self {
        Self {
            format,
            written: false,
        }
    }

    /// What comes before the first action (the CSV header, the GeoJSON frame).
    pub fn start(&mut self) -> Vec<u8> {
        match self.format {
            Format::Geojson => geojson_frame().0.into_bytes(),
            Format::Csv => csv_line(CSV_COLUMNS.map(String::from)),
        }
    }

    /// The text of one action, appended to `out`.
    pub fn action(&mut self, action: &Action, out: &mut Vec<u8>) {
        match self.format {
            Format::Geojson => {
                for feature in features(action) {
                    if self.written {
                        out.push(b',');
                    }
                    self.written = true;
                    serde_json::to_writer(&mut *out, &feature).expect("BUG: JSON to memory");
                }
            }
            Format::Csv => out.extend(csv_line(csv_record(action))),
        }
    }

    /// What comes after the last action.
    pub fn finish(&mut self) -> Vec<u8> {
        match self.format {
            Format::Geojson => geojson_frame().1.into_bytes(),
            Format::Csv => Vec::new(),
        }
    }
}

/// One CSV line: `;`-separated, quoted where needed, `\n`-terminated.
fn csv_line(cells: [String; 23]) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(Vec::with_capacity(512));
    writer
        .write_record(cells)
        .expect("BUG: CSV to memory cannot fail");
    writer.into_inner().expect("BUG: CSV to memory cannot fail")
}

/// The CSV of `actions`: `;`-separated, UTF-8 without BOM, a header row, one row per
/// action; lists inside a cell are separated by `|`.
pub fn to_csv(actions: &[Action]) -> String {
    let mut encoder = Encoder::new(Format::Csv);
    let mut out = encoder.start();
    for action in actions {
        encoder.action(action, &mut out);
    }
    out.extend(encoder.finish());
    String::from_utf8(out).expect("BUG: CSV of UTF-8 cells")
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
    use super::*;

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

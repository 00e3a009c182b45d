//! `maillage export --format geojson|csv|jsonl [--output FILE] [QUERY]`: the directory
//! (or a search of it, with the API's parameters as `key=value` arguments) written the
//! same way as `/directory.geojson` and `/directory.csv`, or as JSON lines of the API's
//! action view.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::ValueEnum;

use super::{CliError, CliResult};
use crate::api::actions::ActionView;
use crate::directory::{SearchQuery, export};
use crate::state::AppState;

/// Export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// GeoJSON FeatureCollection.
    Geojson,
    /// `;`-separated CSV.
    Csv,
    /// One JSON action per line.
    Jsonl,
}

/// Runs `maillage export`.
pub async fn run(
    state: AppState,
    format: Format,
    output: Option<PathBuf>,
    filters: Vec<String>,
) -> CliResult {
    let mut pairs = Vec::new();
    for filter in &filters {
        let (key, value) = filter.split_once('=').ok_or_else(|| {
            CliError(format!(
                "« {filter} » : filtre clé=valeur attendu (ex. departement=59)"
            ))
        })?;
        pairs.push((key, value));
    }
    let query = SearchQuery::parse(pairs)?;
    let actions = crate::service::directory::all(&state, &query, i64::MAX).await?;
    let text = match format {
        Format::Geojson => export::to_geojson(&actions).to_string(),
        Format::Csv => export::to_csv(&actions)?,
        Format::Jsonl => actions
            .iter()
            .map(|a| {
                serde_json::to_string(&ActionView::new(a, false)).expect("BUG: views serialise")
            })
            .map(|line| line + "\n")
            .collect(),
    };
    match &output {
        Some(path) => std::fs::write(path, &text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .context("cannot write to standard output")?,
    }
    eprintln!("{} action(s) exportée(s)", actions.len());
    Ok(())
}

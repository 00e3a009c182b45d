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
use crate::service::exports;
use crate::state::AppState;
use futures_util::StreamExt;

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
    let mut out: Box<dyn Write> = match &output {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = std::io::BufWriter::new(&mut out);
    let target = || match &output {
        Some(path) => format!("cannot write {}", path.display()),
        None => "cannot write to standard output".into(),
    };
    let written = match write(&state, format, &query, &mut out).await {
        Ok(count) => {
            out.flush().with_context(target)?;
            count
        }
        Err(Failure::Write(error)) => {
            return Err(anyhow::Error::from(error).context(target()).into());
        }
        Err(Failure::Read(error)) => return Err(error.into()),
    };
    eprintln!(
        "{}",
        crate::domain::french::count(written as i64, "action exportée", "actions exportées")
    );
    Ok(())
}

/// Why an export stopped.
enum Failure {
    /// Reading the directory failed.
    Read(crate::error::AppError),
    /// Writing the output failed.
    Write(std::io::Error),
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Failure::Write(error)
    }
}

/// Writes the export to `out` a chunk of actions at a time (the memory used does not
/// grow with the directory); returns how many actions it holds.
async fn write(
    state: &AppState,
    format: Format,
    query: &SearchQuery,
    out: &mut impl Write,
) -> Result<usize, Failure> {
    let mut encoder = match format {
        Format::Geojson => Some(export::Encoder::new(export::Format::Geojson)),
        Format::Csv => Some(export::Encoder::new(export::Format::Csv)),
        Format::Jsonl => None,
    };
    if let Some(encoder) = &mut encoder {
        out.write_all(&encoder.start())?;
    }
    let mut chunks = std::pin::pin!(exports::chunks(state.clone(), query));
    let mut count = 0;
    let mut text = Vec::new();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(Failure::Read)?;
        count += chunk.len();
        text.clear();
        for action in &chunk {
            match &mut encoder {
                Some(encoder) => encoder.action(action, &mut text),
                None => {
                    serde_json::to_writer(&mut text, &ActionView::new(action, false))
                        .map_err(std::io::Error::from)?;
                    text.push(b'\n');
                }
            }
        }
        out.write_all(&text)?;
    }
    if let Some(encoder) = &mut encoder {
        out.write_all(&encoder.finish())?;
    }
    Ok(count)
}

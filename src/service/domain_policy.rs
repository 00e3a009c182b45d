//! The domain policy as lists an operator moves between servers: the allow-list
//! (`allow`, `disallow`), and import/export of domain blocks and allows as CSV in
//! Mastodon's formats, so a node can take over a list kept by a Mastodon instance or
//! a shared blocklist, and give its own back.
//!
//! Mastodon's domain-block CSV (admin → Federation → Export):
//! `#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate`.
//! Its allow CSV: `#domain`. Maillage has one level of block: `suspend` and `silence`
//! both block (a directory cannot show half an actor), `noop` lines are skipped.
//! Files without a header (one domain per line, as older exports and most shared
//! lists are) import too. Every refused line is reported with its number; good lines
//! go in.

use serde::Serialize;

use crate::db::moderation::DomainAllow;
use crate::error::{AppError, AppResult, FieldError};
use crate::state::AppState;

/// Header of Mastodon's domain-block export.
pub const BLOCKS_HEADER: [&str; 6] = [
    "#domain",
    "#severity",
    "#reject_media",
    "#reject_reports",
    "#public_comment",
    "#obfuscate",
];

/// Which list a CSV file fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    /// Domain blocks.
    Blocks,
    /// Allowed domains (allow-list mode).
    Allows,
}

/// A line of an import that was not applied.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LineIssue {
    /// Line number in the file (1 = first line).
    pub line: u64,
    /// The domain on that line, when there was one.
    pub domain: String,
    /// Why (French, for the operator).
    pub message: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// Domains added or updated.
    pub imported: u64,
    /// Lines deliberately left out (`noop` severity, comments).
    pub skipped: Vec<LineIssue>,
    /// Lines refused (not a domain, obfuscated, this node's own domain).
    pub errors: Vec<LineIssue>,
}

impl ImportReport {
    /// One line for people: "2 domaines importés, 1 ignoré, 0 refusé".
    pub fn summary(&self) -> String {
        use crate::domain::french::count;
        format!(
            "{}, {}, {}",
            count(self.imported as i64, "domaine importé", "domaines importés"),
            count(self.skipped.len() as i64, "ignoré", "ignorés"),
            count(self.errors.len() as i64, "refusé", "refusés")
        )
    }
}

fn invalid(message: String) -> AppError {
    AppError::Validation(vec![FieldError::new("domain", message)])
}

/// Checks a domain for the lists: a host name such as `ville.example`.
///
/// # Errors
/// [`AppError::Validation`] otherwise.
pub fn parse_domain(domain: &str) -> AppResult<String> {
    match super::moderation::parse_target(domain) {
        Ok((domain, "domain")) => Ok(domain),
        Ok(_) => Err(invalid(format!(
            "« {} » est l'adresse d'un acteur : un nom de domaine est attendu",
            domain.trim()
        ))),
        Err(_) if domain.contains('*') => Err(invalid(format!(
            "« {} » est masqué (obfuscate) : le domaine réel est nécessaire",
            domain.trim()
        ))),
        Err(_) => Err(invalid(format!(
            "« {} » n'est pas un nom de domaine (ex. ville.example)",
            domain.trim()
        ))),
    }
}

/// Allows a domain (allow-list mode), effective at once in this process.
///
/// # Errors
/// [`AppError::Validation`] for a bad domain; storage failures.
pub async fn allow(state: &AppState, domain: &str, reason: &str) -> AppResult<DomainAllow> {
    let domain = parse_domain(domain)?;
    let reason: String = reason.trim().chars().take(500).collect();
    let allowed = state.store.add_allow(&domain, &reason).await?;
    state.blocks.reload(&state.store).await?;
    tracing::info!(domain = %allowed.domain, "allowed");
    Ok(allowed)
}

/// Removes an allowed domain.
///
/// # Errors
/// [`AppError::NotFound`] for an unknown id.
pub async fn disallow(state: &AppState, id: i64) -> AppResult<()> {
    if !state.store.remove_allow(id).await? {
        return Err(AppError::NotFound(format!(
            "aucun domaine autorisé « {id} »"
        )));
    }
    state.blocks.reload(&state.store).await?;
    Ok(())
}

/// One line of a CSV file, read.
struct Row {
    line: u64,
    domain: String,
    severity: String,
    comment: String,
}

/// Reads a Mastodon CSV (with or without its `#domain` header); refuses only a file
/// that is not text: malformed CSV, or a NUL byte anywhere (PostgreSQL cannot store
/// one; a UTF-16 file is the usual cause), named by its line. Web, API and CLI all
/// come through here.
fn read_rows(csv_text: &str) -> AppResult<Vec<Row>> {
    let csv_text = csv_text.trim_start_matches('\u{feff}');
    if let Some(at) = csv_text.find('\0') {
        let line = csv_text[..at].matches('\n').count() + 1;
        return Err(AppError::Validation(vec![FieldError::new(
            "file",
            format!(
                "ligne {line} : le fichier contient un octet nul ; enregistrez-le au format « CSV UTF-8 » et recommencez"
            ),
        )]));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(csv_text.as_bytes());
    let mut columns: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|e| invalid(format!("fichier CSV illisible : {e}")))?;
        let line = record
            .position()
            .map_or(index as u64 + 1, csv::Position::line);
        let first = record.get(0).unwrap_or_default();
        if index == 0
            && matches!(
                first.to_ascii_lowercase().as_str(),
                "#domain" | "domain" | "domaine"
            )
        {
            columns = Some(
                record
                    .iter()
                    .map(|c| c.trim_start_matches('#').to_ascii_lowercase())
                    .collect(),
            );
            continue;
        }
        let field = |name: &str| {
            columns
                .as_ref()
                .and_then(|columns| columns.iter().position(|c| c == name))
                .and_then(|i| record.get(i))
                .unwrap_or_default()
                .to_string()
        };
        let domain = match &columns {
            Some(_) => field("domain"),
            None => first.to_string(),
        };
        rows.push(Row {
            line,
            domain,
            severity: field("severity").to_ascii_lowercase(),
            comment: field("public_comment"),
        });
    }
    Ok(rows)
}

/// Imports a CSV file into the blocks or the allows; good lines go in, the others are
/// reported.
///
/// # Errors
/// [`AppError::Validation`] for a file that is not CSV text (with the line of a NUL
/// byte); storage failures.
pub async fn import(state: &AppState, list: List, csv_text: &str) -> AppResult<ImportReport> {
    let result = import_rows(state, list, csv_text).await;
    // What went in applies at once, even when a later line failed.
    state.blocks.reload(&state.store).await?;
    result
}

async fn import_rows(state: &AppState, list: List, csv_text: &str) -> AppResult<ImportReport> {
    let mut report = ImportReport::default();
    for row in read_rows(csv_text)? {
        let issue = |message: String| LineIssue {
            line: row.line,
            domain: row.domain.clone(),
            message,
        };
        if row.domain.is_empty() || row.domain.starts_with('#') {
            continue;
        }
        if list == List::Blocks && row.severity == "noop" {
            report
                .skipped
                .push(issue("sévérité « noop » : rien à bloquer".into()));
            continue;
        }
        let domain = match parse_domain(&row.domain) {
            Ok(domain) => domain,
            Err(error) => {
                report.errors.push(issue(first_message(error)));
                continue;
            }
        };
        if list == List::Blocks
            && let Err(error) = super::moderation::refuse_own_domain(state, &domain)
        {
            report.errors.push(issue(first_message(error)));
            continue;
        }
        let reason: String = row.comment.chars().take(500).collect();
        match list {
            List::Blocks => drop(state.store.add_block(&domain, "domain", &reason).await?),
            List::Allows => drop(state.store.add_allow(&domain, &reason).await?),
        }
        report.imported += 1;
    }
    tracing::info!(
        ?list,
        imported = report.imported,
        errors = report.errors.len(),
        "domain list imported"
    );
    Ok(report)
}

fn first_message(error: AppError) -> String {
    match error {
        AppError::Validation(fields) => fields
            .into_iter()
            .map(|f| f.message)
            .collect::<Vec<_>>()
            .join(" ; "),
        other => other.to_string(),
    }
}

/// The blocked domains (configured and from the admin) as Mastodon's domain-block
/// CSV; actor blocks have no place in it and are left out.
///
/// # Errors
/// Storage failures.
pub async fn export(state: &AppState, list: List) -> AppResult<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let csv_error = |e: csv::Error| AppError::Internal(e.into());
    match list {
        List::Blocks => {
            writer.write_record(BLOCKS_HEADER).map_err(csv_error)?;
            let configured = state.settings.federation.blocked_domains.iter().map(|d| {
                (
                    d.trim().trim_end_matches('.').to_ascii_lowercase(),
                    "federation.blocked_domains".to_string(),
                )
            });
            let stored = state
                .store
                .blocks()
                .await?
                .into_iter()
                .filter(|b| b.kind == "domain")
                .map(|b| (b.target, b.reason));
            for (domain, reason) in dedup(configured.chain(stored)) {
                writer
                    .write_record([
                        domain.as_str(),
                        "suspend",
                        "true",
                        "true",
                        reason.as_str(),
                        "false",
                    ])
                    .map_err(csv_error)?;
            }
        }
        List::Allows => {
            writer.write_record(["#domain"]).map_err(csv_error)?;
            let configured = state.settings.federation.allowed_domains.iter().map(|d| {
                (
                    d.trim().trim_end_matches('.').to_ascii_lowercase(),
                    String::new(),
                )
            });
            let stored = state
                .store
                .allows()
                .await?
                .into_iter()
                .map(|a| (a.domain, a.reason));
            for (domain, _) in dedup(configured.chain(stored)) {
                writer.write_record([domain.as_str()]).map_err(csv_error)?;
            }
        }
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    Ok(String::from_utf8(bytes).expect("BUG: CSV of UTF-8 strings is UTF-8"))
}

/// Keeps the first of each domain, sorted by domain.
fn dedup(items: impl Iterator<Item = (String, String)>) -> Vec<(String, String)> {
    let mut seen = std::collections::BTreeMap::new();
    for (domain, reason) in items {
        if !domain.is_empty() {
            seen.entry(domain).or_insert(reason);
        }
    }
    seen.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mastodon_export_is_read_by_column() {
        let rows = read_rows(
            "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n\
             spam.example,suspend,true,true,\"Spam, beaucoup\",false\n\
             bruit.example,noop,false,false,,false\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].domain, "spam.example");
        assert_eq!(rows[0].severity, "suspend");
        assert_eq!(rows[0].comment, "Spam, beaucoup");
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[1].severity, "noop");
    }

    #[test]
    fn bare_lists_and_bom_are_read() {
        let rows = read_rows("\u{feff}a.example\nb.example\n\n").unwrap();
        let domains: Vec<_> = rows.iter().map(|r| r.domain.as_str()).collect();
        assert_eq!(domains, ["a.example", "b.example"]);
    }

    #[test]
    fn domains_are_checked() {
        assert_eq!(parse_domain(" Ville.Example. ").unwrap(), "ville.example");
        assert!(parse_domain("https://a.example/actor").is_err());
        let masked = first_message(parse_domain("sp*m.example").unwrap_err());
        assert!(masked.contains("masqué"), "{masked}");
        assert!(parse_domain("pas un domaine").is_err());
    }
}

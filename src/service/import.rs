//! Bulk import of a collectivité's actions from a spreadsheet saved as CSV (`maillage
//! import`; the columns are described in `docs/import.md`). Each row becomes an
//! [`ActionBody`] checked by the same validation as the API; good rows are published
//! through [`service::actions`](crate::service::actions) like any action, bad rows are
//! reported with their line number and reason, in French, for the editor.
//!
//! Idempotence: every imported action keeps an import key (the row's `reference` cell,
//! or a hash of the normalised row), unique per collectivité; importing the same file
//! again finds those actions instead of creating them twice, and a row with a
//! `reference` whose content changed updates its action.
//!
//! [`parse`] reads and checks the file (encoding, separator, header) at once; [`import`]
//! then handles its rows one by one and calls back after each, for a progress bar.
//! [`import_csv`] does both.

use std::collections::HashMap;
use std::fmt;

use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

use crate::directory::text::fold;
use crate::domain::drafts::{ActionBody, LinkBody, PlaceBody, ProviderBody, SoftwareBody};
use crate::domain::{Collectivite, InvalidFields, NewAction};
use crate::error::{AppError, AppResult};
use crate::service;
use crate::state::AppState;

/// Longest `reference` accepted.
pub const REFERENCE_MAX: usize = 200;

/// A column of the import file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// External id of the action in the town's own files; the idempotence key.
    Reference,
    /// Title (required).
    Nom,
    /// Subtitle.
    SousTitre,
    /// What it is, in Markdown (required).
    Description,
    /// What came of it, in Markdown.
    Resultats,
    /// What others should know, in Markdown.
    Recommandations,
    /// `idee`, `etude`, `realisation` or `service`.
    Phase,
    /// `en-cours`, `en-pause`, `abandonne` or `termine`.
    Statut,
    /// Theme slugs (required).
    Themes,
    /// INSEE codes of the communes concerned.
    Insee,
    /// Start date.
    DateDebut,
    /// End date.
    DateFin,
    /// Budget in euros.
    BudgetEur,
    /// Open to other authorities joining.
    OuvertAuxPartenaires,
    /// Software names.
    Logiciels,
    /// Provider names.
    Prestataires,
    /// Web addresses.
    Liens,
}

impl Column {
    /// Every column, in the order of the sample file.
    pub const ALL: [Column; 17] = [
        Column::Reference,
        Column::Nom,
        Column::SousTitre,
        Column::Description,
        Column::Resultats,
        Column::Recommandations,
        Column::Phase,
        Column::Statut,
        Column::Themes,
        Column::Insee,
        Column::DateDebut,
        Column::DateFin,
        Column::BudgetEur,
        Column::OuvertAuxPartenaires,
        Column::Logiciels,
        Column::Prestataires,
        Column::Liens,
    ];

    /// Columns a file must have.
    pub const REQUIRED: [Column; 3] = [Column::Nom, Column::Description, Column::Themes];

    /// The documented header name.
    pub fn name(self) -> &'static str {
        self.names()[0]
    }

    /// The header names accepted for this column, normalised (see [`normalise_header`]);
    /// the first is the documented one.
    fn names(self) -> &'static [&'static str] {
        match self {
            Column::Reference => &["reference", "ref", "identifiant"],
            Column::Nom => &["nom", "titre", "intitule", "name"],
            Column::SousTitre => &["sous_titre", "resume", "summary"],
            Column::Description => &["description", "contenu", "content"],
            Column::Resultats => &["resultats", "results"],
            Column::Recommandations => &["recommandations", "recommendations"],
            Column::Phase => &["phase"],
            Column::Statut => &["statut", "etat", "status"],
            Column::Themes => &["themes", "theme"],
            Column::Insee => &["insee", "code_insee", "codes_insee"],
            Column::DateDebut => &["date_debut", "date_de_debut", "debut", "start_date"],
            Column::DateFin => &["date_fin", "date_de_fin", "fin", "end_date"],
            Column::BudgetEur => &["budget_eur", "budget", "budget_euros", "budget_en_euros"],
            Column::OuvertAuxPartenaires => &[
                "ouvert_aux_partenaires",
                "appel_a_mutualisation",
                "open_to_partners",
            ],
            Column::Logiciels => &["logiciels", "logiciel", "software"],
            Column::Prestataires => &["prestataires", "prestataire", "providers"],
            Column::Liens => &["liens", "lien", "links"],
        }
    }

    /// The column a header cell names, if any.
    pub fn from_header(header: &str) -> Option<Column> {
        let key = normalise_header(header);
        Column::ALL
            .into_iter()
            .find(|c| c.names().contains(&key.as_str()))
    }

    /// The column a field of [`ActionBody`] comes from (`themes[1]` → `themes`,
    /// `location[0].insee` → `insee`).
    pub fn of_field(field: &str) -> Option<Column> {
        let head = field.split(['[', '.']).next().unwrap_or(field);
        Some(match head {
            "name" => Column::Nom,
            "summary" => Column::SousTitre,
            "content" => Column::Description,
            "results" => Column::Resultats,
            "recommendations" => Column::Recommandations,
            "phase" => Column::Phase,
            "status" => Column::Statut,
            "themes" => Column::Themes,
            "location" => Column::Insee,
            "start_date" => Column::DateDebut,
            "end_date" => Column::DateFin,
            "budget_eur" => Column::BudgetEur,
            "open_to_partners" => Column::OuvertAuxPartenaires,
            "software" => Column::Logiciels,
            "providers" => Column::Prestataires,
            "links" => Column::Liens,
            _ => return None,
        })
    }

    /// True for the columns holding a list of items.
    fn is_list(self) -> bool {
        matches!(
            self,
            Column::Themes
                | Column::Insee
                | Column::Logiciels
                | Column::Prestataires
                | Column::Liens
        )
    }

    /// Separators between the items of a list cell (names may hold commas, so only
    /// `|` for them).
    fn list_separators(self) -> &'static [char] {
        match self {
            Column::Themes | Column::Insee => &['|', ','],
            _ => &['|'],
        }
    }

    fn index(self) -> usize {
        Column::ALL
            .iter()
            .position(|c| *c == self)
            .expect("BUG: every column is in ALL")
    }
}

/// A header cell as compared with the column names: lower case, without accents, any
/// run of other characters than letters and digits turned into one `_`
/// (`Date de début` → `date_de_debut`, `Budget (€)` → `budget`).
pub fn normalise_header(header: &str) -> String {
    fold(header)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

/// The separator of a CSV file, guessed from its header line: `;` (French spreadsheets)
/// when it has more semicolons than commas outside quotes, `,` otherwise.
pub fn detect_separator(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or("");
    let (mut semicolons, mut commas, mut quoted) = (0, 0, false);
    for c in header.chars() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => semicolons += 1,
            ',' if !quoted => commas += 1,
            _ => {}
        }
    }
    if semicolons > commas { b';' } else { b',' }
}

/// The items of a list cell: split on any of `separators`, trimmed, empty ones dropped.
pub fn split_cell(cell: &str, separators: &[char]) -> Vec<String> {
    cell.split(separators)
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_string)
        .collect()
}

/// What an import file holds once read: the rows under a valid header.
#[derive(Debug, Clone)]
pub struct Sheet {
    /// The separator found.
    pub separator: u8,
    /// The columns present, in file order.
    pub columns: Vec<Column>,
    rows: Vec<Row>,
}

/// A non-empty row of the file.
#[derive(Debug, Clone)]
struct Row {
    /// Line where the row starts (1 is the header).
    line: u64,
    /// Cells by [`Column::index`], trimmed, NFC; empty when absent.
    cells: Vec<String>,
    /// Cells found outside any column (more cells than headers, or a blank header).
    stray: Vec<usize>,
}

impl Row {
    fn cell(&self, column: Column) -> &str {
        &self.cells[column.index()]
    }

    fn optional(&self, column: Column) -> Option<String> {
        Some(self.cell(column).to_string()).filter(|c| !c.is_empty())
    }

    fn list(&self, column: Column) -> Vec<String> {
        split_cell(self.cell(column), column.list_separators())
    }
}

impl Sheet {
    /// Number of rows to import (empty rows are skipped).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when the file has no row under its header.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// Reads an import file: UTF-8 with or without BOM, `;` or `,` separated, a header line
/// naming the columns (case and accents do not matter).
///
/// # Errors
/// [`AppError::BadRequest`] with a French message when the file cannot be imported at
/// all (encoding, unknown, repeated or missing columns, malformed CSV).
pub fn parse(bytes: &[u8]) -> AppResult<Sheet> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        AppError::BadRequest(format!(
            "ligne {line} : le fichier n'est pas en UTF-8 ; enregistrez-le au format « CSV UTF-8 »"
        ))
    })?;
    // No text of the directory holds a NUL (PostgreSQL cannot store one): a file with
    // one is not a CSV export of a spreadsheet (UTF-16 is the usual cause).
    if let Some(at) = text.find('\0') {
        let line = text[..at].matches('\n').count() + 1;
        return Err(AppError::BadRequest(format!(
            "ligne {line} : le fichier contient un octet nul ; enregistrez-le au format « CSV UTF-8 »"
        )));
    }
    if text.trim().is_empty() {
        return Err(AppError::BadRequest(
            "le fichier est vide : une ligne d'en-tête nommant les colonnes est attendue".into(),
        ));
    }
    let separator = detect_separator(text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(separator)
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader.headers().map_err(csv_error)?.clone();
    let mut by_position: Vec<Option<Column>> = Vec::with_capacity(headers.len());
    let mut columns = Vec::new();
    for header in &headers {
        if header.trim().is_empty() {
            by_position.push(None);
            continue;
        }
        let Some(column) = Column::from_header(header) else {
            return Err(AppError::BadRequest(format!(
                "ligne 1 : colonne inconnue « {} » ; colonnes possibles : {}",
                header.trim(),
                Column::ALL.map(Column::name).join(", ")
            )));
        };
        if columns.contains(&column) {
            return Err(AppError::BadRequest(format!(
                "ligne 1 : la colonne « {} » apparaît deux fois",
                column.name()
            )));
        }
        columns.push(column);
        by_position.push(Some(column));
    }
    let missing: Vec<&str> = Column::REQUIRED
        .into_iter()
        .filter(|c| !columns.contains(c))
        .map(Column::name)
        .collect();
    if !missing.is_empty() {
        return Err(AppError::BadRequest(format!(
            "ligne 1 : colonne(s) obligatoire(s) absente(s) : {} (séparateur lu : « {} »)",
            missing.join(", "),
            separator as char
        )));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_error)?;
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        let mut row = Row {
            line: record.position().map_or(0, csv::Position::line),
            cells: vec![String::new(); Column::ALL.len()],
            stray: Vec::new(),
        };
        for (i, cell) in record.iter().enumerate() {
            let cell: String = cell.trim().replace("\r\n", "\n").nfc().collect();
            match by_position.get(i).copied().flatten() {
                Some(column) => row.cells[column.index()] = cell,
                None if !cell.is_empty() => row.stray.push(i + 1),
                None => {}
            }
        }
        rows.push(row);
    }
    Ok(Sheet {
        separator,
        columns,
        rows,
    })
}

fn csv_error(error: csv::Error) -> AppError {
    let line = error
        .position()
        .map(|p| format!("ligne {} : ", p.line()))
        .unwrap_or_default();
    AppError::BadRequest(format!("{line}fichier CSV illisible : {error}"))
}

/// One problem of a row, for the editor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Line of the file (1 is the header).
    pub line: u64,
    /// The column at fault, when there is one.
    pub column: Option<&'static str>,
    /// What is wrong, in French.
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.column {
            Some(column) => write!(f, "ligne {} : {column} : {}", self.line, self.message),
            None => write!(f, "ligne {} : {}", self.line, self.message),
        }
    }
}

/// What became of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    /// A new action was published.
    Created(Uuid),
    /// Its action (same `reference`) was changed and the change published.
    Updated(Uuid),
    /// Its action was imported before and nothing changed.
    Unchanged(Uuid),
    /// Its action was imported before and has since been deleted; left deleted.
    Deleted(Uuid),
    /// The row is invalid; nothing was stored.
    Rejected(Vec<RowError>),
}

/// The result of one row.
#[derive(Debug, Clone)]
pub struct RowReport {
    /// Line of the file.
    pub line: u64,
    /// The `nom` cell, when not empty.
    pub name: Option<String>,
    /// What happened.
    pub outcome: RowOutcome,
}

/// Where an import stands, passed to the progress callback after each row.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// Rows handled so far.
    pub done: usize,
    /// Rows in the file.
    pub total: usize,
    /// The row just handled.
    pub row: &'a RowReport,
}

/// The result of an import, row by row.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    /// Every non-empty row, in file order.
    pub rows: Vec<RowReport>,
}

impl ImportReport {
    fn count(&self, matches: impl Fn(&RowOutcome) -> bool) -> usize {
        self.rows.iter().filter(|r| matches(&r.outcome)).count()
    }

    /// Actions created.
    pub fn created(&self) -> usize {
        self.count(|o| matches!(o, RowOutcome::Created(_)))
    }

    /// Actions updated.
    pub fn updated(&self) -> usize {
        self.count(|o| matches!(o, RowOutcome::Updated(_)))
    }

    /// Rows already imported, unchanged.
    pub fn unchanged(&self) -> usize {
        self.count(|o| matches!(o, RowOutcome::Unchanged(_)))
    }

    /// Rows whose action was deleted since it was imported.
    pub fn deleted(&self) -> usize {
        self.count(|o| matches!(o, RowOutcome::Deleted(_)))
    }

    /// Rows rejected.
    pub fn rejected(&self) -> usize {
        self.count(|o| matches!(o, RowOutcome::Rejected(_)))
    }

    /// Every error, in file order.
    pub fn errors(&self) -> impl Iterator<Item = &RowError> {
        self.rows.iter().flat_map(|r| match &r.outcome {
            RowOutcome::Rejected(errors) => errors.as_slice(),
            _ => &[],
        })
    }

    /// One line for the editor: `3 créée(s), 1 mise(s) à jour, 2 inchangée(s), 1 rejetée(s)`.
    pub fn summary(&self) -> String {
        let mut parts = vec![
            format!("{} créée(s)", self.created()),
            format!("{} mise(s) à jour", self.updated()),
            format!("{} inchangée(s)", self.unchanged()),
        ];
        if self.deleted() > 0 {
            parts.push(format!(
                "{} ignorée(s) car supprimée(s) depuis l'import précédent",
                self.deleted()
            ));
        }
        parts.push(format!("{} rejetée(s)", self.rejected()));
        format!("{} ligne(s) : {}", self.rows.len(), parts.join(", "))
    }
}

/// Reads `bytes` with [`parse`] and imports its rows with [`import`].
///
/// # Errors
/// As [`parse`] and [`import`].
pub async fn import_csv(
    state: &AppState,
    owner: &Collectivite,
    bytes: &[u8],
    progress: impl FnMut(Progress<'_>),
) -> AppResult<ImportReport> {
    let sheet = parse(bytes)?;
    import(state, owner, &sheet, progress).await
}

/// Imports the rows of `sheet` as actions of `owner`, calling `progress` after each.
/// Invalid rows are reported and skipped; the others are stored.
///
/// # Errors
/// A storage failure stops the import (the rows already handled stay; importing the
/// file again goes on where it stopped).
pub async fn import(
    state: &AppState,
    owner: &Collectivite,
    sheet: &Sheet,
    mut progress: impl FnMut(Progress<'_>),
) -> AppResult<ImportReport> {
    let mut report = ImportReport::default();
    let mut references: HashMap<String, u64> = HashMap::new();
    for row in &sheet.rows {
        let outcome = import_row(state, owner, row, &mut references).await?;
        report.rows.push(RowReport {
            line: row.line,
            name: row.optional(Column::Nom),
            outcome,
        });
        progress(Progress {
            done: report.rows.len(),
            total: sheet.rows.len(),
            row: report.rows.last().expect("BUG: just pushed"),
        });
    }
    Ok(report)
}

async fn import_row(
    state: &AppState,
    owner: &Collectivite,
    row: &Row,
    references: &mut HashMap<String, u64>,
) -> AppResult<RowOutcome> {
    let (reference, mut data) = match validate(row) {
        Ok(valid) => valid,
        Err(errors) => return Ok(RowOutcome::Rejected(errors)),
    };
    if let Some(reference) = &reference {
        if let Some(first) = references.insert(reference.clone(), row.line) {
            return Ok(RowOutcome::Rejected(vec![RowError {
                line: row.line,
                column: Some(Column::Reference.name()),
                message: format!("la référence « {reference} » est déjà celle de la ligne {first}"),
            }]));
        }
    }
    if data.locations.is_empty() {
        // What create_action would store, so that a re-import compares like with like.
        data.locations
            .extend(service::actions::default_place(owner));
    }
    let key = import_key(row, reference.as_deref());
    match state.store.action_by_import_key(owner.id, &key).await? {
        None => {
            match service::actions::create_keyed_action(state, owner, data, Some(&key)).await {
                Ok(action) => Ok(RowOutcome::Created(action.id.0)),
                Err(AppError::Conflict { .. }) => {
                    // The same row was imported meanwhile by another run: nothing was
                    // stored or sent by this one; keep the other's action.
                    match state.store.action_by_import_key(owner.id, &key).await? {
                        Some(other) => Ok(RowOutcome::Unchanged(other.id.0)),
                        None => Err(AppError::Internal(anyhow::anyhow!(
                            "import key {key} conflicts but is not found"
                        ))),
                    }
                }
                Err(error) => Err(error),
            }
        }
        Some(existing) if existing.deleted.is_some() => Ok(RowOutcome::Deleted(existing.id.0)),
        Some(existing) if reference.is_some() => {
            // The spreadsheet has no column for these: keep what was added on the site.
            data.images = existing.data.images.clone();
            data.contacts = existing.data.contacts.clone();
            data.contacts_public = existing.data.contacts_public;
            if fingerprint(&data) == fingerprint(&existing.data) {
                Ok(RowOutcome::Unchanged(existing.id.0))
            } else {
                let action = service::actions::update_action(state, &existing, data).await?;
                Ok(RowOutcome::Updated(action.id.0))
            }
        }
        Some(existing) => Ok(RowOutcome::Unchanged(existing.id.0)),
    }
}

/// The content of an action as compared between a row and the stored action:
/// the editor's view of it, with coordinates rounded (they go through JSON).
fn fingerprint(data: &NewAction) -> serde_json::Value {
    let mut body = ActionBody::from(data);
    let round = |x: f64| (x * 1e7).round() / 1e7;
    for place in body.location.iter_mut().flatten() {
        place.lat = place.lat.map(round);
        place.lon = place.lon.map(round);
    }
    serde_json::to_value(body).expect("BUG: bodies serialise")
}

/// The import key of a row: `ref:` and its `reference`, or `sha256:` and a hash of its
/// cells by column name (so neither the order of the columns, the separator nor spaces
/// around values change it).
fn import_key(row: &Row, reference: Option<&str>) -> String {
    if let Some(reference) = reference {
        return format!("ref:{reference}");
    }
    let mut hasher = Sha256::new();
    for column in Column::ALL {
        let value = if column.is_list() {
            row.list(column).join("|")
        } else {
            row.cell(column).to_string()
        };
        hasher.update(column.name().as_bytes());
        hasher.update(b"=");
        hasher.update(value.as_bytes());
        hasher.update(b"\x1f");
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

/// Checks a row: its `reference` and the validated action, or every error found.
fn validate(row: &Row) -> Result<(Option<String>, NewAction), Vec<RowError>> {
    let mut errors = Vec::new();
    let mut error = |column: Option<Column>, message: String| {
        errors.push(RowError {
            line: row.line,
            column: column.map(Column::name),
            message,
        });
    };
    for position in &row.stray {
        error(
            None,
            format!(
                "la cellule n° {position} n'est sous aucune colonne (un séparateur en trop, ou du texte à mettre entre guillemets ?)"
            ),
        );
    }
    let reference = row.optional(Column::Reference);
    if reference
        .as_ref()
        .is_some_and(|r| r.chars().count() > REFERENCE_MAX)
    {
        error(
            Some(Column::Reference),
            format!("trop longue : {REFERENCE_MAX} caractères au plus"),
        );
    }
    let budget_eur = row
        .optional(Column::BudgetEur)
        .and_then(|cell| match parse_budget(&cell) {
            Some(budget) => Some(budget),
            None => {
                error(
                    Some(Column::BudgetEur),
                    format!("« {cell} » n'est pas un montant en euros (ex. 15000)"),
                );
                None
            }
        });
    let open_to_partners =
        row.optional(Column::OuvertAuxPartenaires)
            .and_then(|cell| match parse_bool(&cell) {
                Some(value) => Some(value),
                None => {
                    error(
                        Some(Column::OuvertAuxPartenaires),
                        format!("« {cell} » : oui ou non attendu"),
                    );
                    None
                }
            });
    let list = |column: Column| Some(row.list(column)).filter(|items| !items.is_empty());
    let body = ActionBody {
        name: row.optional(Column::Nom),
        summary: row.optional(Column::SousTitre),
        content: row.optional(Column::Description),
        results: row.optional(Column::Resultats),
        recommendations: row.optional(Column::Recommandations),
        phase: row.optional(Column::Phase).map(|p| slug(&p)),
        status: row.optional(Column::Statut).map(|s| slug(&s)),
        themes: list(Column::Themes).map(|themes| themes.iter().map(|t| slug(t)).collect()),
        location: list(Column::Insee).map(|codes| {
            codes
                .into_iter()
                .map(|insee| PlaceBody {
                    insee: Some(insee),
                    ..PlaceBody::default()
                })
                .collect()
        }),
        start_date: row.optional(Column::DateDebut).map(|d| iso_date(&d)),
        end_date: row.optional(Column::DateFin).map(|d| iso_date(&d)),
        budget_eur,
        open_to_partners,
        software: list(Column::Logiciels).map(|names| {
            names
                .into_iter()
                .map(|name| SoftwareBody {
                    name: Some(name),
                    ..SoftwareBody::default()
                })
                .collect()
        }),
        providers: list(Column::Prestataires).map(|names| {
            names
                .into_iter()
                .map(|name| ProviderBody {
                    name: Some(name),
                    ..ProviderBody::default()
                })
                .collect()
        }),
        links: list(Column::Liens).map(|urls| {
            urls.into_iter()
                .map(|url| LinkBody {
                    url: Some(url),
                    description: None,
                })
                .collect()
        }),
        ..ActionBody::default()
    };
    let data = match NewAction::try_from(body) {
        Ok(data) => Some(data),
        Err(InvalidFields(fields)) => {
            for field in fields {
                // Places are named from their INSEE code: a missing name only repeats
                // that the code is unknown, which is reported already.
                if field.field.starts_with("location[") && field.field.ends_with("].name") {
                    continue;
                }
                error(Column::of_field(&field.field), field.message);
            }
            None
        }
    };
    match data {
        Some(data) if errors.is_empty() => Ok((reference, data)),
        _ => Err(errors),
    }
}

/// A phase, status or theme as written in a spreadsheet, as a slug: `Réalisation` →
/// `realisation`, `En cours` → `en-cours`.
fn slug(value: &str) -> String {
    fold(value)
        .split(|c: char| c.is_whitespace() || c == '_')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// `JJ/MM/AAAA` (how spreadsheets often show dates) as `AAAA-MM-JJ`; anything else is
/// left for the validation to accept or explain.
fn iso_date(value: &str) -> String {
    match chrono::NaiveDate::parse_from_str(value, "%d/%m/%Y") {
        Ok(date) => date.format("%Y-%m-%d").to_string(),
        Err(_) => value.to_string(),
    }
}

/// A budget in euros: digits, optionally grouped by spaces, with up to two decimals
/// after `,` or `.` (rounded to the euro) and an optional `€`.
fn parse_budget(cell: &str) -> Option<i64> {
    let compact: String = cell
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '€')
        .collect();
    let (units, cents) = match compact.split_once([',', '.']) {
        Some((units, cents)) => (units, cents),
        None => (compact.as_str(), ""),
    };
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if units.is_empty() || !digits(units) || !digits(cents) || cents.len() > 2 {
        return None;
    }
    let units: i64 = units.parse().ok()?;
    let round_up = cents.chars().next().is_some_and(|c| c >= '5');
    units.checked_add(i64::from(round_up))
}

/// `oui`/`non`, `true`/`false`, `vrai`/`faux`, `1`/`0` (any case).
fn parse_bool(cell: &str) -> Option<bool> {
    match fold(cell).as_str() {
        "oui" | "o" | "true" | "vrai" | "1" | "yes" | "x" => Some(true),
        "non" | "n" | "false" | "faux" | "0" | "no" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separator_is_detected_from_the_header() {
        assert_eq!(detect_separator("nom;description;themes\na,b;c;d"), b';');
        assert_eq!(detect_separator("nom,description,themes\na;b,c,d"), b',');
        assert_eq!(
            detect_separator("\"nom;x\",description,themes\n"),
            b',',
            "quoted separators do not count"
        );
        assert_eq!(detect_separator("nom"), b',');
    }

    #[test]
    fn cells_split_on_their_separators() {
        assert_eq!(
            split_cell(" culture | education ,patrimoine||", &['|', ',']),
            ["culture", "education", "patrimoine"]
        );
        assert_eq!(
            split_cell("Société Dupont, SAS | Atelier", &['|']),
            ["Société Dupont, SAS", "Atelier"]
        );
        assert!(split_cell("  ", &['|']).is_empty());
    }

    #[test]
    fn headers_are_french_friendly() {
        assert_eq!(
            Column::from_header("Date de début"),
            Some(Column::DateDebut)
        );
        assert_eq!(
            Column::from_header("  SOUS-TITRE "),
            Some(Column::SousTitre)
        );
        assert_eq!(Column::from_header("Budget (€)"), Some(Column::BudgetEur));
        assert_eq!(Column::from_header("Thèmes"), Some(Column::Themes));
        assert_eq!(Column::from_header("couleur"), None);
        assert_eq!(Column::of_field("themes[2]"), Some(Column::Themes));
        assert_eq!(Column::of_field("location[0].insee"), Some(Column::Insee));
    }

    #[test]
    fn values_are_read_as_editors_write_them() {
        assert_eq!(slug("Réalisation"), "realisation");
        assert_eq!(slug(" En cours "), "en-cours");
        assert_eq!(iso_date("05/03/2024"), "2024-03-05");
        assert_eq!(iso_date("2024-03-05"), "2024-03-05");
        assert_eq!(parse_budget("15 000 €"), Some(15_000));
        assert_eq!(parse_budget("1200,50"), Some(1_201));
        assert_eq!(parse_budget("douze"), None);
        assert_eq!(parse_budget("-3"), None);
        assert_eq!(parse_bool("Oui"), Some(true));
        assert_eq!(parse_bool("0"), Some(false));
        assert_eq!(parse_bool("peut-être"), None);
    }

    #[test]
    fn a_file_is_read_with_its_bom_separator_and_line_numbers() {
        let text = "\u{feff}Nom;Description;Thèmes;Référence\n\
                    Un;\"« multi\nligne »\";culture;A1\n\
                    ;;;\n\
                    Deux;Texte;education;A2;en trop\n";
        let sheet = parse(text.as_bytes()).unwrap();
        assert_eq!(sheet.separator, b';');
        assert_eq!(sheet.len(), 2, "the empty row is skipped");
        assert_eq!(sheet.rows[0].cell(Column::Description), "« multi\nligne »");
        assert_eq!(sheet.rows[0].cell(Column::Reference), "A1");
        assert_eq!(sheet.rows[1].line, 5);
        assert_eq!(sheet.rows[1].stray, [5]);
    }

    #[test]
    fn files_that_cannot_be_imported_say_why() {
        let message = |bytes: &[u8]| parse(bytes).unwrap_err().to_string();
        assert!(message(b"nom;description\n").contains("themes"));
        assert!(message(b"nom;description;themes;couleur\n").contains("« couleur »"));
        assert!(message(b"nom;nom;description;themes\n").contains("deux fois"));
        assert!(message(b"nom;description;themes\nd\xe9j\xe0;x;y\n").contains("ligne 2"));
        assert!(message(b"").contains("vide"));
    }

    #[test]
    fn the_row_key_ignores_column_order_and_spacing() {
        let a = parse("nom;description;themes\nUn;Texte;culture|education\n".as_bytes()).unwrap();
        let b = parse("themes,nom,description\n\"culture, education \",Un , Texte\n".as_bytes())
            .unwrap();
        assert_eq!(import_key(&a.rows[0], None), import_key(&b.rows[0], None));
        assert_eq!(import_key(&a.rows[0], Some("A1")), "ref:A1");
    }

    #[test]
    fn rows_are_validated_like_the_api() {
        let sheet = parse(
            "nom;description;themes;insee;budget_eur;date_debut;date_fin;liens\n\
             Atelier;Texte;educ|culture;99999;beaucoup;2024-02-01;2024-01-01;ftp://x\n"
                .as_bytes(),
        )
        .unwrap();
        let errors = validate(&sheet.rows[0]).unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(
            text.iter()
                .any(|e| e.starts_with("ligne 2 : themes : thème inconnu « educ »")),
            "{text:?}"
        );
        for column in ["insee", "budget_eur", "date_fin", "liens"] {
            assert!(
                text.iter()
                    .any(|e| e.starts_with(&format!("ligne 2 : {column} : "))),
                "{column}: {text:?}"
            );
        }
    }
}

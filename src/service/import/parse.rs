//! Reading an import file: the encoding, the separator and the header at once
//! ([`parse`] → [`Sheet`]), then each row as an [`ActionBody`] draft validated by
//! `domain::drafts` ([`validate`]), with the spreadsheet's ways of writing values
//! (`JJ/MM/AAAA`, `1 200,50 €`, `oui`) read first, and its import key.

use std::fmt;

use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

use crate::directory::text::fold;
use crate::domain::drafts::{ActionBody, LinkBody, PlaceBody, ProviderBody, SoftwareBody};
use crate::domain::{InvalidFields, NewAction};
use crate::error::{AppError, AppResult};

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
    pub(super) rows: Vec<Row>,
}

/// A non-empty row of the file.
#[derive(Debug, Clone)]
pub(super) struct Row {
    /// Line where the row starts (1 is the header).
    pub(super) line: u64,
    /// Cells by [`Column::index`], trimmed, NFC; empty when absent.
    cells: Vec<String>,
    /// Cells found outside any column (more cells than headers, or a blank header).
    pub(super) stray: Vec<usize>,
}

impl Row {
    pub(super) fn cell(&self, column: Column) -> &str {
        &self.cells[column.index()]
    }

    pub(super) fn optional(&self, column: Column) -> Option<String> {
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
            "ligne 1 : {} : {} (séparateur lu : « {} »)",
            if missing.len() == 1 {
                "colonne obligatoire absente"
            } else {
                "colonnes obligatoires absentes"
            },
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

pub(super) fn csv_error(error: csv::Error) -> AppError {
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

/// The import key of a row: `ref:` and its `reference`, or `sha256:` and a hash of its
/// cells by column name (so neither the order of the columns, the separator nor spaces
/// around values change it).
pub(super) fn import_key(row: &Row, reference: Option<&str>) -> String {
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
pub(super) fn validate(row: &Row) -> Result<(Option<String>, NewAction), Vec<RowError>> {
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
pub(super) fn slug(value: &str) -> String {
    fold(value)
        .split(|c: char| c.is_whitespace() || c == '_')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// `JJ/MM/AAAA` (how spreadsheets often show dates) as `AAAA-MM-JJ`; anything else is
/// left for the validation to accept or explain.
pub(super) fn iso_date(value: &str) -> String {
    match chrono::NaiveDate::parse_from_str(value, "%d/%m/%Y") {
        Ok(date) => date.format("%Y-%m-%d").to_string(),
        Err(_) => value.to_string(),
    }
}

/// A budget in euros: digits, optionally grouped by spaces, with up to two decimals
/// after `,` or `.` (rounded to the euro) and an optional `€`.
pub(super) fn parse_budget(cell: &str) -> Option<i64> {
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
pub(super) fn parse_bool(cell: &str) -> Option<bool> {
    match fold(cell).as_str() {
        "oui" | "o" | "true" | "vrai" | "1" | "yes" | "x" => Some(true),
        "non" | "n" | "false" | "faux" | "0" | "no" => Some(false),
        _ => None,
    }
}

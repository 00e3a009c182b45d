//! Loading: defaults, then the TOML file (`--config`, else `maillage.toml` in the
//! working directory, else the Debian package's `/etc/maillage/maillage.toml`), then
//! `MAILLAGE_<SECTION>__<KEY>` variables, strictly; a refusal is a French message
//! naming the key and where it was set ([`ConfigError`]).

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};

use super::Settings;

/// The default configuration file, read when it exists and `--config` is not given.
pub const DEFAULT_CONFIG_FILE: &str = "maillage.toml";

/// The Debian package's configuration file, read when `--config` is not given and the
/// working directory has no `maillage.toml` (so that `sudo -u maillage maillage …` works
/// from any folder on a packaged node).
pub const SYSTEM_CONFIG_FILE: &str = "/etc/maillage/maillage.toml";

/// The configuration file read without `--config`: `maillage.toml` when it exists, else
/// [`SYSTEM_CONFIG_FILE`] when it exists and this user may read it (others, e.g.
/// someone running `maillage demo` on that machine, get the defaults as before).
pub(super) fn default_config_file() -> Option<PathBuf> {
    Some(PathBuf::from(DEFAULT_CONFIG_FILE))
        .filter(|p| p.exists())
        .or_else(|| {
            Some(PathBuf::from(SYSTEM_CONFIG_FILE)).filter(|p| std::fs::File::open(p).is_ok())
        })
}

/// Prefix of the environment variables that set keys (`MAILLAGE_<SECTION>__<KEY>`).
pub(super) const ENV_PREFIX: &str = "MAILLAGE_";

/// Settings as loaded, with where they came from (the line each command prints).
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The checked settings.
    pub settings: Settings,
    /// The file read (absolute when it could be resolved); `None`: defaults only.
    pub file: Option<PathBuf>,
    /// The `MAILLAGE_*` variables that set a key, by name.
    pub variables: Vec<String>,
    /// What is accepted but should change (French): an old form of a key, a setting
    /// a public node needs. `serve`, `worker` and `config check` say them.
    pub warnings: Vec<String>,
}

/// A configuration refused at load: a French message naming the key, and whether the
/// configuration asked for JSON logs (so that the refusal is written as JSON too).
#[derive(Debug)]
pub struct ConfigError {
    /// What is wrong, where, and how to fix it.
    pub message: String,
    /// `log.format = "json"` could be read despite the error.
    pub json_logs: bool,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// The top-level keys that hold a value rather than a section (`domain`, `bind`): the
/// only `MAILLAGE_*` names without `__` that are settings.
pub(super) fn top_level_values() -> &'static [String] {
    static KEYS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let defaults = toml::Table::try_from(Settings::default()).expect("BUG: settings serialise");
        defaults
            .into_iter()
            .filter(|(_, value)| !value.is_table())
            .map(|(key, _)| key)
            .collect()
    })
}

/// The key a variable sets: `MAILLAGE_DATABASE__URL` → `database.url`, `MAILLAGE_DOMAIN`
/// → `domain`. `None` for a name that is not a setting: another prefix, or a
/// `MAILLAGE_*` name without `__` that is no top-level key (`MAILLAGE_CONFIG`, the test
/// suite's `MAILLAGE_TEST_DATABASE_URL`). A `__` name that names no known key is still
/// returned, so that it is refused rather than ignored.
pub fn env_key(name: &str) -> Option<String> {
    let prefix = name.get(..ENV_PREFIX.len())?;
    if !prefix.eq_ignore_ascii_case(ENV_PREFIX) {
        return None;
    }
    let rest = name[ENV_PREFIX.len()..].to_ascii_lowercase();
    if rest.contains("__") {
        return Some(rest.replace("__", "."));
    }
    top_level_values().contains(&rest).then_some(rest)
}

/// The `MAILLAGE_*` variables that are settings, as (name, key).
pub(super) fn setting_variables() -> Vec<(String, String)> {
    let mut variables: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(name, _)| {
            let name = name.into_string().ok()?;
            let key = env_key(name.trim())?;
            Some((name, key))
        })
        .collect();
    variables.sort();
    variables
}

impl Settings {
    /// Loads defaults, the file and the environment, then checks the result.
    ///
    /// # Errors
    /// As [`Settings::load_with_source`].
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        Ok(Self::load_with_source(path)?.settings)
    }

    /// Loads defaults, the file and the `MAILLAGE_<SECTION>__<KEY>` variables, strictly:
    /// an unknown key or variable, a value of the wrong type or an invalid value is
    /// refused, naming the key. The domain is normalised (a default port dropped).
    ///
    /// `path` must exist when given; without it, see [`default_config_file`]:
    /// `maillage.toml`, else `/etc/maillage/maillage.toml`.
    ///
    /// # Errors
    /// A French message naming the key and where it was set.
    pub fn load_with_source(path: Option<&Path>) -> Result<Loaded, ConfigError> {
        let fail = |message: String| ConfigError {
            message,
            json_logs: false,
        };
        let file: Option<PathBuf> = match path {
            Some(path) => {
                if !path.exists() {
                    return Err(fail(format!(
                        "fichier de configuration {} introuvable",
                        path.display()
                    )));
                }
                Some(path.to_path_buf())
            }
            None => default_config_file(),
        };
        let file = file.map(|f| f.canonicalize().unwrap_or(f));
        let variables = setting_variables();
        if let Some((name, _)) = variables
            .iter()
            .find(|(_, key)| key.split('.').any(str::is_empty))
        {
            return Err(fail(format!(
                "variable d'environnement {name} : nom incomplet ; écrivez MAILLAGE_<SECTION>__<CLÉ>, par exemple MAILLAGE_DATABASE__URL"
            )));
        }
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = &file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment =
            figment.merge(Env::raw().filter_map(|name| env_key(name.as_str()).map(Into::into)));
        let json_logs = figment
            .extract_inner::<String>("log.format")
            .is_ok_and(|format| format == "json");
        let fail = |message: String| ConfigError { message, json_logs };
        let mut settings: Settings = figment
            .extract()
            .map_err(|error| fail(describe(error, file.as_deref(), &variables)))?;
        let mut warnings: Vec<String> = settings.upgrade_old_map().into_iter().collect();
        settings.validate().map_err(|error| {
            let place = match &file {
                Some(file) => format!("{} ou variables MAILLAGE_*", file.display()),
                None => "valeurs par défaut ou variables MAILLAGE_*".into(),
            };
            fail(format!("configuration refusée ({place}) : {error:#}"))
        })?;
        settings.domain = settings.canonical_domain();
        warnings.extend(settings.warnings());
        Ok(Loaded {
            settings,
            file,
            variables: variables.into_iter().map(|(name, _)| name).collect(),
            warnings,
        })
    }
}

/// A figment error in French: the key (dotted), where it was set (a variable or the
/// file) and what is wrong.
pub(super) fn describe(
    error: figment::Error,
    file: Option<&Path>,
    variables: &[(String, String)],
) -> String {
    use figment::error::Kind;
    // The path ends with the unknown field itself for `UnknownField`.
    let path = &error.path;
    let key = path.join(".");
    // Variables win over the file: look there first.
    let variable = variables
        .iter()
        .find(|(_, k)| *k == key || k.starts_with(&format!("{key}.")))
        .map(|(name, _)| name.as_str());
    let place = match (variable, file) {
        (Some(name), _) => format!("variable d'environnement {name}"),
        (None, Some(file)) => format!("{}", file.display()),
        (None, None) => "configuration".into(),
    };
    match &error.kind {
        Kind::UnknownField(field, expected) => {
            let section = &path[..path.len().saturating_sub(1)];
            let what = if let Some(name) = variable {
                format!(
                    "la variable d'environnement {name} ne correspond à aucune clé (« {key} » inconnue)"
                )
            } else {
                format!("clé inconnue « {key} » dans {place}")
            };
            let closest = expected
                .iter()
                .map(|candidate| (strsim::levenshtein(field, candidate), candidate))
                .filter(|(distance, _)| *distance <= 3)
                .min();
            let hint = match closest {
                Some((_, candidate)) => {
                    let mut full = section.to_vec();
                    full.push((*candidate).to_string());
                    format!(" ; vouliez-vous dire « {} » ?", full.join("."))
                }
                None => String::new(),
            };
            let known = if section.is_empty() {
                format!("clés et sections possibles : {}", expected.join(", "))
            } else {
                format!("clés de [{}] : {}", section.join("."), expected.join(", "))
            };
            format!("configuration refusée : {what}{hint} ({known})")
        }
        Kind::InvalidType(actual, expected) | Kind::InvalidValue(actual, expected) => format!(
            "configuration refusée : {key} ({place}) : {} au lieu d'{}",
            actual_fr(actual),
            expected_fr(expected)
        ),
        Kind::Message(message) if path.is_empty() => {
            format!("configuration refusée : {place} est illisible : {message}")
        }
        Kind::Message(message) => {
            let message = match message.as_str() {
                "invalid IP address syntax" => "ce n'est pas une adresse IP",
                other => other,
            };
            format!("configuration refusée : {key} ({place}) : valeur invalide : {message}")
        }
        _ => format!("configuration refusée : {key} ({place}) : {error}"),
    }
}

/// A value found, in French.
pub(super) fn actual_fr(actual: &figment::error::Actual) -> String {
    use figment::error::Actual;
    match actual {
        Actual::Bool(value) => format!("le booléen {value}"),
        Actual::Unsigned(value) => format!("le nombre {value}"),
        Actual::Signed(value) => format!("le nombre {value}"),
        Actual::Float(value) => format!("le nombre {value}"),
        Actual::Char(value) => format!("le caractère « {value} »"),
        Actual::Str(value) => format!("le texte « {value} »"),
        Actual::Seq => "une liste".into(),
        Actual::Map => "une table".into(),
        Actual::Unit => "une valeur vide".into(),
        other => other.to_string(),
    }
}

/// What serde expected, in French (with an article: « au lieu d'un nombre entier »).
pub(super) fn expected_fr(expected: &str) -> String {
    match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" => "un nombre entier positif".into(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "un nombre entier".into(),
        "f32" | "f64" => "un nombre".into(),
        "a boolean" => "un booléen (true ou false)".into(),
        "a string" => "un texte entre guillemets".into(),
        "a sequence" => "une liste [ … ]".into(),
        "IP address" => "une adresse IP".into(),
        other if other.starts_with("struct ") => "une section [ … ]".into(),
        other => format!("une valeur de type {other}"),
    }
}

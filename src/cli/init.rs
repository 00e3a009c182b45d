//! `maillage init --domain D [--insee CODE] [--username NAME] [--admin-user NAME]
//! [--database-url URL]` (SPEC §7): a new node in one command. Writes a commented
//! `maillage.toml` (from `config/maillage.example.toml`, with `domain`, `bind` and the
//! database URL it was given set; readable by its owner only; never over an existing
//! file), creates and migrates the database, creates the first
//! collectivité from its INSEE code as `maillage collectivite create` does and, with
//! `--admin-user`, a web-admin account bound to it (password from the terminal or the
//! first line of standard input, as `maillage user create`), then prints the next steps.
//!
//! Everything that can be checked is checked before anything is written; if a later
//! step fails, the configuration file and a SQLite database created here are removed,
//! so that the command can simply be run again.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::Args;

use super::{CliError, CliResult};
use crate::config::{DEFAULT_CONFIG_FILE, Settings, env_key, redact};
use crate::db::sqlite_file;
use crate::directory::text::fold;
use crate::domain::drafts::CollectiviteBody;
use crate::domain::{Collectivite, InseeCode, NewCollectivite};
use crate::referential::Referential;
use crate::service;
use crate::startup::prepare;
use crate::state::AppState;

/// The annotated example the written configuration is made from.
const EXAMPLE: &str = include_str!("../../config/maillage.example.toml");
/// Where `maillage init` makes the node listen (a reverse proxy with TLS in front).
const BIND: &str = "127.0.0.1:8080";
/// The database `maillage init` configures by default: a SQLite file in the working
/// directory.
const DATABASE_URL: &str = "sqlite://maillage.db";

/// `maillage init` arguments.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Public domain of the node (`annuaire.example.fr`): part of every published id,
    /// choose it once.
    #[arg(long)]
    pub domain: String,
    /// INSEE code (COG) of the commune to create as the first collectivité.
    #[arg(long)]
    pub insee: Option<String>,
    /// Username of that collectivité (default: from the commune's name,
    /// `marcq-en-baroeul`).
    #[arg(long, requires = "insee")]
    pub username: Option<String>,
    /// Also create a web-admin account with this login, editor of that collectivité
    /// (password from a prompt or the first line of standard input).
    #[arg(long, requires = "insee")]
    pub admin_user: Option<String>,
    /// The database to create and to write into the configuration (default:
    /// MAILLAGE_DATABASE__URL when set, without its password, which stays in the
    /// variable; otherwise sqlite://maillage.db).
    #[arg(long)]
    pub database_url: Option<String>,
}

/// The database URL `init` writes: `--database-url` as given; otherwise
/// `MAILLAGE_DATABASE__URL` without its password (an operator who keeps the password
/// in an environment file keeps it there; the file still names the database, so a
/// command run without the variable fails to sign in rather than reading another
/// database); otherwise the default SQLite file.
fn database_url(given: Option<&str>) -> String {
    if let Some(url) = given {
        return url.to_string();
    }
    let from_env = std::env::vars().find_map(|(name, value)| {
        (env_key(&name).as_deref() == Some("database.url")).then_some(value)
    });
    from_env.map_or_else(|| DATABASE_URL.to_string(), |url| without_password(&url))
}

/// `url` without its password, if it has one.
fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// A username from a commune's name: `Villeneuve-d'Ascq` → `villeneuve-d-ascq`.
fn username_from_name(name: &str) -> String {
    let mut slug = String::new();
    for c in fold(name).chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.truncate(64);
    slug.trim_end_matches('-').to_string()
}

/// The collectivité's profile, checked as `maillage collectivite create` checks it.
fn profile(insee: &str, username: Option<&str>) -> Result<NewCollectivite, CliError> {
    // A commune of the referential: say so alone rather than with the fields it fills.
    let code = InseeCode::parse(insee).map_err(|e| CliError(format!("--insee : {e}")))?;
    let commune = Referential::global().commune(&code).ok_or_else(|| {
        CliError(format!(
            "--insee : aucune commune actuelle n'a le code INSEE « {code} » (code officiel géographique, pas le code postal)"
        ))
    })?;
    let username = username
        .map(str::to_string)
        .unwrap_or_else(|| username_from_name(&commune.nom));
    let body = CollectiviteBody {
        username: Some(username),
        insee: Some(insee.to_string()),
        ..CollectiviteBody::default()
    };
    Ok(body.into_profile()?)
}

/// The example configuration with this node's values, and a header saying where it
/// comes from.
fn render(domain: &str, database_url: &str) -> String {
    let quoted = |value: &str| toml::Value::String(value.to_string()).to_string();
    let mut set = [
        ("domain = ", quoted(domain), false),
        ("bind = ", quoted(BIND), false),
        ("url = ", quoted(database_url), false),
    ];
    let body = EXAMPLE
        .find("# Every key can be overridden")
        .map_or(EXAMPLE, |start| &EXAMPLE[start..]);
    let mut text = format!(
        "# Maillage — configuration of the node {domain}, written by `maillage init` on {}\n\
         # from config/maillage.example.toml. `maillage serve` reads it from the working\n\
         # directory (or pass `--config FILE`); the SQLite path below is relative to it.\n",
        chrono::Utc::now().format("%Y-%m-%d")
    );
    for line in body.lines() {
        if line.starts_with("# With no file at all") {
            continue;
        }
        // The first uncommented line of each key: domain, bind, then [database] url.
        match set
            .iter_mut()
            .find(|(prefix, _, done)| !done && line.starts_with(prefix))
        {
            Some((prefix, value, done)) => {
                *done = true;
                text.push_str(&format!("{prefix}{value}\n"));
            }
            None => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    debug_assert!(set.iter().all(|(_, _, done)| *done), "BUG: example keys");
    text
}

/// Writes `text` to a new file readable by its owner only (it may hold the database
/// password); never replaces one.
fn write_new(path: &Path, text: &str) -> Result<(), CliError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => already_configured(path),
        _ => CliError(format!("impossible d'écrire {} : {e}", path.display())),
    })?;
    file.write_all(text.as_bytes())
        .map_err(|e| CliError(format!("impossible d'écrire {} : {e}", path.display())))
}

fn already_configured(path: &Path) -> CliError {
    CliError(format!(
        "{} existe déjà : ce dossier a déjà un nœud configuré ; maillage init ne remplace pas une configuration (déplacez-la pour recommencer, ou ajoutez une collectivité avec maillage collectivite create)",
        path.display()
    ))
}

/// Removes a SQLite database and its WAL files.
fn remove_sqlite(file: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = file.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

/// What was created, for the summary.
struct Created {
    state: AppState,
    collectivite: Option<Collectivite>,
    account: Option<String>,
}

async fn populate(
    state: &AppState,
    profile: Option<NewCollectivite>,
    account: Option<(String, String)>,
) -> Result<(Option<Collectivite>, Option<String>), CliError> {
    let Some(profile) = profile else {
        return Ok((None, None));
    };
    let collectivite = service::collectivites::create_collectivite(state, profile).await?;
    let account = match account {
        Some((login, password)) => {
            let bound = [collectivite.profile.username.to_string()];
            let user =
                service::users::create_user(state, &login, &password, &bound, false, None).await?;
            Some(user.username)
        }
        None => None,
    };
    Ok((Some(collectivite), account))
}

/// Creates the database and its first contents from the written configuration.
async fn create_node(
    config: &Path,
    profile: Option<NewCollectivite>,
    account: Option<(String, String)>,
) -> Result<Created, CliError> {
    let loaded = super::load(Some(config))?;
    crate::telemetry::init(&loaded.settings.log);
    super::say_sources(&loaded);
    let settings = loaded.settings;
    let sqlite = sqlite_file(&settings.database.url);
    if let Some(file) = &sqlite {
        if file.metadata().is_ok_and(|m| m.len() > 0) {
            return Err(CliError(format!(
                "une base de données existe déjà à « {} » : maillage init crée un nouveau nœud ; déplacez-la pour recommencer, ou gardez-la et écrivez maillage.toml à la main (config/maillage.example.toml)",
                file.display()
            )));
        }
    }
    let state = match prepare(settings).await {
        Ok(state) => state,
        Err(error) => {
            if let Some(file) = &sqlite {
                remove_sqlite(file);
            }
            return Err(error.into());
        }
    };
    match populate(&state, profile, account).await {
        Ok((collectivite, account)) => Ok(Created {
            state,
            collectivite,
            account,
        }),
        Err(error) => {
            state.store.close().await;
            if let Some(file) = &sqlite {
                remove_sqlite(file);
            }
            Err(error)
        }
    }
}

/// Runs `maillage init`; `config` is the global `--config` (default `maillage.toml`),
/// the file to write.
pub async fn run(config: Option<PathBuf>, args: InitArgs) -> CliResult {
    let config = config.unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_FILE));
    if config.symlink_metadata().is_ok() {
        return Err(already_configured(&config));
    }
    // Checks first: nothing is written when an argument is wrong.
    let database_url = database_url(args.database_url.as_deref());
    let mut wanted = Settings {
        domain: args.domain.clone(),
        ..Settings::default()
    };
    wanted.database.url = database_url.clone();
    wanted.validate()?;
    // Written as ids write it (no default port).
    let domain = wanted.canonical_domain();
    let profile = args
        .insee
        .as_deref()
        .map(|insee| profile(insee, args.username.as_deref()))
        .transpose()?;
    let account = match &args.admin_user {
        Some(login) => {
            if std::io::stdin().is_terminal() {
                eprintln!("Compte d'administration web « {login} » :");
            }
            let password = super::user::read_password()?;
            service::users::check_new_account(login, &password)?;
            Some((login.clone(), password))
        }
        None => None,
    };

    write_new(&config, &render(&domain, &database_url))?;
    let created = match create_node(&config, profile, account).await {
        Ok(created) => created,
        Err(error) => {
            let _ = std::fs::remove_file(&config);
            return Err(error);
        }
    };
    let Created {
        state,
        collectivite,
        account,
    } = created;
    let settings = &state.settings;
    if settings.domain != domain {
        eprintln!(
            "attention : MAILLAGE_DOMAIN (« {} ») remplace le domaine écrit dans {} (« {domain} »)",
            settings.domain,
            config.display(),
        );
    }
    if settings.database.url != database_url {
        if without_password(&settings.database.url) == database_url {
            eprintln!(
                "attention : {} donne database.url sans mot de passe ; le mot de passe vient de MAILLAGE_DATABASE__URL : gardez cette variable pour les autres commandes (EnvironmentFile du service)",
                config.display()
            );
        } else {
            eprintln!(
                "attention : MAILLAGE_DATABASE__URL (« {} ») remplace la base écrite dans {} (« {} »)",
                redact(&settings.database.url),
                config.display(),
                redact(&database_url)
            );
        }
    }

    println!("Nœud Maillage initialisé pour {} :", settings.domain);
    println!("  configuration   {}", config.display());
    println!("  base de données {}", redact(&settings.database.url));
    if let Some(c) = &collectivite {
        println!(
            "  collectivité    {} — @{} — {}",
            c.profile.name,
            c.handle(),
            c.ap_id
        );
    }
    if let Some(login) = &account {
        println!("  compte web      {login} (éditeur de la collectivité)");
    }
    let serve = if is_default_config(&config) {
        "maillage serve".to_string()
    } else {
        format!("maillage --config {} serve", config.display())
    };
    println!();
    println!("Étapes suivantes :");
    let mut step = 0;
    let mut next = |text: String| {
        step += 1;
        println!("  {step}. {text}");
    };
    if collectivite.is_none() {
        next(
            "créez la collectivité : maillage collectivite create --username NOM --insee CODE"
                .into(),
        );
    }
    if account.is_none() {
        let username = collectivite
            .as_ref()
            .map_or("NOM".to_string(), |c| c.profile.username.to_string());
        next(format!(
            "créez un compte pour l'administration web : maillage user create --username LOGIN --collectivite {username}"
        ));
    }
    next(format!(
        "lancez le nœud depuis ce dossier : {serve}   (il écoute sur {}, cf. bind)",
        settings.bind
    ));
    next(format!(
        "publiez-le en HTTPS derrière un reverse proxy (Caddy, nginx) qui transmet {} à {} ; voir docs/deployment.md",
        settings.domain, settings.bind
    ));
    next(format!(
        "ouvrez {} pour vous connecter et publier les actions",
        state.url("/admin/connexion")
    ));
    state.store.close().await;
    Ok(())
}

/// True when the configuration is the default file, found without `--config`.
fn is_default_config(config: &Path) -> bool {
    config == Path::new(DEFAULT_CONFIG_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_from_commune_names() {
        assert_eq!(username_from_name("Marcq-en-Barœul"), "marcq-en-baroeul");
        assert_eq!(username_from_name("Villeneuve-d'Ascq"), "villeneuve-d-ascq");
        assert_eq!(username_from_name("L'Haÿ-les-Roses"), "l-hay-les-roses");
        assert_eq!(username_from_name("Saint-Étienne"), "saint-etienne");
        assert!(username_from_name(&"Très long nom ".repeat(10)).len() <= 64);
        assert!(!username_from_name(&"ab ".repeat(30)).ends_with('-'));
    }

    #[test]
    fn the_written_configuration_is_the_example_with_this_node() {
        let text = render("mairie.example.fr", DATABASE_URL);
        let parsed: toml::Table = text.parse().unwrap();
        assert_eq!(parsed["domain"].as_str(), Some("mairie.example.fr"));
        assert_eq!(parsed["bind"].as_str(), Some(BIND));
        assert_eq!(parsed["database"]["url"].as_str(), Some(DATABASE_URL));
        assert_eq!(parsed["federation"]["debug"].as_bool(), Some(false));
        // The explanations are kept, the "copy this file" header is not.
        assert!(text.contains("# Public domain of the node"), "{text}");
        assert!(!text.contains("Copy to `maillage.toml`"), "{text}");
        assert!(text.starts_with("# Maillage — configuration of the node mairie.example.fr"));
        // Every key of the example is still there, and the result loads.
        let example: toml::Table = EXAMPLE.parse().unwrap();
        for (section, value) in &example {
            assert!(parsed.contains_key(section), "{section}");
            if let Some(table) = value.as_table() {
                for key in table.keys() {
                    assert!(parsed[section].as_table().unwrap().contains_key(key));
                }
            }
        }
        let settings: Settings = toml::from_str(&text).unwrap();
        settings.validate().unwrap();
        assert_eq!(settings.domain, "mairie.example.fr");
    }
}

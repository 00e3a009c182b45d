//! Owns the `maillage` command line (SPEC §7): parsing with clap, one file per command
//! family, readable errors (field by field for invalid data) and exit codes
//! (0 ok, 1 failure, 2 usage).

mod action;
mod backup;
mod collectivite;
mod config;
mod db;
pub mod demo;
mod domains;
mod export;
mod follow;
mod import;
mod init;
mod notifications;
mod queue;
mod token;
mod user;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{Loaded, Settings, redact};
use crate::error::AppError;
use crate::startup::{Access, App, shutdown_signal};
use crate::state::AppState;
use crate::telemetry;

/// Maillage: the federated directory of the digital public actions of French local
/// authorities.
#[derive(Debug, Parser)]
#[command(name = "maillage", version, about)]
pub struct Cli {
    /// Configuration file (default: maillage.toml when it exists).
    #[arg(long, global = true, env = "MAILLAGE_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server and delivery workers (migrates the database first).
    Serve {
        /// HTTP only: leave deliveries to `maillage worker` processes.
        #[arg(long)]
        no_workers: bool,
    },
    /// Apply database migrations, say which were applied, and exit; with --status,
    /// list the applied and pending migrations and change nothing.
    ///
    /// Example: maillage migrate --status
    Migrate {
        /// List applied and pending migrations; apply nothing, create nothing.
        #[arg(long)]
        status: bool,
    },
    /// The configuration: `maillage config check [--config FILE]` loads it, checks it
    /// and prints the effective settings (secrets hidden); exit 0 valid, 1 invalid.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Start a new node: write a commented maillage.toml, create the database, the
    /// first collectivité (--insee) and a web-admin account (--admin-user), then print
    /// the next steps.
    Init(init::InitArgs),
    /// Write an online, consistent backup, safe while the node runs: into an existing
    /// folder, a new folder `maillage-<date>` with the database (SQLite copy, or a
    /// pg_dump archive), the configuration and the MAILLAGE_* settings; otherwise, the
    /// database alone to a new file.
    ///
    /// Example: maillage backup --output /var/backups/maillage
    Backup {
        /// An existing folder (a complete backup in a new folder inside it), or a new
        /// file (the database alone); nothing existing is ever replaced.
        #[arg(long)]
        output: PathBuf,
    },
    /// A local federation in one process: two towns' nodes and an aggregator, seeded
    /// with real communes and sample actions; prints the URLs to open.
    Demo {
        /// First of the three ports (the next two follow; busy ones are replaced).
        #[arg(long, default_value_t = 8081)]
        base_port: u16,
    },
    /// Manage the collectivités hosted on this node.
    #[command(subcommand)]
    Collectivite(collectivite::CollectiviteCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Publish and manage actions.
    #[command(subcommand)]
    Action(action::ActionCommand),
    /// Manage the editors' accounts of the web admin.
    #[command(subcommand)]
    User(user::UserCommand),
    /// The domain policy: blocks, allow-list, Mastodon CSV import and export.
    #[command(subcommand)]
    Domains(domains::DomainsCommand),
    /// The database: copy the whole node to the other engine.
    #[command(subcommand)]
    Db(db::DbCommand),
    /// The delivery queue: status per host, and retries.
    #[command(subcommand)]
    Queue(queue::QueueCommand),
    /// Editors' email notifications: send what is due now, the daily digests, status.
    #[command(subcommand)]
    Notifications(notifications::NotificationsCommand),
    /// Follow a remote actor (acct:user@host or its URL), as a collectivité or, without
    /// --collectivite, as the instance actor (aggregators).
    Follow {
        /// The local collectivité that follows.
        #[arg(long)]
        collectivite: Option<String>,
        /// acct:user@host, user@host or the actor URL.
        #[arg(required_unless_present = "file", conflicts_with = "file")]
        target: Option<String>,
        /// A file of handles or URLs, one per line (`#` starts a comment).
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Export the directory (or a search of it) as GeoJSON, CSV or JSON lines.
    Export {
        /// geojson, csv or jsonl.
        #[arg(long, value_enum)]
        format: export::Format,
        /// File to write (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
        /// Search filters as key=value (theme=culture departement=59 q=école…).
        filters: Vec<String>,
    },
    /// Import a collectivité's actions from a spreadsheet saved as CSV (columns:
    /// docs/import.md); importing the same file again creates nothing twice.
    Import {
        /// Owner of the actions.
        #[arg(long)]
        collectivite: String,
        /// The CSV file (`;` or `,` separated, UTF-8; `-` reads standard input).
        file: PathBuf,
    },
    /// Run delivery workers only (scale-out beside `serve --no-workers`).
    Worker {
        /// Deliver what is due now, then exit.
        #[arg(long)]
        once: bool,
    },
}

/// Asks the operator, after `question`, to type `name` again; false when they typed
/// something else. Refused when the input is not a terminal (scripts pass `--yes`).
fn confirm(name: &str, question: &str) -> Result<bool, CliError> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        return Err(CliError(format!(
            "suppression de « {name} » non confirmée : l'entrée n'est pas un terminal ; ajoutez --yes"
        )));
    }
    eprint!("{question}\nTapez « {name} » pour confirmer : ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError(format!("lecture de la confirmation : {e}")))?;
    Ok(line.trim() == name)
}

/// A CLI failure: a message for the operator.
#[derive(Debug)]
pub struct CliError(String);

impl From<anyhow::Error> for CliError {
    fn from(error: anyhow::Error) -> Self {
        CliError(format!("{error:#}"))
    }
}

impl From<AppError> for CliError {
    fn from(error: AppError) -> Self {
        let problem = error.problem();
        let mut text = if let AppError::Internal(inner) = &error {
            format!("{inner:#}")
        } else {
            problem.detail.clone()
        };
        for field in &problem.errors {
            text.push_str(&format!("\n  - {} : {}", field.field, field.message));
        }
        CliError(text)
    }
}

impl From<crate::domain::InvalidFields> for CliError {
    fn from(error: crate::domain::InvalidFields) -> Self {
        AppError::from(error).into()
    }
}

impl From<crate::db::StoreError> for CliError {
    fn from(error: crate::db::StoreError) -> Self {
        AppError::from(error).into()
    }
}

type CliResult = Result<(), CliError>;

impl Command {
    /// Whether the command may create a database (SPEC §11: `serve`, `init`,
    /// `migrate`, `demo`, and `db copy` for its target). Any other command run where
    /// no database exists is refused and creates nothing.
    fn may_create_database(&self) -> bool {
        matches!(
            self,
            Command::Serve { .. }
                | Command::Init(_)
                | Command::Migrate { status: false }
                | Command::Demo { .. }
        )
    }

    /// Whether the command signs or publishes (serves, delivers, or changes what peers
    /// see), and so is refused on a database made for another domain. Only commands
    /// that read, or that change nothing peers see, are listed as not publishing, so
    /// that a new command is refused by default.
    fn publishes(&self) -> bool {
        use action::ActionCommand;
        use collectivite::CollectiviteCommand;
        use domains::DomainsCommand;
        !matches!(
            self,
            Command::Migrate { .. }
                | Command::Config(_)
                | Command::Backup { .. }
                | Command::Export { .. }
                | Command::Token(_)
                | Command::Queue(queue::QueueCommand::Status)
                | Command::Db(_)
                | Command::User(_)
                | Command::Notifications(
                    notifications::NotificationsCommand::Status
                        | notifications::NotificationsCommand::Retry { .. }
                )
                | Command::Collectivite(
                    CollectiviteCommand::List | CollectiviteCommand::Show { .. }
                )
                | Command::Action(ActionCommand::List { .. })
                | Command::Domains(DomainsCommand::List | DomainsCommand::Export { .. })
        )
    }

    /// What the command may do to its database.
    fn access(&self) -> Access {
        Access {
            create: self.may_create_database(),
            publish: self.publishes(),
        }
    }
}

/// Entry point of the binary.
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError(message)) => {
            telemetry::refuse(&message);
            ExitCode::FAILURE
        }
    }
}

/// Loads the configuration strictly (a refusal is written as JSON when the
/// configuration asks for JSON logs).
///
/// # Errors
/// The configuration's refusal.
pub(crate) fn load(config: Option<&std::path::Path>) -> Result<Loaded, CliError> {
    Settings::load_with_source(config).map_err(|error| {
        telemetry::use_json(error.json_logs);
        CliError(error.message)
    })
}

/// Where the database of `url` is, for people: the redacted URL, and a relative SQLite
/// file's absolute path.
fn database_place(url: &str) -> String {
    match crate::db::sqlite_file(url) {
        Some(file) if file.is_relative() => match std::path::absolute(&file) {
            Ok(absolute) => format!("{} ({})", redact(url), absolute.display()),
            Err(_) => redact(url),
        },
        _ => redact(url),
    }
}

/// The configuration used, for people: the file (or none) and the variables that set
/// keys.
fn configuration_place(loaded: &Loaded) -> String {
    let mut place = match &loaded.file {
        Some(file) => file.display().to_string(),
        None => "aucun fichier (valeurs par défaut)".into(),
    };
    if !loaded.variables.is_empty() {
        place.push_str(&format!(" + {}", loaded.variables.join(", ")));
    }
    place
}

/// Says on standard error which configuration and which database the command uses
/// (one line, not a log line: always written).
pub(crate) fn say_sources(loaded: &Loaded) {
    let configuration = configuration_place(loaded);
    let database = database_place(&loaded.settings.database.url);
    telemetry::say(
        &format!("configuration : {configuration} · base : {database}"),
        "configuration",
        &[("configuration", &configuration), ("base", &database)],
    );
}

/// Opens, migrates and checks the node's database as `access` allows; a missing
/// database says which configuration and which URL were used.
async fn open(loaded: &Loaded, access: Access) -> Result<crate::startup::Prepared, CliError> {
    crate::startup::prepare_with(loaded.settings.clone(), access)
        .await
        .map_err(|error| match error.downcast_ref::<crate::db::NoDatabase>() {
            Some(crate::db::NoDatabase(place)) => CliError(format!(
                "aucune base de données Maillage à « {place} » (database.url = « {} », configuration : {}) ; cette commande n'en crée pas : lancez-la depuis le dossier du nœud, ou indiquez sa configuration (--config FICHIER, MAILLAGE_DATABASE__URL) ; pour un nouveau nœud : maillage init",
                redact(&loaded.settings.database.url),
                configuration_place(loaded)
            )),
            None => error.into(),
        })
}

/// A migration as `migrate` and `migrate --status` name it: its number on four digits
/// and its description in quotes (`0001 « foundation »`).
fn migration_name(version: i64, description: &str) -> String {
    format!("{version:04} « {description} »")
}

/// `maillage migrate --status`: the migrations applied (when) and pending, read without
/// migrating; a missing database is refused, not created.
async fn migration_status(loaded: &Loaded) -> CliResult {
    let url = &loaded.settings.database.url;
    let store = crate::db::Store::open(url, 1, false)
        .await
        .map_err(|error| match error.downcast_ref::<crate::db::NoDatabase>() {
            Some(crate::db::NoDatabase(place)) => CliError(format!(
                "aucune base de données Maillage à « {place} » (configuration : {}) ; rien à lire, rien n'a été créé",
                configuration_place(loaded)
            )),
            None => error.into(),
        })?;
    let list = store.migration_status().await;
    store.close().await;
    let list = list?;
    let pending = list.iter().filter(|m| m.applied_on.is_none()).count();
    let unknown = list.iter().filter(|m| m.unknown).count();
    println!(
        "{}, {pending} en attente ({})",
        crate::domain::french::count(
            (list.len() - pending) as i64,
            "migration appliquée",
            "migrations appliquées"
        ),
        match store.engine() {
            crate::db::Engine::Sqlite => "SQLite",
            crate::db::Engine::Postgres => "PostgreSQL",
        }
    );
    for migration in &list {
        let state = match (migration.applied_on, migration.unknown) {
            (Some(on), false) => format!("appliquée le {}", on.format("%Y-%m-%d %H:%M:%S UTC")),
            (Some(on), true) => format!(
                "appliquée le {} par une version plus récente",
                on.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            (None, _) => "en attente".into(),
        };
        println!(
            "  {}\t{state}",
            migration_name(migration.version, &migration.description)
        );
    }
    if pending > 0 {
        println!("pour les appliquer : maillage migrate (ou au démarrage de maillage serve)");
    }
    if unknown > 0 {
        println!(
            "attention : {} d'une version plus récente de Maillage que celle-ci",
            crate::domain::french::count(unknown as i64, "migration vient", "migrations viennent")
        );
    }
    Ok(())
}

/// Runs a parsed command line.
///
/// # Errors
/// A readable message for the operator.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    // `init` writes the configuration file that the other commands read.
    let command = match cli.command {
        Command::Init(args) => return init::run(cli.config, args).await,
        command => command,
    };
    let loaded = load(cli.config.as_deref())?;
    telemetry::init(&loaded.settings.log);
    // The demo's nodes use their own databases, which it names.
    if !matches!(command, Command::Demo { .. }) {
        say_sources(&loaded);
    }
    if matches!(
        command,
        Command::Serve { .. } | Command::Worker { once: false }
    ) {
        for warning in &loaded.warnings {
            tracing::warn!("{warning}");
        }
    }
    let access = command.access();
    let state = async || -> Result<AppState, CliError> { Ok(open(&loaded, access).await?.state) };
    match command {
        Command::Init(_) => unreachable!("handled above"),
        Command::Config(command) => config::run(&loaded, command),
        Command::Backup { output } => backup::run(&loaded, &output).await,
        Command::Follow {
            collectivite,
            target,
            file,
        } => follow::run(state().await?, collectivite, target, file).await,
        Command::Export {
            format,
            output,
            filters,
        } => export::run(state().await?, format, output, filters).await,
        Command::Import { collectivite, file } => {
            import::run(state().await?, collectivite, &file).await
        }
        Command::Worker { once: true } => {
            let state = state().await?;
            crate::startup::log_worker_start(&state.settings, "once");
            let sent = crate::federation::delivery::DeliveryWorker::new(state)
                .drain()
                .await?;
            println!(
                "{}",
                crate::domain::french::count(
                    sent as i64,
                    "livraison traitée",
                    "livraisons traitées"
                )
            );
            Ok(())
        }
        Command::Worker { once: false } => {
            let state = state().await?;
            crate::startup::run_workers(state, shutdown_signal()).await;
            Ok(())
        }
        Command::Serve { no_workers } => {
            let stop = shutdown_signal();
            let mut settings = loaded.settings.clone();
            if no_workers {
                settings.delivery.workers = false;
            }
            let app = App::build(settings).await?;
            let state = app.state();
            tracing::info!(
                address = %app.address(),
                url = %state.url("/"),
                database = %redact(&state.settings.database.url),
                "Maillage is listening"
            );
            app.run_until_stopped(stop).await?;
            state.store.close().await;
            Ok(())
        }
        Command::Demo { base_port } => demo::run(base_port).await,
        Command::Migrate { status: true } => migration_status(&loaded).await,
        Command::Migrate { status: false } => {
            let prepared = open(&loaded, access).await?;
            let engine = prepared.state.store.engine();
            if prepared.applied.is_empty() {
                println!("aucune migration en attente : la base ({engine:?}) est à jour");
            } else {
                println!(
                    "{} ({engine:?}) :",
                    crate::domain::french::count(
                        prepared.applied.len() as i64,
                        "migration appliquée",
                        "migrations appliquées"
                    )
                );
                for migration in &prepared.applied {
                    println!(
                        "  {}",
                        migration_name(migration.version, &migration.description)
                    );
                }
            }
            prepared.state.store.close().await;
            Ok(())
        }
        Command::Collectivite(command) => collectivite::run(state().await?, command).await,
        Command::Token(command) => token::run(state().await?, command).await,
        Command::Action(command) => action::run(state().await?, command).await,
        Command::User(command) => user::run(state().await?, command).await,
        Command::Domains(command) => domains::run(state().await?, command).await,
        Command::Queue(command) => queue::run(state().await?, command).await,
        Command::Notifications(command) => notifications::run(state().await?, command).await,
        Command::Db(command) => db::run(state().await?, command).await,
    }
}

//! Owns the `maillage` command line (SPEC §7): parsing with clap, one file per command
//! family, readable errors (field by field for invalid data) and exit codes
//! (0 ok, 1 failure, 2 usage).

mod action;
mod backup;
mod collectivite;
mod demo;
mod domains;
mod export;
mod follow;
mod import;
mod init;
mod token;
mod user;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::error::AppError;
use crate::startup::{App, prepare, shutdown_signal};
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
    /// Apply database migrations and exit.
    Migrate,
    /// Start a new node: write a commented maillage.toml, create the database, the
    /// first collectivité (--insee) and a web-admin account (--admin-user), then print
    /// the next steps.
    Init(init::InitArgs),
    /// Write an online, consistent copy of the SQLite database to a new file, safe
    /// while the node runs (PostgreSQL: use pg_dump).
    Backup {
        /// The copy to write; an existing file is never replaced.
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

impl From<crate::db::StoreError> for CliError {
    fn from(error: crate::db::StoreError) -> Self {
        AppError::from(error).into()
    }
}

type CliResult = Result<(), CliError>;

/// Entry point of the binary.
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError(message)) => {
            eprintln!("erreur : {message}");
            ExitCode::FAILURE
        }
    }
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
    let settings = Settings::load(cli.config.as_deref())?;
    telemetry::init(&settings.log);
    match command {
        Command::Init(_) => unreachable!("handled above"),
        Command::Backup { output } => backup::run(settings, &output).await,
        Command::Follow {
            collectivite,
            target,
            file,
        } => follow::run(prepare(settings).await?, collectivite, target, file).await,
        Command::Export {
            format,
            output,
            filters,
        } => export::run(prepare(settings).await?, format, output, filters).await,
        Command::Import { collectivite, file } => {
            import::run(prepare(settings).await?, collectivite, &file).await
        }
        Command::Worker { once: true } => {
            let state = prepare(settings).await?;
            let sent = crate::federation::delivery::DeliveryWorker::new(state)
                .drain()
                .await?;
            println!("{sent} livraison(s) traitée(s)");
            Ok(())
        }
        Command::Worker { once: false } => {
            crate::startup::run_workers(settings, shutdown_signal()).await?;
            Ok(())
        }
        Command::Serve { no_workers } => {
            let mut settings = settings;
            if no_workers {
                settings.delivery.workers = false;
            }
            let app = App::build(settings).await?;
            let state = app.state();
            tracing::info!(
                address = %app.address(),
                url = %state.url("/"),
                database = %crate::config::redact(&state.settings.database.url),
                "Maillage is listening"
            );
            app.run_until_stopped(shutdown_signal()).await?;
            state.store.close().await;
            Ok(())
        }
        Command::Demo { base_port } => demo::run(base_port).await,
        Command::Migrate => {
            let state = prepare(settings).await?;
            println!("base de données à jour ({:?})", state.store.engine());
            Ok(())
        }
        Command::Collectivite(command) => {
            collectivite::run(prepare(settings).await?, command).await
        }
        Command::Token(command) => token::run(prepare(settings).await?, command).await,
        Command::Action(command) => action::run(prepare(settings).await?, command).await,
        Command::User(command) => user::run(prepare(settings).await?, command).await,
        Command::Domains(command) => domains::run(prepare(settings).await?, command).await,
    }
}

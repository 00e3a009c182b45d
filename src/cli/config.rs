//! `maillage config check [--config FILE]` (SPEC §11): loads the configuration as every
//! command does (strictly: an unknown key or variable, a wrong type or a bad value is
//! refused, naming it), then prints the effective settings as TOML, secrets hidden.
//! It opens no database.

use clap::Subcommand;

use super::{CliError, CliResult};
use crate::config::Loaded;

/// Configuration commands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Load and check the configuration (file and MAILLAGE_* variables), then print the
    /// effective settings with secrets hidden; exit 0 valid, 1 invalid.
    Check,
}

/// Runs a configuration command on the configuration the command line loaded (an
/// invalid one never gets here).
pub fn run(loaded: &Loaded, command: ConfigCommand) -> CliResult {
    match command {
        ConfigCommand::Check => {
            let text = toml::to_string(&loaded.settings.redacted())
                .map_err(|e| CliError(format!("BUG: settings as TOML: {e}")))?;
            println!(
                "# configuration valide : {}",
                super::configuration_place(loaded)
            );
            for warning in &loaded.warnings {
                println!("# attention : {warning}");
            }
            println!("# réglages effectifs (valeurs par défaut comprises, mots de passe masqués)");
            println!();
            print!("{text}");
            Ok(())
        }
    }
}

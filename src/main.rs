//! The `maillage` binary: parses the command line and hands over to [`maillage::cli`].

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    maillage::cli::main().await
}

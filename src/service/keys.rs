//! RSA-2048 key pairs for local actors, generated off the async runtime (about a second
//! of CPU each).

use activitypub_federation::http_signatures::{Keypair, generate_actor_keypair};
use anyhow::Context;

/// Generates a fresh RSA-2048 key pair on a blocking thread.
///
/// # Errors
/// Only if the blocking task panics or the RNG fails.
pub async fn generate_keypair() -> anyhow::Result<Keypair> {
    tokio::task::spawn_blocking(generate_actor_keypair)
        .await
        .context("key generation task failed")?
        .context("RSA key generation failed")
}

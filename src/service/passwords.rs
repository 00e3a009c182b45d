//! Password hashing (argon2id, the `argon2` crate's default parameters: 19 MiB, 2
//! passes), bounded: [`PasswordHashing`] runs `limits.password_hashes` hashes or checks
//! at once, each on a blocking thread in a memory area of its own, reused.
//!
//! Why bounded: each run holds 19 MiB and a core for tens of milliseconds; 150 sign-ins
//! sent at once took 3.3 GB. Why reused memory areas: freed on any of the runtime's
//! blocking threads, the 19 MiB areas stayed in the allocator's per-thread arenas (with
//! 2 hashes at once, resident memory still grew by 317 MB over 150 sign-ins); allocated
//! once per slot, they bound it to `password_hashes` × 19 MiB.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::{self, Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;

use crate::error::{AppError, AppResult};

/// The memory of one argon2 run.
type Memory = Vec<Block>;

/// Password hashes and checks at once, each waited for at most a short time; beyond,
/// [`AppError::Unavailable`] (`503` with `Retry-After`).
#[derive(Debug)]
pub struct PasswordHashing {
    permits: Arc<tokio::sync::Semaphore>,
    /// One memory area per slot, taken with the slot's permit.
    memories: Arc<Mutex<Vec<Memory>>>,
    wait: Duration,
    runs: AtomicU64,
}

impl PasswordHashing {
    /// `at_once` hashes at a time (at least 1), a slot waited for at most `wait`.
    pub fn new(at_once: usize, wait: Duration) -> Self {
        Self {
            permits: Arc::new(tokio::sync::Semaphore::new(at_once.max(1))),
            memories: Arc::default(),
            wait,
            runs: AtomicU64::new(0),
        }
    }

    /// A slot for one hash, waited for at most the configured time.
    ///
    /// # Errors
    /// [`AppError::Unavailable`] when none frees in time.
    pub async fn acquire(&self) -> AppResult<tokio::sync::OwnedSemaphorePermit> {
        match tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) | Err(_) => {
                metrics::counter!("maillage_password_hashes_refused_total").increment(1);
                let retry_after = self.wait.as_secs().max(1);
                Err(AppError::Unavailable {
                    message: format!(
                        "trop de connexions en cours : réessayez dans {retry_after} s"
                    ),
                    retry_after,
                })
            }
        }
    }

    /// Runs `work` on a blocking thread once a slot is free, in the slot's memory. The
    /// slot is held until `work` ends, even if the caller stops waiting.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> AppResult<T> {
        let permit = self.acquire().await?;
        self.runs.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("maillage_password_hashes_total").increment(1);
        let memories = self.memories.clone();
        tokio::task::spawn_blocking(move || {
            let mut memory = memories
                .lock()
                .expect("BUG: poisoned memories")
                .pop()
                .unwrap_or_default();
            let result = work(&mut memory);
            memories
                .lock()
                .expect("BUG: poisoned memories")
                .push(memory);
            drop(permit);
            result
        })
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("password hashing: {e}")))
    }

    /// Hashes `password` (argon2id, default parameters, random salt) as a PHC string.
    ///
    /// # Errors
    /// [`AppError::Unavailable`] when no slot frees in time; [`AppError::Internal`] if
    /// hashing fails.
    pub async fn hash(&self, password: &str) -> AppResult<String> {
        let password = password.to_string();
        self.run(move |memory| hash_password(&password, memory))
            .await?
            .map_err(|e| AppError::Internal(anyhow::anyhow!("argon2: {e}")))
    }

    /// True when `password` matches the PHC string `hash`. Without a hash (an unknown
    /// account), hashes the password anyway and answers false, so that both cost the
    /// same.
    ///
    /// # Errors
    /// [`AppError::Unavailable`] when no slot frees in time.
    pub async fn verify(&self, password: &str, hash: Option<String>) -> AppResult<bool> {
        let password = password.to_string();
        self.run(move |memory| match hash {
            Some(hash) => verify_password(&password, &hash, memory),
            None => {
                let _ = hash_password(&password, memory);
                false
            }
        })
        .await
    }

    /// Hashes and checks run since start.
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }
}

/// One argon2 run in `memory` (grown to the parameters' size when smaller, then kept
/// at the default size), as `Argon2::hash_password` does with memory of its own.
fn argon2_in<'a>(
    password: &[u8],
    algorithm: Algorithm,
    version: Version,
    params: Params,
    salt: Salt<'a>,
    memory: &mut Memory,
) -> password_hash::Result<PasswordHash<'a>> {
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let output = Output::init_with(output_len, |out| {
        Ok(argon2.hash_password_into_with_memory(
            password,
            salt_bytes,
            out,
            &mut memory[..blocks],
        )?)
    });
    // A stored hash with larger parameters must not keep its memory size.
    let default_blocks = Params::default().block_count();
    if memory.len() > default_blocks {
        memory.truncate(default_blocks);
        memory.shrink_to_fit();
    }
    Ok(PasswordHash {
        algorithm: algorithm.ident(),
        version: Some(version.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt),
        hash: Some(output?),
    })
}

fn hash_password(password: &str, memory: &mut Memory) -> password_hash::Result<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt)?;
    Ok(argon2_in(
        password.as_bytes(),
        Algorithm::Argon2id,
        Version::V0x13,
        Params::default(),
        salt.as_salt(),
        memory,
    )?
    .to_string())
}

fn verify_password(password: &str, hash: &str, memory: &mut Memory) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(version), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        parsed
            .version
            .map_or(Ok(Version::default()), Version::try_from),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    // `Output` compares in constant time.
    argon2_in(
        password.as_bytes(),
        algorithm,
        version,
        params,
        salt,
        memory,
    )
    .is_ok_and(|computed| computed.hash == Some(expected))
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let mut memory = Memory::new();
        let hash = hash_password("un mot de passe assez long", &mut memory).unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password(
            "un mot de passe assez long",
            &hash,
            &mut memory
        ));
        assert!(!verify_password(
            "un autre mot de passe",
            &hash,
            &mut memory
        ));
        assert!(!verify_password("x", "pas un hash", &mut memory));
        assert_eq!(memory.len(), Params::default().block_count(), "kept");
    }

    /// Hashes stored before (made by `Argon2::hash_password`) still verify, and the
    /// crate's own verifier accepts ours.
    #[test]
    fn hashes_match_the_crates_own() {
        let mut memory = Memory::new();
        let salt = SaltString::encode_b64(b"sel de seize oct").unwrap();
        let theirs = Argon2::default()
            .hash_password(b"un mot de passe assez long", &salt)
            .unwrap()
            .to_string();
        assert!(verify_password(
            "un mot de passe assez long",
            &theirs,
            &mut memory
        ));
        let ours = hash_password("un mot de passe assez long", &mut memory).unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"un mot de passe assez long", &parsed)
                .is_ok()
        );
        // Other parameters (argon2i, smaller memory) verify too.
        let params = Params::new(1024, 1, 1, None).unwrap();
        let other = Argon2::new(Algorithm::Argon2i, Version::V0x13, params)
            .hash_password(b"autre mot de passe", &salt)
            .unwrap()
            .to_string();
        assert!(verify_password("autre mot de passe", &other, &mut memory));
        assert!(!verify_password(
            "un mot de passe assez long",
            &other,
            &mut memory
        ));
    }
}

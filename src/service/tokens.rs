//! API tokens (SPEC §6): random, shown once, stored as SHA-256 hashes. Tokens carry
//! 256 bits of entropy, so a fast hash is enough (no password hashing needed).

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::db::Store;
use crate::domain::Collectivite;
use crate::error::AppResult;

/// Prefix of every Maillage token, so leaked tokens are recognisable.
pub const TOKEN_PREFIX: &str = "mai_";

/// The hash stored for `token`.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Creates a token for `collectivite` (or a node-admin token when `None`) and returns
/// the secret, which is not stored.
pub async fn create_token(
    store: &Store,
    collectivite: Option<&Collectivite>,
    label: Option<&str>,
) -> AppResult<String> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
    store
        .insert_token(
            &hash_token(&token),
            collectivite.map(|c| c.id),
            collectivite.is_none(),
            label,
        )
        .await?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_stable_and_hex() {
        let hash = hash_token("mai_abc");
        assert_eq!(hash.len(), 64);
        assert_eq!(hash, hash_token("mai_abc"));
        assert_ne!(hash, hash_token("mai_abd"));
    }
}

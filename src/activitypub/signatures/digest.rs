//! The RFC 3230 `Digest` header: computed over an outgoing body, checked against a
//! received one.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest as _, Sha256};

use super::{LENIENT_BASE64, SignatureError, excerpt, malformed};

/// The `Digest` header value for `body`: `SHA-256=<base64 of SHA-256(body)>` (RFC 3230 with the
/// RFC 5843 algorithm name), the only form Mastodon checks.
pub fn digest_header(body: &[u8]) -> String {
    format!("SHA-256={}", BASE64.encode(Sha256::digest(body)))
}

/// Checks a received `Digest` header against the received body.
///
/// The header may list several `algorithm=value` entries separated by commas (RFC 3230 §4.3.2);
/// the `SHA-256` entry (name compared case-insensitively) must be present and match, other
/// entries are ignored.
///
/// # Errors
/// [`SignatureError::Missing`] for an empty header, [`SignatureError::Malformed`] for an entry
/// without `=`, a non-base64 value or two `SHA-256` entries, [`SignatureError::UnsupportedAlgorithm`]
/// when there is no `SHA-256` entry, [`SignatureError::DigestMismatch`] when it does not match.
pub fn verify_digest(header_value: &str, body: &[u8]) -> Result<(), SignatureError> {
    let mut sha256_value = None;
    let mut other_algorithms = Vec::new();
    // Empty elements (",,") are skipped, as RFC 9110 §5.6.1 asks list recipients to do.
    for entry in header_value
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        // Split at the first '=' only: base64 padding also uses '='.
        let (algorithm, value) = entry
            .split_once('=')
            .ok_or_else(|| malformed(format!("digest entry without '=': {}", excerpt(entry))))?;
        let algorithm = algorithm.trim();
        if algorithm.eq_ignore_ascii_case("SHA-256") {
            // Two SHA-256 entries cannot both be right; refuse rather than pick one.
            if sha256_value.replace(value.trim()).is_some() {
                return Err(malformed("several SHA-256 entries in Digest"));
            }
        } else {
            other_algorithms.push(excerpt(algorithm));
        }
    }
    let Some(value) = sha256_value else {
        return if other_algorithms.is_empty() {
            Err(SignatureError::Missing)
        } else {
            Err(SignatureError::UnsupportedAlgorithm(format!(
                "Digest without SHA-256 (got {})",
                other_algorithms.join(", ")
            )))
        };
    };
    let claimed = LENIENT_BASE64
        .decode(value)
        .map_err(|_| malformed("SHA-256 digest is not base64"))?;
    if claimed.as_slice() == Sha256::digest(body).as_slice() {
        Ok(())
    } else {
        Err(SignatureError::DigestMismatch)
    }
}

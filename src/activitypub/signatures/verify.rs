//! The verification policy (covered headers, clock skew) and RSA PKCS#1 v1.5 / SHA-256
//! verification of a request against a [`SignatureHeader`].

use std::time::{Duration, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use http::HeaderMap;
use http::header::DATE;

use super::header::{ACCEPTED_ALGORITHMS, header_str, permits_created};
use super::{SignatureError, SignatureHeader, VerifyingKey, excerpt, malformed, signing_string};

/// What a verified request must satisfy beyond a valid signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyPolicy {
    /// Lowercase names of the headers (or pseudo-headers) the signature must cover. `date` is
    /// also satisfied by `(created)` when the algorithm allows it (`hs2019`).
    pub required: &'static [&'static str],
    /// How far the signed `Date` / `(created)` may be from the verifier's clock, either way.
    pub max_skew: Duration,
}

impl VerifyPolicy {
    /// Whether the policy is for requests with a body (it requires `digest`): an RFC 9421
    /// signature must then cover `content-digest`.
    pub fn with_body(&self) -> bool {
        self.required.contains(&"digest")
    }
}

/// Clock skew tolerated by the built-in policies; Mastodon uses the same one-hour margin.
const DEFAULT_MAX_SKEW: Duration = Duration::from_secs(60 * 60);

/// Policy for requests with a body (inbox deliveries): the signature must bind the target, the
/// host, the date and the body digest, otherwise a captured signature could be replayed with
/// another body or on another server.
pub const POST_POLICY: VerifyPolicy = VerifyPolicy {
    required: &["(request-target)", "host", "date", "digest"],
    max_skew: DEFAULT_MAX_SKEW,
};

/// Policy for requests without a body (signed GETs, "authorized fetch").
pub const GET_POLICY: VerifyPolicy = VerifyPolicy {
    required: &["(request-target)", "host", "date"],
    max_skew: DEFAULT_MAX_SKEW,
};

/// Verifies a request's signature with a PEM public key (SPKI or PKCS#1).
///
/// Parses the key with [`parse_public_key`] then calls [`verify_with_key`]; callers that cache
/// keys should call [`verify_with_key`] directly.
///
/// # Errors
/// [`SignatureError::BadKey`] for an unparseable key, otherwise as [`verify_with_key`].
pub fn verify_request(
    method: &str,
    path_and_query: &str,
    headers: &HeaderMap,
    signature: &SignatureHeader,
    public_key_pem: &str,
    policy: &VerifyPolicy,
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    let key = VerifyingKey::from_pem(public_key_pem)?;
    verify_with_key(
        method,
        path_and_query,
        headers,
        signature,
        &key,
        policy,
        now,
    )
}

/// Verifies a request's signature with an already parsed public key.
///
/// First [`check_coverage_and_date`]: the algorithm is accepted; every header of
/// `policy.required` is covered; the signed time references (`Date` header if covered,
/// `(created)` if covered) are within `policy.max_skew` of `now`, and `expires`, if given, has
/// not passed. Then the RSA PKCS#1 v1.5 SHA-256 signature must verify over the
/// [`signing_string`]. If it does not and the target
/// has a query string, it is retried without the query, as Mastodon does for older senders.
///
/// This does not read the body: with [`POST_POLICY`] the `Digest` header is known to be
/// signed, and the caller must still check it with [`verify_digest`].
///
/// # Errors
/// [`SignatureError::UnsupportedAlgorithm`], [`SignatureError::MissingHeader`] (not covered or
/// absent), [`SignatureError::Malformed`] (e.g. `(created)` with `rsa-sha256`, an unreadable
/// `Date`), [`SignatureError::DateOutOfWindow`], [`SignatureError::Invalid`].
pub fn verify_with_key(
    method: &str,
    path_and_query: &str,
    headers: &HeaderMap,
    signature: &SignatureHeader,
    key: &VerifyingKey,
    policy: &VerifyPolicy,
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    check_coverage_and_date(headers, signature, policy, now)?;

    let signed = signing_string(
        method,
        path_and_query,
        headers,
        &signature.headers,
        signature.created,
        signature.expires,
    )?;
    if rsa_sha256_verify(key, &signed, &signature.signature) {
        return Ok(());
    }
    // Mastodon compatibility: older senders signed `(request-target)` without the query.
    if let Some((path, _query)) = path_and_query.split_once('?') {
        if signature.covers("(request-target)") {
            let signed = signing_string(
                method,
                path,
                headers,
                &signature.headers,
                signature.created,
                signature.expires,
            )?;
            if rsa_sha256_verify(key, &signed, &signature.signature) {
                return Ok(());
            }
        }
    }
    Err(SignatureError::Invalid)
}

/// The checks of [`verify_with_key`] that need no key: the algorithm is accepted, every
/// header of `policy.required` is covered, `(created)`/`(expires)` are only used where the
/// draft allows them, and the signed time references are within `policy.max_skew` of `now`.
///
/// Run it before fetching the signer's key, so that stale or under-signed requests cost no
/// network round trip; [`verify_with_key`] runs it again, so skipping it is safe.
///
/// # Errors
/// [`SignatureError::UnsupportedAlgorithm`], [`SignatureError::MissingHeader`],
/// [`SignatureError::Malformed`], [`SignatureError::DateOutOfWindow`].
pub fn check_coverage_and_date(
    headers: &HeaderMap,
    signature: &SignatureHeader,
    policy: &VerifyPolicy,
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    // The fields are public, so re-check what `parse` guarantees.
    let algorithm = signature.algorithm.as_deref().map(str::to_ascii_lowercase);
    if let Some(algorithm) = &algorithm {
        if !ACCEPTED_ALGORITHMS.contains(&algorithm.as_str()) {
            return Err(SignatureError::UnsupportedAlgorithm(excerpt(algorithm)));
        }
    }
    let created_allowed = permits_created(algorithm.as_deref());

    for required in policy.required {
        let required = required.to_ascii_lowercase();
        let covered = signature.covers(&required)
            || (required == "date" && created_allowed && signature.covers("(created)"));
        if !covered {
            return Err(SignatureError::MissingHeader(required));
        }
    }
    if !created_allowed && (signature.covers("(created)") || signature.covers("(expires)")) {
        return Err(malformed(
            "(created)/(expires) cannot be signed with rsa-sha256 (draft-cavage-12 §2.3)",
        ));
    }
    check_freshness(headers, signature, policy.max_skew, now)
}

/// Checks the signed time references against `now`.
///
/// Only covered values count, since an unsigned `Date` proves nothing; at least one is needed,
/// otherwise a captured request could be replayed forever. `expires` is honoured even when not
/// covered: it can only shorten the window.
fn check_freshness(
    headers: &HeaderMap,
    signature: &SignatureHeader,
    max_skew: Duration,
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    let now = now.timestamp();
    let max_skew = max_skew.as_secs();
    let within_window = |instant: i64| now.abs_diff(instant) <= max_skew;
    let mut checked_any = false;

    if signature.covers("(created)") {
        let created = signature
            .created
            .ok_or_else(|| SignatureError::MissingHeader("(created)".to_owned()))?;
        if !within_window(created) {
            return Err(SignatureError::DateOutOfWindow);
        }
        checked_any = true;
    }
    if signature.covers("date") {
        let date = headers
            .get(DATE)
            .ok_or_else(|| SignatureError::MissingHeader("date".to_owned()))?;
        let date = header_str(date, "date")?;
        let date = httpdate::parse_http_date(date.trim())
            .map_err(|_| malformed(format!("unreadable Date header: {}", excerpt(date))))?;
        // A date before 1970 is certainly outside the window.
        let date = date
            .duration_since(UNIX_EPOCH)
            .ok()
            .and_then(|d| i64::try_from(d.as_secs()).ok())
            .ok_or(SignatureError::DateOutOfWindow)?;
        if !within_window(date) {
            return Err(SignatureError::DateOutOfWindow);
        }
        checked_any = true;
    }
    if !checked_any {
        return Err(SignatureError::MissingHeader("date".to_owned()));
    }
    if let Some(expires) = signature.expires {
        if now > expires && now.abs_diff(expires) > max_skew {
            return Err(SignatureError::DateOutOfWindow);
        }
    }
    Ok(())
}

fn rsa_sha256_verify(key: &VerifyingKey, signing_string: &str, signature: &[u8]) -> bool {
    verify_raw(key, signing_string.as_bytes(), signature)
}

/// RSASSA-PKCS1-v1_5 / SHA-256 verification of `signature` over `message`.
pub fn verify_raw(key: &VerifyingKey, message: &[u8], signature: &[u8]) -> bool {
    key.0.verify_sig(message, signature).is_ok()
}

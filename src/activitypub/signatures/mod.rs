//! HTTP Signatures for server-to-server ActivityPub traffic, as the fediverse deploys them:
//! [draft-cavage-http-signatures-12] with RSA keys, plus the RFC 3230 `Digest` header.
//!
//! This module owns:
//! - the `Digest` header: computing `SHA-256=<base64>` over an outgoing body
//!   ([`digest_header`]) and checking a received one ([`verify_digest`]);
//! - parsing the `Signature` header into a [`SignatureHeader`] (draft §2.1, §4.1);
//! - building the signing string the signature is computed over ([`signing_string`], draft §2.3);
//! - the verification policy (which headers must be covered, how much clock skew is tolerated,
//!   [`VerifyPolicy`]) and RSA PKCS#1 v1.5 / SHA-256 verification ([`verify_request`],
//!   [`verify_with_key`]);
//! - signing outgoing requests the way Mastodon expects them ([`sign_request`]);
//! - reading PEM keys ([`parse_public_key`], [`parse_private_key`]).
//!
//! One file per part: [`digest`], [`header`] (the `Signature` header and the signing string),
//! [`verify`], [`keys`] and [`sign`]; everything is re-exported here. [`rfc9421`] holds RFC
//! 9421 HTTP Message Signatures (`Signature-Input`, `Content-Digest`), verified and signed
//! beside draft-cavage; [`RequestSignature`] reads either from a request.
//!
//! It deliberately does no I/O: fetching the signer's actor (start from
//! [`SignatureHeader::key_owner`]), caching parsed keys, and reading the request body are the
//! caller's job. In particular [`verify_request`] only checks that `digest` is *covered* by the
//! signature; the caller must also run [`verify_digest`] against the body it actually received.
//!
//! Interoperability choices, following Mastodon (the implementation everyone tests against):
//! - `algorithm="hs2019"` is treated as RSA PKCS#1 v1.5 with SHA-256, because the keys actors
//!   publish for HTTP signatures are RSA and that is what senders using `hs2019` produce;
//! - outgoing requests use `algorithm="rsa-sha256"`, still the most widely understood value;
//! - when the signature does not verify with the query string in `(request-target)`, it is
//!   retried without it, as Mastodon does for older senders that signed the bare path.
//!
//! [draft-cavage-http-signatures-12]: https://datatracker.ietf.org/doc/html/draft-cavage-http-signatures-12

mod digest;
mod header;
mod keys;
pub mod rfc9421;
mod sign;
mod verify;

pub use digest::{digest_header, verify_digest};
pub use header::{SignatureHeader, signing_string};
pub use keys::{KeyKind, SigningKey, VerifyingKey, parse_private_key, parse_public_key};
pub use rfc9421::{
    CONTENT_DIGEST_HEADER, MessageSignature, RequestTarget, SIGNATURE_INPUT_HEADER,
    content_digest_header, sign_request_rfc9421, verify_content_digest,
};
pub use sign::{sign_request, sign_request_with};
pub use verify::{
    GET_POLICY, POST_POLICY, VerifyPolicy, check_coverage_and_date, verify_raw, verify_request,
    verify_with_key,
};

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use chrono::{DateTime, Utc};
use http::HeaderMap;
use url::Url;

/// Name of the header carrying the signature (draft §4), lowercase as `http` stores names.
pub const SIGNATURE_HEADER: &str = "signature";

/// Name of the header carrying the body digest (RFC 3230 §4.3.2), lowercase.
pub const DIGEST_HEADER: &str = "digest";

/// Content type of signed outgoing bodies (the same value as `federation::AS2_CONTENT_TYPE`,
/// repeated here so this module stands on its own).
const ACTIVITY_JSON: &str = "application/activity+json";

/// Headers covered by outgoing requests with a body: Mastodon refuses a POST whose signature
/// does not cover `digest`, and covering `content-type` is what Mastodon itself sends.
const COVERED_WITH_BODY: [&str; 5] = ["(request-target)", "host", "date", "digest", "content-type"];

/// Headers covered by outgoing requests without a body (signed GETs, "authorized fetch").
const COVERED_WITHOUT_BODY: [&str; 3] = ["(request-target)", "host", "date"];

/// Decodes base64 whether or not the `=` padding is present: the signature either verifies or
/// it does not, so there is nothing to gain by refusing a sender that trims padding.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Longest excerpt of untrusted input copied into an error message, so logs stay readable.
const MAX_EXCERPT_CHARS: usize = 64;

/// Why a signature, digest or key was refused. Messages are meant for logs: they say what was
/// wrong without echoing more than a short excerpt of the untrusted input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// Nothing to check: the `Signature` (or `Digest`) header is absent or empty.
    #[error("no signature (or digest) to verify")]
    Missing,
    /// A `Signature`, `Digest` or `Date` header (or a key id, URL or method) cannot be read;
    /// the string says what is wrong.
    #[error("malformed: {0}")]
    Malformed(String),
    /// The signature or digest uses an algorithm this server does not accept.
    #[error("unsupported algorithm: {0}")]
    UnsupportedAlgorithm(String),
    /// A header the policy requires is not covered by the signature, or a covered header is
    /// absent from the request.
    #[error("header `{0}` is required but not signed or not present")]
    MissingHeader(String),
    /// The `Digest` header does not match the received body.
    #[error("Digest header does not match the body")]
    DigestMismatch,
    /// The signed `Date` / `(created)` is too far from now, or `expires` has passed.
    #[error("signature date is outside the accepted window")]
    DateOutOfWindow,
    /// The key could not be parsed or used; the string gives the library's reason.
    #[error("unusable RSA key: {0}")]
    BadKey(String),
    /// The signature does not verify with the key over the reconstructed signing string.
    #[error("signature does not verify")]
    Invalid,
}

fn malformed(reason: impl Into<String>) -> SignatureError {
    SignatureError::Malformed(reason.into())
}

/// A short, single-line excerpt of untrusted input for error messages.
fn excerpt(input: &str) -> String {
    let mut out: String = input
        .chars()
        .take(MAX_EXCERPT_CHARS)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if input.chars().nth(MAX_EXCERPT_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// The URL of the document holding the key `key_id`: the id without its fragment
/// (`https://ex.org/users/a#main-key` → `https://ex.org/users/a`).
fn key_owner_of(key_id: &str) -> Result<Url, SignatureError> {
    // Ids are capped at 2 048 bytes everywhere (see `activitypub::ids::MAX_ID_LEN`).
    if key_id.len() > 2048 {
        return Err(malformed(format!(
            "keyId longer than 2048 bytes: {}",
            excerpt(key_id)
        )));
    }
    let mut url = Url::parse(key_id)
        .map_err(|e| malformed(format!("keyId is not a URL ({e}): {}", excerpt(key_id))))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(malformed(format!(
            "keyId must be an http(s) URL: {}",
            excerpt(key_id)
        )));
    }
    url.set_fragment(None);
    Ok(url)
}

/// The signature of a request, of either kind. A request with a `Signature-Input` field is
/// RFC 9421 (its `Signature` field is then never read as draft-cavage), as Mastodon
/// decides; otherwise draft-cavage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestSignature {
    /// draft-cavage-http-signatures-12.
    Cavage(SignatureHeader),
    /// RFC 9421.
    Rfc9421(MessageSignature),
}

impl RequestSignature {
    /// Reads the signature of a request.
    ///
    /// # Errors
    /// As [`SignatureHeader::from_request_headers`] or
    /// [`MessageSignature::from_request_headers`].
    pub fn from_request_headers(headers: &HeaderMap) -> Result<Self, SignatureError> {
        if MessageSignature::is_present(headers) {
            MessageSignature::from_request_headers(headers).map(Self::Rfc9421)
        } else {
            SignatureHeader::from_request_headers(headers).map(Self::Cavage)
        }
    }

    /// Whether this is an RFC 9421 signature.
    pub fn is_rfc9421(&self) -> bool {
        matches!(self, Self::Rfc9421(_))
    }

    /// The URL of the document holding the signer's key (`keyId` without fragment).
    ///
    /// # Errors
    /// [`SignatureError::Malformed`] when the key id is not an `http(s)` URL.
    pub fn key_owner(&self) -> Result<Url, SignatureError> {
        match self {
            Self::Cavage(signature) => signature.key_owner(),
            Self::Rfc9421(signature) => signature.key_owner(),
        }
    }

    /// The checks that need no key (coverage, dates), to run before fetching one.
    ///
    /// # Errors
    /// As [`check_coverage_and_date`] and [`MessageSignature::check_coverage_and_date`].
    pub fn check_coverage_and_date(
        &self,
        headers: &HeaderMap,
        policy: &VerifyPolicy,
        now: DateTime<Utc>,
    ) -> Result<(), SignatureError> {
        match self {
            Self::Cavage(signature) => check_coverage_and_date(headers, signature, policy, now),
            Self::Rfc9421(signature) => signature.check_coverage_and_date(policy, now),
        }
    }

    /// Verifies the signature with `key`. `request.path_and_query` and `request.method`
    /// serve both kinds; the scheme and authority only RFC 9421's derived components.
    ///
    /// # Errors
    /// As [`verify_with_key`] and [`MessageSignature::verify`].
    pub fn verify(
        &self,
        request: &RequestTarget<'_>,
        headers: &HeaderMap,
        key: &VerifyingKey,
        policy: &VerifyPolicy,
        now: DateTime<Utc>,
    ) -> Result<(), SignatureError> {
        match self {
            Self::Cavage(signature) => {
                if key.kind() != KeyKind::Rsa {
                    return Err(SignatureError::UnsupportedAlgorithm(
                        "draft-cavage signatures need an RSA key".into(),
                    ));
                }
                verify_with_key(
                    request.method,
                    request.path_and_query,
                    headers,
                    signature,
                    key,
                    policy,
                    now,
                )
            }
            Self::Rfc9421(signature) => signature.verify(request, headers, key, policy, now),
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod rfc9421_tests;

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
//! [`verify`], [`keys`] and [`sign`]; everything is re-exported here.
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
mod sign;
mod verify;

pub use digest::{digest_header, verify_digest};
pub use header::{SignatureHeader, signing_string};
pub use keys::{SigningKey, VerifyingKey, parse_private_key, parse_public_key};
pub use sign::{sign_request, sign_request_with};
pub use verify::{
    GET_POLICY, POST_POLICY, VerifyPolicy, check_coverage_and_date, verify_raw, verify_request,
    verify_with_key,
};

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

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

#[cfg(test)]
mod tests;

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

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use chrono::{DateTime, Utc};
use http::header::{AUTHORIZATION, CONTENT_TYPE, DATE, HOST};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::{Digest as _, Sha256};
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

// ---------------------------------------------------------------------------------------------
// Digest
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Signature header
// ---------------------------------------------------------------------------------------------

/// The parameters of a `Signature` header (draft §2.1), validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    /// The `keyId` parameter: in the fediverse, the URL of the signer's public key, usually the
    /// actor URL with a `#main-key` fragment.
    pub key_id: String,
    /// The `algorithm` parameter, lowercased; `None` when absent. Only `rsa-sha256` and
    /// `hs2019` are accepted by [`SignatureHeader::parse`].
    pub algorithm: Option<String>,
    /// The covered headers, lowercased, in signing order (the `headers` parameter, or its
    /// default when absent, see [`SignatureHeader::parse`]).
    pub headers: Vec<String>,
    /// The decoded signature bytes.
    pub signature: Vec<u8>,
    /// The `created` parameter (Unix seconds), used by the `(created)` pseudo-header.
    pub created: Option<i64>,
    /// The `expires` parameter (Unix seconds), used by the `(expires)` pseudo-header.
    pub expires: Option<i64>,
}

/// Algorithm values accepted in the `algorithm` parameter; both are verified as RSA PKCS#1 v1.5
/// with SHA-256 (see the module documentation for `hs2019`).
const ACCEPTED_ALGORITHMS: [&str; 2] = ["rsa-sha256", "hs2019"];

impl SignatureHeader {
    /// Parses the value of a `Signature` header, e.g.
    /// `keyId="https://ex.org/users/a#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="…"`.
    ///
    /// Parameters may come in any order, with spaces around `=` and `,`; names are matched
    /// case-insensitively (they are auth-params, RFC 9110 §11.2) and unknown ones are ignored.
    /// Values are quoted strings (commas inside are fine, `\` escapes one character) or bare
    /// tokens, which is how `created` and `expires` are sent.
    ///
    /// When `headers` is absent the draft (§2.1.6) says to act as if it were `(created)`; like
    /// Mastodon we apply that to `hs2019` and to a missing `algorithm`, and keep the older
    /// drafts' default, `date`, for `rsa-sha256`.
    ///
    /// # Errors
    /// [`SignatureError::Missing`] for an empty value; [`SignatureError::Malformed`] for a
    /// syntax error, a duplicate parameter, a missing `keyId` or `signature`, a signature that
    /// is not base64, an empty `headers` list or a non-integer `created`/`expires`;
    /// [`SignatureError::UnsupportedAlgorithm`] for any algorithm but `rsa-sha256` and `hs2019`.
    pub fn parse(value: &str) -> Result<Self, SignatureError> {
        if value.trim().is_empty() {
            return Err(SignatureError::Missing);
        }
        let mut key_id = None;
        let mut algorithm = None;
        let mut headers = None;
        let mut signature = None;
        let mut created = None;
        let mut expires = None;
        for (name, value) in parse_parameters(value)? {
            match name.as_str() {
                "keyid" => key_id = Some(value),
                "algorithm" => algorithm = Some(value.to_ascii_lowercase()),
                "headers" => headers = Some(value),
                "signature" => signature = Some(value),
                "created" => created = Some(parse_timestamp("created", &value)?),
                "expires" => expires = Some(parse_timestamp("expires", &value)?),
                // Draft §2.1: unknown parameters must be ignored.
                _ => {}
            }
        }

        if let Some(algorithm) = &algorithm {
            if !ACCEPTED_ALGORITHMS.contains(&algorithm.as_str()) {
                return Err(SignatureError::UnsupportedAlgorithm(excerpt(algorithm)));
            }
        }
        let key_id = key_id
            .filter(|k| !k.trim().is_empty())
            .ok_or_else(|| malformed("missing keyId"))?;
        let signature = signature.ok_or_else(|| malformed("missing signature"))?;
        let signature = LENIENT_BASE64
            .decode(signature.trim())
            .map_err(|_| malformed("signature is not base64"))?;
        if signature.is_empty() {
            return Err(malformed("empty signature"));
        }
        let headers = match headers {
            Some(list) => {
                let names: Vec<String> = list
                    .split_ascii_whitespace()
                    .map(str::to_ascii_lowercase)
                    .collect();
                if names.is_empty() {
                    return Err(malformed("empty headers list"));
                }
                names
            }
            None if permits_created(algorithm.as_deref()) => vec!["(created)".to_owned()],
            None => vec!["date".to_owned()],
        };

        Ok(Self {
            key_id,
            algorithm,
            headers,
            signature,
            created,
            expires,
        })
    }

    /// Reads and parses the signature of a request: the `Signature` header (what the fediverse
    /// sends), or else an `Authorization: Signature …` header (draft §3.1).
    ///
    /// # Errors
    /// [`SignatureError::Missing`] when neither is present, [`SignatureError::Malformed`] for
    /// several `Signature` headers or a non-UTF-8 value, otherwise as [`SignatureHeader::parse`].
    pub fn from_request_headers(headers: &HeaderMap) -> Result<Self, SignatureError> {
        let mut values = headers.get_all(SIGNATURE_HEADER).iter();
        if let Some(value) = values.next() {
            if values.next().is_some() {
                return Err(malformed("several Signature headers"));
            }
            return Self::parse(header_str(value, SIGNATURE_HEADER)?);
        }
        if let Some(value) = headers.get(AUTHORIZATION) {
            let value = header_str(value, "authorization")?.trim_start();
            if let Some((scheme, params)) = value.split_once(' ') {
                if scheme.eq_ignore_ascii_case("Signature") {
                    return Self::parse(params);
                }
            }
        }
        Err(SignatureError::Missing)
    }

    /// The URL of the document to fetch to find the signer: `keyId` without its fragment
    /// (`https://ex.org/users/a#main-key` → `https://ex.org/users/a`).
    ///
    /// This is where the key lives, not proof of who owns it: some servers (GoToSocial) use a
    /// separate key document such as `…/users/a/main-key` whose `owner` names the actor. The
    /// caller must check that the fetched `publicKey.id` equals [`SignatureHeader::key_id`] and
    /// that its `owner` is the activity's actor.
    ///
    /// # Errors
    /// [`SignatureError::Malformed`] when `keyId` is not an `http` or `https` URL.
    pub fn key_owner(&self) -> Result<Url, SignatureError> {
        // Ids are capped at 2 048 bytes everywhere (see `federation::inbox::MAX_ID_LEN`).
        if self.key_id.len() > 2048 {
            return Err(malformed(format!(
                "keyId longer than 2048 bytes: {}",
                excerpt(&self.key_id)
            )));
        }
        let mut url = Url::parse(&self.key_id).map_err(|e| {
            malformed(format!(
                "keyId is not a URL ({e}): {}",
                excerpt(&self.key_id)
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(malformed(format!(
                "keyId must be an http(s) URL: {}",
                excerpt(&self.key_id)
            )));
        }
        url.set_fragment(None);
        Ok(url)
    }

    fn covers(&self, name: &str) -> bool {
        self.headers.iter().any(|h| h == name)
    }
}

/// Whether the `(created)` / `(expires)` pseudo-headers may be used with this algorithm.
///
/// Draft §2.3: a verifier must refuse them when `algorithm` starts with `rsa`, `hmac` or
/// `ecdsa`; of the algorithms we accept, that leaves `hs2019` and an absent parameter (which
/// Mastodon also treats as `hs2019`).
fn permits_created(algorithm: Option<&str>) -> bool {
    algorithm != Some("rsa-sha256")
}

/// Splits a `Signature` header value into `(lowercased name, value)` pairs.
///
/// Grammar (draft §4.1, RFC 9110 §11.2 auth-params):
/// `param *( OWS "," OWS param )`, `param = token OWS "=" OWS ( token / quoted-string )`.
fn parse_parameters(input: &str) -> Result<Vec<(String, String)>, SignatureError> {
    let mut params: Vec<(String, String)> = Vec::new();
    let mut chars = input.chars().peekable();
    loop {
        skip_whitespace(&mut chars);
        match chars.peek() {
            None => break,
            // Empty list elements are tolerated (RFC 9110 §5.6.1).
            Some(',') => {
                chars.next();
                continue;
            }
            Some(_) => {}
        }

        let name = read_token(&mut chars);
        if name.is_empty() {
            return Err(malformed(format!(
                "expected a parameter name in: {}",
                excerpt(input)
            )));
        }
        skip_whitespace(&mut chars);
        if chars.next() != Some('=') {
            return Err(malformed(format!(
                "parameter `{}` has no value",
                excerpt(&name)
            )));
        }
        skip_whitespace(&mut chars);
        let value = if chars.peek() == Some(&'"') {
            chars.next();
            read_quoted_string(&mut chars)?
        } else {
            let token = read_token(&mut chars);
            if token.is_empty() {
                return Err(malformed(format!(
                    "parameter `{}` has an empty or invalid value",
                    excerpt(&name)
                )));
            }
            token
        };

        let name = name.to_ascii_lowercase();
        // A repeated parameter is ambiguous (which keyId was signed for?): refuse it.
        if params.iter().any(|(seen, _)| *seen == name) {
            return Err(malformed(format!(
                "duplicate parameter `{}`",
                excerpt(&name)
            )));
        }
        params.push((name, value));

        skip_whitespace(&mut chars);
        match chars.next() {
            None => break,
            Some(',') => {}
            Some(other) => {
                return Err(malformed(format!(
                    "unexpected {other:?} after a parameter value"
                )));
            }
        }
    }
    Ok(params)
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

fn skip_whitespace(chars: &mut Chars<'_>) {
    while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn read_token(chars: &mut Chars<'_>) -> String {
    let mut token = String::new();
    while let Some(c) = chars.next_if(|c| is_token_char(*c)) {
        token.push(c);
    }
    token
}

/// Reads a quoted-string body after its opening quote (RFC 9110 §5.6.4), unescaping `\x`.
fn read_quoted_string(chars: &mut Chars<'_>) -> Result<String, SignatureError> {
    let mut value = String::new();
    loop {
        match chars.next() {
            None => return Err(malformed("unterminated quoted value")),
            Some('"') => return Ok(value),
            Some('\\') => match chars.next() {
                Some(escaped) => value.push(escaped),
                None => return Err(malformed("unterminated quoted value")),
            },
            Some(c) => value.push(c),
        }
    }
}

/// Parses `created` / `expires`: integer Unix seconds (draft §2.1.4, §2.1.5). Only plain digits
/// are accepted because the signing string repeats the number as we print it back.
fn parse_timestamp(name: &str, raw: &str) -> Result<i64, SignatureError> {
    let invalid = || {
        malformed(format!(
            "`{name}` is not a Unix timestamp: {}",
            excerpt(raw)
        ))
    };
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    raw.parse().map_err(|_| invalid())
}

fn header_str<'a>(value: &'a HeaderValue, name: &str) -> Result<&'a str, SignatureError> {
    std::str::from_utf8(value.as_bytes())
        .map_err(|_| malformed(format!("header `{name}` is not UTF-8")))
}

// ---------------------------------------------------------------------------------------------
// Signing string
// ---------------------------------------------------------------------------------------------

/// Builds the string that is signed (draft §2.3): one `name: value` line per covered header,
/// in the order given, joined with `\n` and without a trailing newline.
///
/// - `(request-target)` is `<lowercase method> <path and query>`;
/// - `(created)` / `(expires)` take the `created` / `expires` parameters;
/// - other names are looked up in `headers`; several values of one header are joined with
///   `", "` in the order they were received, as the draft prescribes.
///
/// `path_and_query` is the request target as received (e.g. `uri.path_and_query()`), query
/// string included. For HTTP/2 requests the caller must make sure `host` is present in
/// `headers` (from the `:authority` pseudo-header) before calling.
///
/// # Errors
/// [`SignatureError::MissingHeader`] when a covered header (or the `created`/`expires`
/// parameter behind a pseudo-header) is absent; [`SignatureError::Malformed`] for an invalid
/// method, header name, a control character in the path, or a non-UTF-8 header value.
pub fn signing_string(
    method: &str,
    path_and_query: &str,
    headers: &HeaderMap,
    covered: &[String],
    created: Option<i64>,
    expires: Option<i64>,
) -> Result<String, SignatureError> {
    let mut lines = Vec::with_capacity(covered.len());
    for name in covered {
        let name = name.to_ascii_lowercase();
        let line = match name.as_str() {
            "(request-target)" => {
                Method::from_bytes(method.as_bytes())
                    .map_err(|_| malformed(format!("invalid method: {}", excerpt(method))))?;
                // A line break in the target would let it forge extra signing-string lines.
                if path_and_query.chars().any(char::is_control) {
                    return Err(malformed("control character in request target"));
                }
                format!(
                    "(request-target): {} {path_and_query}",
                    method.to_ascii_lowercase()
                )
            }
            "(created)" => {
                let created =
                    created.ok_or_else(|| SignatureError::MissingHeader("(created)".to_owned()))?;
                format!("(created): {created}")
            }
            "(expires)" => {
                let expires =
                    expires.ok_or_else(|| SignatureError::MissingHeader("(expires)".to_owned()))?;
                format!("(expires): {expires}")
            }
            _ => {
                let header_name = HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| malformed(format!("invalid header name: {}", excerpt(&name))))?;
                let values = headers
                    .get_all(&header_name)
                    .iter()
                    .map(|v| header_str(v, &name).map(str::trim))
                    .collect::<Result<Vec<_>, _>>()?;
                if values.is_empty() {
                    return Err(SignatureError::MissingHeader(name));
                }
                format!("{name}: {}", values.join(", "))
            }
        };
        lines.push(line);
    }
    Ok(lines.join("\n"))
}

// ---------------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------------

/// What a verified request must satisfy beyond a valid signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyPolicy {
    /// Lowercase names of the headers (or pseudo-headers) the signature must cover. `date` is
    /// also satisfied by `(created)` when the algorithm allows it (`hs2019`).
    pub required: &'static [&'static str],
    /// How far the signed `Date` / `(created)` may be from the verifier's clock, either way.
    pub max_skew: Duration,
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

// ---------------------------------------------------------------------------------------------
// Keys ready for the hot path
// ---------------------------------------------------------------------------------------------

/// An RSA public key parsed once for RSASSA-PKCS1-v1_5 / SHA-256 verification with
/// aws-lc-rs (about 14 times faster than the `rsa` crate on the development machine, see
/// docs/benchmarks.md). Keys are read from PEM by `rsa`; callers cache this value.
#[derive(Clone)]
pub struct VerifyingKey(aws_lc_rs::signature::ParsedPublicKey);

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VerifyingKey(RSA)")
    }
}

impl VerifyingKey {
    /// Reads a PEM public key (see [`parse_public_key`]).
    ///
    /// # Errors
    /// [`SignatureError::BadKey`].
    pub fn from_pem(pem: &str) -> Result<Self, SignatureError> {
        Self::from_rsa(&parse_public_key(pem)?)
    }

    /// Converts a key read by `rsa`. Moduli under 2048 bits (old servers) still verify,
    /// as they did with `rsa`.
    ///
    /// # Errors
    /// [`SignatureError::BadKey`] when aws-lc refuses the key.
    pub fn from_rsa(key: &RsaPublicKey) -> Result<Self, SignatureError> {
        use rsa::pkcs1::EncodeRsaPublicKey as _;
        let der = key
            .to_pkcs1_der()
            .map_err(|e| SignatureError::BadKey(e.to_string()))?;
        // 1 024 to 8 192 bits, as the `rsa` crate accepted (it refuses more than 4 096
        // when reading the PEM): the 2 048-bit variant refuses odd sizes like 2 047.
        let algorithm = &aws_lc_rs::signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY;
        aws_lc_rs::signature::ParsedPublicKey::new(algorithm, der.as_bytes())
            .map(Self)
            .map_err(|e| SignatureError::BadKey(e.to_string()))
    }
}

/// An RSA private key ready to sign with aws-lc-rs (constant-time, about 3 times faster
/// than the `rsa` crate here). Parse once, keep it: parsing validates the key.
pub struct SigningKey(aws_lc_rs::rsa::KeyPair);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(RSA, redacted)")
    }
}

impl SigningKey {
    /// Reads a PEM private key (see [`parse_private_key`]).
    ///
    /// # Errors
    /// [`SignatureError::BadKey`]; the message never contains key material.
    pub fn from_pem(pem: &str) -> Result<Self, SignatureError> {
        Self::from_rsa(&parse_private_key(pem)?)
    }

    /// Converts a key read or generated by `rsa`.
    ///
    /// # Errors
    /// [`SignatureError::BadKey`] when aws-lc refuses the key (under 2048 bits).
    pub fn from_rsa(key: &RsaPrivateKey) -> Result<Self, SignatureError> {
        use rsa::pkcs1::EncodeRsaPrivateKey as _;
        let der = key
            .to_pkcs1_der()
            .map_err(|e| SignatureError::BadKey(e.to_string()))?;
        aws_lc_rs::rsa::KeyPair::from_der(der.as_bytes())
            .map(Self)
            .map_err(|e| SignatureError::BadKey(e.to_string()))
    }

    /// RSASSA-PKCS1-v1_5 / SHA-256 signature of `message`.
    ///
    /// # Errors
    /// [`SignatureError::BadKey`] if aws-lc fails to sign.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignatureError> {
        let mut signature = vec![0; self.0.public_modulus_len()];
        self.0
            .sign(
                &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                message,
                &mut signature,
            )
            .map_err(|_| SignatureError::BadKey("signing failed".into()))?;
        Ok(signature)
    }
}

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

/// Parses an RSA public key in PEM, as found in an actor's `publicKey.publicKeyPem`: SPKI
/// (`-----BEGIN PUBLIC KEY-----`, what Mastodon publishes) or PKCS#1
/// (`-----BEGIN RSA PUBLIC KEY-----`, used by some older servers).
///
/// # Errors
/// [`SignatureError::BadKey`] when neither form parses (the `rsa` crate also refuses moduli
/// above 4096 bits).
pub fn parse_public_key(pem: &str) -> Result<RsaPublicKey, SignatureError> {
    let pem = pem.trim();
    if pem.contains("BEGIN RSA PUBLIC KEY") {
        RsaPublicKey::from_pkcs1_pem(pem).map_err(|e| SignatureError::BadKey(e.to_string()))
    } else {
        RsaPublicKey::from_public_key_pem(pem).map_err(|e| SignatureError::BadKey(e.to_string()))
    }
}

/// Parses an RSA private key in PEM: PKCS#8 (`-----BEGIN PRIVATE KEY-----`) or PKCS#1
/// (`-----BEGIN RSA PRIVATE KEY-----`).
///
/// # Errors
/// [`SignatureError::BadKey`] when neither form parses; the message never contains key material.
pub fn parse_private_key(pem: &str) -> Result<RsaPrivateKey, SignatureError> {
    let pem = pem.trim();
    if pem.contains("BEGIN RSA PRIVATE KEY") {
        RsaPrivateKey::from_pkcs1_pem(pem).map_err(|e| SignatureError::BadKey(e.to_string()))
    } else {
        RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| SignatureError::BadKey(e.to_string()))
    }
}

// ---------------------------------------------------------------------------------------------
// Signing
// ---------------------------------------------------------------------------------------------

/// Signs an outgoing request and returns the headers to add to it.
///
/// Returned headers: `Host` (with `:port` when the URL has a non-default port), `Date` (IMF-fixdate
/// from `now`), and for a `body` also `Digest` and `Content-Type: application/activity+json`;
/// then `Signature` with `keyId`, `algorithm="rsa-sha256"`,
/// `headers="(request-target) host date digest content-type"` (with a body) or
/// `headers="(request-target) host date"` (without), and the standard-base64 signature.
/// `(request-target)` uses the URL's path and query string. The request must be sent with
/// exactly these header values and the same method, URL and body.
///
/// # Errors
/// [`SignatureError::Malformed`] when the URL has no host, the method is invalid or `key_id`
/// cannot be put in a quoted header parameter; [`SignatureError::BadKey`] when the key cannot
/// sign (too small).
pub fn sign_request(
    method: &str,
    url: &Url,
    body: Option<&[u8]>,
    key_id: &str,
    private_key: &RsaPrivateKey,
    now: DateTime<Utc>,
) -> Result<HeaderMap, SignatureError> {
    sign_request_with(
        method,
        url,
        body,
        key_id,
        &SigningKey::from_rsa(private_key)?,
        now,
    )
}

/// [`sign_request`] with a key already converted (the hot path: deliveries keep their
/// actors' [`SigningKey`]s).
///
/// # Errors
/// As [`sign_request`].
pub fn sign_request_with(
    method: &str,
    url: &Url,
    body: Option<&[u8]>,
    key_id: &str,
    private_key: &SigningKey,
    now: DateTime<Utc>,
) -> Result<HeaderMap, SignatureError> {
    // keyId travels inside a quoted string; refuse rather than escape, since not every
    // receiver unescapes.
    if key_id.is_empty() || key_id.contains(['"', '\\']) || key_id.chars().any(char::is_control) {
        return Err(malformed(format!(
            "keyId cannot be sent as a quoted parameter: {}",
            excerpt(key_id)
        )));
    }
    let host = url
        .host_str()
        .ok_or_else(|| malformed(format!("URL has no host: {}", excerpt(url.as_str()))))?;
    // `Url` already drops a default port (":443" on https), so `port()` is only an explicit one.
    let host = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let path_and_query = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };

    let mut headers = HeaderMap::new();
    headers.insert(HOST, to_header_value(&host)?);
    headers.insert(
        DATE,
        to_header_value(&httpdate::fmt_http_date(SystemTime::from(now)))?,
    );
    let covered: &[&str] = match body {
        Some(body) => {
            headers.insert(
                HeaderName::from_static(DIGEST_HEADER),
                to_header_value(&digest_header(body))?,
            );
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(ACTIVITY_JSON));
            &COVERED_WITH_BODY
        }
        None => &COVERED_WITHOUT_BODY,
    };
    let covered: Vec<String> = covered.iter().map(|name| (*name).to_owned()).collect();

    let signed = signing_string(method, &path_and_query, &headers, &covered, None, None)?;
    // aws-lc signs in constant time, which closes the `rsa` crate's timing side
    // channel (RUSTSEC-2023-0071; see docs/security.md).
    let signature = private_key.sign(signed.as_bytes())?;
    let value = format!(
        r#"keyId="{key_id}",algorithm="rsa-sha256",headers="{}",signature="{}""#,
        covered.join(" "),
        BASE64.encode(signature)
    );
    headers.insert(
        HeaderName::from_static(SIGNATURE_HEADER),
        to_header_value(&value)?,
    );
    Ok(headers)
}

fn to_header_value(value: &str) -> Result<HeaderValue, SignatureError> {
    HeaderValue::from_str(value)
        .map_err(|_| malformed(format!("not a valid header value: {}", excerpt(value))))
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use chrono::TimeZone as _;
    use rsa::pkcs1::{EncodeRsaPrivateKey as _, EncodeRsaPublicKey as _};
    use rsa::pkcs1v15::Pkcs1v15Sign;
    use rsa::pkcs8::{EncodePublicKey as _, LineEnding};
    use rsa::rand_core::OsRng;

    use super::*;

    // --- Fixtures -----------------------------------------------------------------------------

    /// One RSA-2048 key for the whole test run: key generation is the slow part.
    fn generated_key() -> &'static RsaPrivateKey {
        static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
        KEY.get_or_init(|| RsaPrivateKey::new(&mut OsRng, 2048).expect("RSA key generation"))
    }

    fn generated_public_pem() -> String {
        generated_key()
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("encode public key")
    }

    /// Test-only key made with `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`;
    /// it protects nothing.
    const KAT_PRIVATE_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCxla+quO/qnq5P
HGbsVd2v1szJ+W9vCGjQ/UVXJo3M5QJ3NMtAJrCOPWNHFSOPBvBVnE7WQ2hLIHJA
RZXxu5wdV357R19Y5txeoQB2CYVzJjrCJ9EwU9+tf9XR9TobCtbmoDk0DPg0/wmH
GmKcHPHfgIyrhTwQ/R9JGcM9aFMufVZSLdEu5orHsxCftgi5W/TDdwukkyvTXGkQ
UooEoVYme0U+1YxGEkQXxgO+sy2b1gzvI7Ls3EfXt7bLQBAUprXwnpYaeV0DTVGF
XgUPmpXDPLIDoB78cIrEpa3x2/d+1prBoKElcfLuW9A/D7OA9XnT36QNAvkXIQKH
LmkY4g5nAgMBAAECggEAPKC8gR4zdpfnLcYmE2C7V0mP0BLTKwaldlhJoJfeiInU
/iqti4DJ/T3TE5URd0aoram4Nql7xU5WA0BekVF6WoAhA+iZkkn7CWmRNTtJ7sap
/9hFMGkqL9s5fj1pMYtRVBp2fSFCaiF6OMBW0zKEl0gVfod1ut0YHcZoZCImZ/O7
5cdRaBSz5gXwX02An1winOMzk9NZbFHdOfpVT1d0AowUDx7EbquMBlcsAn+j2r8/
dV/8ZGENgYqG6a0upjXUIB8w1fLg6D66sH3o3ko/Q6T/GM+JgakNuMhAF8rIFXL+
qZNgfvGLE1MWqV+l6W8uMeXKDsT7ruR6oDAhQbKyNQKBgQDcem/AyxAOyFiOqXC3
IJlw0IXFYfs/eSYmMvYco3wkzi74M753+/sHFPFSEd+xv9UB9wUowFF0vL56q794
wv3yy6DhlnGjIAwwkdW9DTA83Yx7Kr31LPAmKmfi91B7V6vjYab0dn+AONAbzohK
kP75nP4u9SQpgcbWBds7gnlYdQKBgQDOMh38/e6XkDwQEc/n6wE6JQwfYCRn8sPj
9V1lgXKXVF9g67sQueAa0bLIac+bV5y4d9qaKkh/vx1FTADZAC2bWHC1+RNEQVfC
zTUkfJlR8pvPpW3WtT4M29kKJDvXaJVSdY81rPkSkpno5N0R44Tj2M7dhSAtYJfa
9AqJODMP6wKBgHSi2OfXBOGtHxwpixV1y3ag+YOX+AB2KLZgk05HNm+KG9L2HLcA
uKXgcGGITxyLbTYi5bnPM8hb6TCgFyTdktaU3sE4g1lWpNw06iufBHvOgHjP/bns
Ugb+vAKX7x2xHZ+mk1oULhM4+u8a7YL0/c4zPUy+JqlGnFewtW/f8C3ZAoGADwky
jJ9Lxbub1aQm4AeQCFhpQOR24ymdxULAM8WzwHtDlUK7WmXjhLEj819b5z0FTaJX
y4Qn00DxdnsrWKedq8VQOsTV9dU5/BeQt39qgsJJQGQU1WJUCwYBFq87ueKDeQbf
kY9yfjs4g/YkdMh9iUvnEdpCVWzExg+jsQvrFU8CgYB8xfGPVDL6WB2sux1TM7P2
G/Jiqb+Ee4XYlGWjcuLvLd50XKIcCh8Sp/Kvb4Du3s+3fd8ZwSo9p0zidrM+tAIm
6AAeMCA/RCSGk1r0Hb29g2k1Dm2JLO9y2x278aHgc2JfMh+X6b2wBDiY9NIIXGEy
cV/DS+U32WxG5MG0HUvp4w==
-----END PRIVATE KEY-----
";

    /// The public half of [`KAT_PRIVATE_PEM`] as SPKI (`openssl pkey -pubout`).
    const KAT_PUBLIC_SPKI_PEM: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAsZWvqrjv6p6uTxxm7FXd
r9bMyflvbwho0P1FVyaNzOUCdzTLQCawjj1jRxUjjwbwVZxO1kNoSyByQEWV8buc
HVd+e0dfWObcXqEAdgmFcyY6wifRMFPfrX/V0fU6GwrW5qA5NAz4NP8JhxpinBzx
34CMq4U8EP0fSRnDPWhTLn1WUi3RLuaKx7MQn7YIuVv0w3cLpJMr01xpEFKKBKFW
JntFPtWMRhJEF8YDvrMtm9YM7yOy7NxH17e2y0AQFKa18J6WGnldA01RhV4FD5qV
wzyyA6Ae/HCKxKWt8dv3ftaawaChJXHy7lvQPw+zgPV509+kDQL5FyEChy5pGOIO
ZwIDAQAB
-----END PUBLIC KEY-----
";

    /// The same public key as PKCS#1 (`openssl rsa -RSAPublicKey_out`).
    const KAT_PUBLIC_PKCS1_PEM: &str = "-----BEGIN RSA PUBLIC KEY-----
MIIBCgKCAQEAsZWvqrjv6p6uTxxm7FXdr9bMyflvbwho0P1FVyaNzOUCdzTLQCaw
jj1jRxUjjwbwVZxO1kNoSyByQEWV8bucHVd+e0dfWObcXqEAdgmFcyY6wifRMFPf
rX/V0fU6GwrW5qA5NAz4NP8JhxpinBzx34CMq4U8EP0fSRnDPWhTLn1WUi3RLuaK
x7MQn7YIuVv0w3cLpJMr01xpEFKKBKFWJntFPtWMRhJEF8YDvrMtm9YM7yOy7NxH
17e2y0AQFKa18J6WGnldA01RhV4FD5qVwzyyA6Ae/HCKxKWt8dv3ftaawaChJXHy
7lvQPw+zgPV509+kDQL5FyEChy5pGOIOZwIDAQAB
-----END RSA PUBLIC KEY-----
";

    /// A Mastodon-style `Follow` delivered to `POST /inbox` on 2025-01-07 10:00:00 UTC.
    const KAT_BODY: &str = r#"{"@context":"https://www.w3.org/ns/activitystreams","id":"https://mastodon.example/users/alice#follows/1","type":"Follow","actor":"https://mastodon.example/users/alice","object":"https://maillage.example/collectivites/75056"}"#;
    /// `openssl dgst -sha256 -binary body | base64`.
    const KAT_DIGEST: &str = "SHA-256=V/vRqosnV5LeFugNicWpboh84+GbF+EqCmoYeo1bMZc=";
    const KAT_DATE: &str = "Tue, 07 Jan 2025 10:00:00 GMT";
    /// `openssl dgst -sha256 -sign key.pem signing.txt | base64` over the signing string of
    /// [`kat_headers`], i.e. what Mastodon (Ruby + OpenSSL) would send.
    const KAT_SIGNATURE: &str = "bqxBwvpp1fAuu8IW5JGI1gzODMSIQORi5148HO3cyfuSRVqq/MHMGe4FFPdWYoq7x8bUqbZw52WFXyTWnfpp9fho/1TlCBXQVgiory717ipCzpHPiveAJnKN+ztqFRG/so4hOc/mFsuWgVwjvFENw4eKo8i6MwuxF+WTizLGAuzVaZdvzyaExVWp/0eZgqDXJFv9X6qBZs3/aLV4l7MphCZ+Iu0fUENSq4SaHRznsvTFUngTNdM262ewjHdV5WquLri50H7zTxc3K2NAKIuUl4o7IZBbIwsnUhKZqquXz9Ja1zchu7ARKyCFAk4zVLO/IDMp/7b3woComCdk36uAjw==";

    fn kat_now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 1, 7, 10, 0, 0)
            .single()
            .expect("valid date")
    }

    fn kat_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static("maillage.example"));
        headers.insert(DATE, HeaderValue::from_static(KAT_DATE));
        headers.insert("digest", HeaderValue::from_static(KAT_DIGEST));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(ACTIVITY_JSON));
        headers
    }

    fn kat_signature_header(signature_b64: &str) -> SignatureHeader {
        SignatureHeader::parse(&format!(
            r#"keyId="https://mastodon.example/users/alice#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest content-type",signature="{signature_b64}""#
        ))
        .expect("KAT header parses")
    }

    fn inbox_url() -> Url {
        Url::parse("https://maillage.example/inbox").expect("static URL")
    }

    const KEY_ID: &str = "https://sender.example/users/alice#main-key";

    /// Turns the headers returned by [`sign_request`] into a parsed signature, as a receiver
    /// would see them.
    fn received_signature(headers: &HeaderMap) -> SignatureHeader {
        SignatureHeader::from_request_headers(headers).expect("signature header parses")
    }

    /// Signs an arbitrary covered-header list, for cases `sign_request` never produces.
    fn sign_custom(
        path_and_query: &str,
        headers: &HeaderMap,
        params: &str,
        covered: &[&str],
        created: Option<i64>,
    ) -> SignatureHeader {
        let covered: Vec<String> = covered.iter().map(|h| (*h).to_owned()).collect();
        let signed = signing_string("POST", path_and_query, headers, &covered, created, None)
            .expect("signing string");
        let signature = generated_key()
            .sign(
                Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(signed.as_bytes()),
            )
            .expect("sign");
        SignatureHeader::parse(&format!(
            r#"keyId="{KEY_ID}",{params}headers="{}",signature="{}""#,
            covered.join(" "),
            BASE64.encode(signature)
        ))
        .expect("custom header parses")
    }

    // --- Digest -------------------------------------------------------------------------------

    #[test]
    fn digest_header_matches_known_sha256() {
        // SHA-256 of the empty string, a well-known constant.
        assert_eq!(
            digest_header(b""),
            "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        assert_eq!(digest_header(KAT_BODY.as_bytes()), KAT_DIGEST);
    }

    #[test]
    fn verify_digest_accepts_sha256_among_several_algorithms() {
        let body = KAT_BODY.as_bytes();
        let sha256 = digest_header(body);
        assert_eq!(verify_digest(&sha256, body), Ok(()));
        let lowercase = sha256.replacen("SHA-256", "sha-256", 1);
        assert_eq!(verify_digest(&lowercase, body), Ok(()));
        let several = format!("SHA-512=AAAA, {sha256} ,");
        assert_eq!(verify_digest(&several, body), Ok(()));
    }

    #[test]
    fn verify_digest_refuses_mismatch_and_odd_headers() {
        let body = KAT_BODY.as_bytes();
        assert_eq!(
            verify_digest(&digest_header(b"other body"), body),
            Err(SignatureError::DigestMismatch)
        );
        assert!(matches!(
            verify_digest("SHA-512=AAAA", body),
            Err(SignatureError::UnsupportedAlgorithm(_))
        ));
        assert_eq!(verify_digest("  ", body), Err(SignatureError::Missing));
        assert!(matches!(
            verify_digest("SHA-256", body),
            Err(SignatureError::Malformed(_))
        ));
        assert!(matches!(
            verify_digest("SHA-256=not base64!", body),
            Err(SignatureError::Malformed(_))
        ));
        let twice = format!("{},{}", digest_header(body), digest_header(b"x"));
        assert!(matches!(
            verify_digest(&twice, body),
            Err(SignatureError::Malformed(_))
        ));
    }

    // --- Round trips --------------------------------------------------------------------------

    #[test]
    fn post_round_trip_verifies() {
        let body = br#"{"type":"Create"}"#;
        let now = kat_now();
        let headers = sign_request(
            "POST",
            &inbox_url(),
            Some(body),
            KEY_ID,
            generated_key(),
            now,
        )
        .expect("sign");

        assert_eq!(
            headers.get(HOST).map(HeaderValue::as_bytes),
            Some(&b"maillage.example"[..])
        );
        assert_eq!(
            headers.get(DATE).map(HeaderValue::as_bytes),
            Some(KAT_DATE.as_bytes())
        );
        assert_eq!(
            headers.get(CONTENT_TYPE).map(HeaderValue::as_bytes),
            Some(ACTIVITY_JSON.as_bytes())
        );
        let signature = received_signature(&headers);
        assert_eq!(signature.key_id, KEY_ID);
        assert_eq!(signature.algorithm.as_deref(), Some("rsa-sha256"));
        assert_eq!(
            signature.headers,
            ["(request-target)", "host", "date", "digest", "content-type"]
        );

        let digest = headers
            .get(DIGEST_HEADER)
            .and_then(|v| v.to_str().ok())
            .expect("digest header");
        assert_eq!(verify_digest(digest, body), Ok(()));
        let pem = generated_public_pem();
        assert_eq!(
            verify_request(
                "POST",
                "/inbox",
                &headers,
                &signature,
                &pem,
                &POST_POLICY,
                now
            ),
            Ok(())
        );
        // Verification tolerates clock skew within the window, both ways.
        let later = now + chrono::Duration::minutes(59);
        let earlier = now - chrono::Duration::minutes(59);
        for at in [later, earlier] {
            assert_eq!(
                verify_request(
                    "POST",
                    "/inbox",
                    &headers,
                    &signature,
                    &pem,
                    &POST_POLICY,
                    at
                ),
                Ok(())
            );
        }
    }

    #[test]
    fn get_round_trip_includes_query_and_port() {
        let url = Url::parse("http://localhost:8080/users/a/outbox?page=true&min_id=3")
            .expect("static URL");
        let now = kat_now();
        let headers = sign_request("GET", &url, None, KEY_ID, generated_key(), now).expect("sign");

        assert_eq!(
            headers.get(HOST).map(HeaderValue::as_bytes),
            Some(&b"localhost:8080"[..])
        );
        assert!(headers.get(DIGEST_HEADER).is_none());
        assert!(headers.get(CONTENT_TYPE).is_none());
        let signature = received_signature(&headers);
        assert_eq!(signature.headers, ["(request-target)", "host", "date"]);
        let key = VerifyingKey::from_rsa(&generated_key().to_public_key()).unwrap();
        assert_eq!(
            verify_with_key(
                "GET",
                "/users/a/outbox?page=true&min_id=3",
                &headers,
                &signature,
                &key,
                &GET_POLICY,
                now
            ),
            Ok(())
        );
        // The query is signed: another page is not covered by this signature.
        assert_eq!(
            verify_with_key(
                "GET",
                "/users/a/outbox?page=true&min_id=4",
                &headers,
                &signature,
                &key,
                &GET_POLICY,
                now
            ),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn default_https_port_is_not_in_host() {
        let url = Url::parse("https://maillage.example:443/inbox").expect("static URL");
        let headers =
            sign_request("GET", &url, None, KEY_ID, generated_key(), kat_now()).expect("sign");
        assert_eq!(
            headers.get(HOST).map(HeaderValue::as_bytes),
            Some(&b"maillage.example"[..])
        );
    }

    #[test]
    fn tampered_body_fails_digest_check() {
        let headers = sign_request(
            "POST",
            &inbox_url(),
            Some(b"original"),
            KEY_ID,
            generated_key(),
            kat_now(),
        )
        .expect("sign");
        let digest = headers
            .get(DIGEST_HEADER)
            .and_then(|v| v.to_str().ok())
            .expect("digest header");
        assert_eq!(
            verify_digest(digest, b"tampered"),
            Err(SignatureError::DigestMismatch)
        );
    }

    #[test]
    fn tampered_path_or_method_is_invalid() {
        let now = kat_now();
        let headers = sign_request(
            "POST",
            &inbox_url(),
            Some(b"{}"),
            KEY_ID,
            generated_key(),
            now,
        )
        .expect("sign");
        let signature = received_signature(&headers);
        let key = VerifyingKey::from_rsa(&generated_key().to_public_key()).unwrap();
        assert_eq!(
            verify_with_key(
                "POST",
                "/users/bob/inbox",
                &headers,
                &signature,
                &key,
                &POST_POLICY,
                now
            ),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            verify_with_key(
                "PUT",
                "/inbox",
                &headers,
                &signature,
                &key,
                &POST_POLICY,
                now
            ),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn tampered_signed_header_is_invalid() {
        let now = kat_now();
        let mut headers = sign_request(
            "POST",
            &inbox_url(),
            Some(b"{}"),
            KEY_ID,
            generated_key(),
            now,
        )
        .expect("sign");
        let signature = received_signature(&headers);
        headers.insert(HOST, HeaderValue::from_static("other.example"));
        let key = VerifyingKey::from_rsa(&generated_key().to_public_key()).unwrap();
        assert_eq!(
            verify_with_key(
                "POST",
                "/inbox",
                &headers,
                &signature,
                &key,
                &POST_POLICY,
                now
            ),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn signature_from_another_key_is_invalid() {
        let now = kat_now();
        let headers = sign_request(
            "POST",
            &inbox_url(),
            Some(b"{}"),
            KEY_ID,
            generated_key(),
            now,
        )
        .expect("sign");
        let signature = received_signature(&headers);
        assert_eq!(
            verify_request(
                "POST",
                "/inbox",
                &headers,
                &signature,
                KAT_PUBLIC_SPKI_PEM,
                &POST_POLICY,
                now
            ),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn stale_or_future_date_is_out_of_window() {
        let now = kat_now();
        let headers = sign_request(
            "POST",
            &inbox_url(),
            Some(b"{}"),
            KEY_ID,
            generated_key(),
            now,
        )
        .expect("sign");
        let signature = received_signature(&headers);
        let key = VerifyingKey::from_rsa(&generated_key().to_public_key()).unwrap();
        for at in [
            now + chrono::Duration::hours(2),
            now - chrono::Duration::hours(2),
        ] {
            assert_eq!(
                verify_with_key(
                    "POST",
                    "/inbox",
                    &headers,
                    &signature,
                    &key,
                    &POST_POLICY,
                    at
                ),
                Err(SignatureError::DateOutOfWindow)
            );
        }
    }

    #[test]
    fn cheap_checks_need_no_key() {
        let now = kat_now();
        let headers = sign_request(
            "POST",
            &inbox_url(),
            Some(b"{}"),
            KEY_ID,
            generated_key(),
            now,
        )
        .expect("sign");
        let signature = received_signature(&headers);
        assert_eq!(
            check_coverage_and_date(&headers, &signature, &POST_POLICY, now),
            Ok(())
        );
        assert_eq!(
            check_coverage_and_date(
                &headers,
                &signature,
                &POST_POLICY,
                now + chrono::Duration::hours(2)
            ),
            Err(SignatureError::DateOutOfWindow)
        );
        let mut partial = signature.clone();
        partial.headers.retain(|h| h != "host");
        assert_eq!(
            check_coverage_and_date(&headers, &partial, &POST_POLICY, now),
            Err(SignatureError::MissingHeader("host".to_owned()))
        );
    }

    #[test]
    fn unreadable_date_is_malformed() {
        let now = kat_now();
        let mut headers =
            sign_request("GET", &inbox_url(), None, KEY_ID, generated_key(), now).expect("sign");
        headers.insert(DATE, HeaderValue::from_static("yesterday"));
        let signature = received_signature(&headers);
        let key = VerifyingKey::from_rsa(&generated_key().to_public_key()).unwrap();
        assert!(matches!(
            verify_with_key(
                "GET",
                "/inbox",
                &headers,
                &signature,
                &key,
                &GET_POLICY,
                now
            ),
            Err(SignatureError::Malformed(_))
        ));
    }

    #[test]
    fn post_without_signed_digest_is_refused() {
        let now = kat_now();
        // A GET-style signature replayed on a POST: valid, but it does not bind the body.
        let mut headers =
            sign_request("POST", &inbox_url(), None, KEY_ID, generated_key(), now).expect("sign");
        headers.insert("digest", HeaderValue::from_static(KAT_DIGEST));
        let signature = received_signature(&headers);
        let key = VerifyingKey::from_rsa(&generated_key().to_public_key()).unwrap();
        assert_eq!(
            verify_with_key(
                "POST",
                "/inbox",
                &headers,
                &signature,
                &key,
                &POST_POLICY,
                now
            ),
            Err(SignatureError::MissingHeader("digest".to_owned()))
        );
        // The same request passes the GET policy, proving only coverage was at fault.
        assert_eq!(
            verify_with_key(
                "POST",
                "/inbox",
                &headers,
                &signature,
                &key,
                &GET_POLICY,
                now
            ),
            Ok(())
        );
    }

    #[test]
    fn covered_but_absent_header_is_missing() {
        let now = kat_now();
        let mut headers = sign_request(
            "POST",
            &inbox_url(),
            Some(b"{}"),
            KEY_ID,
            generated_key(),
            now,
        )
        .expect("sign");
        headers.remove(CONTENT_TYPE);
        let signature = received_signature(&headers);
        let key = VerifyingKey::from_rsa(&generated_key().to_public_key()).unwrap();
        assert_eq!(
            verify_with_key(
                "POST",
                "/inbox",
                &headers,
                &signature,
                &key,
                &POST_POLICY,
                now
            ),
            Err(SignatureError::MissingHeader("content-type".to_owned()))
        );
    }

    #[test]
    fn hs2019_with_created_replaces_date() {
        let now = kat_now();
        let created = now.timestamp() - 30;
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static("maillage.example"));
        headers.insert("digest", HeaderValue::from_static(KAT_DIGEST));
        // No Date header at all: `(created)` is the signed time reference.
        let signature = sign_custom(
            "/inbox",
            &headers,
            &format!("algorithm=\"hs2019\",created={created},"),
            &["(request-target)", "(created)", "host", "digest"],
            Some(created),
        );
        assert_eq!(signature.algorithm.as_deref(), Some("hs2019"));
        let key = VerifyingKey::from_rsa(&generated_key().to_public_key()).unwrap();
        assert_eq!(
            verify_with_key(
                "POST",
                "/inbox",
                &headers,
                &signature,
                &key,
                &POST_POLICY,
                now
            ),
            Ok(())
        );
        assert_eq!(
            verify_with_key(
                "POST",
                "/inbox",
                &headers,
                &signature,
                &key,
                &POST_POLICY,
                now + chrono::Duration::hours(2)
            ),
            Err(SignatureError::DateOutOfWindow)
        );
    }

    #[test]
    fn hs2019_with_date_header_is_accepted() {
        let now = kat_now();
        let headers = kat_headers();
        let signature = sign_custom(
            "/inbox",
            &headers,
            "algorithm=\"hs2019\",",
            &["(request-target)", "host", "date", "digest"],
            None,
        );
        let key = VerifyingKey::from_rsa(&generated_key().to_public_key()).unwrap();
        assert_eq!(
            verify_with_key(
                "POST",
                "/inbox",
                &headers,
                &signature,
                &key,
                &POST_POLICY,
                now
            ),
            Ok(())
        );
    }

    #[test]
    fn created_is_refused_with_rsa_sha256() {
        let now = kat_now();
        let created = now.timestamp();
        let headers = kat_headers();
        let signature = sign_custom(
            "/inbox",
            &headers,
            &format!("algorithm=\"rsa-sha256\",created={created},"),
            &["(request-target)", "(created)", "host", "date", "digest"],
            Some(created),
        );
        let key = VerifyingKey::from_rsa(&generated_key().to_public_key()).unwrap();
        assert!(matches!(
            verify_with_key(
                "POST",
                "/inbox",
                &headers,
                &signature,
                &key,
                &POST_POLICY,
                now
            ),
            Err(SignatureError::Malformed(_))
        ));
    }

    #[test]
    fn passed_expiry_is_out_of_window() {
        let now = kat_now();
        let created = now.timestamp() - 600;
        let expires = now.timestamp() - 2 * 3600;
        let headers = kat_headers();
        let covered: Vec<String> = [
            "(request-target)",
            "(created)",
            "(expires)",
            "host",
            "date",
            "digest",
        ]
        .iter()
        .map(|h| (*h).to_owned())
        .collect();
        let signed = signing_string(
            "POST",
            "/inbox",
            &headers,
            &covered,
            Some(created),
            Some(expires),
        )
        .expect("signing string");
        let raw = generated_key()
            .sign(
                Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(signed.as_bytes()),
            )
            .expect("sign");
        let signature = SignatureHeader::parse(&format!(
            r#"keyId="{KEY_ID}",algorithm="hs2019",created={created},expires={expires},headers="{}",signature="{}""#,
            covered.join(" "),
            BASE64.encode(raw)
        ))
        .expect("parses");
        let key = VerifyingKey::from_rsa(&generated_key().to_public_key()).unwrap();
        assert_eq!(
            verify_with_key(
                "POST",
                "/inbox",
                &headers,
                &signature,
                &key,
                &POST_POLICY,
                now
            ),
            Err(SignatureError::DateOutOfWindow)
        );
    }

    #[test]
    fn unknown_algorithm_is_refused() {
        for algorithm in ["hmac-sha256", "ecdsa-sha256", "rsa-sha1", "ed25519", ""] {
            let header = format!(r#"keyId="{KEY_ID}",algorithm="{algorithm}",signature="AAAA""#);
            assert!(
                matches!(
                    SignatureHeader::parse(&header),
                    Err(SignatureError::UnsupportedAlgorithm(_))
                ),
                "{algorithm} should be refused"
            );
        }
        // Also when a caller builds the struct by hand.
        let headers = kat_headers();
        let mut signature = kat_signature_header(KAT_SIGNATURE);
        signature.algorithm = Some("hmac-sha256".to_owned());
        let key = VerifyingKey::from_pem(KAT_PUBLIC_SPKI_PEM).expect("key");
        assert!(matches!(
            verify_with_key(
                "POST",
                "/inbox",
                &headers,
                &signature,
                &key,
                &POST_POLICY,
                kat_now()
            ),
            Err(SignatureError::UnsupportedAlgorithm(_))
        ));
    }

    #[test]
    fn algorithm_is_case_insensitive() {
        let header = format!(r#"keyId="{KEY_ID}",algorithm="RSA-SHA256",signature="AAAA""#);
        let parsed = SignatureHeader::parse(&header).expect("parses");
        assert_eq!(parsed.algorithm.as_deref(), Some("rsa-sha256"));
    }

    #[test]
    fn query_less_signature_is_accepted_like_mastodon() {
        let now = kat_now();
        let headers = sign_request(
            "GET",
            &Url::parse("https://maillage.example/users/a/outbox").expect("static URL"),
            None,
            KEY_ID,
            generated_key(),
            now,
        )
        .expect("sign");
        let signature = received_signature(&headers);
        let key = VerifyingKey::from_rsa(&generated_key().to_public_key()).unwrap();
        assert_eq!(
            verify_with_key(
                "GET",
                "/users/a/outbox?page=1",
                &headers,
                &signature,
                &key,
                &GET_POLICY,
                now
            ),
            Ok(())
        );
    }

    // --- Known answer (OpenSSL, as Mastodon signs) --------------------------------------------

    #[test]
    fn known_answer_from_openssl_verifies_and_reproduces() {
        let headers = kat_headers();
        let covered: Vec<String> = COVERED_WITH_BODY.iter().map(|h| (*h).to_owned()).collect();
        let signed = signing_string("POST", "/inbox", &headers, &covered, None, None)
            .expect("signing string");
        assert_eq!(
            signed,
            format!(
                "(request-target): post /inbox\nhost: maillage.example\ndate: {KAT_DATE}\n\
                 digest: {KAT_DIGEST}\ncontent-type: application/activity+json"
            )
        );

        // PKCS#1 v1.5 is deterministic: our signature must equal OpenSSL's byte for byte.
        let private = parse_private_key(KAT_PRIVATE_PEM).expect("KAT private key");
        let ours = private
            .sign(
                Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(signed.as_bytes()),
            )
            .expect("sign");
        assert_eq!(BASE64.encode(ours), KAT_SIGNATURE);

        assert_eq!(verify_digest(KAT_DIGEST, KAT_BODY.as_bytes()), Ok(()));
        let signature = kat_signature_header(KAT_SIGNATURE);
        for pem in [KAT_PUBLIC_SPKI_PEM, KAT_PUBLIC_PKCS1_PEM] {
            assert_eq!(
                verify_request(
                    "POST",
                    "/inbox",
                    &headers,
                    &signature,
                    pem,
                    &POST_POLICY,
                    kat_now()
                ),
                Ok(())
            );
        }

        // One flipped bit in the signature…
        let mut flipped = signature.clone();
        flipped.signature[100] ^= 0x01;
        assert_eq!(
            verify_request(
                "POST",
                "/inbox",
                &headers,
                &flipped,
                KAT_PUBLIC_SPKI_PEM,
                &POST_POLICY,
                kat_now()
            ),
            Err(SignatureError::Invalid)
        );
        // …or one changed byte in a signed header fails.
        let mut altered = kat_headers();
        altered.insert(HOST, HeaderValue::from_static("maillage.exampla"));
        assert_eq!(
            verify_request(
                "POST",
                "/inbox",
                &altered,
                &signature,
                KAT_PUBLIC_SPKI_PEM,
                &POST_POLICY,
                kat_now()
            ),
            Err(SignatureError::Invalid)
        );
    }

    // --- Header parsing -----------------------------------------------------------------------

    #[test]
    fn parse_handles_spacing_order_quotes_and_unknown_params() {
        let header = r#"  signature = "AAAA" ,headers="(request-target)  Host DATE",extra="a, b=c",keyId="https://ex.org/users/a,b#main-key", algorithm="hs2019",created=1736244000,expires="1736247600" "#;
        let parsed = SignatureHeader::parse(header).expect("parses");
        assert_eq!(parsed.key_id, "https://ex.org/users/a,b#main-key");
        assert_eq!(parsed.algorithm.as_deref(), Some("hs2019"));
        assert_eq!(parsed.headers, ["(request-target)", "host", "date"]);
        assert_eq!(parsed.signature, [0, 0, 0]);
        assert_eq!(parsed.created, Some(1_736_244_000));
        assert_eq!(parsed.expires, Some(1_736_247_600));
    }

    #[test]
    fn parse_unescapes_quoted_pairs_and_accepts_unpadded_base64() {
        let parsed = SignatureHeader::parse(r#"keyId="a\"b",signature="AAE""#).expect("parses");
        assert_eq!(parsed.key_id, "a\"b");
        assert_eq!(parsed.signature, [0, 1]);
    }

    #[test]
    fn parse_defaults_headers_like_mastodon() {
        let rsa = SignatureHeader::parse(r#"keyId="k",algorithm="rsa-sha256",signature="AAAA""#)
            .expect("parses");
        assert_eq!(rsa.headers, ["date"]);
        let hs2019 = SignatureHeader::parse(r#"keyId="k",algorithm="hs2019",signature="AAAA""#)
            .expect("parses");
        assert_eq!(hs2019.headers, ["(created)"]);
        let unspecified = SignatureHeader::parse(r#"keyId="k",signature="AAAA""#).expect("parses");
        assert_eq!(unspecified.headers, ["(created)"]);
        assert_eq!(unspecified.algorithm, None);
    }

    #[test]
    fn parse_refuses_malformed_headers() {
        let cases = [
            r#"algorithm="rsa-sha256",signature="AAAA""#, // no keyId
            r#"keyId="",signature="AAAA""#,               // empty keyId
            r#"keyId="k""#,                               // no signature
            r#"keyId="k",signature="""#,                  // empty signature
            r#"keyId="k",signature="!!not base64!!""#,    // bad base64
            r#"keyId="k",keyId="other",signature="AAAA""#, // duplicate
            r#"keyId="k",KEYID="other",signature="AAAA""#, // duplicate, other case
            r#"keyId="k",signature="AAAA",headers="   ""#, // empty headers list
            r#"keyId="k,signature="AAAA""#,               // unterminated quote
            r#"keyId="k" signature="AAAA""#,              // missing comma
            r#"keyId="k",signature="AAAA",created=-5"#,   // negative timestamp
            r#"keyId="k",signature="AAAA",created=1.5"#,  // not an integer
            r#"keyId="k",signature="AAAA",expires=99999999999999999999"#, // overflow
            r#"keyId="k",signature"#,                     // no value
            r#"keyId="k",signature="#,                    // empty bare value
            r#"="k""#,                                    // no name
            "garbage",
            "Signature keyId=\"k\",signature=\"AAAA\"", // auth scheme belongs to Authorization
            "\u{0}\u{1}\"",
        ];
        for case in cases {
            assert!(
                matches!(
                    SignatureHeader::parse(case),
                    Err(SignatureError::Malformed(_))
                ),
                "should be malformed: {case:?} -> {:?}",
                SignatureHeader::parse(case)
            );
        }
        assert_eq!(SignatureHeader::parse(""), Err(SignatureError::Missing));
        assert_eq!(SignatureHeader::parse(" \t "), Err(SignatureError::Missing));
    }

    #[test]
    fn from_request_headers_reads_signature_or_authorization() {
        let mut headers = HeaderMap::new();
        assert_eq!(
            SignatureHeader::from_request_headers(&headers),
            Err(SignatureError::Missing)
        );
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_static(r#"Signature keyId="k",signature="AAAA""#),
        );
        let parsed = SignatureHeader::from_request_headers(&headers).expect("parses");
        assert_eq!(parsed.key_id, "k");

        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert_eq!(
            SignatureHeader::from_request_headers(&headers),
            Err(SignatureError::Missing)
        );

        headers.append(
            "signature",
            HeaderValue::from_static(r#"keyId="a",signature="AAAA""#),
        );
        assert_eq!(
            SignatureHeader::from_request_headers(&headers).map(|s| s.key_id),
            Ok("a".to_owned())
        );
        headers.append(
            "signature",
            HeaderValue::from_static(r#"keyId="b",signature="AAAA""#),
        );
        assert!(matches!(
            SignatureHeader::from_request_headers(&headers),
            Err(SignatureError::Malformed(_))
        ));
    }

    #[test]
    fn key_owner_strips_fragment_and_requires_http() {
        let owner = |key_id: &str| {
            SignatureHeader::parse(&format!(r#"keyId="{key_id}",signature="AAAA""#))
                .expect("parses")
                .key_owner()
        };
        assert_eq!(
            owner("https://ex.org/users/a#main-key").map(String::from),
            Ok("https://ex.org/users/a".to_owned())
        );
        assert_eq!(
            owner("http://ex.org:8080/users/a?x=1#k").map(String::from),
            Ok("http://ex.org:8080/users/a?x=1".to_owned())
        );
        assert!(
            owner(&format!("https://ex.org/{}", "a".repeat(3000))).is_err(),
            "a keyId over 2 048 bytes"
        );
        assert_eq!(
            owner("https://gts.example/users/a/main-key").map(String::from),
            Ok("https://gts.example/users/a/main-key".to_owned())
        );
        for bad in [
            "ftp://ex.org/a#k",
            "acct:alice@ex.org",
            "urn:uuid:1234",
            "/users/a#k",
            "main-key",
        ] {
            assert!(
                matches!(owner(bad), Err(SignatureError::Malformed(_))),
                "{bad} should be refused"
            );
        }
    }

    // --- Signing string -----------------------------------------------------------------------

    #[test]
    fn signing_string_joins_values_and_reports_missing_headers() {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static("ex.org"));
        headers.append("x-example", HeaderValue::from_static("one"));
        headers.append("x-example", HeaderValue::from_static(" two "));
        let covered: Vec<String> = ["(request-target)", "Host", "X-Example", "(created)"]
            .iter()
            .map(|h| (*h).to_owned())
            .collect();
        assert_eq!(
            signing_string("GET", "/a?b=c", &headers, &covered, Some(1_402_170_695), None),
            Ok("(request-target): get /a?b=c\nhost: ex.org\nx-example: one, two\n(created): 1402170695".to_owned())
        );
        assert_eq!(
            signing_string("GET", "/a", &headers, &covered, None, None),
            Err(SignatureError::MissingHeader("(created)".to_owned()))
        );
        let with_date = ["date".to_owned()];
        assert_eq!(
            signing_string("GET", "/a", &headers, &with_date, None, None),
            Err(SignatureError::MissingHeader("date".to_owned()))
        );
        let target = ["(request-target)".to_owned()];
        assert!(matches!(
            signing_string("GET", "/a\nhost: evil", &headers, &target, None, None),
            Err(SignatureError::Malformed(_))
        ));
        let bad_name = ["bad name".to_owned()];
        assert!(matches!(
            signing_string("GET", "/a", &headers, &bad_name, None, None),
            Err(SignatureError::Malformed(_))
        ));
    }

    // --- Keys ---------------------------------------------------------------------------------

    #[test]
    fn keys_parse_in_both_encodings() {
        let spki = parse_public_key(KAT_PUBLIC_SPKI_PEM).expect("SPKI");
        let pkcs1 = parse_public_key(KAT_PUBLIC_PKCS1_PEM).expect("PKCS#1");
        assert_eq!(spki, pkcs1);

        let private = generated_key();
        let pkcs1_private = private.to_pkcs1_pem(LineEnding::CRLF).expect("encode");
        assert_eq!(parse_private_key(&pkcs1_private).as_ref(), Ok(private));
        let pkcs1_public = private
            .to_public_key()
            .to_pkcs1_pem(LineEnding::LF)
            .expect("encode");
        assert_eq!(parse_public_key(&pkcs1_public), Ok(private.to_public_key()));
        assert_eq!(
            parse_public_key(&format!("\n  {}  \n", generated_public_pem())),
            Ok(private.to_public_key())
        );
    }

    #[test]
    fn garbage_keys_are_bad_keys() {
        for pem in [
            "",
            "not a key",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            "-----BEGIN RSA PUBLIC KEY-----\n!!!\n-----END RSA PUBLIC KEY-----\n",
        ] {
            assert!(matches!(
                parse_public_key(pem),
                Err(SignatureError::BadKey(_))
            ));
            assert!(matches!(
                parse_private_key(pem),
                Err(SignatureError::BadKey(_))
            ));
        }
        let headers = kat_headers();
        let signature = kat_signature_header(KAT_SIGNATURE);
        assert!(matches!(
            verify_request(
                "POST",
                "/inbox",
                &headers,
                &signature,
                "nope",
                &POST_POLICY,
                kat_now()
            ),
            Err(SignatureError::BadKey(_))
        ));
    }

    #[test]
    fn sign_request_refuses_unquotable_key_id_and_hostless_url() {
        let key = generated_key();
        let now = kat_now();
        for key_id in [
            "",
            "https://ex.org/a\"b",
            "https://ex.org/a\\b",
            "https://ex.org/\n",
        ] {
            assert!(matches!(
                sign_request("GET", &inbox_url(), None, key_id, key, now),
                Err(SignatureError::Malformed(_))
            ));
        }
        let hostless = Url::parse("data:text/plain,hello").expect("static URL");
        assert!(matches!(
            sign_request("GET", &hostless, None, KEY_ID, key, now),
            Err(SignatureError::Malformed(_))
        ));
    }

    // --- Robustness ---------------------------------------------------------------------------

    /// Xorshift64*: a tiny deterministic PRNG so the fuzz corpus is the same on every run.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, bound: usize) -> usize {
            // Bounds are tiny, so the modulo bias is irrelevant here.
            usize::try_from(self.next() % u64::try_from(bound).unwrap_or(1)).unwrap_or(0)
        }
    }

    #[test]
    fn parse_never_panics_on_random_input() {
        const FRAGMENTS: [&str; 24] = [
            "keyId",
            "signature",
            "headers",
            "algorithm",
            "created",
            "expires",
            "=",
            "\"",
            ",",
            " ",
            "\t",
            "\\",
            "rsa-sha256",
            "hs2019",
            "(request-target)",
            "AAAA",
            "==",
            "#",
            "https://ex.org/a#k",
            "é",
            "\u{0}",
            "1736244000",
            "-",
            "KEYID",
        ];
        let valid = format!(
            r#"keyId="{KEY_ID}",algorithm="rsa-sha256",headers="(request-target) host date",signature="{KAT_SIGNATURE}""#
        );
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let mut accepted = 0;
        for round in 0..2_000 {
            let input = if round % 2 == 0 {
                // Random concatenations of meaningful fragments.
                (0..rng.below(16))
                    .map(|_| FRAGMENTS[rng.below(FRAGMENTS.len())])
                    .collect::<String>()
            } else {
                // Mutations of a valid header: delete, duplicate or insert at random places.
                let mut chars: Vec<char> = valid.chars().collect();
                for _ in 0..=rng.below(4) {
                    let at = rng.below(chars.len() + 1);
                    match rng.below(3) {
                        0 if at < chars.len() => {
                            chars.remove(at);
                        }
                        1 if at < chars.len() => chars.insert(at, chars[at]),
                        _ => {
                            let fragment = FRAGMENTS[rng.below(FRAGMENTS.len())];
                            for (offset, c) in fragment.chars().enumerate() {
                                chars.insert(at + offset, c);
                            }
                        }
                    }
                }
                chars.into_iter().collect()
            };
            if let Ok(parsed) = SignatureHeader::parse(&input) {
                // Whatever gets through satisfies the documented invariants.
                assert!(!parsed.key_id.trim().is_empty(), "{input:?}");
                assert!(!parsed.signature.is_empty(), "{input:?}");
                assert!(!parsed.headers.is_empty(), "{input:?}");
                assert!(
                    parsed
                        .algorithm
                        .as_deref()
                        .is_none_or(|a| ACCEPTED_ALGORITHMS.contains(&a)),
                    "{input:?}"
                );
                let _ = parsed.key_owner();
                accepted += 1;
            }
        }
        // The mutation half must also exercise the success path, not only rejections.
        assert!(accepted > 0);
    }
}

//! [RFC 9421] HTTP Message Signatures: the `Signature-Input` / `Signature` pair (structured
//! fields, RFC 8941, read and written with the `sfv` crate), the signature base a signature
//! is computed over (§2.5), the verification policy, and signing.
//!
//! What is accepted, following Mastodon (4.4 verifies, 4.5 on by default, PR #34814) and
//! Fedify (2.x signs RFC 9421 first):
//! - one signature per request: the first label present in both fields;
//! - `alg="rsa-v1_5-sha256"`, or no `alg` (the key says which: Fedify sends none), and
//!   `ed25519` for Ed25519 keys;
//! - covered components: `@method`, the target (`@target-uri`, or `@authority` with `@path`
//!   or `@request-target`), `content-digest` for a request with a body, and any header;
//!   component parameters (`;sf`, `;key`, `;req`, `;bs`) are refused;
//! - `created` is required and must be within the policy's skew of now (as draft-cavage's
//!   `Date`), `expires`, if given, must not have passed.
//!
//! [RFC 9421]: https://www.rfc-editor.org/rfc/rfc9421

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use http::header::{CONTENT_TYPE, HOST};
use http::{HeaderMap, HeaderName, HeaderValue};
use sfv::{BareItem, Dictionary, InnerList, Item, KeyRef, ListEntry, Parser, Version};
use url::Url;

use super::header::header_str;
use super::keys::KeyKind;
use super::{
    ACTIVITY_JSON, SignatureError, SigningKey, VerifyPolicy, VerifyingKey, excerpt, malformed,
};

/// The field naming the covered components and parameters of each signature (§4.1).
pub const SIGNATURE_INPUT_HEADER: &str = "signature-input";

/// RFC 9530 `Content-Digest`, lowercase.
pub const CONTENT_DIGEST_HEADER: &str = "content-digest";

/// RSASSA-PKCS1-v1_5 with SHA-256 (§3.3.2), what fediverse RSA keys sign with.
pub const RSA_V1_5_SHA256: &str = "rsa-v1_5-sha256";

/// EdDSA with Ed25519 (§3.3.6).
pub const ED25519: &str = "ed25519";

/// The label of the signatures this node sends (Fedify and Mastodon use the same).
const LABEL: &str = "sig1";

/// Components this node covers when it signs a request with a body, and without one.
const SIGNED_WITH_BODY: [&str; 3] = ["@method", "@target-uri", "content-digest"];
const SIGNED_WITHOUT_BODY: [&str; 2] = ["@method", "@target-uri"];

/// One RFC 9421 signature of a request, parsed from its `Signature-Input` and `Signature`
/// fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageSignature {
    /// The label shared by both fields (`sig1`).
    pub label: String,
    /// Covered components, in order, as named in `Signature-Input` (`@method`, `date`…).
    pub components: Vec<String>,
    /// The `keyid` parameter: in the fediverse, the URL of the signer's key.
    pub key_id: String,
    /// The `alg` parameter, when given.
    pub algorithm: Option<String>,
    /// The `created` parameter (Unix seconds).
    pub created: Option<i64>,
    /// The `expires` parameter (Unix seconds).
    pub expires: Option<i64>,
    /// The `@signature-params` value: the inner list and its parameters, serialized.
    pub signature_params: String,
    /// The decoded signature.
    pub signature: Vec<u8>,
}

/// The request as its receiver sees it, for the derived components (§2.2).
#[derive(Debug, Clone, Copy)]
pub struct RequestTarget<'a> {
    /// The method, as sent (`POST`).
    pub method: &'a str,
    /// `http` or `https`, lowercase.
    pub scheme: &'a str,
    /// `host[:port]` of the receiver, lowercase.
    pub authority: &'a str,
    /// The path and query as received.
    pub path_and_query: &'a str,
}

/// The longest `Signature-Input` or `Signature` header read (peers send a few hundred
/// bytes).
const MAX_HEADER_BYTES: usize = 4096;
/// Covered components of one signature at most (peers cover 3 to 5).
const MAX_COMPONENTS: usize = 32;
/// Clock slack past a signature's own `expires`.
const EXPIRES_SLACK_SECS: i64 = 5;

impl MessageSignature {
    /// Whether a request carries an RFC 9421 signature (a `Signature-Input` field): then
    /// its `Signature` field is read as RFC 9421, never as draft-cavage, as Mastodon does.
    pub fn is_present(headers: &HeaderMap) -> bool {
        headers.contains_key(SIGNATURE_INPUT_HEADER)
    }

    /// Reads the signature of a request from its `Signature-Input` and `Signature` fields
    /// (each possibly in several lines, joined as RFC 9110 §5.3 says).
    ///
    /// # Errors
    /// [`SignatureError::Missing`] without `Signature-Input`, otherwise as
    /// [`MessageSignature::parse`].
    pub fn from_request_headers(headers: &HeaderMap) -> Result<Self, SignatureError> {
        let joined = |name: &str| -> Result<Option<String>, SignatureError> {
            let values = headers
                .get_all(name)
                .iter()
                .map(|v| header_str(v, name))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((!values.is_empty()).then(|| values.join(", ")))
        };
        let input = joined(SIGNATURE_INPUT_HEADER)?.ok_or(SignatureError::Missing)?;
        let signature = joined(super::SIGNATURE_HEADER)?
            .ok_or_else(|| malformed("Signature-Input without Signature"))?;
        Self::parse(&input, &signature)
    }

    /// Parses a `Signature-Input` and a `Signature` value and keeps the first label found
    /// in both.
    ///
    /// # Errors
    /// [`SignatureError::Malformed`] when either is not a structured dictionary, no label is
    /// in both, a member has the wrong type, a component is not a lowercase string, has
    /// parameters or is repeated, `keyid` is missing or a parameter has the wrong type;
    /// [`SignatureError::UnsupportedAlgorithm`] for an `alg` other than
    /// [`RSA_V1_5_SHA256`] and [`ED25519`].
    pub fn parse(signature_input: &str, signature: &str) -> Result<Self, SignatureError> {
        // Bounded before any parsing: peers send 3 to 5 components in a few hundred
        // bytes; an unbounded header would cost the parser (and the checks below) time
        // before anything is authenticated.
        if signature_input.len() > MAX_HEADER_BYTES || signature.len() > MAX_HEADER_BYTES {
            return Err(malformed(format!(
                "Signature-Input or Signature longer than {MAX_HEADER_BYTES} bytes"
            )));
        }
        let dictionary = |value: &str, name: &str| -> Result<Dictionary, SignatureError> {
            Parser::new(value)
                .with_version(Version::Rfc8941)
                .parse()
                .map_err(|e| malformed(format!("{name} is not a structured dictionary: {e}")))
        };
        let inputs = dictionary(signature_input, "Signature-Input")?;
        let signatures = dictionary(signature, "Signature")?;
        let (label, input, value) = inputs
            .iter()
            .find_map(|(label, input)| {
                let value = signatures.get(label.as_str())?;
                Some((label.as_str().to_owned(), input, value))
            })
            .ok_or_else(|| malformed("no label in both Signature-Input and Signature"))?;
        let ListEntry::InnerList(list) = input else {
            return Err(malformed("Signature-Input member is not an inner list"));
        };
        let signature = match value {
            ListEntry::Item(Item {
                bare_item: BareItem::ByteSequence(bytes),
                ..
            }) if !bytes.is_empty() => bytes.clone(),
            _ => return Err(malformed("Signature member is not a byte sequence")),
        };

        if list.items.len() > MAX_COMPONENTS {
            return Err(malformed(format!(
                "more than {MAX_COMPONENTS} covered components"
            )));
        }
        let mut components: Vec<String> = Vec::with_capacity(list.items.len());
        for item in &list.items {
            let BareItem::String(name) = &item.bare_item else {
                return Err(malformed("a covered component is not a string"));
            };
            let name = name.as_str();
            if !item.params.is_empty() {
                return Err(malformed(format!(
                    "component parameters are not supported: {}",
                    excerpt(name)
                )));
            }
            if name.is_empty() || name.bytes().any(|b| b.is_ascii_uppercase()) {
                return Err(malformed(format!(
                    "component names are lowercase: {}",
                    excerpt(name)
                )));
            }
            if components.iter().any(|seen| seen == name) {
                return Err(malformed(format!("component repeated: {}", excerpt(name))));
            }
            components.push(name.to_owned());
        }

        let mut key_id = None;
        let mut algorithm = None;
        let mut created = None;
        let mut expires = None;
        for (name, value) in &list.params {
            let string = || match value {
                BareItem::String(s) => Ok(s.as_str().to_owned()),
                _ => Err(malformed(format!("`{}` must be a string", name.as_str()))),
            };
            let integer = || match value {
                BareItem::Integer(i) => Ok(i64::from(*i)),
                _ => Err(malformed(format!("`{}` must be an integer", name.as_str()))),
            };
            match name.as_str() {
                "keyid" => key_id = Some(string()?),
                "alg" => algorithm = Some(string()?),
                "created" => created = Some(integer()?),
                "expires" => expires = Some(integer()?),
                // `nonce`, `tag` and future parameters are signed but not interpreted.
                _ => {}
            }
        }
        if let Some(algorithm) = &algorithm {
            if algorithm != RSA_V1_5_SHA256 && algorithm != ED25519 {
                return Err(SignatureError::UnsupportedAlgorithm(excerpt(algorithm)));
            }
        }
        let key_id = key_id
            .filter(|k| !k.trim().is_empty())
            .ok_or_else(|| malformed("missing keyid"))?;
        let mut serializer = sfv::ListSerializer::new();
        serializer.members([&ListEntry::InnerList(InnerList::with_params(
            list.items.clone(),
            list.params.clone(),
        ))]);
        let signature_params = serializer
            .finish()
            .ok_or_else(|| malformed("empty Signature-Input member"))?;
        Ok(Self {
            label,
            components,
            key_id,
            algorithm,
            created,
            expires,
            signature_params,
            signature,
        })
    }

    /// The URL of the document to fetch to find the signer: `keyid` without its fragment.
    ///
    /// # Errors
    /// [`SignatureError::Malformed`] when `keyid` is not an `http(s)` URL.
    pub fn key_owner(&self) -> Result<Url, SignatureError> {
        super::key_owner_of(&self.key_id)
    }

    fn covers(&self, name: &str) -> bool {
        self.components.iter().any(|c| c == name)
    }

    /// The checks that need no key: the method and target are covered, `content-digest`
    /// too when `policy` is for requests with a body, and `created` is within
    /// `policy.max_skew` of `now` and `expires` has not passed.
    ///
    /// # Errors
    /// [`SignatureError::MissingHeader`] for a component not covered (or `created`
    /// missing), [`SignatureError::DateOutOfWindow`].
    pub fn check_coverage_and_date(
        &self,
        policy: &VerifyPolicy,
        now: DateTime<Utc>,
    ) -> Result<(), SignatureError> {
        if !self.covers("@method") {
            return Err(SignatureError::MissingHeader("@method".into()));
        }
        let target = self.covers("@target-uri")
            || (self.covers("@authority")
                && (self.covers("@path") || self.covers("@request-target")));
        if !target {
            return Err(SignatureError::MissingHeader("@target-uri".into()));
        }
        if policy.with_body() && !self.covers(CONTENT_DIGEST_HEADER) {
            return Err(SignatureError::MissingHeader(CONTENT_DIGEST_HEADER.into()));
        }
        let created = self
            .created
            .ok_or_else(|| SignatureError::MissingHeader("created".into()))?;
        let now = now.timestamp();
        let max_skew = policy.max_skew.as_secs();
        if now.abs_diff(created) > max_skew {
            return Err(SignatureError::DateOutOfWindow);
        }
        if let Some(expires) = self.expires {
            // The sender's own bound on replay: honoured as given, with a few seconds
            // of clock slack only.
            if expires <= created || now > expires + EXPIRES_SLACK_SECS {
                return Err(SignatureError::DateOutOfWindow);
            }
        }
        Ok(())
    }

    /// Verifies the signature with `key` over the signature base of `request`, after
    /// [`MessageSignature::check_coverage_and_date`]. The algorithm is the key's; an `alg`
    /// naming another one is refused.
    ///
    /// This does not read the body: the caller checks `Content-Digest` with
    /// [`verify_content_digest`].
    ///
    /// # Errors
    /// As [`MessageSignature::check_coverage_and_date`], [`signature_base`];
    /// [`SignatureError::UnsupportedAlgorithm`] when `alg` does not fit the key;
    /// [`SignatureError::Invalid`].
    pub fn verify(
        &self,
        request: &RequestTarget<'_>,
        headers: &HeaderMap,
        key: &VerifyingKey,
        policy: &VerifyPolicy,
        now: DateTime<Utc>,
    ) -> Result<(), SignatureError> {
        self.check_coverage_and_date(policy, now)?;
        let expected = match key.kind() {
            KeyKind::Rsa => RSA_V1_5_SHA256,
            KeyKind::Ed25519 => ED25519,
        };
        if let Some(algorithm) = &self.algorithm {
            if algorithm != expected {
                return Err(SignatureError::UnsupportedAlgorithm(format!(
                    "{} with an {expected} key",
                    excerpt(algorithm)
                )));
            }
        }
        let base = signature_base(request, headers, &self.components, &self.signature_params)?;
        if super::verify_raw(key, base.as_bytes(), &self.signature) {
            Ok(())
        } else {
            Err(SignatureError::Invalid)
        }
    }
}

/// The signature base (§2.5): one `"component": value` line per covered component, then
/// the `@signature-params` line, joined with `\n`.
///
/// # Errors
/// [`SignatureError::MissingHeader`] for a covered header absent from `headers`;
/// [`SignatureError::Malformed`] for an unsupported derived component
/// (`@signature-params`, `@status`, `@query-param`…), a control character in the target or
/// a non-UTF-8 header.
pub fn signature_base(
    request: &RequestTarget<'_>,
    headers: &HeaderMap,
    components: &[String],
    signature_params: &str,
) -> Result<String, SignatureError> {
    if request.path_and_query.chars().any(char::is_control)
        || request.authority.chars().any(char::is_control)
    {
        return Err(malformed("control character in request target"));
    }
    let (path, query) = match request.path_and_query.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (request.path_and_query, None),
    };
    let path = if path.is_empty() { "/" } else { path };
    let mut base = String::new();
    for name in components {
        let value = match name.as_str() {
            "@method" => request.method.to_owned(),
            "@target-uri" => format!(
                "{}://{}{}",
                request.scheme, request.authority, request.path_and_query
            ),
            "@authority" => request.authority.to_ascii_lowercase(),
            "@scheme" => request.scheme.to_ascii_lowercase(),
            "@request-target" => request.path_and_query.to_owned(),
            "@path" => path.to_owned(),
            "@query" => format!("?{}", query.unwrap_or_default()),
            derived if derived.starts_with('@') => {
                return Err(malformed(format!(
                    "unsupported derived component: {}",
                    excerpt(derived)
                )));
            }
            field => {
                let header = HeaderName::from_bytes(field.as_bytes())
                    .map_err(|_| malformed(format!("invalid field name: {}", excerpt(field))))?;
                let values = headers
                    .get_all(&header)
                    .iter()
                    .map(|v| header_str(v, field).map(str::trim))
                    .collect::<Result<Vec<_>, _>>()?;
                if values.is_empty() {
                    return Err(SignatureError::MissingHeader(field.to_owned()));
                }
                values.join(", ")
            }
        };
        base.push_str(&format!("\"{name}\": {value}\n"));
    }
    base.push_str(&format!("\"@signature-params\": {signature_params}"));
    Ok(base)
}

// ---------------------------------------------------------------------------------------------
// Content-Digest (RFC 9530)
// ---------------------------------------------------------------------------------------------

/// The `Content-Digest` value for `body`: `sha-256=:<base64>:`.
pub fn content_digest_header(body: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha-256=:{}:", BASE64.encode(sha2::Sha256::digest(body)))
}

/// Checks a received `Content-Digest` (RFC 9530 §2) against the received body: every
/// `sha-256` and `sha-512` member must match, and there must be one; other algorithms
/// are ignored.
///
/// # Errors
/// [`SignatureError::Malformed`] when it is not a dictionary of byte sequences;
/// [`SignatureError::UnsupportedAlgorithm`] without `sha-256` nor `sha-512`;
/// [`SignatureError::DigestMismatch`].
pub fn verify_content_digest(value: &str, body: &[u8]) -> Result<(), SignatureError> {
    use sha2::Digest as _;
    let members: Dictionary = Parser::new(value)
        .with_version(Version::Rfc8941)
        .parse()
        .map_err(|e| {
            malformed(format!(
                "Content-Digest is not a structured dictionary: {e}"
            ))
        })?;
    let mut checked = 0;
    let mut others = Vec::new();
    for (algorithm, member) in &members {
        let claimed = match member {
            ListEntry::Item(Item {
                bare_item: BareItem::ByteSequence(bytes),
                ..
            }) => bytes,
            _ => return Err(malformed("Content-Digest member is not a byte sequence")),
        };
        let matches = match algorithm.as_str() {
            "sha-256" => claimed.as_slice() == sha2::Sha256::digest(body).as_slice(),
            "sha-512" => claimed.as_slice() == sha2::Sha512::digest(body).as_slice(),
            other => {
                others.push(excerpt(other));
                continue;
            }
        };
        if !matches {
            return Err(SignatureError::DigestMismatch);
        }
        checked += 1;
    }
    if checked == 0 {
        return Err(SignatureError::UnsupportedAlgorithm(format!(
            "Content-Digest without sha-256 or sha-512 (got {})",
            others.join(", ")
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Signing
// ---------------------------------------------------------------------------------------------

/// Signs an outgoing request with RFC 9421 and returns the headers to add to it: `Host`,
/// `Date`, for a `body` also `Content-Type: application/activity+json` and
/// `Content-Digest` (`sha-256`), then `Signature-Input`
/// (`sig1=("@method" "@target-uri" "content-digest");created=…;keyid="…";alg="rsa-v1_5-sha256"`,
/// without `content-digest` for a request without body) and `Signature`.
///
/// # Errors
/// [`SignatureError::Malformed`] when the URL has no host or `key_id` is not a valid
/// structured string; [`SignatureError::BadKey`] when the key cannot sign.
pub fn sign_request_rfc9421(
    method: &str,
    url: &Url,
    body: Option<&[u8]>,
    key_id: &str,
    private_key: &SigningKey,
    now: DateTime<Utc>,
) -> Result<HeaderMap, SignatureError> {
    let (mut headers, path_and_query) = super::sign::host_and_date(url, now)?;
    let authority = super::header::header_str(&headers[HOST], "host")?.to_owned();
    let components: &[&str] = match body {
        Some(body) => {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(ACTIVITY_JSON));
            headers.insert(
                HeaderName::from_static(CONTENT_DIGEST_HEADER),
                super::sign::to_header_value(&content_digest_header(body))?,
            );
            &SIGNED_WITH_BODY
        }
        None => &SIGNED_WITHOUT_BODY,
    };
    let key_id = sfv::StringRef::from_str(key_id)
        .map_err(|_| malformed(format!("keyid is not a valid string: {}", excerpt(key_id))))?;
    let items = components
        .iter()
        .map(|c| Item::new(sfv::StringRef::constant(c)))
        .collect::<Vec<_>>();
    let created = sfv::Integer::try_from(now.timestamp()).map_err(|_| malformed("created"))?;
    let algorithm = match private_key.kind() {
        KeyKind::Rsa => RSA_V1_5_SHA256,
        KeyKind::Ed25519 => ED25519,
    };
    let mut params = sfv::Parameters::new();
    params.insert(KeyRef::constant("created").to_owned(), created.into());
    params.insert(KeyRef::constant("keyid").to_owned(), key_id.into());
    params.insert(
        KeyRef::constant("alg").to_owned(),
        sfv::StringRef::constant(algorithm).into(),
    );
    let mut serializer = sfv::ListSerializer::new();
    serializer.members([&ListEntry::InnerList(InnerList::with_params(items, params))]);
    let signature_params = serializer
        .finish()
        .ok_or_else(|| malformed("empty signature parameters"))?;
    let components: Vec<String> = components.iter().map(|c| (*c).to_owned()).collect();
    let request = RequestTarget {
        method,
        scheme: url.scheme(),
        authority: &authority,
        path_and_query: &path_and_query,
    };
    let base = signature_base(&request, &headers, &components, &signature_params)?;
    let signature = private_key.sign(base.as_bytes())?;
    headers.insert(
        HeaderName::from_static(SIGNATURE_INPUT_HEADER),
        super::sign::to_header_value(&format!("{LABEL}={signature_params}"))?,
    );
    headers.insert(
        HeaderName::from_static(super::SIGNATURE_HEADER),
        super::sign::to_header_value(&format!("{LABEL}=:{}:", BASE64.encode(signature)))?,
    );
    Ok(headers)
}

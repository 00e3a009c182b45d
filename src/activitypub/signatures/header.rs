//! The `Signature` header (draft-cavage §2.1, §4.1) parsed into a [`SignatureHeader`],
//! and the signing string a signature is computed over (§2.3).

use base64::Engine as _;
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use url::Url;

use super::{LENIENT_BASE64, SIGNATURE_HEADER, SignatureError, excerpt, malformed};

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
pub(super) const ACCEPTED_ALGORITHMS: [&str; 2] = ["rsa-sha256", "hs2019"];

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
        super::key_owner_of(&self.key_id)
    }

    pub(super) fn covers(&self, name: &str) -> bool {
        self.headers.iter().any(|h| h == name)
    }
}

/// Whether the `(created)` / `(expires)` pseudo-headers may be used with this algorithm.
///
/// Draft §2.3: a verifier must refuse them when `algorithm` starts with `rsa`, `hmac` or
/// `ecdsa`; of the algorithms we accept, that leaves `hs2019` and an absent parameter (which
/// Mastodon also treats as `hs2019`).
pub(super) fn permits_created(algorithm: Option<&str>) -> bool {
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

pub(super) fn header_str<'a>(
    value: &'a HeaderValue,
    name: &str,
) -> Result<&'a str, SignatureError> {
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

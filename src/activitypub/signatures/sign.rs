//! Signing outgoing requests the way Mastodon expects them.

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use http::header::{CONTENT_TYPE, DATE, HOST};
use http::{HeaderMap, HeaderName, HeaderValue};
use rsa::RsaPrivateKey;
use url::Url;

use super::{
    ACTIVITY_JSON, COVERED_WITH_BODY, COVERED_WITHOUT_BODY, DIGEST_HEADER, SIGNATURE_HEADER,
    SignatureError, SigningKey, digest_header, excerpt, malformed, signing_string,
};

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
    let (mut headers, path_and_query) = host_and_date(url, now)?;
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

/// The `Host` (with `:port` when the URL names a non-default one) and `Date` headers of
/// a request to `url` signed at `now`, and the URL's path and query.
pub(super) fn host_and_date(
    url: &Url,
    now: DateTime<Utc>,
) -> Result<(HeaderMap, String), SignatureError> {
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
    Ok((headers, path_and_query))
}

pub(super) fn to_header_value(value: &str) -> Result<HeaderValue, SignatureError> {
    HeaderValue::from_str(value)
        .map_err(|_| malformed(format!("not a valid header value: {}", excerpt(value))))
}

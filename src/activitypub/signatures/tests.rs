//! Unit tests of HTTP Signatures: fixtures, digests, round trips, a known answer from
//! OpenSSL, header parsing, the signing string, keys, robustness.

use std::sync::OnceLock;

use chrono::TimeZone as _;
use rsa::pkcs1::{EncodeRsaPrivateKey as _, EncodeRsaPublicKey as _};
use rsa::pkcs1v15::Pkcs1v15Sign;
use rsa::pkcs8::{EncodePublicKey as _, LineEnding};
use rsa::rand_core::OsRng;

use super::header::ACCEPTED_ALGORITHMS;
use super::*;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use http::header::{AUTHORIZATION, CONTENT_TYPE, DATE, HOST};
use http::{HeaderMap, HeaderValue};
use rsa::RsaPrivateKey;
use sha2::{Digest as _, Sha256};
use url::Url;

// --- Fixtures -----------------------------------------------------------------------------

/// One RSA-2048 key for the whole test run: key generation is the slow part.
pub(super) fn generated_key() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| RsaPrivateKey::new(&mut OsRng, 2048).expect("RSA key generation"))
}

pub(super) fn generated_public_pem() -> String {
    generated_key()
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("encode public key")
}

/// Test-only key made with `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`;
/// it protects nothing.
pub(super) const KAT_PRIVATE_PEM: &str = "-----BEGIN PRIVATE KEY-----
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
pub(super) const KAT_PUBLIC_SPKI_PEM: &str = "-----BEGIN PUBLIC KEY-----
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
pub(super) const KAT_BODY: &str = r#"{"@context":"https://www.w3.org/ns/activitystreams","id":"https://mastodon.example/users/alice#follows/1","type":"Follow","actor":"https://mastodon.example/users/alice","object":"https://maillage.example/collectivites/75056"}"#;
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
    let url =
        Url::parse("http://localhost:8080/users/a/outbox?page=true&min_id=3").expect("static URL");
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
    let signed =
        signing_string("POST", "/inbox", &headers, &covered, None, None).expect("signing string");
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
    let hs2019 =
        SignatureHeader::parse(r#"keyId="k",algorithm="hs2019",signature="AAAA""#).expect("parses");
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

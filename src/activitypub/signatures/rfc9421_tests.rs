//! Unit tests of RFC 9421 HTTP Message Signatures and RFC 9530 `Content-Digest`: the RFC's
//! own test vectors where they apply (B.2.6, Ed25519; RFC 9530's digests of
//! `{"hello": "world"}`), a known answer from OpenSSL for `rsa-v1_5-sha256`, round trips,
//! and the refusals (forged, expired, under-covered, wrong digest, wrong algorithm).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeZone as _, Utc};
use http::header::{CONTENT_TYPE, DATE, HOST};
use http::{HeaderMap, HeaderValue};
use url::Url;

use super::tests::{KAT_BODY, KAT_PRIVATE_PEM, KAT_PUBLIC_SPKI_PEM};
use super::*;

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(seconds, 0)
        .single()
        .expect("valid instant")
}

/// The RFC 9421 appendix B.2 test request, as far as B.2.6 covers it.
fn b2_request() -> (RequestTarget<'static>, HeaderMap) {
    let mut headers = HeaderMap::new();
    headers.insert(HOST, HeaderValue::from_static("example.com"));
    headers.insert(
        DATE,
        HeaderValue::from_static("Tue, 20 Apr 2021 02:07:55 GMT"),
    );
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert("content-length", HeaderValue::from_static("18"));
    let request = RequestTarget {
        method: "POST",
        scheme: "https",
        authority: "example.com",
        path_and_query: "/foo?param=Value&Pet=dog",
    };
    (request, headers)
}

/// RFC 9421 B.1.4: the Ed25519 test key's public part (JWK `x`).
const B14_ED25519_X: &str = "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs";
const B26_INPUT: &str = r#"sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#;
const B26_SIGNATURE: &str = "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:";

/// Only the signature base and the Ed25519 check: B.2.6 signs no `@method`/target pair as
/// our policy asks, so the policy-free [`signature_base`] and [`verify_raw`] are used.
#[test]
fn rfc9421_b26_ed25519_vector_verifies() {
    let signature = MessageSignature::parse(B26_INPUT, B26_SIGNATURE).expect("B.2.6 parses");
    assert_eq!(signature.label, "sig-b26");
    assert_eq!(signature.key_id, "test-key-ed25519");
    assert_eq!(signature.created, Some(1_618_884_473));
    assert_eq!(signature.algorithm, None);
    let (request, headers) = b2_request();
    let base = rfc9421::signature_base(
        &request,
        &headers,
        &signature.components,
        &signature.signature_params,
    )
    .expect("base");
    assert_eq!(
        base,
        "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n\"@method\": POST\n\"@path\": /foo\n\
         \"@authority\": example.com\n\"content-type\": application/json\n\
         \"content-length\": 18\n\"@signature-params\": (\"date\" \"@method\" \"@path\" \
         \"@authority\" \"content-type\" \"content-length\");created=1618884473;\
         keyid=\"test-key-ed25519\""
    );
    let key = VerifyingKey::from_ed25519(&URL_SAFE_NO_PAD.decode(B14_ED25519_X).unwrap())
        .expect("Ed25519 key");
    assert_eq!(key.kind(), KeyKind::Ed25519);
    assert!(verify_raw(&key, base.as_bytes(), &signature.signature));
    // One byte off in the base: refused.
    assert!(!verify_raw(
        &key,
        base.replace("/foo", "/fo0").as_bytes(),
        &signature.signature
    ));
    // And through `verify`, with a policy that B.2.6 meets (`@authority` + `@path`,
    // `created` within a minute), it verifies; Ed25519 keys have no draft-cavage use.
    let policy = VerifyPolicy {
        required: &[],
        max_skew: std::time::Duration::from_secs(60),
    };
    signature
        .verify(&request, &headers, &key, &policy, at(1_618_884_500))
        .expect("B.2.6 verifies through the policy");
    let cavage = RequestSignature::Cavage(
        SignatureHeader::parse(r#"keyId="https://a.example/k",headers="date",signature="AAAA""#)
            .unwrap(),
    );
    assert!(matches!(
        cavage.verify(&request, &headers, &key, &policy, at(1_618_884_500)),
        Err(SignatureError::UnsupportedAlgorithm(_))
    ));
}

/// RFC 9530 appendix B's digests of `{"hello": "world"}`.
#[test]
fn content_digest_matches_rfc9530_examples() {
    let body = br#"{"hello": "world"}"#;
    let sha256 = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:";
    let sha512 = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";
    assert_eq!(content_digest_header(body), sha256);
    verify_content_digest(sha256, body).expect("sha-256");
    verify_content_digest(sha512, body).expect("sha-512");
    verify_content_digest(&format!("{sha512}, {sha256}"), body).expect("both");
    verify_content_digest(&format!("md5=:AAAA:, {sha256}"), body).expect("unknown ignored");
    assert_eq!(
        verify_content_digest(sha256, b"{\"hello\": \"monde\"}"),
        Err(SignatureError::DigestMismatch)
    );
    // One good, one wrong: refused.
    assert_eq!(
        verify_content_digest(&format!("{sha256}, sha-512=:AAAA:"), body),
        Err(SignatureError::DigestMismatch)
    );
    assert!(matches!(
        verify_content_digest("md5=:AAAA:", body),
        Err(SignatureError::UnsupportedAlgorithm(_))
    ));
    for malformed in ["sha-256=abc", "sha-256", "sha-256=:not base64!:", "=:AAAA:"] {
        assert!(
            matches!(
                verify_content_digest(malformed, body),
                Err(SignatureError::Malformed(_))
            ),
            "{malformed}"
        );
    }
}

const KAT_KEY_ID: &str = "https://mastodon.example/users/alice#main-key";
/// `openssl dgst -sha256 -sign` of the signature base below with the KAT key (PKCS#1 v1.5
/// is deterministic): an independent check of the base and of the verification.
const KAT_RFC9421_SIGNATURE: &str = "mkCXCZ0xs7sQkorDu8Ym6LquG7F0Ytpq5UJZiDfHNeUs8pkzgn+DZ7ISIqC0uezMIBHja2d3FMnV8y0kObX/ZH/11Hb+SBJAsvmaUzDb1X1SsbCE8IZ5E1p/Z2p3oZdDgZCUIYL7Lt4+/k4TvvF+LAJhde4VlCJUSdB870RB24ebMDw72UoCX4TxGLULqYyNKB2pkyKXo6hQesnhKkfHCBD6U1XY+d93W3jUp/Y5oKZvPbQAzoS3KoA2nSX5ahFXXVmUNU6UJuHiq1o0vClzIG8te6o4jSye0CoogiVsr2xluVRovc8ZXoW3OJBnnTCbyVfVARSeh0kmzSXk/pOc3Q==";
const KAT_CREATED: i64 = 1_736_244_000;

fn kat_inbox() -> RequestTarget<'static> {
    RequestTarget {
        method: "POST",
        scheme: "https",
        authority: "maillage.example",
        path_and_query: "/inbox",
    }
}

/// What a Fedify 2 style sender puts on a POST: `Signature-Input` without `alg`.
fn kat_headers(input_params: &str, signature: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(HOST, HeaderValue::from_static("maillage.example"));
    headers.insert(
        CONTENT_DIGEST_HEADER,
        HeaderValue::from_str(&content_digest_header(KAT_BODY.as_bytes())).unwrap(),
    );
    headers.insert(
        SIGNATURE_INPUT_HEADER,
        HeaderValue::from_str(&format!(
            r#"sig1=("@method" "@target-uri" "content-digest"){input_params}"#
        ))
        .unwrap(),
    );
    headers.insert(
        SIGNATURE_HEADER,
        HeaderValue::from_str(&format!("sig1=:{signature}:")).unwrap(),
    );
    headers
}

fn kat_params() -> String {
    format!(r#";created={KAT_CREATED};keyid="{KAT_KEY_ID}""#)
}

#[test]
fn openssl_known_answer_verifies_without_alg() {
    let headers = kat_headers(&kat_params(), KAT_RFC9421_SIGNATURE);
    let signature = RequestSignature::from_request_headers(&headers).expect("parses");
    assert!(signature.is_rfc9421());
    assert_eq!(
        signature.key_owner().unwrap().as_str(),
        "https://mastodon.example/users/alice"
    );
    let key = VerifyingKey::from_pem(KAT_PUBLIC_SPKI_PEM).unwrap();
    signature
        .verify(
            &kat_inbox(),
            &headers,
            &key,
            &POST_POLICY,
            at(KAT_CREATED + 30),
        )
        .expect("OpenSSL's signature verifies");
    verify_content_digest(
        headers[CONTENT_DIGEST_HEADER].to_str().unwrap(),
        KAT_BODY.as_bytes(),
    )
    .expect("digest");
}

#[test]
fn forged_or_replayed_elsewhere_is_invalid() {
    let key = VerifyingKey::from_pem(KAT_PUBLIC_SPKI_PEM).unwrap();
    let now = at(KAT_CREATED);
    let headers = kat_headers(&kat_params(), KAT_RFC9421_SIGNATURE);
    let signature = MessageSignature::from_request_headers(&headers).unwrap();
    // Another target, another host, another method.
    for request in [
        RequestTarget {
            path_and_query: "/actors/marcq/inbox",
            ..kat_inbox()
        },
        RequestTarget {
            authority: "autre.example",
            ..kat_inbox()
        },
        RequestTarget {
            method: "PUT",
            ..kat_inbox()
        },
    ] {
        assert_eq!(
            signature.verify(&request, &headers, &key, &POST_POLICY, now),
            Err(SignatureError::Invalid)
        );
    }
    // Another Content-Digest (another body) under the same signature.
    let mut swapped = headers.clone();
    swapped.insert(
        CONTENT_DIGEST_HEADER,
        HeaderValue::from_str(&content_digest_header(b"{}")).unwrap(),
    );
    assert_eq!(
        signature.verify(&kat_inbox(), &swapped, &key, &POST_POLICY, now),
        Err(SignatureError::Invalid)
    );
    // A parameter changed after signing (the base repeats them all).
    let later = kat_headers(
        &format!(r#";created={};keyid="{KAT_KEY_ID}""#, KAT_CREATED + 1),
        KAT_RFC9421_SIGNATURE,
    );
    let later = MessageSignature::from_request_headers(&later).unwrap();
    assert_eq!(
        later.verify(&kat_inbox(), &headers, &key, &POST_POLICY, now),
        Err(SignatureError::Invalid)
    );
    // Another key.
    let other = VerifyingKey::from_pem(&super::tests::generated_public_pem()).unwrap();
    assert_eq!(
        signature.verify(&kat_inbox(), &headers, &other, &POST_POLICY, now),
        Err(SignatureError::Invalid)
    );
    // `alg` naming another algorithm than the key's.
    let ed = kat_headers(
        &format!(r#"{};alg="ed25519""#, kat_params()),
        KAT_RFC9421_SIGNATURE,
    );
    assert!(matches!(
        MessageSignature::from_request_headers(&ed).unwrap().verify(
            &kat_inbox(),
            &ed,
            &key,
            &POST_POLICY,
            now
        ),
        Err(SignatureError::UnsupportedAlgorithm(_))
    ));
}

#[test]
fn expired_or_stale_or_undated_is_refused() {
    let headers = kat_headers(&kat_params(), KAT_RFC9421_SIGNATURE);
    let signature = MessageSignature::from_request_headers(&headers).unwrap();
    let hour = 3600;
    for now in [KAT_CREATED + hour + 1, KAT_CREATED - hour - 1] {
        assert_eq!(
            signature.check_coverage_and_date(&POST_POLICY, at(now)),
            Err(SignatureError::DateOutOfWindow),
            "{now}"
        );
    }
    signature
        .check_coverage_and_date(&POST_POLICY, at(KAT_CREATED + hour))
        .expect("at the edge of the window");
    let expired = MessageSignature::parse(
        &format!(
            r#"sig1=("@method" "@target-uri" "content-digest");created={KAT_CREATED};expires={};keyid="{KAT_KEY_ID}""#,
            KAT_CREATED - 2 * hour
        ),
        "sig1=:AAAA:",
    )
    .unwrap();
    assert_eq!(
        expired.check_coverage_and_date(&POST_POLICY, at(KAT_CREATED)),
        Err(SignatureError::DateOutOfWindow)
    );
    // A short `expires` is the sender's bound on replay: past it (and a few seconds of
    // slack), refused, though within the hour allowed for `created`.
    let short = MessageSignature::parse(
        &format!(
            r#"sig1=("@method" "@target-uri" "content-digest");created={KAT_CREATED};expires={};keyid="{KAT_KEY_ID}""#,
            KAT_CREATED + 60
        ),
        "sig1=:AAAA:",
    )
    .unwrap();
    short
        .check_coverage_and_date(&POST_POLICY, at(KAT_CREATED + 30))
        .expect("before its expiry");
    assert_eq!(
        short.check_coverage_and_date(&POST_POLICY, at(KAT_CREATED + 120)),
        Err(SignatureError::DateOutOfWindow)
    );
    let undated = MessageSignature::parse(
        &format!(r#"sig1=("@method" "@target-uri" "content-digest");keyid="{KAT_KEY_ID}""#),
        "sig1=:AAAA:",
    )
    .unwrap();
    assert_eq!(
        undated.check_coverage_and_date(&POST_POLICY, at(KAT_CREATED)),
        Err(SignatureError::MissingHeader("created".into()))
    );
}

#[test]
fn missing_coverage_is_refused() {
    let now = at(KAT_CREATED);
    let check = |components: &str, policy: &VerifyPolicy| {
        MessageSignature::parse(
            &format!(r#"sig1=({components});created={KAT_CREATED};keyid="{KAT_KEY_ID}""#),
            "sig1=:AAAA:",
        )
        .unwrap()
        .check_coverage_and_date(policy, now)
    };
    let missing = |name: &str| Err(SignatureError::MissingHeader(name.into()));
    assert_eq!(
        check(r#""@target-uri" "content-digest""#, &POST_POLICY),
        missing("@method")
    );
    assert_eq!(
        check(r#""@method" "content-digest""#, &POST_POLICY),
        missing("@target-uri")
    );
    assert_eq!(
        check(r#""@method" "@path" "content-digest""#, &POST_POLICY),
        missing("@target-uri")
    );
    assert_eq!(
        check(r#""@method" "@target-uri""#, &POST_POLICY),
        missing("content-digest")
    );
    // `@authority` + `@path` stand for the target; a GET needs no digest.
    check(
        r#""@method" "@authority" "@path" "content-digest""#,
        &POST_POLICY,
    )
    .expect("authority and path");
    check(r#""@method" "@target-uri""#, &GET_POLICY).expect("GET");
}

#[test]
fn round_trip_post_and_get_verify() {
    let key = SigningKey::from_pem(KAT_PRIVATE_PEM).unwrap();
    let public = VerifyingKey::from_pem(KAT_PUBLIC_SPKI_PEM).unwrap();
    let now = at(KAT_CREATED);
    let url = Url::parse("http://localhost:8080/actors/marcq/inbox?x=1").unwrap();
    let headers = sign_request_rfc9421(
        "POST",
        &url,
        Some(KAT_BODY.as_bytes()),
        KAT_KEY_ID,
        &key,
        now,
    )
    .expect("signs");
    assert_eq!(
        headers[SIGNATURE_INPUT_HEADER].to_str().unwrap(),
        format!(
            r#"sig1=("@method" "@target-uri" "content-digest");created={KAT_CREATED};keyid="{KAT_KEY_ID}";alg="rsa-v1_5-sha256""#
        )
    );
    assert_eq!(headers[HOST], "localhost:8080");
    assert!(headers.get("digest").is_none(), "no draft-cavage Digest");
    let request = RequestTarget {
        method: "POST",
        scheme: "http",
        authority: "localhost:8080",
        path_and_query: "/actors/marcq/inbox?x=1",
    };
    let signature = RequestSignature::from_request_headers(&headers).unwrap();
    signature
        .verify(&request, &headers, &public, &POST_POLICY, now)
        .expect("POST verifies");
    verify_content_digest(
        headers[CONTENT_DIGEST_HEADER].to_str().unwrap(),
        KAT_BODY.as_bytes(),
    )
    .expect("digest");

    let get = sign_request_rfc9421("GET", &url, None, KAT_KEY_ID, &key, now).unwrap();
    assert!(get.get(CONTENT_DIGEST_HEADER).is_none());
    let request = RequestTarget {
        method: "GET",
        ..request
    };
    RequestSignature::from_request_headers(&get)
        .unwrap()
        .verify(&request, &get, &public, &GET_POLICY, now)
        .expect("GET verifies");
    // A GET signature does not do for a POST (no content-digest covered).
    assert_eq!(
        RequestSignature::from_request_headers(&get)
            .unwrap()
            .check_coverage_and_date(&get, &POST_POLICY, now),
        Err(SignatureError::MissingHeader("content-digest".into()))
    );
}

/// A request with both kinds is read as RFC 9421 (as Mastodon does); a draft-cavage
/// `Signature` without `Signature-Input` stays draft-cavage.
#[test]
fn both_kinds_read_as_rfc9421() {
    let key = SigningKey::from_pem(KAT_PRIVATE_PEM).unwrap();
    let url = Url::parse("https://maillage.example/inbox").unwrap();
    let now = at(KAT_CREATED);
    let cavage = sign_request_with("POST", &url, Some(b"{}"), KAT_KEY_ID, &key, now).unwrap();
    assert!(matches!(
        RequestSignature::from_request_headers(&cavage),
        Ok(RequestSignature::Cavage(_))
    ));
    let rfc = sign_request_rfc9421("POST", &url, Some(b"{}"), KAT_KEY_ID, &key, now).unwrap();
    let mut both = cavage.clone();
    both.remove(SIGNATURE_HEADER);
    for (name, value) in &rfc {
        if name.as_str() != "host" && name.as_str() != "date" {
            both.insert(name.clone(), value.clone());
        }
    }
    assert!(both.contains_key("digest"));
    assert!(matches!(
        RequestSignature::from_request_headers(&both),
        Ok(RequestSignature::Rfc9421(_))
    ));
    // Signature-Input with a draft-cavage Signature: malformed, not read as draft-cavage.
    let mut mixed = cavage.clone();
    mixed.insert(SIGNATURE_INPUT_HEADER, rfc[SIGNATURE_INPUT_HEADER].clone());
    assert!(matches!(
        RequestSignature::from_request_headers(&mixed),
        Err(SignatureError::Malformed(_))
    ));
}

#[test]
fn oversized_inputs_are_refused_before_parsing() {
    // Thousands of distinct components: refused at once, not parsed and compared.
    let names: Vec<String> = (0..10_000).map(|i| format!("\"c{i:x}\"")).collect();
    let input = format!(r#"sig1=({});created=1;keyid="k""#, names.join(" "));
    assert!(MessageSignature::parse(&input, "sig1=:AAAA:").is_err());
    let few: Vec<String> = (0..40).map(|i| format!("\"c{i}\"")).collect();
    let input = format!(r#"sig1=({});created=1;keyid="k""#, few.join(" "));
    let error = MessageSignature::parse(&input, "sig1=:AAAA:").unwrap_err();
    assert!(
        format!("{error:?}").contains("covered components"),
        "{error:?}"
    );
}

#[test]
fn parse_refuses_malformed_inputs() {
    let ok_input = format!(r#"sig1=("@method" "@target-uri");created=1;keyid="{KAT_KEY_ID}""#);
    for (input, signature) in [
        ("sig1=(", "sig1=:AAAA:"),
        (ok_input.as_str(), "sig2=:AAAA:"),
        (ok_input.as_str(), "sig1=\"AAAA\""),
        (ok_input.as_str(), "sig1=::"),
        (r#"sig1="@method";created=1;keyid="k""#, "sig1=:AAAA:"),
        (r#"sig1=(@method);created=1;keyid="k""#, "sig1=:AAAA:"),
        (r#"sig1=("@Method");created=1;keyid="k""#, "sig1=:AAAA:"),
        (
            r#"sig1=("@method" "@method");created=1;keyid="k""#,
            "sig1=:AAAA:",
        ),
        (
            r#"sig1=("content-digest";sf);created=1;keyid="k""#,
            "sig1=:AAAA:",
        ),
        (r#"sig1=("@method");created=1"#, "sig1=:AAAA:"),
        (r#"sig1=("@method");created="1";keyid="k""#, "sig1=:AAAA:"),
        (r#"sig1=("@method");created=1;keyid=k"#, "sig1=:AAAA:"),
    ] {
        assert!(
            matches!(
                MessageSignature::parse(input, signature),
                Err(SignatureError::Malformed(_))
            ),
            "{input} / {signature}"
        );
    }
    assert!(matches!(
        MessageSignature::parse(
            r#"sig1=("@method");created=1;keyid="k";alg="hmac-sha256""#,
            "sig1=:AAAA:"
        ),
        Err(SignatureError::UnsupportedAlgorithm(_))
    ));
    // Several labels: the first one present in both fields is used; unknown parameters
    // are kept in the base.
    let parsed = MessageSignature::parse(
        r#"other=("@method");created=1;keyid="x", sig1=("@method" "@target-uri");created=2;keyid="https://a.example/k";nonce="n""#,
        "sig1=:AAAA:, third=:AAAA:",
    )
    .unwrap();
    assert_eq!(parsed.label, "sig1");
    assert_eq!(
        parsed.signature_params,
        r#"("@method" "@target-uri");created=2;keyid="https://a.example/k";nonce="n""#
    );
    // Unsupported derived components are refused when the base is built.
    let (request, headers) = b2_request();
    assert!(matches!(
        rfc9421::signature_base(&request, &headers, &["@status".into()], "()"),
        Err(SignatureError::Malformed(_))
    ));
    assert_eq!(
        rfc9421::signature_base(&request, &headers, &["digest".into()], "()"),
        Err(SignatureError::MissingHeader("digest".into()))
    );
}

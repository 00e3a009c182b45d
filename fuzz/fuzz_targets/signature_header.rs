//! `Signature` and `Digest` headers as a peer may send them: the first line of the
//! input is a header value, the rest a request body.

#![no_main]

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use maillage::activitypub::signatures::{self, POST_POLICY, SignatureHeader};

fuzz_target!(|data: &[u8]| {
    let (raw, body) = match data.iter().position(|b| *b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    // As received: any bytes a header value may hold, UTF-8 or not.
    if let Ok(value) = HeaderValue::from_bytes(raw) {
        let mut headers = HeaderMap::new();
        headers.insert("signature", value.clone());
        let _ = SignatureHeader::from_request_headers(&headers);
        let mut headers = HeaderMap::new();
        headers.insert("authorization", value.clone());
        let _ = SignatureHeader::from_request_headers(&headers);
        let mut headers = HeaderMap::new();
        headers.insert("digest", value.clone());
        headers.insert("date", value);
        if let Ok(header) = std::str::from_utf8(raw) {
            if let Ok(parsed) = SignatureHeader::parse(header) {
                let _ = signatures::check_coverage_and_date(
                    &headers,
                    &parsed,
                    &POST_POLICY,
                    chrono::Utc::now(),
                );
                let _ = signatures::signing_string(
                    "POST",
                    "/inbox?x=1",
                    &headers,
                    &parsed.headers,
                    parsed.created,
                    parsed.expires,
                );
            }
        }
    }
    let Ok(header) = std::str::from_utf8(raw) else {
        return;
    };
    if let Ok(parsed) = SignatureHeader::parse(header) {
        // What `parse` promises.
        assert!(!parsed.key_id.trim().is_empty());
        assert!(!parsed.signature.is_empty());
        assert!(!parsed.headers.is_empty());
        if let Ok(owner) = parsed.key_owner() {
            assert!(matches!(owner.scheme(), "http" | "https"));
            assert!(owner.fragment().is_none());
        }
    }
    let _ = signatures::verify_digest(header, body);
    // The digest of a body always verifies against that body.
    assert_eq!(
        signatures::verify_digest(&signatures::digest_header(body), body),
        Ok(())
    );
});

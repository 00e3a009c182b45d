//! An inbound activity as the inbox reads it, with no database: the body parsed as
//! JSON, its envelope, the ids of its object, then the readers `receive` applies to a
//! `Create`/`Update` (an `Article` with `mai:` terms becomes an action, a `Note`
//! answering something becomes a comment) and the sanitiser of remote HTML.

#![no_main]

use libfuzzer_sys::fuzz_target;
use maillage::domain::SafeHtml;
use maillage::federation::inbox::{self, MAX_ID_LEN};
use maillage::federation::objects::action::{ArticleJson, as_to_action, has_mai_terms};
use maillage::federation::objects::comment::ReplyJson;
use serde_json::Value;

fn is_web(url: &url::Url) -> bool {
    matches!(url.scheme(), "http" | "https")
}

/// The tags of serialised HTML (`<` then a letter; text has `&lt;`): for each, its
/// name and its text up to the `>` that ends it (not one inside a quoted value).
fn tags(html: &str) -> Vec<(String, String)> {
    let bytes = html.as_bytes();
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(offset) = bytes[at..].iter().position(|b| *b == b'<') {
        let start = at + offset + 1;
        at = start;
        if !bytes.get(start).is_some_and(u8::is_ascii_alphabetic) {
            continue;
        }
        let mut quote = None;
        let mut end = start;
        while end < bytes.len() {
            match (quote, bytes[end]) {
                (None, b'>') => break,
                (None, q @ (b'"' | b'\'')) => quote = Some(q),
                (Some(q), b) if b == q => quote = None,
                _ => {}
            }
            end += 1;
        }
        let tag = html[start..end].to_ascii_lowercase();
        let name = tag
            .split(|c: char| c.is_ascii_whitespace() || c == '/')
            .next()
            .unwrap_or_default()
            .to_string();
        found.push((name, tag));
        at = end;
    }
    found
}

/// Sanitised HTML holds no element that runs or loads anything, no event handler, no
/// `javascript:` URL in an attribute, no NUL.
fn check_html(html: &SafeHtml) {
    assert!(!html.as_str().contains('\0'));
    for (name, tag) in tags(html.as_str()) {
        assert!(
            !matches!(
                name.as_str(),
                "script" | "iframe" | "img" | "svg" | "math" | "object" | "embed" | "style"
            ),
            "<{tag}>"
        );
        // Serialised attributes are `name="value"`, `"` escaped inside values.
        let mut rest = tag[name.len()..].trim_start();
        while let Some((attribute, after)) = rest.split_once("=\"") {
            let (value, after) = after.split_once('"').unwrap_or((after, ""));
            assert!(!attribute.trim().starts_with("on"), "<{tag}>");
            let value = value.trim_start_matches(|c: char| c.is_whitespace() || c.is_control());
            assert!(!value.starts_with("javascript:"), "<{tag}>");
            rest = after.trim_start();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(activity) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Ok(envelope) = inbox::envelope(&activity) {
        assert!(!envelope.kind.is_empty());
        assert!(envelope.id.as_str().len() <= MAX_ID_LEN);
        assert!(is_web(&envelope.id) && is_web(&envelope.actor));
    }
    let object = activity.get("object").cloned().unwrap_or(Value::Null);
    for document in [&activity, &object] {
        if let Some(id) = inbox::id_of(document) {
            assert!(id.as_str().len() <= MAX_ID_LEN);
        }
        let _ = has_mai_terms(document);
        if let Ok(article) = serde_json::from_value::<ArticleJson>(document.clone()) {
            let action = as_to_action(&article);
            assert!(action.name.chars().count() <= 200 && !action.name.contains('\0'));
            check_html(&action.content.html);
            for text in action.results.iter().chain(&action.recommendations) {
                check_html(&text.html);
            }
            for link in action.links.iter().chain(&action.images) {
                assert!(is_web(&link.url));
            }
            for url in action.software.iter().filter_map(|s| s.url.as_ref()) {
                assert!(is_web(url));
            }
            for url in action.providers.iter().filter_map(|p| p.url.as_ref()) {
                assert!(is_web(url));
            }
            assert!(action.locations.len() <= 50 && action.software.len() <= 50);
        }
        let _ = ReplyJson::target(document);
        if let Ok(reply) = ReplyJson::read(document) {
            for id in [&reply.id, &reply.attributed_to, &reply.in_reply_to] {
                assert!(id.as_str().len() <= MAX_ID_LEN);
            }
            check_html(&SafeHtml::sanitize_bounded(&reply.content));
        }
        if let Some(content) = document.get("content").and_then(Value::as_str) {
            let html = SafeHtml::sanitize_bounded(content);
            check_html(&html);
            let _ = html.to_plain_text();
        }
    }
});

//! The direction of imports (issue 15): the pure ActivityPub layer (`src/activitypub/`)
//! and the domain (`src/domain/`) import no module above them, and neither `service/`
//! nor `web/` imports `api/` (validation is in `domain::drafts`, permissions in
//! `service::permissions`). Read from the source text, `use crate::…` and `crate::…`
//! paths alike, comments included, so a new import that breaks the layering fails here.

use std::path::{Path, PathBuf};

/// The only modules `activitypub` may import: the ones below it.
const BELOW: [&str; 3] = ["domain", "taxonomy", "referential"];

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The top-level `crate::` modules `text` names (`use crate::db::…`, `crate::db::x()`,
/// `use crate::{db, …}`).
fn crate_modules(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        let names: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => group
                .split('}')
                .next()
                .unwrap_or_default()
                .split(',')
                .collect(),
            None => vec![rest],
        };
        for name in names {
            let name: String = name
                .trim()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push(name);
            }
        }
    }
    found
}

/// Every `crate::` module a file under `src/<layer>` names that `allowed` rejects, and
/// every `super::` chain long enough to leave the layer without naming `crate::`.
fn wrong_imports(layer: &str, allowed: impl Fn(&str) -> bool) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(layer);
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(files.len() > 3, "the layer's files: {files:?}");
    let mut wrong = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for module in crate_modules(&text) {
            if module != layer && !allowed(&module) {
                wrong.push(format!("{} imports crate::{module}", file.display()));
            }
        }
        // `super::` chains longer than the file's depth under src/<layer> leave the
        // layer without naming `crate::`.
        // (`a/mod.rs` is module `a`, `a/b.rs` module `a::b`.)
        let parts = file.strip_prefix(&root).unwrap().components().count();
        let depth = if file.ends_with("mod.rs") {
            parts
        } else {
            parts + 1
        };
        let escape = "super::".repeat(depth);
        if text.contains(&escape) {
            wrong.push(format!(
                "{} reaches out of the layer with {escape}",
                file.display()
            ));
        }
    }
    wrong
}

#[test]
fn activitypub_imports_no_layer_above_it() {
    let wrong = wrong_imports("activitypub", |module| BELOW.contains(&module));
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn domain_imports_no_layer_above_it() {
    // The domain sits with the taxonomy and the referential, at the bottom.
    let wrong = wrong_imports("domain", |module| {
        ["taxonomy", "referential"].contains(&module)
    });
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn service_and_web_do_not_import_the_api() {
    // Drafts and their validation are in `domain::drafts`, permissions in
    // `service::permissions`: what the API shares with the others sits below it.
    for layer in ["service", "web"] {
        let wrong = wrong_imports(layer, |module| module != "api");
        assert!(wrong.is_empty(), "{wrong:#?}");
    }
}

#[test]
fn the_import_reader_sees_every_form() {
    let text = "use crate::db::Store;\nlet x = crate::state::AppState::new();\nuse crate::{api, web::pages};";
    assert_eq!(crate_modules(text), ["db", "state", "api", "web"]);
}

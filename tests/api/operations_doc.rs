//! The operator's documents state what the code does: every metric the node records is
//! explained in docs/operations.md, and the files the documents show (alert rules,
//! proxy examples) are the ones shipped and checked (`promtool`, `caddy validate`),
//! word for word.

use std::path::Path;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, found: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// The metric names given to `counter!`, `gauge!` and `histogram!` in the node's code.
fn recorded_metrics() -> Vec<String> {
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut names = Vec::new();
    for file in files {
        for macro_name in ["counter!(", "gauge!(", "histogram!("] {
            for (at, _) in file.match_indices(macro_name) {
                let rest = file[at + macro_name.len()..].trim_start();
                if let Some(name) = rest.strip_prefix('"').and_then(|r| r.split('"').next()) {
                    names.push(name.to_string());
                }
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

#[test]
fn every_metric_is_documented() {
    let doc = read("docs/operations.md");
    let names = recorded_metrics();
    assert!(names.len() >= 7, "{names:?}");
    for name in &names {
        assert!(
            doc.contains(&format!("| `{name}` |")),
            "{name} is not in the metrics table of docs/operations.md"
        );
    }
}

#[tokio::test]
async fn every_exposed_metric_is_documented() {
    let app = crate::helpers::spawn_app(crate::helpers::Engine::Sqlite)
        .await
        .unwrap();
    // A request first, so that the request metrics exist.
    app.get_html("/").await;
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let doc = read("docs/operations.md");
    let exposed: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(exposed.contains(&"maillage_http_requests_total"), "{text}");
    for name in exposed {
        assert!(
            doc.contains(&format!("| `{name}` |")),
            "{name} is not in the metrics table of docs/operations.md"
        );
    }
}

#[test]
fn shown_files_are_the_shipped_ones() {
    let operations = read("docs/operations.md");
    let deployment = read("docs/deployment.md");
    for (doc, name, file) in [
        (
            &operations,
            "operations.md",
            "packaging/prometheus/maillage.rules.yml",
        ),
        (&deployment, "deployment.md", "packaging/examples/Caddyfile"),
        (
            &deployment,
            "deployment.md",
            "packaging/examples/nginx.conf",
        ),
    ] {
        let shown = read(file);
        assert!(
            doc.contains(&format!("\n{shown}```\n")),
            "docs/{name} does not show {file} as it is"
        );
    }
}

//! `maillage demo` as a newcomer runs it (a real process): the aggregator, whose
//! default admission policy lists only verified collectivités (issue 19), lists every
//! sample action, each town's official website verified through the `rel="me"` page
//! the demo serves.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Kills the demo when the test ends, however it ends.
struct Demo(std::process::Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_aggregator_lists_verified_towns() {
    let port = portpicker_base();
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_maillage"))
        .args(["demo", "--base-port", &port.to_string()])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MAILLAGE_LOG__LEVEL", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run maillage demo");
    let stdout = child.stdout.take().unwrap();
    let _demo = Demo(child);
    let aggregator = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|line| {
                line.split_once("Annuaire (agrégateur) : ")
                    .map(|(_, url)| url.trim().trim_end_matches('/').to_string())
            })
    })
    .await
    .unwrap()
    .expect("the demo prints the aggregator's address");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let listed: Value = loop {
        let body: Value = client
            .get(format!(
                "{aggregator}/api/v1/directory/actions?per_page=100"
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if body["total"] == 45 || Instant::now() > deadline {
            break body;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(listed["total"], 45, "{listed}");
    for item in listed["items"].as_array().unwrap() {
        let owner = &item["collectivite"];
        assert!(owner["website_verified_at"].is_string(), "{owner}");
    }
}

/// A base port with the two next ones free, away from the demo's default.
fn portpicker_base() -> u16 {
    loop {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = listener.local_addr().unwrap().port();
        drop(listener);
        if base < 65000
            && (1..3).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok())
        {
            return base;
        }
    }
}

//! The directory in a real browser: headless Chromium driven over WebDriver
//! (chromedriver, Debian's `chromium-driver`). Loads the home page, checks the result
//! list and the map markers, applies a filter through the form, checks both again.
//! Skipped (and said so) without chromedriver, unless `MAILLAGE_REQUIRE_BROWSER=1`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{Engine, TestApp, spawn_app_with};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

pub(crate) struct Driver {
    child: Child,
    base: String,
    session: String,
    client: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    pub(crate) async fn start() -> Option<Driver> {
        if !std::path::Path::new(CHROMEDRIVER).exists() || !std::path::Path::new(CHROMIUM).exists()
        {
            assert!(
                std::env::var("MAILLAGE_REQUIRE_BROWSER").is_err(),
                "MAILLAGE_REQUIRE_BROWSER is set but {CHROMEDRIVER} or {CHROMIUM} is missing"
            );
            crate::helpers::say_skipped("browser test (install chromium and chromium-driver)");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while client.get(format!("{base}/status")).send().await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                         "--disable-dev-shm-usage", "--disable-component-update", "--disable-sync",
                         "--no-first-run", format!("--user-data-dir={}", profile.path().display())],
            }
        }}});
        let session: Value = client
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = session["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {session}"))
            .to_string();
        Some(Driver {
            child,
            base,
            session,
            client,
            _profile: profile,
        })
    }

    pub(crate) async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let response: Value = self
            .client
            .request(method, url)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            response["value"].get("error").is_none(),
            "WebDriver {path}: {response}"
        );
        response["value"].clone()
    }

    pub(crate) async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", json!({"url": url}))
            .await;
    }

    pub(crate) async fn script(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            json!({"script": script, "args": []}),
        )
        .await
    }

    pub(crate) async fn click(&self, css: &str) {
        let element = self
            .call(
                reqwest::Method::POST,
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        let id = element
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .as_str()
            .unwrap()
            .to_string();
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            json!({}),
        )
        .await;
    }

    /// Waits until the map has drawn its markers; returns how many.
    pub(crate) async fn markers(&self) -> i64 {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let value = self.script("var m = document.getElementById('carte'); return m ? (m.dataset.markers || null) : 'no map';").await;
            if let Some(text) = value.as_str() {
                return text.parse().unwrap_or_else(|_| panic!("map: {text}"));
            }
            assert!(Instant::now() < deadline, "the map drew no markers");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the page's query string contains `needle` (the form was submitted).
    pub(crate) async fn wait_for_query(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self
            .script("return location.search;")
            .await
            .as_str()
            .unwrap()
            .contains(needle)
        {
            assert!(
                Instant::now() < deadline,
                "the form did not submit ({needle})"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(crate) async fn result_names(&self) -> Vec<String> {
        let value = self.script("return Array.from(document.querySelectorAll('#liste article h3')).map(h => h.textContent.trim());").await;
        value
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }

    pub(crate) async fn end(self) {
        self.call(reqwest::Method::DELETE, "", json!({})).await;
    }
}

async fn seed(app: &TestApp) {
    for (user, insee, actions) in [
        (
            "marcq",
            "59378",
            vec![
                ("Guichet numérique", "services-publics"),
                ("École connectée", "education"),
            ],
        ),
        ("lille", "59350", vec![("Médiathèque numérique", "culture")]),
        (
            "rennes",
            "35238",
            vec![
                ("Budget participatif", "democratie-locale"),
                ("Conseillers numériques", "solidarites"),
            ],
        ),
    ] {
        let token = app.collectivite_with_token(user, insee).await;
        for (name, theme) in actions {
            app.publish(
                user,
                &token,
                &json!({"name": name, "content": "Une action numérique.", "themes": [theme]}),
            )
            .await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_page_filters_list_and_map() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    // No tiles: the test must not reach the network; the France outline is drawn.
    let app = spawn_app_with(Engine::Sqlite, |s| s.map.tile_url = String::new())
        .await
        .unwrap();
    seed(&app).await;

    driver.goto(&app.url("/")).await;
    assert_eq!(
        driver.markers().await,
        5,
        "one marker per action (town halls)"
    );
    assert_eq!(driver.result_names().await.len(), 5);
    let outline = driver
        .script("return document.querySelectorAll('#carte path').length;")
        .await;
    assert!(
        outline.as_i64().unwrap() >= 1,
        "the France outline or markers are drawn as SVG paths"
    );

    // Apply a filter through the form: département Nord, then submit.
    driver.click("#departement option[value='59']").await;
    driver.click(".filters button[type=submit]").await;
    driver.wait_for_query("departement=59").await;
    assert_eq!(driver.markers().await, 3);
    let mut names = driver.result_names().await;
    names.sort();
    assert_eq!(
        names,
        [
            "Guichet numérique",
            "Médiathèque numérique",
            "École connectée"
        ]
    );
    let heading = driver
        .script("return document.getElementById('resultats').textContent;")
        .await;
    assert_eq!(heading.as_str().unwrap(), "3 actions trouvées");

    // And a theme checkbox on top.
    driver.click("#theme-culture").await;
    driver.click(".filters button[type=submit]").await;
    driver.wait_for_query("theme=culture").await;
    assert_eq!(driver.markers().await, 1);
    assert_eq!(driver.result_names().await, ["Médiathèque numérique"]);
    driver.end().await;
}

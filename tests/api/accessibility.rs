//! RGAA 4.1 (WCAG 2.1 AA) in a real browser, on the demo's data (`maillage demo`'s
//! towns and actions, all on one node): axe-core 4.14.1 (vendored in
//! `tests/fixtures/axe/`, see its README) injected into every public page and every
//! admin page at 1280 px and 320 px, with zero serious or critical violations; no
//! horizontal scroll at 320 px (RGAA 10.11); the map operable by keyboard; focus on
//! the error summary after a failed submit; the home page's weight once compressed.
//! Skipped (and said so) without chromedriver, unless `MAILLAGE_REQUIRE_BROWSER=1`.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::admin_browser::account;
use crate::browser::Driver;
use crate::helpers::{Engine, TestApp, spawn_app_with};

const AXE: &str = include_str!("../fixtures/axe/axe.min.js");

/// The widths every page is checked at: a desktop and the narrowest phone RGAA 10.11
/// names (320 CSS pixels).
const WIDTHS: [u32; 2] = [1280, 320];

/// The home page's budget, all resources included, as transferred (compressed).
const HOME_BUDGET: f64 = 120.0 * 1024.0;

impl Driver {
    /// Emulates a screen `width` CSS pixels wide (a phone below 500 px).
    async fn viewport(&self, width: u32) {
        self.call(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            json!({"cmd": "Emulation.setDeviceMetricsOverride", "params": {
                "width": width, "height": 900, "deviceScaleFactor": 1,
                // Not "mobile": a mobile layout viewport widens to fit overflowing
                // content, which would hide the very scroll RGAA 10.11 forbids.
                "mobile": false,
            }}),
        )
        .await;
    }

    /// Waits for the page to be loaded and its maps drawn.
    async fn settled(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = self
                .script(
                    "return document.readyState === 'complete' && \
                     Array.from(document.querySelectorAll('#carte, .mini-map[data-points]')).every(m => m.dataset.markers !== undefined);",
                )
                .await;
            if ready == json!(true) {
                return;
            }
            assert!(Instant::now() < deadline, "the page did not settle");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs axe-core's WCAG 2.0/2.1 A and AA rules on the current page; returns its
    /// serious and critical violations, one line each with where they are.
    async fn axe(&self) -> Vec<String> {
        if self.script("return typeof window.axe;").await != json!("object") {
            self.script(AXE).await;
        }
        let result = self
            .call(
                reqwest::Method::POST,
                "/execute/async",
                json!({"script": "var done = arguments[arguments.length - 1];
                    axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
                      .then(function (r) { done(r.violations.filter(function (v) { return v.impact === 'serious' || v.impact === 'critical'; })
                        .map(function (v) { return v.impact + ' ' + v.id + ' (' + v.help + '): ' + v.nodes.slice(0, 4).map(function (n) { return n.target.join(' ') + ' ' + (n.failureSummary || '').replace(/\\s+/g, ' ').slice(0, 160); }).join(' | '); })); })
                      .catch(function (e) { done(['axe failed: ' + e]); });",
                    "args": []}),
            )
            .await;
        result
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }

    /// `(scrollWidth, innerWidth)` when the page scrolls sideways in a window
    /// `width` pixels wide.
    async fn sideways(&self, width: u32) -> Option<(i64, i64)> {
        let sizes = self
            .script("return [document.scrollingElement.scrollWidth, window.innerWidth];")
            .await;
        let (scroll, inner) = (sizes[0].as_i64().unwrap(), sizes[1].as_i64().unwrap());
        assert_eq!(inner, i64::from(width), "the emulated width");
        (scroll > inner).then_some((scroll, inner))
    }

    /// What the widest elements are, to say why a page scrolls sideways.
    async fn too_wide(&self) -> Value {
        self.script(
            "var w = window.innerWidth; return Array.from(document.querySelectorAll('body *'))
               .filter(function (e) { var r = e.getBoundingClientRect(); return r.right > w + 1; })
               .slice(0, 6).map(function (e) { return e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right); });",
        )
        .await
    }

    /// Presses `key` (a WebDriver key code) on the focused element.
    async fn key(&self, key: &str) {
        self.call(
            reqwest::Method::POST,
            "/actions",
            json!({"actions": [{"type": "key", "id": "clavier", "actions": [
                {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]}]}),
        )
        .await;
        self.call(reqwest::Method::DELETE, "/actions", json!({}))
            .await;
    }
}

/// A node with the demo's data and an editor of every town who is also the node's
/// admin; returns it with the pages to check.
async fn demo_node() -> (TestApp, Vec<String>, Vec<String>) {
    let app = spawn_app_with(Engine::Sqlite, |s| {
        s.node.contact = "accessibilite@ville.example".into();
    })
    .await
    .unwrap();
    let towns = maillage::cli::demo::seed_one_node(&app.state)
        .await
        .unwrap();
    let town_refs: Vec<&str> = towns.iter().map(String::as_str).collect();
    account(&app, "claire", &town_refs, true).await;

    let lille = app.actor("lille").await;
    let actions = app
        .state
        .store
        .actions_of(lille.id, None, 100)
        .await
        .unwrap();
    let shared = actions
        .iter()
        .find(|a| !a.partners.is_empty() && !a.data.software.is_empty())
        .expect("a demo action of Lille with partners and software");
    let provider = actions
        .iter()
        .find_map(|a| a.data.providers.first())
        .expect("a provider");
    let public = vec![
        "/".to_string(),
        "/?q=numerique&departement=59".into(),
        "/?q=zzzzzz".into(),
        "/statistiques".into(),
        "/accessibilite".into(),
        format!("/actors/{}", lille.username),
        shared.ap_id.path().to_string(),
        format!("/themes/{}", shared.data.themes[0]),
        "/departements/59".into(),
        "/regions/32".into(),
        format!("/logiciels/{}", shared.data.software[0].name),
        format!("/prestataires/{}", provider.name),
        "/ns".into(),
        "/page-inconnue".into(),
    ];
    let admin = vec![
        "/admin".to_string(),
        "/admin/c/lille/actions".into(),
        "/admin/c/lille/actions/nouvelle".into(),
        format!("/admin/c/lille/actions/{}", shared.id),
        "/admin/c/lille/profil".into(),
        "/admin/c/lille/abonnements".into(),
        "/admin/c/lille/partenariats".into(),
        "/admin/c/lille/commentaires".into(),
        "/admin/c/lille/import".into(),
        "/admin/blocages".into(),
    ];
    (app, public, admin)
}

/// Submits an empty new action as the editor: the form comes back refused.
async fn refuse_new_action(driver: &Driver, app: &TestApp) {
    driver
        .open_as(app, "/admin/c/lille/actions/nouvelle", "claire")
        .await;
    driver.press("Publier").await;
    driver
        .wait_for(
            "the error summary",
            "document.querySelector('.error-summary') !== null",
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_passes_axe_and_reflows_at_320_px() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let (app, public, admin) = demo_node().await;
    driver
        .call(
            reqwest::Method::POST,
            "/timeouts",
            json!({"script": 120_000}),
        )
        .await;
    // The harness finds what it must: a page with a known serious failure.
    driver
        .goto("data:text/html;charset=utf-8,<html lang=fr><title>t</title><main><img src=x.png><a href=%23 style='color:%23ccc'>lien</a></main></html>")
        .await;
    let known = driver.axe().await;
    assert!(
        known.iter().any(|v| v.contains("image-alt"))
            && known.iter().any(|v| v.contains("color-contrast")),
        "axe misses known failures: {known:?}"
    );
    let mut failures = Vec::new();
    let mut check = async |path: &str, width: u32| {
        driver.settled().await;
        for violation in driver.axe().await {
            failures.push(format!("{path} at {width} px: {violation}"));
        }
        let declaration = driver
            .script("return document.querySelector('footer a[href=\"/accessibilite\"]') !== null;")
            .await;
        if declaration != json!(true) {
            failures.push(format!("{path}: no link to /accessibilite in the footer"));
        }
        if width == 320 {
            if let Some((scroll, inner)) = driver.sideways(width).await {
                failures.push(format!(
                    "{path} at 320 px scrolls sideways: {scroll} px wide in {inner} px ({})",
                    driver.too_wide().await
                ));
            }
        }
    };
    for width in WIDTHS {
        driver.viewport(width).await;
        for path in &public {
            driver.goto(&app.url(path)).await;
            check(path, width).await;
        }
        // The sign-in page, then every admin page signed in.
        driver.goto(&app.url("/admin/connexion")).await;
        check("/admin/connexion", width).await;
        for path in &admin {
            driver.open_as(&app, path, "claire").await;
            check(path, width).await;
        }
        // A refused form: the page with its error summary.
        refuse_new_action(&driver, &app).await;
        check("/admin/c/lille/actions/nouvelle (refused)", width).await;
    }
    assert!(
        failures.is_empty(),
        "{} accessibility failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    driver.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_form_moves_focus_to_its_errors() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let (app, _, _) = demo_node().await;
    driver
        .open_as(&app, "/admin/c/lille/actions/nouvelle", "claire")
        .await;
    // Required fields are marked so, visibly and for assistive technologies.
    let required = driver
        .script(
            "return ['name', 'content'].map(function (id) { var e = document.getElementById(id);
               return e.required && e.getAttribute('aria-required') === 'true'
                 && document.querySelector('label[for=' + id + ']').textContent.indexOf('(obligatoire)') > 0; });",
        )
        .await;
    assert_eq!(required, json!([true, true]));
    refuse_new_action(&driver, &app).await;
    let focus = driver
        .script("return document.activeElement === document.querySelector('.error-summary');")
        .await;
    assert_eq!(focus, json!(true), "focus is on the error summary");
    let title = driver.script("return document.title;").await;
    assert!(
        title.as_str().unwrap().starts_with("Erreur : "),
        "title: {title}"
    );
    driver.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_map_works_with_a_keyboard() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let (app, _, _) = demo_node().await;
    driver.viewport(1280).await;
    driver.goto(&app.url("/")).await;
    let markers = driver.markers().await;
    let total = app.state.store.directory_counts().await.unwrap().2;
    assert!(
        markers >= total,
        "a point per demo action at least: {markers}"
    );

    // A link before the map goes to the list, which has the same count.
    let link = driver
        .script("var a = document.querySelector('.map-skip a'); return [a.getAttribute('href'), a.textContent];")
        .await;
    assert_eq!(link[0], "#resultats");
    assert_eq!(
        link[1].as_str().unwrap(),
        format!("Voir ces résultats en liste ({total} actions trouvées)")
    );
    let heading = driver
        .script("return document.getElementById('resultats').textContent;")
        .await;
    assert_eq!(
        heading.as_str().unwrap(),
        format!("{total} actions trouvées")
    );

    // From the top of the page, Tab, Tab, Enter (the skip link to the results), Tab:
    // the first result (the issue counted 37 Tab presses).
    driver.goto(&app.url("/")).await;
    driver.markers().await;
    driver.key("\u{E004}").await;
    driver.key("\u{E004}").await;
    let skip = driver
        .script("return document.activeElement.getAttribute('href');")
        .await;
    assert_eq!(
        skip, "#resultats",
        "the second Tab stop skips to the results"
    );
    driver.key("\u{E007}").await;
    driver.key("\u{E004}").await;
    let first = driver
        .script("return document.activeElement === document.querySelector('#liste article h3 a');")
        .await;
    assert_eq!(first, json!(true), "four key presses to the first result");

    // French controls; the map is not an image around controls.
    let controls = driver
        .script(
            "return [document.querySelector('.leaflet-control-zoom-in').getAttribute('aria-label'),
                     document.querySelector('.leaflet-control-zoom-out').getAttribute('aria-label'),
                     document.getElementById('carte').getAttribute('role')];",
        )
        .await;
    assert_eq!(controls, json!(["Zoomer", "Dézoomer", "region"]));

    // Clusters are buttons named with their count.
    let clusters = driver
        .script(
            "return Array.from(document.querySelectorAll('.marker-cluster')).map(function (c) {
               return c.getAttribute('role') + ' ' + c.tabIndex + ' ' + c.getAttribute('aria-label'); });",
        )
        .await;
    let clusters: Vec<String> = clusters
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert!(
        !clusters.is_empty(),
        "the demo's towns cluster at this zoom"
    );
    for cluster in &clusters {
        assert!(
            cluster.starts_with("button 0 ") && cluster.contains(" actions : zoomer"),
            "{cluster}"
        );
    }

    // Enter on a cluster zooms in until markers show; Enter or Space on a marker
    // opens its bubble with focus on the link; Escape closes it and focus returns.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let marker = driver
            .script("return document.querySelector('.action-marker') !== null;")
            .await;
        if marker == json!(true) {
            break;
        }
        assert!(Instant::now() < deadline, "no marker after zooming");
        driver
            .script("document.querySelector('.marker-cluster').focus();")
            .await;
        driver.key("\u{E007}").await;
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    let name = driver
        .script(
            "var m = document.querySelector('.action-marker'); m.focus();
             return [m.getAttribute('role'), m.getAttribute('aria-label')];",
        )
        .await;
    assert_eq!(name[0], "button");
    let label = name[1].as_str().unwrap().to_string();
    assert!(
        label.contains(" — "),
        "marker named by action and town: {label}"
    );
    // Enter, then Space (a `role="button"` answers both), each closed by Escape.
    for (key, name) in [("\u{E007}", "Enter"), (" ", "Space")] {
        driver.key(key).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let focused = driver
                .script(
                    "var a = document.activeElement; return a && a.closest('.leaflet-popup-content') ? a.textContent : null;",
                )
                .await;
            if let Some(text) = focused.as_str() {
                assert!(label.starts_with(text), "{text} / {label}");
                break;
            }
            assert!(Instant::now() < deadline, "{name} did not open the bubble");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        driver.key("\u{E00C}").await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while driver
            .script("return document.activeElement.classList.contains('action-marker') && document.querySelector('.leaflet-popup') === null;")
            .await
            != json!(true)
        {
            assert!(
                Instant::now() < deadline,
                "Escape closes the bubble and puts focus back on the marker"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    driver.end().await;
}

/// WCAG 2.1 relative luminance of an `rgb(r, g, b)` / `rgba(…)` CSS colour.
fn luminance(css: &str) -> f64 {
    let channels: Vec<f64> = css
        .trim_start_matches("rgba(")
        .trim_start_matches("rgb(")
        .trim_end_matches(')')
        .split(',')
        .take(3)
        .map(|c| c.trim().parse::<f64>().unwrap() / 255.0)
        .map(|c| {
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        })
        .collect();
    0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]
}

fn contrast(a: &str, b: &str) -> f64 {
    let (a, b) = (luminance(a), luminance(b));
    (a.max(b) + 0.05) / (a.min(b) + 0.05)
}

/// RGAA 10.7 / WCAG 2.4.7 with 1.4.11: the focus indicator of every element reached
/// with Tab is a solid outline of at least 2 px, at least 3:1 against the page's
/// white and the grey of the header and footer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn focus_is_visible_at_3_to_1_on_every_background() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let (app, _, _) = demo_node().await;
    driver.viewport(1280).await;
    for path in ["/", "/statistiques", "/admin/c/lille/actions/nouvelle"] {
        driver.open_as(&app, path, "claire").await;
        driver.settled().await;
        let mut seen = 0;
        for _ in 0..25 {
            driver.key("\u{E004}").await;
            let style = driver
                .script(
                    "var e = document.activeElement; if (!e || e === document.body) { return null; }
                     var s = getComputedStyle(e);
                     return [e.tagName + ' ' + (e.textContent || e.id || '').trim().slice(0, 30), s.outlineStyle, s.outlineWidth, s.outlineColor];",
                )
                .await;
            let Some(style) = style.as_array() else {
                continue;
            };
            seen += 1;
            let (what, outline, width, color) = (
                style[0].as_str().unwrap(),
                style[1].as_str().unwrap(),
                style[2].as_str().unwrap(),
                style[3].as_str().unwrap(),
            );
            let px: f64 = width.trim_end_matches("px").parse().unwrap();
            assert!(
                outline == "solid" && px >= 2.0,
                "{path}: {what}: outline {outline} {width}"
            );
            for background in ["rgb(255, 255, 255)", "rgb(242, 245, 248)"] {
                let ratio = contrast(color, background);
                assert!(
                    ratio >= 3.0,
                    "{path}: {what}: focus {color} on {background} is {ratio:.2}:1"
                );
            }
        }
        assert!(seen >= 10, "{path}: Tab reached {seen} elements");
    }
    driver.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_page_weighs_at_most_120_kib_transferred() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let (app, _, _) = demo_node().await;
    driver.goto(&app.url("/")).await;
    driver.markers().await;
    // Let the outline's fetch finish too.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sizes = driver
        .script(
            "var all = performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'));
             return all.map(function (e) { return [e.name, e.transferSize, e.encodedBodySize, e.decodedBodySize]; });",
        )
        .await;
    let sizes = sizes.as_array().unwrap();
    let total: f64 = sizes.iter().map(|s| s[1].as_f64().unwrap()).sum();
    let decoded: f64 = sizes.iter().map(|s| s[3].as_f64().unwrap()).sum();
    assert!(sizes.len() >= 8, "HTML, CSS, scripts, GeoJSON: {sizes:?}");
    assert!(
        total <= HOME_BUDGET,
        "home page: {total} bytes transferred (> 120 KiB): {sizes:?}"
    );
    assert!(
        total * 2.0 < decoded,
        "compressed: {total} transferred for {decoded} decoded"
    );
    eprintln!(
        "home page: {:.1} KiB transferred, {:.1} KiB decoded, {} requests",
        total / 1024.0,
        decoded / 1024.0,
        sizes.len()
    );
    driver.end().await;
}

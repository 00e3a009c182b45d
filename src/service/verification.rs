//! Verified official websites (issue 19, SPEC §11 "Trust on aggregators"), as Mastodon's
//! `VerifyLinkService` verifies profile links: the page at a collectivité's `website`
//! is fetched through the node's guarded client (no private address outside debug
//! mode, 10 s per request, at most [`MAX_PAGE_BYTES`] read, at most
//! [`MAX_REDIRECTS`] redirects and only within the site's own domain), and the
//! collectivité is verified when an `<a>` or `<link>` whose `rel` holds `me` points
//! to its actor id ([`VerifiedBy::RelMe`]). A node whose own domain is the website's
//! host or a subdomain of it is verified for its collectivités once the website
//! answers ([`VerifiedBy::Domain`]). The outcome goes to the `actors.website_*`
//! columns (`db/verification.rs`); a failure after a success clears the verification.
//!
//! Checks run on a local profile change, when a remote actor arrives with a new
//! website ([`spawn_check`], in the background), periodically ([`run`], every
//! `federation.website_check_interval_hours`), and on demand ([`check_now`]: CLI
//! `maillage collectivite verify`, API `POST …/website/check`, the admin's button).
//! At most `federation.website_checks` run at once, one per collectivité.

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use chrono::Utc;
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use url::Url;

use crate::domain::{Collectivite, VerifiedBy, WebsiteCheck};
use crate::error::AppResult;
use crate::federation::delivery::is_private_ip_literal;
use crate::state::AppState;

/// Bytes of a website's page read at most (Mastodon reads 1 MiB); the rest is not read.
pub const MAX_PAGE_BYTES: usize = 1024 * 1024;

/// Redirects followed at most, each within the website's own domain.
pub const MAX_REDIRECTS: usize = 3;

/// Longest one check may take, redirects included.
const CHECK_DEADLINE: Duration = Duration::from_secs(30);

/// Checks running now, by actor id (one at a time per collectivité), and the permits
/// bounding how many run at once (`federation.website_checks`, set at first use).
static RUNNING: LazyLock<Mutex<HashSet<i64>>> = LazyLock::new(Mutex::default);
static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();

fn slots(state: &AppState) -> &'static tokio::sync::Semaphore {
    SLOTS.get_or_init(|| tokio::sync::Semaphore::new(state.settings.federation.website_checks))
}

/// The line a town puts on its website for `actor_id` (shown in the editor's admin).
pub fn link_to_copy(actor_id: &Url) -> String {
    format!(
        r#"<a rel="me" href="{}">Notre page sur Maillage</a>"#,
        crate::domain::html::escape(actor_id.as_str())
    )
}

/// The `<link>` form of [`link_to_copy`], for the page's `<head>`.
pub fn head_link_to_copy(actor_id: &Url) -> String {
    format!(
        r#"<link rel="me" href="{}">"#,
        crate::domain::html::escape(actor_id.as_str())
    )
}

/// True when a node of `node_domain` (`host` or `host:port`, as configured) is on the
/// domain of `website`: its host, or a subdomain of it, on the same port
/// (`maillage.marcq-en-baroeul.fr` for `https://www.marcq-en-baroeul.fr/` is not; for
/// `https://marcq-en-baroeul.fr/` it is).
pub fn official_domain(node_domain: &str, website: &Url) -> bool {
    let Some(site_host) = website.host_str() else {
        return false;
    };
    let node = node_domain.to_ascii_lowercase();
    let (node_host, node_port) = match node.rsplit_once(':') {
        Some((host, port)) if port.parse::<u16>().is_ok() => (host, port.parse::<u16>().ok()),
        _ => (node.as_str(), None),
    };
    let site_host = site_host.to_ascii_lowercase();
    node_port == website.port()
        && (node_host == site_host || node_host.ends_with(&format!(".{site_host}")))
}

/// True when a redirect from the website `site` to `target` stays within the site's
/// own domain. Without a public-suffix list in the build, the site's registrable
/// domain is read conservatively: its host, with a leading `www.` dropped; the target
/// must be that host or a subdomain of it (`ville.fr` ↔ `www.ville.fr`, never
/// `ville.fr` → `autre.fr`).
pub fn same_site(site: &Url, target: &Url) -> bool {
    let (Some(site), Some(target)) = (site.host_str(), target.host_str()) else {
        return false;
    };
    let site = site.to_ascii_lowercase();
    let base = site.strip_prefix("www.").unwrap_or(&site);
    let target = target.to_ascii_lowercase();
    target == base || target.ends_with(&format!(".{base}"))
}

/// The targets of the `<a>` and `<link>` elements of `html` whose `rel` holds `me`,
/// resolved against `page`, in document order.
pub fn rel_me_links(html: &str, page: &Url) -> Vec<Url> {
    links(html)
        .iter()
        .filter(|(rel, _)| {
            rel.split_ascii_whitespace()
                .any(|r| r.eq_ignore_ascii_case("me"))
        })
        .filter_map(|(_, href)| page.join(href.trim()).ok())
        .collect()
}

/// The `rel` (empty when absent) and `href` of each `<a>` and `<link>` element of
/// `html` that has an `href`, in document order. Read with html5ever's tokenizer (the
/// raw text of `<script>`, `<style>` and the like is skipped, as a browser does).
pub fn links(html: &str) -> Vec<(String, String)> {
    struct Sink(std::cell::RefCell<Vec<(String, String)>>);
    impl TokenSink for Sink {
        type Handle = ();
        fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
            let Token::TagToken(tag) = token else {
                return TokenSinkResult::Continue;
            };
            if tag.kind != TagKind::StartTag {
                return TokenSinkResult::Continue;
            }
            match &*tag.name {
                "a" | "link" => {
                    let attr = |name: &str| {
                        tag.attrs
                            .iter()
                            .find(|a| &*a.name.local == name)
                            .map(|a| a.value.to_string())
                    };
                    if let Some(href) = attr("href") {
                        self.0
                            .borrow_mut()
                            .push((attr("rel").unwrap_or_default(), href));
                    }
                    TokenSinkResult::Continue
                }
                "script" => TokenSinkResult::RawData(RawKind::ScriptData),
                "style" | "xmp" | "iframe" | "noembed" | "noframes" => {
                    TokenSinkResult::RawData(RawKind::Rawtext)
                }
                "title" | "textarea" => TokenSinkResult::RawData(RawKind::Rcdata),
                "plaintext" => TokenSinkResult::Plaintext,
                _ => TokenSinkResult::Continue,
            }
        }
    }
    let tokenizer = Tokenizer::new(
        Sink(std::cell::RefCell::default()),
        TokenizerOpts::default(),
    );
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.0.take()
}

/// Whether `link` designates `target` (compared as URLs, case-insensitively as
/// Mastodon does).
fn designates(link: &Url, target: &Url) -> bool {
    link == target || link.as_str().eq_ignore_ascii_case(target.as_str())
}

/// A page of the website, read within the bounds.
struct Page {
    url: Url,
    body: String,
    truncated: bool,
}

async fn fetch_page(state: &AppState, website: &Url) -> Result<Page, String> {
    let mut url = website.clone();
    for _ in 0..=MAX_REDIRECTS {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("adresse non web refusée : {url}"));
        }
        if !state.settings.allows_private_addresses() && is_private_ip_literal(&url) {
            return Err(format!("adresse privée refusée : {url}"));
        }
        let mut response = state
            .http
            .get(url.clone())
            .header(http::header::ACCEPT, "text/html")
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    format!("le site n'a pas répondu à temps ({url})")
                } else {
                    format!("le site est injoignable ({url})")
                }
            })?;
        let status = response.status();
        if status.is_redirection() {
            let target = response
                .headers()
                .get(http::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| url.join(l).ok())
                .ok_or_else(|| format!("redirection sans adresse valable ({url})"))?;
            if !same_site(website, &target) {
                return Err(format!(
                    "redirection vers un autre domaine refusée : {}",
                    target.host_str().unwrap_or(target.as_str())
                ));
            }
            url = target;
            continue;
        }
        if !status.is_success() {
            return Err(format!("le site a répondu {} ({url})", status.as_u16()));
        }
        let mut body = Vec::new();
        let mut truncated = false;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|_| format!("lecture de la page interrompue ({url})"))?
        {
            let room = MAX_PAGE_BYTES - body.len();
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if body.len() == MAX_PAGE_BYTES {
                // The rest is not read (the connection is dropped).
                truncated = true;
                break;
            }
        }
        return Ok(Page {
            url,
            body: String::from_utf8_lossy(&body).into_owned(),
            truncated,
        });
    }
    Err(format!("trop de redirections (plus de {MAX_REDIRECTS})"))
}

/// Checks the website of `collectivite` (no storage): how it is verified, or why not,
/// in French. `None` without a website.
pub async fn check_website(
    state: &AppState,
    collectivite: &Collectivite,
) -> Option<Result<VerifiedBy, String>> {
    let website = collectivite.profile.website.as_ref()?;
    let check = async {
        let page = fetch_page(state, website).await?;
        let links = rel_me_links(&page.body, &page.url);
        if links.iter().any(|l| designates(l, &collectivite.ap_id)) {
            return Ok(VerifiedBy::RelMe);
        }
        let node_domain = if collectivite.local {
            state.settings.domain.as_str()
        } else {
            collectivite.domain.as_str()
        };
        if official_domain(node_domain, website) {
            return Ok(VerifiedBy::Domain);
        }
        let mut error = format!(
            "aucun lien rel=\"me\" vers {} sur {}",
            collectivite.ap_id, page.url
        );
        if page.truncated {
            error.push_str(&format!(
                " (seuls les {} premiers Kio de la page sont lus)",
                MAX_PAGE_BYTES / 1024
            ));
        }
        Err(error)
    };
    Some(
        tokio::time::timeout(CHECK_DEADLINE, check)
            .await
            .unwrap_or_else(|_| Err("le site n'a pas répondu à temps".into())),
    )
}

/// Checks the website of the collectivité `actor_id` now and records the outcome;
/// answers the check as recorded (`None`: no such collectivité, or no website). Waits
/// for a slot (`federation.website_checks`); a check of the same collectivité already
/// running is waited for, not repeated.
///
/// # Errors
/// Storage failures.
pub async fn check_now(state: &AppState, actor_id: i64) -> AppResult<Option<WebsiteCheck>> {
    let _slot = slots(state)
        .acquire()
        .await
        .expect("BUG: the check semaphore is never closed");
    loop {
        if RUNNING.lock().expect("BUG: poisoned").insert(actor_id) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    struct Done(i64);
    impl Drop for Done {
        fn drop(&mut self) {
            RUNNING.lock().expect("BUG: poisoned").remove(&self.0);
        }
    }
    let _done = Done(actor_id);
    let Some(collectivite) = state.store.collectivite_by_id(actor_id).await? else {
        return Ok(None);
    };
    let Some(website) = collectivite.profile.website.clone() else {
        return Ok(None);
    };
    let Some(outcome) = check_website(state, &collectivite).await else {
        return Ok(None);
    };
    let changed = state
        .store
        .record_website_check(
            actor_id,
            website.as_str(),
            outcome.as_ref().copied().map_err(String::as_str),
            Utc::now(),
        )
        .await?;
    match (&outcome, changed) {
        (Ok(by), Some(true)) => {
            tracing::info!(actor = %collectivite.ap_id, %website, by = by.as_str(), "official website verified")
        }
        (Err(error), Some(true)) => {
            tracing::info!(actor = %collectivite.ap_id, %website, %error, "official website no longer verified")
        }
        _ => {
            tracing::debug!(actor = %collectivite.ap_id, %website, ?outcome, "official website checked")
        }
    }
    Ok(state
        .store
        .collectivite_by_id(actor_id)
        .await?
        .map(|c| c.website_check))
}

/// Checks the website of `actor_id` in the background (never blocking the caller: an
/// inbox, a profile form).
pub fn spawn_check(state: &AppState, actor_id: i64) {
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(error) = check_now(&state, actor_id).await {
            tracing::warn!(actor_id, %error, "checking an official website");
        }
    });
}

/// Periodic checks: every minute, the collectivités whose website was not checked for
/// `federation.website_check_interval_hours` (never checked first), at most
/// `federation.website_checks` at once, until `shutdown`.
pub async fn run(state: AppState, shutdown: impl std::future::Future<Output = ()> + Send) {
    use futures_util::StreamExt;
    tokio::pin!(shutdown);
    let interval =
        chrono::Duration::hours(state.settings.federation.website_check_interval_hours as i64);
    let concurrency = state.settings.federation.website_checks;
    loop {
        let round = async {
            let due = state
                .store
                .websites_due(Utc::now() - interval, 100)
                .await
                .unwrap_or_else(|error| {
                    tracing::warn!(%error, "reading the websites to check");
                    Vec::new()
                });
            let full = due.len() == 100;
            futures_util::stream::iter(due)
                .for_each_concurrent(concurrency, |due| {
                    let state = state.clone();
                    async move {
                        if let Err(error) = check_now(&state, due.id).await {
                            tracing::warn!(actor_id = due.id, %error, "checking an official website");
                        }
                    }
                })
                .await;
            full
        };
        let full = tokio::select! {
            () = &mut shutdown => return,
            full = round => full,
        };
        let pause = if full {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(60)
        };
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(pause) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn finds_rel_me_links_as_mastodon_does() {
        let page = url("https://ville.fr/");
        let html = r#"<html><head><link rel="me" href="https://n.fr/actors/a">
            <script>var x = '<a rel="me" href="https://evil/">';</script></head>
            <body><a href="https://n.fr/actors/b" rel="nofollow ME">b</a>
            <a rel="menu" href="https://n.fr/actors/c">c</a>
            <a rel="me" href="/relative">d</a></body></html>"#;
        let links: Vec<String> = rel_me_links(html, &page)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            links,
            [
                "https://n.fr/actors/a",
                "https://n.fr/actors/b",
                "https://ville.fr/relative"
            ]
        );
    }

    #[test]
    fn the_official_domain_is_the_website_host_or_a_parent() {
        let site = url("https://marcq-en-baroeul.fr/");
        assert!(official_domain("maillage.marcq-en-baroeul.fr", &site));
        assert!(official_domain("marcq-en-baroeul.fr", &site));
        assert!(!official_domain("marcq-en-baroeul.fr.evil.org", &site));
        assert!(!official_domain("evilmarcq-en-baroeul.fr", &site));
        assert!(!official_domain("annuaire.example.fr", &site));
        assert!(official_domain(
            "localhost:8081",
            &url("http://localhost:8081/")
        ));
        assert!(!official_domain(
            "localhost:8081",
            &url("http://localhost:8082/")
        ));
    }

    #[test]
    fn redirects_stay_within_the_site() {
        let site = url("https://www.ville.fr/");
        assert!(same_site(&site, &url("https://ville.fr/accueil")));
        assert!(same_site(&site, &url("https://mairie.ville.fr/")));
        assert!(!same_site(&site, &url("https://autre.fr/")));
        assert!(!same_site(&site, &url("https://ville.fr.autre.fr/")));
        assert!(!same_site(&url("https://ville.fr/"), &url("https://fr/")));
    }
}

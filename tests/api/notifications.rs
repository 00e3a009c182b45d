//! Editors are told (issue 18 point 4), against a real SMTP server: nodemailer's
//! `smtp-server` run by Node (`tests/smtp/server.mjs`), which writes each message it
//! accepts to a folder read here. Node A has `[smtp]` settings, node B has none. A
//! partnership request received, the answer to a request and a comment awaiting
//! moderation are mailed at once (`immediate`), gathered in one digest a day
//! (`digest`), or only listed on the dashboard (`off`, no address, no SMTP); a server
//! that is down gets the mail later, once. Both engines.
//!
//! Needs `node` and `npm ci` in `tests/smtp`; skipped without them unless
//! `MAILLAGE_REQUIRE_INTEROP=1` (CI).

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use chrono::{Local, TimeZone};
use maillage::service::notifications::{Mailer, Sent, send_due};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use serde_json::json;

use crate::cli::ok;
use crate::cli_admin::cli;
use crate::helpers::{
    Engine, TestApp, call, csrf_of, post_signed, say_skipped, spawn_app, spawn_app_with,
};

const PASSWORD: &str = "un mot de passe solide";

fn smtp_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp")
}

/// Why the SMTP server cannot run here, if it cannot.
fn missing_prerequisite() -> Option<String> {
    crate::helpers::node_module_missing(&smtp_dir(), "smtp-server")
}

/// True when the test may run; says why not, or fails in CI.
fn can_run() -> bool {
    match missing_prerequisite() {
        None => true,
        Some(reason) => {
            if std::env::var("MAILLAGE_REQUIRE_INTEROP").is_ok_and(|v| v == "1") {
                panic!("MAILLAGE_REQUIRE_INTEROP=1 but the SMTP server cannot run: {reason}");
            }
            let _ = writeln!(std::io::stderr(), "SKIPPED: SMTP notifications: {reason}");
            false
        }
    }
}

/// A running `node server.mjs PORT FOLDER`, killed when dropped.
struct SmtpServer {
    child: Option<Child>,
    port: u16,
    folder: tempfile::TempDir,
}

impl SmtpServer {
    fn start() -> SmtpServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut server = SmtpServer {
            child: None,
            port,
            folder: tempfile::tempdir().expect("temp dir"),
        };
        server.restart();
        server
    }

    /// Starts (again) on the same port, writing to the same folder.
    fn restart(&mut self) {
        self.stop();
        let child = Command::new("node")
            .arg("server.mjs")
            .arg(self.port.to_string())
            .arg(self.folder.path())
            .current_dir(smtp_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn node server.mjs");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("the SMTP server exited at start ({status})");
            }
            assert!(Instant::now() < deadline, "the SMTP server never listened");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops it: the port refuses connections.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The messages received so far, in order: (recipients, headers and decoded body).
    fn messages(&self) -> Vec<(Vec<String>, Mail)> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.folder.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|eml| {
                let envelope: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(eml.with_extension("json")).unwrap())
                        .unwrap();
                let to = envelope["to"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_string())
                    .collect();
                (to, Mail::parse(&std::fs::read_to_string(eml).unwrap()))
            })
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A received message, decoded.
#[derive(Debug)]
struct Mail {
    subject: String,
    headers: String,
    body: String,
}

impl Mail {
    fn parse(raw: &str) -> Mail {
        let (head, body) = raw.split_once("\r\n\r\n").expect("headers and body");
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        let header = |name: &str| {
            unfolded
                .lines()
                .find_map(|l| {
                    l.split_once(':')
                        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                        .map(|(_, v)| v.trim().to_string())
                })
                .unwrap_or_default()
        };
        let encoding = header("Content-Transfer-Encoding").to_ascii_lowercase();
        let body = match encoding.as_str() {
            "base64" => String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(body.replace("\r\n", ""))
                    .unwrap(),
            )
            .unwrap(),
            "quoted-printable" => quoted_printable(body),
            _ => body.to_string(),
        };
        Mail {
            subject: decode_words(&header("Subject")),
            headers: unfolded,
            body: body.replace("\r\n", "\n"),
        }
    }
}

fn quoted_printable(text: &str) -> String {
    let text = text.replace("=\r\n", "");
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() + 1 {
            if let Ok(byte) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`) of a header; the space
/// between two encoded words is dropped, others kept.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut last_encoded = false;
    for (i, word) in value.split(' ').enumerate() {
        let inner = word.strip_prefix("=?").and_then(|w| w.strip_suffix("?="));
        let decoded = match inner {
            None => word.to_string(),
            Some(inner) => {
                let parts: Vec<&str> = inner.splitn(3, '?').collect();
                match parts[1].to_ascii_lowercase().as_str() {
                    "b" => String::from_utf8(
                        base64::engine::general_purpose::STANDARD
                            .decode(parts[2])
                            .unwrap(),
                    )
                    .unwrap(),
                    _ => quoted_printable(&parts[2].replace('_', " ")),
                }
            }
        };
        if i > 0 && !(last_encoded && inner.is_some()) {
            out.push(' ');
        }
        out.push_str(&decoded);
        last_encoded = inner.is_some();
    }
    out
}

/// Signs in `username` on `app`: its cookie and the dashboard's CSRF token.
async fn sign_in(app: &TestApp, username: &str) -> (String, String) {
    let response = app
        .post_sign_in(&[("username", username), ("password", PASSWORD)], None)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let (_, page) = dashboard(app, &cookie).await;
    (cookie.clone(), csrf_of(&page))
}

async fn dashboard(app: &TestApp, cookie: &str) -> (StatusCode, String) {
    let response = app
        .client
        .get(app.url("/admin"))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn post_form(
    app: &TestApp,
    cookie: &str,
    path: &str,
    pairs: &[(&str, &str)],
) -> reqwest::Response {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    app.client
        .post(app.url(path))
        .header(COOKIE, cookie)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn user(app: &TestApp, name: &str, collectivite: &str, email: Option<&str>, mode: &str) {
    maillage::service::users::create_user(
        &app.state,
        name,
        PASSWORD,
        &[collectivite.into()],
        false,
        email,
    )
    .await
    .expect("create user");
    maillage::service::users::set_notifications_of(&app.state, name, None, Some(mode))
        .await
        .expect("notification mode");
}

/// A `Note` by B's `lille` answering `action_id`, posted to A's inbox.
async fn comment(a: &TestApp, b: &TestApp, note: &str, action_id: &str) {
    let actor = b.url("/actors/lille");
    let activity = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": b.url(&format!("/activities/create-{note}")),
        "type": "Create",
        "actor": actor,
        "object": {
            "id": b.url(&format!("/notes/{note}")),
            "type": "Note",
            "attributedTo": actor,
            "inReplyTo": action_id,
            "content": format!("<p>Commentaire {note}</p>"),
            "published": "2026-11-01T10:00:00Z",
        }
    });
    let signer = b.actor("lille").await;
    let response = post_signed(
        &a.client,
        &a.url("/inbox"),
        &signer,
        activity.to_string().as_bytes(),
        |_| {},
    )
    .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
}

async fn mail_states(app: &TestApp) -> Vec<(String, i64)> {
    app.state.store.count_notices_by_mail_state().await.unwrap()
}

/// Tomorrow (server time) at `hour`: later than every notice written now.
fn tomorrow_at(hour: u32, days: i64) -> chrono::DateTime<Local> {
    let day = Local::now().date_naive() + chrono::Duration::days(days);
    Local
        .from_local_datetime(&day.and_hms_opt(hour, 0, 0).unwrap())
        .earliest()
        .unwrap()
}

async fn editors_are_told(engine: Engine) {
    if !can_run() {
        return;
    }
    let mut smtp = SmtpServer::start();
    let port = smtp.port;
    let Some(a) = spawn_app_with(engine, |s| {
        s.smtp.host = "127.0.0.1".into();
        s.smtp.port = port;
        s.smtp.tls = maillage::config::SmtpTls::None;
        s.smtp.from = "Annuaire de test <annuaire@example.fr>".into();
        s.smtp.digest_hour = 8;
    })
    .await
    else {
        return say_skipped("editors_are_told");
    };
    let b = spawn_app(engine).await.unwrap();
    let mailer = Mailer::new(&a.state.settings.smtp, &a.state.settings.domain)
        .unwrap()
        .expect("SMTP configured");
    let marcq = a.collectivite_with_token("marcq", "59378").await;
    let lille = b.collectivite_with_token("lille", "59350").await;
    let action = a
        .publish(
            "marcq",
            &marcq,
            &json!({"name": "Groupement d'achat d'énergie", "content": "Achat groupé d'électricité.",
                    "themes": ["developpement-durable"], "open_to_partners": true}),
        )
        .await;
    let action_id = action["id"].as_str().unwrap().to_string();
    user(
        &a,
        "marie",
        "marcq",
        Some("marie@marcq.example"),
        "immediate",
    )
    .await;
    user(&a, "paul", "marcq", Some("paul@marcq.example"), "digest").await;
    user(&a, "zoe", "marcq", None, "off").await;
    user(
        &b,
        "louis",
        "lille",
        Some("louis@lille.example"),
        "immediate",
    )
    .await;

    // Lille (node B) asks to join Marcq's action (node A).
    let (status, _) = call(
        &b,
        reqwest::Method::POST,
        "/api/v1/collectivites/lille/partnership-requests",
        &lille,
        Some(json!({"action": action_id})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(b.drain().await, 1);

    // Marie is mailed at once; Paul waits for his digest; Zoé gets no mail. (Runs
    // before 8 h, smtp.digest_hour, send no digest.)
    let early = tomorrow_at(6, 1);
    let sent = send_due(&a.state, &mailer, early, false).await.unwrap();
    assert_eq!(
        sent,
        Sent {
            immediate: 1,
            digests: 0,
            failed: 0
        }
    );
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1);
    let (to, mail) = &messages[0];
    assert_eq!(to, &["marie@marcq.example"]);
    assert!(
        mail.subject.contains("Nouvelle demande de partenariat"),
        "{mail:?}"
    );
    assert!(mail.headers.contains("annuaire@example.fr"), "{mail:?}");
    assert!(mail.body.contains("Lille (lille@"), "{mail:?}");
    assert!(
        mail.body.contains("« Groupement d'achat d'énergie »"),
        "{mail:?}"
    );
    assert!(
        mail.body.contains(&a.url("/admin/c/marcq/partenariats")),
        "a link to act: {mail:?}"
    );
    assert!(!mail.body.contains("maillage_session") && !mail.body.contains("csrf"));
    // Nothing twice.
    let again = send_due(&a.state, &mailer, early, false).await.unwrap();
    assert_eq!(again, Sent::default());
    assert_eq!(smtp.messages().len(), 1);

    // A comment to moderate: Marie is mailed.
    comment(&a, &b, "premier", &action_id).await;
    let sent = send_due(&a.state, &mailer, early, false).await.unwrap();
    assert_eq!(sent.immediate, 1);
    let (to, mail) = smtp.messages().pop().unwrap();
    assert_eq!(to, ["marie@marcq.example"]);
    assert!(mail.subject.contains("commentaire"), "{mail:?}");
    assert!(
        mail.body.contains(&a.url("/admin/c/marcq/commentaires")),
        "{mail:?}"
    );

    // Paul's digest: not before 8 h, then both notices in one mail, once a day.
    let sent = send_due(&a.state, &mailer, tomorrow_at(7, 1), false)
        .await
        .unwrap();
    assert_eq!(sent.digests, 0, "before smtp.digest_hour");
    let sent = send_due(&a.state, &mailer, tomorrow_at(9, 1), false)
        .await
        .unwrap();
    assert_eq!(
        sent,
        Sent {
            immediate: 0,
            digests: 1,
            failed: 0
        }
    );
    let (to, digest) = smtp.messages().pop().unwrap();
    assert_eq!(to, ["paul@marcq.example"]);
    assert!(digest.subject.contains("2 nouvelles"), "{digest:?}");
    assert!(
        digest.body.contains("demande à devenir partenaire"),
        "{digest:?}"
    );
    assert!(digest.body.contains("attend votre accord"), "{digest:?}");
    comment(&a, &b, "second", &action_id).await;
    let sent = send_due(&a.state, &mailer, tomorrow_at(10, 1), false)
        .await
        .unwrap();
    assert_eq!(
        sent,
        Sent {
            immediate: 1,
            digests: 0,
            failed: 0
        },
        "one digest a day"
    );
    let sent = send_due(&a.state, &mailer, tomorrow_at(9, 2), false)
        .await
        .unwrap();
    assert_eq!(sent.digests, 1, "the next day's digest");
    assert!(
        smtp.messages()
            .pop()
            .unwrap()
            .1
            .subject
            .contains("1 nouvelle")
    );

    // The SMTP server is down: the mail waits, is retried later, and goes once.
    smtp.stop();
    comment(&a, &b, "troisieme", &action_id).await;
    let before = smtp.messages().len();
    let down = tomorrow_at(7, 3);
    let sent = send_due(&a.state, &mailer, down, false).await.unwrap();
    assert_eq!(
        sent,
        Sent {
            immediate: 0,
            digests: 0,
            failed: 1
        }
    );
    assert!(
        mail_states(&a).await.contains(&("pending".into(), 2)),
        "{:?}",
        mail_states(&a).await
    );
    smtp.restart();
    let sent = send_due(&a.state, &mailer, down, false).await.unwrap();
    assert_eq!(sent, Sent::default(), "not before its back-off");
    let later = down + chrono::Duration::minutes(5);
    let sent = send_due(&a.state, &mailer, later, false).await.unwrap();
    assert_eq!(sent.immediate, 1);
    assert_eq!(smtp.messages().len(), before + 1);
    let sent = send_due(&a.state, &mailer, later, false).await.unwrap();
    assert_eq!(sent, Sent::default(), "sent once");

    // The CLI's forced digest run sends Paul's pending one at once.
    let sent = send_due(&a.state, &mailer, later, true).await.unwrap();
    assert_eq!(sent.digests, 1);

    // Zoé (mails off, no address) has every notice on her dashboard.
    let (zoe, zoe_csrf) = sign_in(&a, "zoe").await;
    let (_, page) = dashboard(&a, &zoe).await;
    assert!(page.contains("4 notifications non lues"), "{page}");
    assert!(page.contains("demande à devenir partenaire"), "{page}");
    assert!(
        page.contains("href=\"/admin/c/marcq/commentaires\""),
        "{page}"
    );
    let hidden = |name: &str| {
        page.split(&format!("name=\"{name}\" value=\""))
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap()
            .to_string()
    };
    let shown = hidden("lues");
    assert_eq!(shown.split(',').count(), 4, "{shown}");
    // A notice not on the page (written since) stays unread.
    let response = post_form(
        &a,
        &zoe,
        "/admin/notifications/lues",
        &[("csrf", &zoe_csrf), ("lues", &shown)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = dashboard(&a, &zoe).await;
    assert!(page.contains("0 notification non lue"), "{page}");

    // Her settings form: a bad address is refused next to the field; a good one kept;
    // a form without her CSRF token refused.
    let settings = async |csrf: &str, email: &str, mode: &str| {
        let pairs = [("csrf", csrf), ("email", email), ("mode", mode)];
        post_form(&a, &zoe, "/admin/compte/notifications", &pairs).await
    };
    let response = settings(&zoe_csrf, "zoe@marcq", "digest").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(page.contains("<title>Erreur"), "{page}");
    assert!(page.contains("pas une adresse électronique"), "{page}");
    let response = settings(&zoe_csrf, "zoe@marcq.example", "digest").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        response.headers()[LOCATION]
            .to_str()
            .unwrap()
            .contains("enregistrees")
    );
    let zoe_user = a
        .state
        .store
        .user_by_username("zoe")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(zoe_user.email.as_deref(), Some("zoe@marcq.example"));
    assert_eq!(zoe_user.notify, "digest");
    let response = settings("faux", "x@y.fr", "off").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // Node B has no [smtp]: Louis is told of Marcq's answer on his dashboard only.
    let (status, received) = call(
        &a,
        reqwest::Method::GET,
        "/api/v1/collectivites/marcq/partnership-requests?direction=received",
        &marcq,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let request_id = received[0]["id"].as_i64().unwrap();
    let (status, _) = call(
        &a,
        reqwest::Method::POST,
        &format!("/api/v1/partnership-requests/{request_id}/accept"),
        &marcq,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    a.drain().await;
    assert_eq!(mail_states(&b).await, vec![("none".to_string(), 1)]);
    let (louis, _) = sign_in(&b, "louis").await;
    let (_, page) = dashboard(&b, &louis).await;
    assert!(page.contains("1 notification non lue"), "{page}");
    assert!(
        page.contains("Marcq-en-Barœul a accepté la demande de partenariat de Lille"),
        "{page}"
    );
    assert!(page.contains("pas encore de courriels"), "{page}");

    // A permanent refusal (550, an unknown mailbox) marks the mail failed at once, not
    // after 16 tries; the operator's `notifications retry --failed` puts it back once
    // the address is corrected.
    user(&a, "remi", "marcq", Some("remi@refus.example"), "immediate").await;
    comment(&a, &b, "quatrieme", &action_id).await;
    let at = later + chrono::Duration::minutes(10);
    let sent = send_due(&a.state, &mailer, at, false).await.unwrap();
    assert_eq!((sent.immediate, sent.failed), (1, 1), "{sent:?}");
    assert!(mail_states(&a).await.contains(&("failed".into(), 1)));
    let status = ok(cli(&a, &["notifications", "status"], None).await);
    assert!(status.contains("1\ten échec définitif"), "{status}");
    maillage::service::users::set_notifications_of(
        &a.state,
        "remi",
        Some("remi@marcq.example"),
        None,
    )
    .await
    .unwrap();
    let retried = ok(cli(&a, &["notifications", "retry", "--failed"], None).await);
    assert!(
        retried.contains("1 notification de nouveau à envoyer"),
        "{retried}"
    );
    let refused = cli(&a, &["notifications", "retry"], None).await;
    assert!(!refused.status.success());
    let error = String::from_utf8_lossy(&refused.stderr);
    assert!(error.contains("--failed"), "{error}");
    let sent = send_due(&a.state, &mailer, at, false).await.unwrap();
    assert_eq!(sent.immediate, 1, "{sent:?}");
    let (to, _) = smtp.messages().pop().unwrap();
    assert_eq!(to, ["remi@marcq.example"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editors_are_told_sqlite() {
    editors_are_told(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editors_are_told_postgres() {
    editors_are_told(Engine::Postgres).await;
}

/// Review of issue 18: a peer repeating an event (a `Join` sent again under new ids
/// while pending, a comment edited while it waits) cannot flood an editor: one notice
/// per request or comment; a request refused then made again is told again.
async fn repeated_events_make_one_notice(engine: Engine) {
    let Some(a) = spawn_app(engine).await else {
        return say_skipped("repeated_events_make_one_notice");
    };
    let b = spawn_app(engine).await.unwrap();
    let marcq = a.collectivite_with_token("marcq", "59378").await;
    b.collectivite_with_token("lille", "59350").await;
    let action = a
        .publish(
            "marcq",
            &marcq,
            &json!({"name": "Groupement d'achat", "content": "Achat groupé.",
                    "themes": ["developpement-durable"], "open_to_partners": true}),
        )
        .await;
    let action_id = action["id"].as_str().unwrap().to_string();
    user(&a, "marie", "marcq", None, "off").await;
    let marie = a
        .state
        .store
        .user_by_username("marie")
        .await
        .unwrap()
        .unwrap();
    let lille = b.actor("lille").await;
    let join = async |n: u32| {
        let activity = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": b.url(&format!("/activities/join-{n}")),
            "type": "Join",
            "actor": lille.ap_id,
            "object": action_id,
        });
        let response = post_signed(
            &a.client,
            &a.url("/inbox"),
            &lille,
            activity.to_string().as_bytes(),
            |_| {},
        )
        .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    };
    for n in 0..5 {
        join(n).await;
    }
    let (notices, unread) = a.state.store.unread_notices(marie.id, 50).await.unwrap();
    assert_eq!(unread, 1, "{notices:?}");

    // A comment, then the same comment edited twice while it waits: one notice.
    comment(&a, &b, "1", &action_id).await;
    for n in 2..4 {
        let actor = b.url("/actors/lille");
        let update = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": b.url(&format!("/activities/update-1-{n}")),
            "type": "Update",
            "actor": actor,
            "object": {
                "id": b.url("/notes/1"),
                "type": "Note",
                "attributedTo": actor,
                "inReplyTo": action_id,
                "content": format!("<p>Commentaire modifié {n}</p>"),
                "published": "2026-11-01T10:00:00Z",
                "updated": format!("2026-11-0{n}T10:00:00Z"),
            }
        });
        let response = post_signed(
            &a.client,
            &a.url("/inbox"),
            &lille,
            update.to_string().as_bytes(),
            |_| {},
        )
        .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    let (notices, unread) = a.state.store.unread_notices(marie.id, 50).await.unwrap();
    assert_eq!(unread, 2, "{notices:?}");

    // Refused, then asked again: a new request, told again.
    let (_, received) = call(
        &a,
        reqwest::Method::GET,
        "/api/v1/collectivites/marcq/partnership-requests?direction=received",
        &marcq,
        None,
    )
    .await;
    let request = received[0]["id"].as_i64().unwrap();
    let (status, _) = call(
        &a,
        reqwest::Method::POST,
        &format!("/api/v1/partnership-requests/{request}/reject"),
        &marcq,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    join(9).await;
    let (notices, unread) = a.state.store.unread_notices(marie.id, 50).await.unwrap();
    assert_eq!(unread, 3, "{notices:?}");
    assert!(notices[0].summary.contains("demande à devenir partenaire"));

    // An account mailed one by one gets MAILS_PER_HOUR notices an hour by mail; the
    // others are on its dashboard only. A digest account's all go to its digest.
    user(&a, "jean", "marcq", Some("jean@marcq.example"), "immediate").await;
    user(&a, "lea", "marcq", Some("lea@marcq.example"), "digest").await;
    let marcq_id = a.actor("marcq").await.id;
    let cap = maillage::db::notifications::MAILS_PER_HOUR;
    for n in 0..cap + 3 {
        let mut tx = a.state.store.begin().await.unwrap();
        maillage::db::notifications::insert_notices(
            &mut tx,
            &maillage::db::notifications::NewNotice {
                kind: maillage::db::notifications::NoticeKind::CommentPending,
                collectivite_id: marcq_id,
                summary: format!("Commentaire {n}."),
                link: "/admin/c/marcq/commentaires".into(),
                mail: true,
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let states = |name: &'static str| {
        let a = &a;
        async move {
            let sql = format!(
                "SELECT n.mail_state, COUNT(*) FROM notifications n JOIN users u \
                 ON u.id = n.user_id WHERE u.username = '{name}' \
                 GROUP BY n.mail_state ORDER BY n.mail_state"
            );
            let rows: Vec<(String, i64)> = maillage::db::on_pool!(&a.state.store, pool => {
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await.unwrap()
            });
            rows
        }
    };
    assert_eq!(
        states("jean").await,
        vec![("pending".into(), cap), ("skipped".into(), 3)]
    );
    assert_eq!(states("lea").await, vec![("pending".into(), cap + 3)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_events_make_one_notice_sqlite() {
    repeated_events_make_one_notice(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_events_make_one_notice_postgres() {
    repeated_events_make_one_notice(Engine::Postgres).await;
}

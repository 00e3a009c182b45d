//! Robustness of the inbox (issue "Robustness tests"): a table of named hostile or odd
//! inbound documents. Most are properly signed by a real actor of a second node, so
//! they get past the signature check and reach the JSON parser, the envelope, the
//! object readers and `receive::apply`; some are unsigned or badly signed.
//!
//! Every case must get a 2xx or a 4xx (a 4xx as `application/problem+json`), never a
//! 5xx and never a hang, and exactly the status its row says. Afterwards the node is
//! healthy, nothing was applied on behalf of another actor, no stored or served HTML
//! can run script, and the rows created are exactly those of the cases expected to
//! apply.
//!
//! `MAILLAGE_HOSTILE_DUMP=DIR` also writes each body of at most 64 KiB to `DIR`, one
//! file per case: that is how `fuzz/seeds/inbox_document` was made.

use std::collections::BTreeMap;
use std::time::Duration;

use activitypub_federation::fetch::object_id::ObjectId;
use maillage::activitypub::signatures;
use maillage::db::Store;
use maillage::db::actors::ActorRecord;
use maillage::db::comments::CommentState;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Map, Value, json};

use crate::both_engines;
use crate::helpers::{TestApp, sample_action, spawn_app};

both_engines!(hostile_corpus);

const AS: &str = "https://www.w3.org/ns/activitystreams";
const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";
/// Longer than this, a case counts as a hang (the server's own timeout is 30 s).
const CASE_TIMEOUT: Duration = Duration::from_secs(60);
/// The inbox body limit (`startup::BODY_LIMIT`).
const MIB: usize = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Category {
    /// `id` as a number, `actor` as two actors, `object` as a number…
    WrongType,
    /// Huge strings, arrays, objects; bodies over the limit.
    Huge,
    /// Deep nesting (past serde_json's recursion limit, and just under it).
    Nesting,
    /// Invalid UTF-8, UTF-16, latin-1, NUL bytes, lone surrogates.
    Encoding,
    /// The same key twice.
    DuplicateKey,
    /// `null` where something is expected.
    Null,
    /// Signed by one actor, claiming or touching another's things.
    Mismatch,
    /// Script, event handlers, `javascript:` URLs.
    Html,
    /// Odd but valid: unknown types, extra fields, odd `@context`, arrays of types.
    OddValid,
    /// Unsigned or badly signed.
    Signature,
}

/// The row a case adds when it is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Effect {
    Action,
    Comment,
    Post,
    Follower,
    Reaction,
    Report,
}

const EFFECTS: [Effect; 6] = [
    Effect::Action,
    Effect::Comment,
    Effect::Post,
    Effect::Follower,
    Effect::Reaction,
    Effect::Report,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// `202`, and one new row of this kind.
    Applied(Effect),
    /// `202` and no new row: ignored, a duplicate, or an update.
    Accepted,
    /// This client error.
    Refused(u16),
}

impl Expect {
    fn status(self) -> u16 {
        match self {
            Expect::Applied(_) | Expect::Accepted => 202,
            Expect::Refused(status) => status,
        }
    }
}

use Expect::{Accepted, Applied, Refused};

#[derive(Debug, Clone, Copy)]
enum Inbox {
    /// `/inbox`.
    Shared,
    /// `/actors/marcq/inbox`.
    Marcq,
    /// `/actors/personne/inbox` (no such actor: the inbox is the same).
    Nobody,
}

impl Inbox {
    fn path(self) -> &'static str {
        match self {
            Inbox::Shared => "/inbox",
            Inbox::Marcq => "/actors/marcq/inbox",
            Inbox::Nobody => "/actors/personne/inbox",
        }
    }
}

/// A change made to the headers of a signed request.
type Tweak = fn(&mut HeaderMap);

#[derive(Clone)]
enum Sender {
    Lille,
    Roubaix,
    Unsigned,
    /// Signed by Lille, then the headers are changed.
    Tweaked(Tweak),
    /// Lille's key under another `keyId`.
    KeyId(String),
    /// Lille's `keyId`, Roubaix's key.
    WrongKey,
    /// Signed by Lille for another path than the one it is sent to.
    SignedFor(&'static str),
    /// Signed by Lille over this other body; sent with the case's body and a correct
    /// `Digest` of it (the signature then covers a digest that is not sent).
    SignedOver(Vec<u8>),
    /// Lille's signature sent as `Authorization: Signature …` (draft §3.1).
    Authorization,
}

struct Case {
    name: String,
    category: Category,
    inbox: Inbox,
    sender: Sender,
    body: Vec<u8>,
    expect: Expect,
}

/// The ids the corpus is written with.
#[derive(Clone)]
struct Ids {
    /// Node A (the one under test), `http://localhost:PORT`.
    a: String,
    /// Node B (the senders').
    b: String,
    lille: String,
    roubaix: String,
    marcq: String,
    /// Marcq's local action on A.
    action: String,
}

struct Corpus {
    ids: Ids,
    cases: Vec<Case>,
    serial: usize,
}

impl Corpus {
    /// A fresh id on B: `B/{what}/hostile-N`.
    fn fresh(&mut self, what: &str) -> String {
        self.serial += 1;
        format!("{}/{what}/hostile-{}", self.ids.b, self.serial)
    }

    /// An activity of Lille's with a fresh id.
    fn activity(&mut self, kind: &str, object: Value) -> Value {
        json!({
            "@context": AS,
            "id": self.fresh("activities"),
            "type": kind,
            "actor": self.ids.lille,
            "to": [PUBLIC],
            "object": object,
        })
    }

    /// A valid action of Lille's (an `Article` with `mai:` terms).
    fn article(&mut self) -> Value {
        json!({
            "id": self.fresh("actions"),
            "type": "Article",
            "attributedTo": self.ids.lille,
            "name": "Action de Lille",
            "summary": "Un résumé.",
            "content": "<p>Le contenu.</p>",
            "mai:themes": ["culture"],
            "to": [PUBLIC],
        })
    }

    /// A valid reply of Lille's to Marcq's action.
    fn reply(&mut self) -> Value {
        json!({
            "id": self.fresh("notes"),
            "type": "Note",
            "attributedTo": self.ids.lille,
            "inReplyTo": self.ids.action,
            "content": "<p>Nous avons fait pareil, merci !</p>",
            "to": [PUBLIC],
        })
    }

    /// A valid plain post of Lille's (a `Note` answering nothing).
    fn note(&mut self) -> Value {
        json!({
            "id": self.fresh("notes"),
            "type": "Note",
            "attributedTo": self.ids.lille,
            "content": "<p>Une nouvelle de Lille.</p>",
            "to": [PUBLIC],
        })
    }

    /// Every third case goes to Marcq's own inbox rather than the shared one.
    fn default_inbox(&self) -> Inbox {
        if self.cases.len() % 3 == 2 {
            Inbox::Marcq
        } else {
            Inbox::Shared
        }
    }

    fn full(
        &mut self,
        category: Category,
        name: &str,
        inbox: Inbox,
        sender: Sender,
        body: Vec<u8>,
        expect: Expect,
    ) {
        assert!(
            self.cases.iter().all(|c| c.name != name),
            "duplicate case name {name}"
        );
        self.cases.push(Case {
            name: name.to_string(),
            category,
            inbox,
            sender,
            body,
            expect,
        });
    }

    /// Raw bytes signed by Lille.
    fn raw(&mut self, category: Category, name: &str, expect: Expect, body: Vec<u8>) {
        let inbox = self.default_inbox();
        self.full(category, name, inbox, Sender::Lille, body, expect);
    }

    /// A document signed by Lille.
    fn doc(&mut self, category: Category, name: &str, expect: Expect, doc: Value) {
        self.raw(category, name, expect, serde_json::to_vec(&doc).unwrap());
    }

    /// `kind{object}` by Lille.
    fn act(&mut self, category: Category, name: &str, expect: Expect, kind: &str, object: Value) {
        let doc = self.activity(kind, object);
        self.doc(category, name, expect, doc);
    }

    /// Lille's activity, changed by `edit`.
    fn act_with(
        &mut self,
        category: Category,
        name: &str,
        expect: Expect,
        kind: &str,
        object: Value,
        edit: impl FnOnce(&mut Map<String, Value>),
    ) {
        let mut doc = self.activity(kind, object);
        edit(doc.as_object_mut().unwrap());
        self.doc(category, name, expect, doc);
    }

    /// `Create{Article}` by Lille, the article changed by `edit`.
    fn article_with(
        &mut self,
        category: Category,
        name: &str,
        expect: Expect,
        edit: impl FnOnce(&mut Map<String, Value>),
    ) {
        let mut article = self.article();
        edit(article.as_object_mut().unwrap());
        self.act(category, name, expect, "Create", article);
    }

    /// `Create{Note}` replying to Marcq's action, the note changed by `edit`.
    fn reply_with(
        &mut self,
        category: Category,
        name: &str,
        expect: Expect,
        edit: impl FnOnce(&mut Map<String, Value>),
    ) {
        let mut note = self.reply();
        edit(note.as_object_mut().unwrap());
        self.act(category, name, expect, "Create", note);
    }

    /// `Create{Note}` answering nothing (a plain post), changed by `edit`.
    fn note_with(
        &mut self,
        category: Category,
        name: &str,
        expect: Expect,
        edit: impl FnOnce(&mut Map<String, Value>),
    ) {
        let mut note = self.note();
        edit(note.as_object_mut().unwrap());
        self.act(category, name, expect, "Create", note);
    }
}

fn set(map: &mut Map<String, Value>, key: &str, value: Value) {
    map.insert(key.to_string(), value);
}

/// `text` with the first `@@` replaced by raw `bytes`.
fn splice(text: &str, bytes: &[u8]) -> Vec<u8> {
    let (before, after) = text.split_once("@@").expect("marker @@");
    [before.as_bytes(), bytes, after.as_bytes()].concat()
}

/// `n` characters that compress badly (PostgreSQL compresses long index entries: a
/// repeated character would fit where real-world data does not).
fn incompressible(n: usize) -> String {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
            alphabet[(state % alphabet.len() as u64) as usize] as char
        })
        .collect()
}

/// `n` distinct words, letters only (each a different lexeme for full-text search).
fn distinct_words(n: usize, offset: usize) -> String {
    (offset..offset + n)
        .map(|mut i| {
            let mut word = String::new();
            for _ in 0..5 {
                word.push((b'a' + (i % 26) as u8) as char);
                i /= 26;
            }
            word
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn nested(depth: usize, open: &str, inner: &str, close: &str) -> String {
    format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
}

/// Replaces one parameter of the `Signature` header.
fn replace_param(headers: &mut HeaderMap, name: &str, value: &str) {
    let signature = headers["signature"].to_str().unwrap().to_string();
    let start = signature.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
    let end = start + signature[start..].find('"').unwrap();
    let changed = format!("{}{value}{}", &signature[..start], &signature[end..]);
    headers.insert("signature", HeaderValue::from_str(&changed).unwrap());
}

fn http_date(offset_secs: i64) -> HeaderValue {
    let now = std::time::SystemTime::now();
    let at = if offset_secs >= 0 {
        now + Duration::from_secs(offset_secs as u64)
    } else {
        now - Duration::from_secs(offset_secs.unsigned_abs())
    };
    HeaderValue::from_str(&httpdate::fmt_http_date(at)).unwrap()
}

/// The corpus, in the order it is sent (later cases rely on earlier ones: Roubaix's
/// action exists before Lille tries to update it).
fn corpus(ids: Ids) -> Vec<Case> {
    use Category::*;
    let mut c = Corpus {
        ids: ids.clone(),
        cases: Vec::new(),
        serial: 0,
    };
    let (lille, roubaix, action) = (ids.lille.clone(), ids.roubaix.clone(), ids.action.clone());

    // --- Valid baseline the mismatch cases rely on ----------------------------------
    let roubaix_action = c.fresh("actions");
    let roubaix_create = json!({
        "id": c.fresh("activities"), "type": "Create", "actor": roubaix,
        "object": {"id": roubaix_action, "type": "Article", "attributedTo": roubaix,
                   "name": "Action de Roubaix", "content": "<p>Roubaix</p>", "mai:themes": ["culture"]},
    });
    c.full(
        OddValid,
        "roubaix creates an action (valid)",
        Inbox::Shared,
        Sender::Roubaix,
        serde_json::to_vec(&roubaix_create).unwrap(),
        Applied(Effect::Action),
    );
    let roubaix_post = c.fresh("notes");
    let roubaix_note = json!({
        "id": c.fresh("activities"), "type": "Create", "actor": roubaix,
        "object": {"id": roubaix_post, "type": "Note", "attributedTo": roubaix, "content": "<p>Note de Roubaix</p>"},
    });
    c.full(
        OddValid,
        "roubaix posts a note (valid)",
        Inbox::Shared,
        Sender::Roubaix,
        serde_json::to_vec(&roubaix_note).unwrap(),
        Applied(Effect::Post),
    );
    let roubaix_like = c.fresh("activities");
    let like = json!({"id": roubaix_like, "type": "Like", "actor": roubaix, "object": action});
    c.full(
        OddValid,
        "roubaix likes marcq's action (valid)",
        Inbox::Marcq,
        Sender::Roubaix,
        serde_json::to_vec(&like).unwrap(),
        Applied(Effect::Reaction),
    );
    let lille_comment = c.reply();
    let lille_comment_id = lille_comment["id"].as_str().unwrap().to_string();
    c.act(
        OddValid,
        "lille replies to marcq's action (valid)",
        Applied(Effect::Comment),
        "Create",
        lille_comment,
    );
    let lille_action = c.article();
    let lille_action_id = lille_action["id"].as_str().unwrap().to_string();
    c.act(
        OddValid,
        "lille creates an action (valid)",
        Applied(Effect::Action),
        "Create",
        lille_action,
    );
    c.act(
        OddValid,
        "lille follows marcq (valid)",
        Applied(Effect::Follower),
        "Follow",
        json!(ids.marcq),
    );
    c.act(
        OddValid,
        "lille likes marcq's action (valid)",
        Applied(Effect::Reaction),
        "Like",
        json!(action),
    );

    // --- Wrong types ----------------------------------------------------------------
    let wrong_ids: [(&str, Value); 5] = [
        ("id as number", json!(42)),
        ("id as array", json!([c.fresh("activities")])),
        ("id as object", json!({"id": c.fresh("activities")})),
        ("id as bool", json!(true)),
        ("id not a URL", json!("pas une url")),
    ];
    for (name, id) in wrong_ids {
        c.act_with(WrongType, name, Refused(400), "Like", json!(action), |m| {
            set(m, "id", id)
        });
    }
    c.act_with(
        WrongType,
        "id with a javascript: scheme",
        Refused(400),
        "Like",
        json!(action),
        |m| set(m, "id", json!("javascript:alert(1)")),
    );
    for (name, kind) in [
        ("type as number", json!(7)),
        ("type as object", json!({"name": "Create"})),
        ("type as empty array", json!([])),
        ("type as empty string", json!("")),
    ] {
        c.act_with(WrongType, name, Refused(400), "Like", json!(action), |m| {
            set(m, "type", kind)
        });
    }
    c.act_with(
        WrongType,
        "actor as array of two",
        Refused(400),
        "Like",
        json!(action),
        |m| set(m, "actor", json!([lille, roubaix])),
    );
    c.act_with(
        WrongType,
        "actor as number",
        Refused(400),
        "Like",
        json!(action),
        |m| set(m, "actor", json!(12)),
    );
    c.act_with(
        WrongType,
        "actor as a non-http URL",
        Refused(400),
        "Like",
        json!(action),
        |m| set(m, "actor", json!("acct:lille@localhost")),
    );
    // Lenient but right: an actor object or a one-element list names the actor.
    c.act_with(
        WrongType,
        "actor as an object with its id",
        Applied(Effect::Reaction),
        "Announce",
        json!(action),
        |m| set(m, "actor", json!({"id": lille, "type": "Organization"})),
    );
    c.act_with(
        WrongType,
        "actor as array of one",
        Accepted,
        "Like",
        json!(action),
        |m| set(m, "actor", json!([lille])),
    );
    c.act(
        WrongType,
        "Create with object as number",
        Refused(400),
        "Create",
        json!(42),
    );
    c.act(
        WrongType,
        "Follow with object as number",
        Refused(400),
        "Follow",
        json!(42),
    );
    c.act(
        WrongType,
        "Like with object as number",
        Accepted,
        "Like",
        json!(42),
    );
    c.act(
        WrongType,
        "Delete with object as number",
        Refused(400),
        "Delete",
        json!(42),
    );
    c.act(
        WrongType,
        "Undo with object as number",
        Accepted,
        "Undo",
        json!(42),
    );
    c.act(
        WrongType,
        "Announce with object as bool",
        Accepted,
        "Announce",
        json!(false),
    );
    c.act(
        WrongType,
        "Follow with object as array of two",
        Refused(400),
        "Follow",
        json!([ids.marcq, lille]),
    );
    let object = c.article();
    c.act_with(
        WrongType,
        "activity to as object",
        Applied(Effect::Action),
        "Create",
        object,
        |m| set(m, "to", json!({"foo": 1})),
    );
    c.article_with(
        WrongType,
        "article to as number",
        Applied(Effect::Action),
        |m| set(m, "to", json!(3)),
    );
    for (name, key, value) in [
        ("article name as number", "name", json!(42)),
        ("article name as array", "name", json!(["a", "b"])),
        (
            "article content as object",
            "content",
            json!({"html": "<p>x</p>"}),
        ),
        ("article budget as string", "mai:budget", json!("1000")),
        ("article budget as float", "mai:budget", json!(12.5)),
        (
            "article published as number",
            "published",
            json!(1_700_000_000),
        ),
        ("article published not a date", "published", json!("hier")),
        (
            "article openToPartners as string",
            "mai:openToPartners",
            json!("oui"),
        ),
        (
            "article attributedTo as object",
            "attributedTo",
            json!({"id": lille}),
        ),
        ("article source as string", "source", json!("**markdown**")),
    ] {
        c.article_with(WrongType, name, Refused(400), |m| set(m, key, value));
    }
    c.article_with(WrongType, "article without content", Refused(400), |m| {
        m.remove("content");
    });
    c.article_with(WrongType, "article id as number", Refused(400), |m| {
        set(m, "id", json!(5))
    });
    c.article_with(
        WrongType,
        "article attributedTo as array of two",
        Refused(403),
        |m| set(m, "attributedTo", json!([lille, roubaix])),
    );
    for (name, key, value) in [
        ("article themes as a string", "mai:themes", json!("culture")),
        ("article themes as number", "mai:themes", json!(9)),
        ("article location as string", "location", json!("Lille")),
        ("article tag as string", "tag", json!("#culture")),
        (
            "article attachment with numbers",
            "attachment",
            json!([{"type": "Link", "href": 7}, {"type": 8}]),
        ),
        ("article negative budget", "mai:budget", json!(-5)),
        (
            "article unknown phase",
            "mai:phase",
            json!("phase-inconnue"),
        ),
        (
            "article unknown status",
            "mai:status",
            json!({"x": 1}).to_string().into(),
        ),
    ] {
        c.article_with(WrongType, name, Applied(Effect::Action), |m| {
            set(m, key, value)
        });
    }
    c.reply_with(WrongType, "reply inReplyTo as number", Accepted, |m| {
        set(m, "inReplyTo", json!(3))
    });
    c.reply_with(
        WrongType,
        "reply content as array",
        Applied(Effect::Comment),
        |m| set(m, "content", json!(["<p>a</p>"])),
    );
    c.reply_with(
        WrongType,
        "reply attributedTo as number",
        Refused(400),
        |m| set(m, "attributedTo", json!(1)),
    );
    c.reply_with(
        WrongType,
        "reply published as number",
        Applied(Effect::Comment),
        |m| set(m, "published", json!(0)),
    );
    c.act(
        WrongType,
        "Flag with object as object without id",
        Accepted,
        "Flag",
        json!({"type": "Article"}),
    );
    for (name, body) in [
        ("body empty", Vec::new()),
        ("body is a number", b"42".to_vec()),
        ("body is a string", br#""Create""#.to_vec()),
        ("body is an array", br#"[{"type": "Create"}]"#.to_vec()),
        ("body is an empty object", b"{}".to_vec()),
        ("body is truncated JSON", br#"{"id": "http://x"#.to_vec()),
    ] {
        c.raw(WrongType, name, Refused(400), body);
    }

    // --- Null -----------------------------------------------------------------------
    for (name, key) in [
        ("id null", "id"),
        ("type null", "type"),
        ("actor null", "actor"),
    ] {
        c.act_with(Null, name, Refused(400), "Like", json!(action), |m| {
            set(m, key, Value::Null)
        });
    }
    c.act(
        Null,
        "Create with object null",
        Refused(400),
        "Create",
        Value::Null,
    );
    c.act(
        Null,
        "Follow with object null",
        Refused(400),
        "Follow",
        Value::Null,
    );
    c.act(
        Null,
        "Delete with object null",
        Refused(400),
        "Delete",
        Value::Null,
    );
    c.act(Null, "Like with object null", Accepted, "Like", Value::Null);
    c.act(Null, "Undo with object null", Accepted, "Undo", Value::Null);
    c.act(Null, "Flag with object null", Accepted, "Flag", Value::Null);
    c.act_with(
        Null,
        "Like without object",
        Accepted,
        "Like",
        Value::Null,
        |m| {
            m.remove("object");
        },
    );
    c.raw(Null, "body is null", Refused(400), b"null".to_vec());
    for (name, key, expect) in [
        ("article id null", "id", Refused(400)),
        ("article attributedTo null", "attributedTo", Refused(403)),
        ("article name null", "name", Refused(400)),
        ("article content null", "content", Refused(400)),
        ("article summary null", "summary", Applied(Effect::Action)),
        ("article url null", "url", Applied(Effect::Action)),
        (
            "article published null",
            "published",
            Applied(Effect::Action),
        ),
        ("article themes null", "mai:themes", Applied(Effect::Action)),
    ] {
        c.article_with(Null, name, expect, |m| set(m, key, Value::Null));
    }
    // A null inReplyTo answers nothing: a plain post of a followed actor.
    c.reply_with(Null, "reply inReplyTo null", Applied(Effect::Post), |m| {
        set(m, "inReplyTo", Value::Null)
    });
    c.reply_with(Null, "reply content null", Applied(Effect::Comment), |m| {
        set(m, "content", Value::Null)
    });
    c.reply_with(Null, "reply id null", Refused(400), |m| {
        set(m, "id", Value::Null)
    });
    let object = c.article();
    c.act_with(
        Null,
        "@context null",
        Applied(Effect::Action),
        "Create",
        object,
        |m| set(m, "@context", Value::Null),
    );

    // --- Duplicate keys (serde_json keeps the last one; so does everything after) ----
    let id = c.fresh("activities");
    c.raw(
        DuplicateKey,
        "two ids, the last a number",
        Refused(400),
        format!(
            r#"{{"id": "{id}", "id": 5, "type": "Like", "actor": "{lille}", "object": "{action}"}}"#
        )
        .into_bytes(),
    );
    let id = c.fresh("activities");
    c.raw(
        DuplicateKey,
        "two ids, the last valid",
        Accepted,
        format!(r#"{{"id": 5, "id": "{id}", "type": "Arrive", "actor": "{lille}", "object": "{action}"}}"#)
            .into_bytes(),
    );
    let id = c.fresh("activities");
    c.raw(
        DuplicateKey,
        "two actors, the signer last",
        Accepted,
        format!(r#"{{"id": "{id}", "type": "Arrive", "actor": "{roubaix}", "actor": "{lille}", "object": "{action}"}}"#)
            .into_bytes(),
    );
    let id = c.fresh("activities");
    c.raw(
        DuplicateKey,
        "two actors, another actor last",
        Refused(403),
        format!(r#"{{"id": "{id}", "type": "Arrive", "actor": "{lille}", "actor": "{roubaix}", "object": "{action}"}}"#)
            .into_bytes(),
    );
    let id = c.fresh("activities");
    c.raw(
        DuplicateKey,
        "two types, Create then Arrive",
        Accepted,
        format!(r#"{{"id": "{id}", "type": "Create", "type": "Arrive", "actor": "{lille}", "object": "{action}"}}"#)
            .into_bytes(),
    );
    let (id, object) = (c.fresh("activities"), c.fresh("actions"));
    c.raw(
        DuplicateKey,
        "two objects, the last a number",
        Refused(400),
        format!(r#"{{"id": "{id}", "type": "Create", "actor": "{lille}",
            "object": {{"id": "{object}", "type": "Article", "attributedTo": "{lille}", "name": "x", "content": "y", "mai:themes": ["culture"]}},
            "object": 3}}"#)
            .into_bytes(),
    );
    let (id, object) = (c.fresh("activities"), c.fresh("actions"));
    c.raw(
        DuplicateKey,
        "article with two names",
        Applied(Effect::Action),
        format!(r#"{{"id": "{id}", "type": "Create", "actor": "{lille}",
            "object": {{"id": "{object}", "type": "Article", "attributedTo": "{lille}", "name": 1, "name": "Deux noms",
                        "content": "<p>x</p>", "mai:themes": ["culture"], "mai:themes": ["sante"]}}}}"#)
            .into_bytes(),
    );
    let (id, object) = (c.fresh("activities"), c.fresh("actions"));
    c.raw(
        DuplicateKey,
        "article attributed to lille then roubaix",
        Refused(403),
        format!(r#"{{"id": "{id}", "type": "Create", "actor": "{lille}",
            "object": {{"id": "{object}", "type": "Article", "attributedTo": "{lille}", "attributedTo": "{roubaix}",
                        "name": "x", "content": "y", "mai:themes": ["culture"]}}}}"#)
            .into_bytes(),
    );
    let (id, object) = (c.fresh("activities"), c.fresh("actions"));
    c.raw(
        DuplicateKey,
        "article ids on two origins",
        Refused(403),
        format!(r#"{{"id": "{id}", "type": "Create", "actor": "{lille}",
            "object": {{"id": "{object}", "id": "https://ailleurs.example/actions/1", "type": "Article",
                        "attributedTo": "{lille}", "name": "x", "content": "y", "mai:themes": ["culture"]}}}}"#)
            .into_bytes(),
    );
    let id = c.fresh("activities");
    c.raw(
        DuplicateKey,
        "two contexts",
        Accepted,
        format!(r#"{{"@context": "{AS}", "@context": 5, "id": "{id}", "type": "Arrive", "actor": "{lille}"}}"#)
            .into_bytes(),
    );

    // --- Mismatched actors ----------------------------------------------------------
    let note = c.note();
    let forged =
        json!({"id": c.fresh("activities"), "type": "Create", "actor": roubaix, "object": note});
    c.doc(
        Mismatch,
        "activity says roubaix, signed by lille",
        Refused(403),
        forged,
    );
    let note = c.note();
    let forged =
        json!({"id": c.fresh("activities"), "type": "Create", "actor": lille, "object": note});
    c.full(
        Mismatch,
        "activity says lille, signed by roubaix",
        Inbox::Shared,
        Sender::Roubaix,
        serde_json::to_vec(&forged).unwrap(),
        Refused(403),
    );
    c.act_with(
        Mismatch,
        "activity id on the receiving node",
        Refused(403),
        "Like",
        json!(action),
        |m| set(m, "id", json!(format!("{}/activities/forged", ids.a))),
    );
    c.act_with(
        Mismatch,
        "activity id on another domain",
        Refused(403),
        "Like",
        json!(action),
        |m| set(m, "id", json!("https://ailleurs.example/activities/1")),
    );
    c.article_with(
        Mismatch,
        "article attributed to roubaix",
        Refused(403),
        |m| set(m, "attributedTo", json!(roubaix)),
    );
    c.article_with(Mismatch, "article attributed to marcq", Refused(403), |m| {
        set(m, "attributedTo", json!(ids.marcq))
    });
    c.article_with(
        Mismatch,
        "article without attributedTo",
        Refused(403),
        |m| {
            m.remove("attributedTo");
        },
    );
    c.article_with(
        Mismatch,
        "article id on another domain",
        Refused(403),
        |m| set(m, "id", json!("https://ailleurs.example/actions/2")),
    );
    let update = json!({"id": roubaix_action, "type": "Article", "attributedTo": lille,
        "name": "Action volée", "content": "<p>volée</p>", "mai:themes": ["culture"],
        "updated": "2999-01-01T00:00:00Z"});
    c.act(
        Mismatch,
        "update of roubaix's action attributed to lille",
        Accepted,
        "Update",
        update,
    );
    let update = json!({"id": roubaix_action, "type": "Article", "attributedTo": roubaix,
        "name": "Action volée", "content": "<p>volée</p>", "mai:themes": ["culture"]});
    c.act(
        Mismatch,
        "update of roubaix's action attributed to roubaix",
        Refused(403),
        "Update",
        update,
    );
    let update = json!({"id": action, "type": "Article", "attributedTo": lille,
        "name": "Action volée", "content": "<p>volée</p>", "mai:themes": ["culture"]});
    c.act(
        Mismatch,
        "update of marcq's local action",
        Refused(403),
        "Update",
        update,
    );
    let update = json!({"id": roubaix_post, "type": "Note", "attributedTo": lille, "content": "<p>volée</p>"});
    c.act(
        Mismatch,
        "update of roubaix's post attributed to lille",
        Accepted,
        "Update",
        update,
    );
    c.act(
        Mismatch,
        "delete of roubaix's action",
        Accepted,
        "Delete",
        json!(roubaix_action),
    );
    c.act(
        Mismatch,
        "delete of roubaix's post",
        Accepted,
        "Delete",
        json!({"id": roubaix_post, "type": "Tombstone"}),
    );
    c.act(
        Mismatch,
        "delete of the roubaix actor",
        Accepted,
        "Delete",
        json!(roubaix),
    );
    c.act(
        Mismatch,
        "delete of marcq's local action",
        Refused(403),
        "Delete",
        json!(action),
    );
    c.act(
        Mismatch,
        "delete of the marcq actor",
        Refused(403),
        "Delete",
        json!(ids.marcq),
    );
    let delete = json!({"id": c.fresh("activities"), "type": "Delete", "actor": roubaix, "object": lille_comment_id});
    c.full(
        Mismatch,
        "roubaix deletes lille's comment",
        Inbox::Shared,
        Sender::Roubaix,
        serde_json::to_vec(&delete).unwrap(),
        Accepted,
    );
    c.act(
        Mismatch,
        "undo of roubaix's like",
        Accepted,
        "Undo",
        json!(roubaix_like),
    );
    c.act(
        Mismatch,
        "undo of roubaix's like, embedded",
        Refused(403),
        "Undo",
        json!({"id": roubaix_like, "type": "Like", "actor": roubaix, "object": action}),
    );
    c.act(
        Mismatch,
        "accept of a follow lille never got",
        Accepted,
        "Accept",
        json!({"type": "Follow", "actor": ids.marcq, "object": roubaix}),
    );
    c.reply_with(Mismatch, "reply attributed to roubaix", Refused(403), |m| {
        set(m, "attributedTo", json!(roubaix))
    });
    c.reply_with(
        Mismatch,
        "reply with an id on the receiving node",
        Refused(403),
        |m| set(m, "id", json!(format!("{}/comments/forged", ids.a))),
    );
    c.note_with(Mismatch, "post attributed to roubaix", Refused(403), |m| {
        set(m, "attributedTo", json!(roubaix))
    });
    c.act_with(
        Mismatch,
        "like with roubaix as actor object",
        Refused(403),
        "Like",
        json!(action),
        |m| set(m, "actor", json!({"id": roubaix})),
    );

    // --- Huge -----------------------------------------------------------------------
    c.article_with(Huge, "900 KB name", Applied(Effect::Action), |m| {
        set(m, "name", json!("N".repeat(900_000)))
    });
    c.article_with(Huge, "900 KB summary", Applied(Effect::Action), |m| {
        set(m, "summary", json!("résumé ".repeat(100_000)))
    });
    c.article_with(
        Huge,
        "800 KB content of paragraphs",
        Applied(Effect::Action),
        |m| set(m, "content", json!("<p>Paragraphe.</p>".repeat(45_000))),
    );
    c.article_with(
        Huge,
        "750 KB of nested divs",
        Applied(Effect::Action),
        |m| set(m, "content", json!("<div>".repeat(150_000))),
    );
    c.article_with(
        Huge,
        "600 KB of unclosed bold tags",
        Applied(Effect::Action),
        |m| set(m, "content", json!("<b>".repeat(200_000))),
    );
    c.article_with(
        Huge,
        "formatting tags with distinct attributes",
        Applied(Effect::Action),
        |m| {
            let html: String = (0..20_000).map(|i| format!("<b title=\"{i}\">")).collect();
            set(
                m,
                "content",
                json!(format!("{html}{}", "</b>".repeat(20_000))),
            )
        },
    );
    c.article_with(
        Huge,
        "nested tables and anchors",
        Applied(Effect::Action),
        |m| {
            set(
                m,
                "content",
                json!("<table><tr><td><a href=\"https://x.example/\">".repeat(15_000)),
            )
        },
    );
    c.article_with(
        Huge,
        "distinct words in three HTML fields",
        Applied(Effect::Action),
        |m| {
            set(m, "content", json!(distinct_words(33_000, 0)));
            set(m, "mai:results", json!(distinct_words(33_000, 40_000)));
            set(
                m,
                "mai:recommendations",
                json!(distinct_words(33_000, 80_000)),
            );
        },
    );
    c.article_with(
        Huge,
        "software with a 500 KB name",
        Applied(Effect::Action),
        |m| {
            set(
                m,
                "mai:software",
                json!([{"name": incompressible(500_000)}]),
            )
        },
    );
    c.article_with(
        Huge,
        "provider with a 500 KB name",
        Applied(Effect::Action),
        |m| {
            set(
                m,
                "mai:providers",
                json!([{"name": incompressible(500_000)}]),
            )
        },
    );
    c.article_with(
        Huge,
        "60 places with 10 KB names",
        Applied(Effect::Action),
        |m| {
            let places: Vec<Value> = (0..60)
                .map(|_| json!({"type": "Place", "name": incompressible(10_000)}))
                .collect();
            set(m, "location", json!(places))
        },
    );
    c.article_with(
        Huge,
        "20 000 audience entries",
        Applied(Effect::Action),
        |m| set(m, "to", json!(vec![PUBLIC; 20_000])),
    );
    c.article_with(Huge, "25 000 hashtags", Applied(Effect::Action), |m| {
        set(
            m,
            "tag",
            json!(vec![json!({"type": "Hashtag", "name": "#x"}); 25_000]),
        )
    });
    c.article_with(Huge, "5 000 partners", Applied(Effect::Action), |m| {
        let partners: Vec<String> = (0..5_000)
            .map(|i| format!("https://p{i}.example/actors/x"))
            .collect();
        set(m, "mai:partners", json!(partners))
    });
    c.article_with(
        Html,
        "javascript and data partners",
        Applied(Effect::Action),
        |m| {
            set(
                m,
                "mai:partners",
                json!([
                    "javascript:alert(1)",
                    "data:text/html,<script>alert(1)</script>"
                ]),
            )
        },
    );
    c.article_with(Huge, "50 000 extra keys", Applied(Effect::Action), |m| {
        for i in 0..50_000 {
            m.insert(format!("k{i}"), json!(i));
        }
    });
    c.article_with(Huge, "budget beyond i64", Refused(400), |m| {
        set(m, "mai:budget", json!(1e30))
    });
    let id = c.fresh("activities");
    c.raw(
        Huge,
        "number beyond f64",
        Refused(400),
        format!(r#"{{"id": "{id}", "type": "Arrive", "actor": "{lille}", "x": 1e400}}"#)
            .into_bytes(),
    );
    c.reply_with(Huge, "900 KB reply", Applied(Effect::Comment), |m| {
        set(m, "content", json!("<p>Très long.</p>".repeat(50_000)))
    });
    c.note_with(Huge, "900 KB post name", Applied(Effect::Post), |m| {
        set(m, "name", json!("T".repeat(900_000)))
    });
    c.act_with(
        Huge,
        "900 KB report",
        Applied(Effect::Report),
        "Flag",
        json!([action]),
        |m| set(m, "content", json!("signalement ".repeat(75_000))),
    );
    c.act_with(
        Huge,
        "10 000 objects in a Flag",
        Applied(Effect::Report),
        "Flag",
        json!(vec![action.clone(); 10_000]),
        |_| {},
    );
    c.act_with(
        Huge,
        "900 KB context",
        Accepted,
        "Arrive",
        Value::Null,
        |m| set(m, "@context", json!("c".repeat(900_000))),
    );
    // Ids go into unique indexes: PostgreSQL's cannot hold entries over ~2.7 KB.
    c.act_with(
        Huge,
        "10 KB activity id",
        Refused(400),
        "Like",
        json!(action),
        |m| {
            set(
                m,
                "id",
                json!(format!("{}/activities/{}", ids.b, incompressible(10_000))),
            )
        },
    );
    c.act_with(
        Huge,
        "10 KB activity id, unknown type",
        Refused(400),
        "Arrive",
        Value::Null,
        |m| {
            set(
                m,
                "id",
                json!(format!("{}/activities/{}", ids.b, incompressible(10_000))),
            )
        },
    );
    c.article_with(Huge, "10 KB article id", Refused(400), |m| {
        set(
            m,
            "id",
            json!(format!("{}/actions/{}", ids.b, incompressible(10_000))),
        )
    });
    c.reply_with(Huge, "10 KB reply id", Refused(400), |m| {
        set(
            m,
            "id",
            json!(format!("{}/notes/{}", ids.b, incompressible(10_000))),
        )
    });
    c.note_with(Huge, "10 KB post id", Refused(400), |m| {
        set(
            m,
            "id",
            json!(format!("{}/notes/{}", ids.b, incompressible(10_000))),
        )
    });
    c.act_with(
        Huge,
        "10 KB actor id",
        Refused(400),
        "Like",
        json!(action),
        |m| {
            set(
                m,
                "actor",
                json!(format!("{}/actors/{}", ids.b, incompressible(10_000))),
            )
        },
    );
    {
        let mut doc = c.activity("Arrive", Value::Null);
        let text = serde_json::to_string(&doc).unwrap();
        doc["padding"] = json!("p".repeat(MIB - text.len() - r#","padding":"""#.len()));
        let body = serde_json::to_vec(&doc).unwrap();
        assert_eq!(body.len(), MIB);
        c.raw(Huge, "exactly 1 MiB", Accepted, body);
    }
    {
        let doc = c.activity("Arrive", Value::Null);
        let mut body = serde_json::to_vec(&doc).unwrap();
        body.resize(MIB + 1, b' ');
        c.raw(Huge, "1 MiB and one byte", Refused(413), body);
    }
    let object = c.article();
    c.act_with(Huge, "2 MB body", Refused(413), "Create", object, |m| {
        set(m, "padding", json!("x".repeat(2_000_000)))
    });

    // --- Deep nesting ---------------------------------------------------------------
    for (name, open, close) in [
        ("10 000 nested arrays in object", "[", "]"),
        ("10 000 nested objects in object", "{\"a\":", "}"),
    ] {
        let id = c.fresh("activities");
        c.raw(
            Nesting,
            name,
            Refused(400),
            format!(
                r#"{{"id": "{id}", "type": "Create", "actor": "{lille}", "object": {}}}"#,
                nested(10_000, open, "1", close)
            )
            .into_bytes(),
        );
    }
    let id = c.fresh("activities");
    c.raw(
        Nesting,
        "10 000 nested arrays in @context",
        Refused(400),
        format!(
            r#"{{"@context": {}, "id": "{id}", "type": "Like", "actor": "{lille}", "object": "{action}"}}"#,
            nested(10_000, "[", "null", "]")
        )
        .into_bytes(),
    );
    c.raw(
        Nesting,
        "100 000 unclosed brackets",
        Refused(400),
        "[".repeat(100_000).into_bytes(),
    );
    c.raw(
        Nesting,
        "200 nested arrays at the top",
        Refused(400),
        nested(200, "[", "{}", "]").into_bytes(),
    );
    // Just under serde_json's limit of 128: parsed, then read as nothing usable.
    let deep_action =
        serde_json::from_str::<Value>(&nested(100, "[", &format!("\"{action}\""), "]")).unwrap();
    c.act(
        Nesting,
        "like of an action 100 arrays deep",
        Accepted,
        "Like",
        deep_action.clone(),
    );
    c.reply_with(
        Nesting,
        "reply to an action 100 arrays deep",
        Applied(Effect::Comment),
        |m| set(m, "inReplyTo", deep_action.clone()),
    );
    let deep_object =
        serde_json::from_str::<Value>(&nested(100, "{\"id\":", "\"x\"", "}")).unwrap();
    c.act(
        Nesting,
        "like of 100 nested objects",
        Accepted,
        "Like",
        deep_object.clone(),
    );
    c.act(
        Nesting,
        "delete of 100 nested objects",
        Refused(400),
        "Delete",
        deep_object.clone(),
    );
    c.article_with(
        Nesting,
        "article tag 100 arrays deep",
        Applied(Effect::Action),
        |m| {
            set(
                m,
                "tag",
                serde_json::from_str(&nested(100, "[", "1", "]")).unwrap(),
            )
        },
    );
    c.article_with(
        Nesting,
        "article content 100 objects deep",
        Refused(400),
        |m| set(m, "content", deep_object.clone()),
    );
    c.article_with(
        Nesting,
        "article software 100 objects deep",
        Applied(Effect::Action),
        |m| set(m, "mai:software", json!([deep_object.clone()])),
    );

    // --- Encodings ------------------------------------------------------------------
    let template = |c: &mut Corpus, name_field: &str| {
        let (id, object) = (c.fresh("activities"), c.fresh("actions"));
        format!(
            r#"{{"id": "{id}", "type": "Create", "actor": "{lille}", "object": {{"id": "{object}", "type": "Article",
                "attributedTo": "{lille}", "name": "{name_field}", "content": "<p>x</p>", "mai:themes": ["culture"]}}}}"#
        )
    };
    for (name, bytes) in [
        ("invalid UTF-8 bytes", &b"\xff\xfe\xfd"[..]),
        ("latin-1 e acute", &b"Caf\xe9"[..]),
        ("overlong UTF-8 slash", &b"\xc0\xaf"[..]),
        ("CESU-8 surrogate", &b"\xed\xa0\x80"[..]),
        ("truncated UTF-8 sequence", &b"\xe2\x82"[..]),
        ("raw NUL byte in a string", &b"a\x00b"[..]),
        ("raw control byte in a string", &b"a\x07b"[..]),
    ] {
        let text = template(&mut c, "@@");
        c.raw(Encoding, name, Refused(400), splice(&text, bytes));
    }
    let text = template(&mut c, "ok");
    c.raw(
        Encoding,
        "NUL byte after the document",
        Refused(400),
        [text.as_bytes(), b"\x00"].concat(),
    );
    let text = template(&mut c, "ok");
    c.raw(
        Encoding,
        "UTF-8 byte order mark",
        Refused(400),
        [&b"\xef\xbb\xbf"[..], text.as_bytes()].concat(),
    );
    let text = template(&mut c, "ok");
    let utf16le: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    c.raw(Encoding, "UTF-16LE with BOM", Refused(400), utf16le);
    let text = template(&mut c, "ok");
    let utf16be: Vec<u8> = [0xfe, 0xff]
        .into_iter()
        .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
        .collect();
    c.raw(Encoding, "UTF-16BE with BOM", Refused(400), utf16be);
    let text = template(&mut c, "ok");
    let utf32: Vec<u8> = text
        .chars()
        .flat_map(|ch| (ch as u32).to_le_bytes())
        .collect();
    c.raw(Encoding, "UTF-32LE without BOM", Refused(400), utf32);
    for (name, escape) in [
        ("lone high surrogate escape", r"\ud800"),
        ("lone low surrogate escape", r"\udc00"),
        ("reversed surrogate pair escape", r"\udc00\ud800"),
        ("bad unicode escape", r"\u12G4"),
        ("unknown escape", r"\q"),
    ] {
        let text = template(&mut c, escape);
        c.raw(Encoding, name, Refused(400), text.into_bytes());
    }
    for (name, escaped) in [
        ("valid surrogate pair escape", r"Emoji \ud83d\ude00"),
        ("NUL escape in a name", r"Nom\u0000cach\u00e9"),
        ("control escapes in a name", r"\u0001\u0002\u001b[31m rouge"),
        ("bidi override and zero width", r"\u202eelliL\u200b\u2066x"),
        ("noncharacters", r"\uffff\ufffe\ufdd0"),
        ("name of one zero-width space", r"\u200b"),
    ] {
        let text = template(&mut c, escaped);
        c.raw(Encoding, name, Applied(Effect::Action), text.into_bytes());
    }
    c.article_with(
        Encoding,
        "NUL in every text field",
        Applied(Effect::Action),
        |m| {
            set(m, "summary", json!("ré\0sumé"));
            set(m, "content", json!("<p>con\0tenu</p>"));
            set(
                m,
                "source",
                json!({"content": "so\0urce", "mediaType": "text/markdown"}),
            );
            set(m, "mai:results", json!("<p>ré\0sultats</p>"));
            set(
                m,
                "location",
                json!([{"type": "Place", "name": "pla\0ce", "mai:insee": "59\u{0}350"}]),
            );
            set(
                m,
                "mai:software",
                json!([{"name": "logi\0ciel", "licence": "MI\0T", "sill_id": "1\u{0}2"}]),
            );
            set(m, "mai:providers", json!([{"name": "presta\0taire"}]));
            set(
                m,
                "mai:contacts",
                json!([{"name": "con\0tact", "email": "a\0@b.fr"}]),
            );
        },
    );
    c.reply_with(
        Encoding,
        "NUL escape in a reply",
        Applied(Effect::Comment),
        |m| set(m, "content", json!("<p>répon\0se</p>")),
    );
    c.note_with(
        Encoding,
        "NUL escape in a post name",
        Applied(Effect::Post),
        |m| set(m, "name", json!("ti\0tre")),
    );
    c.act_with(
        Encoding,
        "NUL escape in a report",
        Applied(Effect::Report),
        "Flag",
        json!(action),
        |m| set(m, "content", json!("signa\0lement")),
    );
    c.act_with(
        Encoding,
        "NUL escape in the activity id",
        Accepted,
        "Arrive",
        Value::Null,
        |m| set(m, "id", json!(format!("{}/activities/nul\0id", ids.b))),
    );

    // --- HTML injection -------------------------------------------------------------
    c.article_with(
        Html,
        "script everywhere in an article",
        Applied(Effect::Action),
        |m| {
            set(m, "name", json!("<script>alert('name')</script>Action piégée"));
            set(m, "summary", json!("<img src=x onerror=alert('summary')>Résumé <script>alert(2)</script>"));
            set(
                m,
                "content",
                json!("<p onclick=\"alert(1)\">Clic</p><script>alert('content')</script>\
                       <a href=\"javascript:alert('href')\">lien</a><img src=x onerror=alert(3)>\
                       <iframe src=\"javascript:alert(4)\"></iframe><svg onload=alert(5)></svg>\
                       <style>body{background:url(javascript:alert(6))}</style>\
                       <form action=\"javascript:alert(7)\"><button>ok</button></form>\
                       <object data=\"javascript:alert(8)\"></object><math><mi xlink:href=\"javascript:alert(9)\">x</mi></math>"),
            );
            set(m, "url", json!("javascript:alert('url')"));
            set(m, "mai:results", json!("<script>alert('results')</script><p>Résultats</p>"));
            set(m, "mai:recommendations", json!("<img src=x onerror=alert('reco')><p>Conseils</p>"));
            set(m, "source", json!({"content": "<script>alert('source')</script>", "mediaType": "text/markdown"}));
        },
    );
    c.article_with(
        Html,
        "javascript: in attachments",
        Applied(Effect::Action),
        |m| {
            set(
                m,
                "attachment",
                json!([
                    {"type": "Link", "href": "javascript:alert('link')", "name": "<script>alert(1)</script>"},
                    {"type": "Image", "url": "javascript:alert('image')"},
                    {"type": "Image", "href": "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="},
                    {"type": "Link", "href": "https://ok.example/", "name": "<img src=x onerror=alert(1)>"},
                ]),
            )
        },
    );
    c.article_with(
        Html,
        "javascript: in software and providers",
        Applied(Effect::Action),
        |m| {
            set(
                m,
                "mai:software",
                json!([{"name": "<script>alert('soft')</script>", "url": "javascript:alert('software')"}]),
            );
            set(
                m,
                "mai:providers",
                json!([{"name": "<img src=x onerror=alert(1)>", "url": "JavaScript:alert('provider')"}]),
            );
        },
    );
    c.article_with(
        Html,
        "script in places, contacts and tags",
        Applied(Effect::Action),
        |m| {
            set(
                m,
                "location",
                json!([{"type": "Place", "name": "<script>alert('place')</script>",
                        "address": {"type": "PostalAddress", "streetAddress": "<img src=x onerror=alert(1)>"}}]),
            );
            set(
                m,
                "mai:contacts",
                json!([{"name": "<script>alert('contact')</script>", "email": "<img src=x onerror=alert(1)>"}]),
            );
            set(m, "tag", json!([{"type": "Hashtag", "name": "<script>alert('tag')</script>"}]));
        },
    );
    for (name, content) in [
        ("mixed-case script tag", "<ScRiPt>alert(1)</sCrIpT><p>x</p>"),
        (
            "obfuscated javascript: href",
            "<a href=\"java&#x09;script:alert(1)\">a</a><a href=\"&#106;avascript:alert(1)\">b</a><a href=\" javascript:alert(1)\">c</a>",
        ),
        (
            "vbscript and data hrefs",
            "<a href=\"vbscript:msgbox(1)\">a</a><a href=\"data:text/html,<script>alert(1)</script>\">b</a>",
        ),
        ("unclosed script", "<p>x</p><script>alert(1)"),
        (
            "script in a comment and CDATA",
            "<!--<script>alert(1)</script>--><![CDATA[<script>alert(2)</script>]]>",
        ),
        (
            "event handlers on allowed tags",
            "<a href=\"https://ok.example/\" onmouseover=\"alert(1)\" style=\"x\">a</a><p onfocus=alert(2) autofocus tabindex=0>p</p>",
        ),
        (
            "nested broken markup",
            "<<script>script>alert(1)<</script>/script><img/src=x/onerror=alert(1)>",
        ),
        (
            "svg with script",
            "<svg><script>alert(1)</script><a xlink:href=\"javascript:alert(2)\"><text>x</text></a></svg>",
        ),
        (
            "meta refresh and base",
            "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\"><base href=\"javascript:alert(2)//\"><p>x</p>",
        ),
    ] {
        c.article_with(Html, name, Applied(Effect::Action), |m| {
            set(m, "content", json!(content))
        });
    }
    for (name, content) in [
        (
            "reply with a script tag",
            "<script>alert('reply')</script><p>Merci</p>",
        ),
        (
            "reply with onerror",
            "<img src=x onerror=alert('reply')><p>Merci</p>",
        ),
        (
            "reply with a javascript: link",
            "<a href=\"javascript:alert('reply')\">voir</a>",
        ),
    ] {
        c.reply_with(Html, name, Applied(Effect::Comment), |m| {
            set(m, "content", json!(content))
        });
    }
    c.reply_with(
        Html,
        "reply with a javascript: url",
        Applied(Effect::Comment),
        |m| {
            set(
                m,
                "url",
                json!(["javascript:alert('url')", {"href": "javascript:alert(2)"}]),
            );
            set(m, "content", json!("<p>Bien vu</p>"));
        },
    );
    c.note_with(
        Html,
        "post with script, onerror and javascript: url",
        Applied(Effect::Post),
        |m| {
            set(m, "name", json!("<script>alert('post')</script>"));
            set(m, "content", json!("<script>alert(1)</script><img src=x onerror=alert(2)><a href=\"javascript:alert(3)\">x</a>"));
            set(m, "url", json!("javascript:alert('post url')"));
        },
    );
    c.act_with(
        Html,
        "report with a script tag",
        Applied(Effect::Report),
        "Flag",
        json!([action]),
        |m| {
            set(
                m,
                "content",
                json!("<script>alert('flag')</script>Contenu <img src=x onerror=alert(1)>"),
            )
        },
    );
    c.act(
        Html,
        "update of lille's action with script",
        Accepted,
        "Update",
        json!({"id": lille_action_id, "type": "Article", "attributedTo": lille,
               "name": "Action de Lille (modifiée)", "content": "<script>alert('update')</script><p>Modifiée</p>",
               "mai:themes": ["culture"], "updated": "2990-01-01T00:00:00Z"}),
    );

    // --- Odd but valid --------------------------------------------------------------
    for kind in [
        "EmojiReact",
        "Arrive",
        "create",
        "Move",
        "Block",
        "Add",
        "Remove",
        "Question",
    ] {
        c.act(
            OddValid,
            &format!("unknown activity type {kind}"),
            Accepted,
            kind,
            json!(action),
        );
    }
    let object = c.article();
    c.act_with(
        OddValid,
        "type as array, Create first",
        Applied(Effect::Action),
        "Create",
        object,
        |m| set(m, "type", json!(["Create", "https://example.org/ns#Other"])),
    );
    let object = c.note();
    c.act_with(
        OddValid,
        "type as array, number first",
        Applied(Effect::Post),
        "Create",
        object,
        |m| set(m, "type", json!([7, "Create"])),
    );
    c.act_with(
        OddValid,
        "type as array, extension first",
        Accepted,
        "Like",
        json!(action),
        |m| set(m, "type", json!(["https://example.org/ns#Other", "Like"])),
    );
    c.article_with(OddValid, "article type as array", Accepted, |m| {
        set(m, "type", json!(["Article", "Document"]))
    });
    let object = c.article();
    c.act_with(
        OddValid,
        "LD signature and proof",
        Applied(Effect::Action),
        "Create",
        object,
        |m| {
            set(m, "signature", json!({"type": "RsaSignature2017", "creator": format!("{lille}#main-key"),
                                        "created": "2024-01-01T00:00:00Z", "signatureValue": "ZmF1eA=="}));
            set(m, "proof", json!({"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022", "proofValue": "z1"}));
        },
    );
    for (name, context) in [
        ("@context as number", json!(42)),
        (
            "@context as odd array",
            json!([AS, null, 3, {"@vocab": "javascript:alert(1)"}, [[]], "https://w3id.org/security/v1"]),
        ),
        (
            "@context as object",
            json!({"@language": "fr", "mai": "https://maillage.example/ns#"}),
        ),
        ("@context as empty string", json!("")),
    ] {
        let object = c.article();
        c.act_with(
            OddValid,
            name,
            Applied(Effect::Action),
            "Create",
            object,
            |m| set(m, "@context", context),
        );
    }
    c.act(
        OddValid,
        "second like, new id",
        Accepted,
        "Like",
        json!(action),
    );
    c.act(
        OddValid,
        "follow of an unknown local actor",
        Accepted,
        "Follow",
        json!(format!("{}/actors/personne", ids.a)),
    );
    c.act(
        OddValid,
        "follow of another node's actor",
        Accepted,
        "Follow",
        json!(roubaix),
    );
    c.act(
        OddValid,
        "create by reference to an actor",
        Accepted,
        "Create",
        json!(roubaix),
    );
    c.act(
        OddValid,
        "create by reference to a missing object",
        Refused(400),
        "Create",
        json!(format!("{}/actions/absente", ids.b)),
    );
    // Off the sender's origin: refused before anything is fetched.
    c.act(
        OddValid,
        "create by reference to an unreachable host",
        Refused(403),
        "Create",
        json!("http://localhost:1/actions/1"),
    );
    let question =
        json!({"id": c.fresh("questions"), "type": "Question", "attributedTo": lille, "name": "?"});
    c.act(
        OddValid,
        "create of a question",
        Accepted,
        "Create",
        question,
    );
    c.note_with(OddValid, "a Page", Applied(Effect::Post), |m| {
        set(m, "type", json!("Page"));
        set(m, "name", json!("Une page"));
    });
    c.note_with(
        OddValid,
        "an Article without mai terms",
        Applied(Effect::Post),
        |m| set(m, "type", json!("Article")),
    );
    c.article_with(
        OddValid,
        "published in 9999",
        Applied(Effect::Action),
        |m| set(m, "published", json!("9999-12-31T23:59:59Z")),
    );
    c.article_with(
        OddValid,
        "published in year 0",
        Applied(Effect::Action),
        |m| {
            set(m, "published", json!("0000-01-01T00:00:00Z"));
            set(m, "startTime", json!("0000-01-01T00:00:00+14:00"));
            set(m, "endTime", json!("9999-12-31T23:59:59-12:00"));
        },
    );
    // Dates no engine stores: dropped (issue 13 point 5); unreadable ones refuse the
    // Article, as "not a date" does.
    for (field, value, expect) in [
        (
            "published",
            "-5000-01-01T00:00:00Z",
            Applied(Effect::Action),
        ),
        (
            "updated",
            "+200000-01-01T00:00:00Z",
            Applied(Effect::Action),
        ),
        (
            "startTime",
            "-5000-01-01T00:00:00Z",
            Applied(Effect::Action),
        ),
        ("published", "300000-01-01T00:00:00Z", Refused(400)),
    ] {
        c.article_with(OddValid, &format!("{field} {value}"), expect, |m| {
            set(m, field, json!(value))
        });
    }
    c.reply_with(
        OddValid,
        "reply published -5000",
        Applied(Effect::Comment),
        |m| set(m, "published", json!("-5000-01-01T00:00:00Z")),
    );
    c.article_with(
        OddValid,
        "extreme coordinates and bad INSEE",
        Applied(Effect::Action),
        |m| {
            set(
                m,
                "location",
                json!([{"type": "Place", "name": "Nulle part", "latitude": 1e308, "longitude": -1e308, "mai:insee": "99999"},
                       {"type": "Place", "latitude": 90.0, "longitude": 180.0}]),
            )
        },
    );
    c.article_with(OddValid, "i64 max budget", Applied(Effect::Action), |m| {
        set(m, "mai:budget", json!(i64::MAX))
    });
    c.act(
        OddValid,
        "update of lille's action, older",
        Accepted,
        "Update",
        json!({"id": lille_action_id, "type": "Article", "attributedTo": lille,
               "name": "Plus ancienne", "content": "<p>x</p>", "mai:themes": ["culture"],
               "updated": "2000-01-01T00:00:00Z"}),
    );
    c.reply_with(
        OddValid,
        "reply to a comment",
        Applied(Effect::Comment),
        |m| set(m, "inReplyTo", json!(lille_comment_id)),
    );
    c.reply_with(OddValid, "reply to something else", Accepted, |m| {
        set(m, "inReplyTo", json!("https://ailleurs.example/notes/1"))
    });
    c.act(
        OddValid,
        "report of marcq's action",
        Applied(Effect::Report),
        "Flag",
        json!(action),
    );
    c.act(
        OddValid,
        "report mixing ids and junk",
        Applied(Effect::Report),
        "Flag",
        json!([action, 42, null, {"id": ids.marcq}, "pas une url"]),
    );
    c.act(
        OddValid,
        "report of another node's object",
        Accepted,
        "Flag",
        json!(roubaix_action),
    );
    c.act(OddValid, "join with a number", Accepted, "Join", json!(1));
    c.act(
        OddValid,
        "leave without partnership",
        Accepted,
        "Leave",
        json!(action),
    );
    c.act(
        OddValid,
        "reject of nothing",
        Accepted,
        "Reject",
        json!("https://ailleurs.example/follows/1"),
    );
    let body = serde_json::to_vec(&c.activity("Arrive", json!(action))).unwrap();
    c.full(
        OddValid,
        "inbox of an unknown actor",
        Inbox::Nobody,
        Sender::Lille,
        body,
        Accepted,
    );
    let body = {
        let note = c.note();
        serde_json::to_vec(&c.activity("Create", note)).unwrap()
    };
    c.full(
        OddValid,
        "signature in an Authorization header",
        Inbox::Shared,
        Sender::Authorization,
        body,
        Applied(Effect::Post),
    );
    // Issue 13 point 6: the spelling the verifier accepts (and the per-host limit
    // now reads the same way).
    let body = {
        let note = c.note();
        serde_json::to_vec(&c.activity("Create", note)).unwrap()
    };
    c.full(
        OddValid,
        "keyid= in lower case",
        Inbox::Shared,
        Sender::Tweaked(|h| {
            let value = h["signature"].to_str().unwrap().replace("keyId=", "keyid=");
            h.insert("signature", HeaderValue::from_str(&value).unwrap());
        }),
        body,
        Applied(Effect::Post),
    );
    let body = {
        let note = c.note();
        serde_json::to_vec(&c.activity("Create", note)).unwrap()
    };
    c.full(
        OddValid,
        "replayed activity",
        Inbox::Shared,
        Sender::Lille,
        body.clone(),
        Applied(Effect::Post),
    );
    c.full(
        OddValid,
        "replayed activity, again",
        Inbox::Marcq,
        Sender::Lille,
        body,
        Accepted,
    );
    c.act(
        OddValid,
        "delete of lille's own action",
        Accepted,
        "Delete",
        json!(lille_action_id),
    );

    // --- Signatures (the body would add a post if it were accepted) ------------------
    let post = |c: &mut Corpus| {
        let note = c.note();
        serde_json::to_vec(&c.activity("Create", note)).unwrap()
    };
    let tweaks: [(&str, Tweak); 16] = [
        ("Digest missing", |h| {
            h.remove("digest");
        }),
        ("Digest of another body", |h| {
            h.insert(
                "digest",
                HeaderValue::from_str(&signatures::digest_header(b"autre")).unwrap(),
            );
        }),
        ("Digest SHA-512 only", |h| {
            h.insert("digest", HeaderValue::from_static("SHA-512=AAAA"));
        }),
        ("Digest not base64", |h| {
            h.insert("digest", HeaderValue::from_static("SHA-256=%%%"));
        }),
        ("Signature garbage", |h| {
            h.insert("signature", HeaderValue::from_static("n'importe quoi"));
        }),
        ("Signature empty", |h| {
            h.insert("signature", HeaderValue::from_static(""));
        }),
        ("Signature without signature", |h| {
            h.insert(
                "signature",
                HeaderValue::from_static("keyId=\"http://x/a\""),
            );
        }),
        ("keyId not a URL", |h| {
            replace_param(h, "keyId", "pas une url")
        }),
        ("keyId javascript:", |h| {
            replace_param(h, "keyId", "javascript:alert(1)")
        }),
        ("algorithm hmac-sha256", |h| {
            replace_param(h, "algorithm", "hmac-sha256")
        }),
        ("only date signed", |h| replace_param(h, "headers", "date")),
        ("signature not base64", |h| {
            replace_param(h, "signature", "%%%")
        }),
        ("two Signature headers", |h| {
            let value = h["signature"].clone();
            h.append("signature", value);
        }),
        ("Signature not UTF-8", |h| {
            h.insert(
                "signature",
                HeaderValue::from_bytes(b"keyId=\"http://\xff\xfe/\",signature=\"AAAA\"").unwrap(),
            );
        }),
        ("Date two hours old", |h| {
            h.insert("date", http_date(-7200));
        }),
        ("Date two hours ahead", |h| {
            h.insert("date", http_date(7200));
        }),
    ];
    for (name, tweak) in tweaks {
        let body = post(&mut c);
        let inbox = c.default_inbox();
        c.full(
            Signature,
            name,
            inbox,
            Sender::Tweaked(tweak),
            body,
            Refused(401),
        );
    }
    let body = post(&mut c);
    c.full(
        Signature,
        "Date not a date",
        Inbox::Shared,
        Sender::Tweaked(|h| {
            h.insert("date", HeaderValue::from_static("hier"));
        }),
        body,
        Refused(401),
    );
    let body = post(&mut c);
    c.full(
        Signature,
        "unsigned",
        Inbox::Shared,
        Sender::Unsigned,
        body,
        Refused(401),
    );
    let body = post(&mut c);
    c.full(
        Signature,
        "unsigned, to marcq's inbox",
        Inbox::Marcq,
        Sender::Unsigned,
        body,
        Refused(401),
    );
    for (name, key_id) in [
        (
            "keyId of an unknown actor",
            format!("{}/actors/personne#main-key", ids.b),
        ),
        (
            "keyId on an unreachable host",
            "http://localhost:1/actors/x#main-key".to_string(),
        ),
        (
            "keyId of the local marcq",
            format!("{}#main-key", ids.marcq),
        ),
        ("keyId of roubaix", format!("{roubaix}#main-key")),
    ] {
        let body = post(&mut c);
        c.full(
            Signature,
            name,
            Inbox::Shared,
            Sender::KeyId(key_id),
            body,
            Refused(401),
        );
    }
    let body = post(&mut c);
    c.full(
        Signature,
        "lille's keyId, roubaix's key",
        Inbox::Shared,
        Sender::WrongKey,
        body,
        Refused(401),
    );
    let body = post(&mut c);
    c.full(
        Signature,
        "signed for the shared inbox, sent to marcq's",
        Inbox::Marcq,
        Sender::SignedFor("/inbox"),
        body,
        Refused(401),
    );
    let (signed, sent) = (post(&mut c), post(&mut c));
    c.full(
        Signature,
        "body swapped, digest recomputed",
        Inbox::Shared,
        Sender::SignedOver(signed),
        sent,
        Refused(401),
    );
    c.cases
}

/// Headers for `body` posted to `url`, signed with `key_pem` under `key_id`.
fn signed_headers(url: &str, body: &[u8], key_id: &str, key_pem: &str) -> HeaderMap {
    let key = signatures::parse_private_key(key_pem).unwrap();
    signatures::sign_request(
        "POST",
        &url.parse().unwrap(),
        Some(body),
        key_id,
        &key,
        chrono::Utc::now(),
    )
    .unwrap()
}

/// Sends a case; the status, `Content-Type` and body of the answer, or why there was
/// none.
async fn send(
    a: &TestApp,
    lille: &ActorRecord,
    roubaix: &ActorRecord,
    case: &Case,
) -> Result<(StatusCode, String, String), String> {
    let url = a.url(case.inbox.path());
    let key = |actor: &ActorRecord| actor.private_key_pem.clone().unwrap();
    let main_key = |actor: &ActorRecord| format!("{}#main-key", actor.ap_id);
    let headers = match &case.sender {
        Sender::Lille => signed_headers(&url, &case.body, &main_key(lille), &key(lille)),
        Sender::Roubaix => signed_headers(&url, &case.body, &main_key(roubaix), &key(roubaix)),
        Sender::Unsigned => {
            let mut headers = HeaderMap::new();
            headers.insert(
                "content-type",
                HeaderValue::from_static("application/activity+json"),
            );
            headers
        }
        Sender::Tweaked(tweak) => {
            let mut headers = signed_headers(&url, &case.body, &main_key(lille), &key(lille));
            tweak(&mut headers);
            headers
        }
        Sender::KeyId(key_id) => signed_headers(&url, &case.body, key_id, &key(lille)),
        Sender::WrongKey => signed_headers(&url, &case.body, &main_key(lille), &key(roubaix)),
        Sender::SignedFor(path) => {
            signed_headers(&a.url(path), &case.body, &main_key(lille), &key(lille))
        }
        Sender::SignedOver(other) => {
            let mut headers = signed_headers(&url, other, &main_key(lille), &key(lille));
            headers.insert(
                "digest",
                HeaderValue::from_str(&signatures::digest_header(&case.body)).unwrap(),
            );
            headers
        }
        Sender::Authorization => {
            let mut headers = signed_headers(&url, &case.body, &main_key(lille), &key(lille));
            let signature = headers.remove("signature").unwrap();
            let value = format!("Signature {}", signature.to_str().unwrap());
            headers.insert("authorization", HeaderValue::from_str(&value).unwrap());
            headers
        }
    };
    let response = a
        .client
        .post(&url)
        .headers(headers)
        .body(case.body.clone())
        .send()
        .await
        .map_err(|e| format!("no answer: {e:?}"))?;
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let text = response
        .text()
        .await
        .map_err(|e| format!("{status}, body unreadable: {e}"))?;
    Ok((status, content_type, text))
}

fn excerpt(text: &str) -> String {
    let short: String = text.chars().take(300).collect();
    if short.len() < text.len() {
        format!("{short}…")
    } else {
        short
    }
}

/// One integer from SQL run on either engine.
async fn count(store: &Store, sql: &'static str) -> i64 {
    match store {
        Store::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        Store::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
    }
}

/// Pairs of strings from SQL run on either engine.
async fn pairs(store: &Store, sql: &'static str) -> Vec<(String, String)> {
    match store {
        Store::Sqlite(pool) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
        Store::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
    }
}

/// What in `html` a browser would run or load: tags other than a local `<script src>`
/// among `script`, `img`, `svg`, `iframe`, `object`, `embed`, `math`, `base`, `frame`;
/// event-handler attributes; `javascript:`, `vbscript:` or `data:` inside a tag.
/// Escaped text (`&lt;script&gt;`) is text, and is not reported.
fn runnable(html: &str, local_scripts_allowed: bool) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut found = Vec::new();
    let mut rest = lower.as_str();
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        // The `>` that ends the tag, not one inside a quoted attribute value.
        let mut quote = None;
        let end = after
            .char_indices()
            .find(|&(_, c)| match (quote, c) {
                (None, '>') => true,
                (None, '"' | '\'') => {
                    quote = Some(c);
                    false
                }
                (Some(q), c) if c == q => {
                    quote = None;
                    false
                }
                _ => false,
            })
            .map_or(after.len(), |(i, _)| i);
        let tag = &after[..end];
        rest = &after[end..];
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if name.is_empty() {
            continue;
        }
        let mut bad = match name.as_str() {
            "script" => !(local_scripts_allowed && tag.contains("src=\"/static/")),
            "img" | "svg" | "iframe" | "object" | "embed" | "math" | "base" | "frame" => true,
            _ => false,
        };
        bad |= ["javascript:", "vbscript:", "data:"]
            .iter()
            .any(|scheme| tag.contains(scheme));
        // ` onXXX=` (an event handler) anywhere in the tag.
        let bytes = tag.as_bytes();
        for (i, _) in tag.match_indices("on") {
            let preceded =
                i > 0 && matches!(bytes[i - 1], b' ' | b'\t' | b'\n' | b'/' | b'"' | b'\'');
            let letters = tag[i + 2..]
                .bytes()
                .take_while(u8::is_ascii_alphabetic)
                .count();
            let next = tag[i + 2 + letters..].trim_start().bytes().next();
            if preceded && letters > 0 && next == Some(b'=') {
                bad = true;
            }
        }
        if bad {
            found.push(format!("<{}>", excerpt(tag)));
        }
    }
    found
}

async fn hostile_corpus(a: TestApp) {
    let b = spawn_app(a.engine).await.unwrap();
    let marcq_token = a.collectivite_with_token("marcq", "59378").await;
    let local = a.publish("marcq", &marcq_token, &sample_action()).await;
    b.create_collectivite("lille", "59350").await;
    b.create_collectivite("roubaix", "59512").await;
    let lille = b.actor("lille").await;
    let roubaix = b.actor("roubaix").await;
    // Marcq follows both, so their Articles and posts are kept.
    let marcq = a.actor("marcq").await;
    let config = maillage::federation::federation_config(a.state.clone())
        .await
        .unwrap();
    let data = config.to_request_data();
    let mut known = Vec::new();
    for actor in [&lille, &roubaix] {
        let id: ObjectId<ActorRecord> = actor.ap_id.clone().into();
        let record = id.dereference(&data).await.unwrap();
        a.state
            .store
            .insert_follow(
                None,
                marcq.id,
                record.id,
                maillage::db::follows::FollowState::Accepted,
            )
            .await
            .unwrap();
        known.push(record);
    }
    let ids = Ids {
        a: a.base.clone(),
        b: b.base.clone(),
        lille: lille.ap_id.to_string(),
        roubaix: roubaix.ap_id.to_string(),
        marcq: marcq.ap_id.to_string(),
        action: local["id"].as_str().unwrap().to_string(),
    };
    let cases = corpus(ids.clone());
    assert!(cases.len() >= 100, "{} cases", cases.len());
    if let Some(dir) = std::env::var_os("MAILLAGE_HOSTILE_DUMP") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (i, case) in cases
            .iter()
            .filter(|c| c.body.len() <= 64 * 1024)
            .enumerate()
        {
            let slug: String = case
                .name
                .chars()
                .map(|ch| {
                    if ch.is_ascii_alphanumeric() {
                        ch.to_ascii_lowercase()
                    } else {
                        '-'
                    }
                })
                .collect();
            std::fs::write(dir.join(format!("{i:03}-{slug}.json")), &case.body).unwrap();
        }
    }

    // Send every case, one after the other, and collect what went wrong.
    let mut failures = Vec::new();
    let mut tally: BTreeMap<Category, (usize, BTreeMap<u16, usize>)> = BTreeMap::new();
    let started = std::time::Instant::now();
    for case in &cases {
        let begun = std::time::Instant::now();
        let answer = tokio::time::timeout(CASE_TIMEOUT, send(&a, &lille, &roubaix, case)).await;
        let label = format!("[{:?}] {}", case.category, case.name);
        let (status, content_type, text) = match answer {
            Err(_) => {
                failures.push(format!("{label}: no answer within {CASE_TIMEOUT:?}"));
                continue;
            }
            Ok(Err(error)) => {
                failures.push(format!("{label}: {error}"));
                continue;
            }
            Ok(Ok(answer)) => answer,
        };
        let entry = tally.entry(case.category).or_default();
        entry.0 += 1;
        *entry.1.entry(status.as_u16()).or_default() += 1;
        if !(status.is_success() || status.is_client_error()) {
            failures.push(format!("{label}: {status} {}", excerpt(&text)));
            continue;
        }
        if status.is_client_error() && content_type != "application/problem+json" {
            failures.push(format!("{label}: {status} as {content_type:?}"));
        }
        if status.as_u16() != case.expect.status() {
            failures.push(format!(
                "{label}: expected {} ({:?}), got {status} {}",
                case.expect.status(),
                case.expect,
                excerpt(&text)
            ));
        }
        if begun.elapsed() > Duration::from_secs(10) {
            eprintln!("slow case {label}: {:?}", begun.elapsed());
        }
    }
    eprintln!(
        "hostile corpus on {:?}: {} cases in {:?}",
        a.engine,
        cases.len(),
        started.elapsed()
    );
    for (category, (total, statuses)) in &tally {
        eprintln!("  {category:?}: {total} cases, statuses {statuses:?}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );

    // The node is up.
    let health = a.client.get(a.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    // Exactly the rows of the cases that should apply.
    let store = &a.state.store;
    let expected =
        |effect: Effect| cases.iter().filter(|c| c.expect == Applied(effect)).count() as i64;
    for effect in EFFECTS {
        let actual = match effect {
            Effect::Action => {
                count(store, "SELECT COUNT(*) FROM actions WHERE local = FALSE").await
            }
            Effect::Comment => count(store, "SELECT COUNT(*) FROM comments").await,
            Effect::Post => count(store, "SELECT COUNT(*) FROM posts").await,
            Effect::Follower => store.count_followers(marcq.id).await.unwrap(),
            Effect::Reaction => count(store, "SELECT COUNT(*) FROM reactions").await,
            Effect::Report => count(store, "SELECT COUNT(*) FROM reports").await,
        };
        assert_eq!(actual, expected(effect), "{effect:?} rows");
    }

    // Nothing belongs to an actor of another origin than its id.
    let origin = |url: &str| {
        let url = url::Url::parse(url).unwrap();
        (url.host_str().map(str::to_string), url.port())
    };
    for (what, sql) in [
        (
            "action",
            "SELECT a.ap_id, o.ap_id FROM actions a JOIN actors o ON o.id = a.actor_id",
        ),
        (
            "comment",
            "SELECT c.ap_id, o.ap_id FROM comments c JOIN actors o ON o.id = c.author_id",
        ),
        (
            "post",
            "SELECT p.ap_id, o.ap_id FROM posts p JOIN actors o ON o.id = p.actor_id",
        ),
    ] {
        for (object, owner) in pairs(store, sql).await {
            assert_eq!(
                origin(&object),
                origin(&owner),
                "{what} {object} of {owner}"
            );
        }
    }
    // What Lille tried on Roubaix's things and on Marcq's changed nothing.
    let roubaix_action = pairs(
        store,
        "SELECT a.name, o.ap_id FROM actions a JOIN actors o ON o.id = a.actor_id \
         WHERE a.name = 'Action de Roubaix' AND a.deleted_at IS NULL",
    )
    .await;
    assert_eq!(
        roubaix_action,
        [("Action de Roubaix".to_string(), ids.roubaix.clone())]
    );
    assert_eq!(
        count(
            store,
            "SELECT COUNT(*) FROM actions WHERE name = 'Action volée'"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            store,
            "SELECT COUNT(*) FROM posts WHERE deleted_at IS NOT NULL OR content_html LIKE '%volée%'"
        )
        .await,
        0
    );
    let local_action = store
        .action_by_ap_id(&ids.action.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(local_action.deleted.is_none());
    assert_eq!(local_action.data.name, sample_action()["name"]);
    assert!(
        store
            .actor_by_ap_id(&roubaix.ap_id)
            .await
            .unwrap()
            .is_some()
    );
    let lille_action = pairs(
        store,
        "SELECT a.name, COALESCE(CAST(a.deleted_at AS TEXT), '') FROM actions a \
         WHERE a.name LIKE 'Action de Lille (modifiée)%'",
    )
    .await;
    assert_eq!(
        lille_action.len(),
        1,
        "the update applied, the older one did not"
    );
    assert!(!lille_action[0].1.is_empty(), "deleted by its owner");

    // No stored HTML can run anything; no stored link is `javascript:`.
    let html_columns: [(&str, &'static str); 6] = [
        (
            "actions.content_html",
            "SELECT ap_id, content_html FROM actions",
        ),
        (
            "actions.results_html",
            "SELECT ap_id, COALESCE(results_html, '') FROM actions",
        ),
        (
            "actions.recommendations_html",
            "SELECT ap_id, COALESCE(recommendations_html, '') FROM actions",
        ),
        (
            "comments.content_html",
            "SELECT ap_id, content_html FROM comments",
        ),
        (
            "posts.content_html",
            "SELECT ap_id, content_html FROM posts",
        ),
        ("reports.content", "SELECT ap_id, content FROM reports"),
    ];
    for (column, sql) in html_columns {
        for (id, html) in pairs(store, sql).await {
            let found = runnable(&html, false);
            assert!(found.is_empty(), "{column} of {id}: {found:?}");
            assert!(!html.contains('\0'), "{column} of {id}: NUL");
        }
    }
    let link_columns: [(&str, &'static str); 8] = [
        ("actions.url", "SELECT ap_id, url FROM actions"),
        ("actions.links", "SELECT ap_id, links FROM actions"),
        ("actions.images", "SELECT ap_id, images FROM actions"),
        ("actions.software", "SELECT ap_id, software FROM actions"),
        ("actions.providers", "SELECT ap_id, providers FROM actions"),
        ("actions.partners", "SELECT ap_id, partners FROM actions"),
        (
            "comments.url",
            "SELECT ap_id, COALESCE(url, '') FROM comments",
        ),
        ("posts.url", "SELECT ap_id, COALESCE(url, '') FROM posts"),
    ];
    for (column, sql) in link_columns {
        for (id, text) in pairs(store, sql).await {
            let lower = text.to_ascii_lowercase();
            for scheme in ["javascript:", "vbscript:", "data:"] {
                assert!(
                    !lower.contains(scheme),
                    "{column} of {id}: {}",
                    excerpt(&text)
                );
            }
        }
    }

    // Served pages: the action page with every comment shown, the directory pages.
    for comment in store
        .comments_of_action(local_action.db_id, true)
        .await
        .unwrap()
    {
        store
            .set_comment_state(comment.id, CommentState::Approved)
            .await
            .unwrap();
    }
    let uuid = local["uuid"].as_str().unwrap();
    for path in [
        format!("/actions/{uuid}"),
        "/".to_string(),
        "/themes/culture".to_string(),
        "/actors/marcq".to_string(),
    ] {
        let (status, page) = a.get_html(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let found = runnable(&page, true);
        assert!(found.is_empty(), "{path}: {found:?}");
    }
    let (_, page) = a.get_html(&format!("/actions/{uuid}")).await;
    assert!(
        page.contains("Nous avons fait pareil"),
        "the comments are on the page"
    );
    for path in ["/api/v1/directory/actions", "/directory.atom"] {
        let response = a.client.get(a.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let text = response.text().await.unwrap().to_ascii_lowercase();
        assert!(!text.contains("\"javascript:"), "{path}");
        assert!(!text.contains("href=\"javascript:"), "{path}");
    }
    let replies = a.get_as_ok(&format!("{}/replies", ids.action)).await;
    assert_eq!(
        replies["totalItems"].as_i64().unwrap(),
        expected(Effect::Comment)
    );
}

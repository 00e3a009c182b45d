//! Owns rich text: Markdown rendering and HTML sanitising. [`SafeHtml`] can only be built
//! by the sanitiser, so templates may print it without escaping.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// HTML that went through the allow-list sanitiser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct SafeHtml(String);

/// The markup an editor wrote a text in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TextFormat {
    /// CommonMark (default): rendered to HTML, the source is kept.
    #[default]
    Markdown,
    /// HTML: sanitised, no source kept.
    Html,
}

/// A text as published: sanitised HTML plus the Markdown it came from, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RichText {
    /// Sanitised HTML.
    pub html: SafeHtml,
    /// The Markdown source, when the text was written in Markdown.
    pub source: Option<String>,
}

static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    // Remote images are not loaded without consent (SPEC §5 moderation): no <img>.
    builder
        .rm_tags(["img"])
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer nofollow ugc"));
    builder
});

impl SafeHtml {
    /// Sanitises arbitrary HTML with the allow-list.
    pub fn sanitize(html: &str) -> Self {
        Self(SANITIZER.clean(html).to_string())
    }

    /// Sanitises untrusted HTML (from another server, or typed by an editor) at a
    /// bounded cost.
    ///
    /// The HTML tree-building algorithm the sanitiser runs takes time quadratic in the
    /// nesting of unclosed elements, and re-creates unclosed formatting elements at
    /// each new block (`<p><b title=1></p><p><b title=2></p>…`: 114 KB of that became
    /// 245 MB of output in 11 s). So: a document shaped as servers serialise theirs
    /// (every element closed by its own end tag, in order, no comment, doctype,
    /// raw-text or foreign element), nested at most [`REMOTE_MAX_DEPTH`] deep, is
    /// sanitised as usual; any other only when it has at most
    /// [`REMOTE_MAX_MALFORMED_TAGS`] start tags, and is kept as plain text beyond.
    /// NUL characters are dropped.
    pub fn sanitize_bounded(html: &str) -> Self {
        let html = html.replace('\0', "");
        let shape = Shape::of(&html);
        if (shape.well_formed && shape.depth <= REMOTE_MAX_DEPTH)
            || shape.start_tags <= REMOTE_MAX_MALFORMED_TAGS
        {
            Self::sanitize(&html)
        } else {
            Self::from_plain_text(&Self(html).to_plain_text())
        }
    }

    /// Renders CommonMark to HTML, then sanitises it.
    pub fn from_markdown(markdown: &str) -> Self {
        let parser = pulldown_cmark::Parser::new_ext(
            markdown,
            pulldown_cmark::Options::ENABLE_TABLES | pulldown_cmark::Options::ENABLE_STRIKETHROUGH,
        );
        let mut html = String::with_capacity(markdown.len() * 3 / 2);
        pulldown_cmark::html::push_html(&mut html, parser);
        // Markdown lets raw HTML through: bounded like remote HTML.
        Self::sanitize_bounded(&html)
    }

    /// Escapes plain text into HTML (one paragraph).
    pub fn from_plain_text(text: &str) -> Self {
        Self(format!("<p>{}</p>", escape(text)))
    }

    /// Wraps HTML read back from our own database, where only sanitised HTML is written.
    pub fn from_trusted_storage(html: String) -> Self {
        Self(html)
    }

    /// The HTML text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text without tags, whitespace collapsed (for summaries and search).
    pub fn to_plain_text(&self) -> String {
        let mut out = String::with_capacity(self.0.len());
        let mut in_tag = false;
        for c in self.0.chars() {
            match c {
                '<' => {
                    in_tag = true;
                    out.push(' ');
                }
                '>' => in_tag = false,
                _ if !in_tag => out.push(c),
                _ => {}
            }
        }
        let text = out
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'");
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// Deepest nesting of a well-formed remote document sanitised as HTML.
pub const REMOTE_MAX_DEPTH: usize = 100;

/// Most start tags of another remote document sanitised as HTML.
pub const REMOTE_MAX_MALFORMED_TAGS: usize = 200;

/// Elements without end tag.
const VOID_ELEMENTS: [&str; 19] = [
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "image", "img",
    "input", "keygen", "link", "meta", "param", "source", "track", "wbr",
];

/// Elements whose content is not read as tags, or is read by other rules.
const NOT_PLAIN_ELEMENTS: [&str; 13] = [
    "script",
    "style",
    "textarea",
    "title",
    "xmp",
    "iframe",
    "noembed",
    "noframes",
    "noscript",
    "plaintext",
    "svg",
    "math",
    "template",
];

/// How a document's markup is shaped, its tags read as the HTML tokenizer reads them.
#[derive(Debug, PartialEq, Eq)]
struct Shape {
    /// `<` followed by a letter, anywhere (so also in comments): at least as many as
    /// the start tags the parser sees.
    start_tags: usize,
    /// Every element is closed by its own end tag, in order; no comment, doctype,
    /// processing instruction, raw-text or foreign element.
    well_formed: bool,
    /// Deepest nesting of elements (as written).
    depth: usize,
}

impl Shape {
    fn of(html: &str) -> Self {
        let bytes = html.as_bytes();
        let start_tags = bytes
            .windows(2)
            .filter(|pair| pair[0] == b'<' && pair[1].is_ascii_alphabetic())
            .count();
        let mut open: Vec<String> = Vec::new();
        let mut depth = 0;
        let mut well_formed = true;
        let mut at = 0;
        while let Some(offset) = bytes[at..].iter().position(|b| *b == b'<') {
            let lt = at + offset;
            let closing = bytes.get(lt + 1) == Some(&b'/');
            let name_start = lt + 1 + usize::from(closing);
            match bytes.get(name_start) {
                Some(b) if b.is_ascii_alphabetic() => {}
                // Comments, doctypes, processing instructions, `</>`, `</ …`.
                Some(b'!' | b'?') => well_formed = false,
                _ if closing => well_formed = false,
                // A `<` in text.
                _ => {
                    at = lt + 1;
                    continue;
                }
            }
            let Some((name, end)) = well_formed.then(|| read_tag(bytes, name_start)).flatten()
            else {
                well_formed = false;
                break;
            };
            at = end;
            let void = VOID_ELEMENTS.contains(&name.as_str());
            if NOT_PLAIN_ELEMENTS.contains(&name.as_str())
                || (closing && (void || open.pop().as_deref() != Some(name.as_str())))
            {
                well_formed = false;
                break;
            }
            if !closing && !void {
                open.push(name);
                depth = depth.max(open.len());
            }
        }
        Self {
            start_tags,
            well_formed: well_formed && open.is_empty(),
            depth,
        }
    }
}

/// Reads a tag from its name at `start` to its `>` as the HTML tokenizer does (names
/// end at whitespace, `/` or `>`; `>` inside a quoted attribute value does not end the
/// tag): the name, ASCII-lowercased, and the index after `>`; `None` when the input
/// ends inside the tag.
fn read_tag(bytes: &[u8], start: usize) -> Option<(String, usize)> {
    let space = |b: u8| matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ');
    let mut at = start;
    while at < bytes.len() && !space(bytes[at]) && !matches!(bytes[at], b'/' | b'>') {
        at += 1;
    }
    let name = String::from_utf8_lossy(&bytes[start..at]).to_ascii_lowercase();
    loop {
        while at < bytes.len() && (space(bytes[at]) || bytes[at] == b'/') {
            at += 1;
        }
        if *bytes.get(at)? == b'>' {
            return Some((name, at + 1));
        }
        // An attribute name: its first character, whatever it is, then up to
        // whitespace, `/`, `>` or `=`.
        at += 1;
        while at < bytes.len() && !space(bytes[at]) && !matches!(bytes[at], b'/' | b'>' | b'=') {
            at += 1;
        }
        while at < bytes.len() && space(bytes[at]) {
            at += 1;
        }
        if bytes.get(at) != Some(&b'=') {
            continue;
        }
        at += 1;
        while at < bytes.len() && space(bytes[at]) {
            at += 1;
        }
        match *bytes.get(at)? {
            quote @ (b'"' | b'\'') => {
                at += 2 + bytes[at + 1..].iter().position(|b| *b == quote)?;
            }
            b'>' => {}
            _ => {
                while at < bytes.len() && !space(bytes[at]) && bytes[at] != b'>' {
                    at += 1;
                }
            }
        }
    }
}

impl std::fmt::Display for SafeHtml {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl RichText {
    /// Renders `input` written in `format`.
    pub fn render(input: &str, format: TextFormat) -> Self {
        match format {
            TextFormat::Markdown => Self {
                html: SafeHtml::from_markdown(input),
                source: Some(input.to_string()),
            },
            TextFormat::Html => Self {
                html: SafeHtml::sanitize_bounded(input),
                source: None,
            },
        }
    }
}

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_rendered_and_sanitised() {
        let text = RichText::render(
            "# Titre\n\nUn **guichet** <script>alert(1)</script> [lien](javascript:alert(1))",
            TextFormat::Markdown,
        );
        let html = text.html.as_str();
        assert!(html.contains("<strong>guichet</strong>"), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(text.source.unwrap().contains("**guichet**"));
    }

    #[test]
    fn html_is_sanitised() {
        let html = SafeHtml::sanitize(
            r#"<p onclick="x()">Bonjour <img src="https://evil.example/x.png"><a href="https://ex.fr">ok</a></p>"#,
        );
        assert!(!html.as_str().contains("onclick"));
        assert!(!html.as_str().contains("<img"));
        assert!(html.as_str().contains("href=\"https://ex.fr\""));
    }

    #[test]
    fn shapes_are_read_like_the_tokenizer() {
        let shape = |html: &str| {
            let s = Shape::of(html);
            (s.start_tags, s.well_formed, s.depth)
        };
        assert_eq!(shape("<p>a <b>b</b><br> c</p><p>d</p>"), (4, true, 2));
        assert_eq!(shape("<P title='a>b' x=1 y>t</p >"), (1, true, 1));
        assert_eq!(
            shape("<b/>x</b>"),
            (1, true, 1),
            "self-closing means nothing"
        );
        assert_eq!(shape("1 < 2 and 3<>4"), (0, true, 0));
        assert!(!Shape::of("<p>x").well_formed);
        assert!(!Shape::of("<p><b></p></b>").well_formed);
        assert!(!Shape::of("<b><!--</b>--></b>").well_formed);
        assert!(!Shape::of("<textarea></b></textarea>").well_formed);
        assert!(!Shape::of("<b title=\"x></b>").well_formed, "tag left open");
        assert!(!Shape::of("</br>").well_formed);
    }

    #[test]
    fn remote_html_costs_a_bounded_time() {
        // Each of these took seconds and the first gave hundreds of MB before.
        let bombs = [
            (0..20_000)
                .map(|i| format!("<p><b title=\"{i}\"></p>"))
                .collect::<String>(),
            "<div>".repeat(40_000),
            (0..15_000).map(|i| format!("<b title={i}>")).collect(),
            "<ul><li>x".repeat(20_000),
        ];
        for bomb in &bombs {
            let started = std::time::Instant::now();
            let html = SafeHtml::sanitize_bounded(bomb);
            assert!(
                html.as_str().len() <= 2 * bomb.len(),
                "{}",
                html.as_str().len()
            );
            assert!(started.elapsed() < std::time::Duration::from_secs(10));
        }
        // What servers send is unchanged.
        let served = "<p>Un <strong>guichet</strong> <a href=\"https://ex.fr\">lien</a></p>\
                      <ul><li>un</li><li>deux</li></ul>"
            .repeat(2_000);
        assert_eq!(
            SafeHtml::sanitize_bounded(&served),
            SafeHtml::sanitize(&served)
        );
        let sloppy = "<p>un<p>deux<br>trois";
        assert_eq!(
            SafeHtml::sanitize_bounded(sloppy),
            SafeHtml::sanitize(sloppy)
        );
        assert_eq!(SafeHtml::sanitize_bounded("a\0b").as_str(), "ab");
    }

    #[test]
    fn editors_html_and_markdown_cost_a_bounded_time() {
        let bomb = (0..20_000)
            .map(|i| format!("<p><b title=\"{i}\"></p>"))
            .collect::<String>();
        for format in [TextFormat::Html, TextFormat::Markdown] {
            let text = RichText::render(&bomb, format);
            assert!(text.html.as_str().len() <= 2 * bomb.len(), "{format:?}");
        }
    }

    #[test]
    fn plain_text() {
        let html = SafeHtml::sanitize("<p>École &amp; <em>numérique</em></p>");
        assert_eq!(html.to_plain_text(), "École & numérique");
    }
}

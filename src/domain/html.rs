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

    /// Renders CommonMark to HTML, then sanitises it.
    pub fn from_markdown(markdown: &str) -> Self {
        let parser = pulldown_cmark::Parser::new_ext(
            markdown,
            pulldown_cmark::Options::ENABLE_TABLES | pulldown_cmark::Options::ENABLE_STRIKETHROUGH,
        );
        let mut html = String::with_capacity(markdown.len() * 3 / 2);
        pulldown_cmark::html::push_html(&mut html, parser);
        Self::sanitize(&html)
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
                html: SafeHtml::sanitize(input),
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
    fn plain_text() {
        let html = SafeHtml::sanitize("<p>École &amp; <em>numérique</em></p>");
        assert_eq!(html.to_plain_text(), "École & numérique");
    }
}

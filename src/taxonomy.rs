//! Owns the theme taxonomy (SPEC §2): four axes, twelve themes, read from
//! `config/themes.toml` (embedded at build time) — the list is data, not code.
//! [`ThemeSlug`] values can only name a theme of that list.

use std::fmt;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

const THEMES_TOML: &str = include_str!("../config/themes.toml");

/// One theme of the taxonomy.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Theme {
    /// Stable slug (`education`).
    pub slug: String,
    /// French label.
    pub label: String,
    /// What it covers.
    #[serde(default)]
    pub description: String,
    /// Slug of its axe (filled in at load).
    #[serde(default)]
    pub axe: String,
}

/// One axe, grouping three themes.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Axe {
    /// Stable slug (`partage-connaissance`).
    pub slug: String,
    /// French label.
    pub label: String,
    /// Its themes.
    pub themes: Vec<Theme>,
}

/// The whole taxonomy.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Taxonomy {
    /// Axes in display order.
    pub axes: Vec<Axe>,
}

static TAXONOMY: LazyLock<Taxonomy> = LazyLock::new(|| {
    let mut taxonomy: Taxonomy =
        toml::from_str(THEMES_TOML).expect("BUG: config/themes.toml is checked by a unit test");
    for axe in &mut taxonomy.axes {
        for theme in &mut axe.themes {
            theme.axe = axe.slug.clone();
        }
    }
    taxonomy
});

impl Taxonomy {
    /// The taxonomy embedded in the binary.
    pub fn global() -> &'static Taxonomy {
        &TAXONOMY
    }

    /// Every theme, axe by axe.
    pub fn themes(&self) -> impl Iterator<Item = &Theme> {
        self.axes.iter().flat_map(|axe| axe.themes.iter())
    }

    /// The theme named `slug`.
    pub fn theme(&self, slug: &str) -> Option<&Theme> {
        self.themes().find(|theme| theme.slug == slug)
    }

    /// The axe named `slug`.
    pub fn axe(&self, slug: &str) -> Option<&Axe> {
        self.axes.iter().find(|axe| axe.slug == slug)
    }
}

/// The slug of a theme of the taxonomy.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ThemeSlug(String);

impl ThemeSlug {
    /// Parses a slug against the taxonomy.
    ///
    /// # Errors
    /// A French message listing the known themes.
    pub fn parse(value: &str) -> Result<Self, String> {
        let taxonomy = Taxonomy::global();
        match taxonomy.theme(value.trim()) {
            Some(theme) => Ok(Self(theme.slug.clone())),
            None => Err(format!(
                "thème inconnu « {value} » ; thèmes possibles : {}",
                taxonomy
                    .themes()
                    .map(|t| t.slug.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    /// The theme this slug names.
    pub fn theme(&self) -> &'static Theme {
        Taxonomy::global()
            .theme(&self.0)
            .expect("BUG: a ThemeSlug always names a theme")
    }

    /// The hashtag name used on the wire (`#developpementdurable`).
    pub fn hashtag(&self) -> String {
        format!("#{}", self.0.replace('-', ""))
    }
}

impl AsRef<str> for ThemeSlug {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ThemeSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ThemeSlug {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ThemeSlug> for String {
    fn from(value: ThemeSlug) -> String {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taxonomy_has_four_axes_and_twelve_themes() {
        let taxonomy = Taxonomy::global();
        assert_eq!(taxonomy.axes.len(), 4);
        assert_eq!(taxonomy.themes().count(), 12);
        assert_eq!(
            taxonomy.theme("education").unwrap().axe,
            "partage-connaissance"
        );
    }

    #[test]
    fn slugs_are_checked() {
        assert!(ThemeSlug::parse("education").is_ok());
        assert!(ThemeSlug::parse("cuisine").is_err());
        assert_eq!(
            ThemeSlug::parse("developpement-durable").unwrap().hashtag(),
            "#developpementdurable"
        );
    }
}

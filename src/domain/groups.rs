//! The directory's groups (SPEC §4, FEP-1b12) as names: one per theme of the taxonomy
//! (`education`), per département (`dep-59`) and per région (`reg-32`) of the
//! referential. Their usernames are reserved: no collectivité may take one
//! ([`reserved_by_a_group`]), checked by the profile's validation before anything is
//! written. The actors, documents and `Announce`s are `federation::groups`.

use crate::referential::Referential;
use crate::taxonomy::Taxonomy;

/// What a group gathers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupKind {
    /// A theme slug.
    Theme(String),
    /// A département code.
    Departement(String),
    /// A région code.
    Region(String),
}

impl GroupKind {
    /// Parses a group username (`education`, `dep-59`, `reg-32`) against the taxonomy
    /// and the referential.
    pub fn parse(name: &str) -> Option<Self> {
        let referential = Referential::global();
        if let Some(code) = name.strip_prefix("dep-") {
            let code = code.to_uppercase();
            return referential
                .departement(&code)
                .map(|d| Self::Departement(d.code.clone()));
        }
        if let Some(code) = name.strip_prefix("reg-") {
            return referential
                .region(code)
                .map(|r| Self::Region(r.code.clone()));
        }
        Taxonomy::global()
            .theme(name)
            .map(|t| Self::Theme(t.slug.clone()))
    }

    /// The group's username.
    pub fn username(&self) -> String {
        match self {
            Self::Theme(slug) => slug.clone(),
            Self::Departement(code) => format!("dep-{}", code.to_lowercase()),
            Self::Region(code) => format!("reg-{code}"),
        }
    }

    /// Display name and one-sentence summary, in French.
    pub fn describe(&self) -> (String, String) {
        let referential = Referential::global();
        match self {
            Self::Theme(slug) => {
                let label = Taxonomy::global()
                    .theme(slug)
                    .map(|t| t.label.clone())
                    .unwrap_or_default();
                (
                    format!("Thème : {label}"),
                    format!("Les actions numériques des collectivités sur le thème « {label} »."),
                )
            }
            Self::Departement(code) => {
                let name = referential
                    .departement(code)
                    .map(|d| d.nom.clone())
                    .unwrap_or_default();
                (
                    format!("{name} ({code})"),
                    format!(
                        "Les actions numériques des collectivités du département {name} ({code})."
                    ),
                )
            }
            Self::Region(code) => {
                let name = referential
                    .region(code)
                    .map(|r| r.nom.clone())
                    .unwrap_or_default();
                (
                    format!("Région {name}"),
                    format!("Les actions numériques des collectivités de la région {name}."),
                )
            }
        }
    }

    /// The path of the group's HTML page.
    pub fn page(&self) -> String {
        match self {
            Self::Theme(slug) => format!("/themes/{slug}"),
            Self::Departement(code) => format!("/?departement={code}"),
            Self::Region(code) => format!("/?region={code}"),
        }
    }
}

/// The error when `username` is the name of one of the directory's existing groups (a
/// theme slug of the taxonomy, `dep-` and a département code, `reg-` and a région code):
/// a collectivité never takes the address of a thematic or territorial group. Other
/// names, `dep-zz` included, are free.
pub fn reserved_by_a_group(username: &str) -> Option<String> {
    GroupKind::parse(username).map(|_| {
        format!("« {username} » est réservé aux fils thématiques et territoriaux de l'annuaire")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_existing_groups_reserve_their_names() {
        for name in ["education", "dep-59", "dep-2a", "reg-32"] {
            assert!(reserved_by_a_group(name).is_some(), "{name}");
        }
        for name in ["marcq", "dep-00", "dep-", "reg-99", "educations"] {
            assert!(reserved_by_a_group(name).is_none(), "{name}");
        }
    }

    #[test]
    fn a_group_names_itself_as_it_parses() {
        for name in ["education", "dep-59", "dep-2a", "reg-32"] {
            assert_eq!(GroupKind::parse(name).unwrap().username(), name);
        }
    }
}

//! `[node]`: how the node presents itself (NodeInfo, pages, its contact).

use serde::{Deserialize, Serialize};

use super::Settings;

/// `[node]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeSettings {
    /// Node name shown in pages and NodeInfo.
    pub name: String,
    /// One sentence about the node.
    pub description: String,
    /// Who answers for the node: an email address or an `https://` page. Shown on
    /// the accessibility page (`/accessibilite`) as the way to report a problem.
    pub contact: String,
}

impl NodeSettings {
    /// The contact as a link target (`mailto:` for an address), when set.
    pub fn contact_href(&self) -> Option<String> {
        let contact = self.contact.trim();
        if contact.is_empty() {
            None
        } else if contact.contains("://") {
            Some(contact.to_string())
        } else {
            Some(format!("mailto:{contact}"))
        }
    }
}

impl Default for NodeSettings {
    fn default() -> Self {
        Self {
            name: "Maillage".into(),
            description:
                "Un nœud de Maillage, l'annuaire fédéré des actions numériques des collectivités"
                    .into(),
            contact: String::new(),
        }
    }
}

impl Settings {
    /// The warning an accepted `node.contact` still deserves (French): empty (the
    /// accessibility page then names no way to report a problem), or a plain `http`
    /// page on an `https` node.
    pub(super) fn contact_warning(&self) -> Option<String> {
        let contact = self.node.contact.trim();
        if contact.is_empty() {
            Some(
                "node.contact est vide : la déclaration d'accessibilité (/accessibilite) n'indique aucun moyen de signaler un problème, ce que la loi demande ; indiquez une adresse électronique ou une page https://".to_string(),
            )
        } else if contact.starts_with("http://") && self.scheme() == "https" {
            Some(format!(
                "node.contact « {contact} » est une page en http:// alors que le nœud est servi en https:// : indiquez son adresse https://"
            ))
        } else {
            None
        }
    }
}

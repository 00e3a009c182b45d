//! `[node]`: how the node presents itself (NodeInfo, pages, its contact).

use serde::{Deserialize, Serialize};

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

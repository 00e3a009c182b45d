//! `[map]`: the background of the pages' maps ([`TileProvider`]), the tiles a
//! page loads from a third party, and their check.

use anyhow::bail;
use serde::{Deserialize, Serialize};
use url::Url;

use super::Settings;

/// `[map]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MapSettings {
    /// Where the map's background comes from: `outline` (the France outline served
    /// by the node; no third party), `ign` (the IGN Géoplateforme's Plan IGN tiles),
    /// `openstreetmap`, or `custom` (`tile_url` and `attribution`). Unset in a file:
    /// `outline`, or `custom` for an old file with a `tile_url` (see
    /// [`Settings::upgrade_old_map`]); always set once loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<TileProvider>,
    /// Tile URL template (`{z}/{x}/{y}`), with `provider = "custom"` only.
    pub tile_url: String,
    /// Attribution shown on the map, with `provider = "custom"` only.
    pub attribution: String,
}

/// The map's background (`map.provider`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TileProvider {
    /// The France outline, served by the node: no visitor data leaves it.
    Outline,
    /// Plan IGN v2 from the IGN Géoplateforme's open WMTS access point (Licence
    /// Ouverte / Etalab 2.0, no key; docs/deployment.md cites the terms).
    Ign,
    /// OpenStreetMap's own tile servers (their tile usage policy applies).
    Openstreetmap,
    /// `map.tile_url` and `map.attribution`.
    Custom,
}

/// The tiles a page's map loads, when a third party serves them.
pub struct Tiles {
    /// URL template (`{z}`, `{x}`, `{y}`).
    pub url: String,
    /// The provider's required credit.
    pub attribution: String,
    /// Who serves them, for the sentence telling visitors (French).
    pub provider_name: String,
}

/// Plan IGN v2, Web Mercator, from the Géoplateforme's open WMTS access point.
pub(super) const IGN_PLAN_TILES: &str = "https://data.geopf.fr/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2&STYLE=normal&TILEMATRIXSET=PM&FORMAT=image/png&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}";

impl MapSettings {
    /// The background chosen: `outline` when none is.
    pub fn provider(&self) -> TileProvider {
        self.provider.unwrap_or(TileProvider::Outline)
    }

    /// The third-party tiles to load, or `None` for the outline alone.
    pub fn tiles(&self) -> Option<Tiles> {
        match self.provider() {
            TileProvider::Outline => None,
            TileProvider::Ign => Some(Tiles {
                url: IGN_PLAN_TILES.into(),
                attribution: "© IGN – Plan IGN".into(),
                provider_name: "l'IGN (Géoplateforme)".into(),
            }),
            TileProvider::Openstreetmap => Some(Tiles {
                url: "https://tile.openstreetmap.org/{z}/{x}/{y}.png".into(),
                attribution: "© contributeurs OpenStreetMap".into(),
                provider_name: "la fondation OpenStreetMap".into(),
            }),
            TileProvider::Custom => Some(Tiles {
                url: self.tile_url.clone(),
                attribution: self.attribution.clone(),
                provider_name: Url::parse(&self.tile_url.replace(['{', '}'], ""))
                    .ok()
                    .and_then(|u| u.host_str().map(|h| format!("le serveur {h}")))
                    .unwrap_or_else(|| "un serveur tiers".into()),
            }),
        }
    }

    /// `(tile URL, attribution, sentence for visitors)` as the pages pass them to the
    /// map script; all empty for the outline alone.
    pub fn for_pages(&self) -> (String, String, String) {
        match self.tiles() {
            None => Default::default(),
            Some(t) => (
                t.url,
                t.attribution,
                format!(
                    "Le fond de carte vient de {} : pour l'afficher, votre navigateur lui demande des images, ce qui lui transmet votre adresse IP.",
                    t.provider_name
                ),
            ),
        }
    }
}

impl Settings {
    /// Before `map.provider` existed, `map.tile_url` alone chose custom tiles: a file
    /// without `map.provider` but with a `tile_url` is read as `provider = "custom"`,
    /// with the warning returned (French). An explicit provider is never changed (an
    /// explicit `outline` with a leftover `tile_url` is refused by [`Self::check_map`]).
    pub(super) fn upgrade_old_map(&mut self) -> Option<String> {
        if self.map.provider.is_some() {
            return None;
        }
        if self.map.tile_url.is_empty() {
            self.map.provider = Some(TileProvider::Outline);
            return None;
        }
        self.map.provider = Some(TileProvider::Custom);
        Some(
            "map.tile_url sans map.provider (ancienne forme) : lu comme map.provider = \"custom\" ; ajoutez cette ligne à la section [map]".to_string(),
        )
    }

    /// `map.tile_url` and `map.attribution` go with `map.provider = "custom"` only, and
    /// it needs both: a tile URL set under another provider would be silently ignored.
    pub(super) fn check_map(&self) -> anyhow::Result<()> {
        let map = &self.map;
        let custom = map.provider() == TileProvider::Custom;
        let unused_custom = !map.tile_url.is_empty() || !map.attribution.is_empty();
        if !custom && unused_custom {
            bail!(
                "map.tile_url et map.attribution ne servent qu'avec map.provider = \"custom\" : ajoutez-le, ou retirez-les pour le fond choisi (outline, ign, openstreetmap)"
            );
        }
        if custom {
            let url = Url::parse(&map.tile_url.replace(['{', '}'], "")).ok();
            if url.is_none_or(|u| u.scheme() != "https")
                || !["{z}", "{x}", "{y}"]
                    .iter()
                    .all(|p| map.tile_url.contains(p))
            {
                bail!(
                    "map.tile_url doit être une adresse https:// avec {{z}}, {{x}} et {{y}} (reçu « {} »)",
                    map.tile_url
                );
            }
            if map.attribution.trim().is_empty() {
                bail!(
                    "map.attribution est obligatoire avec map.provider = \"custom\" : le crédit que le fournisseur de tuiles demande"
                );
            }
        }
        Ok(())
    }
}

//! `Place` with a schema.org `PostalAddress`, for actions and collectivités.
//! Latitude and longitude are AS2's own properties (not swapped, unlike Mobilizon's
//! documented example).

use serde::{Deserialize, Serialize};

use crate::domain::{GeoPoint, InseeCode, Place, PostalAddress};

/// AS2 `Place`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PlaceJson {
    /// Always `Place`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Latitude.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latitude: Option<f64>,
    /// Longitude.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longitude: Option<f64>,
    /// Commune code.
    #[serde(rename = "mai:insee", default, skip_serializing_if = "Option::is_none")]
    pub insee: Option<String>,
    /// Postal address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<PostalAddressJson>,
}

/// schema.org `PostalAddress`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PostalAddressJson {
    /// Always `PostalAddress`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Street.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    /// Postcode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// Town.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_locality: Option<String>,
    /// Country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_country: Option<String>,
}

impl From<&PostalAddress> for PostalAddressJson {
    fn from(address: &PostalAddress) -> Self {
        Self {
            kind: "PostalAddress".into(),
            street_address: address.street.clone(),
            postal_code: address.postal_code.clone(),
            address_locality: address.locality.clone(),
            address_country: Some("FR".into()),
        }
    }
}

/// A remote text for storage: without NUL (PostgreSQL refuses it), at most 200 characters.
fn remote_text(text: Option<String>) -> Option<String> {
    text.map(|t| t.chars().filter(|c| *c != '\0').take(200).collect())
}

impl From<PostalAddressJson> for PostalAddress {
    fn from(json: PostalAddressJson) -> Self {
        Self {
            street: remote_text(json.street_address),
            postal_code: remote_text(json.postal_code),
            locality: remote_text(json.address_locality),
        }
    }
}

impl From<&Place> for PlaceJson {
    fn from(place: &Place) -> Self {
        Self {
            kind: "Place".into(),
            name: Some(place.name.clone()),
            latitude: place.point.map(|p| p.lat),
            longitude: place.point.map(|p| p.lon),
            insee: place.insee.as_ref().map(|i| i.to_string()),
            address: place
                .address
                .as_ref()
                .filter(|a| !a.is_empty())
                .map(PostalAddressJson::from),
        }
    }
}

impl PlaceJson {
    /// The domain place; invalid remote parts (out-of-range point, bad INSEE code) are
    /// dropped, not fatal.
    pub fn to_place(&self) -> Place {
        let point = match (self.latitude, self.longitude) {
            (Some(lat), Some(lon)) => GeoPoint::new(lat, lon).ok(),
            _ => None,
        };
        Place {
            name: self.name.clone().unwrap_or_default(),
            point,
            insee: self.insee.as_deref().and_then(|i| InseeCode::parse(i).ok()),
            address: self.address.clone().map(PostalAddress::from),
        }
    }
}

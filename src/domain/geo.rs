//! Places: a range-checked WGS84 point, a postal address, and a named place as used by
//! actions and collectivités (AS2 `Place` with a schema.org `PostalAddress`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::codes::InseeCode;

/// A WGS84 point with latitude in [-90, 90] and longitude in [-180, 180].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GeoPoint {
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
}

impl GeoPoint {
    /// Builds a point; both values must be finite and in range.
    ///
    /// # Errors
    /// `(field, message)`: which of `latitude`/`longitude` is out of range.
    pub fn new(lat: f64, lon: f64) -> Result<Self, (&'static str, String)> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err((
                "latitude",
                format!("latitude {lat} hors limites : entre -90 et 90 attendue"),
            ));
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err((
                "longitude",
                format!("longitude {lon} hors limites : entre -180 et 180 attendue"),
            ));
        }
        Ok(Self { lat, lon })
    }
}

/// A postal address (schema.org `PostalAddress`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PostalAddress {
    /// Number and street.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    /// Postal code (`59700`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// Town (`Marcq-en-Barœul`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
}

impl PostalAddress {
    /// True when no part is set.
    pub fn is_empty(&self) -> bool {
        self.street.is_none() && self.postal_code.is_none() && self.locality.is_none()
    }
}

/// A named place where an action happens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Place {
    /// Display name (`Médiathèque Duhamel`).
    pub name: String,
    /// Where it is, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point: Option<GeoPoint>,
    /// The commune it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub insee: Option<InseeCode>,
    /// Postal address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<PostalAddress>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_range_checked() {
        assert!(GeoPoint::new(50.672, 3.097).is_ok());
        assert!(GeoPoint::new(-90.0, 180.0).is_ok());
        assert_eq!(GeoPoint::new(91.0, 0.0).unwrap_err().0, "latitude");
        assert_eq!(GeoPoint::new(0.0, -180.5).unwrap_err().0, "longitude");
        assert!(GeoPoint::new(f64::NAN, 0.0).is_err());
    }
}

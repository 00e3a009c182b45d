//! Identifier codes of the French administration and of Maillage actors: INSEE code,
//! SIREN and username. Each is a newtype built only by `parse`.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! string_newtype {
    ($name:ident) => {
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::parse(value)
            }
        }
    };
}

/// A COG (Code officiel géographique) commune code: five characters, digits, with
/// `2A`/`2B` for Corsica (`2A004`) — e.g. `59378`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InseeCode(String);

impl InseeCode {
    /// Parses an INSEE code; surrounding spaces are ignored.
    ///
    /// # Errors
    /// A French message when the code has the wrong shape.
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim().to_ascii_uppercase();
        let bytes = value.as_bytes();
        let shape_ok = bytes.len() == 5
            && (bytes[..2].iter().all(u8::is_ascii_digit)
                || bytes[..2] == *b"2A"
                || bytes[..2] == *b"2B")
            && bytes[2..].iter().all(u8::is_ascii_digit);
        if shape_ok {
            Ok(Self(value))
        } else {
            Err(format!(
                "« {value} » n'est pas un code INSEE : 5 caractères attendus (chiffres, ou 2A/2B pour la Corse)"
            ))
        }
    }

    /// The département part: the first two characters, or three for overseas (`971`).
    pub fn departement(&self) -> &str {
        if self.0.starts_with("97") || self.0.starts_with("98") {
            &self.0[..3]
        } else {
            &self.0[..2]
        }
    }
}
string_newtype!(InseeCode);

/// A SIREN number: nine digits identifying a legal person (commune, EPCI, company).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Siren(String);

impl Siren {
    /// Parses a SIREN; spaces inside (`215 903 782`) are removed.
    ///
    /// # Errors
    /// A French message when it is not nine digits.
    pub fn parse(value: &str) -> Result<Self, String> {
        let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.len() == 9 && compact.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(compact))
        } else {
            Err(format!(
                "« {value} » n'est pas un SIREN : 9 chiffres attendus"
            ))
        }
    }
}
string_newtype!(Siren);

/// An actor's username (`preferredUsername`): `[a-z0-9_-]{1,64}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    /// Parses a username.
    ///
    /// # Errors
    /// A French message saying which characters are allowed.
    pub fn parse(value: &str) -> Result<Self, String> {
        let ok = !value.is_empty()
            && value.len() <= 64
            && value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if ok {
            Ok(Self(value.to_string()))
        } else {
            Err(format!(
                "« {value} » n'est pas un identifiant valide : 1 à 64 caractères parmi a-z, 0-9, _ et -"
            ))
        }
    }
}
string_newtype!(Username);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insee_codes() {
        for ok in ["59378", "2A004", "2b033", "97101", " 01001 "] {
            assert!(InseeCode::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "5937", "593781", "2C004", "ABCDE", "59 37", "2A0X4"] {
            assert!(InseeCode::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(InseeCode::parse("2b033").unwrap().as_ref(), "2B033");
        assert_eq!(InseeCode::parse("59378").unwrap().departement(), "59");
        assert_eq!(InseeCode::parse("97101").unwrap().departement(), "971");
    }

    #[test]
    fn sirens() {
        assert_eq!(Siren::parse("215 903 782").unwrap().as_ref(), "215903782");
        for bad in ["", "21590378", "2159037821", "21590378A"] {
            assert!(Siren::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn usernames() {
        for ok in ["marcq-en-baroeul", "ville_59", "a", &"x".repeat(64)] {
            assert!(Username::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Marcq", "é", "a b", "a.b", &"x".repeat(65)] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn serde_rejects_bad_values() {
        assert!(serde_json::from_str::<InseeCode>("\"123\"").is_err());
        assert!(serde_json::from_str::<InseeCode>("\"59378\"").is_ok());
    }
}

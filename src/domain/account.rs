//! An editor's account settings for notifications (issue 18): the address mails go to
//! and how often ([`NotifyMode`]). Parsed here, at the edge, from the admin form and
//! the CLI.

use std::fmt;

/// An email address: one `@`, a local part, a domain with a dot, no spaces or angle
/// brackets, 254 characters at most.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses an address (surrounding spaces dropped).
    ///
    /// # Errors
    /// A French message for people.
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        let valid = value.len() <= 254
            && !value
                .contains(|c: char| c.is_whitespace() || c.is_control() || "<>,;\"".contains(c))
            && value.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            })
            // What the mailer will accept at send time (`a..b@`, `a(b)@`, `@x..fr` are
            // not): refused here rather than failing every mail later.
            && value.parse::<lettre::Address>().is_ok();
        if valid {
            Ok(Self(value.to_string()))
        } else {
            Err(format!(
                "« {value} » n'est pas une adresse électronique (exemple : prenom.nom@ville.fr)"
            ))
        }
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How an account is told by email of what waits for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NotifyMode {
    /// One mail per notice, as it comes.
    #[default]
    Immediate,
    /// One mail a day gathering the day's notices.
    Digest,
    /// No mail (the dashboard still lists them).
    Off,
}

impl NotifyMode {
    /// Every mode, in the order the form shows them.
    pub const ALL: [Self; 3] = [Self::Immediate, Self::Digest, Self::Off];

    /// The stored and CLI word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Immediate => "immediate",
            Self::Digest => "digest",
            Self::Off => "off",
        }
    }

    /// Parses the stored or CLI word.
    ///
    /// # Errors
    /// A French message naming the possible values.
    pub fn parse(value: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|mode| mode.as_str() == value.trim())
            .ok_or_else(|| {
                format!(
                    "« {value} » n'est pas un rythme de notification ; rythmes possibles : immediate (un courriel à chaque nouvelle), digest (un résumé par jour), off (aucun courriel)"
                )
            })
    }

    /// French label for the admin.
    pub fn label(self) -> &'static str {
        match self {
            Self::Immediate => "un courriel à chaque nouvelle",
            Self::Digest => "un résumé par jour",
            Self::Off => "aucun courriel",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked() {
        assert_eq!(
            EmailAddress::parse(" marie@ville.fr ").unwrap().as_ref(),
            "marie@ville.fr"
        );
        for bad in [
            "",
            "marie",
            "marie@ville",
            "@ville.fr",
            "a b@ville.fr",
            "a@b@c.fr",
            "<a@b.fr>",
            "a..b@ville.fr",
            "a(b)@ville.fr",
            "a@ville..fr",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn modes_round_trip() {
        for mode in NotifyMode::ALL {
            assert_eq!(NotifyMode::parse(mode.as_str()), Ok(mode));
        }
        assert!(NotifyMode::parse("weekly").is_err());
    }
}

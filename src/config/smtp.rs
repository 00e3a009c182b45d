//! `[smtp]`: the server that sends editors' notifications, and its check.

use anyhow::bail;
use serde::{Deserialize, Serialize};

use super::Settings;

/// `[smtp]`: the server that sends editors' notifications (docs/deployment.md). Empty
/// `host`: no mail; the admin dashboard still lists every notice.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSettings {
    /// The SMTP server's name (`smtp.ville.fr`, `localhost` for a local relay).
    pub host: String,
    /// Its port: 587 (submission with STARTTLS), 465 (TLS), 25 (a local relay).
    pub port: u16,
    /// `starttls` (the default), `tls` (TLS from the first byte, port 465) or `none`
    /// (plain text: a relay on this machine only).
    pub tls: SmtpTls,
    /// The account to authenticate with; empty: no authentication.
    pub username: String,
    /// Its password; better given as `MAILLAGE_SMTP__PASSWORD` than in the file.
    pub password: String,
    /// The sender of the mails (`Annuaire de Rennes <annuaire@rennes.fr>` or an
    /// address alone).
    pub from: String,
    /// The hour (0 to 23, the server's local time) after which each day's digest goes.
    pub digest_hour: u32,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 587,
            tls: SmtpTls::Starttls,
            username: String::new(),
            password: String::new(),
            from: String::new(),
            digest_hour: 8,
        }
    }
}

impl SmtpSettings {
    /// True when mails are sent (`host` is set).
    pub fn enabled(&self) -> bool {
        !self.host.trim().is_empty()
    }
}

/// How the connection to the SMTP server is secured (`smtp.tls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text: a relay on the same machine only.
    None,
    /// Plain connection upgraded with `STARTTLS`, required.
    Starttls,
    /// TLS from the first byte (`smtps`, port 465).
    Tls,
}

impl Settings {
    /// `[smtp]`: a sender address when a host is set, an hour of the day, and a
    /// password only with a user name.
    pub(super) fn check_smtp(&self) -> anyhow::Result<()> {
        let smtp = &self.smtp;
        if !(0..=23).contains(&smtp.digest_hour) {
            bail!(
                "smtp.digest_hour doit être une heure entre 0 et 23 (reçu {})",
                smtp.digest_hour
            );
        }
        if !smtp.password.is_empty() && smtp.username.trim().is_empty() {
            bail!("smtp.password est donné sans smtp.username : ajoutez le nom du compte SMTP");
        }
        if !smtp.enabled() {
            return Ok(());
        }
        if smtp.host.contains(['/', ':', ' ']) {
            bail!(
                "smtp.host doit être un nom d'hôte sans schéma ni port (reçu « {} ») : le port va dans smtp.port",
                smtp.host
            );
        }
        if smtp.port == 0 {
            bail!("smtp.port doit être un port entre 1 et 65535");
        }
        // Plain text carries the account's password in the clear (lettre authenticates
        // whatever the transport): only towards a relay on this machine.
        let loopback = matches!(
            smtp.host.trim().to_ascii_lowercase().as_str(),
            "localhost" | "127.0.0.1"
        );
        if smtp.tls == SmtpTls::None && !smtp.username.trim().is_empty() && !loopback {
            bail!(
                "smtp.tls = \"none\" enverrait le mot de passe du compte « {} » en clair à {} : utilisez \"starttls\" (port 587) ou \"tls\" (port 465), ou un relais sur cette machine (host = \"localhost\")",
                smtp.username,
                smtp.host
            );
        }
        if smtp.tls == SmtpTls::Tls && smtp.port == 587 {
            bail!(
                "smtp.tls = \"tls\" (TLS dès la connexion) va avec le port 465 ; le port 587 attend \"starttls\" : indiquez smtp.port = 465 ou smtp.tls = \"starttls\""
            );
        }
        if smtp.from.parse::<lettre::message::Mailbox>().is_err() {
            bail!(
                "smtp.from doit être l'adresse d'expédition des courriels, par exemple « Annuaire <annuaire@ville.fr> » (reçu « {} »)",
                smtp.from
            );
        }
        Ok(())
    }
}

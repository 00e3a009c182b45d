//! `[accessibility]`: what the node's operator declares of its RGAA 4.1 conformance
//! (the accessibility declaration French law asks of public service websites: article
//! 47 of law 2005-102, decree 2019-768), and its check.

use anyhow::bail;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use url::Url;

use super::Settings;

/// `[accessibility]`. Without an audit the site declares itself "non conforme", as the
/// law requires; an audit's rate of criteria met gives the status (RGAA: 100 %
/// "totalement conforme", 50 % or more "partiellement conforme", below "non conforme").
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccessibilitySettings {
    /// The day of the last RGAA audit of this node (`YYYY-MM-DD`); empty: none.
    pub audit_date: String,
    /// Who made it (a company, the town's own accessibility officer).
    pub audited_by: String,
    /// The share of the RGAA criteria met that the audit measured, in percent (0–100).
    pub compliance_rate: Option<u8>,
    /// The operator's multi-year accessibility plan (schéma pluriannuel), `https://`.
    pub schema_url: String,
    /// This year's action plan, `https://`.
    pub action_plan_url: String,
}

/// The conformance status a site declares (RGAA 4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conformance {
    /// No audit, or below 50 % of the criteria.
    None,
    /// 50 % or more, below 100 %.
    Partial,
    /// Every criterion met.
    Total,
}

impl Conformance {
    /// As the footer and the declaration say it.
    pub fn label(self) -> &'static str {
        match self {
            Self::None => "non conforme",
            Self::Partial => "partiellement conforme",
            Self::Total => "totalement conforme",
        }
    }
}

impl AccessibilitySettings {
    /// The declared status: from the audit's rate, "non conforme" without one.
    pub fn conformance(&self) -> Conformance {
        match self.compliance_rate {
            Some(100) => Conformance::Total,
            Some(rate) if rate >= 50 => Conformance::Partial,
            _ => Conformance::None,
        }
    }

    /// The audit's day, once checked.
    pub fn audit_day(&self) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(self.audit_date.trim(), "%Y-%m-%d").ok()
    }
}

impl Settings {
    /// `[accessibility]`: a rate only with the audit that measured it (its day, not in
    /// the future, and who made it), and links that are `https://` pages.
    pub(super) fn check_accessibility(&self) -> anyhow::Result<()> {
        let a = &self.accessibility;
        if !a.audit_date.trim().is_empty() {
            let Some(day) = a.audit_day() else {
                bail!(
                    "accessibility.audit_date doit être une date AAAA-MM-JJ (reçu « {} »)",
                    a.audit_date
                );
            };
            if day > chrono::Local::now().date_naive() {
                bail!("accessibility.audit_date ne peut pas être dans le futur (reçu {day})");
            }
        }
        if let Some(rate) = a.compliance_rate {
            if rate > 100 {
                bail!(
                    "accessibility.compliance_rate est un pourcentage entre 0 et 100 (reçu {rate})"
                );
            }
            if a.audit_date.trim().is_empty() || a.audited_by.trim().is_empty() {
                bail!(
                    "accessibility.compliance_rate vient d'un audit : indiquez aussi accessibility.audit_date et accessibility.audited_by"
                );
            }
        } else if !a.audit_date.trim().is_empty() {
            bail!(
                "accessibility.audit_date est donné sans accessibility.compliance_rate : indiquez le taux de critères respectés que l'audit a mesuré"
            );
        }
        for (key, value) in [
            ("schema_url", &a.schema_url),
            ("action_plan_url", &a.action_plan_url),
        ] {
            let value = value.trim();
            if !value.is_empty() && Url::parse(value).map_or(true, |u| u.scheme() != "https") {
                bail!("accessibility.{key} doit être une page https:// (reçu « {value} »)");
            }
        }
        Ok(())
    }
}

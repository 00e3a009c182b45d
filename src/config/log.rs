//! `[log]`: the log format and filter, and the filter's check.

use anyhow::bail;
use serde::{Deserialize, Serialize};

/// `[log]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: String,
    /// A `tracing` filter (`info`, `maillage=debug,info`); `RUST_LOG` wins when set.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: "text".into(),
            level: "info".into(),
        }
    }
}

/// Levels a `log.level` directive may name (`tracing`'s, lowercase).
const LOG_LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

/// Checks a `log.level` filter: each directive is a level or `target=level`, with the
/// levels `tracing` knows. `tracing` itself would take `warning` as a target name and
/// then log nothing at all, errors included.
pub(super) fn check_log_level(filter: &str) -> anyhow::Result<()> {
    let directives: Vec<&str> = filter
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect();
    if directives.is_empty() {
        bail!("log.level est vide : écrivez un niveau (trace, debug, info, warn, error ou off)");
    }
    for directive in directives {
        // Span filters (`target[span{field=value}]=level`) are left to tracing's parser.
        if directive.contains('[') {
            continue;
        }
        let (target, level) = match directive.rsplit_once('=') {
            Some((target, level)) => (Some(target.trim()), level.trim()),
            None => (None, directive),
        };
        if target.is_some_and(str::is_empty)
            || !LOG_LEVELS.contains(&level.to_ascii_lowercase().as_str())
        {
            let hint = match level.to_ascii_lowercase().as_str() {
                "warning" => " ; vouliez-vous dire « warn » ?".to_string(),
                "err" | "fatal" | "critical" => " ; vouliez-vous dire « error » ?".to_string(),
                "information" | "notice" => " ; vouliez-vous dire « info » ?".to_string(),
                _ => String::new(),
            };
            bail!(
                "log.level « {filter} » : « {directive} » n'est pas un niveau de journal ; niveaux possibles : {}, seuls ou par module (`maillage=debug,info`){hint}",
                LOG_LEVELS.join(", ")
            );
        }
    }
    tracing_subscriber::EnvFilter::try_new(filter)
        .map(drop)
        .map_err(|error| anyhow::anyhow!("log.level « {filter} » invalide : {error}"))
}

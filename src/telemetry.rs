//! Owns logging: a `tracing` subscriber writing human-readable or JSON lines
//! (`log.format`), filtered by `RUST_LOG` or `log.level`, coloured only on a terminal
//! and never with `NO_COLOR`; and the few lines the command line writes on standard
//! error outside of logging (the configuration used, a refusal), in the same format;
//! and the access log, one `info` line per HTTP request.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use tracing_subscriber::EnvFilter;

use crate::config::LogSettings;

/// True once JSON logs were asked for: the command line's own lines follow.
static JSON: AtomicBool = AtomicBool::new(false);

/// Installs the global subscriber; a second call is a no-op (tests spawn many apps).
pub fn init(settings: &LogSettings) {
    let json = settings.format == "json";
    JSON.store(json, Ordering::Relaxed);
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{},sqlx=warn", settings.level)));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        ));
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Whether log lines get ANSI colours: only on a terminal, and never when `NO_COLOR`
/// is set to a non-empty value (<https://no-color.org>). Log files, pipes and the
/// journal get plain text.
pub fn colour(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(|value| value.is_empty())
}

/// Makes [`say`] and [`refuse`] write JSON (before the subscriber is installed, when
/// the configuration that asks for JSON was refused).
pub fn use_json(json: bool) {
    JSON.store(json, Ordering::Relaxed);
}

/// A line of the command line's own on standard error: `text` as is, or, in JSON
/// mode, an object shaped like the JSON log lines, with `fields` beside the message.
fn line(level: &str, text: &str, message: &str, fields: &[(&str, &str)]) {
    if JSON.load(Ordering::Relaxed) {
        let mut all = serde_json::Map::new();
        all.insert("message".into(), message.into());
        for (key, value) in fields {
            all.insert((*key).into(), (*value).into());
        }
        let object = serde_json::json!({
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "level": level,
            "fields": all,
            "target": "maillage::cli",
        });
        eprintln!("{object}");
    } else {
        eprintln!("{text}");
    }
}

/// Says something to the operator on standard error (text, or a JSON `INFO` line with
/// `fields`), whatever the log level: not a log line but the command's own output.
pub fn say(text: &str, message: &str, fields: &[(&str, &str)]) {
    line("INFO", text, message, fields);
}

/// Says why the command failed (`erreur : …`, or a JSON `ERROR` line).
pub fn refuse(message: &str) {
    line("ERROR", &format!("erreur : {message}"), message, &[]);
}

/// Routes left out of the access log: health probes, polled every few seconds.
const UNLOGGED_ROUTES: [&str; 2] = ["/healthz", "/readyz"];

/// Middleware: one `info` line per request, target `maillage::access`, with the
/// method, the route template (`/actors/{username}`, never the raw path with its
/// parameters; `unmatched` for a path no route knows), the status, the time to the
/// response head in milliseconds and the request id (`x-request-id`, also sent back to
/// the client). Health probes are left out.
pub async fn access_log(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_string());
    if route
        .as_deref()
        .is_some_and(|route| UNLOGGED_ROUTES.contains(&route))
    {
        return next.run(request).await;
    }
    let method = request.method().clone();
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let duration_ms = (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0;
    tracing::info!(
        target: "maillage::access",
        method = %method,
        route = route.as_deref().unwrap_or("unmatched"),
        status = response.status().as_u16(),
        duration_ms,
        request_id = %request_id,
        "request"
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        let set = std::ffi::OsStr::new("1");
        let empty = std::ffi::OsStr::new("");
        assert!(colour(true, None));
        assert!(colour(true, Some(empty)));
        assert!(!colour(true, Some(set)));
        assert!(!colour(false, None));
        assert!(!colour(false, Some(set)));
    }
}

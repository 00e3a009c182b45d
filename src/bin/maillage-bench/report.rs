//! What a scenario measured: a table for the terminal and a JSON document, both with
//! the machine they ran on.

use std::time::Duration;

use serde_json::{Map, Value, json};

/// The figures of one run.
pub struct Report {
    scenario: String,
    lines: Vec<(String, String)>,
    json: Map<String, Value>,
}

impl Report {
    /// An empty report for `scenario`.
    pub fn new(scenario: &str) -> Self {
        Self {
            scenario: scenario.into(),
            lines: Vec::new(),
            json: Map::new(),
        }
    }

    /// A row of the table.
    pub fn line(&mut self, label: &str, value: String) {
        self.lines.push((label.into(), value));
    }

    /// A figure of the JSON document.
    pub fn json(&mut self, key: &str, value: Value) {
        self.json.insert(key.into(), value);
    }

    /// Adds the rows and figures of `other` after these.
    pub fn append(&mut self, other: Report) {
        self.lines.extend(other.lines);
        self.json.extend(other.json);
    }

    /// Prints the table (Markdown) and writes the JSON to `path`.
    pub fn finish(mut self, path: &std::path::Path) -> anyhow::Result<()> {
        let machine = machine();
        println!("\n## maillage-bench {} — {machine}\n", self.scenario);
        println!("| figure | value |\n| --- | --- |");
        for (label, value) in &self.lines {
            println!("| {label} | {value} |");
        }
        self.json.insert("scenario".into(), json!(self.scenario));
        self.json.insert("machine".into(), json!(machine));
        self.json
            .insert("date".into(), json!(chrono::Utc::now().to_rfc3339()));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, serde_json::to_string_pretty(&self.json)?)?;
        println!("\n(JSON: {})", path.display());
        Ok(())
    }
}

/// CPU model, cores and memory of this machine (Linux `/proc`).
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpu
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown CPU".to_string(), |m| m.trim().to_string());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    format!("{model}, {cores} cores, {memory:.0} GiB")
}

/// The `q` quantile of sorted durations, in milliseconds.
pub fn percentile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

/// A remote collectivité's profile for an actor stored by the harness.
pub fn remote_profile(id: &url::Url) -> anyhow::Result<maillage::domain::NewCollectivite> {
    let name = id.path_segments().and_then(|mut s| s.nth(1)).unwrap_or("x");
    Ok(maillage::domain::NewCollectivite::named(
        maillage::domain::Username::parse(name).map_err(anyhow::Error::msg)?,
        format!("Commune fictive {name}"),
    ))
}

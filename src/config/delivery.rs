//! `[delivery]`: the outbound delivery workers, their batches and the health of
//! unreachable instances.

use serde::{Deserialize, Serialize};

/// Largest `delivery.batch`: a batch's ids are bound as one parameter each (SQLite takes
/// at most 32 766).
pub const MAX_DELIVERY_BATCH: usize = 1000;

/// `[delivery]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliverySettings {
    /// Run delivery workers inside `maillage serve`.
    pub workers: bool,
    /// Concurrent requests to one remote domain.
    pub per_host: usize,
    /// Deliveries claimed at once by a worker.
    pub batch: usize,
    /// Idle poll interval, in milliseconds (new activities wake the worker at once).
    pub poll_interval_ms: u64,
    /// A domain failing for this long (seconds) is marked unreachable.
    pub unreachable_after_secs: u64,
    /// An unreachable domain is probed this often (seconds).
    pub probe_interval_secs: u64,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            workers: true,
            per_host: 4,
            batch: 64,
            poll_interval_ms: 1000,
            unreachable_after_secs: 24 * 3600,
            probe_interval_secs: 6 * 3600,
        }
    }
}

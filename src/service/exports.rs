//! Directory exports (`/directory.geojson`, `.csv`, `.atom`, `maillage export`): the
//! actions are read from the database a chunk at a time ([`chunks`]) and written as they
//! come, so an export's memory does not grow with its size; at most
//! `directory.max_concurrent_exports` run at once, `directory.max_exports_per_address`
//! per client address ([`ExportSlots`]); [`export_tag`] names an export's content for
//! `ETag`/`If-None-Match`, so that repeating an unchanged export costs one small query.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use futures_util::Stream;

use crate::directory::SearchQuery;
use crate::domain::Action;
use crate::error::AppResult;
use crate::state::AppState;

/// Actions read per statement of an export.
pub const EXPORT_CHUNK: i64 = 500;

/// Every action matching `query`, by id descending (the most recently stored first),
/// in chunks of at most [`EXPORT_CHUNK`]: one short statement per chunk, run when the
/// previous chunk has been consumed (keyset pagination on the id, so no connection,
/// transaction or snapshot is held while a slow client reads).
pub fn chunks(
    state: AppState,
    query: &SearchQuery,
) -> impl Stream<Item = AppResult<Vec<Action>>> + Send + 'static {
    let query = super::directory::with_settings(&state, query);
    // `None`: done; `Some(None)`: from the newest; `Some(Some(id))`: below `id`.
    futures_util::stream::try_unfold(Some(None), move |cursor: Option<Option<i64>>| {
        let (state, query) = (state.clone(), query.clone());
        async move {
            let Some(before) = cursor else {
                return Ok(None);
            };
            let chunk = state
                .store
                .export_chunk(&query, before, EXPORT_CHUNK)
                .await?;
            if chunk.is_empty() {
                return Ok(None);
            }
            let next = (chunk.len() as i64 == EXPORT_CHUNK)
                .then(|| chunk.last().map(|action| action.db_id));
            Ok(Some((chunk, next)))
        }
    })
}

/// Longest wait for the client to take the next piece of an export: a client reading
/// slower than about two chunks in this time is cut off, so that slow readers cannot
/// keep the export slots.
pub const EXPORT_STALL: std::time::Duration = std::time::Duration::from_secs(30);

/// The body of a streamed export: `head`, the encoded `chunks` of `query`, `tail`. A
/// task reads the database and encodes, at most two pieces ahead of the client (so
/// memory stays bounded), and holds `slot` until it is done, the client has gone, or
/// the client has not taken a piece for [`EXPORT_STALL`]. Anything but a complete
/// export ends the body with an error, so the client sees it cut short, never a
/// truncated file that looks whole.
pub fn body(
    state: AppState,
    query: &SearchQuery,
    mut encoder: crate::directory::export::Encoder,
    slot: ExportSlot,
) -> impl Stream<Item = std::io::Result<axum::body::Bytes>> + Send + 'static {
    use futures_util::StreamExt;
    use std::sync::atomic::{AtomicBool, Ordering};
    let (sender, receiver) = tokio::sync::mpsc::channel::<axum::body::Bytes>(2);
    let complete = Arc::new(AtomicBool::new(false));
    let done = complete.clone();
    let query = query.clone();
    tokio::spawn(async move {
        let send = |piece: Vec<u8>| {
            let sender = sender.clone();
            async move {
                match tokio::time::timeout(EXPORT_STALL, sender.send(piece.into())).await {
                    Ok(Ok(())) => true,
                    Ok(Err(_)) => false,
                    Err(_) => {
                        tracing::info!("export cut: the client stopped reading");
                        false
                    }
                }
            }
        };
        if !send(encoder.start()).await {
            return;
        }
        let mut chunks = std::pin::pin!(chunks(state, &query));
        while let Some(chunk) = chunks.next().await {
            let actions = match chunk {
                Ok(actions) => actions,
                Err(error) => {
                    tracing::error!(error = %error, "export cut short");
                    return;
                }
            };
            let mut piece = Vec::with_capacity(actions.len() * 1024);
            for action in &actions {
                encoder.action(action, &mut piece);
            }
            if !send(piece).await {
                return;
            }
        }
        // Freed before the end is sent: a client that has read the whole export can
        // start another at once.
        drop(slot);
        done.store(true, Ordering::Release);
        if !send(encoder.finish()).await {
            done.store(false, Ordering::Release);
        }
    });
    // Fused: a body wrapper may poll again after the end (the compression layer's
    // encoder does, to flush), which a bare `unfold` answers with a panic.
    futures_util::stream::unfold(Some(receiver), move |receiver| {
        let complete = complete.clone();
        async move {
            let mut receiver = receiver?;
            match receiver.recv().await {
                Some(piece) => Some((Ok(piece), Some(receiver))),
                None if complete.load(Ordering::Acquire) => None,
                None => Some((Err(std::io::Error::other("export cut short")), None)),
            }
        }
    })
    .fuse()
}

/// A weak `ETag` for an export of `what` (format and parameters): it changes with the
/// directory generation (every action, partner or actor deletion bumps it), with the
/// actors (their names are in exports), and with the node's name and domain.
///
/// # Errors
/// Storage failures.
pub async fn export_tag(state: &AppState, what: &str) -> AppResult<String> {
    let (generation, actors, latest) = state.store.directory_stamp().await?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (what, actors, latest, &state.settings.node.name, &state.base).hash(&mut hasher);
    Ok(format!("W/\"{generation}-{:016x}\"", hasher.finish()))
}

/// Why an export may not start now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    /// This client address already runs its share of exports (`429`).
    Address,
    /// The node runs as many exports as it allows (`503`).
    Node,
}

/// The exports running now: a count for the node and one per client address.
#[derive(Debug)]
pub struct ExportSlots {
    node: usize,
    per_address: usize,
    running: Arc<Mutex<(usize, HashMap<String, usize>)>>,
}

/// A running export; its slots are freed when it is dropped (the response body is
/// finished, cut or abandoned by the client).
#[derive(Debug)]
pub struct ExportSlot {
    address: Option<String>,
    running: Arc<Mutex<(usize, HashMap<String, usize>)>>,
}

impl ExportSlots {
    /// At most `node` exports at once, `per_address` of them for one client address
    /// (0 turns a bound off).
    pub fn new(node: usize, per_address: usize) -> Self {
        Self {
            node,
            per_address,
            running: Arc::default(),
        }
    }

    /// Takes a slot for an export by `address` (`None`: not counted per address, a
    /// trusted proxy's own request or the command line).
    ///
    /// # Errors
    /// [`Busy`] when a bound is reached.
    pub fn acquire(&self, address: Option<String>) -> Result<ExportSlot, Busy> {
        let mut running = self.running.lock().expect("BUG: poisoned export slots");
        let (total, per) = &mut *running;
        if let Some(address) = &address {
            let mine = per.get(address).copied().unwrap_or(0);
            if self.per_address > 0 && mine >= self.per_address {
                return Err(Busy::Address);
            }
        }
        if self.node > 0 && *total >= self.node {
            return Err(Busy::Node);
        }
        *total += 1;
        if let Some(address) = &address {
            *per.entry(address.clone()).or_insert(0) += 1;
        }
        Ok(ExportSlot {
            address,
            running: self.running.clone(),
        })
    }
}

impl Drop for ExportSlot {
    fn drop(&mut self) {
        let mut running = self.running.lock().expect("BUG: poisoned export slots");
        let (total, per) = &mut *running;
        *total -= 1;
        if let Some(address) = &self.address {
            if let Some(count) = per.get_mut(address) {
                *count -= 1;
                if *count == 0 {
                    per.remove(address);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_bounded_and_freed() {
        let slots = ExportSlots::new(3, 2);
        let a1 = slots.acquire(Some("a".into())).unwrap();
        let _a2 = slots.acquire(Some("a".into())).unwrap();
        assert_eq!(slots.acquire(Some("a".into())).unwrap_err(), Busy::Address);
        let _b = slots.acquire(Some("b".into())).unwrap();
        assert_eq!(slots.acquire(Some("c".into())).unwrap_err(), Busy::Node);
        assert_eq!(slots.acquire(None).unwrap_err(), Busy::Node);
        drop(a1);
        let _c = slots.acquire(Some("c".into())).unwrap();
        assert_eq!(slots.running.lock().unwrap().1.len(), 3);
        let unbounded = ExportSlots::new(0, 0);
        let all: Vec<_> = (0..10).map(|_| unbounded.acquire(None).unwrap()).collect();
        assert_eq!(all.len(), 10);
    }
}

//! Backfill (SPEC §3): when one of our follows becomes accepted, walk the followed
//! actor's outbox, newest first, within bounds, and ingest its existing actions as if
//! they had been delivered, so a new follower sees the past, not only the future.
//!
//! Bounds, so that an answer to our `Follow` cannot make this node fetch without end:
//! a backfill starts only when a follow goes from pending to accepted (the caller,
//! `receive`), at most one runs per actor at a time ([`Backfills`]), the whole walk
//! (pages, items and their objects) shares one budget of `federation.backfill_fetches`
//! requests ([`super::budget`]), at most `federation.backfill_pages` pages and
//! `federation.backfill_items` items are read, and nothing off the actor's origin
//! (scheme, host and port) is fetched: an outbox, page or item elsewhere is skipped.

use std::collections::HashSet;
use std::sync::Mutex;

use activitypub_federation::config::Data;
use activitypub_federation::fetch::fetch_object_http;
use serde_json::Value;
use url::Url;

use super::inbox::id_of;
use super::receive::{Applied, create_or_update};
use crate::activitypub::activities::ActivityType;
use crate::db::actors::ActorRecord;
use crate::state::AppState;

/// The actors whose outbox is being walked in this process.
#[derive(Debug, Default)]
pub struct Backfills(Mutex<HashSet<String>>);

impl Backfills {
    /// How many backfills are running.
    pub fn running(&self) -> usize {
        self.0.lock().expect("BUG: poisoned backfills").len()
    }

    /// Marks `actor` as being walked; false when it already is.
    fn start(&self, actor: &Url) -> bool {
        self.0
            .lock()
            .expect("BUG: poisoned backfills")
            .insert(actor.to_string())
    }

    fn finish(&self, actor: &Url) {
        self.0
            .lock()
            .expect("BUG: poisoned backfills")
            .remove(actor.as_str());
    }
}

/// Removes its actor from [`Backfills`] when the walk ends, however it ends.
struct Running {
    state: AppState,
    actor: Url,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.state.backfills.finish(&self.actor);
    }
}

/// Starts a backfill of `actor` in the background (errors are logged), unless one is
/// already running for it; returns whether it started.
pub fn spawn(data: &Data<AppState>, actor: ActorRecord) -> bool {
    if !data.backfills.start(&actor.ap_id) {
        tracing::info!(actor = %actor.ap_id, "backfill already running");
        return false;
    }
    let running = Running {
        state: data.app_data().clone(),
        actor: actor.ap_id.clone(),
    };
    let data = data.reset_request_count();
    tokio::spawn(async move {
        let _running = running;
        let fetches = data.settings.federation.backfill_fetches;
        let (outcome, spent) = super::budget::within(fetches, backfill(&data, &actor)).await;
        match outcome {
            Ok(n) => {
                tracing::info!(actor = %actor.ap_id, ingested = n, fetches = spent, "backfill done")
            }
            Err(error) => {
                tracing::warn!(actor = %actor.ap_id, %error, fetches = spent, "backfill failed")
            }
        }
    });
    true
}

async fn fetch(data: &Data<AppState>, url: &Url) -> anyhow::Result<Value> {
    // The library's counter only bounds one document's redirects here: the walk's
    // budget is the task's (`budget::within`), which nothing resets.
    let data = data.reset_request_count();
    Ok(fetch_object_http::<AppState, Value>(url, &data)
        .await?
        .object)
}

/// A URL on `actor`'s origin (scheme, host and port), or `None`.
fn on_origin(url: Option<Url>, actor: &Url) -> Option<Url> {
    url.filter(|url| url.origin() == actor.origin())
}

/// Walks `actor`'s outbox and ingests its actions; returns how many were applied. Run
/// it within a fetch budget ([`spawn`] does).
///
/// # Errors
/// The actor has no outbox or it cannot be read, or a page or an item cannot be
/// fetched (the budget is spent, for instance).
pub async fn backfill(data: &Data<AppState>, actor: &ActorRecord) -> anyhow::Result<usize> {
    let origin = &actor.ap_id;
    let document = fetch(data, origin).await?;
    let outbox = on_origin(document.get("outbox").and_then(id_of), origin)
        .ok_or_else(|| anyhow::anyhow!("no outbox on the actor's origin"))?;
    let collection = fetch(data, &outbox).await?;
    let mut page = match collection.get("first") {
        Some(first @ Value::String(_)) => match on_origin(id_of(first), origin) {
            Some(url) => Some(fetch(data, &url).await?),
            None => anyhow::bail!("first page off the actor's origin"),
        },
        Some(first @ Value::Object(_)) => Some(first.clone()),
        _ => Some(collection),
    };
    let (max_pages, max_items) = (
        data.settings.federation.backfill_pages,
        data.settings.federation.backfill_items,
    );
    let mut applied = 0;
    let mut seen = 0;
    for _ in 0..max_pages {
        let Some(mut current) = page.take() else {
            break;
        };
        let key = if current.get("orderedItems").is_some() {
            "orderedItems"
        } else {
            "items"
        };
        let items = match current.get_mut(key) {
            Some(Value::Array(items)) => std::mem::take(items),
            _ => Vec::new(),
        };
        for item in items {
            if seen >= max_items {
                return Ok(applied);
            }
            seen += 1;
            let item = match item {
                Value::String(_) => match on_origin(id_of(&item), origin) {
                    Some(url) => fetch(data, &url).await?,
                    None => {
                        tracing::debug!(%item, "backfill item off the actor's origin skipped");
                        continue;
                    }
                },
                other => other,
            };
            let kind = item.get("type").and_then(Value::as_str);
            if kind.map(ActivityType::parse) != Some(ActivityType::Create)
                || item.get("actor").and_then(id_of).as_ref() != Some(origin)
            {
                continue;
            }
            let object = item.get("object").cloned().unwrap_or(Value::Null);
            // An object given by id is fetched by `create_or_update`, only on the
            // actor's origin.
            match create_or_update(&data.reset_request_count(), &object, actor).await {
                Ok(Applied::Done) => applied += 1,
                Ok(Applied::Ignored(reason)) => tracing::debug!(reason, "backfill item ignored"),
                Err(error) => tracing::debug!(%error, "backfill item refused"),
            }
        }
        page = match on_origin(current.get("next").and_then(id_of), origin) {
            Some(next) => Some(fetch(data, &next).await?),
            None => None,
        };
    }
    Ok(applied)
}

//! Backfill (SPEC §3): when one of our follows is accepted, walk the followed actor's
//! outbox, newest first, within bounds, and ingest its existing actions as if they had
//! been delivered, so a new follower sees the past, not only the future. Bounds:
//! `federation.backfill_pages` and `federation.backfill_items`.

use activitypub_federation::config::Data;
use activitypub_federation::fetch::fetch_object_http;
use serde_json::Value;
use url::Url;

use super::inbox::id_of;
use super::receive::{Applied, create_or_update};
use crate::db::actors::ActorRecord;
use crate::state::AppState;

/// Runs [`backfill`] in the background (errors are logged).
pub fn spawn(data: Data<AppState>, actor: ActorRecord) {
    tokio::spawn(async move {
        match backfill(&data, &actor).await {
            Ok(n) => tracing::info!(actor = %actor.ap_id, ingested = n, "backfill done"),
            Err(error) => tracing::warn!(actor = %actor.ap_id, %error, "backfill failed"),
        }
    });
}

async fn fetch(data: &Data<AppState>, url: &Url) -> anyhow::Result<Value> {
    // A fresh request budget per page: the 20-fetch bound is per document here.
    let data = data.reset_request_count();
    Ok(fetch_object_http::<AppState, Value>(url, &data)
        .await?
        .object)
}

/// Walks `actor`'s outbox and ingests its actions; returns how many were applied.
///
/// # Errors
/// The actor has no outbox or it cannot be read.
pub async fn backfill(data: &Data<AppState>, actor: &ActorRecord) -> anyhow::Result<usize> {
    let document = fetch(data, &actor.ap_id).await?;
    let outbox = document
        .get("outbox")
        .and_then(id_of)
        .ok_or_else(|| anyhow::anyhow!("no outbox"))?;
    if outbox.domain() != actor.ap_id.domain() {
        anyhow::bail!("outbox on another domain");
    }
    let collection = fetch(data, &outbox).await?;
    let mut page = match collection.get("first") {
        Some(Value::String(url)) => Some(fetch(data, &Url::parse(url)?).await?),
        Some(first @ Value::Object(_)) => Some(first.clone()),
        _ => Some(collection.clone()),
    };
    let (max_pages, max_items) = (
        data.settings.federation.backfill_pages,
        data.settings.federation.backfill_items,
    );
    let mut applied = 0;
    let mut seen = 0;
    for _ in 0..max_pages {
        let Some(current) = page.take() else { break };
        let items = current
            .get("orderedItems")
            .or_else(|| current.get("items"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for item in items {
            if seen >= max_items {
                return Ok(applied);
            }
            seen += 1;
            let item = match item {
                Value::String(url) => fetch(data, &Url::parse(&url)?).await?,
                other => other,
            };
            if item.get("type").and_then(Value::as_str) != Some("Create")
                || item.get("actor").and_then(id_of).as_ref() != Some(&actor.ap_id)
            {
                continue;
            }
            let object = item.get("object").cloned().unwrap_or(Value::Null);
            match create_or_update(&data.reset_request_count(), &object, actor).await {
                Ok(Applied::Done) => applied += 1,
                Ok(Applied::Ignored(reason)) => tracing::debug!(reason, "backfill item ignored"),
                Err(error) => tracing::debug!(%error, "backfill item refused"),
            }
        }
        page = match current.get("next").and_then(id_of) {
            Some(next) if next.domain() == actor.ap_id.domain() => Some(fetch(data, &next).await?),
            _ => None,
        };
    }
    Ok(applied)
}

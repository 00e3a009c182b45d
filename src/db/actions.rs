//! Actions: insert, update, partners and tombstone of local actions as plain functions
//! on a [`Tx`] (the service stores the activity each change publishes in the same
//! transaction); remote actions' upsert and tombstone; reads joined with the owner;
//! outbox pages.

use chrono::{DateTime, Utc};
use url::Url;
use uuid::Uuid;

use super::rows::{ActionRow, to_json};
use super::{Store, StoreResult, Tx, on_pool};
use crate::domain::{Action, ActionId, NewAction};

/// The select list of an action joined with its owner, as a literal so that queries
/// built with `concat!` stay `&'static str` (sqlx refuses runtime-built SQL).
macro_rules! select_action {
    () => {
        "SELECT a.*, o.ap_id AS owner_ap_id, o.username AS owner_username, \
         o.domain AS owner_domain, o.name AS owner_name, o.local AS owner_local, o.website AS owner_website, \
         o.website_verified_at AS owner_website_verified_at \
         FROM actions a JOIN actors o ON o.id = a.actor_id"
    };
}
pub(crate) use select_action;

/// Binds the content columns of an action, in the order of the `$1…$24` placeholders
/// used by the insert and update statements below.
macro_rules! bind_action_data {
    ($query:expr, $data:expr) => {{
        let d: &NewAction = $data;
        let themes: Vec<&str> = d.themes.iter().map(|t| t.as_ref()).collect();
        $query
            .bind(d.name.clone())
            .bind(d.summary.clone())
            .bind(d.content.html.as_str().to_string())
            .bind(d.content.source.clone())
            .bind(d.results.as_ref().map(|r| r.html.as_str().to_string()))
            .bind(d.results.as_ref().and_then(|r| r.source.clone()))
            .bind(
                d.recommendations
                    .as_ref()
                    .map(|r| r.html.as_str().to_string()),
            )
            .bind(d.recommendations.as_ref().and_then(|r| r.source.clone()))
            .bind(d.phase.as_str())
            .bind(d.status.as_str())
            .bind(to_json(&themes))
            .bind(to_json(&d.locations))
            .bind(d.start_date)
            .bind(d.end_date)
            .bind(d.budget_eur)
            .bind(d.open_to_partners)
            .bind(to_json(&d.software))
            .bind(to_json(&d.providers))
            .bind(to_json(&d.links))
            .bind(to_json(&d.images))
            .bind(to_json(&d.contacts))
            .bind(d.contacts_public)
    }};
}

/// Rebuilds what the directory searches for action `id` in `tx`: theme rows, places
/// with their territory, software, providers and the search text (`data`; `None`
/// clears them all, for a deleted action), and bumps the directory generation.
pub async fn index_action(tx: &mut Tx, id: i64, data: Option<&NewAction>) -> StoreResult<()> {
    let index = data.map(SearchIndex::of).unwrap_or_default();
    on_pool!(tx, conn => {
        let scripts = super::Scripts::scripts(&*conn);
        if scripts {
            sqlx::query(sqlx::AssertSqlSafe(CLEAR_INDEX_SCRIPT.as_str()))
                .bind(id)
                .execute(&mut *conn)
                .await?;
        } else {
            for statement in CLEAR_INDEX {
                sqlx::query(statement).bind(id).execute(&mut *conn).await?;
            }
        }
        if !index.themes.is_empty() {
            // One statement for all themes: `($1, $2), ($1, $3), …`.
            let rows = (0..index.themes.len())
                .map(|i| format!("($1, ${})", i + 2))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!("INSERT INTO action_themes (action_id, theme) VALUES {rows}");
            let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id);
            for theme in &index.themes {
                insert = insert.bind(theme.as_str());
            }
            insert.execute(&mut *conn).await?;
        }
        for place in &index.places {
            sqlx::query(INSERT_PLACE)
                .bind(id)
                .bind(place.insee.as_deref())
                .bind(place.departement.as_deref())
                .bind(place.region.as_deref())
                .bind(place.epci.as_deref())
                .bind(place.lat)
                .bind(place.lon)
                .execute(&mut *conn)
                .await?;
        }
        if data.is_some() && index.places.iter().all(|p| p.insee.is_none()) {
            // No commune named: the owner's territory (and town hall when no point).
            sqlx::query(INSERT_OWNER_PLACE)
                .bind(id)
                .bind(index.places.iter().find_map(|p| p.lat))
                .bind(index.places.iter().find_map(|p| p.lon))
                .execute(&mut *conn)
                .await?;
        }
        for s in &index.software {
            sqlx::query("INSERT INTO action_software (action_id, name, name_key, sill_id, comptoir_id, wikidata) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(id)
                .bind(s.name.as_str())
                .bind(crate::directory::text::fold(&s.name))
                .bind(s.sill_id.as_deref())
                .bind(s.comptoir_id.as_deref())
                .bind(s.wikidata.as_deref())
                .execute(&mut *conn)
                .await?;
        }
        for p in &index.providers {
            sqlx::query("INSERT INTO action_providers (action_id, name, name_key, siren) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(p.name.as_str())
                .bind(crate::directory::text::fold(&p.name))
                .bind(p.siren.as_ref().map(|s| s.to_string()))
                .execute(&mut *conn)
                .await?;
        }
        if scripts {
            sqlx::query(sqlx::AssertSqlSafe(SET_SEARCH_TEXT_AND_BUMP_SCRIPT.as_str()))
                .bind(index.text.as_str())
                .bind(id)
                .execute(&mut *conn)
                .await?;
        } else {
            sqlx::query(SET_SEARCH_TEXT)
                .bind(index.text.as_str())
                .bind(id)
                .execute(&mut *conn)
                .await?;
            sqlx::query(BUMP_GENERATION).execute(&mut *conn).await?;
        }
    });
    Ok(())
}

/// Bumps the directory generation in `tx` (cached counts and facets become stale).
pub async fn bump_generation(tx: &mut Tx) -> StoreResult<()> {
    on_pool!(tx, conn => sqlx::query(BUMP_GENERATION).execute(&mut *conn).await?.rows_affected());
    Ok(())
}

/// Clears the index rows of action `$1`.
pub(crate) const CLEAR_INDEX: [&str; 4] = [
    "DELETE FROM action_themes WHERE action_id = $1",
    "DELETE FROM action_places WHERE action_id = $1",
    "DELETE FROM action_software WHERE action_id = $1",
    "DELETE FROM action_providers WHERE action_id = $1",
];

/// [`CLEAR_INDEX`] as one script (SQLite, see [`crate::db::Scripts`]).
pub(crate) static CLEAR_INDEX_SCRIPT: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| CLEAR_INDEX.join("; "));

/// [`SET_SEARCH_TEXT`] then [`BUMP_GENERATION`], as one script.
pub(crate) static SET_SEARCH_TEXT_AND_BUMP_SCRIPT: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("{SET_SEARCH_TEXT}; {BUMP_GENERATION}"));

/// Bumps the directory generation (cached counts and facets become stale).
pub(crate) const BUMP_GENERATION: &str =
    "UPDATE directory_state SET generation = generation + 1 WHERE id = 1";

/// Inserts a place row of an action.
pub(crate) const INSERT_PLACE: &str = "INSERT INTO action_places \
     (action_id, insee, departement, region, epci, lat, lon) VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// Inserts the owner's territory as a place row of an action (`$2`/`$3`: a point, or
/// NULL for the owner's town hall).
pub(crate) const INSERT_OWNER_PLACE: &str = "INSERT INTO action_places \
     (action_id, insee, departement, region, epci, lat, lon) \
     SELECT a.id, o.insee, o.departement, o.region, o.epci_siren, COALESCE($2, o.lat), COALESCE($3, o.lon) \
     FROM actions a JOIN actors o ON o.id = a.actor_id WHERE a.id = $1";

/// Sets the search text of an action, with its owner's name appended.
pub(crate) const SET_SEARCH_TEXT: &str = "UPDATE actions SET search_text = CASE WHEN $1 = '' THEN '' \
     ELSE $1 || ' ' || (SELECT name FROM actors WHERE actors.id = actions.actor_id) END WHERE id = $2";

/// A place of an action with its territory, resolved through the referential.
#[derive(Debug, Clone, Default)]
pub struct IndexedPlace {
    /// Commune.
    pub insee: Option<String>,
    /// Département.
    pub departement: Option<String>,
    /// Région.
    pub region: Option<String>,
    /// EPCI SIREN.
    pub epci: Option<String>,
    /// Latitude.
    pub lat: Option<f64>,
    /// Longitude.
    pub lon: Option<f64>,
}

/// What the directory indexes of an action.
#[derive(Debug, Clone, Default)]
pub struct SearchIndex {
    /// Theme slugs.
    pub themes: Vec<String>,
    /// Places.
    pub places: Vec<IndexedPlace>,
    /// Software.
    pub software: Vec<crate::domain::Software>,
    /// Providers.
    pub providers: Vec<crate::domain::Provider>,
    /// Plain text searched (the owner's name is added in SQL).
    pub text: String,
}

impl SearchIndex {
    /// The index of an action's content.
    pub fn of(data: &NewAction) -> Self {
        let referential = crate::referential::Referential::global();
        let places = data
            .locations
            .iter()
            .map(|place| {
                let commune = place.insee.as_ref().and_then(|i| referential.commune(i));
                IndexedPlace {
                    insee: place.insee.as_ref().map(|i| i.to_string()),
                    departement: commune.map(|c| c.departement.clone()),
                    region: commune.map(|c| c.region.clone()),
                    epci: commune
                        .map(|c| c.epci_siren.clone())
                        .filter(|e| !e.is_empty()),
                    lat: place.point.map(|p| p.lat),
                    lon: place.point.map(|p| p.lon),
                }
            })
            .collect();
        let mut text = vec![data.name.clone()];
        text.extend(data.summary.clone());
        text.push(data.content.html.to_plain_text());
        text.extend(data.results.as_ref().map(|r| r.html.to_plain_text()));
        text.extend(
            data.recommendations
                .as_ref()
                .map(|r| r.html.to_plain_text()),
        );
        text.extend(data.themes.iter().map(|t| t.theme().label.clone()));
        text.extend(data.locations.iter().map(|p| p.name.clone()));
        text.extend(data.software.iter().map(|s| s.name.clone()));
        text.extend(data.providers.iter().map(|p| p.name.clone()));
        Self {
            themes: data.themes.iter().map(|t| t.to_string()).collect(),
            places,
            software: data.software.clone(),
            providers: data.providers.clone(),
            text: text.join(" \n "),
        }
    }
}

/// Action `id` (database id) joined with its owner, read in `tx`.
pub async fn action_in(tx: &mut Tx, id: i64) -> StoreResult<Action> {
    let row: ActionRow = on_pool!(tx, conn => {
        sqlx::query_as(concat!(select_action!(), " WHERE a.id = $1"))
            .bind(id)
            .fetch_one(&mut *conn)
            .await?
    });
    Action::try_from(row)
}

/// Locks the row of action `id` in `tx` (PostgreSQL: until the end of the
/// transaction; SQLite's write transaction holds the whole database already) and reads
/// it, if it is live: `None` when it is deleted, so that changes about the same action
/// at the same time each see the other's.
pub async fn lock_live_action(tx: &mut Tx, id: i64) -> StoreResult<Option<Action>> {
    const LOCK: &str =
        "UPDATE actions SET partners = partners WHERE id = $1 AND deleted_at IS NULL";
    let live = on_pool!(tx, conn => {
        sqlx::query(LOCK).bind(id).execute(&mut *conn).await?.rows_affected()
    });
    if live == 0 {
        return Ok(None);
    }
    action_in(tx, id).await.map(Some)
}

/// Inserts an action in `tx` and indexes it for the directory; returns its database
/// id.
pub async fn insert_action(
    tx: &mut Tx,
    identity: &ActionIdentity,
    data: &NewAction,
) -> StoreResult<i64> {
    const SQL: &str = "INSERT INTO actions (name, summary, content_html, content_source, \
         results_html, results_source, recommendations_html, recommendations_source, phase, \
         status, themes, locations, start_date, end_date, budget_eur, open_to_partners, \
         software, providers, links, images, contacts, contacts_public, \
         uuid, ap_id, url, actor_id, local, published, updated, import_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $28, $29) RETURNING id";
    let now = Utc::now();
    let id: i64 = on_pool!(tx, conn => {
        bind_action_data!(sqlx::query_scalar(SQL), data)
            .bind(identity.id.0)
            .bind(identity.ap_id.as_str())
            .bind(identity.url.as_str())
            .bind(identity.owner_id)
            .bind(identity.local)
            .bind(now)
            .bind(identity.import_key.as_deref())
            .fetch_one(&mut *conn)
            .await?
    });
    index_action(tx, id, Some(data)).await?;
    Ok(id)
}

/// Replaces the content of live action `id` in `tx` and indexes it again; false when
/// it is deleted (nothing changed).
pub async fn update_action(tx: &mut Tx, id: i64, data: &NewAction) -> StoreResult<bool> {
    const SQL: &str = "UPDATE actions SET name = $1, summary = $2, content_html = $3, \
         content_source = $4, results_html = $5, results_source = $6, \
         recommendations_html = $7, recommendations_source = $8, phase = $9, status = $10, \
         themes = $11, locations = $12, start_date = $13, end_date = $14, budget_eur = $15, \
         open_to_partners = $16, software = $17, providers = $18, links = $19, images = $20, \
         contacts = $21, contacts_public = $22, updated = $23 \
         WHERE id = $24 AND deleted_at IS NULL";
    let changed = on_pool!(tx, conn => {
        bind_action_data!(sqlx::query(SQL), data)
            .bind(Utc::now())
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
    });
    if changed == 0 {
        return Ok(false);
    }
    index_action(tx, id, Some(data)).await?;
    Ok(true)
}

/// Replaces the partners (actor ids) of live action `id` in `tx`; false when it is
/// deleted.
pub async fn set_partners(tx: &mut Tx, id: i64, partners: &[Url]) -> StoreResult<bool> {
    const SQL: &str =
        "UPDATE actions SET partners = $1, updated = $2 WHERE id = $3 AND deleted_at IS NULL";
    let changed = on_pool!(tx, conn => {
        sqlx::query(SQL)
            .bind(to_json(&partners))
            .bind(Utc::now())
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
    });
    if changed == 0 {
        return Ok(false);
    }
    bump_generation(tx).await?;
    Ok(true)
}

/// Tombstones live action `id` in `tx` (it then answers `410 Gone`) and clears its
/// index rows; false when it was deleted already.
pub async fn tombstone_action(tx: &mut Tx, id: i64) -> StoreResult<bool> {
    const SQL: &str =
        "UPDATE actions SET deleted_at = $1, updated = $1 WHERE id = $2 AND deleted_at IS NULL";
    let changed = on_pool!(tx, conn => {
        sqlx::query(SQL).bind(Utc::now()).bind(id).execute(&mut *conn).await?.rows_affected()
    });
    if changed == 0 {
        return Ok(false);
    }
    index_action(tx, id, None).await?;
    Ok(true)
}

/// The live actions of actor `owner_id` (database ids), read in `tx`.
pub async fn live_actions_of(tx: &mut Tx, owner_id: i64) -> StoreResult<Vec<i64>> {
    const SQL: &str = "SELECT id FROM actions WHERE actor_id = $1 AND deleted_at IS NULL";
    Ok(on_pool!(tx, conn => {
        sqlx::query_scalar(SQL).bind(owner_id).fetch_all(&mut *conn).await?
    }))
}

/// The live local actions whose `partners` name `partner` (database
/// ids, ascending), read in `tx`: accepted partners, and lists written directly
/// (`service::actions::set_partners`, the demo data).
pub async fn live_local_actions_naming(tx: &mut Tx, partner: &Url) -> StoreResult<Vec<i64>> {
    // A coarse text match first, then the exact one on the decoded list.
    const SQL: &str = "SELECT id, partners FROM actions \
         WHERE local = TRUE AND deleted_at IS NULL AND partners LIKE $1 ORDER BY id";
    let pattern = format!("%{}%", partner.as_str().replace(['%', '_'], "_"));
    let rows: Vec<(i64, String)> = on_pool!(tx, conn => {
        sqlx::query_as(SQL).bind(&pattern).fetch_all(&mut *conn).await?
    });
    Ok(rows
        .into_iter()
        .filter(|(_, partners)| {
            serde_json::from_str::<Vec<Url>>(partners).is_ok_and(|list| list.contains(partner))
        })
        .map(|(id, _)| id)
        .collect())
}

/// Where a new action comes from and who owns it.
#[derive(Debug, Clone)]
pub struct ActionIdentity {
    /// Public id.
    pub id: ActionId,
    /// ActivityPub id.
    pub ap_id: Url,
    /// HTML page.
    pub url: Url,
    /// Owner's database id.
    pub owner_id: i64,
    /// Hosted here?
    pub local: bool,
    /// Key of the spreadsheet row it was imported from (unique per owner).
    pub import_key: Option<String>,
}

/// One item of an outbox page: the `Create` activity id and the action it created.
#[derive(Debug, Clone)]
pub struct OutboxItem {
    /// Database id of the activity (the page cursor).
    pub activity_id: i64,
    /// ActivityPub id of the `Create`.
    pub activity_ap_id: Url,
    /// The action, as it is now.
    pub action: Action,
}

#[derive(sqlx::FromRow)]
struct OutboxRow {
    activity_id: i64,
    activity_ap_id: String,
    #[sqlx(flatten)]
    action: ActionRow,
}

impl Store {
    /// Inserts or updates an action received from its owner's node; false when nothing
    /// changed. An older version (by `updated`) never overwrites a newer one; a
    /// tombstoned action stays deleted.
    #[allow(clippy::too_many_arguments)]
    pub async fn upsert_remote_action(
        &self,
        ap_id: &Url,
        url: &Url,
        owner_id: i64,
        data: &NewAction,
        partners: &[Url],
        published: DateTime<Utc>,
        updated: DateTime<Utc>,
    ) -> StoreResult<bool> {
        const SQL: &str = "INSERT INTO actions (name, summary, content_html, content_source, \
             results_html, results_source, recommendations_html, recommendations_source, phase, \
             status, themes, locations, start_date, end_date, budget_eur, open_to_partners, \
             software, providers, links, images, contacts, contacts_public, \
             uuid, ap_id, url, actor_id, local, published, updated, partners) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
             $18, $19, $20, $21, $22, $23, $24, $25, $26, FALSE, $27, $28, $29) \
             ON CONFLICT (ap_id) DO UPDATE SET name = excluded.name, summary = excluded.summary, \
             content_html = excluded.content_html, content_source = excluded.content_source, \
             results_html = excluded.results_html, results_source = excluded.results_source, \
             recommendations_html = excluded.recommendations_html, \
             recommendations_source = excluded.recommendations_source, phase = excluded.phase, \
             status = excluded.status, themes = excluded.themes, locations = excluded.locations, \
             start_date = excluded.start_date, end_date = excluded.end_date, \
             budget_eur = excluded.budget_eur, open_to_partners = excluded.open_to_partners, \
             software = excluded.software, providers = excluded.providers, links = excluded.links, \
             images = excluded.images, contacts = excluded.contacts, \
             contacts_public = excluded.contacts_public, url = excluded.url, \
             updated = excluded.updated, partners = excluded.partners \
             WHERE actions.local = FALSE AND actions.actor_id = excluded.actor_id \
             AND actions.deleted_at IS NULL AND actions.updated <= excluded.updated \
             RETURNING id";
        let uuid = Uuid::new_v5(&Uuid::NAMESPACE_URL, ap_id.as_str().as_bytes());
        super::retry_insert_race(|| async {
            let mut tx = self.begin().await?;
            let id: Option<i64> = on_pool!(&mut tx, conn => {
                bind_action_data!(sqlx::query_scalar(SQL), data)
                    .bind(uuid)
                    .bind(ap_id.as_str())
                    .bind(url.as_str())
                    .bind(owner_id)
                    .bind(published)
                    .bind(updated)
                    .bind(to_json(&partners))
                    .fetch_optional(&mut *conn)
                    .await?
            });
            if let Some(id) = id {
                index_action(&mut tx, id, Some(data)).await?;
            }
            tx.commit().await?;
            Ok(id.is_some())
        })
        .await
    }

    /// Tombstones a remote action on its owner's `Delete`; false when there was none.
    pub async fn tombstone_remote_action(&self, ap_id: &Url, owner_id: i64) -> StoreResult<bool> {
        const SQL: &str = "UPDATE actions SET deleted_at = $1, updated = $1 \
             WHERE ap_id = $2 AND actor_id = $3 AND local = FALSE AND deleted_at IS NULL";
        let now = Utc::now();
        let mut tx = self.begin().await?;
        let (n, id): (u64, Option<i64>) = on_pool!(&mut tx, conn => {
            let n = sqlx::query(SQL)
                .bind(now)
                .bind(ap_id.as_str())
                .bind(owner_id)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            let id = sqlx::query_scalar("SELECT id FROM actions WHERE ap_id = $1 AND local = FALSE")
                .bind(ap_id.as_str())
                .fetch_optional(&mut *conn)
                .await?;
            (n, id)
        });
        if let (Some(id), true) = (id, n > 0) {
            index_action(&mut tx, id, None).await?;
        }
        tx.commit().await?;
        Ok(n > 0)
    }

    /// The action with this public id, tombstoned or not.
    pub async fn action(&self, id: Uuid) -> StoreResult<Option<Action>> {
        let sql = concat!(select_action!(), " WHERE a.uuid = $1");
        let row: Option<ActionRow> = on_pool!(self, pool => {
            sqlx::query_as(sql).bind(id).fetch_optional(pool).await?
        });
        row.map(Action::try_from).transpose()
    }

    /// The action with this ActivityPub id, tombstoned or not.
    pub async fn action_by_ap_id(&self, ap_id: &Url) -> StoreResult<Option<Action>> {
        let sql = concat!(select_action!(), " WHERE a.ap_id = $1");
        let row: Option<ActionRow> = on_pool!(self, pool => {
            sqlx::query_as(sql).bind(ap_id.as_str()).fetch_optional(pool).await?
        });
        row.map(Action::try_from).transpose()
    }

    /// Live actions of an actor, newest first, `limit` of them below the cursor `before`.
    pub async fn actions_of(
        &self,
        actor_id: i64,
        before: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<Action>> {
        let sql = concat!(
            select_action!(),
            " WHERE a.actor_id = $1 AND a.deleted_at IS NULL AND a.id < $2 \
             ORDER BY a.id DESC LIMIT $3"
        );
        let rows: Vec<ActionRow> = on_pool!(self, pool => {
            sqlx::query_as(sql)
                .bind(actor_id)
                .bind(before.unwrap_or(i64::MAX))
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(Action::try_from).collect()
    }

    /// Latest live actions of local collectivités, newest first.
    pub async fn recent_local_actions(&self, limit: i64) -> StoreResult<Vec<Action>> {
        let sql = concat!(
            select_action!(),
            " WHERE a.local = TRUE AND a.deleted_at IS NULL \
             ORDER BY a.id DESC LIMIT $1"
        );
        let rows: Vec<ActionRow> = on_pool!(self, pool => {
            sqlx::query_as(sql).bind(limit).fetch_all(pool).await?
        });
        rows.into_iter().map(Action::try_from).collect()
    }

    /// Latest live local actions on a theme, newest first.
    pub async fn local_actions_with_theme(
        &self,
        theme: &str,
        limit: i64,
    ) -> StoreResult<Vec<Action>> {
        let sql = concat!(
            select_action!(),
            " WHERE a.local = TRUE AND a.deleted_at IS NULL AND a.id IN \
             (SELECT action_id FROM action_themes WHERE theme = $1) ORDER BY a.id DESC LIMIT $2"
        );
        let rows: Vec<ActionRow> = on_pool!(self, pool => {
            sqlx::query_as(sql).bind(theme).bind(limit).fetch_all(pool).await?
        });
        rows.into_iter().map(Action::try_from).collect()
    }

    /// Number of live actions of an actor.
    pub async fn count_actions_of(&self, actor_id: i64) -> StoreResult<i64> {
        const SQL: &str = "SELECT COUNT(*) FROM actions WHERE actor_id = $1 AND deleted_at IS NULL";
        Ok(on_pool!(self, pool => sqlx::query_scalar(SQL).bind(actor_id).fetch_one(pool).await?))
    }

    /// Number of live remote actions (copies of other nodes' actions).
    pub async fn count_remote_actions(&self) -> StoreResult<i64> {
        const SQL: &str = "SELECT COUNT(*) FROM actions WHERE local = FALSE AND deleted_at IS NULL";
        Ok(on_pool!(self, pool => sqlx::query_scalar(SQL).fetch_one(pool).await?))
    }

    /// Local collectivités that published or changed an action since `since`
    /// (NodeInfo's active users).
    pub async fn count_active_collectivites(&self, since: DateTime<Utc>) -> StoreResult<i64> {
        const SQL: &str =
            "SELECT COUNT(DISTINCT actor_id) FROM actions WHERE local = TRUE AND updated >= $1";
        Ok(on_pool!(self, pool => sqlx::query_scalar(SQL).bind(since).fetch_one(pool).await?))
    }

    /// Number of live local actions.
    pub async fn count_local_actions(&self) -> StoreResult<i64> {
        const SQL: &str = "SELECT COUNT(*) FROM actions WHERE local = TRUE AND deleted_at IS NULL";
        Ok(on_pool!(self, pool => sqlx::query_scalar(SQL).fetch_one(pool).await?))
    }

    /// A page of an actor's outbox: its `Create`s of live actions, newest first,
    /// below the activity cursor `before`.
    pub async fn outbox_page(
        &self,
        actor_id: i64,
        before: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<OutboxItem>> {
        let sql = "SELECT v.id AS activity_id, v.ap_id AS activity_ap_id, a.*, \
             o.ap_id AS owner_ap_id, o.username AS owner_username, o.domain AS owner_domain, \
             o.name AS owner_name, o.local AS owner_local, o.website AS owner_website, \
         o.website_verified_at AS owner_website_verified_at \
             FROM activities v JOIN actions a ON a.ap_id = v.object_ap_id \
             JOIN actors o ON o.id = a.actor_id \
             WHERE v.actor_id = $1 AND v.kind = 'Create' AND a.deleted_at IS NULL AND v.id < $2 \
             ORDER BY v.id DESC LIMIT $3";
        let rows: Vec<OutboxRow> = on_pool!(self, pool => {
            sqlx::query_as(sql)
                .bind(actor_id)
                .bind(before.unwrap_or(i64::MAX))
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|row| {
                Ok(OutboxItem {
                    activity_id: row.activity_id,
                    activity_ap_id: Url::parse(&row.activity_ap_id).map_err(|e| {
                        super::StoreError::Corrupt(format!("activities.ap_id: {e}"))
                    })?,
                    action: Action::try_from(row.action)?,
                })
            })
            .collect()
    }
}

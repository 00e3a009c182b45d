//! Actors: local and remote collectivités, and the instance actor.

use chrono::Utc;
use url::Url;

use super::rows::{ActorRow, to_json};
use super::{Store, StoreResult, Tx, on_pool};
use crate::domain::{Collectivite, NewCollectivite};

/// Keys and endpoints of a local actor being created.
#[derive(Debug, Clone)]
pub struct NewLocalActor<'a> {
    /// ActivityPub id.
    pub ap_id: &'a Url,
    /// Node domain.
    pub domain: &'a str,
    /// Inbox.
    pub inbox: &'a Url,
    /// Shared inbox.
    pub shared_inbox: &'a Url,
    /// Public key, PEM.
    pub public_key_pem: &'a str,
    /// Private key, PEM.
    pub private_key_pem: &'a str,
}

/// Drops the private key of the deleted collectivité `$1` when none of its deliveries
/// is pending (SPEC §11: the key signs its `Delete`, then goes).
const FORGET_KEY_IF_SPENT: &str = "UPDATE actors SET private_key_pem = NULL \
     WHERE id = $1 AND actor_type = 'Tombstone' AND local = TRUE AND private_key_pem IS NOT NULL \
     AND NOT EXISTS (SELECT 1 FROM deliveries d JOIN activities v ON v.id = d.activity_id \
     WHERE v.actor_id = actors.id AND d.state = 'pending')";

/// Any actor as federation needs it: identity, endpoints and keys.
#[derive(Debug, Clone)]
pub struct ActorRecord {
    /// Database id.
    pub id: i64,
    /// ActivityPub id.
    pub ap_id: Url,
    /// `Organization`, `Application`, `Person`…
    pub actor_type: String,
    /// Hosted here?
    pub local: bool,
    /// `preferredUsername`.
    pub username: String,
    /// Domain of its node.
    pub domain: String,
    /// Display name.
    pub name: String,
    /// Inbox.
    pub inbox: Url,
    /// Shared inbox.
    pub shared_inbox: Option<Url>,
    /// Public key, PEM.
    pub public_key_pem: String,
    /// Private key, PEM (local actors only).
    pub private_key_pem: Option<String>,
    /// Last fetched or changed.
    pub last_refreshed_at: chrono::DateTime<Utc>,
    /// A collectivité with a website never checked (new, or its website changed).
    pub website_unchecked: bool,
}

impl ActorRecord {
    /// The inbox deliveries go to: the shared one when the actor has one.
    pub fn delivery_inbox(&self) -> &Url {
        self.shared_inbox.as_ref().unwrap_or(&self.inbox)
    }
}

impl TryFrom<ActorRow> for ActorRecord {
    type Error = super::StoreError;

    fn try_from(row: ActorRow) -> Result<Self, Self::Error> {
        let url = |what: &str, v: &str| {
            Url::parse(v).map_err(|e| super::StoreError::Corrupt(format!("actors.{what}: {e}")))
        };
        let website_unchecked = row.actor_type == "Organization"
            && row.website.is_some()
            && row.website_checked_at.is_none();
        Ok(Self {
            id: row.id,
            ap_id: url("ap_id", &row.ap_id)?,
            actor_type: row.actor_type,
            local: row.local,
            username: row.username,
            domain: row.domain,
            name: row.name,
            inbox: url("inbox", &row.inbox)?,
            shared_inbox: row
                .shared_inbox
                .as_deref()
                .map(|v| url("shared_inbox", v))
                .transpose()?,
            public_key_pem: row.public_key_pem,
            private_key_pem: row.private_key_pem,
            last_refreshed_at: row.last_refreshed_at,
            website_unchecked,
        })
    }
}

/// Identity of a remote actor being stored.
#[derive(Debug, Clone)]
pub struct RemoteActor<'a> {
    /// `Organization`, `Person`, `Application`…
    pub actor_type: &'a str,
    /// ActivityPub id.
    pub ap_id: &'a Url,
    /// Its node's domain (with port if any).
    pub domain: &'a str,
    /// Inbox.
    pub inbox: &'a Url,
    /// Shared inbox.
    pub shared_inbox: Option<&'a Url>,
    /// Public key, PEM.
    pub public_key_pem: &'a str,
}

/// The stored instance actor (`Application`, SPEC §3).
#[derive(Debug, Clone)]
pub struct InstanceActorRecord {
    /// Database id.
    pub id: i64,
    /// ActivityPub id (`https://<domain>/actor`).
    pub ap_id: Url,
    /// Public key, PEM.
    pub public_key_pem: String,
    /// Private key, PEM.
    pub private_key_pem: String,
    /// Created.
    pub published: chrono::DateTime<Utc>,
}

/// Locks the row of the local collectivité `actor_id` in `tx` (PostgreSQL: until the
/// end of the transaction, so that a deletion waits for it or it for the deletion;
/// SQLite's write transaction holds the whole database already); false when it is not
/// a live collectivité (deleted, `Tombstone`).
pub async fn lock_live_collectivite(tx: &mut Tx, actor_id: i64) -> StoreResult<bool> {
    const SQL: &str = "UPDATE actors SET updated = updated \
         WHERE id = $1 AND local = TRUE AND actor_type = 'Organization'";
    let live = on_pool!(tx, conn => {
        sqlx::query(SQL).bind(actor_id).execute(&mut *conn).await?.rows_affected()
    });
    Ok(live > 0)
}

/// Locks the row of the local actor `actor_id` in `tx`, like [`lock_live_collectivite`],
/// the instance actor (it follows aggregated nodes) and the aggregator's groups (they
/// accept followers) allowed too; false when it is not a live local actor (a deleted
/// collectivité: its `Tombstone`).
pub async fn lock_live_local_actor(tx: &mut Tx, actor_id: i64) -> StoreResult<bool> {
    const SQL: &str = "UPDATE actors SET updated = updated \
         WHERE id = $1 AND local = TRUE \
         AND actor_type IN ('Organization', 'Application', 'Group')";
    let live = on_pool!(tx, conn => {
        sqlx::query(SQL).bind(actor_id).execute(&mut *conn).await?.rows_affected()
    });
    Ok(live > 0)
}

/// Locks the instance actor's row in `tx`: what collectivité deletions take first, so
/// that they run one at a time (PostgreSQL; SQLite has one writer already). Two
/// deletions of collectivités partnering each other's actions would otherwise each lock
/// one's actions and wait for the other's: a deadlock.
pub async fn lock_instance_actor(tx: &mut Tx) -> StoreResult<()> {
    const SQL: &str = "UPDATE actors SET updated = updated \
         WHERE local = TRUE AND actor_type = 'Application'";
    on_pool!(tx, conn => {
        sqlx::query(SQL).execute(&mut *conn).await?.rows_affected()
    });
    Ok(())
}

/// Turns the live local collectivité `actor_id` into a `Tombstone` row in `tx`; false
/// when it was not one (another deletion came first). The row keeps its keys, so that
/// the queued deliveries are still signed, and its username, so that no new
/// collectivité takes its address. First in a deletion: two deletions at once then
/// queue one `Delete`, the second waiting on the row (PostgreSQL) or the write lock
/// (SQLite), then finding a Tombstone.
pub async fn tombstone_local_collectivite(tx: &mut Tx, actor_id: i64) -> StoreResult<bool> {
    const SQL: &str = "UPDATE actors SET actor_type = 'Tombstone', updated = $1 \
         WHERE id = $2 AND local = TRUE AND actor_type = 'Organization'";
    let tombstoned = on_pool!(tx, conn => {
        sqlx::query(SQL).bind(Utc::now()).bind(actor_id).execute(&mut *conn).await?.rows_affected()
    });
    Ok(tombstoned > 0)
}

/// The inboxes (with their domains) of the remote actors in an accepted partnership
/// with the actor `actor_id`, either side, read in `tx`.
pub async fn partner_inboxes(tx: &mut Tx, actor_id: i64) -> StoreResult<Vec<(Url, String)>> {
    const SQL: &str = "SELECT DISTINCT COALESCE(a.shared_inbox, a.inbox), a.domain \
         FROM partnerships p JOIN actors a \
         ON a.id = CASE WHEN p.owner_id = $1 THEN p.requester_id ELSE p.owner_id END \
         WHERE (p.owner_id = $1 OR p.requester_id = $1) AND p.state = 'accepted' \
         AND a.local = FALSE";
    let rows: Vec<(String, String)> = on_pool!(tx, conn => {
        sqlx::query_as(SQL).bind(actor_id).fetch_all(&mut *conn).await?
    });
    Ok(rows
        .into_iter()
        .filter_map(|(inbox, domain)| Some((Url::parse(&inbox).ok()?, domain)))
        .collect())
}

/// Removes in `tx` what ties the deleted local collectivité `actor_id` to others: its
/// comments, follows both ways, partnerships (but for its ended ones on other local
/// collectivités' actions, kept in their owners' history), API tokens and editors'
/// links; then drops its private key when no delivery of its is pending.
pub async fn remove_collectivite_links(tx: &mut Tx, actor_id: i64) -> StoreResult<()> {
    const CLEANUP: [&str; 6] = [
        // Its comments (replies on its own actions): no longer served nor listed.
        "DELETE FROM comments WHERE author_id = $1 AND local = TRUE",
        "DELETE FROM follows WHERE follower_id = $1 OR followed_id = $1",
        "DELETE FROM partnerships WHERE owner_id = $1 OR (requester_id = $1 \
         AND NOT (state = 'left' AND owner_id IN (SELECT id FROM actors WHERE local = TRUE)))",
        "DELETE FROM api_tokens WHERE actor_id = $1",
        "DELETE FROM user_collectivites WHERE actor_id = $1",
        // Nobody to tell: the key goes now, not on some later worker pass.
        FORGET_KEY_IF_SPENT,
    ];
    on_pool!(tx, conn => {
        for sql in CLEANUP {
            sqlx::query(sql).bind(actor_id).execute(&mut *conn).await?;
        }
    });
    Ok(())
}

/// Binds the profile columns, in the order of `PROFILE_COLUMNS`.
macro_rules! bind_profile {
    ($query:expr, $profile:expr) => {{
        let p: &NewCollectivite = $profile;
        $query
            .bind(p.name.clone())
            .bind(p.summary.clone())
            .bind(p.kind.as_str())
            .bind(p.insee.as_ref().map(|v| v.to_string()))
            .bind(p.siren.as_ref().map(|v| v.to_string()))
            .bind(p.epci_siren.as_ref().map(|v| v.to_string()))
            .bind(p.departement.clone())
            .bind(p.region.clone())
            .bind(p.population)
            .bind(p.location.map(|l| l.lat))
            .bind(p.location.map(|l| l.lon))
            .bind(p.address.as_ref().map(to_json))
            .bind(p.website.as_ref().map(|u| u.to_string()))
            .bind(p.icon.as_ref().map(|u| u.to_string()))
            .bind(to_json(&p.labels))
    }};
}

impl Store {
    /// Inserts a local collectivité with its keys.
    ///
    /// # Errors
    /// [`super::StoreError::Conflict`] when the username is taken.
    pub async fn insert_local_collectivite(
        &self,
        actor: NewLocalActor<'_>,
        profile: &NewCollectivite,
    ) -> StoreResult<Collectivite> {
        const SQL: &str = "INSERT INTO actors (name, summary, kind, insee, siren, epci_siren, \
             departement, region, population, lat, lon, address, website, icon, labels, \
             ap_id, actor_type, local, username, domain, inbox, shared_inbox, public_key_pem, \
             private_key_pem, published, updated, last_refreshed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
             $16, 'Organization', TRUE, $17, $18, $19, $20, $21, $22, $23, $23, $23) RETURNING *";
        let now = Utc::now();
        let row: ActorRow = on_pool!(self, pool => {
            bind_profile!(sqlx::query_as::<_, ActorRow>(SQL), profile)
                .bind(actor.ap_id.as_str())
                .bind(profile.username.as_ref())
                .bind(actor.domain)
                .bind(actor.inbox.as_str())
                .bind(actor.shared_inbox.as_str())
                .bind(actor.public_key_pem)
                .bind(actor.private_key_pem)
                .bind(now)
                .fetch_one(pool)
                .await?
        });
        Collectivite::try_from(row)
    }

    /// Inserts or refreshes a remote actor fetched or received from its node
    /// (`actor_type` as sent: `Organization`, `Person`, `Application`…). A new website
    /// clears its verification (checked again by `service::verification`).
    pub async fn upsert_remote_actor(
        &self,
        actor: RemoteActor<'_>,
        profile: &NewCollectivite,
    ) -> StoreResult<ActorRecord> {
        const SQL: &str = "INSERT INTO actors (name, summary, kind, insee, siren, epci_siren, \
             departement, region, population, lat, lon, address, website, icon, labels, \
             ap_id, actor_type, local, username, domain, inbox, shared_inbox, public_key_pem, \
             published, updated, last_refreshed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
             $16, $23, FALSE, $17, $18, $19, $20, $21, $22, $22, $22) \
             ON CONFLICT (ap_id) DO UPDATE SET actor_type = excluded.actor_type, name = excluded.name, summary = excluded.summary, \
             kind = excluded.kind, insee = excluded.insee, siren = excluded.siren, \
             epci_siren = excluded.epci_siren, departement = excluded.departement, \
             region = excluded.region, population = excluded.population, lat = excluded.lat, \
             lon = excluded.lon, address = excluded.address, website = excluded.website, \
             icon = excluded.icon, labels = excluded.labels, inbox = excluded.inbox, \
             shared_inbox = excluded.shared_inbox, public_key_pem = excluded.public_key_pem, \
             updated = excluded.updated, last_refreshed_at = excluded.last_refreshed_at, \
             website_verified_at = CASE WHEN actors.website IS NOT DISTINCT FROM excluded.website \
             THEN actors.website_verified_at END, \
             website_verified_by = CASE WHEN actors.website IS NOT DISTINCT FROM excluded.website \
             THEN actors.website_verified_by END, \
             website_checked_at = CASE WHEN actors.website IS NOT DISTINCT FROM excluded.website \
             THEN actors.website_checked_at END, \
             website_check_error = CASE WHEN actors.website IS NOT DISTINCT FROM excluded.website \
             THEN actors.website_check_error END \
             WHERE actors.local = FALSE RETURNING *";
        let now = Utc::now();
        let row: Option<ActorRow> = super::retry_insert_race(|| async {
            Ok(on_pool!(self, pool => {
                bind_profile!(sqlx::query_as::<_, ActorRow>(SQL), profile)
                    .bind(actor.ap_id.as_str())
                    .bind(profile.username.as_ref())
                    .bind(actor.domain)
                    .bind(actor.inbox.as_str())
                    .bind(actor.shared_inbox.map(|u| u.as_str()))
                    .bind(actor.public_key_pem)
                    .bind(now)
                    .bind(actor.actor_type)
                    .fetch_optional(pool)
                    .await?
            }))
        })
        .await?;
        // No row: the id is a local actor's (not a race: decided outside the retry).
        let row = row.ok_or_else(|| {
            super::StoreError::Conflict(format!("{} is a local actor", actor.ap_id))
        })?;
        ActorRecord::try_from(row)
    }

    /// Any actor, local or remote, by ActivityPub id.
    pub async fn actor_by_ap_id(&self, ap_id: &Url) -> StoreResult<Option<ActorRecord>> {
        const SQL: &str = "SELECT * FROM actors WHERE ap_id = $1";
        let row: Option<ActorRow> = on_pool!(self, pool => {
            sqlx::query_as(SQL).bind(ap_id.as_str()).fetch_optional(pool).await?
        });
        row.map(ActorRecord::try_from).transpose()
    }

    /// A live actor of this node by ActivityPub id: a deleted collectivité (a
    /// `Tombstone` row) is not one, so inbound activities addressed to it are ignored.
    pub async fn live_local_actor(&self, ap_id: &Url) -> StoreResult<Option<ActorRecord>> {
        const SQL: &str = "SELECT * FROM actors \
             WHERE ap_id = $1 AND local = TRUE AND actor_type <> 'Tombstone'";
        let row: Option<ActorRow> = on_pool!(self, pool => {
            sqlx::query_as(SQL).bind(ap_id.as_str()).fetch_optional(pool).await?
        });
        row.map(ActorRecord::try_from).transpose()
    }

    /// Any actor by database id.
    pub async fn actor_by_id(&self, id: i64) -> StoreResult<Option<ActorRecord>> {
        const SQL: &str = "SELECT * FROM actors WHERE id = $1";
        let row: Option<ActorRow> = on_pool!(self, pool => {
            sqlx::query_as(SQL).bind(id).fetch_optional(pool).await?
        });
        row.map(ActorRecord::try_from).transpose()
    }

    /// Removes a remote actor with its follows and actions (`Delete{actor}`).
    pub async fn delete_remote_actor(&self, ap_id: &Url) -> StoreResult<bool> {
        const SQL: &str = "DELETE FROM actors WHERE ap_id = $1 AND local = FALSE";
        let mut tx = self.begin().await?;
        let removed = on_pool!(&mut tx, conn => {
            sqlx::query(SQL).bind(ap_id.as_str()).execute(&mut *conn).await?.rows_affected() > 0
        });
        // Its actions went with it (cascade): the directory changed.
        super::actions::bump_generation(&mut tx).await?;
        tx.commit().await?;
        Ok(removed)
    }

    /// When the local collectivité `username` was deleted (its id and the time), if it
    /// was: its actor URL then answers `410 Gone`.
    pub async fn deleted_local_collectivite(
        &self,
        username: &str,
    ) -> StoreResult<Option<(Url, chrono::DateTime<Utc>)>> {
        const SQL: &str = "SELECT ap_id, updated FROM actors \
             WHERE username = $1 AND local = TRUE AND actor_type = 'Tombstone'";
        let row: Option<(String, chrono::DateTime<Utc>)> = on_pool!(self, pool => {
            sqlx::query_as(SQL).bind(username).fetch_optional(pool).await?
        });
        row.map(|(ap_id, at)| {
            Url::parse(&ap_id)
                .map(|url| (url, at))
                .map_err(|e| super::StoreError::Corrupt(format!("actor id {ap_id}: {e}")))
        })
        .transpose()
    }

    /// Drops the private keys of deleted collectivités whose deliveries are all done
    /// (delivered or given up); returns how many. A read first: the worker calls it
    /// after each batch and on its idle tick, and only writes when a key is to go.
    pub async fn forget_spent_keys(&self) -> StoreResult<u64> {
        const CANDIDATES: &str = "SELECT id FROM actors \
             WHERE actor_type = 'Tombstone' AND local = TRUE AND private_key_pem IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM deliveries d JOIN activities v ON v.id = d.activity_id \
             WHERE v.actor_id = actors.id AND d.state = 'pending')";
        let candidates: Vec<i64> = on_pool!(self, pool => {
            sqlx::query_scalar(CANDIDATES).fetch_all(pool).await?
        });
        let mut forgotten = 0;
        for id in candidates {
            // Checked again in the write: a delivery may have been queued since.
            forgotten += on_pool!(self, pool => {
                sqlx::query(FORGET_KEY_IF_SPENT).bind(id).execute(pool).await?.rows_affected()
            });
        }
        Ok(forgotten)
    }

    /// Replaces the profile of a collectivité. A new website clears its verification
    /// (checked again by `service::verification`).
    pub async fn update_collectivite_profile(
        &self,
        id: i64,
        profile: &NewCollectivite,
    ) -> StoreResult<Collectivite> {
        const SQL: &str = "UPDATE actors SET name = $1, summary = $2, kind = $3, insee = $4, \
             siren = $5, epci_siren = $6, departement = $7, region = $8, population = $9, \
             lat = $10, lon = $11, address = $12, website = $13, icon = $14, labels = $15, \
             updated = $16, \
             website_verified_at = CASE WHEN website IS NOT DISTINCT FROM $13 \
             THEN website_verified_at END, \
             website_verified_by = CASE WHEN website IS NOT DISTINCT FROM $13 \
             THEN website_verified_by END, \
             website_checked_at = CASE WHEN website IS NOT DISTINCT FROM $13 \
             THEN website_checked_at END, \
             website_check_error = CASE WHEN website IS NOT DISTINCT FROM $13 \
             THEN website_check_error END \
             WHERE id = $17 RETURNING *";
        let row: ActorRow = on_pool!(self, pool => {
            bind_profile!(sqlx::query_as::<_, ActorRow>(SQL), profile)
                .bind(Utc::now())
                .bind(id)
                .fetch_one(pool)
                .await?
        });
        Collectivite::try_from(row)
    }

    /// The local collectivité named `username`.
    pub async fn local_collectivite(&self, username: &str) -> StoreResult<Option<Collectivite>> {
        let sql = concat!(
            "SELECT * FROM actors",
            " WHERE username = $1 AND local = TRUE AND actor_type = 'Organization'"
        );
        let row: Option<ActorRow> = on_pool!(self, pool => {
            sqlx::query_as(sql).bind(username).fetch_optional(pool).await?
        });
        row.map(Collectivite::try_from).transpose()
    }

    /// The collectivité (local or remote) with this database id.
    pub async fn collectivite_by_id(&self, id: i64) -> StoreResult<Option<Collectivite>> {
        let sql = concat!(
            "SELECT * FROM actors",
            " WHERE id = $1 AND actor_type = 'Organization'"
        );
        let row: Option<ActorRow> = on_pool!(self, pool => {
            sqlx::query_as(sql).bind(id).fetch_optional(pool).await?
        });
        row.map(Collectivite::try_from).transpose()
    }

    /// The collectivité (local or remote) with this ActivityPub id.
    pub async fn collectivite_by_ap_id(&self, ap_id: &Url) -> StoreResult<Option<Collectivite>> {
        let sql = concat!(
            "SELECT * FROM actors",
            " WHERE ap_id = $1 AND actor_type = 'Organization'"
        );
        let row: Option<ActorRow> = on_pool!(self, pool => {
            sqlx::query_as(sql).bind(ap_id.as_str()).fetch_optional(pool).await?
        });
        row.map(Collectivite::try_from).transpose()
    }

    /// Every local collectivité, by name.
    pub async fn local_collectivites(&self) -> StoreResult<Vec<Collectivite>> {
        let sql = concat!(
            "SELECT * FROM actors",
            " WHERE local = TRUE AND actor_type = 'Organization' ORDER BY name, id"
        );
        let rows: Vec<ActorRow> = on_pool!(self, pool => {
            sqlx::query_as(sql).fetch_all(pool).await?
        });
        rows.into_iter().map(Collectivite::try_from).collect()
    }

    /// Number of local collectivités.
    pub async fn count_local_collectivites(&self) -> StoreResult<i64> {
        const SQL: &str =
            "SELECT COUNT(*) FROM actors WHERE local = TRUE AND actor_type = 'Organization'";
        Ok(on_pool!(self, pool => sqlx::query_scalar(SQL).fetch_one(pool).await?))
    }

    /// The instance actor, if created.
    pub async fn instance_actor(&self) -> StoreResult<Option<InstanceActorRecord>> {
        let sql = concat!(
            "SELECT * FROM actors",
            " WHERE local = TRUE AND actor_type = 'Application'"
        );
        let row: Option<ActorRow> = on_pool!(self, pool => {
            sqlx::query_as(sql).fetch_optional(pool).await?
        });
        row.map(InstanceActorRecord::try_from).transpose()
    }

    /// Creates a local `Group` actor (aggregator feeds) if missing, signing with the given
    /// keys, and returns it.
    pub async fn ensure_group_actor(
        &self,
        actor: NewLocalActor<'_>,
        username: &str,
        name: &str,
        summary: &str,
    ) -> StoreResult<ActorRecord> {
        const SQL: &str = "INSERT INTO actors (ap_id, actor_type, local, username, domain, \
             name, summary, labels, inbox, shared_inbox, public_key_pem, private_key_pem, \
             published, updated, last_refreshed_at) \
             VALUES ($1, 'Group', TRUE, $2, $3, $4, $5, '[]', $6, $7, $8, $9, $10, $10, $10) \
             ON CONFLICT (ap_id) DO NOTHING";
        on_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(actor.ap_id.as_str())
                .bind(username)
                .bind(actor.domain)
                .bind(name)
                .bind(summary)
                .bind(actor.inbox.as_str())
                .bind(actor.shared_inbox.as_str())
                .bind(actor.public_key_pem)
                .bind(actor.private_key_pem)
                .bind(Utc::now())
                .execute(pool)
                .await?;
        });
        self.actor_by_ap_id(actor.ap_id).await?.ok_or_else(|| {
            super::StoreError::Corrupt(format!("group {} missing after insert", actor.ap_id))
        })
    }

    /// Creates the instance actor; if another process created it first, returns that one.
    pub async fn insert_instance_actor(
        &self,
        actor: NewLocalActor<'_>,
    ) -> StoreResult<InstanceActorRecord> {
        const SQL: &str = "INSERT INTO actors (ap_id, actor_type, local, username, domain, \
             name, labels, inbox, shared_inbox, public_key_pem, private_key_pem, published, \
             updated, last_refreshed_at) \
             VALUES ($1, 'Application', TRUE, $2, $2, $2, '[]', $3, $4, $5, $6, $7, $7, $7) \
             ON CONFLICT (ap_id) DO NOTHING";
        on_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(actor.ap_id.as_str())
                .bind(actor.domain)
                .bind(actor.inbox.as_str())
                .bind(actor.shared_inbox.as_str())
                .bind(actor.public_key_pem)
                .bind(actor.private_key_pem)
                .bind(Utc::now())
                .execute(pool)
                .await?;
        });
        self.instance_actor()
            .await?
            .ok_or_else(|| super::StoreError::Corrupt("instance actor missing after insert".into()))
    }
}

impl TryFrom<ActorRow> for InstanceActorRecord {
    type Error = super::StoreError;

    fn try_from(row: ActorRow) -> Result<Self, Self::Error> {
        Ok(Self {
            id: row.id,
            ap_id: Url::parse(&row.ap_id)
                .map_err(|e| super::StoreError::Corrupt(format!("actors.ap_id: {e}")))?,
            public_key_pem: row.public_key_pem,
            private_key_pem: row.private_key_pem.ok_or_else(|| {
                super::StoreError::Corrupt("instance actor without private key".into())
            })?,
            published: row.published,
        })
    }
}

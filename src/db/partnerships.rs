//! Partnerships (SPEC §5): a collectivité asks to join an action (`Join`), the owner
//! accepts or rejects, a partner leaves. One row per (action, requester), on the node
//! of either side. Keeping the action's `partners` in step is `service::partnerships`'
//! business, in the same transaction as the answer.

use chrono::{DateTime, Utc};
use url::Url;

use super::{Store, StoreResult, Tx, on_pool};

/// Where a partnership request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PartnershipState {
    /// Asked, not answered.
    Pending,
    /// The requester is a partner.
    Accepted,
    /// The owner declined.
    Rejected,
    /// The partner left (or was removed).
    Left,
}

impl PartnershipState {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::Left => "left",
        }
    }

    /// French label for pages.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "en attente",
            Self::Accepted => "acceptée",
            Self::Rejected => "refusée",
            Self::Left => "terminée",
        }
    }

    fn parse(value: &str) -> StoreResult<Self> {
        Ok(match value {
            "pending" => Self::Pending,
            "accepted" => Self::Accepted,
            "rejected" => Self::Rejected,
            "left" => Self::Left,
            other => {
                return Err(super::StoreError::Corrupt(format!(
                    "partnerships.state: {other}"
                )));
            }
        })
    }
}

/// A partnership request with both sides' identities.
#[derive(Debug, Clone)]
pub struct Partnership {
    /// Database id.
    pub id: i64,
    /// Id of the `Join` activity.
    pub ap_id: Url,
    /// The action (local or remote).
    pub action_ap_id: Url,
    /// Its name when asked.
    pub action_name: String,
    /// State.
    pub state: PartnershipState,
    /// The collectivité asking.
    pub requester: Side,
    /// The action's owner.
    pub owner: Side,
    /// Asked at.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// One side of a partnership.
#[derive(Debug, Clone)]
pub struct Side {
    /// Database id of the actor.
    pub id: i64,
    /// Its ActivityPub id.
    pub ap_id: Url,
    /// Username.
    pub username: String,
    /// Domain.
    pub domain: String,
    /// Display name.
    pub name: String,
    /// Hosted here?
    pub local: bool,
}

#[derive(sqlx::FromRow)]
struct PartnershipRow {
    id: i64,
    ap_id: String,
    action_ap_id: String,
    action_name: String,
    state: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    requester_id: i64,
    r_ap_id: String,
    r_username: String,
    r_domain: String,
    r_name: String,
    r_local: bool,
    owner_id: i64,
    o_ap_id: String,
    o_username: String,
    o_domain: String,
    o_name: String,
    o_local: bool,
}

fn url(what: &str, value: &str) -> StoreResult<Url> {
    Url::parse(value).map_err(|e| super::StoreError::Corrupt(format!("partnerships.{what}: {e}")))
}

impl TryFrom<PartnershipRow> for Partnership {
    type Error = super::StoreError;

    fn try_from(row: PartnershipRow) -> StoreResult<Self> {
        Ok(Partnership {
            id: row.id,
            ap_id: url("ap_id", &row.ap_id)?,
            action_ap_id: url("action_ap_id", &row.action_ap_id)?,
            action_name: row.action_name,
            state: PartnershipState::parse(&row.state)?,
            requester: Side {
                id: row.requester_id,
                ap_id: url("requester", &row.r_ap_id)?,
                username: row.r_username,
                domain: row.r_domain,
                name: row.r_name,
                local: row.r_local,
            },
            owner: Side {
                id: row.owner_id,
                ap_id: url("owner", &row.o_ap_id)?,
                username: row.o_username,
                domain: row.o_domain,
                name: row.o_name,
                local: row.o_local,
            },
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

const SELECT: &str = "SELECT p.id, p.ap_id, p.action_ap_id, p.action_name, p.state, \
     p.created_at, p.updated_at, \
     p.requester_id, r.ap_id AS r_ap_id, r.username AS r_username, r.domain AS r_domain, \
     r.name AS r_name, r.local AS r_local, \
     p.owner_id, o.ap_id AS o_ap_id, o.username AS o_username, o.domain AS o_domain, \
     o.name AS o_name, o.local AS o_local \
     FROM partnerships p JOIN actors r ON r.id = p.requester_id JOIN actors o ON o.id = p.owner_id";

/// A request to record.
#[derive(Debug, Clone)]
pub struct NewPartnership<'a> {
    /// Id of the `Join`.
    pub ap_id: &'a Url,
    /// The action.
    pub action_ap_id: &'a Url,
    /// Its name.
    pub action_name: &'a str,
    /// Who asks.
    pub requester_id: i64,
    /// Who owns the action.
    pub owner_id: i64,
}

/// Records a request (`pending`) in `tx`; a new request for the same action by the
/// same collectivité (after a refusal or a departure) replaces the old one. Returns its
/// database id.
pub async fn upsert_partnership(tx: &mut Tx, new: &NewPartnership<'_>) -> StoreResult<i64> {
    const SQL: &str = "INSERT INTO partnerships \
         (ap_id, action_ap_id, action_name, requester_id, owner_id, state, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6) \
         ON CONFLICT (action_ap_id, requester_id) DO UPDATE SET ap_id = excluded.ap_id, \
         action_name = excluded.action_name, owner_id = excluded.owner_id, \
         state = 'pending', updated_at = excluded.updated_at RETURNING id";
    Ok(on_pool!(tx, conn => {
        sqlx::query_scalar(SQL)
            .bind(new.ap_id.as_str())
            .bind(new.action_ap_id.as_str())
            .bind(new.action_name)
            .bind(new.requester_id)
            .bind(new.owner_id)
            .bind(Utc::now())
            .fetch_one(&mut *conn)
            .await?
    }))
}

/// Moves request `id` from `from` to `to` in `tx`; false when it was no longer in
/// `from` (answered or ended meanwhile), and nothing changed.
pub async fn set_partnership_state(
    tx: &mut Tx,
    id: i64,
    from: PartnershipState,
    to: PartnershipState,
) -> StoreResult<bool> {
    const SQL: &str =
        "UPDATE partnerships SET state = $1, updated_at = $2 WHERE id = $3 AND state = $4";
    let changed = on_pool!(tx, conn => {
        sqlx::query(SQL)
            .bind(to.as_str())
            .bind(Utc::now())
            .bind(id)
            .bind(from.as_str())
            .execute(&mut *conn)
            .await?
            .rows_affected()
    });
    Ok(changed > 0)
}

/// The accepted partnerships of the local collectivité `requester_id` on live actions
/// of other local collectivités, read in `tx`: the request's id and the action's
/// database id.
pub async fn accepted_on_local_actions(
    tx: &mut Tx,
    requester_id: i64,
) -> StoreResult<Vec<(i64, i64)>> {
    const SQL: &str = "SELECT p.id, a.id FROM partnerships p \
         JOIN actions a ON a.ap_id = p.action_ap_id \
         WHERE p.requester_id = $1 AND p.state = 'accepted' AND p.owner_id <> $1 \
         AND a.local = TRUE AND a.deleted_at IS NULL ORDER BY p.id";
    Ok(on_pool!(tx, conn => {
        sqlx::query_as(SQL).bind(requester_id).fetch_all(&mut *conn).await?
    }))
}

impl Store {
    /// Records a request (`pending`) with nothing to deliver ([`upsert_partnership`]).
    pub async fn upsert_partnership(&self, new: &NewPartnership<'_>) -> StoreResult<Partnership> {
        let mut tx = self.begin().await?;
        let id = upsert_partnership(&mut tx, new).await?;
        tx.commit().await?;
        self.partnership(id)
            .await?
            .ok_or_else(|| super::StoreError::Corrupt("partnership vanished".into()))
    }

    /// A request by database id.
    pub async fn partnership(&self, id: i64) -> StoreResult<Option<Partnership>> {
        self.partnership_where("p.id = $1", id.to_string(), true)
            .await
    }

    /// A request by the id of its `Join`.
    pub async fn partnership_by_ap_id(&self, ap_id: &str) -> StoreResult<Option<Partnership>> {
        self.partnership_where("p.ap_id = $1", ap_id.to_string(), false)
            .await
    }

    /// The request of `requester_id` for the action `action_ap_id`, if any.
    pub async fn partnership_for(
        &self,
        action_ap_id: &Url,
        requester_id: i64,
    ) -> StoreResult<Option<Partnership>> {
        let text = format!("{SELECT} WHERE p.action_ap_id = $1 AND p.requester_id = $2");
        let row: Option<PartnershipRow> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(text))
                .bind(action_ap_id.as_str())
                .bind(requester_id)
                .fetch_optional(pool)
                .await?
        });
        row.map(Partnership::try_from).transpose()
    }

    async fn partnership_where(
        &self,
        condition: &str,
        value: String,
        integer: bool,
    ) -> StoreResult<Option<Partnership>> {
        let text = format!("{SELECT} WHERE {condition}");
        let row: Option<PartnershipRow> = on_pool!(self, pool => {
            let query = sqlx::query_as(sqlx::AssertSqlSafe(text));
            let query = if integer {
                query.bind(value.parse::<i64>().unwrap_or(-1))
            } else {
                query.bind(value)
            };
            query.fetch_optional(pool).await?
        });
        row.map(Partnership::try_from).transpose()
    }

    /// Requests a collectivité sent (`sent`) or received for its actions, newest first.
    pub async fn partnerships_of(
        &self,
        actor_id: i64,
        sent: bool,
    ) -> StoreResult<Vec<Partnership>> {
        let column = if sent { "p.requester_id" } else { "p.owner_id" };
        let text = format!("{SELECT} WHERE {column} = $1 ORDER BY p.updated_at DESC, p.id DESC");
        let rows: Vec<PartnershipRow> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(text)).bind(actor_id).fetch_all(pool).await?
        });
        rows.into_iter().map(Partnership::try_from).collect()
    }

    /// Requests about one action, newest first.
    pub async fn partnerships_of_action(
        &self,
        action_ap_id: &Url,
    ) -> StoreResult<Vec<Partnership>> {
        let text =
            format!("{SELECT} WHERE p.action_ap_id = $1 ORDER BY p.updated_at DESC, p.id DESC");
        let rows: Vec<PartnershipRow> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(text))
                .bind(action_ap_id.as_str())
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(Partnership::try_from).collect()
    }

    /// True when a local collectivité is (or was: its copy must learn it left) a
    /// partner of an action of `owner_id`; its `Update`s and `Delete`s are then applied
    /// even without a follow.
    pub async fn is_partner_of_local(&self, owner_id: i64) -> StoreResult<bool> {
        const SQL: &str = "SELECT EXISTS (SELECT 1 FROM partnerships p \
             JOIN actors r ON r.id = p.requester_id \
             WHERE p.owner_id = $1 AND p.state IN ('accepted', 'left') AND r.local = TRUE)";
        Ok(on_pool!(self, pool => sqlx::query_scalar(SQL).bind(owner_id).fetch_one(pool).await?))
    }
}

//! Heartbeats. Each has a random ping token, the secret part of its ping URL, kept as endpoints keep their
//! ingest tokens: its hash (what a ping looks it up by) and a sealed copy (opened to show the URL). The URL
//! is built at the HTTP edge from `KLAXON_PUBLIC_URL`.
//!
//! A ping is one indexed `UPDATE` of `last_beat_ms`, shared by the pings that arrive together
//! ([`PingWriter`]); the missed-alerts are opened by the `heartbeat.sweep` job and closed by the first ping
//! after them (`alerts::heartbeat`).

use std::{collections::HashMap, sync::Arc};

use klaxon_api::{Heartbeat, HeartbeatInput, Page};
use sqlx::{Row, any::AnyRow};
use tokio::sync::{mpsc, oneshot};

use super::{
    Store, StoreError, conflict_on, deleted, endpoints::token_hash, into_page, new_id, new_secret, now_ms,
    page_bounds, sql,
};

const DUPLICATE: &str = "a heartbeat with this name already exists in the team";
const IN_USE: &str = "the heartbeat is still referenced";

/// Prefix of ping tokens.
const PING_PREFIX: &str = "hb_";

/// A heartbeat with its ping token, as stored. Its `Debug` hides the token.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredHeartbeat {
    /// Server-assigned id.
    pub id: String,
    /// The team its missed-alerts belong to.
    pub team_id: String,
    /// The policy of its missed-alerts; `None` means the team's default chain.
    pub escalation_policy_id: Option<String>,
    /// Unique name within the team.
    pub name: String,
    /// Policy minutes expected between two pings.
    pub interval_minutes: u32,
    /// Policy minutes of lateness tolerated.
    pub grace_minutes: u32,
    /// No alert opens while paused.
    pub paused: bool,
    /// The latest ping, Unix milliseconds.
    pub last_beat_ms: Option<i64>,
    /// Missed now: its alert was opened and no ping has arrived since.
    pub missed: bool,
    /// The secret token in the ping URL.
    pub ping_token: String,
}

impl std::fmt::Debug for StoredHeartbeat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredHeartbeat")
            .field("id", &self.id)
            .field("team_id", &self.team_id)
            .field("escalation_policy_id", &self.escalation_policy_id)
            .field("name", &self.name)
            .field("interval_minutes", &self.interval_minutes)
            .field("grace_minutes", &self.grace_minutes)
            .field("paused", &self.paused)
            .field("last_beat_ms", &self.last_beat_ms)
            .field("missed", &self.missed)
            .field("ping_token", &"***")
            .finish()
    }
}

impl StoredHeartbeat {
    /// The API view, with the ping URL under `public_url`.
    pub fn to_api(&self, public_url: &str) -> Heartbeat {
        Heartbeat {
            id: self.id.clone(),
            team_id: self.team_id.clone(),
            escalation_policy_id: self.escalation_policy_id.clone(),
            name: self.name.clone(),
            interval_minutes: self.interval_minutes,
            grace_minutes: self.grace_minutes,
            paused: self.paused,
            ping_url: format!(
                "{}/heartbeat/{}",
                public_url.trim_end_matches('/'),
                self.ping_token
            ),
            last_beat_at: self.last_beat_ms.and_then(rfc3339),
            missed: self.missed,
        }
    }
}

fn rfc3339(ms: i64) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
}

/// What a ping found: the heartbeat it beat, and whether that heartbeat is marked missed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Beaten {
    /// The owning account.
    pub account_id: String,
    /// The heartbeat.
    pub id: String,
    /// Its team.
    pub team_id: String,
    /// Its policy.
    pub escalation_policy_id: Option<String>,
    /// Its name.
    pub name: String,
    /// It was missed (its alert opened) before this ping.
    pub missed: bool,
    /// The missed-alert, when one was opened.
    pub missed_alert_id: Option<String>,
}

/// A heartbeat row as read, its token still sealed.
struct Raw {
    heartbeat: StoredHeartbeat,
    sealed: String,
}

impl Store {
    async fn reveal_heartbeat(&self, account: &str, raw: Raw) -> Result<StoredHeartbeat, StoreError> {
        let mut heartbeat = raw.heartbeat;
        heartbeat.ping_token = self
            .secrets
            .open(account, &raw.sealed)
            .await
            .map_err(StoreError::Secret)?;
        Ok(heartbeat)
    }

    /// Creates a heartbeat with a fresh ping token; its clock starts now.
    pub async fn create_heartbeat(
        &self,
        account: &str,
        input: &HeartbeatInput,
    ) -> Result<StoredHeartbeat, StoreError> {
        self.require_team(account, &input.team_id).await?;
        self.require_heartbeat_policy(account, &input.team_id, input.escalation_policy_id.as_deref())
            .await?;
        let now = now_ms();
        let token = new_secret(PING_PREFIX);
        let sealed = self
            .secrets
            .seal(account, &token)
            .await
            .map_err(StoreError::Secret)?;
        let row = sqlx::query(sql!(self, "heartbeat_insert"))
            .bind(new_id("hb"))
            .bind(account)
            .bind(&input.team_id)
            .bind(input.escalation_policy_id.as_deref())
            .bind(&input.name)
            .bind(i64::from(input.interval_minutes))
            .bind(i64::from(input.grace_minutes))
            .bind(i64::from(input.paused))
            .bind(token_hash(&token))
            .bind(sealed)
            .bind(now)
            .bind(now)
            .bind(now)
            .fetch_one(&self.db.pool)
            .await
            .map_err(|e| conflict_on(e, DUPLICATE, "name", IN_USE))?;
        let mut heartbeat = flatten(&row)?.heartbeat;
        heartbeat.ping_token = token;
        Ok(heartbeat)
    }

    /// Reads a heartbeat of the account.
    pub async fn get_heartbeat(&self, account: &str, id: &str) -> Result<StoredHeartbeat, StoreError> {
        let row = sqlx::query(sql!(self, "heartbeat_get"))
            .bind(account)
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        self.reveal_heartbeat(account, flatten(&row)?).await
    }

    /// Lists the account's heartbeats, optionally of one team and with one name.
    pub async fn list_heartbeats(
        &self,
        account: &str,
        team_id: Option<&str>,
        name: Option<&str>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<StoredHeartbeat>, StoreError> {
        let (after, fetch) = page_bounds(cursor, limit);
        let rows = sqlx::query(sql!(self, "heartbeat_list"))
            .bind(account)
            .bind(team_id)
            .bind(name)
            .bind(after)
            .bind(fetch)
            .fetch_all(&self.db.pool)
            .await?;
        let mut items = Vec::with_capacity(rows.len());
        for r in &rows {
            items.push(self.reveal_heartbeat(account, flatten(r)?).await?);
        }
        Ok(into_page(items, limit, |h| &h.id))
    }

    /// Replaces a heartbeat; its team and ping token stay. Resuming a paused one restarts its clock.
    pub async fn update_heartbeat(
        &self,
        account: &str,
        id: &str,
        input: &HeartbeatInput,
    ) -> Result<StoredHeartbeat, StoreError> {
        let current = self.get_heartbeat(account, id).await?;
        if current.team_id != input.team_id {
            return Err(StoreError::Conflict {
                message: "a heartbeat cannot move to another team; create a new heartbeat instead".into(),
                field: Some("team_id"),
            });
        }
        self.require_heartbeat_policy(account, &input.team_id, input.escalation_policy_id.as_deref())
            .await?;
        let row = sqlx::query(sql!(self, "heartbeat_update"))
            .bind(input.escalation_policy_id.as_deref())
            .bind(&input.name)
            .bind(i64::from(input.interval_minutes))
            .bind(i64::from(input.grace_minutes))
            .bind(i64::from(input.paused))
            .bind(now_ms())
            .bind(account)
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(|e| conflict_on(e, DUPLICATE, "name", IN_USE))?
            .ok_or(StoreError::NotFound)?;
        self.reveal_heartbeat(account, flatten(&row)?).await
    }

    /// Deletes a heartbeat: its clock stops (`alerts::heartbeat::stand_down` closes its missed-alert first).
    pub async fn delete_heartbeat(&self, account: &str, id: &str) -> Result<(), StoreError> {
        let done = sqlx::query(sql!(self, "heartbeat_delete"))
            .bind(account)
            .bind(id)
            .execute(&self.db.pool)
            .await;
        deleted(&done.map_err(|e| conflict_on(e, DUPLICATE, "name", IN_USE))?)
    }

    /// Records a ping of the heartbeat `token` opens, at `now_ms`: one indexed `UPDATE`, nothing else.
    /// `None` when no heartbeat has this token.
    pub async fn beat(&self, token: &str, now_ms: i64) -> Result<Option<Beaten>, StoreError> {
        let row = sqlx::query(sql!(self, "heartbeat_beat"))
            .bind(now_ms)
            .bind(token_hash(token))
            .fetch_optional(&self.db.pool)
            .await?;
        row.map(|r| beaten(&r, 0)).transpose()
    }

    /// Records pings of many heartbeats at `now_ms` in one statement (see [`PingWriter`]): `hashes` are
    /// the tokens' hashes; returns each heartbeat found, with its token's hash.
    async fn beat_many(&self, hashes: &[&str], now_ms: i64) -> Result<Vec<(String, Beaten)>, StoreError> {
        let rows = self
            .db
            .batch_query(sql!(self, "heartbeat_beat_many"))
            .bind(now_ms)
            .bind(serde_json::to_string(hashes)?)
            .fetch_all(&self.db.pool)
            .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, beaten(r, 1)?))).collect()
    }

    /// Fails unless `policy_id` (when given) is a policy of the account (404 on the field otherwise) and of
    /// `team_id` (409), as for endpoints.
    async fn require_heartbeat_policy(
        &self,
        account: &str,
        team_id: &str,
        policy_id: Option<&str>,
    ) -> Result<(), StoreError> {
        let Some(policy_id) = policy_id else { return Ok(()) };
        match self.get_policy(account, policy_id).await {
            Ok(p) if p.team_id == team_id => Ok(()),
            Ok(_) => Err(StoreError::Conflict {
                message: format!("policy {policy_id:?} belongs to another team"),
                field: Some("escalation_policy_id"),
            }),
            Err(StoreError::NotFound) => Err(StoreError::MissingReference {
                message: format!("no escalation policy {policy_id:?} in this account"),
                field: "escalation_policy_id",
            }),
            Err(e) => Err(e),
        }
    }
}

/// A pinged heartbeat from the columns of `heartbeat_beat` starting at `at`.
fn beaten(r: &AnyRow, at: usize) -> Result<Beaten, StoreError> {
    Ok(Beaten {
        account_id: r.try_get(at)?,
        id: r.try_get(at + 1)?,
        team_id: r.try_get(at + 2)?,
        escalation_policy_id: r.try_get(at + 3)?,
        name: r.try_get(at + 4)?,
        missed: r.try_get::<Option<i64>, _>(at + 5)?.is_some(),
        missed_alert_id: r.try_get(at + 6)?,
    })
}

/// Most pings written by one statement.
const MAX_PINGS: usize = 512;

/// What a ping handed to the [`PingWriter`] is answered with: the heartbeat it beat (`None`: no such token),
/// or `Err` when its batch could not be written (the caller then writes it alone, to get its own error).
type PingReply = Result<Option<Beaten>, ()>;

/// Group commit of pings: callers hand a token over and wait for its write; one task writes whatever has
/// piled up meanwhile with one `UPDATE` (one commit, one fsync). Under load many pings share a commit instead
/// of paying one each; alone, a ping is written at once. Cheap to clone; the task stops with the last handle.
#[derive(Debug, Clone)]
pub struct PingWriter {
    tx: mpsc::Sender<(String, oneshot::Sender<PingReply>)>,
}

impl PingWriter {
    /// Starts the writer on the current tokio runtime; pings are dated by `clock`.
    pub fn spawn(store: Store, clock: Arc<dyn klaxon_queue::Clock>) -> Self {
        let (tx, rx) = mpsc::channel(4 * MAX_PINGS);
        tokio::spawn(write_pings(store, clock, rx));
        Self { tx }
    }

    /// Records a ping of the heartbeat `token` opens, now: `None` when no heartbeat has this token.
    pub async fn beat(&self, store: &Store, token: &str, now_ms: i64) -> Result<Option<Beaten>, StoreError> {
        let (done, answer) = oneshot::channel();
        if self.tx.send((token_hash(token), done)).await.is_ok()
            && let Ok(Ok(found)) = answer.await
        {
            return Ok(found);
        }
        // The writer stopped or its batch failed: this ping alone, so its caller gets its own answer.
        store.beat(token, now_ms).await
    }
}

async fn write_pings(
    store: Store,
    clock: Arc<dyn klaxon_queue::Clock>,
    mut rx: mpsc::Receiver<(String, oneshot::Sender<PingReply>)>,
) {
    let mut batch = Vec::with_capacity(MAX_PINGS);
    while rx.recv_many(&mut batch, MAX_PINGS).await > 0 {
        let hashes: Vec<&str> = batch.iter().map(|(h, _)| h.as_str()).collect();
        let written = store.beat_many(&hashes, clock.now_ms()).await;
        if let Err(e) = &written {
            tracing::warn!(pings = batch.len(), error = %e, "Could not record a batch of pings; each is tried alone.");
        }
        let found: HashMap<String, Beaten> = written
            .as_ref()
            .map_or_else(|_| HashMap::new(), |rows| rows.iter().cloned().collect());
        for (hash, waiter) in batch.drain(..) {
            let reply = match &written {
                Ok(_) => Ok(found.get(&hash).cloned()),
                Err(_) => Err(()),
            };
            let _ = waiter.send(reply);
        }
    }
}

fn flatten(row: &AnyRow) -> Result<Raw, StoreError> {
    let minutes = |i: usize| -> Result<u32, StoreError> {
        Ok(u32::try_from(row.try_get::<i64, _>(i)?).unwrap_or(u32::MAX))
    };
    Ok(Raw {
        heartbeat: StoredHeartbeat {
            id: row.try_get(0)?,
            team_id: row.try_get(1)?,
            escalation_policy_id: row.try_get(2)?,
            name: row.try_get(3)?,
            interval_minutes: minutes(4)?,
            grace_minutes: minutes(5)?,
            paused: row.try_get::<i64, _>(6)? != 0,
            last_beat_ms: row.try_get(8)?,
            missed: row.try_get::<Option<i64>, _>(9)?.is_some(),
            ping_token: String::new(),
        },
        sealed: row.try_get(7)?,
    })
}

//! The work an alert change leaves behind, as job payloads: its escalation timers and the sync of its Slack
//! messages. They are defined here, with the alerts, so this module enqueues them in the transaction of the
//! change without knowing how they run; `jobs` implements how (`BackgroundJob`) and depends on this module,
//! never the other way round.

use klaxon_queue::{BackgroundJob as _, Dedup, NewJob, Queue};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use super::{AlertError, LogLine, log, partition};
use crate::{escalation::Position, store::Store};

/// One step of one alert's escalation: the alert's timer (run by `jobs::escalate`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalateJob {
    /// The alert's account (the job's tenant too, which is what the jobs API lists by).
    pub account_id: String,
    /// The alert.
    pub alert_id: String,
    /// The round of the step, from 0.
    pub round: u32,
    /// The step within the round, from 0.
    pub step: u32,
}

impl EscalateJob {
    /// Prefix of the kinds cancelled when an alert stops escalating.
    pub const KIND_PREFIX: &'static str = "escalation.";

    /// The timer for step `pos` of an alert, due at `run_at_ms`.
    pub fn timer(
        account_id: &str,
        alert_id: &str,
        pos: Position,
        run_at_ms: i64,
    ) -> Result<NewJob, klaxon_queue::Error> {
        let job = Self {
            account_id: account_id.to_owned(),
            alert_id: alert_id.to_owned(),
            round: pos.round,
            step: pos.step,
        };
        // The step is the job's identity, kept once done: a step fires at most once, ever.
        let key = Self::key(alert_id, pos);
        Ok(NewJob::new(&job)?
            .tenant(account_id)
            .partition(partition(alert_id))
            .run_at_ms(run_at_ms)
            .dedup_with(key, Dedup::Forever))
    }

    /// The identity (dedup key) of step `pos` of an alert's escalation.
    pub fn key(alert_id: &str, pos: Position) -> String {
        format!("{}{}/{}/{}", Self::KIND_PREFIX, alert_id, pos.round, pos.step)
    }

    /// Where the step stands in its policy.
    pub fn position(&self) -> Position {
        Position {
            round: self.round,
            step: self.step,
        }
    }
}

/// Brings an alert's Slack messages up to date with the alert (run by `jobs::sync`): its channel message,
/// its DMs, and the history lines of its thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncJob {
    /// The alert's account.
    pub account_id: String,
    /// The alert.
    pub alert_id: String,
}

impl SyncJob {
    /// The sync of `alert_id`: in a partition of its own (a Slack outage never holds up the alert's
    /// escalation timers), coalescing while it waits (a change during a run queues exactly one more).
    pub fn of(account_id: &str, alert_id: &str) -> Result<NewJob, klaxon_queue::Error> {
        let job = Self {
            account_id: account_id.to_owned(),
            alert_id: alert_id.to_owned(),
        };
        Ok(NewJob::new(&job)?
            .tenant(account_id)
            .partition(format!("slack:{alert_id}"))
            .dedup_with(format!("{}:{alert_id}", Self::KIND), Dedup::WhilePending))
    }
}

/// Enqueues the sync of each `(account, alert)` inside the change's transaction, when Slack is on.
pub(super) async fn sync_in(
    conn: &mut AnyConnection,
    store: &Store,
    queue: &Queue,
    alerts: impl IntoIterator<Item = (&str, &str)>,
) -> Result<(), AlertError> {
    if !store.slack_sync() {
        return Ok(());
    }
    let jobs = alerts
        .into_iter()
        .map(|(account, alert)| SyncJob::of(account, alert))
        .collect::<Result<Vec<_>, _>>()?;
    queue.enqueue_many_in(conn, &jobs).await?;
    Ok(())
}

/// One alert's change told: its history line (when there is one) appended and its Slack sync enqueued, inside
/// the change's transaction. What every single-alert change (an action, a snooze, a reminder, a maintenance
/// release, a heartbeat stood down) does before it commits.
pub(super) async fn tell_in(
    conn: &mut AnyConnection,
    store: &Store,
    queue: &Queue,
    (account_id, alert_id): (&str, &str),
    line: Option<LogLine>,
    now_ms: i64,
) -> Result<(), AlertError> {
    if let Some(line) = line {
        log::append_in(&mut *conn, store.database(), &[(alert_id, line)], now_ms).await?;
    }
    sync_in(conn, store, queue, [(account_id, alert_id)]).await
}

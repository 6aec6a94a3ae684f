//! Reminders: an acknowledged alert that stays open reminds its acknowledger by direct message every
//! `remind_after_minutes` of its policy (the copy taken when the alert opened), and says so in its thread,
//! until it is closed.
//!
//! Each reminder is a durable timer (`escalation.remind`, run by `jobs::remind`) in a partition of its own per
//! alert (`remind:{alert}`), named by the alert and the reminder's period number and kept once done, so a
//! period is reminded at most once however often its timer is enqueued. Acknowledging enqueues the first (it
//! waits out its period when it runs: the policy minute is the job's to know); its own partition is what
//! keeps that wait from holding up the alert's other timers (a maintenance release, a step after a pass).
//! Each reminder, once told, enqueues the next in the same transaction that writes its history line and
//! records the period as told (`reminded_period`), so a retry after a crash neither tells a period twice nor
//! loses the next one. Closing (by people or by a recovery) cancels the pending reminder in the close's
//! transaction; one already running finds the alert closed and does nothing.

use klaxon_queue::{BackgroundJob as _, Dedup, NewJob, Queue};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use super::{AlertError, AlertStatus, LogLine, StoredAlert, db, follow_up};
use crate::{escalation::EngineConfig, store::Store};

/// One reminder of one acknowledged alert (run by `jobs::remind`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemindJob {
    /// The alert's account.
    pub account_id: String,
    /// The alert.
    pub alert_id: String,
    /// Which reminder, from 1: due `period` × `remind_after_minutes` after the acknowledgement.
    pub period: u32,
}

impl RemindJob {
    /// Reminder `period` of `alert_id`, due at `run_at_ms`, in the alert's reminder partition.
    pub fn timer(
        account_id: &str,
        alert_id: &str,
        period: u32,
        run_at_ms: i64,
    ) -> Result<NewJob, klaxon_queue::Error> {
        let job = Self {
            account_id: account_id.to_owned(),
            alert_id: alert_id.to_owned(),
            period,
        };
        Ok(NewJob::new(&job)?
            .tenant(account_id)
            .partition(reminder_partition(alert_id))
            .run_at_ms(run_at_ms)
            .dedup_with(format!("{}/{alert_id}/{period}", Self::KIND), Dedup::Forever))
    }

    /// When this reminder is due for `alert` (`None`: the alert reminds nobody now).
    pub fn due(&self, alert: &StoredAlert, engine: EngineConfig) -> Option<i64> {
        let minutes = alert.policy.remind_after_minutes?;
        let acknowledged = alert.acknowledged_at_ms?;
        let every = engine.minutes_ms(minutes);
        Some(acknowledged.saturating_add(every.saturating_mul(i64::from(self.period))))
    }
}

/// The partition of `alert_id`'s reminders: their own, so the first one's wait holds up nothing else.
pub(super) fn reminder_partition(alert_id: &str) -> String {
    format!("remind:{alert_id}")
}

/// Whom `alert` reminds now: its acknowledger, while it is acknowledged (not closed), said who acknowledged
/// it, and its policy asks for reminders.
pub fn reminds(alert: &StoredAlert) -> Option<&str> {
    (alert.status == AlertStatus::Acknowledged && alert.policy.remind_after_minutes.is_some())
        .then_some(alert.acknowledged_by.as_deref())
        .flatten()
}

/// Enqueues the first reminder of `alert`, just acknowledged, inside the acknowledgement's transaction
/// (when its policy asks for reminders and it is known who acknowledged it).
pub(super) async fn first_in(
    conn: &mut AnyConnection,
    queue: &Queue,
    alert: &StoredAlert,
    now_ms: i64,
) -> Result<(), AlertError> {
    if reminds(alert).is_some() {
        // Due now: the job waits out the period itself (it knows the policy minute).
        queue
            .enqueue_in(conn, RemindJob::timer(&alert.account_id, &alert.id, 1, now_ms)?)
            .await?;
    }
    Ok(())
}

/// Records reminder `period` of `alert_id` as told to `user` at `now_ms`: the thread's line (when the direct
/// message `reached` them), and the next reminder due at `next_ms`, in one transaction; false when it was
/// told already or the alert is no longer acknowledged.
#[allow(clippy::too_many_arguments)] // The reminder's facts, each needed once.
pub async fn told(
    store: &Store,
    queue: &Queue,
    alert_id: &str,
    user: &str,
    period: u32,
    reached: bool,
    next_ms: i64,
    now_ms: i64,
) -> Result<bool, AlertError> {
    let db = store.database();
    let mut tx = db.begin_write().await?;
    let query = sqlx::query(db::alert_sql!(db, "snooze_remind_told"))
        .bind(alert_id)
        .bind(i64::from(period))
        .bind(now_ms);
    let Some(alert) = db::fetch_alert(&mut tx, query).await? else {
        tx.rollback().await?;
        return Ok(false);
    };
    let next = RemindJob::timer(&alert.account_id, &alert.id, period.saturating_add(1), next_ms)?;
    queue.enqueue_in(&mut tx, next).await?;
    let line = reached.then(|| LogLine::Reminded {
        user: user.to_owned(),
        period,
    });
    follow_up::tell_in(
        &mut tx,
        store,
        queue,
        (&alert.account_id, &alert.id),
        line,
        now_ms,
    )
    .await?;
    tx.commit().await?;
    queue.notify();
    Ok(true)
}

/// Whether reminder `period` of `alert` was told already.
pub async fn was_told(store: &Store, alert_id: &str, period: u32) -> Result<bool, AlertError> {
    let db = store.database();
    let told: Option<i64> = sqlx::query_scalar(db::alert_sql!(db, "snooze_reminded_period"))
        .bind(alert_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(told.is_some_and(|t| t >= i64::from(period)))
}

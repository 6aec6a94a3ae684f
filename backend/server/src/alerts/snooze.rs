//! Snooze: an open alert's escalation paused until a time someone chose (a Slack snooze choice or
//! `POST /v1/alerts/{id}/snooze`).
//!
//! How it stays crash-safe with the durable jobs, and fires each step at most once:
//! - Snoozing writes `snoozed_until_ms`/`snoozed_by` on the alert, cancels its pending escalation timers
//!   and enqueues the snooze's end (an `escalation.snooze_end` job due when it ends, named by the alert and
//!   the end time), with the history line and the message sync, in one transaction.
//! - While the snooze lasts, no step begins: the statement that records a step as being delivered matches
//!   only alerts not snoozed, so a step timer that was already running, or one enqueued by a step that was
//!   being delivered when the snooze came, finds nothing to do. A delivery begun before the snooze completes
//!   (it may already be out).
//! - The end job clears that snooze (only that one: a later snooze or an action ended it otherwise) and, while
//!   the alert is open with a step pending (its chain has not ended, no maintenance window holds it),
//!   enqueues the pending step due at once under an identity of its own
//!   (`<the step's identity>/after-snooze-<end>`), since the step's own timer may have found the alert
//!   snoozed and be done. Each step still fires at most once: beginning a step requires the alert to
//!   still be at that step with no delivery begun, whichever job gets there first.
//! - Acknowledging, closing or passing ends a snooze (their statements clear it, and they cancel the
//!   alert's `escalation.` jobs, the end job among them); a pass fires the pending step at once.
//!
//! An acknowledged alert is not escalating: snoozing it is refused (409), as is snoozing a closed alert or a
//! notification. Snoozing a snoozed alert replaces its snooze (to extend or shorten it); the same person
//! snoozing again to within a policy minute of the current end changes nothing, so a repeated press or
//! request is one snooze.

use klaxon_queue::{BackgroundJob as _, Dedup, NewJob, Queue};
use serde::{Deserialize, Serialize};

use super::{
    Acted, AlertError, AlertKind, AlertStatus, EscalateJob, LogLine, StoredAlert, db, follow_up, partition,
};
use crate::{escalation::EngineConfig, store::Store};

/// The longest snooze, in milliseconds (7 days).
pub const MAX_SNOOZE_MS: i64 = 7 * 24 * 60 * 60 * 1000;

/// The end of one snooze of one alert (run by `jobs::snooze_end`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnoozeEndJob {
    /// The alert's account.
    pub account_id: String,
    /// The alert.
    pub alert_id: String,
    /// When the snooze ends, Unix milliseconds: only the snooze that ends then is ended.
    pub until_ms: i64,
}

impl SnoozeEndJob {
    /// The end of the snooze of `alert_id` that ends at `until_ms`, due then, in the alert's partition.
    pub fn timer(account_id: &str, alert_id: &str, until_ms: i64) -> Result<NewJob, klaxon_queue::Error> {
        let job = Self {
            account_id: account_id.to_owned(),
            alert_id: alert_id.to_owned(),
            until_ms,
        };
        Ok(NewJob::new(&job)?
            .tenant(account_id)
            .partition(partition(alert_id))
            .run_at_ms(until_ms)
            .dedup_with(format!("{}/{alert_id}/{until_ms}", Self::KIND), Dedup::Forever))
    }
}

/// The pending step of `alert`, due at `run_at_ms`, under an identity of its own named by `why` (the step's
/// own timer may be done already, having found the alert snoozed).
pub(super) fn resume_timer(
    alert: &StoredAlert,
    why: &str,
    run_at_ms: i64,
) -> Result<NewJob, klaxon_queue::Error> {
    let job = EscalateJob {
        account_id: alert.account_id.clone(),
        alert_id: alert.id.clone(),
        round: alert.position.round,
        step: alert.position.step,
    };
    let key = format!("{}/{why}", EscalateJob::key(&alert.id, alert.position));
    Ok(NewJob::new(&job)?
        .tenant(&alert.account_id)
        .partition(partition(&alert.id))
        .run_at_ms(run_at_ms)
        .dedup_with(key, Dedup::Forever))
}

/// Whether the alert is snoozed at `now_ms`.
pub fn is_snoozed(alert: &StoredAlert, now_ms: i64) -> bool {
    alert.status == AlertStatus::Open && alert.snoozed_until_ms.is_some_and(|until| until > now_ms)
}

/// Why `alert` cannot be snoozed, if it cannot.
fn refused(alert: &StoredAlert) -> Option<AlertError> {
    let why = match (alert.kind, alert.status) {
        (AlertKind::Notification, _) => "a notification cannot be snoozed",
        (_, AlertStatus::Closed) => "a closed alert cannot be snoozed",
        (_, AlertStatus::Acknowledged) => {
            "an acknowledged alert is not escalating, so there is nothing to snooze"
        }
        (_, AlertStatus::Open) => return None,
    };
    Some(AlertError::Conflict(why.to_owned()))
}

/// Snoozes open alert `id` of `account` until `until_ms`, by `by` (a Slack user id, when known), at
/// `now_ms` (see the module docs). The caller checked that `until_ms` is in the future and at most
/// [`MAX_SNOOZE_MS`] away.
#[allow(clippy::too_many_arguments)] // The same arguments as `act`, plus the snooze's end and the policy minute.
pub async fn snooze(
    store: &Store,
    queue: &Queue,
    engine: EngineConfig,
    account: &str,
    id: &str,
    until_ms: i64,
    by: Option<&str>,
    now_ms: i64,
) -> Result<Acted, AlertError> {
    let db = store.database();
    let current = db::get(db, account, id).await?;
    if let Some(e) = refused(&current) {
        return Err(e);
    }
    let repeat = is_snoozed(&current, now_ms)
        && current.snoozed_by.as_deref() == by
        && current
            .snoozed_until_ms
            .is_some_and(|u| (u - until_ms).abs() < engine.minutes_ms(1).max(1));
    if repeat {
        return Ok(Acted {
            changed: false,
            alert: current,
        });
    }
    let mut tx = db.begin_write().await?;
    let query = sqlx::query(db::alert_sql!(db, "snooze_set"))
        .bind(account)
        .bind(id)
        .bind(until_ms)
        .bind(by)
        .bind(now_ms);
    let Some(alert) = db::fetch_alert(&mut tx, query).await? else {
        // Acknowledged or closed meanwhile.
        tx.rollback().await?;
        let alert = db::get(db, account, id).await?;
        return Err(
            refused(&alert).unwrap_or_else(|| AlertError::Conflict("the alert changed meanwhile".into()))
        );
    };
    // The pending step's timer (and the end of an earlier snooze) are replaced by this snooze's end.
    queue
        .cancel_partition_in(&mut tx, &partition(&alert.id), EscalateJob::KIND_PREFIX)
        .await?;
    queue
        .enqueue_in(
            &mut tx,
            SnoozeEndJob::timer(&alert.account_id, &alert.id, until_ms)?,
        )
        .await?;
    let line = LogLine::Snoozed {
        by: by.map(str::to_owned),
        until_ms,
    };
    follow_up::tell_in(
        &mut tx,
        store,
        queue,
        (&alert.account_id, &alert.id),
        Some(line),
        now_ms,
    )
    .await?;
    tx.commit().await?;
    queue.notify();
    Ok(Acted { changed: true, alert })
}

/// Ends the snooze of alert `alert_id` that was to end at `until_ms`, at `now_ms`; false when there was
/// nothing to end (that snooze was replaced, or ended by an action). While the alert is open, the thread
/// says so and its pending step fires at once (see the module docs).
pub async fn end(
    store: &Store,
    queue: &Queue,
    alert_id: &str,
    until_ms: i64,
    now_ms: i64,
) -> Result<bool, AlertError> {
    let db = store.database();
    let mut tx = db.begin_write().await?;
    let query = sqlx::query(db::alert_sql!(db, "snooze_end"))
        .bind(alert_id)
        .bind(until_ms)
        .bind(now_ms);
    let Some(alert) = db::fetch_alert(&mut tx, query).await? else {
        tx.rollback().await?;
        return Ok(false);
    };
    let mut line = None;
    if alert.status == AlertStatus::Open && alert.kind == AlertKind::Alert {
        // A step is pending when the chain has not ended and the alert has a step due (an alert a
        // maintenance window holds has none: its window's end starts its escalation).
        let pending = alert.policy.step(alert.position).is_some() && alert.next_escalation_at_ms.is_some();
        if pending {
            let job = resume_timer(&alert, &format!("after-snooze-{until_ms}"), now_ms)?;
            queue.enqueue_in(&mut tx, job).await?;
        }
        line = Some(LogLine::SnoozeEnded {
            step: pending.then_some(alert.position.step),
        });
    }
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

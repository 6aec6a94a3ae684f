//! Acknowledge, close and pass: the buttons' actions, each idempotent (acknowledging twice is one
//! acknowledgement, closing a closed alert changes nothing, passing a closed alert does nothing).

use klaxon_queue::{BackgroundJob as _, Queue};

use super::{AlertError, AlertKind, EscalateJob, LogLine, StoredAlert, db, follow_up, partition};
use crate::store::Store;

/// What a person does with an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Takes the alert: escalation stops.
    Ack,
    /// Ends the alert: escalation stops.
    Close,
    /// Hands the alert to its next escalation step at once.
    Pass,
}

impl Action {
    /// The action's name in paths and button ids (`ack`, `close`, `pass`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ack => "ack",
            Self::Close => "close",
            Self::Pass => "pass",
        }
    }
}

/// The outcome of [`act`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acted {
    /// False when the action changed nothing (it was done already, or does not apply in this state).
    pub changed: bool,
    /// The alert as it is now.
    pub alert: StoredAlert,
}

/// Applies `action` to alert `id` of `account`, by `by` (a Slack user id, when known), at `now_ms`.
///
/// Acknowledging or closing cancels the alert's pending escalation timers in the same transaction; a timer
/// already running finds the alert no longer open and does nothing. A pass on an open alert whose chain has
/// not ended makes its pending step due now, enqueued afresh when its job had died. Acknowledging a
/// notification is a conflict.
pub async fn act(
    store: &Store,
    queue: &Queue,
    account: &str,
    id: &str,
    action: Action,
    by: Option<&str>,
    now_ms: i64,
) -> Result<Acted, AlertError> {
    let db = store.database();
    // Most repeated presses change nothing (a second Acknowledge, a Close of a closed alert): a read says so
    // without taking the write lock. The conditional write below still decides every race.
    let current = db::get(db, account, id).await?;
    let noop = match action {
        Action::Ack => current.status != super::AlertStatus::Open || current.kind == AlertKind::Notification,
        Action::Close => current.status == super::AlertStatus::Closed,
        Action::Pass => {
            current.status != super::AlertStatus::Open || current.policy.step(current.position).is_none()
        }
    };
    if noop {
        if current.kind == AlertKind::Notification && action == Action::Ack {
            return Err(AlertError::Conflict(
                "a notification cannot be acknowledged".to_owned(),
            ));
        }
        return Ok(Acted {
            changed: false,
            alert: current,
        });
    }
    let mut tx = db.begin_write().await?;
    // The conditional update comes first: it takes the row (and on SQLite the write) lock, so an escalation
    // step committing at the same time is ordered before or after this action, never interleaved.
    let query = match action {
        Action::Ack => sqlx::query(db::alert_sql!(db, "alert_ack"))
            .bind(account)
            .bind(id)
            .bind(by)
            .bind(now_ms),
        Action::Close => sqlx::query(db::alert_sql!(db, "alert_close"))
            .bind(account)
            .bind(id)
            .bind(by)
            .bind(now_ms),
        Action::Pass => sqlx::query(db::alert_sql!(db, "alert_pass"))
            .bind(account)
            .bind(id)
            .bind(now_ms),
    };
    let Some(alert) = db::fetch_alert(&mut tx, query).await? else {
        tx.rollback().await?;
        let alert = db::get(db, account, id).await?;
        if alert.kind == AlertKind::Notification && action == Action::Ack {
            return Err(AlertError::Conflict(
                "a notification cannot be acknowledged".to_owned(),
            ));
        }
        return Ok(Acted {
            changed: false,
            alert,
        });
    };
    queue
        .cancel_partition_in(&mut tx, &partition(&alert.id), EscalateJob::KIND_PREFIX)
        .await?;
    if action == Action::Close {
        queue
            .cancel_partition_in(
                &mut tx,
                &super::remind::reminder_partition(&alert.id),
                super::remind::RemindJob::KIND,
            )
            .await?;
    }
    if action == Action::Ack {
        super::remind::first_in(&mut tx, queue, &alert, now_ms).await?;
    }
    if action == Action::Pass {
        if alert.policy.step(alert.position).is_none() {
            // The chain has ended: nobody left to pass to.
            tx.rollback().await?;
            return Ok(Acted {
                changed: false,
                alert: db::get(db, account, id).await?,
            });
        }
        // The pending step's timer was just cancelled, which frees its identity; if it is running right now it
        // was not cancelled and this enqueue is a no-op: either way the step fires once. A step whose job died
        // (its delivery failed until it ran out of attempts) still holds the identity, and the enqueue would
        // page nobody: the dead job gives it up and the step is enqueued afresh. A delivery that job began is
        // asked about before sending again, so the step still fires once.
        let key = EscalateJob::key(&alert.id, alert.position);
        if queue.release_dead_key_in(&mut tx, &key).await? {
            tracing::warn!(alert = %alert.id, step = %key, "A pass found the pending step dead: it is enqueued afresh.");
        }
        let job = if current.snoozed_until_ms.is_some() {
            // The pass ended a snooze (its statement clears it), during which the step's own timer may have
            // found the alert snoozed and be done: the step is enqueued under an identity of this pass.
            super::snooze::resume_timer(&alert, &format!("pass-{now_ms}"), now_ms)?
        } else {
            EscalateJob::timer(&alert.account_id, &alert.id, alert.position, now_ms)?
        };
        queue.enqueue_in(&mut tx, job).await?;
    }
    let by = by.map(str::to_owned);
    let line = match action {
        Action::Ack => LogLine::Acknowledged { by },
        Action::Close => LogLine::Closed { by },
        Action::Pass => LogLine::Passed { by },
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
    let metrics = store.metrics();
    match action {
        Action::Ack => metrics.acknowledged(now_ms - alert.first_seen_ms),
        Action::Close => metrics.closed(false, now_ms - alert.first_seen_ms),
        Action::Pass => metrics.passed(),
    }
    if action == Action::Pass {
        queue.notify();
    }
    Ok(Acted { changed: true, alert })
}

/// An alert of the account.
pub async fn get(store: &Store, account: &str, id: &str) -> Result<StoredAlert, AlertError> {
    db::get(store.database(), account, id).await
}

/// An alert by id alone, whatever its account (for workers, and for Slack, whose payloads name the alert).
pub async fn get_any(store: &Store, id: &str) -> Result<Option<StoredAlert>, AlertError> {
    db::get_any(store.database(), id).await
}

/// A page of the account's alerts, optionally in one status, after `cursor`.
pub async fn list(
    store: &Store,
    account: &str,
    status: Option<super::AlertStatus>,
    cursor: Option<&str>,
    limit: u32,
) -> Result<klaxon_api::Page<StoredAlert>, AlertError> {
    db::list(store.database(), account, status, cursor, limit).await
}

/// Records where Slack shows alert `id` (`posted`, or `digest` during a storm).
pub async fn set_slack_delivery(store: &Store, id: &str, delivery: &str) -> Result<(), AlertError> {
    let db = store.database();
    sqlx::query(db::alert_sql!(db, "alert_slack_delivery"))
        .bind(id)
        .bind(delivery)
        .execute(&mut *db.acquire_write().await?)
        .await?;
    Ok(())
}

/// The alerts not closed of a Slack workspace, newest first (at most `limit`), and how many there are: of
/// `account` (an installed workspace), or with `None` of every account without an install (the configured
/// workspace).
pub async fn open_in_workspace(
    store: &Store,
    account: Option<&str>,
    limit: u32,
) -> Result<(Vec<StoredAlert>, u64), AlertError> {
    let db = store.database();
    let rows = sqlx::query(db::alert_sql!(db, "alert_open_in_workspace"))
        .bind(account)
        .bind(i64::from(limit))
        .fetch_all(&db.pool)
        .await?;
    let alerts = rows.iter().map(db::flatten).collect::<Result<Vec<_>, _>>()?;
    let total: i64 = sqlx::query_scalar(db::alert_sql!(db, "alert_open_in_workspace_count"))
        .bind(account)
        .fetch_one(&db.pool)
        .await?;
    Ok((alerts, u64::try_from(total).unwrap_or(0)))
}

/// The alerts of `account` in the digest of `channel` first seen in `[from_ms, to_ms)`, newest first (at most
/// `limit`), and how many there are in all.
pub async fn digest_of(
    store: &Store,
    account: &str,
    channel: &str,
    from_ms: i64,
    to_ms: i64,
    limit: u32,
) -> Result<(Vec<StoredAlert>, u64), AlertError> {
    let db = store.database();
    let rows = sqlx::query(db::alert_sql!(db, "alert_digest"))
        .bind(account)
        .bind(channel)
        .bind(from_ms)
        .bind(to_ms)
        .bind(i64::from(limit))
        .fetch_all(&db.pool)
        .await?;
    let alerts = rows.iter().map(db::flatten).collect::<Result<Vec<_>, _>>()?;
    let total: i64 = sqlx::query_scalar(db::alert_sql!(db, "alert_digest_count"))
        .bind(account)
        .bind(channel)
        .bind(from_ms)
        .bind(to_ms)
        .fetch_one(&db.pool)
        .await?;
    Ok((alerts, u64::try_from(total).unwrap_or(0)))
}

//! Acknowledge, close and pass: the buttons' actions, each idempotent (acknowledging twice is one
//! acknowledgement, closing a closed alert changes nothing, passing a closed alert does nothing).

use klaxon_queue::Queue;

use super::{AlertError, AlertKind, StoredAlert, db, partition};
use crate::{jobs::EscalateJob, store::Store};

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
/// not ended makes its pending step due now. Acknowledging a notification is a conflict.
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
        // was not cancelled and this enqueue is a no-op: either way the step fires once.
        let job = EscalateJob::timer(&alert.account_id, &alert.id, alert.position, now_ms)?;
        queue.enqueue_in(&mut tx, job).await?;
    }
    tx.commit().await?;
    if action == Action::Pass {
        queue.notify();
    }
    Ok(Acted { changed: true, alert })
}

/// An alert of the account.
pub async fn get(store: &Store, account: &str, id: &str) -> Result<StoredAlert, AlertError> {
    db::get(store.database(), account, id).await
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

//! Ingesting one normalised event: group it into an open alert, let it resolve one, or open a new alert or
//! notification, all in one transaction. A new alert's first escalation step is enqueued in that same
//! transaction, so an alert never exists without its timer.

use klaxon_queue::Queue;
use sqlx::Row;

use super::{AlertError, AlertKind, AlertStatus, Details, StoredAlert, db, partition};
use crate::{
    escalation::{Policy, Position},
    event::{Event, EventKind, EventStatus},
    jobs::EscalateJob,
    store::{IngestEndpoint, Store},
};

/// What an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestAction {
    /// It opened a new alert (escalation started) or a new notification.
    Created,
    /// It joined an alert or notification of the same group key within the grouping window.
    Grouped,
    /// It closed the open alert of its group key (auto-closed).
    Resolved,
}

/// The outcome of [`ingest`]: what happened and the alert as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingested {
    /// What the event did.
    pub action: IngestAction,
    /// The alert or notification it created, joined or closed.
    pub alert: StoredAlert,
}

/// Ingests `event`, received by `endpoint` at `now_ms` (Unix milliseconds), in one transaction:
/// - a `Resolved` event closes the alerts of its group key that are not closed (auto-closed) and cancels
///   their timers; with no such alert it becomes a notification;
/// - otherwise an alert of the endpoint with the same group key first seen within `alert_grouping_minutes`
///   and not closed (for notifications: any notification within `notification_grouping_minutes`) gets one
///   more event;
/// - otherwise a new alert opens with its first escalation step due at once (or a notification is stored,
///   closed).
///
/// Wakes this process's workers after committing a new alert.
pub async fn ingest(
    store: &Store,
    queue: &Queue,
    endpoint: &IngestEndpoint,
    event: &Event,
    now_ms: i64,
) -> Result<Ingested, AlertError> {
    let mut tx = store.database().pool.begin().await?;
    let done = ingest_in(&mut tx, store, queue, endpoint, event, now_ms, true).await?;
    tx.commit().await?;
    if done.action == IngestAction::Created && done.alert.kind == AlertKind::Alert {
        queue.notify();
    }
    Ok(done)
}

/// [`ingest`] inside the caller's transaction, so a batch of events costs one commit (see `alerts::batch`).
/// The caller commits, then wakes the workers when an alert was created. `first` says this is the
/// transaction's first write: on SQLite only that one needs to take the write lock (the transaction holds it
/// from then on); on PostgreSQL every event takes its group key's lock.
pub(super) async fn ingest_in(
    tx: &mut sqlx::AnyConnection,
    store: &Store,
    queue: &Queue,
    endpoint: &IngestEndpoint,
    event: &Event,
    now_ms: i64,
    first: bool,
) -> Result<Ingested, AlertError> {
    let db = store.database();
    let ep = &endpoint.endpoint;
    // First statement: serialises events of this group key (and on SQLite takes the write lock up front).
    if first || db.dialect == klaxon_db::Dialect::Postgres {
        sqlx::query(db::alert_sql!(db, "alert_group_lock"))
            .bind(&ep.id)
            .bind(&event.group_key)
            .execute(&mut *tx)
            .await?;
    }

    if event.status == EventStatus::Resolved {
        let rows = sqlx::query(db::alert_sql!(db, "alert_resolve"))
            .bind(&ep.id)
            .bind(&event.group_key)
            .bind(now_ms)
            .fetch_all(&mut *tx)
            .await?;
        let closed = rows.iter().map(db::flatten).collect::<Result<Vec<_>, _>>()?;
        for alert in &closed {
            queue
                .cancel_partition_in(tx, &partition(&alert.id), EscalateJob::KIND_PREFIX)
                .await?;
        }
        if let Some(alert) = closed.into_iter().next_back() {
            return Ok(Ingested {
                action: IngestAction::Resolved,
                alert,
            });
        }
    }

    let kind = match (event.status, event.kind) {
        (EventStatus::Firing, EventKind::Alert) => AlertKind::Alert,
        _ => AlertKind::Notification,
    };
    let window = match kind {
        AlertKind::Alert => ep.alert_grouping_minutes,
        AlertKind::Notification => ep.notification_grouping_minutes,
    };
    let since = now_ms.saturating_sub(i64::from(window).saturating_mul(60_000));
    let group = db::fetch_alert(
        tx,
        sqlx::query(db::alert_sql!(db, "alert_find_group"))
            .bind(&ep.id)
            .bind(&event.group_key)
            .bind(kind.as_str())
            .bind(since),
    )
    .await?;
    if let Some(found) = group {
        let alert = db::fetch_alert(
            tx,
            sqlx::query(db::alert_sql!(db, "alert_bump"))
                .bind(&found.id)
                .bind(now_ms),
        )
        .await?
        .ok_or(AlertError::NotFound)?;
        return Ok(Ingested {
            action: IngestAction::Grouped,
            alert,
        });
    }

    let policy = match (&ep.escalation_policy_id, kind) {
        (Some(policy_id), AlertKind::Alert) => policy_in(tx, store, &endpoint.account_id, policy_id).await?,
        _ => Policy::default_chain(),
    };
    let id = format!("alert_{}", uuid::Uuid::now_v7().simple());
    let (status, closed_at, next_at) = match kind {
        AlertKind::Alert => (AlertStatus::Open, None, Some(now_ms)),
        AlertKind::Notification => (AlertStatus::Closed, Some(now_ms), None),
    };
    let details = Details {
        account: event.account.clone(),
        region: event.region.clone(),
        resource: event.resource.clone(),
        link: event.link.clone(),
    };
    let alert = db::fetch_alert(
        tx,
        sqlx::query(db::alert_sql!(db, "alert_insert"))
            .bind(&id)
            .bind(&endpoint.account_id)
            .bind(&ep.id)
            .bind(&ep.team_id)
            .bind(serde_json::to_string(&policy)?)
            .bind(&event.group_key)
            .bind(kind.as_str())
            .bind(status.as_str())
            .bind(&event.title)
            .bind(&event.text)
            .bind(severity_name(event))
            .bind(&event.source)
            .bind(serde_json::to_string(&event.fields)?)
            .bind(serde_json::to_string(&details)?)
            .bind(now_ms)
            .bind(closed_at)
            .bind(next_at),
    )
    .await?
    .ok_or(AlertError::NotFound)?;
    if kind == AlertKind::Alert {
        let timer = EscalateJob::timer(&endpoint.account_id, &id, Position::START, now_ms)?;
        queue.enqueue_in(tx, timer).await?;
    }
    Ok(Ingested {
        action: IngestAction::Created,
        alert,
    })
}

/// The policy an endpoint names, read on the transaction's connection (a second connection per event could
/// exhaust the pool under a burst).
async fn policy_in(
    conn: &mut sqlx::AnyConnection,
    store: &Store,
    account: &str,
    policy_id: &str,
) -> Result<Policy, AlertError> {
    let db = store.database();
    let row = sqlx::query(db::alert_sql!(db, "policy_get"))
        .bind(account)
        .bind(policy_id)
        .fetch_optional(conn)
        .await?;
    // Deleting a policy is refused while endpoints use it; if it vanished anyway, still escalate.
    let Some(row) = row else {
        return Ok(Policy::default_chain());
    };
    Ok(Policy {
        policy_id: Some(row.try_get(0)?),
        steps: serde_json::from_str(&row.try_get::<String, _>(3)?)?,
        repeat: u32::try_from(row.try_get::<i64, _>(4)?).unwrap_or(0),
        skip_inactive: row.try_get::<i64, _>(5)? != 0,
    })
}

fn severity_name(event: &Event) -> String {
    serde_json::to_value(event.severity)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "error".to_owned())
}

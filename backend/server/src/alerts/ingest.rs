//! Ingesting normalised events: each groups into an open alert, resolves one, or opens a new alert or
//! notification, all in one transaction. A new alert's first escalation step is enqueued in that same
//! transaction, so an alert never exists without its timer. The decisions are `alerts::grouping`'s; this
//! file reads what they need and writes what they decided.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use klaxon_db::Dialect;
use klaxon_queue::{BackgroundJob as _, Queue};
use sqlx::Row;

use super::{
    AlertError, AlertKind, EscalateJob, LogLine, StoredAlert, db, follow_up, grouping, log, maintenance,
    partition, remind,
};
use crate::{
    escalation::{Policy, Position},
    event::{Event, EventKind, EventStatus},
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
    let mut tx = store.database().begin_write().await?;
    let mut done = ingest_in(&mut tx, store, queue, &[(endpoint, event)], now_ms).await?;
    tx.commit().await?;
    let done = done.pop().ok_or(AlertError::NotFound)?;
    if done.action == IngestAction::Created && done.alert.kind == AlertKind::Alert {
        queue.notify();
    }
    count(store, std::slice::from_ref(&done), now_ms);
    Ok(done)
}

/// Counts what committed events did: alerts and notifications created, alerts closed by a recovery.
pub(super) fn count(store: &Store, done: &[Ingested], now_ms: i64) {
    let metrics = store.metrics();
    let (mut alerts, mut notifications) = (0, 0);
    for d in done {
        match (d.action, d.alert.kind) {
            (IngestAction::Created, AlertKind::Alert) => alerts += 1,
            (IngestAction::Created, AlertKind::Notification) => notifications += 1,
            (IngestAction::Resolved, AlertKind::Alert) => {
                metrics.closed(true, now_ms - d.alert.first_seen_ms);
            }
            _ => {}
        }
    }
    metrics.created(alerts, notifications);
}

/// [`ingest`] of many events (each with the endpoint that received it), in order, inside the caller's
/// transaction, in a fixed number of statements whatever their count (see `alerts::grouping`), so a burst
/// costs a few round trips and one commit (see `alerts::batch`). The caller begins the transaction with
/// `Database::begin_write`, commits, then wakes the workers when an alert was created. Must be the
/// transaction's first alert write.
pub(super) async fn ingest_in(
    tx: &mut sqlx::AnyConnection,
    store: &Store,
    queue: &Queue,
    events: &[(&IngestEndpoint, &Event)],
    now_ms: i64,
) -> Result<Vec<Ingested>, AlertError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let db = store.database();
    // First: serialise events of these group keys with any other replica's. A SQLite transaction from
    // `begin_write` holds the database's write lock since BEGIN, which serialises everything already: the
    // statement (a round trip) is only sent where it does something.
    if db.dialect == Dialect::Postgres {
        let locks: BTreeSet<String> = events
            .iter()
            .map(|(ep, ev)| format!("{}/{}", ep.endpoint.id, ev.group_key))
            .collect();
        sqlx::query(db::alert_sql!(db, "alert_group_lock_many"))
            .bind(serde_json::to_string(&locks)?)
            .execute(&mut *tx)
            .await?;
    }

    // The policies new alerts may escalate by.
    let mut policies = HashMap::new();
    for (ep, ev) in events {
        if let Some(id) = &ep.endpoint.escalation_policy_id
            && ev.status == EventStatus::Firing
            && ev.kind == EventKind::Alert
            && !policies.contains_key(id)
        {
            let policy = policy_in(tx, store, &ep.account_id, id).await?;
            policies.insert(id.clone(), policy);
        }
    }

    // Every stored alert the events could touch, in one read.
    let mut keys = BTreeMap::new();
    for (ep, ev) in events {
        let since = now_ms
            .saturating_sub(i64::from(ep.endpoint.notification_grouping_minutes).saturating_mul(60_000));
        keys.entry((ep.endpoint.id.as_str(), ev.group_key.as_str()))
            .or_insert(since);
    }
    let keys: Vec<_> = keys
        .into_iter()
        .map(|((e, k), n)| serde_json::json!({ "e": e, "k": k, "n": n }))
        .collect();
    let rows = db
        .batch_query(db::alert_sql!(db, "alert_group_candidates"))
        .bind(serde_json::Value::Array(keys).to_string())
        .fetch_all(&mut *tx)
        .await?;
    let known = rows.iter().map(db::flatten).collect::<Result<Vec<_>, _>>()?;

    let mut plan = grouping::plan(events, known, &policies, now_ms, || {
        format!("alert_{}", uuid::Uuid::now_v7().simple())
    });

    // Alerts opening during a maintenance window get no first timer (see `alerts::maintenance`).
    let holds = maintenance::holds_in(tx, store, &mut plan, now_ms).await?;
    insert_many(tx, db, &plan.inserts, now_ms).await?;
    if !plan.changes.is_empty() {
        let rows: Vec<_> = plan
            .changes
            .iter()
            .map(|c| serde_json::json!({ "id": c.id, "added": c.added, "close": i64::from(c.close) }))
            .collect();
        db.batch_query(db::alert_sql!(db, "alert_change_many"))
            .bind(serde_json::Value::Array(rows).to_string())
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
    }
    // Both are no-ops (no statement) when the batch closed nothing or opened no alert.
    let partitions: Vec<String> = plan.closed().map(partition).collect();
    queue
        .cancel_partitions_in(tx, &partitions, EscalateJob::KIND_PREFIX)
        .await?;
    let reminders: Vec<String> = plan.closed().map(remind::reminder_partition).collect();
    queue
        .cancel_partitions_in(tx, &reminders, remind::RemindJob::KIND)
        .await?;
    let timers = plan
        .escalate()
        .filter(|a| !holds.iter().any(|h| h.alert_id() == a.id))
        .map(|a| EscalateJob::timer(&a.account_id, &a.id, Position::START, now_ms))
        .collect::<Result<Vec<_>, _>>()?;
    queue.enqueue_many_in(tx, &timers).await?;
    let closed: Vec<(&str, LogLine)> = plan.closed().map(|id| (id, LogLine::AutoClosed)).collect();
    log::append_in(tx, db, &closed, now_ms).await?;
    maintenance::record_in(tx, store, queue, &holds, now_ms).await?;
    let touched = plan
        .inserts
        .iter()
        .map(|a| (a.account_id.as_str(), a.id.as_str()))
        .chain(
            plan.changes
                .iter()
                .map(|c| (c.account_id.as_str(), c.id.as_str())),
        );
    follow_up::sync_in(tx, store, queue, touched).await?;
    Ok(plan.results)
}

/// Stores new alerts with `alert_insert_many`: on PostgreSQL one JSON array, on SQLite bound rows (as many
/// per statement as its parameter limit allows).
async fn insert_many(
    tx: &mut sqlx::AnyConnection,
    db: &klaxon_db::Database,
    alerts: &[StoredAlert],
    now_ms: i64,
) -> Result<(), AlertError> {
    let template = db::alert_sql!(db, "alert_insert_many");
    if alerts.is_empty() {
        return Ok(());
    }
    if db.dialect == Dialect::Postgres {
        let rows = alerts.iter().map(insert_row).collect::<Result<Vec<_>, _>>()?;
        sqlx::query(template)
            .bind(serde_json::Value::Array(rows).to_string())
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        return Ok(());
    }
    for chunk in alerts.chunks(klaxon_db::values_rows_max(template)) {
        let sql = klaxon_db::values_rows(template, chunk.len())
            .ok_or_else(|| sqlx::Error::Protocol("alert_insert_many has no VALUES tuple".into()))?;
        let mut query = sqlx::query(&sql).persistent(false);
        for a in chunk {
            query = query
                .bind(a.id.clone())
                .bind(a.account_id.clone())
                .bind(a.endpoint_id.clone())
                .bind(a.team_id.clone())
                .bind(serde_json::to_string(&a.policy)?)
                .bind(a.group_key.clone())
                .bind(a.kind.as_str())
                .bind(a.status.as_str())
                .bind(a.title.clone())
                .bind(a.text.clone())
                .bind(a.severity.clone())
                .bind(a.source.clone())
                .bind(serde_json::to_string(&a.fields)?)
                .bind(serde_json::to_string(&a.details)?)
                .bind(i64::try_from(a.count).unwrap_or(i64::MAX))
                .bind(a.first_seen_ms)
                .bind(a.last_seen_ms)
                .bind(a.closed_at_ms)
                .bind(i64::from(a.auto_closed))
                .bind(a.next_escalation_at_ms)
                .bind(now_ms)
                .bind(now_ms);
        }
        query.execute(&mut *tx).await?;
    }
    Ok(())
}

/// A new alert as PostgreSQL's `alert_insert_many` reads it.
fn insert_row(a: &StoredAlert) -> Result<serde_json::Value, AlertError> {
    Ok(serde_json::json!({
        "id": a.id,
        "account_id": a.account_id,
        "endpoint_id": a.endpoint_id,
        "team_id": a.team_id,
        "policy": serde_json::to_string(&a.policy)?,
        "group_key": a.group_key,
        "kind": a.kind.as_str(),
        "status": a.status.as_str(),
        "title": a.title,
        "text": a.text,
        "severity": a.severity,
        "source": a.source,
        "fields": serde_json::to_string(&a.fields)?,
        "details": serde_json::to_string(&a.details)?,
        "event_count": a.count,
        "first_seen_ms": a.first_seen_ms,
        "last_seen_ms": a.last_seen_ms,
        "closed_at_ms": a.closed_at_ms,
        "auto_closed": i64::from(a.auto_closed),
        "next_escalation_at_ms": a.next_escalation_at_ms,
    }))
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
        remind_after_minutes: row
            .try_get::<Option<i64>, _>(6)?
            .and_then(|m| u32::try_from(m).ok()),
    })
}

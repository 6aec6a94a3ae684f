//! Heartbeats' alerts: a missed heartbeat becomes an event ("heartbeat NAME missed") and the ping after it a
//! recovery, both ingested through [`super::ingest::ingest_in`] exactly as an endpoint's events are, so the
//! alert is posted, escalated, grouped and auto-closed like any other. The heartbeat plays the endpoint: its
//! id is the alert's `endpoint_id`, its team and policy are the alert's.

use std::collections::BTreeMap;

use klaxon_queue::Queue;
use sqlx::Row;

use super::{
    Action, AlertError, AlertStatus, IngestAction, Ingested, LogLine, actions, db, follow_up,
    ingest::ingest_in,
};
use crate::{
    event::{Event, EventKind, EventStatus, Severity},
    store::{Beaten, IngestEndpoint, Store, StoredEndpoint},
};

/// The `source` of heartbeat alerts.
pub const SOURCE: &str = "heartbeat";
/// The group key of a heartbeat's alerts (unique per heartbeat, as the heartbeat is the endpoint).
const GROUP_KEY: &str = "heartbeat";
/// Most heartbeats one sweep statement marks missed.
const SWEEP_BATCH: i64 = 500;

/// The endpoint a heartbeat's events are ingested as.
fn as_endpoint(
    account_id: &str,
    id: &str,
    team_id: &str,
    policy: Option<String>,
    name: &str,
) -> IngestEndpoint {
    IngestEndpoint {
        account_id: account_id.to_owned(),
        endpoint: StoredEndpoint {
            id: id.to_owned(),
            team_id: team_id.to_owned(),
            escalation_policy_id: policy,
            name: name.to_owned(),
            allowed_topic_arns: Vec::new(),
            // A heartbeat has one missed-alert at a time (the sweeper marks it); should a second firing
            // event ever arrive while it is open, it joins it.
            alert_grouping_minutes: klaxon_api::validate::MAX_ALERT_GROUPING_MINUTES,
            notification_grouping_minutes: 0,
            ingest_token: String::new(),
        },
    }
}

fn event(name: &str, id: &str, status: EventStatus, text: String) -> Event {
    let title = match status {
        EventStatus::Firing => format!("heartbeat {name} missed"),
        EventStatus::Resolved => format!("heartbeat {name} is back"),
    };
    Event {
        title,
        text,
        severity: Severity::Error,
        source: SOURCE.to_owned(),
        account: None,
        region: None,
        resource: Some(name.to_owned()),
        link: None,
        group_key: GROUP_KEY.to_owned(),
        status,
        kind: EventKind::Alert,
        fields: BTreeMap::from([("heartbeat.id".to_owned(), id.to_owned())]),
    }
}

/// `ms` (Unix milliseconds) as RFC 3339, to the second.
fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// Opens the missed-alert of every heartbeat overdue at `now_ms` (no ping for `interval + grace` policy
/// minutes of `minute_ms`), at most [`SWEEP_BATCH`] per transaction, and returns how many it opened. Each
/// heartbeat is marked missed in the transaction that opens its alert, so it gets one alert per miss, also
/// with several sweepers (replicas) at once.
pub async fn sweep(store: &Store, queue: &Queue, minute_ms: i64, now_ms: i64) -> Result<usize, AlertError> {
    let db = store.database();
    let mut opened = 0;
    loop {
        let mut tx = db.begin_write().await?;
        let rows = sqlx::query(db::alert_sql!(db, "heartbeat_claim_missed"))
            .bind(now_ms)
            .bind(minute_ms)
            .bind(SWEEP_BATCH)
            .fetch_all(&mut *tx)
            .await?;
        if rows.is_empty() {
            tx.rollback().await?;
            return Ok(opened);
        }
        let mut missed = Vec::with_capacity(rows.len());
        for r in &rows {
            let account: String = r.try_get(0)?;
            let id: String = r.try_get(1)?;
            let team: String = r.try_get(2)?;
            let policy: Option<String> = r.try_get(3)?;
            let name: String = r.try_get(4)?;
            let interval: i64 = r.try_get(5)?;
            let grace: i64 = r.try_get(6)?;
            let last: Option<i64> = r.try_get(7)?;
            let clock_from: i64 = r.try_get(8)?;
            let since = match last {
                Some(last) if last >= clock_from => format!("No ping since {}", rfc3339(last)),
                Some(last) => format!(
                    "No ping since the heartbeat was resumed at {} (the last one was at {})",
                    rfc3339(clock_from),
                    rfc3339(last)
                ),
                None => format!(
                    "No ping since the heartbeat was created or resumed at {}",
                    rfc3339(clock_from)
                ),
            };
            let text = format!("{since}: it expects one every {interval} min, with {grace} min of grace.");
            let ev = event(&name, &id, EventStatus::Firing, text);
            missed.push((as_endpoint(&account, &id, &team, policy, &name), ev));
        }
        let events: Vec<(&IngestEndpoint, &Event)> = missed.iter().map(|(ep, ev)| (ep, ev)).collect();
        let done = ingest_in(&mut tx, store, queue, &events, now_ms).await?;
        for ((ep, _), d) in missed.iter().zip(&done) {
            sqlx::query(db::alert_sql!(db, "heartbeat_set_alert"))
                .bind(&d.alert.id)
                .bind(&ep.endpoint.id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        queue.notify();
        super::ingest::count(store, &done, now_ms);
        for ((ep, _), d) in missed.iter().zip(&done) {
            tracing::info!(heartbeat = %ep.endpoint.id, alert = %d.alert.id, "Heartbeat missed: alert opened.");
        }
        opened += done.len();
        if i64::try_from(rows.len()).unwrap_or(i64::MAX) < SWEEP_BATCH {
            return Ok(opened);
        }
    }
}

/// After a ping of a missed heartbeat (`beaten.missed`): takes the miss back and closes its missed-alert
/// (auto-closed, through the same path as a recovery event). Returns the closed alert, `None` when there was
/// nothing to close (another ping took the miss back first, or people closed the alert already).
pub async fn recovered(
    store: &Store,
    queue: &Queue,
    beaten: &Beaten,
    now_ms: i64,
) -> Result<Option<Ingested>, AlertError> {
    let db = store.database();
    // Closed by people already: only the mark is taken back (a recovery with no open alert would be stored
    // as a notification, which tells nobody anything).
    let open = match &beaten.missed_alert_id {
        Some(alert) => super::get_any(store, alert)
            .await?
            .is_some_and(|a| a.status != AlertStatus::Closed),
        None => false,
    };
    let mut tx = db.begin_write().await?;
    let took = sqlx::query(db::alert_sql!(db, "heartbeat_recover"))
        .bind(&beaten.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if took == 0 || !open {
        tx.commit().await?;
        return Ok(None);
    }
    let ep = as_endpoint(
        &beaten.account_id,
        &beaten.id,
        &beaten.team_id,
        beaten.escalation_policy_id.clone(),
        &beaten.name,
    );
    let ev = event(
        &beaten.name,
        &beaten.id,
        EventStatus::Resolved,
        "A ping arrived: the heartbeat is back.".to_owned(),
    );
    let mut done = ingest_in(&mut tx, store, queue, &[(&ep, &ev)], now_ms).await?;
    tx.commit().await?;
    queue.notify();
    super::ingest::count(store, &done, now_ms);
    Ok(done.pop().filter(|d| d.action == IngestAction::Resolved))
}

/// The heartbeat `id` of `account` is being paused (`deleted` false) or deleted: nothing is expected to ping
/// it any more, so its miss is taken back and its open missed-alert closed, with a thread line saying why
/// (paging people about a heartbeat nobody runs is noise). `None` when it had no miss to take back (or does
/// not exist); else the id of the alert it closed, if the alert was still open.
///
/// Call before the delete (the heartbeat's row tells which alert). The reason line and the close are two
/// transactions: a crash between them leaves the alert open with its reason said, for people to close.
pub async fn stand_down(
    store: &Store,
    queue: &Queue,
    account: &str,
    id: &str,
    deleted: bool,
    now_ms: i64,
) -> Result<Option<Option<String>>, AlertError> {
    let db = store.database();
    let mut tx = db.begin_write().await?;
    let missed: Option<Option<String>> = sqlx::query_scalar(db::alert_sql!(db, "heartbeat_missed_alert"))
        .bind(account)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(missed) = missed else {
        tx.rollback().await?;
        return Ok(None);
    };
    sqlx::query(db::alert_sql!(db, "heartbeat_stand_down"))
        .bind(account)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let open = match &missed {
        Some(alert) => super::get_any(store, alert)
            .await?
            .is_some_and(|a| a.status != AlertStatus::Closed),
        None => false,
    };
    let (Some(alert_id), true) = (missed, open) else {
        tx.commit().await?;
        return Ok(Some(None));
    };
    let line = LogLine::HeartbeatStoodDown { deleted };
    follow_up::tell_in(&mut tx, store, queue, (account, &alert_id), Some(line), now_ms).await?;
    tx.commit().await?;
    actions::act(store, queue, account, &alert_id, Action::Close, None, now_ms).await?;
    Ok(Some(Some(alert_id)))
}

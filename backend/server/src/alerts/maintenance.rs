//! What maintenance windows do to alerts.
//!
//! - An alert that *opens* while a window covering its team or endpoint is in effect is stored, grouped and
//!   posted as usual, but *held*: it gets no escalation timer (so no DM and no `@here`/`@channel`), its
//!   history says it opened in maintenance, and its channel message carries an "in maintenance" mark. The
//!   hold lasts until the end of the window (for a recurring window, of the occurrence in effect; when
//!   several windows cover it, the one ending last).
//! - When the hold ends, the `maintenance.release` job (one per alert, due at the hold's end) releases it
//!   once: if the alert is still open and has not escalated yet, its escalation starts from the first step,
//!   and its thread says so; an alert acknowledged or closed meanwhile never escalates. The release is one
//!   transaction (the hold marked released, the first step enqueued, the history line, the Slack sync), so a
//!   crash before the commit runs it again and a crash after finds it done: at most once per alert.
//! - Changing or deleting a window re-examines the alerts it holds at once (a release job due now each): a
//!   deleted window, or one that no longer covers the alert or is no longer in effect, releases them now; a
//!   window still in effect holds them until its new end (longer or shorter).
//! - An alert that opened *before* a window started keeps escalating: a window only holds alerts that open
//!   during it (someone may already be working on it, and silencing a page midway would hide it).
//! - Events that group into an alert do not change whether it is held.

use std::collections::BTreeSet;

use klaxon_queue::{BackgroundJob as _, Dedup, NewJob, Queue};
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};

use super::{
    AlertError, AlertKind, AlertStatus, EscalateJob, LogLine, db, follow_up, grouping::Plan, log, partition,
};
use crate::{
    escalation::Position,
    store::{Store, StoredWindow, maintenance::flatten},
};

/// The end of one alert's hold: re-examines the hold and releases the alert when its window no longer holds
/// it (run by `jobs::maintenance`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseJob {
    /// The alert's account.
    pub account_id: String,
    /// The held alert.
    pub alert_id: String,
    /// When the job was meant to run (the hold's end, or the change of its window), Unix milliseconds.
    pub due_ms: i64,
}

impl ReleaseJob {
    /// The job re-examining `alert_id`'s hold at `due_ms`: in the alert's partition (ordered with its
    /// escalation steps), one per alert and due time.
    pub fn at(account_id: &str, alert_id: &str, due_ms: i64) -> Result<NewJob, klaxon_queue::Error> {
        let job = Self {
            account_id: account_id.to_owned(),
            alert_id: alert_id.to_owned(),
            due_ms,
        };
        Ok(NewJob::new(&job)?
            .tenant(account_id)
            .partition(partition(alert_id))
            .run_at_ms(due_ms)
            .dedup_with(format!("{}:{alert_id}/{due_ms}", Self::KIND), Dedup::Forever))
    }
}

/// A new alert held by a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Hold {
    account_id: String,
    alert_id: String,
    window_id: String,
    until_ms: i64,
    description: Option<String>,
}

impl Hold {
    /// The held alert.
    pub(super) fn alert_id(&self) -> &str {
        &self.alert_id
    }
}

/// Decides which alerts `plan` opens are held by a window in effect at `now_ms`, and takes their first
/// escalation timer away in the plan (call before the plan is written; then [`record_in`] after it).
pub(super) async fn holds_in(
    conn: &mut AnyConnection,
    store: &Store,
    plan: &mut Plan,
    now_ms: i64,
) -> Result<Vec<Hold>, AlertError> {
    let opened: Vec<(String, String, String, String)> = plan
        .escalate()
        .map(|a| {
            (
                a.account_id.clone(),
                a.id.clone(),
                a.team_id.clone(),
                a.endpoint_id.clone(),
            )
        })
        .collect();
    if opened.is_empty() {
        return Ok(Vec::new());
    }
    let db = store.database();
    let accounts: BTreeSet<&str> = opened.iter().map(|o| o.0.as_str()).collect();
    // Each window's end is worked out once per batch, whatever the number of alerts it holds.
    let mut in_effect: Vec<(String, StoredWindow, i64)> = Vec::new();
    for account in accounts {
        let rows = sqlx::query(db::alert_sql!(db, "maintenance_windows_in_effect"))
            .bind(account)
            .bind(now_ms)
            .fetch_all(&mut *conn)
            .await?;
        for row in &rows {
            let window = flatten(row)?;
            if let Some(until) = window.schedule().and_then(|s| s.active_until(now_ms)) {
                in_effect.push((account.to_owned(), window, until));
            }
        }
    }
    if in_effect.is_empty() {
        return Ok(Vec::new());
    }
    let mut holds = Vec::new();
    for (account, alert, team, endpoint) in opened {
        let longest = in_effect
            .iter()
            .filter(|(a, w, _)| *a == account && w.covers(&team, &endpoint))
            .max_by_key(|(_, _, until)| *until);
        if let Some((_, window, until)) = longest {
            holds.push(Hold {
                account_id: account,
                alert_id: alert,
                window_id: window.id.clone(),
                until_ms: *until,
                description: window.description.clone(),
            });
        }
    }
    let held = |id: &str| holds.iter().any(|h| h.alert_id == id);
    for a in plan.inserts.iter_mut().filter(|a| held(&a.id)) {
        a.next_escalation_at_ms = None;
    }
    for r in plan.results.iter_mut().filter(|r| held(&r.alert.id)) {
        r.alert.next_escalation_at_ms = None;
    }
    Ok(holds)
}

/// Writes the holds [`holds_in`] decided (after the alerts themselves): the hold rows, their release jobs and
/// their history lines.
pub(super) async fn record_in(
    conn: &mut AnyConnection,
    store: &Store,
    queue: &Queue,
    holds: &[Hold],
    now_ms: i64,
) -> Result<(), AlertError> {
    if holds.is_empty() {
        return Ok(());
    }
    let db = store.database();
    let mut jobs = Vec::with_capacity(holds.len());
    let mut lines = Vec::with_capacity(holds.len());
    for h in holds {
        sqlx::query(db::alert_sql!(db, "maintenance_hold_insert"))
            .bind(&h.alert_id)
            .bind(&h.account_id)
            .bind(&h.window_id)
            .bind(now_ms)
            .bind(h.until_ms)
            .execute(&mut *conn)
            .await?;
        jobs.push(ReleaseJob::at(&h.account_id, &h.alert_id, h.until_ms)?);
        lines.push((
            h.alert_id.as_str(),
            LogLine::MaintenanceHeld {
                window_id: h.window_id.clone(),
                until_ms: h.until_ms,
                description: h.description.clone(),
            },
        ));
    }
    queue.enqueue_many_in(conn, &jobs).await?;
    log::append_in(conn, db, &lines, now_ms).await
}

/// Re-examines at once every alert window `window_id` holds, after the window changed or was deleted
/// (inside that change's transaction).
pub async fn window_changed_in(
    conn: &mut AnyConnection,
    store: &Store,
    queue: &Queue,
    window_id: &str,
    now_ms: i64,
) -> Result<usize, AlertError> {
    let db = store.database();
    let rows = sqlx::query(db::alert_sql!(db, "maintenance_holds_of_window"))
        .bind(window_id)
        .fetch_all(&mut *conn)
        .await?;
    let jobs = rows
        .iter()
        .map(|r| {
            let alert: String = r.try_get(0)?;
            let account: String = r.try_get(1)?;
            Ok(ReleaseJob::at(&account, &alert, now_ms)?)
        })
        .collect::<Result<Vec<_>, AlertError>>()?;
    queue.enqueue_many_in(conn, &jobs).await?;
    Ok(jobs.len())
}

/// What re-examining a hold did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// No hold of this alert, or it was released before: nothing to do.
    Done,
    /// The window still holds the alert, until then (Unix milliseconds).
    Held(i64),
    /// Released now; `escalates` when its escalation started from the first step.
    Released {
        /// The alert was still open and had not escalated: its first step is due now.
        escalates: bool,
    },
}

/// An alert's unreleased hold, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The window holding it.
    pub window_id: String,
    /// When the hold ends, Unix milliseconds.
    pub until_ms: i64,
}

/// The unreleased holds of `ids` (alerts of `account`), keyed by alert id; alerts not held are missing.
pub async fn holds_of(
    store: &Store,
    account: &str,
    ids: &[&str],
) -> Result<std::collections::HashMap<String, Held>, AlertError> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let db = store.database();
    let rows = sqlx::query(db::alert_sql!(db, "maintenance_holds_of_alerts"))
        .bind(account)
        .bind(serde_json::to_string(ids)?)
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get("alert_id")?,
                Held {
                    window_id: row.try_get("window_id")?,
                    until_ms: row.try_get("until_ms")?,
                },
            ))
        })
        .collect()
}

/// Re-examines `alert_id`'s hold at the queue's now: still held (its window still in effect and covering
/// it: the hold follows the window's current end), or released once, in one transaction.
pub async fn release(store: &Store, queue: &Queue, alert_id: &str) -> Result<Release, AlertError> {
    let db = store.database();
    let now = queue.now_ms();
    let mut tx = db.begin_write().await?;
    let Some(hold) = sqlx::query(db::alert_sql!(db, "maintenance_hold_get"))
        .bind(alert_id)
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Ok(Release::Done);
    };
    let account: String = hold.try_get(1)?;
    let window_id: String = hold.try_get(2)?;
    let until: i64 = hold.try_get(4)?;
    let released: Option<i64> = hold.try_get(5)?;
    let team: String = hold.try_get(6)?;
    let endpoint: String = hold.try_get(7)?;
    if released.is_some() {
        return Ok(Release::Done);
    }
    let window = sqlx::query(db::alert_sql!(db, "maintenance_window_get_any"))
        .bind(&window_id)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(flatten)
        .transpose()?;
    let still = window
        .filter(|w| w.covers(&team, &endpoint))
        .and_then(|w| w.schedule())
        .and_then(|s| s.active_until(now));
    if let Some(end) = still {
        if end != until {
            sqlx::query(db::alert_sql!(db, "maintenance_hold_extend"))
                .bind(alert_id)
                .bind(end)
                .execute(&mut *tx)
                .await?;
            queue
                .enqueue_many_in(&mut tx, &[ReleaseJob::at(&account, alert_id, end)?])
                .await?;
            tx.commit().await?;
        }
        return Ok(Release::Held(end));
    }
    let claimed = sqlx::query(db::alert_sql!(db, "maintenance_hold_release"))
        .bind(alert_id)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
    if claimed.is_none() {
        return Ok(Release::Done);
    }
    let alert = sqlx::query(db::alert_sql!(db, "maintenance_alert_release"))
        .bind(alert_id)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
    let escalates = match &alert {
        Some(row) => {
            let status: String = row.try_get(0)?;
            let kind: String = row.try_get(1)?;
            let round: i64 = row.try_get(2)?;
            let step: i64 = row.try_get(3)?;
            let delivering: Option<String> = row.try_get(4)?;
            status == AlertStatus::Open.as_str()
                && kind == AlertKind::Alert.as_str()
                && round == 0
                && step == 0
                && delivering.is_none()
        }
        None => false,
    };
    if escalates {
        queue
            .enqueue_many_in(
                &mut tx,
                &[EscalateJob::timer(&account, alert_id, Position::START, now)?],
            )
            .await?;
    }
    if alert.is_some() {
        let line = LogLine::MaintenanceEnded { escalates };
        follow_up::tell_in(&mut tx, store, queue, (&account, alert_id), Some(line), now).await?;
    }
    tx.commit().await?;
    if escalates {
        queue.notify();
    }
    Ok(Release::Released { escalates })
}

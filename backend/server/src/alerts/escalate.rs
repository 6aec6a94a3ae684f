//! One escalation step of one alert, with the I/O around the engine's decision.
//!
//! A step is delivered in two phases so that a crash at any point neither loses nor repeats it:
//! 1. one transaction checks the alert is open and still at this step, asks the engine whom to notify,
//!    records that notification as *being delivered* (with the members notified and the team's rotation);
//! 2. the notifier delivers it;
//! 3. a second transaction moves the alert to the next step and enqueues that step's timer.
//!
//! A retry that finds the notification recorded as being delivered does not decide again: it asks the notifier
//! whether the delivery happened and sends only if it did not. A timer whose alert was acknowledged, closed or
//! moved on meanwhile does nothing.

use std::collections::BTreeSet;

use klaxon_api::Notify;
use klaxon_queue::JobError;
use sqlx::Row;

use super::{AlertError, AlertStatus, StoredAlert, db};
use crate::{
    escalation::{self, Position, Roster},
    jobs::{EscalateJob, JobContext},
    notify::{Notification, NotifyError},
};

/// What a step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// The step's notification was delivered (now or by an earlier attempt).
    Notified(Box<Notification>),
    /// The alert is gone, not open, or past this step: nothing to do.
    Stale,
}

/// Why a step failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// Reading or writing the alert failed.
    #[error(transparent)]
    Alert(#[from] AlertError),
    /// The directory or the notifier failed.
    #[error("notification failed: {0}")]
    Notify(#[from] NotifyError),
}

impl From<sqlx::Error> for StepError {
    fn from(e: sqlx::Error) -> Self {
        Self::Alert(e.into())
    }
}

impl From<klaxon_queue::Error> for StepError {
    fn from(e: klaxon_queue::Error) -> Self {
        Self::Alert(e.into())
    }
}

impl StepError {
    /// How the job reports it: only a permanent notifier failure is fatal.
    pub fn into_job_error(self) -> JobError {
        match self {
            Self::Notify(NotifyError::Permanent(m)) => JobError::fatal(m),
            e => JobError::retryable(e),
        }
    }
}

/// Runs step `pos` of alert `alert_id` (see the module docs).
pub async fn run_step(ctx: &JobContext, alert_id: &str, pos: Position) -> Result<StepOutcome, StepError> {
    let db = ctx.store.database();
    let Some(alert) = db::get_any(db, alert_id).await? else {
        return Ok(StepOutcome::Stale);
    };
    if alert.status != AlertStatus::Open || alert.position != pos {
        return Ok(StepOutcome::Stale);
    }
    let key = delivery_key(alert_id, pos);
    let notification = match alert.delivering.clone() {
        // An earlier attempt decided and may have delivered: deliver only if it did not.
        Some(n) if n.key == key => {
            if !ctx.notifier.was_delivered(&n).await? {
                ctx.notifier.deliver(&n).await?;
            }
            n
        }
        _ => match begin(ctx, &alert, pos, key).await? {
            Some(n) => {
                ctx.notifier.deliver(&n).await?;
                n
            }
            None => return Ok(StepOutcome::Stale),
        },
    };
    finish(ctx, &alert, pos).await?;
    Ok(StepOutcome::Notified(Box::new(notification)))
}

/// The identity of step `pos`'s delivery.
fn delivery_key(alert_id: &str, pos: Position) -> String {
    format!("{alert_id}/{}/{}", pos.round, pos.step)
}

/// Phase 1: decides the step and records it as being delivered; `None` when the step no longer applies.
///
/// Most steps decide from the alert as read and record the decision with one conditional write, which
/// applies only while the alert is still open, at this step, with no delivery begun: nothing that the
/// decision read can have changed unless that write then matches nothing. A `next_member` step also reads and
/// advances its team's rotation, shared by every alert of the team, so it locks the alert first and does
/// all of it in one transaction.
async fn begin(
    ctx: &JobContext,
    alert: &StoredAlert,
    pos: Position,
    key: String,
) -> Result<Option<Notification>, StepError> {
    let Some(step) = alert.policy.step(pos) else {
        return Ok(None);
    };
    // Directory calls (Slack) happen before any write, so no lock waits on the network.
    let roster = roster(ctx, alert, step.notify).await?;
    let db = ctx.store.database();
    let now = ctx.queue.now_ms();
    if step.notify != Notify::NextMember {
        let Some((notification, notified, _)) = decide(alert, pos, &roster, 0, key, now) else {
            return Ok(None);
        };
        let mut conn = db.pool.acquire().await?;
        let recorded = record_begin(db, &mut conn, &alert.id, pos, &notification, &notified, now).await?;
        // Not recorded: acknowledged, closed, passed or taken by another attempt meanwhile.
        return Ok(recorded.then_some(notification));
    }

    let mut tx = db.pool.begin().await?;
    let claimed = db::fetch_alert(
        &mut tx,
        sqlx::query(db::alert_sql!(db, "alert_esc_claim"))
            .bind(&alert.id)
            .bind(i64::from(pos.round))
            .bind(i64::from(pos.step))
            .bind(now),
    )
    .await?;
    let Some(alert) = claimed else {
        return Ok(None); // acknowledged, closed, passed or taken by another attempt meanwhile
    };
    let rotation = sqlx::query(db::alert_sql!(db, "rotation_get"))
        .bind(&alert.team_id)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.try_get::<i64, _>(0))
        .transpose()?
        .map_or(0, |i| u64::try_from(i).unwrap_or(0));
    let Some((notification, notified, next_rotation)) = decide(&alert, pos, &roster, rotation, key, now)
    else {
        return Ok(None);
    };
    if !record_begin(db, &mut tx, &alert.id, pos, &notification, &notified, now).await? {
        return Ok(None);
    }
    if let Some(next) = next_rotation {
        sqlx::query(db::alert_sql!(db, "rotation_set"))
            .bind(&alert.team_id)
            .bind(i64::try_from(next).unwrap_or(0))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(Some(notification))
}

/// Records `notification` as being delivered for step `pos` of alert `alert_id`, with the members notified once
/// it is sent; false when the alert is no longer open at that step with no delivery begun.
async fn record_begin(
    db: &klaxon_db::Database,
    conn: &mut sqlx::AnyConnection,
    alert_id: &str,
    pos: Position,
    notification: &Notification,
    notified: &[String],
    now: i64,
) -> Result<bool, StepError> {
    let done = sqlx::query(db::alert_sql!(db, "alert_esc_begin"))
        .bind(alert_id)
        .bind(serde_json::to_string(notification).map_err(AlertError::from)?)
        .bind(serde_json::to_string(notified).map_err(AlertError::from)?)
        .bind(i64::from(pos.round))
        .bind(i64::from(pos.step))
        .bind(now)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The engine's decision for step `pos` as a notification, the members notified once it is sent, and the
/// team's next rotation index; `None` when nobody is left to notify.
fn decide(
    alert: &StoredAlert,
    pos: Position,
    roster: &Roster,
    rotation: u64,
    key: String,
    now: i64,
) -> Option<(Notification, Vec<String>, Option<u64>)> {
    let decision = escalation::decide(
        &alert.policy,
        pos,
        roster,
        &alert.notified,
        rotation,
        &mut rand::rng(),
    )?;
    let notification = Notification {
        key,
        account_id: alert.account_id.clone(),
        alert_id: alert.id.clone(),
        team_id: alert.team_id.clone(),
        round: pos.round,
        step: pos.step,
        notify: decision.notify,
        target: decision.target,
        fallback: decision.fallback,
        title: alert.title.clone(),
        severity: alert.severity.clone(),
        at_ms: now,
    };
    let mut notified = alert.notified.clone();
    notified.extend(decision.newly_notified);
    Some((notification, notified, decision.rotation))
}

/// Phase 3: moves the alert past step `pos` and, while it is open, enqueues the next step's timer.
async fn finish(ctx: &JobContext, alert: &StoredAlert, pos: Position) -> Result<(), StepError> {
    let db = ctx.store.database();
    let now = ctx.queue.now_ms();
    let next = alert.policy.next(pos);
    let (to, due) = match next {
        Some((to, minutes)) => (to, Some(now.saturating_add(ctx.engine.minutes_ms(minutes)))),
        None => (alert.policy.ended(pos), None),
    };
    let mut tx = db.pool.begin().await?;
    let status: Option<String> = sqlx::query(db::alert_sql!(db, "alert_esc_finish"))
        .bind(&alert.id)
        .bind(i64::from(pos.round))
        .bind(i64::from(pos.step))
        .bind(i64::from(to.round))
        .bind(i64::from(to.step))
        .bind(due)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.try_get(0))
        .transpose()?;
    // An action that committed first wins: no timer for an alert that is no longer open. One committing
    // after us cancels the timer we enqueue here.
    let enqueued = match (status.as_deref(), due) {
        (Some("open"), Some(due)) => {
            let job = EscalateJob::timer(&alert.account_id, &alert.id, to, due)?;
            ctx.queue.enqueue_in(&mut tx, job).await?;
            true
        }
        _ => false,
    };
    tx.commit().await?;
    if enqueued {
        ctx.queue.notify();
    }
    Ok(())
}

/// The members a member step chooses from, and which of them are inactive (asked only when it matters).
async fn roster(ctx: &JobContext, alert: &StoredAlert, notify: Notify) -> Result<Roster, StepError> {
    let team = match ctx.store.get_team(&alert.account_id, &alert.team_id).await {
        Ok(team) => Some(team),
        Err(crate::store::StoreError::NotFound) => None,
        Err(e) => return Err(AlertError::from(e).into()),
    };
    let channel = team.as_ref().map(|t| t.slack_channel.clone());
    let mut roster = Roster {
        members: team.map(|t| t.members).unwrap_or_default(),
        inactive: BTreeSet::new(),
        channel,
    };
    if !matches!(notify, Notify::RandomMember | Notify::NextMember) {
        return Ok(roster);
    }
    if roster.members.is_empty()
        && let Some(channel) = &roster.channel
    {
        roster.members = ctx.directory.channel_members(&alert.account_id, channel).await?;
    }
    if alert.policy.skip_inactive {
        for member in &roster.members {
            if notify == Notify::RandomMember && alert.notified.contains(member) {
                continue; // will not be chosen anyway
            }
            if !ctx.directory.is_active(&alert.account_id, member).await? {
                roster.inactive.insert(member.clone());
            }
        }
    }
    Ok(roster)
}

//! One escalation step of one alert, with the I/O around the engine's decision.
//!
//! A step is delivered in two phases so that a crash at any point neither loses nor repeats it:
//! 1. one transaction checks the alert is open and still at this step, asks the engine whom to notify,
//!    records that notification as *being delivered* (with the members notified and the team's rotation);
//! 2. the notifier delivers it;
//! 3. a second transaction moves the alert to the next step and enqueues that step's timer.
//!
//! [`run_steps`] does the same for many alerts at once, each phase one statement for the batch.
//!
//! A retry that finds the notification recorded as being delivered does not decide again: it asks the notifier
//! whether the delivery happened and sends only if it did not. A timer whose alert was acknowledged, closed or
//! moved on meanwhile does nothing.

use std::collections::{BTreeSet, HashMap, HashSet};

use klaxon_api::{Notify, Team};
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
    /// A statement shared by a batch of steps failed (each step of the batch reports it).
    #[error("{0}")]
    Batch(String),
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
    finish(ctx, &[(&alert, pos)]).await?;
    Ok(StepOutcome::Notified(Box::new(notification)))
}

/// [`run_step`] for many steps of different alerts at once (a burst of new alerts), in a fixed number of
/// statements: one read of the alerts, one write recording every step's delivery as begun, the deliveries
/// (concurrently), then one transaction moving the delivered alerts on and enqueueing their next timers. The
/// phases and their guarantees are [`run_step`]'s. A step that needs more than that (a retry of a delivery
/// already begun, a `next_member` step, which shares its team's rotation) runs through [`run_step`]. Returns
/// one outcome per step, in order.
pub async fn run_steps(ctx: &JobContext, steps: &[(&str, Position)]) -> Vec<Result<StepOutcome, StepError>> {
    if let [(alert_id, pos)] = steps {
        return vec![run_step(ctx, alert_id, *pos).await];
    }
    let mut outcomes: Vec<Option<Result<StepOutcome, StepError>>> = steps.iter().map(|_| None).collect();
    let ids: Vec<&str> = steps.iter().map(|(id, _)| *id).collect();
    let alerts = match db::get_many(ctx.store.database(), &ids).await {
        Ok(alerts) => alerts,
        Err(e) => {
            return steps
                .iter()
                .map(|_| Err(StepError::Batch(e.to_string())))
                .collect();
        }
    };

    // Phase 1: decide each simple step; the rest go alone. Teams are read once per batch; the directory
    // (Slack: channel members, presence) is asked for every step at once.
    let mut teams: HashMap<(String, String), Option<Team>> = HashMap::new();
    let mut simple = Vec::new();
    let mut alone = Vec::new();
    let now = ctx.queue.now_ms();
    for (i, (alert_id, pos)) in steps.iter().enumerate() {
        let Some(alert) = alerts.get(*alert_id) else {
            outcomes[i] = Some(Ok(StepOutcome::Stale));
            continue;
        };
        if alert.status != AlertStatus::Open || alert.position != *pos {
            outcomes[i] = Some(Ok(StepOutcome::Stale));
            continue;
        }
        let Some(step) = alert.policy.step(*pos) else {
            outcomes[i] = Some(Ok(StepOutcome::Stale));
            continue;
        };
        if alert.delivering.is_some() || step.notify == Notify::NextMember {
            alone.push(i);
            continue;
        }
        let key = (alert.account_id.clone(), alert.team_id.clone());
        let team = match teams.get(&key) {
            Some(team) => team.clone(),
            None => match team_of(ctx, alert).await {
                Ok(team) => teams.entry(key).or_insert(team).clone(),
                Err(e) => {
                    outcomes[i] = Some(Err(e));
                    continue;
                }
            },
        };
        simple.push((i, alert, *pos, step.notify, team));
    }
    let rosters = futures::future::join_all(
        simple
            .iter()
            .map(|(_, alert, _, notify, team)| roster_of(ctx, alert, team.as_ref(), *notify)),
    )
    .await;
    let mut begun = Vec::new();
    for ((i, alert, pos, _, _), roster) in simple.into_iter().zip(rosters) {
        let roster = match roster {
            Ok(roster) => roster,
            Err(e) => {
                outcomes[i] = Some(Err(e));
                continue;
            }
        };
        match decide(alert, pos, &roster, 0, delivery_key(&alert.id, pos), now) {
            Some((notification, notified, _)) => begun.push((i, alert, pos, notification, notified)),
            None => outcomes[i] = Some(Ok(StepOutcome::Stale)),
        }
    }
    let rows: Vec<_> = begun
        .iter()
        .map(|(_, alert, pos, n, notified)| (alert.id.as_str(), *pos, n, notified.as_slice()))
        .collect();
    let db = ctx.store.database();
    let recorded = match record_begin(db, &db.pool, &rows, now).await {
        Ok(recorded) => recorded,
        Err(e) => {
            for (i, ..) in &begun {
                outcomes[*i] = Some(Err(StepError::Batch(e.to_string())));
            }
            HashSet::new()
        }
    };

    // Phase 2: deliver what was recorded; a step not recorded was acted on meanwhile.
    let mut delivering = Vec::new();
    for (i, alert, pos, notification, _) in begun {
        if outcomes[i].is_some() {
            continue;
        }
        if recorded.contains(alert.id.as_str()) {
            delivering.push((i, alert, pos, notification));
        } else {
            outcomes[i] = Some(Ok(StepOutcome::Stale));
        }
    }
    let sent = futures::future::join_all(delivering.iter().map(|(_, _, _, n)| ctx.notifier.deliver(n))).await;
    let mut delivered = Vec::new();
    for ((i, alert, pos, notification), sent) in delivering.into_iter().zip(sent) {
        match sent {
            Ok(()) => delivered.push((i, alert, pos, notification)),
            Err(e) => outcomes[i] = Some(Err(e.into())),
        }
    }

    // Phase 3: move the delivered alerts on, together.
    let moving: Vec<(&StoredAlert, Position)> = delivered.iter().map(|(_, a, pos, _)| (*a, *pos)).collect();
    let finished = finish(ctx, &moving).await;
    for (i, _, _, notification) in delivered {
        outcomes[i] = Some(match &finished {
            Ok(()) => Ok(StepOutcome::Notified(Box::new(notification))),
            Err(e) => Err(StepError::Batch(e.to_string())),
        });
    }

    for i in alone {
        let (alert_id, pos) = steps[i];
        outcomes[i] = Some(run_step(ctx, alert_id, pos).await);
    }
    outcomes
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Err(StepError::Batch("step left undecided".into()))))
        .collect()
}

/// Records each `(alert id, step, notification, members notified once it is sent)` as being delivered, in
/// one statement; returns the ids recorded. An alert no longer open at that step with no delivery begun
/// (acknowledged, closed, passed or taken by another attempt meanwhile) is not.
async fn record_begin<'c>(
    db: &klaxon_db::Database,
    on: impl sqlx::Executor<'c, Database = sqlx::Any>,
    begun: &[(&str, Position, &Notification, &[String])],
    now: i64,
) -> Result<HashSet<String>, StepError> {
    if begun.is_empty() {
        return Ok(HashSet::new());
    }
    let rows = begun
        .iter()
        .map(|(id, pos, notification, notified)| {
            Ok(serde_json::json!({
                "id": id,
                "delivering": serde_json::to_string(notification)?,
                "notified": serde_json::to_string(notified)?,
                "round": pos.round,
                "step": pos.step,
            }))
        })
        .collect::<Result<Vec<_>, serde_json::Error>>()
        .map_err(AlertError::from)?;
    let rows = db
        .batch_query(db::alert_sql!(db, "alert_esc_begin_many"))
        .bind(serde_json::Value::Array(rows).to_string())
        .bind(now)
        .fetch_all(on)
        .await?;
    rows.iter()
        .map(|r| r.try_get::<String, _>(0).map_err(StepError::from))
        .collect()
}

/// Phase 3: moves each alert past its step and, while it is open, enqueues the next step's timer, in one
/// transaction.
async fn finish(ctx: &JobContext, steps: &[(&StoredAlert, Position)]) -> Result<(), StepError> {
    if steps.is_empty() {
        return Ok(());
    }
    let db = ctx.store.database();
    let now = ctx.queue.now_ms();
    let mut next = HashMap::new();
    let mut rows = Vec::with_capacity(steps.len());
    for (alert, pos) in steps {
        let (to, due) = match alert.policy.next(*pos) {
            Some((to, minutes)) => (to, Some(now.saturating_add(ctx.engine.minutes_ms(minutes)))),
            None => (alert.policy.ended(*pos), None),
        };
        rows.push(serde_json::json!({
            "id": alert.id, "round": pos.round, "step": pos.step,
            "to_round": to.round, "to_step": to.step, "due": due,
        }));
        next.insert(alert.id.as_str(), (*alert, to, due));
    }
    let mut tx = db.begin_write().await?;
    let moved = db
        .batch_query(db::alert_sql!(db, "alert_esc_finish_many"))
        .bind(serde_json::Value::Array(rows).to_string())
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
    // An action that committed first wins: no timer for an alert that is no longer open. One committing
    // after us cancels the timer we enqueue here.
    let mut timers = Vec::new();
    for row in &moved {
        let id: String = row.try_get(0)?;
        let status: String = row.try_get(1)?;
        if let (Some((alert, to, Some(due))), "open") = (next.get(id.as_str()), status.as_str()) {
            timers.push(EscalateJob::timer(&alert.account_id, &alert.id, *to, *due)?);
        }
    }
    ctx.queue.enqueue_many_in(&mut tx, &timers).await?;
    tx.commit().await?;
    if !timers.is_empty() {
        ctx.queue.notify();
    }
    Ok(())
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
        let recorded = record_begin(db, &db.pool, &[(&alert.id, pos, &notification, &notified)], now).await?;
        // Not recorded: acknowledged, closed, passed or taken by another attempt meanwhile.
        return Ok((!recorded.is_empty()).then_some(notification));
    }

    let mut tx = db.begin_write().await?;
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
    if record_begin(db, &mut *tx, &[(&alert.id, pos, &notification, &notified)], now)
        .await?
        .is_empty()
    {
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

/// The members a member step chooses from, and which of them are inactive (asked only when it matters).
async fn roster(ctx: &JobContext, alert: &StoredAlert, notify: Notify) -> Result<Roster, StepError> {
    let team = team_of(ctx, alert).await?;
    roster_of(ctx, alert, team.as_ref(), notify).await
}

/// The alert's team; `None` when it was deleted meanwhile (the step then notifies nobody it cannot find).
async fn team_of(ctx: &JobContext, alert: &StoredAlert) -> Result<Option<Team>, StepError> {
    match ctx.store.get_team(&alert.account_id, &alert.team_id).await {
        Ok(team) => Ok(Some(team)),
        Err(crate::store::StoreError::NotFound) => Ok(None),
        Err(e) => Err(AlertError::from(e).into()),
    }
}

/// [`roster`] with the team already read.
async fn roster_of(
    ctx: &JobContext,
    alert: &StoredAlert,
    team: Option<&Team>,
    notify: Notify,
) -> Result<Roster, StepError> {
    let mut roster = Roster {
        members: team.map(|t| t.members.clone()).unwrap_or_default(),
        inactive: BTreeSet::new(),
        channel: team.map(|t| t.slack_channel.clone()),
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

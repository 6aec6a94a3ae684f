//! One escalation step of one alert, with the I/O around the engine's decision.
//!
//! A step is delivered in two phases so that a crash at any point neither loses nor repeats it:
//! 1. one transaction checks the alert is open and still at this step, asks the engine whom to notify,
//!    records that notification as *being delivered* (with the members notified and the team's rotation);
//! 2. the notifier delivers it;
//! 3. a second transaction moves the alert to the next step, enqueues that step's timer, and writes what the
//!    step did to the alert's history (told in its Slack thread).
//!
//! [`run_steps`] does the same for many alerts at once, each phase one statement for the batch.
//!
//! A retry that finds the notification recorded as being delivered does not decide again: it asks the notifier
//! whether the delivery happened and sends only if it did not. A timer whose alert was acknowledged, closed or
//! moved on meanwhile does nothing.
//!
//! Escalation never stops in silence: a person who cannot be reached (a deactivated user, a refused DM) is
//! written in the history and the next step runs at once; a workspace that cannot be used (a revoked token)
//! skips the delivery, says so, and the chain goes on by its schedule; a transient failure is retried.
//! Presence and Do Not Disturb are asked only of the member about to be chosen, one at a time.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use klaxon_api::{Notify, Team};
use klaxon_queue::{JobError, Queue};
use sqlx::Row;

use super::{AlertError, AlertStatus, EscalateJob, LogLine, StoredAlert, db, follow_up, log};
use crate::{
    escalation::{self, EngineConfig, Position, Roster, Target},
    notify::{Directory, Notification, Notifier, NotifyError},
    store::Store,
};

/// What a step needs: the store and queue, the engine's settings, and whom it asks and tells.
#[derive(Debug, Clone)]
pub struct Deps {
    /// The database.
    pub store: Store,
    /// The queue (the next step's timer, the message sync).
    pub queue: Queue,
    /// The length of a policy minute.
    pub engine: EngineConfig,
    /// Who is in a channel and who is around.
    pub directory: Arc<dyn Directory>,
    /// Where notifications go.
    pub notifier: Arc<dyn Notifier>,
}

/// What a step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// The step's notification was delivered (now or by an earlier attempt).
    Notified(Box<Notification>),
    /// The step could not reach its person or channel, or the workspace could not be used; the history says
    /// why and the chain went on.
    NotReached(Box<Notification>, String),
    /// The alert is gone, not open, or past this step: nothing to do.
    Stale,
}

/// Why a step failed (and will be retried).
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// Reading or writing the alert failed.
    #[error(transparent)]
    Alert(#[from] AlertError),
    /// The directory or the notifier failed for a reason that may pass.
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
    /// How the job reports it: every failure left here may pass, so it is retried (a Slack `Retry-After`
    /// steering the wait).
    pub fn into_job_error(self) -> JobError {
        match self {
            Self::Notify(NotifyError::RetryAfter(m, after)) => JobError::retry_after(m, after),
            e => JobError::retryable(e),
        }
    }
}

/// How a delivery ended, when it did not fail for a reason that may pass.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Delivery {
    /// Sent.
    Sent,
    /// The person or channel cannot be reached: the next step runs at once.
    NotReached(String),
    /// The workspace cannot be used: skipped, and the chain keeps its schedule.
    Skipped(String),
}

/// Delivers `n` unless an earlier attempt did (`retry`), sorting out what failed for good.
async fn deliver(deps: &Deps, n: &Notification, retry: bool) -> Result<Delivery, StepError> {
    if retry && deps.notifier.was_delivered(n).await? {
        return Ok(Delivery::Sent);
    }
    match deps.notifier.deliver(n).await {
        Ok(()) => Ok(Delivery::Sent),
        Err(NotifyError::Permanent(reason)) => Ok(Delivery::NotReached(reason)),
        Err(NotifyError::Workspace(reason)) => Ok(Delivery::Skipped(reason)),
        Err(e) => Err(e.into()),
    }
}

/// Runs step `pos` of alert `alert_id` (see the module docs).
pub async fn run_step(deps: &Deps, alert_id: &str, pos: Position) -> Result<StepOutcome, StepError> {
    let db = deps.store.database();
    let Some(alert) = db::get_any(db, alert_id).await? else {
        return Ok(StepOutcome::Stale);
    };
    if alert.status != AlertStatus::Open || alert.position != pos {
        return Ok(StepOutcome::Stale);
    }
    let key = delivery_key(alert_id, pos);
    let (notification, delivery) = match alert.delivering.clone() {
        // An earlier attempt decided and may have delivered: deliver only if it did not.
        Some(n) if n.key == key => {
            let d = deliver(deps, &n, true).await?;
            (n, d)
        }
        _ => match begin(deps, &alert, pos, key).await? {
            Some(n) => {
                let d = deliver(deps, &n, false).await?;
                (n, d)
            }
            None => return Ok(StepOutcome::Stale),
        },
    };
    finish(deps, &[(&alert, pos, &notification, &delivery)]).await?;
    Ok(outcome(notification, delivery))
}

fn outcome(n: Notification, d: Delivery) -> StepOutcome {
    match d {
        Delivery::Sent => StepOutcome::Notified(Box::new(n)),
        Delivery::NotReached(reason) | Delivery::Skipped(reason) => {
            StepOutcome::NotReached(Box::new(n), reason)
        }
    }
}

/// [`run_step`] for many steps of different alerts at once (a burst of new alerts), in a fixed number of
/// statements: one read of the alerts, one write recording every step's delivery as begun, the deliveries
/// (concurrently), then one transaction moving the delivered alerts on and enqueueing their next timers. The
/// phases and their guarantees are [`run_step`]'s. A step that needs more than that (a retry of a delivery
/// already begun, a `next_member` step, which shares its team's rotation) runs through [`run_step`]. Returns
/// one outcome per step, in order.
pub async fn run_steps(deps: &Deps, steps: &[(&str, Position)]) -> Vec<Result<StepOutcome, StepError>> {
    if let [(alert_id, pos)] = steps {
        return vec![run_step(deps, alert_id, *pos).await];
    }
    let mut outcomes: Vec<Option<Result<StepOutcome, StepError>>> = steps.iter().map(|_| None).collect();
    let ids: Vec<&str> = steps.iter().map(|(id, _)| *id).collect();
    let alerts = match db::get_many(deps.store.database(), &ids).await {
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
    let now = deps.queue.now_ms();
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
            None => match team_of(deps, alert).await {
                Ok(team) => teams.entry(key).or_insert(team).clone(),
                Err(e) => {
                    outcomes[i] = Some(Err(e));
                    continue;
                }
            },
        };
        simple.push((i, alert, *pos, team));
    }
    let decided = futures::future::join_all(simple.iter().map(|(_, alert, pos, team)| async {
        let roster = roster_of(deps, alert, team.as_ref(), *pos).await?;
        decide_reachable(deps, alert, *pos, roster, 0, delivery_key(&alert.id, *pos), now).await
    }))
    .await;
    let mut begun = Vec::new();
    for ((i, alert, pos, _), decided) in simple.into_iter().zip(decided) {
        match decided {
            Ok(Some((notification, notified, _))) => begun.push((i, alert, pos, notification, notified)),
            Ok(None) => outcomes[i] = Some(Ok(StepOutcome::Stale)),
            Err(e) => outcomes[i] = Some(Err(e)),
        }
    }
    let rows: Vec<_> = begun
        .iter()
        .map(|(_, alert, pos, n, notified)| (alert.id.as_str(), *pos, n, notified.as_slice()))
        .collect();
    let db = deps.store.database();
    let written = async {
        let mut conn = db.acquire_write().await?;
        record_begin(db, &mut *conn, &rows, now).await
    };
    let recorded = match written.await {
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
    let sent = futures::future::join_all(delivering.iter().map(|(_, _, _, n)| deliver(deps, n, false))).await;
    let mut delivered = Vec::new();
    for ((i, alert, pos, notification), sent) in delivering.into_iter().zip(sent) {
        match sent {
            Ok(d) => delivered.push((i, alert, pos, notification, d)),
            Err(e) => outcomes[i] = Some(Err(e)),
        }
    }

    // Phase 3: move the delivered alerts on, together.
    let moving: Vec<_> = delivered
        .iter()
        .map(|(_, a, pos, n, d)| (*a, *pos, n, d))
        .collect();
    let finished = finish(deps, &moving).await;
    for (i, _, _, notification, d) in delivered {
        outcomes[i] = Some(match &finished {
            Ok(()) => Ok(outcome(notification, d)),
            Err(e) => Err(StepError::Batch(e.to_string())),
        });
    }

    for i in alone {
        let (alert_id, pos) = steps[i];
        outcomes[i] = Some(run_step(deps, alert_id, pos).await);
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

/// Phase 3: moves each alert past its step and, while it is open, enqueues the next step's timer (due at
/// once when the step reached nobody), writes what the step did to the alert's history, and enqueues the
/// sync of its Slack messages, in one transaction.
async fn finish(
    deps: &Deps,
    steps: &[(&StoredAlert, Position, &Notification, &Delivery)],
) -> Result<(), StepError> {
    if steps.is_empty() {
        return Ok(());
    }
    let db = deps.store.database();
    let now = deps.queue.now_ms();
    let mut next = HashMap::new();
    let mut rows = Vec::with_capacity(steps.len());
    let mut lines = Vec::with_capacity(steps.len());
    for (alert, pos, n, delivery) in steps {
        let (to, due) = match alert.policy.next(*pos) {
            // Nobody was reached: the next step should not wait for an answer that cannot come.
            Some((to, _)) if matches!(delivery, Delivery::NotReached(_)) => (to, Some(now)),
            Some((to, minutes)) => (to, Some(now.saturating_add(deps.engine.minutes_ms(minutes)))),
            None => (alert.policy.ended(*pos), None),
        };
        let (line, problem) = history(n, delivery);
        rows.push(serde_json::json!({
            "id": alert.id, "round": pos.round, "step": pos.step,
            "to_round": to.round, "to_step": to.step, "due": due, "problem": problem,
        }));
        if let Some(line) = line {
            lines.push((alert.id.as_str(), line));
        }
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
    let mut touched = Vec::new();
    for row in &moved {
        let id: String = row.try_get(0)?;
        let status: String = row.try_get(1)?;
        if let Some((alert, to, due)) = next.get(id.as_str()) {
            touched.push((alert.account_id.as_str(), alert.id.as_str()));
            if let (Some(due), "open") = (due, status.as_str()) {
                timers.push(EscalateJob::timer(&alert.account_id, &alert.id, *to, *due)?);
            }
        }
    }
    let moved_ids: HashSet<&str> = touched.iter().map(|(_, id)| *id).collect();
    lines.retain(|(id, _)| moved_ids.contains(id));
    deps.queue.enqueue_many_in(&mut tx, &timers).await?;
    log::append_in(&mut tx, db, &lines, now).await?;
    follow_up::sync_in(&mut tx, &deps.store, &deps.queue, touched).await?;
    tx.commit().await?;
    if !timers.is_empty() {
        deps.queue.notify();
    }
    for (alert, pos, _, _) in steps {
        if moved_ids.contains(alert.id.as_str())
            && let Some(step) = alert.policy.step(*pos)
        {
            deps.store.metrics().escalation(step.notify.as_str());
        }
    }
    Ok(())
}

/// The history line of a step and the alert's problem after it (`None`: someone was reached).
fn history(n: &Notification, delivery: &Delivery) -> (Option<LogLine>, Option<String>) {
    let (round, step) = (n.round, n.step);
    let who = match &n.target {
        Target::User { user } => user.clone(),
        Target::Channel { channel, .. } => channel.clone().unwrap_or_else(|| "the team's channel".to_owned()),
    };
    match delivery {
        Delivery::Sent => {
            let line = match &n.target {
                Target::User { user } => LogLine::Paged {
                    round,
                    step,
                    user: user.clone(),
                },
                Target::Channel { mention, .. } => LogLine::Mentioned {
                    round,
                    step,
                    mention: *mention,
                    fallback: n.fallback.clone(),
                },
            };
            (Some(line), None)
        }
        Delivery::NotReached(reason) => (
            Some(LogLine::NotReached {
                round,
                step,
                who: who.clone(),
                reason: reason.clone(),
            }),
            Some(format!("step {} could not reach {who}: {reason}", step + 1)),
        ),
        Delivery::Skipped(reason) => (
            Some(LogLine::NotDelivered {
                round,
                step,
                reason: reason.clone(),
            }),
            Some(format!("step {} was not delivered: {reason}", step + 1)),
        ),
    }
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
/// all of it in one transaction (the directory having been asked before, outside it).
async fn begin(
    deps: &Deps,
    alert: &StoredAlert,
    pos: Position,
    key: String,
) -> Result<Option<Notification>, StepError> {
    let Some(step) = alert.policy.step(pos) else {
        return Ok(None);
    };
    let team = team_of(deps, alert).await?;
    let roster = roster_of(deps, alert, team.as_ref(), pos).await?;
    let db = deps.store.database();
    let now = deps.queue.now_ms();
    if step.notify != Notify::NextMember {
        let Some((notification, notified, _)) =
            decide_reachable(deps, alert, pos, roster, 0, key, now).await?
        else {
            return Ok(None);
        };
        let recorded = record_begin(
            db,
            &mut *db.acquire_write().await?,
            &[(&alert.id, pos, &notification, &notified)],
            now,
        )
        .await?;
        // Not recorded: acknowledged, closed, passed or taken by another attempt meanwhile.
        return Ok((!recorded.is_empty()).then_some(notification));
    }

    // Who is around is asked before the transaction, from the rotation as it stands now; the transaction
    // re-reads it under lock and decides with what was learnt.
    let rotation = rotation_of(db, &db.pool, &alert.team_id).await?;
    let Some((_, _, _, roster)) =
        decide_with_presence(deps, alert, pos, roster, rotation, key.clone(), now).await?
    else {
        return Ok(None);
    };
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
    let rotation = rotation_of(db, &mut *tx, &alert.team_id).await?;
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

/// The team's next_member rotation index.
async fn rotation_of<'c>(
    db: &klaxon_db::Database,
    on: impl sqlx::Executor<'c, Database = sqlx::Any>,
    team_id: &str,
) -> Result<u64, StepError> {
    Ok(sqlx::query(db::alert_sql!(db, "rotation_get"))
        .bind(team_id)
        .fetch_optional(on)
        .await?
        .map(|r| r.try_get::<i64, _>(0))
        .transpose()?
        .map_or(0, |i| u64::try_from(i).unwrap_or(0)))
}

/// The engine's decision for step `pos` as a notification, the members notified once it is sent, and the
/// team's next rotation index; `None` when the step no longer applies.
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

/// [`decide`], asking the directory whether the member chosen is around (with `skip_inactive`, for member
/// steps): an inactive one is set aside and the engine chooses again, so presence and Do Not Disturb are
/// asked of candidates one at a time, never of the whole team.
async fn decide_reachable(
    deps: &Deps,
    alert: &StoredAlert,
    pos: Position,
    roster: Roster,
    rotation: u64,
    key: String,
    now: i64,
) -> Result<Option<(Notification, Vec<String>, Option<u64>)>, StepError> {
    Ok(decide_with_presence(deps, alert, pos, roster, rotation, key, now)
        .await?
        .map(|(n, notified, rotation, _)| (n, notified, rotation)))
}

/// [`decide_reachable`], also giving back the roster with the inactive members it learnt.
async fn decide_with_presence(
    deps: &Deps,
    alert: &StoredAlert,
    pos: Position,
    mut roster: Roster,
    rotation: u64,
    key: String,
    now: i64,
) -> Result<Option<(Notification, Vec<String>, Option<u64>, Roster)>, StepError> {
    let member_step = alert
        .policy
        .step(pos)
        .is_some_and(|s| matches!(s.notify, Notify::RandomMember | Notify::NextMember));
    // Each round either returns or sets one more member aside, so it ends within the roster's size.
    for _ in 0..=roster.members.len() {
        let Some((n, notified, next)) = decide(alert, pos, &roster, rotation, key.clone(), now) else {
            return Ok(None);
        };
        let candidate = match &n.target {
            Target::User { user } if member_step && alert.policy.skip_inactive => user.clone(),
            _ => return Ok(Some((n, notified, next, roster))),
        };
        if deps.directory.is_active(&alert.account_id, &candidate).await? {
            return Ok(Some((n, notified, next, roster)));
        }
        roster.inactive.insert(candidate);
    }
    Ok(
        decide(alert, pos, &roster, rotation, key, now)
            .map(|(n, notified, next)| (n, notified, next, roster)),
    )
}

/// The alert's team; `None` when it was deleted meanwhile (the step then notifies nobody it cannot find).
async fn team_of(deps: &Deps, alert: &StoredAlert) -> Result<Option<Team>, StepError> {
    match deps.store.get_team(&alert.account_id, &alert.team_id).await {
        Ok(team) => Ok(Some(team)),
        Err(crate::store::StoreError::NotFound) => Ok(None),
        Err(e) => Err(AlertError::from(e).into()),
    }
}

/// The members a member step chooses from (the team's list, or its channel's members when the list is
/// empty) and the team's channel; who is inactive is learnt while choosing.
async fn roster_of(
    deps: &Deps,
    alert: &StoredAlert,
    team: Option<&Team>,
    pos: Position,
) -> Result<Roster, StepError> {
    let mut roster = Roster {
        members: team.map(|t| t.members.clone()).unwrap_or_default(),
        inactive: Default::default(),
        channel: team.map(|t| t.slack_channel.clone()),
    };
    let member_step = alert
        .policy
        .step(pos)
        .is_some_and(|s| matches!(s.notify, Notify::RandomMember | Notify::NextMember));
    if member_step
        && roster.members.is_empty()
        && let Some(channel) = &roster.channel
    {
        roster.members = deps.directory.channel_members(&alert.account_id, channel).await?;
    }
    Ok(roster)
}

//! The escalation engine driven by its jobs, on SQLite and PostgreSQL: with a manual clock and jobs run by
//! hand (timing, repeat, skipping, rotation, actions, stale timers), and with the real `Runner` on short
//! "minutes" (every step notified exactly once).

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use klaxon::{
    alerts::{self, Action, StoredAlert},
    escalation::{EngineConfig, Mention, Target},
    event::{Event, EventKind, EventStatus, Severity},
    jobs::{self, EscalateJob, JobContext, PressJob},
    notify::{MemoryDirectory, MemoryNotifier},
    slack::interactions::Press,
    store::{IngestEndpoint, Store},
};
use klaxon_api::{EndpointInput, EscalationPolicyInput, Notify, Step, TeamInput};
use klaxon_db::{Database, dual_test};
use klaxon_queue::{BackgroundJob as _, JobState, ManualClock, Queue, RunnerSettings};
use tokio_util::sync::CancellationToken;

const T0: i64 = 1_700_000_000_000;
const MINUTE: Duration = Duration::from_secs(60);

struct Env {
    ctx: JobContext,
    clock: Arc<ManualClock>,
    directory: Arc<MemoryDirectory>,
    notifier: Arc<MemoryNotifier>,
    account: String,
    team: String,
}

async fn env(db: Database, members: &[&str]) -> Env {
    klaxon_queue::MIGRATOR.run(&db).await.unwrap();
    let store = Store::new(db.clone(), klaxon::secrets::Secrets::ephemeral(db.clone()));
    store.migrate().await.unwrap();
    let account = store.create_account("a").await.unwrap().id;
    let team = store
        .create_team(
            &account,
            &TeamInput {
                name: "sre".into(),
                slack_channel: "C0123ABCDE".into(),
                members: members.iter().map(|m| (*m).to_owned()).collect(),
                description: None,
            },
        )
        .await
        .unwrap()
        .id;
    let clock = Arc::new(ManualClock::new(T0));
    let directory = Arc::new(MemoryDirectory::default());
    let notifier = Arc::new(MemoryNotifier::default());
    let ctx = JobContext {
        store,
        queue: Queue::with_clock(db, clock.clone()),
        engine: EngineConfig::default(),
        directory: directory.clone(),
        notifier: notifier.clone(),
        slack: None,
    };
    Env {
        ctx,
        clock,
        directory,
        notifier,
        account,
        team,
    }
}

fn step(notify: Notify, after: Option<u32>) -> Step {
    Step {
        notify,
        user: None,
        escalate_after_minutes: after,
    }
}

impl Env {
    /// An endpoint of the team, with a policy of `steps` (or the default chain).
    async fn endpoint(&self, steps: Option<(Vec<Step>, u32)>) -> IngestEndpoint {
        let store = &self.ctx.store;
        let policy = match steps {
            Some((steps, repeat)) => Some(
                store
                    .create_policy(
                        &self.account,
                        &EscalationPolicyInput {
                            team_id: self.team.clone(),
                            name: format!("p{}", uuid::Uuid::new_v4().simple()),
                            steps,
                            repeat,
                            skip_inactive: true,
                            remind_after_minutes: None,
                        },
                    )
                    .await
                    .unwrap()
                    .id,
            ),
            None => None,
        };
        let endpoint = store
            .create_endpoint(
                &self.account,
                &EndpointInput {
                    team_id: self.team.clone(),
                    escalation_policy_id: policy,
                    name: format!("e{}", uuid::Uuid::new_v4().simple()),
                    allowed_topic_arns: vec![],
                    alert_grouping_minutes: 10080,
                    notification_grouping_minutes: 1,
                },
            )
            .await
            .unwrap();
        IngestEndpoint {
            account_id: self.account.clone(),
            endpoint,
        }
    }

    async fn raise(&self, endpoint: &IngestEndpoint, key: &str) -> StoredAlert {
        let event = Event {
            title: format!("{key} is down"),
            text: String::new(),
            severity: Severity::Error,
            source: "test".into(),
            account: None,
            region: None,
            resource: None,
            link: None,
            group_key: key.into(),
            status: EventStatus::Firing,
            kind: EventKind::Alert,
            fields: BTreeMap::new(),
        };
        let now = self.clock.now();
        alerts::ingest(&self.ctx.store, &self.ctx.queue, endpoint, &event, now)
            .await
            .unwrap()
            .alert
    }

    /// Runs every due job (and the jobs they make due) to completion, the jobs claimed together in one
    /// batch, as the runner does.
    async fn drain(&self) {
        loop {
            let jobs = self.ctx.queue.claim("test", 100, MINUTE).await.unwrap();
            if jobs.is_empty() {
                return;
            }
            let payloads: Vec<EscalateJob> = jobs.iter().map(|j| j.payload().unwrap()).collect();
            for result in EscalateJob::run_batch(payloads, &self.ctx).await {
                result.unwrap();
            }
            for job in jobs {
                assert!(self.ctx.queue.complete(&job).await.unwrap());
            }
        }
    }

    async fn advance(&self, by: Duration) {
        self.clock.advance(by);
        self.drain().await;
    }

    async fn act(&self, alert: &StoredAlert, action: Action) -> StoredAlert {
        alerts::act(
            &self.ctx.store,
            &self.ctx.queue,
            &self.account,
            &alert.id,
            action,
            Some("U0000000Z"),
            self.clock.now(),
        )
        .await
        .unwrap()
        .alert
    }

    /// The (minute, round, step, target) of every notification of `alert`.
    fn log(&self, alert: &StoredAlert) -> Vec<(i64, u32, u32, Target)> {
        self.notifier
            .of_alert(&alert.id)
            .into_iter()
            .map(|n| ((n.at_ms - T0) / 60_000, n.round, n.step, n.target))
            .collect()
    }

    async fn pending(&self, alert: &StoredAlert) -> usize {
        let page = self.ctx.queue.list(JobState::Ready, 1000, None).await.unwrap();
        let partition = alerts::partition(&alert.id);
        page.items
            .iter()
            .filter(|j| j.partition.as_deref() == Some(partition.as_str()))
            .count()
    }
}

trait Now {
    fn now(&self) -> i64;
}

impl Now for ManualClock {
    fn now(&self) -> i64 {
        klaxon_queue::Clock::now_ms(self)
    }
}

fn user(target: &Target) -> &str {
    match target {
        Target::User { user } => user,
        Target::Channel { .. } => panic!("expected a DM, got {target:?}"),
    }
}

async fn default_chain_fires_on_time_and_never_early(db: Database) {
    let env = env(db, &["U0000000A", "U0000000B", "U0000000C"]).await;
    let ep = env.endpoint(None).await;
    let alert = env.raise(&ep, "db").await;
    env.drain().await;
    assert_eq!(env.log(&alert).len(), 1, "the first step fires at once");
    env.advance(MINUTE * 5 - Duration::from_millis(1)).await;
    assert_eq!(env.log(&alert).len(), 1, "never early");
    env.advance(Duration::from_millis(1)).await;
    env.advance(MINUTE * 5).await;
    env.advance(MINUTE * 5).await;
    env.advance(MINUTE * 60).await;
    let log = env.log(&alert);
    let when: Vec<(i64, u32)> = log.iter().map(|(m, _, s, _)| (*m, *s)).collect();
    assert_eq!(when, vec![(0, 0), (5, 1), (10, 2), (15, 3)]);
    assert_ne!(user(&log[0].3), user(&log[1].3), "two different members");
    let channel = |mention| Target::Channel {
        channel: Some("C0123ABCDE".into()),
        mention,
    };
    assert_eq!(log[2].3, channel(Mention::Here));
    assert_eq!(log[3].3, channel(Mention::Channel));
    let now = alerts::get(&env.ctx.store, &env.account, &alert.id)
        .await
        .unwrap();
    assert!(now.to_api().escalation.unwrap().ended);
    assert_eq!(env.pending(&alert).await, 0);
}

async fn repeat_runs_the_chain_again(db: Database) {
    let env = env(db, &["U0000000A"]).await;
    let steps = vec![step(Notify::Here, Some(2)), step(Notify::Channel, Some(3))];
    let ep = env.endpoint(Some((steps, 2))).await;
    let alert = env.raise(&ep, "db").await;
    env.drain().await;
    for _ in 0..40 {
        env.advance(MINUTE).await;
    }
    let when: Vec<(i64, u32, u32)> = env.log(&alert).iter().map(|(m, r, s, _)| (*m, *r, *s)).collect();
    assert_eq!(
        when,
        vec![(0, 0, 0), (2, 0, 1), (5, 1, 0), (7, 1, 1), (10, 2, 0), (12, 2, 1)]
    );
}

async fn skip_inactive_and_round_robin_across_alerts(db: Database) {
    let env = env(db, &["U0000000A", "U0000000B", "U0000000C"]).await;
    let ep = env
        .endpoint(Some((vec![step(Notify::NextMember, None)], 0)))
        .await;
    let mut picks = Vec::new();
    for i in 0..4 {
        let alert = env.raise(&ep, &format!("k{i}")).await;
        env.drain().await;
        picks.push(user(&env.log(&alert)[0].3).to_owned());
    }
    assert_eq!(picks, ["U0000000A", "U0000000B", "U0000000C", "U0000000A"]);
    // B is away: the rotation passes over B.
    env.directory.set_active("U0000000B", false);
    let alert = env.raise(&ep, "k-away").await;
    env.drain().await;
    assert_eq!(user(&env.log(&alert)[0].3), "U0000000C");
}

async fn random_member_never_repeats_within_an_alert(db: Database) {
    let members = ["U0000000A", "U0000000B", "U0000000C", "U0000000D"];
    let env = env(db, &members).await;
    let ep = env
        .endpoint(Some((vec![step(Notify::RandomMember, Some(1)); 5], 0)))
        .await;
    for i in 0..3 {
        let alert = env.raise(&ep, &format!("k{i}")).await;
        env.drain().await;
        for _ in 0..5 {
            env.advance(MINUTE).await;
        }
        let log = env.log(&alert);
        assert_eq!(log.len(), 5);
        let users: std::collections::BTreeSet<&str> = log[..4].iter().map(|l| user(&l.3)).collect();
        assert_eq!(users.len(), 4, "four members, four different DMs: {log:?}");
        assert!(
            matches!(log[4].3, Target::Channel { .. }),
            "nobody left: the channel"
        );
    }
}

async fn ack_and_close_cancel_pending_steps(db: Database) {
    let env = env(db, &["U0000000A", "U0000000B"]).await;
    let ep = env.endpoint(None).await;
    for action in [Action::Ack, Action::Close] {
        let alert = env.raise(&ep, action.as_str()).await;
        env.drain().await;
        assert_eq!(env.pending(&alert).await, 1, "the next step's timer");
        let acted = env.act(&alert, action).await;
        assert_eq!(env.pending(&alert).await, 0, "{action:?} cancels it");
        assert_eq!(acted.next_escalation_at_ms, None);
        env.advance(MINUTE * 30).await;
        assert_eq!(env.log(&alert).len(), 1, "nothing after {action:?}");
    }
}

async fn pass_jumps_to_the_next_step_at_once(db: Database) {
    let env = env(db, &["U0000000A", "U0000000B", "U0000000C"]).await;
    let ep = env.endpoint(None).await;
    let alert = env.raise(&ep, "db").await;
    env.drain().await;
    env.advance(MINUTE).await;
    env.act(&alert, Action::Pass).await;
    env.drain().await;
    let when: Vec<(i64, u32)> = env.log(&alert).iter().map(|(m, _, s, _)| (*m, *s)).collect();
    assert_eq!(
        when,
        vec![(0, 0), (1, 1)],
        "step 1 fired at the pass, not at minute 5"
    );
    env.advance(MINUTE * 4).await;
    assert_eq!(env.log(&alert).len(), 2, "the old timer of step 1 is gone");
    env.advance(MINUTE).await;
    assert_eq!(env.log(&alert).len(), 3, "step 2 five minutes after the pass");
    // A pass on a closed alert does nothing.
    env.act(&alert, Action::Close).await;
    env.act(&alert, Action::Pass).await;
    env.advance(MINUTE * 10).await;
    assert_eq!(env.log(&alert).len(), 3);
}

/// A step whose job died (its delivery failed until it ran out of attempts) leaves the alert open with nothing
/// pending. Passing it, by the API's action or by Slack's button, pages the step's person now, once.
async fn pass_after_the_step_died_runs_the_step_again(db: Database) {
    let env = env(db, &["U0000000A", "U0000000B", "U0000000C"]).await;
    let ep = env.endpoint(None).await;
    for by_button in [false, true] {
        let alert = env.raise(&ep, &format!("db-{by_button}")).await;
        env.drain().await;
        assert_eq!(env.log(&alert).len(), 1);
        // Step 1's delivery fails, and its job runs out of attempts.
        env.notifier.set_failing(&alert.id, true);
        env.clock.advance(MINUTE * 5);
        let jobs = env.ctx.queue.claim("w", 10, MINUTE).await.unwrap();
        assert_eq!(jobs.len(), 1);
        let step: EscalateJob = jobs[0].payload().unwrap();
        assert!(step.run(&env.ctx).await.is_err());
        assert!(env.ctx.queue.fail(&jobs[0], "Slack is down", None).await.unwrap());
        assert_eq!(
            env.ctx.queue.get(jobs[0].id).await.unwrap().unwrap().state,
            JobState::Dead
        );
        env.notifier.set_failing(&alert.id, false);
        env.advance(MINUTE * 30).await;
        assert_eq!(env.log(&alert).len(), 1, "nothing more happens on its own");
        assert_eq!(env.pending(&alert).await, 0);

        if by_button {
            let press = Press {
                team_id: "T0000000A".into(),
                user_id: "U0000000Z".into(),
                action: "pass".into(),
                alert_id: alert.id.clone(),
                response_url: None,
                channel_id: None,
                action_ts: None,
            };
            PressJob { press }.run(&env.ctx).await.unwrap();
        } else {
            env.act(&alert, Action::Pass).await;
        }
        env.drain().await;
        let log = env.log(&alert);
        let steps: Vec<(u32, u32)> = log.iter().map(|(_, r, s, _)| (*r, *s)).collect();
        assert_eq!(steps, vec![(0, 0), (0, 1)], "step 1 paged at the pass, once");
        assert_eq!(env.pending(&alert).await, 1, "and step 2 is on its way");
        env.advance(MINUTE * 5).await;
        assert_eq!(env.log(&alert).len(), 3);
        // The dead letter stays to be looked at; retried, it finds its step done and pages nobody.
        assert!(env.ctx.queue.retry(jobs[0].id).await.unwrap());
        env.drain().await;
        assert_eq!(env.log(&alert).len(), 3);
        env.act(&alert, Action::Close).await;
    }
}

async fn a_stale_timer_after_ack_does_nothing(db: Database) {
    let env = env(db, &["U0000000A", "U0000000B"]).await;
    let ep = env.endpoint(None).await;
    let alert = env.raise(&ep, "db").await;
    env.drain().await;
    env.clock.advance(MINUTE * 5);
    // The timer is claimed (due, running) when the acknowledgement lands, so cancelling cannot remove it.
    let jobs = env.ctx.queue.claim("slow", 10, MINUTE).await.unwrap();
    assert_eq!(jobs.len(), 1);
    env.act(&alert, Action::Ack).await;
    let job: EscalateJob = jobs[0].payload().unwrap();
    job.run(&env.ctx).await.unwrap();
    assert!(env.ctx.queue.complete(&jobs[0]).await.unwrap());
    assert_eq!(env.log(&alert).len(), 1, "the stale timer notified nobody");
    env.advance(MINUTE * 30).await;
    assert_eq!(env.log(&alert).len(), 1);
}

/// Steps claimed together run as one batch, and each keeps its own outcome: an alert acknowledged or closed
/// after its timer was claimed notifies nobody, a failed delivery fails only its own step (whose retry
/// delivers it once), a `next_member` step beside them still rotates, and the rest are notified and move on.
async fn a_batch_of_steps_keeps_each_outcome(db: Database) {
    let env = env(db, &["U0000000A", "U0000000B"]).await;
    let ep = env.endpoint(None).await;
    let rotating = env
        .endpoint(Some((
            vec![step(Notify::NextMember, Some(5)), step(Notify::Channel, None)],
            0,
        )))
        .await;
    let [fine, acked, closed, failing] = [
        env.raise(&ep, "fine").await,
        env.raise(&ep, "acked").await,
        env.raise(&ep, "closed").await,
        env.raise(&ep, "failing").await,
    ];
    let next = env.raise(&rotating, "next").await;
    let jobs = env.ctx.queue.claim("batch", 100, MINUTE).await.unwrap();
    assert_eq!(jobs.len(), 5, "every first step is due at once");
    env.act(&acked, Action::Ack).await;
    env.act(&closed, Action::Close).await;
    env.notifier.set_failing(&failing.id, true);
    let payloads: Vec<EscalateJob> = jobs.iter().map(|j| j.payload().unwrap()).collect();
    let results = EscalateJob::run_batch(payloads.clone(), &env.ctx).await;
    for (payload, result) in payloads.iter().zip(&results) {
        assert_eq!(
            result.is_err(),
            payload.alert_id == failing.id,
            "only the failed delivery fails: {payload:?} {result:?}"
        );
    }
    assert_eq!(env.log(&fine).len(), 1);
    assert_eq!(
        env.log(&acked).len(),
        0,
        "acknowledged after the claim: nobody notified"
    );
    assert_eq!(
        env.log(&closed).len(),
        0,
        "closed after the claim: nobody notified"
    );
    assert_eq!(env.log(&failing).len(), 0);
    assert_eq!(env.log(&next).len(), 1);
    for (job, result) in jobs.iter().zip(&results) {
        if result.is_ok() {
            assert!(env.ctx.queue.complete(job).await.unwrap());
        }
    }
    assert_eq!(env.pending(&fine).await, 1, "the next step's timer is set");
    assert_eq!(env.pending(&acked).await, 0);

    // The failed step's retry (alone, with its delivery recorded as begun) delivers it once.
    env.notifier.set_failing(&failing.id, false);
    let retry = jobs
        .iter()
        .find(|j| j.payload::<EscalateJob>().unwrap().alert_id == failing.id)
        .unwrap();
    let payload: EscalateJob = retry.payload().unwrap();
    payload.run(&env.ctx).await.unwrap();
    assert!(env.ctx.queue.complete(retry).await.unwrap());
    assert_eq!(env.log(&failing).len(), 1);
    env.advance(MINUTE * 5).await;
    assert_eq!(env.log(&fine).len(), 2, "the batch moved it to its next step");
    assert_eq!(env.log(&failing).len(), 2, "and the retried one too");
    assert_eq!(env.log(&acked).len(), 0);
}

/// The real runner, 50 ms minutes: every (alert, round, step) is notified exactly once.
async fn runner_notifies_every_step_exactly_once(db: Database) {
    let env = env(db.clone(), &["U0000000A", "U0000000B", "U0000000C"]).await;
    let steps = vec![
        step(Notify::RandomMember, Some(1)),
        step(Notify::NextMember, Some(1)),
        step(Notify::Here, Some(1)),
    ];
    let ep = env.endpoint(Some((steps, 1))).await;
    let queue = Queue::new(db);
    let ctx = JobContext {
        queue: queue.clone(),
        engine: EngineConfig {
            minute: Duration::from_millis(50),
        },
        ..env.ctx.clone()
    };
    let shutdown = CancellationToken::new();
    let runner = jobs::runner(ctx.clone()).with_settings(RunnerSettings {
        workers: 8,
        poll_interval: Duration::from_millis(50),
        ..RunnerSettings::default()
    });
    let running = tokio::spawn(runner.run(shutdown.clone()));
    let event = |i: usize| Event {
        title: format!("alert {i}"),
        text: String::new(),
        severity: Severity::Critical,
        source: "test".into(),
        account: None,
        region: None,
        resource: None,
        link: None,
        group_key: format!("k{i}"),
        status: EventStatus::Firing,
        kind: EventKind::Alert,
        fields: BTreeMap::new(),
    };
    const ALERTS: usize = 20;
    let mut ids = Vec::new();
    for i in 0..ALERTS {
        let done = alerts::ingest(&ctx.store, &queue, &ep, &event(i), queue.now_ms())
            .await
            .unwrap();
        ids.push(done.alert.id);
    }
    let expected = ALERTS * 6; // 3 steps, 2 rounds
    // Every step notified, and no job left that could notify again: nothing ready (a timer, a retry) and
    // nothing running. From then on a duplicate cannot show up, however long one waits.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let stats = queue.stats().await.unwrap();
        if env.notifier.delivered().len() >= expected && stats.ready == 0 && stats.running == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still escalating: {} of {expected} notified, {stats:?}",
            env.notifier.delivered().len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shutdown.cancel();
    running.await.unwrap().unwrap();
    let stats = queue.stats().await.unwrap();
    assert_eq!((stats.ready, stats.running, stats.dead), (0, 0, 0), "{stats:?}");
    let mut counts: BTreeMap<(String, u32, u32), usize> = BTreeMap::new();
    for n in env.notifier.delivered() {
        *counts.entry((n.alert_id, n.round, n.step)).or_default() += 1;
    }
    assert_eq!(counts.len(), expected, "every step of every alert notified");
    assert!(counts.values().all(|&c| c == 1), "each exactly once: {counts:?}");
    assert!(counts.keys().all(|(a, _, _)| ids.contains(a)));
}

dual_test!(
    default_chain_fires_on_time_and_never_early,
    repeat_runs_the_chain_again,
    skip_inactive_and_round_robin_across_alerts,
    random_member_never_repeats_within_an_alert,
    ack_and_close_cancel_pending_steps,
    pass_jumps_to_the_next_step_at_once,
    pass_after_the_step_died_runs_the_step_again,
    a_stale_timer_after_ack_does_nothing,
    a_batch_of_steps_keeps_each_outcome,
    runner_notifies_every_step_exactly_once,
);

//! One conformance suite for both stores: every test runs on SQLite and on PostgreSQL.
//!
//! Time-dependent rules (timers, leases, back-off) run against a [`ManualClock`], so nothing depends on how
//! fast the machine is; concurrency is proven with barriers and gates, not sleeps.

// The whole file is test code (helpers and job kinds included): a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::{
    collections::HashMap,
    future::Future,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use klaxon_db::{Database, dual_test};
use klaxon_queue::{
    BackgroundJob, Clock, Dedup, JobError, JobId, JobInfo, JobState, ManualClock, NewJob, Queue, RetryPolicy,
    Runner, RunnerSettings,
};
use serde::{Deserialize, Serialize};
use tokio::sync::{Barrier, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

const T0: i64 = 1_700_000_000_000;
const LEASE: Duration = Duration::from_secs(30);

async fn setup(db: Database) -> (Queue, Arc<ManualClock>) {
    klaxon_queue::MIGRATOR.run(&db).await.expect("migrate");
    let clock = Arc::new(ManualClock::new(T0));
    (Queue::with_clock(db, clock.clone()), clock)
}

/// Shared by every test job kind.
struct Ctx {
    barrier: Barrier,
    active: Mutex<HashMap<String, usize>>,
    overlap_seen: AtomicUsize,
    log: Mutex<Vec<(String, u32)>>,
    calls: Mutex<HashMap<String, u32>>,
    gates: [Semaphore; 2],
    started: mpsc::UnboundedSender<u8>,
}

type C = Arc<Ctx>;

fn ctx() -> (C, mpsc::UnboundedReceiver<u8>) {
    let (started, rx) = mpsc::unbounded_channel();
    let ctx = Ctx {
        barrier: Barrier::new(2),
        active: Mutex::default(),
        overlap_seen: AtomicUsize::new(0),
        log: Mutex::default(),
        calls: Mutex::default(),
        gates: [Semaphore::new(0), Semaphore::new(0)],
        started,
    };
    (Arc::new(ctx), rx)
}

#[derive(Serialize, Deserialize)]
struct Noop {}

#[async_trait::async_trait]
impl BackgroundJob for Noop {
    const KIND: &'static str = "noop";
    type Context = C;
    async fn run(&self, _ctx: &C) -> Result<(), JobError> {
        Ok(())
    }
}

/// Records order and overlap per partition; the first job of each partition waits at a two-party barrier,
/// which only passes if two partitions run at the same time.
#[derive(Serialize, Deserialize)]
struct Rendezvous {
    partition: String,
    seq: u32,
}

#[async_trait::async_trait]
impl BackgroundJob for Rendezvous {
    const KIND: &'static str = "rendezvous";
    type Context = C;
    async fn run(&self, ctx: &C) -> Result<(), JobError> {
        {
            let mut active = ctx.active.lock().unwrap();
            let n = active.entry(self.partition.clone()).or_default();
            *n += 1;
            if *n > 1 {
                ctx.overlap_seen.fetch_add(1, Ordering::SeqCst);
            }
        }
        ctx.log.lock().unwrap().push((self.partition.clone(), self.seq));
        if self.seq == 0 {
            ctx.barrier.wait().await;
        }
        for _ in 0..5 {
            tokio::task::yield_now().await;
        }
        *ctx.active.lock().unwrap().get_mut(&self.partition).unwrap() -= 1;
        Ok(())
    }
}

/// Fails (retryably, or fatally) for its first `fail_times` calls, then succeeds.
#[derive(Serialize, Deserialize)]
struct Flaky {
    name: String,
    fail_times: u32,
    fatal: bool,
}

#[async_trait::async_trait]
impl BackgroundJob for Flaky {
    const KIND: &'static str = "flaky";
    const RETRY_POLICY: RetryPolicy = RetryPolicy::DEFAULT
        .with_max_attempts(4)
        .with_delays(Duration::from_secs(1), Duration::from_secs(3));
    type Context = C;
    async fn run(&self, ctx: &C) -> Result<(), JobError> {
        let n = {
            let mut calls = ctx.calls.lock().unwrap();
            let n = calls.entry(self.name.clone()).or_default();
            *n += 1;
            *n
        };
        match (n <= self.fail_times, self.fatal) {
            (false, _) => Ok(()),
            (true, true) => Err(JobError::fatal(format!("bad input {n}"))),
            (true, false) => Err(JobError::retryable(format!("boom {n}"))),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Panicky {}

#[async_trait::async_trait]
impl BackgroundJob for Panicky {
    const KIND: &'static str = "panicky";
    const RETRY_POLICY: RetryPolicy = RetryPolicy::DEFAULT.with_max_attempts(1);
    type Context = C;
    async fn run(&self, _ctx: &C) -> Result<(), JobError> {
        panic!("kaboom")
    }
}

/// Says it started, then waits until its gate opens.
#[derive(Serialize, Deserialize)]
struct Blocker {
    gate: u8,
}

#[async_trait::async_trait]
impl BackgroundJob for Blocker {
    const KIND: &'static str = "blocker";
    type Context = C;
    async fn run(&self, ctx: &C) -> Result<(), JobError> {
        ctx.started.send(self.gate).unwrap();
        ctx.gates[usize::from(self.gate)]
            .acquire()
            .await
            .unwrap()
            .forget();
        Ok(())
    }
}

fn runner(queue: &Queue, ctx: &C, workers: usize) -> Runner<C> {
    Runner::new(queue.clone(), ctx.clone())
        .register::<Noop>()
        .register::<Rendezvous>()
        .register::<Flaky>()
        .register::<Panicky>()
        .register::<Blocker>()
        .with_settings(RunnerSettings {
            workers,
            poll_interval: Duration::from_millis(50),
            shutdown_deadline: Duration::from_millis(300),
            ..RunnerSettings::default()
        })
}

fn start(runner: Runner<C>) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let token = CancellationToken::new();
    let handle = tokio::spawn({
        let token = token.clone();
        async move { runner.run(token).await.unwrap() }
    });
    (token, handle)
}

/// Waits (bounded) until `check` holds; used for "the runner has recorded the outcome", never for ordering.
async fn until<F: Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn job(queue: &Queue, id: JobId) -> JobInfo {
    queue.get(id).await.unwrap().expect("job exists")
}

async fn wait_state(queue: &Queue, id: JobId, state: JobState, attempts: u32) -> JobInfo {
    until(&format!("job {id} {state:?}/{attempts}"), || async {
        let j = job(queue, id).await;
        j.state == state && j.attempts == attempts
    })
    .await;
    job(queue, id).await
}

fn noop() -> NewJob {
    NewJob::new(&Noop {}).unwrap()
}

dual_test!(
    enqueue_claim_complete,
    timers_wait_until_due,
    runners_overlap_partitions_but_not_within_one,
    concurrent_claimers_respect_partitions,
    lease_expiry_and_reclaim,
    stale_attempt_is_fenced,
    partition_order,
    dedup_modes,
    backoff_grows_caps_and_dies,
    dead_letters_block_nothing_and_retry,
    unknown_kind_and_panic_are_dead,
    cancel,
    graceful_shutdown_releases_leases,
    enqueue_in_follows_the_transaction,
    enqueue_many_and_stats,
);

async fn enqueue_claim_complete(db: Database) {
    let (queue, _) = setup(db).await;
    let id = queue.enqueue(noop().partition("p")).await.unwrap().unwrap();
    let info = job(&queue, id).await;
    assert_eq!(
        (info.state, info.kind.as_str(), info.partition.as_deref()),
        (JobState::Ready, "noop", Some("p"))
    );
    assert_eq!(info.run_at_ms, T0);

    let claimed = queue.claim("w1", 10, LEASE).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let c = &claimed[0];
    assert_eq!((c.id, c.attempt, c.fence, c.run_at_ms), (id, 1, 1, T0));
    let running = job(&queue, id).await;
    assert_eq!(running.state, JobState::Running);
    assert_eq!(running.lease_owner.as_deref(), Some("w1"));
    assert_eq!(running.lease_expires_at_ms, Some(T0 + 30_000));
    assert!(
        queue.claim("w2", 10, LEASE).await.unwrap().is_empty(),
        "a running job is not claimed twice"
    );

    assert!(queue.complete(c).await.unwrap());
    let done = job(&queue, id).await;
    assert_eq!((done.state, done.lease_owner), (JobState::Done, None));
    assert!(queue.claim("w1", 10, LEASE).await.unwrap().is_empty());
}

async fn timers_wait_until_due(db: Database) {
    let (queue, clock) = setup(db).await;
    let later = queue
        .enqueue(noop().delay(Duration::from_secs(10)))
        .await
        .unwrap()
        .unwrap();
    let at = queue
        .enqueue(noop().run_at_ms(T0 + 5_000))
        .await
        .unwrap()
        .unwrap();
    assert!(queue.claim("w", 10, LEASE).await.unwrap().is_empty());
    clock.advance(Duration::from_millis(4_999));
    assert!(queue.claim("w", 10, LEASE).await.unwrap().is_empty());
    clock.advance(Duration::from_millis(1));
    let got: Vec<JobId> = queue
        .claim("w", 10, LEASE)
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(got, [at]);
    clock.set(T0 + 9_999);
    assert!(queue.claim("w", 10, LEASE).await.unwrap().is_empty());
    clock.set(T0 + 10_000);
    let got: Vec<JobId> = queue
        .claim("w", 10, LEASE)
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(got, [later]);
}

async fn runners_overlap_partitions_but_not_within_one(db: Database) {
    let (queue, _) = setup(db).await;
    let (ctx, _started) = ctx();
    for seq in 0..6 {
        for p in ["a", "b"] {
            let job = Rendezvous {
                partition: p.into(),
                seq,
            };
            queue
                .enqueue(NewJob::new(&job).unwrap().partition(p))
                .await
                .unwrap();
        }
    }
    // Two runners (as two replicas would), four workers each: if partition a's first job could not run
    // beside partition b's, the barrier would never open and the wait below would time out.
    let (t1, h1) = start(runner(&queue, &ctx, 4));
    let (t2, h2) = start(runner(&queue, &ctx, 4));
    until("all 12 jobs done", || async {
        queue.stats().await.unwrap().done == 12
    })
    .await;
    t1.cancel();
    t2.cancel();
    h1.await.unwrap();
    h2.await.unwrap();
    assert_eq!(
        ctx.overlap_seen.load(Ordering::SeqCst),
        0,
        "two jobs of one partition ran at once"
    );
    let log = ctx.log.lock().unwrap().clone();
    for p in ["a", "b"] {
        let seqs: Vec<u32> = log.iter().filter(|(q, _)| q == p).map(|(_, s)| *s).collect();
        assert_eq!(seqs, [0, 1, 2, 3, 4, 5], "partition {p} ran out of order");
    }
}

async fn concurrent_claimers_respect_partitions(db: Database) {
    let (queue, _) = setup(db).await;
    let jobs: Vec<NewJob> = (0..120)
        .map(|i| noop().partition(format!("p{}", i % 6)))
        .collect();
    queue.enqueue_many(&jobs).await.unwrap();
    let holding: Arc<Mutex<HashMap<String, JobId>>> = Arc::default();
    let start = Arc::new(Barrier::new(4));
    let mut workers = Vec::new();
    for w in 0..4 {
        let (queue, holding, start) = (queue.clone(), holding.clone(), start.clone());
        workers.push(tokio::spawn(async move {
            start.wait().await;
            let mut done = 0;
            let mut idle = 0;
            while idle < 50 {
                let claimed = queue.claim(&format!("w{w}"), 4, LEASE).await.unwrap();
                if claimed.is_empty() {
                    idle += 1;
                    tokio::task::yield_now().await;
                    continue;
                }
                idle = 0;
                for j in &claimed {
                    let p = j.partition.clone().unwrap();
                    let prev = holding.lock().unwrap().insert(p.clone(), j.id);
                    assert!(prev.is_none(), "partition {p} claimed twice at once");
                }
                tokio::task::yield_now().await;
                for j in &claimed {
                    holding.lock().unwrap().remove(j.partition.as_deref().unwrap());
                    assert!(queue.complete(j).await.unwrap());
                    done += 1;
                }
            }
            done
        }));
    }
    let mut total = 0;
    for w in workers {
        total += w.await.unwrap();
    }
    assert_eq!(total, 120);
    assert_eq!(queue.stats().await.unwrap().done, 120);
}

async fn lease_expiry_and_reclaim(db: Database) {
    let (queue, clock) = setup(db).await;
    let id = queue.enqueue(noop()).await.unwrap().unwrap();
    assert_eq!(queue.claim("w1", 1, LEASE).await.unwrap().len(), 1);

    // A heartbeat keeps a long job's lease alive past its first expiry.
    clock.advance(Duration::from_secs(20));
    assert_eq!(queue.heartbeat("w1", LEASE).await.unwrap(), 1);
    assert_eq!(queue.heartbeat("other", LEASE).await.unwrap(), 0);
    clock.advance(Duration::from_secs(20));
    assert_eq!(queue.reclaim_expired().await.unwrap(), 0);

    // Without heartbeats the lease expires and the job goes back to ready, the attempt counted.
    clock.advance(Duration::from_secs(10));
    assert!(
        queue.claim("w2", 1, LEASE).await.unwrap().is_empty(),
        "an expired lease is reclaimed first"
    );
    assert_eq!(queue.reclaim_expired().await.unwrap(), 1);
    let info = job(&queue, id).await;
    assert_eq!(
        (info.state, info.attempts, info.lease_owner),
        (JobState::Ready, 1, None)
    );
    assert!(info.last_error.unwrap().contains("w1"));
    let again = queue.claim("w2", 1, LEASE).await.unwrap();
    assert_eq!((again[0].id, again[0].attempt, again[0].fence), (id, 2, 2));
}

async fn stale_attempt_is_fenced(db: Database) {
    let (queue, clock) = setup(db).await;
    let id = queue.enqueue(noop()).await.unwrap().unwrap();
    let stale = queue.claim("w1", 1, LEASE).await.unwrap().remove(0);
    clock.advance(LEASE + Duration::from_secs(1));
    queue.reclaim_expired().await.unwrap();
    // Between reclaim and the next claim the stale worker is already locked out.
    assert!(!queue.complete(&stale).await.unwrap());
    let fresh = queue.claim("w2", 1, LEASE).await.unwrap().remove(0);
    let before = job(&queue, id).await;

    assert!(!queue.complete(&stale).await.unwrap());
    assert!(!queue.fail(&stale, "late failure", None).await.unwrap());
    assert!(!queue.release(&stale).await.unwrap());
    assert_eq!(queue.complete_many(&[(id, stale.fence)]).await.unwrap(), []);
    assert_eq!(job(&queue, id).await, before, "a stale attempt changed the row");
    assert_eq!(before.lease_owner.as_deref(), Some("w2"));

    assert!(queue.complete(&fresh).await.unwrap());
    assert_eq!(job(&queue, id).await.state, JobState::Done);
}

async fn partition_order(db: Database) {
    let (queue, clock) = setup(db).await;
    let a = queue
        .enqueue(noop().partition("p").run_at_ms(T0 + 2))
        .await
        .unwrap()
        .unwrap();
    let b = queue
        .enqueue(noop().partition("p").run_at_ms(T0 + 1))
        .await
        .unwrap()
        .unwrap();
    let c = queue
        .enqueue(noop().partition("p").run_at_ms(T0 + 1))
        .await
        .unwrap()
        .unwrap();
    let free1 = queue.enqueue(noop()).await.unwrap().unwrap();
    let free2 = queue.enqueue(noop()).await.unwrap().unwrap();
    clock.advance(Duration::from_millis(2));

    // One job of the partition at a time, by (run_at, id); jobs without a partition run freely.
    let mut order = Vec::new();
    loop {
        let claimed = queue.claim("w", 10, LEASE).await.unwrap();
        if claimed.is_empty() {
            break;
        }
        let partitioned: Vec<JobId> = claimed
            .iter()
            .filter(|j| j.partition.is_some())
            .map(|j| j.id)
            .collect();
        assert_eq!(partitioned.len(), 1, "{claimed:?}");
        order.push(partitioned[0]);
        for j in &claimed {
            if j.partition.is_none() {
                assert!([free1, free2].contains(&j.id));
            }
            queue.complete(j).await.unwrap();
        }
    }
    assert_eq!(order, [b, c, a]);

    // A job waiting out a back-off keeps its place: the later job does not overtake it.
    let first = queue.enqueue(noop().partition("q")).await.unwrap().unwrap();
    let second = queue.enqueue(noop().partition("q")).await.unwrap().unwrap();
    let j = queue.claim("w", 10, LEASE).await.unwrap().remove(0);
    assert_eq!(j.id, first);
    assert!(
        queue
            .fail(&j, "try later", Some(clock.now_ms() + 60_000))
            .await
            .unwrap()
    );
    assert!(
        queue.claim("w", 10, LEASE).await.unwrap().is_empty(),
        "second overtook a retrying first"
    );
    clock.advance(Duration::from_secs(60));
    let j = queue.claim("w", 10, LEASE).await.unwrap();
    assert_eq!(j.iter().map(|j| j.id).collect::<Vec<_>>(), [first]);
    queue.complete(&j[0]).await.unwrap();
    assert_eq!(queue.claim("w", 10, LEASE).await.unwrap()[0].id, second);
}

async fn dedup_modes(db: Database) {
    let (queue, _) = setup(db).await;
    // Until done: a duplicate is a no-op while the first is pending, allowed again once it is done.
    let first = queue
        .enqueue(noop().dedup_with("refresh:1", Dedup::UntilDone))
        .await
        .unwrap();
    assert!(first.is_some());
    assert_eq!(
        queue
            .enqueue(noop().dedup_with("refresh:1", Dedup::UntilDone))
            .await
            .unwrap(),
        None
    );
    let j = queue.claim("w", 1, LEASE).await.unwrap().remove(0);
    assert_eq!(
        queue
            .enqueue(noop().dedup_with("refresh:1", Dedup::UntilDone))
            .await
            .unwrap(),
        None
    );
    queue.complete(&j).await.unwrap();
    assert!(
        queue
            .enqueue(noop().dedup_with("refresh:1", Dedup::UntilDone))
            .await
            .unwrap()
            .is_some()
    );

    // Forever (the default): the key fires at most once, even after the job is done.
    let step = queue
        .enqueue(noop().dedup("alert:7:step:2"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        job(&queue, step).await.dedup_key.as_deref(),
        Some("alert:7:step:2")
    );
    assert_eq!(queue.enqueue(noop().dedup("alert:7:step:2")).await.unwrap(), None);
    let mut claimed = queue.claim("w", 10, LEASE).await.unwrap();
    claimed.retain(|j| j.id == step);
    queue.complete(&claimed[0]).await.unwrap();
    assert_eq!(queue.enqueue(noop().dedup("alert:7:step:2")).await.unwrap(), None);
    assert_eq!(
        queue
            .enqueue_many(&[noop().dedup("alert:7:step:2")])
            .await
            .unwrap(),
        []
    );
    assert_eq!(
        queue.purge_done(i64::MAX).await.unwrap(),
        1,
        "only the until-done row is purged"
    );
    assert_eq!(queue.enqueue(noop().dedup("alert:7:step:2")).await.unwrap(), None);

    // Cancelling frees the key: the work never ran.
    let t = queue
        .enqueue(noop().dedup("alert:8:step:1").delay(LEASE))
        .await
        .unwrap()
        .unwrap();
    assert!(queue.cancel(t).await.unwrap());
    assert!(
        queue
            .enqueue(noop().dedup("alert:8:step:1"))
            .await
            .unwrap()
            .is_some()
    );

    // Duplicates inside one batch collapse to one job.
    let ids = queue
        .enqueue_many(&[noop().dedup("batch:1"), noop().dedup("batch:1"), noop()])
        .await
        .unwrap();
    assert_eq!(ids.len(), 2);
}

async fn backoff_grows_caps_and_dies(db: Database) {
    let (queue, clock) = setup(db).await;
    let (ctx, _started) = ctx();
    let id = queue
        .enqueue(
            NewJob::new(&Flaky {
                name: "f".into(),
                fail_times: 99,
                fatal: false,
            })
            .unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    let (token, handle) = start(runner(&queue, &ctx, 2));
    // Flaky's policy: 4 attempts, 1 s doubling, capped at 3 s, up to half taken off.
    for (attempt, base_ms) in [(1, 1_000), (2, 2_000), (3, 3_000)] {
        let info = wait_state(&queue, id, JobState::Ready, attempt).await;
        let wait = info.run_at_ms - clock.now_ms();
        assert!(
            wait >= base_ms / 2 && wait <= base_ms,
            "attempt {attempt}: waits {wait} ms, base {base_ms}"
        );
        assert_eq!(
            info.last_error.as_deref(),
            Some(format!("boom {attempt}").as_str())
        );
        clock.set(info.run_at_ms);
        queue.notify();
    }
    let dead = wait_state(&queue, id, JobState::Dead, 4).await;
    assert_eq!(dead.last_error.as_deref(), Some("boom 4 (attempt 4 of 4)"));
    assert_eq!(ctx.calls.lock().unwrap()["f"], 4);
    token.cancel();
    handle.await.unwrap();
}

async fn dead_letters_block_nothing_and_retry(db: Database) {
    let (queue, _) = setup(db).await;
    let (ctx, _started) = ctx();
    let bad = NewJob::new(&Flaky {
        name: "bad".into(),
        fail_times: 1,
        fatal: true,
    })
    .unwrap();
    let bad = queue.enqueue(bad.partition("p")).await.unwrap().unwrap();
    let after = queue.enqueue(noop().partition("p")).await.unwrap().unwrap();
    let (token, handle) = start(runner(&queue, &ctx, 2));
    let info = wait_state(&queue, bad, JobState::Dead, 1).await;
    assert_eq!(info.last_error.as_deref(), Some("bad input 1"));
    wait_state(&queue, after, JobState::Done, 1).await;
    token.cancel();
    handle.await.unwrap();

    let page = queue.list(JobState::Dead, 10, None).await.unwrap();
    assert_eq!(page.items.iter().map(|j| j.id).collect::<Vec<_>>(), [bad]);
    assert_eq!(page.next_cursor, None);
    let json = serde_json::to_value(&page.items[0]).unwrap();
    assert_eq!(json["state"], "dead");
    assert_eq!(json["payload"]["name"], "bad");
    assert_eq!(queue.stats().await.unwrap().dead, 1);

    assert!(queue.retry(bad).await.unwrap());
    assert!(!queue.retry(bad).await.unwrap(), "only dead jobs are retried");
    assert_eq!(job(&queue, bad).await.attempts, 0);
    let (token, handle) = start(runner(&queue, &ctx, 2));
    wait_state(&queue, bad, JobState::Done, 1).await;
    token.cancel();
    handle.await.unwrap();
    assert_eq!(queue.stats().await.unwrap().dead, 0);
}

async fn unknown_kind_and_panic_are_dead(db: Database) {
    let (queue, _) = setup(db).await;
    let (ctx, _started) = ctx();
    let unknown = queue
        .enqueue(NewJob::raw("no.such.kind", &serde_json::json!({})).unwrap())
        .await
        .unwrap();
    let panics = queue.enqueue(NewJob::new(&Panicky {}).unwrap()).await.unwrap();
    let garbled = queue
        .enqueue(NewJob::raw("flaky", &serde_json::json!({"x": 1})).unwrap())
        .await
        .unwrap();
    let (token, handle) = start(runner(&queue, &ctx, 2));
    let u = wait_state(&queue, unknown.unwrap(), JobState::Dead, 1).await;
    assert!(
        u.last_error
            .unwrap()
            .contains("no handler registered for job kind \"no.such.kind\"")
    );
    let p = wait_state(&queue, panics.unwrap(), JobState::Dead, 1).await;
    assert!(p.last_error.unwrap().contains("job panicked: kaboom"));
    let g = wait_state(&queue, garbled.unwrap(), JobState::Dead, 1).await;
    assert!(g.last_error.unwrap().contains("does not decode"));
    token.cancel();
    handle.await.unwrap();
}

async fn cancel(db: Database) {
    let (queue, _) = setup(db).await;
    let later = |kind: &str| NewJob::raw(kind, &()).unwrap().partition("alert:1").delay(LEASE);
    let t1 = queue.enqueue(later("timer.escalate")).await.unwrap().unwrap();
    let t2 = queue.enqueue(later("timer.autoclose")).await.unwrap().unwrap();
    let other = queue.enqueue(later("notify.slack")).await.unwrap().unwrap();
    let elsewhere = queue
        .enqueue(later("timer.escalate").partition("alert:2"))
        .await
        .unwrap()
        .unwrap();
    let keyed = queue
        .enqueue(noop().dedup("k").delay(LEASE))
        .await
        .unwrap()
        .unwrap();
    let running = queue.enqueue(noop()).await.unwrap().unwrap();
    let claimed = queue.claim("w", 10, LEASE).await.unwrap();
    assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), [running]);

    assert_eq!(queue.cancel_partition("alert:1", "timer.").await.unwrap(), 2);
    assert!(queue.get(t1).await.unwrap().is_none());
    assert!(queue.get(t2).await.unwrap().is_none());
    assert!(queue.get(other).await.unwrap().is_some());
    assert!(queue.get(elsewhere).await.unwrap().is_some());
    // Prefixes are literal: LIKE wildcards match nothing.
    assert_eq!(queue.cancel_partition("alert:2", "timer%").await.unwrap(), 0);
    assert_eq!(queue.cancel_partition("alert:2", "").await.unwrap(), 1);

    assert!(queue.cancel_by_key("k").await.unwrap());
    assert!(!queue.cancel_by_key("k").await.unwrap());
    assert!(queue.get(keyed).await.unwrap().is_none());
    assert!(
        !queue.cancel(running).await.unwrap(),
        "a running job is not cancelled"
    );
    assert!(queue.cancel(other).await.unwrap());
    assert!(!queue.cancel(other).await.unwrap());
}

async fn graceful_shutdown_releases_leases(db: Database) {
    let (queue, _) = setup(db).await;
    let (ctx, mut started) = ctx();
    let quick = queue
        .enqueue(NewJob::new(&Blocker { gate: 0 }).unwrap())
        .await
        .unwrap()
        .unwrap();
    let stuck = queue
        .enqueue(NewJob::new(&Blocker { gate: 1 }).unwrap())
        .await
        .unwrap()
        .unwrap();
    let (token, handle) = start(runner(&queue, &ctx, 2));
    let mut seen = [started.recv().await.unwrap(), started.recv().await.unwrap()];
    seen.sort_unstable();
    assert_eq!(seen, [0, 1]);

    // Shutdown: the quick job finishes within the deadline, the stuck one is released.
    token.cancel();
    ctx.gates[0].add_permits(1);
    handle.await.unwrap();
    assert_eq!(job(&queue, quick).await.state, JobState::Done);
    let released = job(&queue, stuck).await;
    assert_eq!(
        (released.state, released.attempts, released.lease_owner),
        (JobState::Ready, 0, None)
    );

    // Another runner takes it at once, with no lease to wait out.
    ctx.gates[1].add_permits(1);
    let (token, handle) = start(runner(&queue, &ctx, 2));
    assert_eq!(started.recv().await.unwrap(), 1);
    wait_state(&queue, stuck, JobState::Done, 1).await;
    token.cancel();
    handle.await.unwrap();
}

async fn enqueue_in_follows_the_transaction(db: Database) {
    let (queue, _) = setup(db.clone()).await;
    let mut tx = db.pool.begin().await.unwrap();
    let id = queue
        .enqueue_in(&mut tx, noop().partition("a"))
        .await
        .unwrap()
        .unwrap();
    tx.rollback().await.unwrap();
    assert!(queue.get(id).await.unwrap().is_none());
    assert_eq!(queue.stats().await.unwrap().ready, 0);

    let mut tx = db.pool.begin().await.unwrap();
    let id = queue
        .enqueue_in(&mut tx, noop().partition("a"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(queue.cancel_partition_in(&mut tx, "b", "").await.unwrap(), 0);
    tx.commit().await.unwrap();
    queue.notify();
    assert_eq!(job(&queue, id).await.state, JobState::Ready);
}

async fn enqueue_many_and_stats(db: Database) {
    let (queue, _) = setup(db).await;
    let jobs: Vec<NewJob> = (0..12_000)
        .map(|i| noop().partition(format!("p{}", i % 3)))
        .collect();
    let ids = queue.enqueue_many(&jobs).await.unwrap();
    assert_eq!(ids.len(), 12_000);
    let stats = queue.stats().await.unwrap();
    assert_eq!(
        (stats.ready, stats.running, stats.done, stats.dead),
        (12_000, 0, 0, 0)
    );
    // Within a partition, a batch keeps its order.
    let claimed = queue.claim("w", 100, LEASE).await.unwrap();
    let mut firsts: Vec<JobId> = claimed.iter().map(|j| j.id).collect();
    firsts.sort_unstable();
    let mut expected = ids[..3].to_vec();
    expected.sort_unstable();
    assert_eq!(firsts, expected);

    let page = queue.list(JobState::Ready, 5, None).await.unwrap();
    assert_eq!(page.items.len(), 5);
    let next = queue.list(JobState::Ready, 5, page.next_cursor).await.unwrap();
    assert!(next.items[0].id > page.items[4].id);
}

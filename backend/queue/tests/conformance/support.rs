//! Helpers and job kinds shared by the conformance tests.

pub(crate) use std::{
    collections::HashMap,
    future::Future,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

pub(crate) use klaxon_db::Database;
pub(crate) use klaxon_queue::{
    BackgroundJob, Clock, Dedup, JobError, JobId, JobInfo, JobState, ManualClock, NewJob, Queue, RetryPolicy,
    Runner, RunnerSettings,
};
pub(crate) use serde::{Deserialize, Serialize};
pub(crate) use tokio::sync::{Barrier, Semaphore, mpsc};
pub(crate) use tokio_util::sync::CancellationToken;

pub(crate) const T0: i64 = 1_700_000_000_000;
pub(crate) const LEASE: Duration = Duration::from_secs(30);

pub(crate) async fn setup(db: Database) -> (Queue, Arc<ManualClock>) {
    klaxon_queue::MIGRATOR.run(&db).await.expect("migrate");
    let clock = Arc::new(ManualClock::new(T0));
    (Queue::with_clock(db, clock.clone()), clock)
}

/// Shared by every test job kind.
pub(crate) struct Ctx {
    pub(crate) barrier: Barrier,
    pub(crate) active: Mutex<HashMap<String, usize>>,
    pub(crate) overlap_seen: AtomicUsize,
    pub(crate) log: Mutex<Vec<(String, u32)>>,
    pub(crate) calls: Mutex<HashMap<String, u32>>,
    pub(crate) gates: [Semaphore; 2],
    pub(crate) started: mpsc::UnboundedSender<u8>,
    /// The size of every batch a batching kind was handed.
    pub(crate) batches: Mutex<Vec<usize>>,
}

pub(crate) type C = Arc<Ctx>;

pub(crate) fn ctx() -> (C, mpsc::UnboundedReceiver<u8>) {
    let (started, rx) = mpsc::unbounded_channel();
    let ctx = Ctx {
        barrier: Barrier::new(2),
        active: Mutex::default(),
        overlap_seen: AtomicUsize::new(0),
        log: Mutex::default(),
        calls: Mutex::default(),
        gates: [Semaphore::new(0), Semaphore::new(0)],
        started,
        batches: Mutex::default(),
    };
    (Arc::new(ctx), rx)
}

#[derive(Serialize, Deserialize)]
pub(crate) struct Noop {}

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
pub(crate) struct Rendezvous {
    pub(crate) partition: String,
    pub(crate) seq: u32,
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
pub(crate) struct Flaky {
    pub(crate) name: String,
    pub(crate) fail_times: u32,
    pub(crate) fatal: bool,
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
pub(crate) struct Panicky {}

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
pub(crate) struct Blocker {
    pub(crate) gate: u8,
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

/// Runs in batches of up to 4: records each batch's size, then fails or succeeds each job as its `outcome`
/// says (`ok`, `retry`, `fatal`).
#[derive(Serialize, Deserialize)]
pub(crate) struct Batched {
    pub(crate) outcome: String,
}

#[async_trait::async_trait]
impl BackgroundJob for Batched {
    const KIND: &'static str = "batched";
    const BATCH: usize = 4;
    const RETRY_POLICY: RetryPolicy = RetryPolicy::DEFAULT.with_max_attempts(2);
    type Context = C;
    async fn run(&self, ctx: &C) -> Result<(), JobError> {
        Self::run_batch(
            vec![Self {
                outcome: self.outcome.clone(),
            }],
            ctx,
        )
        .await
        .remove(0)
    }
    async fn run_batch(jobs: Vec<Self>, ctx: &C) -> Vec<Result<(), JobError>> {
        ctx.batches.lock().unwrap().push(jobs.len());
        jobs.iter()
            .map(|j| match j.outcome.as_str() {
                "ok" => Ok(()),
                "fatal" => Err(JobError::fatal("bad input")),
                _ => Err(JobError::retryable("try again")),
            })
            .collect()
    }
}

/// Defers itself (`JobError::Defer`) its first `defers` calls, then asks for a retry after a given wait
/// (`JobError::RetryAfter`) `waits` times, then succeeds.
#[derive(Serialize, Deserialize)]
pub(crate) struct Patient {
    pub(crate) name: String,
    pub(crate) defers: u32,
    pub(crate) waits: u32,
}

#[async_trait::async_trait]
impl BackgroundJob for Patient {
    const KIND: &'static str = "patient";
    const RETRY_POLICY: RetryPolicy = RetryPolicy::DEFAULT
        .with_max_attempts(3)
        .with_delays(Duration::from_secs(1), Duration::from_secs(1));
    type Context = C;
    async fn run(&self, ctx: &C) -> Result<(), JobError> {
        let n = {
            let mut calls = ctx.calls.lock().unwrap();
            let n = calls.entry(self.name.clone()).or_default();
            *n += 1;
            *n
        };
        if n <= self.defers {
            Err(JobError::defer("channel pace", Duration::from_secs(10)))
        } else if n <= self.defers + self.waits {
            Err(JobError::retry_after("429", Duration::from_secs(120)))
        } else {
            Ok(())
        }
    }
}

pub(crate) fn runner(queue: &Queue, ctx: &C, workers: usize) -> Runner<C> {
    Runner::new(queue.clone(), ctx.clone())
        .register::<Noop>()
        .register::<Rendezvous>()
        .register::<Flaky>()
        .register::<Panicky>()
        .register::<Blocker>()
        .register::<Batched>()
        .register::<Patient>()
        .with_settings(RunnerSettings {
            workers,
            poll_interval: Duration::from_millis(50),
            shutdown_deadline: Duration::from_millis(300),
            ..RunnerSettings::default()
        })
}

pub(crate) fn start(runner: Runner<C>) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let token = CancellationToken::new();
    let handle = tokio::spawn({
        let token = token.clone();
        async move { runner.run(token).await.unwrap() }
    });
    (token, handle)
}

/// Waits (bounded) until `check` holds; used for "the runner has recorded the outcome", never for ordering.
pub(crate) async fn until<F: Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub(crate) async fn job(queue: &Queue, id: JobId) -> JobInfo {
    queue.get(id).await.unwrap().expect("job exists")
}

pub(crate) async fn wait_state(queue: &Queue, id: JobId, state: JobState, attempts: u32) -> JobInfo {
    until(&format!("job {id} {state:?}/{attempts}"), || async {
        let j = job(queue, id).await;
        j.state == state && j.attempts == attempts
    })
    .await;
    job(queue, id).await
}

pub(crate) fn noop() -> NewJob {
    NewJob::new(&Noop {}).unwrap()
}

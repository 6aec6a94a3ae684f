//! The runner: a pool of workers that claim due jobs, run the registered handler of each job's kind, and
//! record the outcome (done, retry after a back-off, or dead).
//!
//! One dispatcher claims jobs in batches as worker slots free up; each job runs in its own task under a
//! tracing span (`id`, `kind`, `attempt`), or, for a kind that runs in batches
//! ([`BackgroundJob::BATCH`]), with up to that many others of its kind in one task, each still holding a
//! worker slot and recorded on its own. Panics are caught and counted as retryable failures. Successful
//! completions are written in batches by one completer. One maintenance task extends every lease this runner
//! holds (one statement, however many jobs) and puts expired leases of any replica back to ready. On
//! PostgreSQL a listener turns NOTIFY into wake-ups; polling stays the fallback.
//!
//! Shutdown (the token is cancelled): claiming stops, running jobs get [`RunnerSettings::shutdown_deadline`]
//! to finish, then the rest are aborted and their leases released, so another process takes them at once and
//! the interrupted attempt is not counted.

use std::{
    any::Any,
    collections::HashMap,
    panic::AssertUnwindSafe,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use futures::FutureExt;
use tokio::{
    sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot},
    task::JoinSet,
};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::{
    BackgroundJob, ClaimedJob, Error, JobError, JobId, Queue, RetryPolicy, clock::duration_ms,
    handler::Handler,
};

/// How a runner claims and runs jobs.
#[derive(Debug, Clone)]
pub struct RunnerSettings {
    /// Jobs run at the same time.
    pub workers: usize,
    /// Most jobs claimed in one statement.
    pub claim_batch: u32,
    /// How long a claim stays valid without a heartbeat; heartbeats come every third of it.
    pub lease: Duration,
    /// Longest sleep between claims when nothing wakes the runner (the fallback for missed wake-ups, and how
    /// often expired leases are reclaimed).
    pub poll_interval: Duration,
    /// How long running jobs may take to finish after shutdown starts.
    pub shutdown_deadline: Duration,
    /// This runner's name in lease rows; unique per runner.
    pub owner: String,
    /// How long done jobs are kept, [`crate::Dedup::Forever`] ones included, before the runner deletes them
    /// (checked every [`PURGE_EVERY`]); `None` keeps them. Dead jobs are kept until retried.
    pub retention: Option<Duration>,
}

/// How often a runner with a retention deletes old done jobs.
pub const PURGE_EVERY: Duration = Duration::from_secs(3600);

impl Default for RunnerSettings {
    fn default() -> Self {
        Self {
            workers: 16,
            claim_batch: 256,
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_secs(1),
            shutdown_deadline: Duration::from_secs(10),
            owner: format!("runner-{}", uuid::Uuid::new_v4().simple()),
            retention: None,
        }
    }
}

/// Runs the registered job kinds with a shared context `C`.
pub struct Runner<C> {
    queue: Queue,
    ctx: C,
    handlers: HashMap<&'static str, Handler<C>>,
    settings: RunnerSettings,
}

/// What every job task of one run shares.
struct Shared<C> {
    queue: Queue,
    ctx: C,
    handlers: HashMap<&'static str, Handler<C>>,
    /// Jobs claimed and not yet reported; whatever is left here after an aborted shutdown is released.
    inflight: Mutex<HashMap<JobId, ClaimedJob>>,
}

/// A successful job waiting for the completer, and where to say whether its claim was still current.
type Completion = (JobId, i64, oneshot::Sender<bool>);

impl<C: Clone + Send + Sync + 'static> Runner<C> {
    /// A runner on `queue` with default settings and no kinds registered.
    pub fn new(queue: Queue, ctx: C) -> Self {
        Self {
            queue,
            ctx,
            handlers: HashMap::new(),
            settings: RunnerSettings::default(),
        }
    }

    /// Registers job kind `J` (a later registration of the same kind replaces it).
    #[must_use]
    pub fn register<J: BackgroundJob<Context = C>>(mut self) -> Self {
        self.handlers.insert(J::KIND, Handler::of::<J>());
        self
    }

    /// Replaces the settings.
    #[must_use]
    pub fn with_settings(mut self, settings: RunnerSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The settings in use.
    pub fn settings(&self) -> &RunnerSettings {
        &self.settings
    }

    /// Runs until `shutdown` is cancelled, then shuts down gracefully (see the module docs).
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), Error> {
        let Self {
            queue,
            ctx,
            handlers,
            settings,
        } = self;
        let shared = Arc::new(Shared {
            queue,
            ctx,
            handlers,
            inflight: Mutex::new(HashMap::new()),
        });
        let background = CancellationToken::new();
        let maintenance = tokio::spawn(maintain(shared.clone(), settings.clone(), background.clone()));
        let listener = tokio::spawn(listen(
            shared.queue.clone(),
            settings.poll_interval,
            background.clone(),
        ));
        let (done_tx, done_rx) = mpsc::channel::<Completion>(settings.workers.max(1) * 2);
        let completer = tokio::spawn(complete(shared.queue.clone(), done_rx, settings.lease));
        tracing::info!(owner = %settings.owner, workers = settings.workers, "Job runner started.");

        let mut tasks = dispatch(&shared, &settings, &done_tx, &shutdown).await;

        tracing::info!(owner = %settings.owner, running = tasks.len(), "Job runner stopping.");
        let deadline = tokio::time::sleep(settings.shutdown_deadline);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                next = tasks.join_next() => if next.is_none() { break },
                () = &mut deadline => {
                    tasks.abort_all();
                    while tasks.join_next().await.is_some() {}
                    break;
                }
            }
        }
        // Successes already handed to the completer are written before leases are released, so a job that
        // finished is recorded as done rather than run again.
        drop(done_tx);
        if let Err(e) = completer.await {
            tracing::error!(error = %e, "Job completer failed.");
        }
        let left: Vec<ClaimedJob> = lock(&shared.inflight).drain().map(|(_, job)| job).collect();
        for job in &left {
            match shared.queue.release(job).await {
                Ok(_) => tracing::info!(id = %job.id, kind = %job.kind, "Released unfinished job."),
                Err(e) => {
                    tracing::warn!(id = %job.id, error = %e, "Could not release job; its lease will expire.");
                }
            }
        }
        background.cancel();
        let _ = tokio::join!(maintenance, listener);
        tracing::info!(owner = %settings.owner, released = left.len(), "Job runner stopped.");
        Ok(())
    }
}

/// Claims jobs while slots are free until `shutdown`; returns the tasks still running.
async fn dispatch<C: Clone + Send + Sync + 'static>(
    shared: &Arc<Shared<C>>,
    settings: &RunnerSettings,
    done_tx: &mpsc::Sender<Completion>,
    shutdown: &CancellationToken,
) -> JoinSet<()> {
    let queue = &shared.queue;
    let slots = Arc::new(Semaphore::new(settings.workers.max(1)));
    let mut wake = queue.subscribe();
    let mut tasks = JoinSet::new();
    let mut floor = Floor::new(settings.poll_interval);
    loop {
        // Reap finished tasks so the set does not grow with every job ever run.
        while tasks.try_join_next().is_some() {}
        let first = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit { Ok(p) => p, Err(_) => break },
            () = shutdown.cancelled() => break,
        };
        let limit = u32::try_from(slots.available_permits() + 1)
            .unwrap_or(u32::MAX)
            .min(settings.claim_batch);
        // Mark wake-ups seen before claiming: one arriving during the claim makes the wait below return.
        wake.borrow_and_update();
        let now = queue.now_ms();
        let from = floor.next(queue.take_floor_hint());
        let wait = match queue
            .claim_at(&settings.owner, limit, settings.lease, now, from)
            .await
        {
            Ok(jobs) => {
                let claimed = jobs.len();
                floor.claimed(jobs.iter().map(|j| j.run_at_ms).min());
                let mut first = Some(first);
                // Every job holds a worker slot; jobs of a kind that runs in batches share one task per batch.
                let mut groups: Vec<(Vec<ClaimedJob>, Vec<OwnedSemaphorePermit>)> = Vec::new();
                let mut filling: HashMap<String, usize> = HashMap::new();
                for job in jobs {
                    let permit = match first.take() {
                        Some(p) => p,
                        None => match slots.clone().acquire_owned().await {
                            Ok(p) => p,
                            Err(_) => break,
                        },
                    };
                    lock(&shared.inflight).insert(job.id, job.clone());
                    let batch = shared.handlers.get(job.kind.as_str()).map_or(1, |h| h.batch);
                    match filling.get(&job.kind).copied() {
                        Some(i) if groups[i].0.len() < batch => {
                            groups[i].0.push(job);
                            groups[i].1.push(permit);
                        }
                        _ => {
                            if batch > 1 {
                                filling.insert(job.kind.clone(), groups.len());
                            }
                            groups.push((vec![job], vec![permit]));
                        }
                    }
                }
                for (jobs, permits) in groups {
                    tasks.spawn(run_group(shared.clone(), jobs, permits, done_tx.clone()));
                }
                if claimed as u32 == limit {
                    continue; // more may be due right now
                }
                match queue.next_due_after(now).await {
                    Ok(Some(next)) => {
                        Duration::from_millis(u64::try_from(next.saturating_sub(queue.now_ms())).unwrap_or(0))
                            .min(settings.poll_interval)
                    }
                    Ok(None) => settings.poll_interval,
                    Err(e) => {
                        tracing::warn!(error = %e, "Could not read the next due time.");
                        settings.poll_interval
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "Could not claim jobs; retrying after the poll interval.");
                settings.poll_interval
            }
        };
        tokio::select! {
            _ = wake.changed() => {}
            () = tokio::time::sleep(wait) => {}
            () = shutdown.cancelled() => break,
        }
    }
    tasks
}

/// What became of an attempt: `None` when it succeeded, else the error and when to retry (`None`: never).
/// What became of an attempt that did not succeed: failed (the error and, to retry, when), or deferred (run
/// again at the given time, the attempt given back).
#[derive(Debug, Clone)]
enum Failure {
    Failed(String, Option<i64>),
    Deferred(String, i64),
}

/// Runs claimed jobs of one kind (one job, or a batch of a kind that batches) and records each outcome.
async fn run_group<C: Clone + Send + Sync + 'static>(
    shared: Arc<Shared<C>>,
    jobs: Vec<ClaimedJob>,
    _permits: Vec<OwnedSemaphorePermit>,
    done_tx: mpsc::Sender<Completion>,
) {
    let Some(kind) = jobs.first().map(|j| j.kind.clone()) else {
        return;
    };
    let queue = &shared.queue;
    let handler = shared.handlers.get(kind.as_str());
    let mut failures: Vec<Option<Failure>> = vec![None; jobs.len()];
    let mut runnable = Vec::with_capacity(jobs.len());
    for (i, job) in jobs.iter().enumerate() {
        match handler {
            // Retrying cannot help: no handler will appear in this process.
            None => {
                failures[i] = Some(Failure::Failed(
                    format!("no handler registered for job kind {kind:?}"),
                    None,
                ));
            }
            Some(h) if job.attempt > h.policy.max_attempts.max(1) => {
                failures[i] = Some(Failure::Failed(
                    format!(
                        "attempts used up: the lease of attempt {} expired",
                        job.attempt - 1
                    ),
                    None,
                ));
            }
            Some(_) => runnable.push(i),
        }
    }
    if let Some(h) = handler
        && !runnable.is_empty()
    {
        let span = match runnable.as_slice() {
            [i] => job_span(&jobs[*i]),
            _ => tracing::info_span!("jobs", kind = %kind, count = runnable.len()),
        };
        let payloads = runnable.iter().map(|&i| jobs[i].payload.as_str()).collect();
        let results = match AssertUnwindSafe((h.run)(payloads, &shared.ctx))
            .catch_unwind()
            .instrument(span)
            .await
        {
            Ok(results) => results.into_iter().map(Ok).collect(),
            Err(panic) => {
                let msg = format!("job panicked: {}", panic_message(panic.as_ref()));
                vec![Err(msg); runnable.len()]
            }
        };
        for (&i, result) in runnable.iter().zip(results) {
            failures[i] = match result {
                Ok(Ok(())) => None,
                Ok(Err(JobError::Fatal(msg))) => Some(Failure::Failed(msg, None)),
                Ok(Err(JobError::Retryable(msg))) | Err(msg) => {
                    Some(retry_or_die(queue, &h.policy, jobs[i].attempt, msg, None))
                }
                Ok(Err(JobError::RetryAfter { message, after })) => Some(retry_or_die(
                    queue,
                    &h.policy,
                    jobs[i].attempt,
                    message,
                    Some(after),
                )),
                Ok(Err(JobError::Defer { reason, after })) => Some(Failure::Deferred(
                    reason,
                    queue.now_ms().saturating_add(duration_ms(after)),
                )),
            };
        }
    }
    futures::future::join_all(
        jobs.iter()
            .zip(failures)
            .map(|(job, failure)| record(&shared, job, failure, &done_tx).instrument(job_span(job))),
    )
    .await;
}

fn job_span(job: &ClaimedJob) -> tracing::Span {
    tracing::info_span!("job", id = job.id.0, kind = %job.kind, attempt = job.attempt)
}

/// Records the outcome of one job's attempt.
async fn record<C>(
    shared: &Shared<C>,
    job: &ClaimedJob,
    failure: Option<Failure>,
    done_tx: &mpsc::Sender<Completion>,
) {
    let queue = &shared.queue;
    match failure {
        None => {
            let (tx, rx) = oneshot::channel();
            if done_tx.send((job.id, job.fence, tx)).await.is_ok() {
                match rx.await {
                    Ok(true) => tracing::debug!("Job done."),
                    Ok(false) => tracing::warn!("Job finished after losing its lease; result discarded."),
                    Err(_) => tracing::warn!("Job finished but its completion was not recorded."),
                }
            }
        }
        Some(Failure::Failed(msg, retry_at)) => match queue.fail(job, &msg, retry_at).await {
            Ok(true) if retry_at.is_some() => tracing::warn!(error = %msg, "Job failed; will retry."),
            Ok(true) => tracing::error!(error = %msg, "Job is dead."),
            Ok(false) => tracing::warn!(error = %msg, "Job failed after losing its lease."),
            Err(e) => tracing::error!(error = %e, "Could not record job failure; its lease will expire."),
        },
        Some(Failure::Deferred(reason, at)) => match queue.defer(job, at).await {
            Ok(true) => tracing::debug!(reason = %reason, run_at = at, "Job deferred."),
            Ok(false) => tracing::warn!(reason = %reason, "Job deferred after losing its lease."),
            Err(e) => tracing::error!(error = %e, "Could not defer the job; its lease will expire."),
        },
    }
    // Its partition's next job may be claimable now; let the next claim look back to it.
    if job.partition.is_some() {
        queue.lower_floor(job.order_at_ms);
    }
    lock(&shared.inflight).remove(&job.id);
}

/// Where the next claim starts its scan of due jobs.
///
/// On PostgreSQL every claimed job leaves a dead entry at the left edge of the due index until vacuum
/// removes it, so a scan from the edge walks over every job claimed since the last vacuum: at a million
/// timers that is tens of milliseconds per claim, and claims fell behind. The floor starts the scan near the
/// jobs the last claim took instead. Jobs below it that can become claimable are brought in by hints: one
/// this process enqueues or unblocks (by finishing the job before it in its partition) lowers the floor
/// ([`Queue::lower_floor`]); one released or made claimable by another process, or whose hint was taken by
/// a claim that ran before its transaction committed, is found by a full scan at least every poll interval.
/// [`FLOOR_SLACK`] covers jobs enqueued due a little in the past. SQLite has no dead entries; the floor is
/// harmless there.
struct Floor {
    /// The earliest due time of the last claimed batch.
    last: i64,
    every: Duration,
    next_full: tokio::time::Instant,
}

/// How far before the last claimed batch a claim looks.
const FLOOR_SLACK: Duration = Duration::from_secs(2);

impl Floor {
    fn new(every: Duration) -> Self {
        Self {
            last: i64::MIN,
            every,
            next_full: tokio::time::Instant::now(),
        }
    }

    /// The floor of the next claim, given the hints gathered since the last one.
    fn next(&mut self, hint: i64) -> i64 {
        let now = tokio::time::Instant::now();
        if now >= self.next_full {
            self.next_full = now + self.every;
            return i64::MIN;
        }
        self.last.saturating_sub(duration_ms(FLOOR_SLACK)).min(hint)
    }

    /// Records the earliest due time of what a claim took (`None`: it took nothing, the floor stays).
    fn claimed(&mut self, earliest: Option<i64>) {
        if let Some(t) = earliest {
            self.last = t;
        }
    }
}

/// The error and retry time of a retryable failure (after `after` when the failure said, else the policy's
/// back-off), or no retry time once attempts are used up.
fn retry_or_die(
    queue: &Queue,
    policy: &RetryPolicy,
    attempt: u32,
    msg: String,
    after: Option<Duration>,
) -> Failure {
    if policy.exhausted(attempt) {
        Failure::Failed(
            format!("{msg} (attempt {attempt} of {})", policy.max_attempts),
            None,
        )
    } else {
        let wait = after.unwrap_or_else(|| policy.delay(attempt));
        Failure::Failed(msg, Some(queue.now_ms().saturating_add(duration_ms(wait))))
    }
}

/// Writes successful completions in batches: each statement records as many as have piled up meanwhile. A
/// failed write (a pool time-out under load, a dropped connection) is retried with back-off while the jobs'
/// leases last: dropping it would make a finished job wait out its lease and run again.
async fn complete(queue: Queue, mut rx: mpsc::Receiver<Completion>, lease: Duration) {
    const MAX_BATCH: usize = 1024;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let pairs: Vec<(JobId, i64)> = batch.iter().map(|(id, fence, _)| (*id, *fence)).collect();
        let give_up = tokio::time::Instant::now() + lease / 2;
        let mut backoff = Duration::from_millis(20);
        loop {
            match queue.complete_many(&pairs).await {
                Ok(accepted) => {
                    for (id, _, tx) in batch.drain(..) {
                        let _ = tx.send(accepted.contains(&id));
                    }
                    break;
                }
                Err(e) if tokio::time::Instant::now() + backoff < give_up => {
                    tracing::warn!(error = %e, jobs = batch.len(), "Could not record job completions; retrying.");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
                Err(e) => {
                    // The leases will expire and the jobs run again: at least once, never lost.
                    tracing::error!(error = %e, jobs = batch.len(), "Could not record job completions.");
                    batch.clear();
                    break;
                }
            }
        }
    }
}

/// Heartbeats this runner's leases and reclaims expired ones until `stop`.
async fn maintain<C: Clone + Send + Sync + 'static>(
    shared: Arc<Shared<C>>,
    settings: RunnerSettings,
    stop: CancellationToken,
) {
    let queue = &shared.queue;
    let every = (settings.lease / 3)
        .min(settings.poll_interval)
        .max(Duration::from_millis(10));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Leases are extended every third of a lease, not every tick: each extension writes (and locks) every
    // row in flight, and completions of those rows wait for it.
    let beat_every = (settings.lease / 3).max(every);
    let mut next_beat = tokio::time::Instant::now();
    let mut next_purge = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.cancelled() => return,
        }
        if tokio::time::Instant::now() >= next_beat {
            next_beat = tokio::time::Instant::now() + beat_every;
            // Only the claims still in flight: see `Queue::heartbeat`.
            let claims: Vec<(JobId, i64)> =
                lock(&shared.inflight).values().map(|j| (j.id, j.fence)).collect();
            if let Err(e) = queue.heartbeat(&claims, settings.lease).await {
                tracing::warn!(error = %e, "Could not extend job leases.");
            }
        }
        if let Some(retention) = settings.retention
            && tokio::time::Instant::now() >= next_purge
        {
            next_purge = tokio::time::Instant::now() + PURGE_EVERY;
            let before = queue.now_ms().saturating_sub(duration_ms(retention));
            match queue.purge_done_all(before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(jobs = n, "Deleted done jobs past their retention."),
                Err(e) => tracing::warn!(error = %e, "Could not delete old done jobs."),
            }
        }
        match queue.reclaim_expired().await {
            Ok(0) => {}
            Ok(n) => {
                tracing::warn!(jobs = n, "Reclaimed jobs whose lease expired.");
                // They keep their old due times: the next claim scans from the start.
                queue.lower_floor(i64::MIN);
                queue.notify();
            }
            Err(e) => tracing::warn!(error = %e, "Could not reclaim expired leases."),
        }
    }
}

/// On PostgreSQL, turns NOTIFY on `queue_jobs` into local wake-ups until `stop`; elsewhere does nothing.
async fn listen(queue: Queue, retry: Duration, stop: CancellationToken) {
    if queue.db().dialect != klaxon_db::Dialect::Postgres {
        return;
    }
    loop {
        match sqlx::postgres::PgListener::connect(&queue.db().url).await {
            Ok(mut listener) => match listener.listen("queue_jobs").await {
                Ok(()) => {
                    // Notifications sent while disconnected are lost; look once now.
                    queue.notify();
                    loop {
                        tokio::select! {
                            msg = listener.recv() => match msg {
                                Ok(_) => queue.notify(),
                                Err(e) => {
                                    tracing::warn!(error = %e, "Job wake-up listener lost; polling meanwhile.");
                                    break;
                                }
                            },
                            () = stop.cancelled() => return,
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "Could not LISTEN for job wake-ups; polling meanwhile."),
            },
            Err(e) => {
                tracing::warn!(error = %e, "Could not connect the job wake-up listener; polling meanwhile.");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(retry) => {}
            () = stop.cancelled() => return,
        }
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// Locks the in-flight map; a panic while holding it cannot leave it half-updated, so poison is ignored.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

//! `heartbeat.sweep`: opens the alerts of missed heartbeats. One sweep is pending per deployment, whatever
//! the replicas: the job has a fixed identity held while it waits ([`Dedup::WhilePending`]), every replica
//! enqueues it at start-up (the later ones are no-ops), and each run first enqueues its successor
//! [`period`] later, then sweeps. The chain lives in the queue, so it survives restarts; a run that fails is
//! retried while the successor is already scheduled. Pings never enqueue anything: a ping only writes the
//! heartbeat's last beat, and a miss is found here by the deadline (`alerts::heartbeat::sweep`).

use std::time::Duration;

use klaxon_queue::{BackgroundJob, Dedup, JobError, NewJob, Queue, RetryPolicy};
use serde::{Deserialize, Serialize};

use super::JobContext;
use crate::{alerts, escalation::EngineConfig};

/// The identity of the pending sweep.
const KEY: &str = "heartbeat.sweep";

/// One sweep of every heartbeat.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatSweepJob {}

/// Time between sweeps: half a policy minute (30 s in production, so an alert opens at most 30 s after its
/// deadline), at least 200 ms (a test's shrunk minute) and at most 30 s.
pub fn period(engine: &EngineConfig) -> Duration {
    let half = u64::try_from(engine.minutes_ms(1) / 2).unwrap_or(30_000);
    Duration::from_millis(half.clamp(200, 30_000))
}

impl HeartbeatSweepJob {
    /// The sweep due `after` from now; a no-op when one is pending already.
    pub fn job(after: Duration) -> Result<NewJob, klaxon_queue::Error> {
        Ok(NewJob::new(&Self {})?
            .delay(after)
            .dedup_with(KEY, Dedup::WhilePending))
    }

    /// Makes sure a sweep is pending (at start-up: the first replica's enqueue wins, the others' are no-ops).
    pub async fn start(queue: &Queue) -> Result<(), klaxon_queue::Error> {
        queue.enqueue(Self::job(Duration::ZERO)?).await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl BackgroundJob for HeartbeatSweepJob {
    const KIND: &'static str = "heartbeat.sweep";
    /// A failing sweep (the database away) is retried for as long as it takes, every 30 s at most: should it
    /// fail before its successor was enqueued, it is the only link of the chain, and a dead one would stop
    /// every heartbeat until a replica restarts. A retry that runs beside a successor sweeps twice, which
    /// opens nothing twice.
    const RETRY_POLICY: RetryPolicy = RetryPolicy::DEFAULT
        .with_max_attempts(1_000_000)
        .with_delays(Duration::from_millis(500), Duration::from_secs(30));
    type Context = JobContext;

    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        ctx.queue
            .enqueue(Self::job(period(&ctx.engine)).map_err(JobError::fatal)?)
            .await
            .map_err(JobError::retryable)?;
        let now = ctx.queue.now_ms();
        let opened = alerts::heartbeat::sweep(&ctx.store, &ctx.queue, ctx.engine.minutes_ms(1), now)
            .await
            .map_err(JobError::retryable)?;
        if opened > 0 {
            tracing::info!(opened, "Heartbeat sweep opened missed-alerts.");
        }
        Ok(())
    }
}

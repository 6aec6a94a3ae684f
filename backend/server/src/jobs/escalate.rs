//! `escalation.step`: fires one step of one alert's escalation. The job is the alert's timer: enqueued when
//! the alert opens (due at once) and by each step for the next one (due after the step's wait), in the
//! alert's partition, with an identity naming the alert, round and step that is kept after the job is done,
//! so each step fires at most once however often it is enqueued. Acknowledging or closing the alert cancels
//! the pending timer; a timer that is already running when that happens finds the alert no longer open and
//! does nothing.

use klaxon_queue::{BackgroundJob, JobError, RetryPolicy};

use super::JobContext;
use crate::alerts::{
    self, EscalateJob,
    escalate::{StepError, StepOutcome},
};

/// Logs a step's outcome and turns it into the job's.
fn report(job: &EscalateJob, outcome: Result<StepOutcome, StepError>) -> Result<(), JobError> {
    match outcome {
        Ok(StepOutcome::Notified(n)) => {
            tracing::info!(alert = %job.alert_id, round = job.round, step = job.step,
                notify = n.notify.as_str(), "Escalated.");
            Ok(())
        }
        Ok(StepOutcome::NotReached(n, reason)) => {
            tracing::warn!(alert = %job.alert_id, round = job.round, step = job.step,
                notify = n.notify.as_str(), reason = %reason, "Escalation step reached nobody; the chain goes on.");
            Ok(())
        }
        Ok(StepOutcome::Stale) => {
            tracing::debug!(alert = %job.alert_id, round = job.round, step = job.step,
                "Escalation step no longer applies; nothing to do.");
            Ok(())
        }
        Err(e) => Err(e.into_job_error()),
    }
}

#[async_trait::async_trait]
impl BackgroundJob for EscalateJob {
    const KIND: &'static str = "escalation.step";
    /// What fails here may pass (a Slack outage, a database hiccup; what cannot pass is handled in the step
    /// and moves the chain on): keep the alert scheduled with back-off up to five minutes for about a month
    /// rather than let its escalation die.
    const RETRY_POLICY: RetryPolicy = RetryPolicy::DEFAULT.with_max_attempts(10_000).with_delays(
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(300),
    );
    /// A burst of new alerts starts as many steps at once: a batch costs a few statements, not a few per step.
    const BATCH: usize = 64;
    type Context = JobContext;

    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        let outcome = alerts::escalate::run_step(&ctx.step_deps(), &self.alert_id, self.position()).await;
        report(self, outcome)
    }

    async fn run_batch(jobs: Vec<Self>, ctx: &JobContext) -> Vec<Result<(), JobError>> {
        let steps: Vec<_> = jobs.iter().map(|j| (j.alert_id.as_str(), j.position())).collect();
        let outcomes = alerts::escalate::run_steps(&ctx.step_deps(), &steps).await;
        jobs.iter()
            .zip(outcomes)
            .map(|(job, outcome)| report(job, outcome))
            .collect()
    }
}

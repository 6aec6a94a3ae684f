//! `escalation.step`: fires one step of one alert's escalation. The job is the alert's timer: enqueued when
//! the alert opens (due at once) and by each step for the next one (due after the step's wait), in the
//! alert's partition, with an identity naming the alert, round and step that is kept after the job is done,
//! so each step fires at most once however often it is enqueued. Acknowledging or closing the alert cancels
//! the pending timer; a timer that is already running when that happens finds the alert no longer open and
//! does nothing.

use klaxon_queue::{BackgroundJob, Dedup, JobError, NewJob, RetryPolicy};
use serde::{Deserialize, Serialize};

use super::JobContext;
use crate::{
    alerts::{
        self,
        escalate::{StepError, StepOutcome},
    },
    escalation::Position,
};

/// One step of one alert's escalation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalateJob {
    /// The alert's account (lets the jobs API show an account only its own jobs).
    pub account_id: String,
    /// The alert.
    pub alert_id: String,
    /// The round of the step, from 0.
    pub round: u32,
    /// The step within the round, from 0.
    pub step: u32,
}

impl EscalateJob {
    /// Prefix of the kinds cancelled when an alert stops escalating.
    pub const KIND_PREFIX: &'static str = "escalation.";

    /// The timer for step `pos` of an alert, due at `run_at_ms`.
    pub fn timer(
        account_id: &str,
        alert_id: &str,
        pos: Position,
        run_at_ms: i64,
    ) -> Result<NewJob, klaxon_queue::Error> {
        let job = Self {
            account_id: account_id.to_owned(),
            alert_id: alert_id.to_owned(),
            round: pos.round,
            step: pos.step,
        };
        // The step is the job's identity, kept once done: a step fires at most once, ever.
        let key = format!("{}{}/{}/{}", Self::KIND_PREFIX, alert_id, pos.round, pos.step);
        Ok(NewJob::new(&job)?
            .partition(alerts::partition(alert_id))
            .run_at_ms(run_at_ms)
            .dedup_with(key, Dedup::Forever))
    }

    fn position(&self) -> Position {
        Position {
            round: self.round,
            step: self.step,
        }
    }

    /// Logs a step's outcome and turns it into the job's.
    fn report(&self, outcome: Result<StepOutcome, StepError>) -> Result<(), JobError> {
        match outcome {
            Ok(StepOutcome::Notified(n)) => {
                tracing::info!(alert = %self.alert_id, round = self.round, step = self.step,
                    notify = n.notify.as_str(), "Escalated.");
                Ok(())
            }
            Ok(StepOutcome::Stale) => {
                tracing::debug!(alert = %self.alert_id, round = self.round, step = self.step,
                    "Escalation step no longer applies; nothing to do.");
                Ok(())
            }
            Err(e) => Err(e.into_job_error()),
        }
    }
}

#[async_trait::async_trait]
impl BackgroundJob for EscalateJob {
    const KIND: &'static str = "escalation.step";
    /// Failures are Slack or database hiccups: retry for about ten minutes, then dead-letter.
    const RETRY_POLICY: RetryPolicy = RetryPolicy::DEFAULT.with_max_attempts(10);
    /// A burst of new alerts starts as many steps at once: a batch costs a few statements, not a few per step.
    const BATCH: usize = 64;
    type Context = JobContext;

    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        let outcome = alerts::escalate::run_step(ctx, &self.alert_id, self.position()).await;
        self.report(outcome)
    }

    async fn run_batch(jobs: Vec<Self>, ctx: &JobContext) -> Vec<Result<(), JobError>> {
        let steps: Vec<(&str, Position)> = jobs.iter().map(|j| (j.alert_id.as_str(), j.position())).collect();
        let outcomes = alerts::escalate::run_steps(ctx, &steps).await;
        jobs.iter()
            .zip(outcomes)
            .map(|(job, outcome)| job.report(outcome))
            .collect()
    }
}

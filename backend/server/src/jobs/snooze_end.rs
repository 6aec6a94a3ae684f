//! `escalation.snooze_end`: ends one snooze of one alert when it is due. The job is enqueued by the snooze
//! (due when it ends, named by the alert and the end time, kept once done), and cancelled with the alert's
//! other `escalation.` jobs by what ends or replaces the snooze first (an acknowledgement, a close, a pass,
//! another snooze). Ending clears the snooze, says so in the thread and fires the pending step at once, in one
//! transaction: a retry after a crash finds the snooze ended and does nothing (see `alerts::snooze`).

use std::time::Duration;

use klaxon_queue::{BackgroundJob, JobError, RetryPolicy};

use super::JobContext;
use crate::alerts::snooze::{self, SnoozeEndJob};

#[async_trait::async_trait]
impl BackgroundJob for SnoozeEndJob {
    const KIND: &'static str = "escalation.snooze_end";
    /// Only the database can fail here, and the alert's escalation waits on it: keep trying, as the step
    /// timers do.
    const RETRY_POLICY: RetryPolicy = RetryPolicy::DEFAULT
        .with_max_attempts(10_000)
        .with_delays(Duration::from_secs(1), Duration::from_secs(300));
    type Context = JobContext;

    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        let now = ctx.queue.now_ms();
        let ended = snooze::end(&ctx.store, &ctx.queue, &self.alert_id, self.until_ms, now)
            .await
            .map_err(JobError::retryable)?;
        if ended {
            tracing::info!(alert = %self.alert_id, "Snooze ended.");
        } else {
            tracing::debug!(alert = %self.alert_id, "Snooze already ended or replaced; nothing to do.");
        }
        Ok(())
    }
}

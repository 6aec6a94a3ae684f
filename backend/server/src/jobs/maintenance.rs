//! `maintenance.release`: the end of one alert's maintenance hold. Enqueued when an alert opens during a
//! maintenance window (due at the window's end) and when a window holding alerts is changed or deleted (due at
//! once), in the alert's partition. Each run re-examines the hold against the window as it is now: a window
//! still in effect keeps holding the alert until its current end (a job is enqueued for it); otherwise the
//! alert is released, once, and escalates from its first step if it is still open (see
//! `alerts::maintenance`). Running it twice, or after the alert was acknowledged or closed, changes nothing.

use klaxon_queue::{BackgroundJob, JobError, RetryPolicy};

use super::JobContext;
use crate::alerts::maintenance::{self, Release, ReleaseJob};

#[async_trait::async_trait]
impl BackgroundJob for ReleaseJob {
    const KIND: &'static str = "maintenance.release";
    /// Only the database can fail here: keep trying with back-off up to five minutes for about a month
    /// rather than leave an alert held for ever.
    const RETRY_POLICY: RetryPolicy = RetryPolicy::DEFAULT.with_max_attempts(10_000).with_delays(
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(300),
    );
    type Context = JobContext;

    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        match maintenance::release(&ctx.store, &ctx.queue, &self.alert_id).await {
            Ok(Release::Released { escalates }) => {
                tracing::info!(alert = %self.alert_id, escalates, "Maintenance hold ended.");
                Ok(())
            }
            Ok(Release::Held(until_ms)) => {
                tracing::debug!(alert = %self.alert_id, until_ms, "Still in maintenance.");
                Ok(())
            }
            Ok(Release::Done) => Ok(()),
            Err(e) => Err(JobError::retryable(e)),
        }
    }
}

//! `escalation.remind`: one reminder of an acknowledged alert that stays open (see `alerts::remind`). The job
//! is the reminder's timer, named by the alert and the period and kept once done; the first is enqueued by
//! the acknowledgement and waits out its period here (in the alert's reminder partition, so the wait holds up
//! nothing else), each later one by the reminder before it. Closing the alert cancels the pending one; one
//! already running finds the alert closed and does nothing.

use std::time::Duration;

use klaxon_queue::{BackgroundJob, JobError, RetryPolicy};

use super::JobContext;
use crate::{
    alerts::{self, remind::RemindJob},
    notify::NotifyError,
};

#[async_trait::async_trait]
impl BackgroundJob for RemindJob {
    const KIND: &'static str = "escalation.remind";
    /// What fails here may pass (Slack, the database): keep trying with back-off up to five minutes for
    /// about a day; the next reminder is only enqueued once this one is told, so giving up ends reminders.
    const RETRY_POLICY: RetryPolicy = RetryPolicy::DEFAULT
        .with_max_attempts(300)
        .with_delays(Duration::from_secs(1), Duration::from_secs(300));
    type Context = JobContext;

    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        let Some(alert) = alerts::get_any(&ctx.store, &self.alert_id)
            .await
            .map_err(JobError::retryable)?
        else {
            return Ok(());
        };
        let (Some(user), Some(due), Some(minutes)) = (
            alerts::remind::reminds(&alert).map(str::to_owned),
            self.due(&alert, ctx.engine),
            alert.policy.remind_after_minutes,
        ) else {
            tracing::debug!(alert = %self.alert_id, period = self.period, "No reminder is due: the alert is closed or reminds nobody.");
            return Ok(());
        };
        let now = ctx.queue.now_ms();
        if now < due {
            let wait = Duration::from_millis(u64::try_from(due - now).unwrap_or(0));
            return Err(JobError::defer("the reminder is not due yet", wait));
        }
        if alerts::remind::was_told(&ctx.store, &alert.id, self.period)
            .await
            .map_err(JobError::retryable)?
        {
            return Ok(());
        }
        let Some(slack) = &ctx.slack else {
            // Reminders are direct messages: without Slack there is nobody to tell.
            tracing::debug!(alert = %alert.id, "Slack is not configured: no reminder.");
            return Ok(());
        };
        let reached = match crate::slack::snooze::send_reminder(slack, &alert, &user, self.period, now).await
        {
            Ok(()) => true,
            Err(NotifyError::Permanent(reason) | NotifyError::Workspace(reason)) => {
                // The next period tries again: the person or the workspace may be back by then.
                tracing::warn!(alert = %alert.id, user = %user, reason = %reason, "Could not remind the acknowledger.");
                false
            }
            Err(NotifyError::RetryAfter(m, after)) => return Err(JobError::retry_after(m, after)),
            Err(e) => return Err(JobError::retryable(e)),
        };
        let every = ctx.engine.minutes_ms(minutes).max(1);
        // The next period's time; after an outage longer than a period, a full period from now rather than
        // a burst of the missed ones.
        let next = match due.saturating_add(every) {
            next if next > now => next,
            _ => now.saturating_add(every),
        };
        let told = alerts::remind::told(
            &ctx.store,
            &ctx.queue,
            &alert.id,
            &user,
            self.period,
            reached,
            next,
            now,
        )
        .await
        .map_err(JobError::retryable)?;
        if told && reached {
            tracing::info!(alert = %alert.id, user = %user, period = self.period, "Reminded the acknowledger.");
        }
        Ok(())
    }
}

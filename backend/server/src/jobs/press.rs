//! `slack.press`: applies a button press. The interactivity endpoint only checks Slack's signature, records
//! the press as this job (sharing commits with other presses under load) and answers 200 at once; this job
//! does the rest: finds the alert, checks it belongs to the workspace pressed in, acknowledges, closes or
//! passes it as the person who pressed (idempotently: a double press or a repeated delivery changes nothing
//! twice), and the message sync that the change enqueues updates every message. A press that changes nothing
//! (the alert is already closed, unknown, or another workspace's) gets a private explanation, never an
//! error.

use std::time::Duration;

use klaxon_queue::{BackgroundJob, JobError, NewJob, RetryPolicy};
use serde::{Deserialize, Serialize};

use super::JobContext;
use crate::{
    alerts::{self, Action, AlertError, AlertKind, AlertStatus, StoredAlert},
    slack::{interactions::Press, render},
};

/// A press to apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PressJob {
    /// What was pressed, by whom, where.
    pub press: Press,
}

impl PressJob {
    /// The job of `press`: in the alert's press partition, so two presses of one alert apply in order.
    pub fn of(press: Press) -> Result<NewJob, klaxon_queue::Error> {
        let partition = format!("press:{}", press.alert_id);
        Ok(NewJob::new(&Self { press })?.partition(partition))
    }
}

#[async_trait::async_trait]
impl BackgroundJob for PressJob {
    const KIND: &'static str = "slack.press";
    const RETRY_POLICY: RetryPolicy = RetryPolicy::DEFAULT
        .with_max_attempts(10)
        .with_delays(Duration::from_secs(1), Duration::from_secs(60));
    type Context = JobContext;

    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        let p = &self.press;
        let action = p.action();
        let snooze = p.action.starts_with(crate::slack::snooze::ACTION_PREFIX);
        if action.is_none() && !snooze {
            return Ok(());
        }
        let alert = alerts::get_any(&ctx.store, &p.alert_id)
            .await
            .map_err(JobError::retryable)?;
        let team = match (&alert, &ctx.slack) {
            (Some(a), Some(slack)) => slack.team_of(&a.account_id).await,
            _ => None,
        };
        // A press in another workspace than the alert's (one that Klaxon's message could not be in).
        let foreign = alert.is_some() && team.is_some_and(|t| t != p.team_id);
        let Some(alert) = alert.filter(|_| !foreign) else {
            self.tell(
                ctx,
                "This alert is not known to Klaxon in this workspace; nothing was changed.",
            )
            .await;
            return Ok(());
        };
        let now = ctx.queue.now_ms();
        if snooze {
            if let Some(text) = crate::slack::snooze::apply(ctx, p, &alert, now).await? {
                self.tell(ctx, &text).await;
            }
            return Ok(());
        }
        let Some(action) = action else {
            return Ok(());
        };
        match alerts::act(
            &ctx.store,
            &ctx.queue,
            &alert.account_id,
            &alert.id,
            action,
            Some(&p.user_id),
            now,
        )
        .await
        {
            Ok(acted) if acted.changed => {
                tracing::info!(alert = %alert.id, action = action.as_str(), by = %p.user_id, "Button press applied.");
                Ok(())
            }
            Ok(acted) => {
                self.tell(ctx, &unchanged(&acted.alert, action, &p.user_id)).await;
                Ok(())
            }
            Err(AlertError::Conflict(message)) => {
                self.tell(ctx, &format!("Nothing was changed: {message}.")).await;
                Ok(())
            }
            Err(AlertError::NotFound) => {
                self.tell(ctx, "This alert no longer exists; nothing was changed.")
                    .await;
                Ok(())
            }
            Err(e) => Err(JobError::retryable(e)),
        }
    }
}

impl PressJob {
    /// Tells the presser privately (best effort: the press itself is done or refused either way).
    async fn tell(&self, ctx: &JobContext, text: &str) {
        let (Some(slack), Some(url)) = (&ctx.slack, &self.press.response_url) else {
            return;
        };
        if let Err(e) = slack.client.respond(url, &render::ephemeral(text)).await {
            tracing::warn!(alert = %self.press.alert_id, error = %e, "Could not answer a button press privately.");
        }
    }
}

/// Why a press changed nothing, for the presser.
fn unchanged(alert: &StoredAlert, action: Action, presser: &str) -> String {
    let who = |by: &Option<String>| match by.as_deref() {
        Some(u) if u == presser => " by you".to_owned(),
        Some(u) => format!(" by <@{u}>"),
        None => String::new(),
    };
    match (alert.kind, alert.status, action) {
        (AlertKind::Notification, ..) => {
            "This is a notification: there is nothing to acknowledge, close or pass.".into()
        }
        (_, AlertStatus::Closed, _) if alert.auto_closed => {
            "This alert was already closed automatically (a recovery arrived); nothing was changed.".into()
        }
        (_, AlertStatus::Closed, _) => format!(
            "This alert was already closed{}; nothing was changed.",
            who(&alert.closed_by)
        ),
        (_, AlertStatus::Acknowledged, Action::Ack) => {
            format!(
                "This alert is already acknowledged{}.",
                who(&alert.acknowledged_by)
            )
        }
        (_, AlertStatus::Acknowledged, _) => format!(
            "This alert is acknowledged{}, so it is no longer escalating; nothing was passed.",
            who(&alert.acknowledged_by)
        ),
        (_, AlertStatus::Open, Action::Pass) => {
            "Every escalation step of this alert has run: there is nobody left to pass it to.".into()
        }
        (_, AlertStatus::Open, _) => "Nothing was changed.".into(),
    }
}

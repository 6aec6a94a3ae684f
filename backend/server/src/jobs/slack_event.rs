//! `slack.event`: acts on an Events API delivery. The events endpoint only checks Slack's signature,
//! records the event as this job and answers 200 at once (Slack wants an answer within 3 s). The job's
//! identity is the event's `event_id`, so a retried delivery (`X-Slack-Retry-Num`, same `event_id`) is
//! recorded once and acted on once. Events of one workspace apply in order.
//!
//! `app_uninstalled` and `tokens_revoked` (they come in either order) make the workspace inactive, unless
//! it installed Klaxon again after the event; `app_mention` is answered in the mention's thread.

use std::time::Duration;

use klaxon_queue::{BackgroundJob, JobError, NewJob, RetryPolicy};
use serde::{Deserialize, Serialize};

use super::JobContext;
use crate::{
    alerts,
    slack::{
        Slack, SlackError,
        events::{Event, EventKind, Verb, verb},
        installs, render,
    },
};

/// An event to act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventJob {
    /// The event.
    pub event: Event,
}

impl EventJob {
    /// The job of `event`: one per `event_id`, in its workspace's partition.
    pub fn of(event: Event) -> Result<NewJob, klaxon_queue::Error> {
        let dedup = format!("slack-event:{}", event.event_id);
        let partition = format!("slack-team:{}", event.team_id);
        Ok(NewJob::new(&Self { event })?.partition(partition).dedup(dedup))
    }
}

/// Most alerts listed in an answer.
const LISTED: u32 = 20;

#[async_trait::async_trait]
impl BackgroundJob for EventJob {
    const KIND: &'static str = "slack.event";
    const RETRY_POLICY: RetryPolicy = RetryPolicy::DEFAULT
        .with_max_attempts(8)
        .with_delays(Duration::from_secs(1), Duration::from_secs(60));
    type Context = JobContext;

    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        let Some(slack) = &ctx.slack else {
            return Ok(());
        };
        let e = &self.event;
        match &e.kind {
            EventKind::AppUninstalled | EventKind::TokensRevoked => {
                let reason = match e.kind {
                    EventKind::AppUninstalled => "app_uninstalled",
                    _ => "tokens_revoked",
                };
                slack
                    .deactivate(&e.team_id, reason, e.event_ms)
                    .await
                    .map_err(JobError::retryable)?;
                Ok(())
            }
            EventKind::AppMention {
                channel,
                text,
                thread_ts,
                ..
            } => {
                let accounts = accounts_of_team(&ctx.store, slack, &e.team_id)
                    .await
                    .map_err(JobError::retryable)?;
                let Some(account) = accounts else {
                    tracing::info!(team = %e.team_id, "A mention from a workspace Klaxon does not post to; not answered.");
                    return Ok(());
                };
                let message = answer_from(&ctx.store, account.as_deref(), &verb(text), "@klaxon")
                    .await
                    .map_err(JobError::retryable)?;
                let ws = match &account {
                    Some(a) => slack.workspace(a).await.map_err(super::sync::job_error)?,
                    None => match slack.configured() {
                        Some(ws) => ws.clone(),
                        None => return Ok(()),
                    },
                };
                match slack
                    .post_in(&ws, channel, &message, Some(thread_ts), false)
                    .await
                {
                    Ok(_) => Ok(()),
                    Err(SlackError::Inactive { .. }) => Ok(()),
                    Err(e) => Err(super::sync::job_error(e)),
                }
            }
        }
    }
}

/// Whose alerts workspace `team_id` shows: `Some(Some(account))` for an installed workspace, `Some(None)`
/// for the configured one (every account without an install), `None` for a workspace Klaxon does not post
/// to (an inactive install, or an unknown team).
pub async fn accounts_of_team(
    store: &crate::store::Store,
    slack: &Slack,
    team_id: &str,
) -> Result<Option<Option<String>>, sqlx::Error> {
    if let Some(install) = installs::by_team(store, team_id).await? {
        return Ok(install.active.then_some(Some(install.account_id)));
    }
    Ok(slack
        .configured()
        .filter(|ws| ws.team_id().is_none_or(|t| t == team_id))
        .map(|_| None))
}

/// The answer to `verb` for a workspace's accounts (see [`accounts_of_team`]), spoken to as `how`.
pub async fn answer_from(
    store: &crate::store::Store,
    account: Option<&str>,
    verb: &Verb,
    how: &str,
) -> Result<crate::slack::blocks::Message, alerts::AlertError> {
    Ok(match verb {
        Verb::OpenAlerts => {
            let (open, total) = alerts::open_in_workspace(store, account, LISTED).await?;
            render::open_alerts(&open, total)
        }
        Verb::Help => render::help(how, None),
        Verb::Unknown(said) => render::help(how, Some(said)),
    })
}

//! `slack.sync`: brings one alert's Slack messages up to date with the alert. Enqueued by every change of
//! the alert, in the change's transaction (`alerts::SyncJob`), in a partition of its own per alert (so a
//! Slack outage never holds up escalation timers), coalescing while it waits.
//!
//! One run: posts the alert's channel message if it has none yet (at the channel's pace; when more alerts
//! wait for the channel than it can show soon, the alert goes to the channel's digest instead); updates the
//! channel message and the escalation DMs that show an older version (at most every three seconds each);
//! then tells the new history lines in the thread, in order, each once. Whatever Slack cannot take yet (the
//! pace, a 429, an unhealthy workspace) defers the job without spending an attempt; a message Slack refuses
//! (`invalid_blocks`) kills the job, dead-lettered for an operator, and blocks nothing else.
//!
//! A crash between a post and its record makes the retry post again: at most one duplicate per crash, the
//! price of never losing a message.

use std::time::Duration;

use klaxon_queue::{BackgroundJob, JobError, RetryPolicy};

use super::{DigestJob, JobContext};
use crate::{
    alerts::{self, StoredAlert, SyncJob},
    slack::{
        Slack, SlackError,
        pace::CHANNEL_POSTS,
        render::{self, Recent},
        store::{self, Kind, NewPosted},
    },
};

/// Least time between two updates of one message (Slack's guidance for `chat.update`).
pub const UPDATE_SPACING_MS: i64 = 3000;
/// More alerts than this waiting for one channel's pace is a storm: later ones go to the digest.
pub const DIGEST_AFTER: usize = 10;
/// An alert that has waited this long for its channel's pace, with others waiting too (a storm, not a slow
/// Slack), goes to the digest: it must be seen soon.
pub const LONGEST_WAIT: Duration = Duration::from_secs(10);
/// How many alerts must wait for a channel before [`LONGEST_WAIT`] sends one to the digest.
const STORM_AT: usize = 4;
/// How long an unhealthy workspace's work waits before it looks again.
const UNHEALTHY_WAIT: Duration = Duration::from_secs(60);

#[async_trait::async_trait]
impl BackgroundJob for SyncJob {
    const KIND: &'static str = "slack.sync";
    /// Transient failures (timeouts, 5xx) are retried for a few minutes; waits Slack asks for are deferrals
    /// and cost no attempt.
    const RETRY_POLICY: RetryPolicy = RetryPolicy::DEFAULT
        .with_max_attempts(8)
        .with_delays(Duration::from_secs(2), Duration::from_secs(120));
    type Context = JobContext;

    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        let Some(slack) = &ctx.slack else {
            return Ok(());
        };
        sync(slack, ctx, &self.alert_id).await
    }
}

/// How a Slack failure ends this run of a job: the workspace and rate limits defer, transient failures
/// retry, refusals are fatal.
pub(super) fn job_error(e: SlackError) -> JobError {
    match e {
        SlackError::Workspace { code } => {
            JobError::defer(format!("Slack workspace unhealthy: {code}"), UNHEALTHY_WAIT)
        }
        // Became inactive during this run: the next run sees it and ends.
        SlackError::Inactive { reason } => JobError::defer(
            format!("Slack workspace inactive: {reason}"),
            Duration::from_secs(5),
        ),
        SlackError::RateLimited { retry_after, .. } => JobError::defer("Slack rate limit", retry_after),
        SlackError::Transient { .. } => JobError::retryable(e),
        SlackError::Api { .. } => JobError::fatal(e),
    }
}

fn db_error(e: impl std::fmt::Display) -> JobError {
    JobError::retryable(e)
}

async fn sync(slack: &Slack, ctx: &JobContext, alert_id: &str) -> Result<(), JobError> {
    let db = ctx.store.database();
    let Some(alert) = alerts::get_any(&ctx.store, alert_id).await.map_err(db_error)? else {
        return Ok(());
    };
    if !usable(slack, &alert.account_id).await? {
        return Ok(());
    }
    let account = alert.account_id.as_str();
    let history = alerts::log::since(db, &alert.id, 0).await.map_err(db_error)?;
    let recent = Recent::of(history.iter().map(|e| &e.line));
    let posted = store::of_alert(db, &alert.id).await.map_err(db_error)?;
    let now = ctx.queue.now_ms();

    // 1. The channel message: post it, or bring it up to date.
    let mut parent = posted.iter().find(|m| m.kind == Kind::Channel).cloned();
    match &parent {
        None if alert.slack_delivery.as_deref() == Some("digest") => {
            refresh_digest(ctx, &alert).await?;
        }
        None => {
            let Ok(team) = ctx.store.get_team(&alert.account_id, &alert.team_id).await else {
                tracing::warn!(alert = %alert.id, "The alert's team is gone: its channel message cannot be posted.");
                return Ok(());
            };
            let channel = team.slack_channel;
            let key = slack.channel_key(account, &channel).await;
            if let Err(wait) = slack.client.pacer().try_take(&key, CHANNEL_POSTS) {
                let (waiting, waited) = slack.wait_for_channel(&key, &alert.id);
                if waiting > DIGEST_AFTER || (waited > LONGEST_WAIT && waiting >= STORM_AT) {
                    slack.done_waiting(&key, &alert.id);
                    alerts::set_slack_delivery(&ctx.store, &alert.id, "digest")
                        .await
                        .map_err(db_error)?;
                    tracing::info!(alert = %alert.id, channel, "Channel busy: the alert goes to the channel's digest.");
                    return refresh_digest(ctx, &alert).await;
                }
                // A little spread, so the waiting alerts do not all come back at the same instant.
                let spread = Duration::from_millis(rand::random::<u64>() % 250);
                return Err(JobError::defer(format!("channel {channel} pace"), wait + spread));
            }
            let message = render::channel_message(&alert, &recent);
            let (ts, channel) = slack
                .post_joining(account, &channel, &message, None, false)
                .await
                .map_err(job_error)?;
            slack.done_waiting(&key, &alert.id);
            store::record(
                db,
                NewPosted {
                    account_id: &alert.account_id,
                    alert_id: Some(&alert.id),
                    kind: Kind::Channel,
                    reference: &alert.id,
                    channel: &channel,
                    ts: &ts,
                    version: alert.version,
                },
                now,
            )
            .await
            .map_err(db_error)?;
            alerts::set_slack_delivery(&ctx.store, &alert.id, "posted")
                .await
                .map_err(db_error)?;
            parent = store::get(db, &alert.account_id, Kind::Channel, &alert.id)
                .await
                .map_err(db_error)?;
        }
        Some(m) if m.rendered_version < alert.version => {
            let message = render::channel_message(&alert, &recent);
            update(ctx, slack, m, &message, alert.version, now).await?;
        }
        Some(_) => {}
    }

    // 2. The escalation DMs show the alert as it is too (a page in a person's digest refreshes the digest).
    for m in posted
        .iter()
        .filter(|m| m.kind == Kind::Dm && m.rendered_version < alert.version)
    {
        let at = store::at(db, &alert.account_id, &m.channel, &m.ts)
            .await
            .map_err(db_error)?;
        if let Some(digest) = at.iter().find(|d| d.kind == Kind::Digest) {
            if let Some(job) = DigestJob::of_person(&alert.account_id, &digest.reference) {
                ctx.queue
                    .enqueue(job.map_err(db_error)?)
                    .await
                    .map_err(db_error)?;
            }
            store::rendered(db, m.id, alert.version, now)
                .await
                .map_err(db_error)?;
            continue;
        }
        let step = m
            .reference
            .rsplit('/')
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let message = match crate::slack::snooze::reminder_period(&m.reference) {
            Some(period) => crate::slack::snooze::reminder_message(&alert, &recent, period),
            None => render::dm_message(&alert, &recent, step),
        };
        update(ctx, slack, m, &message, alert.version, now).await?;
    }

    // 3. The thread: each history line once, in order.
    if let Some(parent) = parent {
        let told = posted
            .iter()
            .filter(|m| m.kind == Kind::Reply)
            .filter_map(|m| m.reference.parse::<i64>().ok())
            .max()
            .unwrap_or(0);
        for entry in history.iter().filter(|e| e.id > told) {
            let Some(message) = render::thread_line(&alert, &entry.line) else {
                continue;
            };
            let key = slack.channel_key(account, &parent.channel).await;
            // New alerts waiting for their first post go first: being seen matters more than the history.
            if slack.waiting_for_channel(&key) > 0 {
                return Err(JobError::defer(
                    "channel busy with new alerts",
                    Duration::from_secs(2),
                ));
            }
            if let Err(wait) = slack.client.pacer().try_take(&key, CHANNEL_POSTS) {
                return Err(JobError::defer("channel pace (thread)", wait));
            }
            let (ts, channel) = slack
                .post(account, &parent.channel, &message, Some(&parent.ts), false)
                .await
                .map_err(job_error)?;
            store::record(
                db,
                NewPosted {
                    account_id: &alert.account_id,
                    alert_id: Some(&alert.id),
                    kind: Kind::Reply,
                    reference: &entry.id.to_string(),
                    channel: &channel,
                    ts: &ts,
                    version: alert.version,
                },
                now,
            )
            .await
            .map_err(db_error)?;
        }
    }
    Ok(())
}

/// Updates a recorded message to `version`, at most every [`UPDATE_SPACING_MS`]; a message Slack lost (deleted
/// by a person or by retention) is posted again.
async fn update(
    ctx: &JobContext,
    slack: &Slack,
    m: &store::Posted,
    message: &crate::slack::blocks::Message,
    version: u64,
    now: i64,
) -> Result<(), JobError> {
    let db = ctx.store.database();
    let since = now - m.updated_at_ms;
    if since < UPDATE_SPACING_MS {
        return Err(JobError::defer(
            "message updated moments ago",
            Duration::from_millis(u64::try_from(UPDATE_SPACING_MS - since).unwrap_or(0)),
        ));
    }
    match slack.update(&m.account_id, &m.channel, &m.ts, message).await {
        Ok(()) => store::rendered(db, m.id, version, now).await.map_err(db_error),
        Err(SlackError::Api { code, .. })
            if matches!(
                code.as_str(),
                "message_not_found" | "cant_update_message" | "edit_window_closed"
            ) =>
        {
            tracing::warn!(
                message = m.id,
                code,
                "A Klaxon message is gone from Slack; posting it again."
            );
            let (ts, channel) = slack
                .post(&m.account_id, &m.channel, message, None, false)
                .await
                .map_err(job_error)?;
            store::replaced(db, m.id, &channel, &ts, version, now)
                .await
                .map_err(db_error)
        }
        Err(e) => Err(job_error(e)),
    }
}

/// Whether `account`'s workspace can take calls now: `false` when it is inactive (uninstalled, revoked, or
/// none: there is nothing to bring up to date; a reinstall syncs the account's open alerts again), a
/// deferral while it is unhealthy.
pub(super) async fn usable(slack: &Slack, account: &str) -> Result<bool, JobError> {
    let ws = slack.workspace(account).await.map_err(job_error)?;
    if let Some(reason) = &ws.inactive {
        tracing::debug!(
            account,
            reason,
            "The account's Slack workspace is inactive; nothing is sent."
        );
        return Ok(false);
    }
    let health = ws.health();
    if !health.ok {
        return Err(JobError::defer(
            format!("Slack workspace unhealthy: {}", health.reason.unwrap_or_default()),
            UNHEALTHY_WAIT,
        ));
    }
    Ok(true)
}

/// Enqueues the refresh of the digest the alert is in.
async fn refresh_digest(ctx: &JobContext, alert: &StoredAlert) -> Result<(), JobError> {
    let Ok(team) = ctx.store.get_team(&alert.account_id, &alert.team_id).await else {
        return Ok(());
    };
    let job = DigestJob::of(&alert.account_id, &team.slack_channel, alert.first_seen_ms).map_err(db_error)?;
    ctx.queue.enqueue(job).await.map_err(db_error)?;
    Ok(())
}

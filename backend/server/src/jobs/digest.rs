//! `slack.digest`: keeps a digest up to date during a storm. When a channel has more new alerts than it can
//! show at its pace, the surplus goes into one message per channel and hour ("37 new alerts", the newest
//! listed with an Acknowledge button, "+N more"), posted once and updated in place as alerts arrive and
//! change. Likewise a person paged faster than Slack shows direct messages gets one DM listing their alerts
//! (posted by the notifier; kept up to date here). Those alerts keep escalating; every one stays in the API.

use std::{
    hash::{Hash, Hasher},
    time::Duration,
};

use klaxon_queue::{BackgroundJob, Dedup, JobError, NewJob, RetryPolicy};
use serde::{Deserialize, Serialize};

use super::{
    JobContext,
    sync::{UPDATE_SPACING_MS, job_error},
};
use crate::{
    alerts,
    slack::{
        pace::CHANNEL_POSTS,
        render,
        store::{self, Kind, NewPosted},
    },
};

/// An hour, the span of one digest.
const HOUR_MS: i64 = 3_600_000;
/// Alerts a digest lists with their own line.
const LISTED: u32 = 40;

/// The digest of one channel (or one person's DM channel) and hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestJob {
    /// The account.
    pub account_id: String,
    /// The channel (a DM channel for a person's digest).
    pub channel: String,
    /// The hour (Unix milliseconds of its start): of the alerts it lists for a channel, of its first post
    /// for a person.
    pub hour_ms: i64,
    /// A person's digest (the pages recorded at its message), not a channel's.
    #[serde(default)]
    pub dm: bool,
}

impl DigestJob {
    /// The refresh of the digest holding an alert first seen at `first_seen_ms` in `channel`.
    pub fn of(account_id: &str, channel: &str, first_seen_ms: i64) -> Result<NewJob, klaxon_queue::Error> {
        Self {
            account_id: account_id.to_owned(),
            channel: channel.to_owned(),
            hour_ms: hour_of(first_seen_ms),
            dm: false,
        }
        .job()
    }

    /// The refresh of a person's digest with `reference` (`D…@hour`, see [`reference`]).
    pub fn of_person(account_id: &str, reference: &str) -> Option<Result<NewJob, klaxon_queue::Error>> {
        let (channel, hour) = reference.rsplit_once('@')?;
        Some(
            Self {
                account_id: account_id.to_owned(),
                channel: channel.to_owned(),
                hour_ms: hour.parse().ok()?,
                dm: true,
            }
            .job(),
        )
    }

    fn job(&self) -> Result<NewJob, klaxon_queue::Error> {
        let id = format!("{}/{}/{}", self.account_id, self.channel, self.hour_ms);
        Ok(NewJob::new(self)?
            .tenant(&self.account_id)
            .partition(format!("slack-digest:{id}"))
            .dedup_with(format!("{}:{id}", Self::KIND), Dedup::WhilePending))
    }
}

/// The start of the hour of `ms`.
pub fn hour_of(ms: i64) -> i64 {
    ms - ms.rem_euclid(HOUR_MS)
}

/// The reference of the digest of `channel` (a channel, or a person's DM channel) for the hour of `at_ms`.
pub fn reference(channel: &str, at_ms: i64) -> String {
    format!("{channel}@{}", hour_of(at_ms))
}

#[async_trait::async_trait]
impl BackgroundJob for DigestJob {
    const KIND: &'static str = "slack.digest";
    const RETRY_POLICY: RetryPolicy = RetryPolicy::DEFAULT
        .with_max_attempts(8)
        .with_delays(Duration::from_secs(2), Duration::from_secs(120));
    type Context = JobContext;

    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        let Some(slack) = &ctx.slack else {
            return Ok(());
        };
        if !super::sync::usable(slack, &self.account_id).await? {
            return Ok(());
        }
        let db = ctx.store.database();
        let reference = format!("{}@{}", self.channel, self.hour_ms);
        let existing = store::get(db, &self.account_id, Kind::Digest, &reference)
            .await
            .map_err(JobError::retryable)?;
        let message = if self.dm {
            let Some(digest) = &existing else {
                return Ok(()); // posted by the notifier; nothing to refresh yet
            };
            let pages = store::at(db, &self.account_id, &digest.channel, &digest.ts)
                .await
                .map_err(JobError::retryable)?;
            let mut ids: Vec<String> = pages
                .into_iter()
                .filter(|m| m.kind == Kind::Dm)
                .filter_map(|m| m.alert_id)
                .collect();
            ids.sort_unstable_by(|a, b| b.cmp(a));
            ids.dedup();
            let mut listed = Vec::new();
            for id in ids.iter().take(LISTED as usize) {
                if let Some(a) = alerts::get_any(&ctx.store, id)
                    .await
                    .map_err(JobError::retryable)?
                {
                    listed.push(a);
                }
            }
            render::dm_digest(&listed, ids.len())
        } else {
            let (alerts, total) = alerts::digest_of(
                &ctx.store,
                &self.account_id,
                &self.channel,
                self.hour_ms,
                self.hour_ms + HOUR_MS,
                LISTED,
            )
            .await
            .map_err(JobError::retryable)?;
            if total == 0 {
                return Ok(());
            }
            render::digest(&alerts, usize::try_from(total).unwrap_or(usize::MAX))
        };
        let version = content_version(&message);
        let now = ctx.queue.now_ms();
        match existing {
            None => {
                let key = slack.channel_key(&self.account_id, &self.channel).await;
                if let Err(wait) = slack.client.pacer().try_take(&key, CHANNEL_POSTS) {
                    return Err(JobError::defer("channel pace", wait));
                }
                let (ts, channel) = slack
                    .post_joining(&self.account_id, &self.channel, &message, None, false)
                    .await
                    .map_err(job_error)?;
                store::record(
                    db,
                    NewPosted {
                        account_id: &self.account_id,
                        alert_id: None,
                        kind: Kind::Digest,
                        reference: &reference,
                        channel: &channel,
                        ts: &ts,
                        version,
                    },
                    now,
                )
                .await
                .map_err(JobError::retryable)
            }
            Some(m) if m.rendered_version != version => {
                let since = now - m.updated_at_ms;
                if since < UPDATE_SPACING_MS {
                    return Err(JobError::defer(
                        "digest updated moments ago",
                        Duration::from_millis(u64::try_from(UPDATE_SPACING_MS - since).unwrap_or(0)),
                    ));
                }
                slack
                    .update(&self.account_id, &m.channel, &m.ts, &message)
                    .await
                    .map_err(job_error)?;
                store::rendered(db, m.id, version, now)
                    .await
                    .map_err(JobError::retryable)
            }
            Some(_) => Ok(()),
        }
    }
}

/// A number that changes when the digest's content does (63 bits, so it fits the stored column).
pub fn content_version(message: &crate::slack::blocks::Message) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(message).unwrap_or_default().hash(&mut h);
    h.finish() >> 1
}

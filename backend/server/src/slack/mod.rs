//! Slack: the messages, buttons and escalation DMs Klaxon's users see, in every workspace connected.
//!
//! The pieces: [`config`] (settings), [`client`] (the Web API client: timeouts, retries, pacing by Slack's
//! tiers), [`workspace`] (which workspace an account's alerts go to, and its health), [`installs`] (the
//! workspaces installed through OAuth), [`blocks`] (Block Kit as types, limits kept by construction),
//! [`render`] (what each message says), [`signing`] (request signatures), [`interactions`] (reading a button
//! press), [`events`] (reading Events API deliveries and slash commands), [`store`] (the messages Klaxon
//! posted), and here Slack as the escalation engine's [`Directory`] and [`Notifier`]. The jobs that sync
//! messages (`jobs::sync`, `jobs::digest`), apply presses (`jobs::press`) and answer events
//! (`jobs::slack_event`) use them.
//!
//! Two ways of connecting workspaces, which can be combined: `KLAXON_SLACK_BOT_TOKEN` names one workspace
//! that every account without an install of its own posts to; OAuth installs (`KLAXON_SLACK_CLIENT_ID`)
//! make each installing workspace an account of its own, with its bot token sealed in the database.

pub mod blocks;
pub mod client;
pub mod config;
pub mod events;
pub mod installs;
pub mod interactions;
pub mod maintenance;
pub mod pace;
pub mod render;
pub mod signing;
pub mod snooze;
pub mod store;
pub mod workspace;

#[cfg(test)]
mod proptests;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

pub use client::{Args, ClientSettings, SlackClient, SlackError};
pub use config::{OAuthApp, SlackArgs, SlackConfig};
pub use signing::SigningSecret;
pub use workspace::{Health, Workspace};

use crate::{
    alerts::{self, StoredAlert},
    escalation::{Mention, Target},
    notify::{Directory, Notification, Notifier, NotifyError},
    store::Store,
};

/// How long presence, DND and channel members are remembered.
const DIRECTORY_TTL: Duration = Duration::from_secs(60);

/// Installs read from the database, by account, with when they were read (`None`: no install).
type InstallCache = HashMap<String, (Instant, Option<Arc<Workspace>>)>;

/// Slack, configured: the client, the workspaces and what is cached about them.
#[derive(Debug)]
pub struct Slack {
    /// The Web API client.
    pub client: SlackClient,
    /// Checks that requests come from Slack.
    pub signing: SigningSecret,
    /// The OAuth app, when installs are on.
    pub oauth: Option<OAuthApp>,
    /// The workspace of `KLAXON_SLACK_BOT_TOKEN`.
    configured: Option<Arc<Workspace>>,
    /// What accounts with no workspace get.
    not_installed: Arc<Workspace>,
    installs: Mutex<InstallCache>,
    store: Store,
    queue: klaxon_queue::Queue,
    /// By workspace and channel.
    members: Mutex<HashMap<String, (Instant, Vec<String>)>>,
    /// By workspace and user.
    active: Mutex<HashMap<String, (Instant, bool)>>,
    /// By workspace and user.
    dm_channels: Mutex<HashMap<String, String>>,
    /// Alerts whose first post waits for its channel's pace, by channel: more than a few waiting is a storm.
    waiting: Mutex<HashMap<String, HashMap<String, Instant>>>,
    /// One digest post per person at a time.
    dm_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Slack {
    /// Slack with `config`'s workspaces and app.
    pub fn new(
        config: &SlackConfig,
        store: Store,
        queue: klaxon_queue::Queue,
    ) -> Result<Self, reqwest::Error> {
        let mut settings = ClientSettings::new(&config.api_url);
        settings.timeout = config.timeout;
        settings.connect_timeout = settings.connect_timeout.min(settings.timeout);
        let mut not_installed = Workspace::configured("");
        not_installed.key = "none".to_owned();
        not_installed.inactive = Some("not_installed".to_owned());
        Ok(Self {
            client: SlackClient::new(settings)?.with_metrics(store.metrics().clone()),
            signing: SigningSecret::new(&config.signing_secret),
            oauth: config.oauth.clone(),
            configured: config
                .bot_token
                .as_deref()
                .map(|t| Arc::new(Workspace::configured(t))),
            not_installed: Arc::new(not_installed),
            installs: Mutex::default(),
            store,
            queue,
            members: Mutex::default(),
            active: Mutex::default(),
            dm_channels: Mutex::default(),
            waiting: Mutex::default(),
            dm_locks: Mutex::default(),
        })
    }

    /// Notes that `alert` waits for a post slot in the channel of `channel_key`; returns how many alerts
    /// wait there and how long this one has waited (entries older than two minutes are forgotten: their jobs
    /// are gone or came back).
    pub fn wait_for_channel(&self, channel_key: &str, alert: &str) -> (usize, Duration) {
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        let set = waiting.entry(channel_key.to_owned()).or_default();
        set.retain(|_, at| at.elapsed() < Duration::from_secs(120));
        let since = *set.entry(alert.to_owned()).or_insert_with(Instant::now);
        (set.len(), since.elapsed())
    }

    /// How many alerts wait for their first post in the channel of `channel_key`.
    pub fn waiting_for_channel(&self, channel_key: &str) -> usize {
        let waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        waiting.get(channel_key).map_or(0, HashMap::len)
    }

    /// `alert` no longer waits for the channel of `channel_key`.
    pub fn done_waiting(&self, channel_key: &str, alert: &str) {
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(set) = waiting.get_mut(channel_key) {
            set.remove(alert);
        }
    }

    /// The pace key of posts to `channel` of `account`'s workspace.
    pub async fn channel_key(&self, account: &str, channel: &str) -> String {
        let ws = self
            .workspace(account)
            .await
            .map_or_else(|_| account.to_owned(), |ws| ws.key.clone());
        format!("{ws}/post/{channel}")
    }

    /// Posts `message` to `channel` of `account`'s workspace (in the thread of `thread_ts`, also shown in
    /// the channel with `broadcast`); returns its `ts` and the channel Slack answered with.
    pub async fn post(
        &self,
        account: &str,
        channel: &str,
        message: &blocks::Message,
        thread_ts: Option<&str>,
        broadcast: bool,
    ) -> Result<(String, String), SlackError> {
        let ws = self.workspace(account).await?;
        self.post_in(&ws, channel, message, thread_ts, broadcast).await
    }

    /// [`Slack::post`] in workspace `ws`.
    pub async fn post_in(
        &self,
        ws: &Workspace,
        channel: &str,
        message: &blocks::Message,
        thread_ts: Option<&str>,
        broadcast: bool,
    ) -> Result<(String, String), SlackError> {
        let mut body = json!({
            "channel": channel,
            "text": message.text,
            "blocks": message.blocks,
            "unfurl_links": false,
            "unfurl_media": false,
        });
        if let Some(ts) = thread_ts {
            body["thread_ts"] = json!(ts);
            if broadcast {
                body["reply_broadcast"] = json!(true);
            }
        }
        let v = self.call_in(ws, "chat.postMessage", Args::Json(body)).await?;
        let ts = v
            .get("ts")
            .and_then(Value::as_str)
            .ok_or_else(|| SlackError::Transient {
                method: "chat.postMessage",
                message: "the answer has no ts".into(),
            })?
            .to_owned();
        let channel = v
            .get("channel")
            .and_then(Value::as_str)
            .unwrap_or(channel)
            .to_owned();
        Ok((ts, channel))
    }

    /// Replaces message `ts` of `channel` with `message`.
    pub async fn update(
        &self,
        account: &str,
        channel: &str,
        ts: &str,
        message: &blocks::Message,
    ) -> Result<(), SlackError> {
        let body = json!({"channel": channel, "ts": ts, "text": message.text, "blocks": message.blocks});
        self.call(account, "chat.update", Args::Json(body))
            .await
            .map(|_| ())
    }

    /// The DM channel with `user` (`conversations.open`, remembered).
    pub async fn dm_channel(&self, account: &str, user: &str) -> Result<String, SlackError> {
        let ws = self.workspace(account).await?;
        let key = format!("{}/{user}", ws.key);
        if let Some(c) = self
            .dm_channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Ok(c.clone());
        }
        let v = self
            .call_in(&ws, "conversations.open", Args::Json(json!({"users": user})))
            .await?;
        let channel = v
            .pointer("/channel/id")
            .and_then(Value::as_str)
            .ok_or_else(|| SlackError::Transient {
                method: "conversations.open",
                message: "the answer has no channel".into(),
            })?
            .to_owned();
        self.dm_channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, channel.clone());
        Ok(channel)
    }

    /// Posts to a channel Klaxon may not have joined yet: on `not_in_channel` it joins (a public channel)
    /// and posts again.
    pub async fn post_joining(
        &self,
        account: &str,
        channel: &str,
        message: &blocks::Message,
        thread_ts: Option<&str>,
        broadcast: bool,
    ) -> Result<(String, String), SlackError> {
        let ws = self.workspace(account).await?;
        match self.post_in(&ws, channel, message, thread_ts, broadcast).await {
            Err(SlackError::Api { code, .. }) if code == "not_in_channel" => {
                self.call_in(
                    &ws,
                    "conversations.join",
                    Args::Form(vec![("channel", channel.to_owned())]),
                )
                .await?;
                self.post_in(&ws, channel, message, thread_ts, broadcast).await
            }
            other => other,
        }
    }

    /// The store (the records of posted messages).
    pub fn store(&self) -> &Store {
        &self.store
    }
}

/// Slack errors that mean a person or channel cannot be reached, whatever Klaxon retries.
const RECIPIENT_ERRORS: &[&str] = &[
    "user_not_found",
    "user_not_visible",
    "user_disabled",
    "cannot_dm_bot",
    "channel_not_found",
    "is_archived",
    "not_in_channel",
    "restricted_action",
    "messages_tab_disabled",
];

impl From<SlackError> for NotifyError {
    fn from(e: SlackError) -> Self {
        match &e {
            SlackError::Workspace { code } => Self::Workspace(code.clone()),
            SlackError::Inactive { reason } => Self::Workspace(reason.clone()),
            SlackError::RateLimited { retry_after, .. } => Self::RetryAfter(e.to_string(), *retry_after),
            SlackError::Transient { .. } => Self::Transient(e.to_string()),
            SlackError::Api { code, .. } if RECIPIENT_ERRORS.contains(&code.as_str()) => {
                Self::Permanent(code.clone())
            }
            // Anything else Slack refuses (a bad payload, a missing scope) will be refused again: the step
            // moves on and says why, rather than retrying for a month.
            SlackError::Api { code, .. } => Self::Permanent(code.clone()),
        }
    }
}

/// True for a Slack user id.
pub fn is_user_id(s: &str) -> bool {
    klaxon_api::validate::is_user_id(s)
}

/// Slack as the engine's directory: channel members (`conversations.members`), presence
/// (`users.getPresence`) and Do Not Disturb (`dnd.info`), each remembered for a minute. Presence is only
/// asked of the member about to be chosen. When Slack cannot say, a member counts as active: paging someone
/// who might be away beats paging nobody.
#[async_trait::async_trait]
impl Directory for Slack {
    async fn channel_members(&self, account_id: &str, channel: &str) -> Result<Vec<String>, NotifyError> {
        let ws = self.workspace(account_id).await?;
        let key = format!("{}/{channel}", ws.key);
        if let Some((at, members)) = self
            .members
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            && at.elapsed() < DIRECTORY_TTL
        {
            return Ok(members.clone());
        }
        let mut members = Vec::new();
        let mut cursor = String::new();
        // A channel of thousands would take many pages; ten pages of 200 are plenty to choose from.
        for _ in 0..10 {
            let mut args = vec![("channel", channel.to_owned()), ("limit", "200".to_owned())];
            if !cursor.is_empty() {
                args.push(("cursor", cursor.clone()));
            }
            let v = self
                .call_in(&ws, "conversations.members", Args::Query(args))
                .await?;
            members.extend(
                v.get("members")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .filter(|m| is_user_id(m))
                    .map(str::to_owned),
            );
            cursor = v
                .pointer("/response_metadata/next_cursor")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if cursor.is_empty() {
                break;
            }
        }
        self.members
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, (Instant::now(), members.clone()));
        Ok(members)
    }

    async fn is_active(&self, account_id: &str, user: &str) -> Result<bool, NotifyError> {
        let ws = self.workspace(account_id).await?;
        let key = format!("{}/{user}", ws.key);
        if let Some((at, active)) = self
            .active
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            && at.elapsed() < DIRECTORY_TTL
        {
            return Ok(*active);
        }
        let presence = self
            .call_in(
                &ws,
                "users.getPresence",
                Args::Query(vec![("user", user.to_owned())]),
            )
            .await;
        let away = match presence {
            Ok(v) => v.get("presence").and_then(Value::as_str) == Some("away"),
            Err(e @ (SlackError::Workspace { .. } | SlackError::Inactive { .. })) => return Err(e.into()),
            Err(e) => {
                tracing::warn!(user, error = %e, "Could not ask Slack for a member's presence; counting them as active.");
                false
            }
        };
        let in_dnd = if away {
            false
        } else {
            match self
                .call_in(&ws, "dnd.info", Args::Query(vec![("user", user.to_owned())]))
                .await
            {
                Ok(v) => in_dnd_now(&v, crate::store::now_ms() / 1000),
                Err(e @ (SlackError::Workspace { .. } | SlackError::Inactive { .. })) => return Err(e.into()),
                Err(e) => {
                    tracing::warn!(user, error = %e, "Could not ask Slack for a member's Do Not Disturb; counting them as available.");
                    false
                }
            }
        };
        let active = !away && !in_dnd;
        self.active
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, (Instant::now(), active));
        Ok(active)
    }
}

/// Whether a `dnd.info` answer means the user is in Do Not Disturb at `now_secs`: snoozed, or inside their
/// scheduled DND window.
fn in_dnd_now(v: &Value, now_secs: i64) -> bool {
    if v.get("snooze_enabled").and_then(Value::as_bool) == Some(true) {
        let until = v
            .get("snooze_endtime")
            .and_then(Value::as_i64)
            .unwrap_or(i64::MAX);
        if now_secs < until {
            return true;
        }
    }
    let enabled = v.get("dnd_enabled").and_then(Value::as_bool) == Some(true);
    let start = v
        .get("next_dnd_start_ts")
        .and_then(Value::as_i64)
        .unwrap_or(i64::MAX);
    let end = v.get("next_dnd_end_ts").and_then(Value::as_i64).unwrap_or(0);
    enabled && start <= now_secs && now_secs < end
}

/// Slack as the engine's notifier: a member step DMs the chosen person with the alert and its buttons; a
/// `here` or `channel` step posts in the alert's thread (shown in the channel too), or in the channel when
/// the alert's message is not posted yet. Every post is recorded by the step's delivery key, so a retry after
/// a crash can tell whether it went out.
#[async_trait::async_trait]
impl Notifier for Slack {
    async fn deliver(&self, n: &Notification) -> Result<(), NotifyError> {
        let db = self.store.database();
        let alert = alerts::get_any(&self.store, &n.alert_id)
            .await
            .map_err(|e| NotifyError::Transient(e.to_string()))?
            .ok_or_else(|| NotifyError::Permanent("the alert no longer exists".into()))?;
        let now = crate::store::now_ms();
        match &n.target {
            Target::User { user } => {
                let account = alert.account_id.as_str();
                let channel = self.dm_channel(account, user).await?;
                let recent = render::Recent::load(db, &alert.id)
                    .await
                    .map_err(|e| NotifyError::Transient(e.to_string()))?;
                let key = self.channel_key(account, &channel).await;
                if self.client.pacer().try_take(&key, pace::CHANNEL_POSTS).is_ok() {
                    let message = render::dm_message(&alert, &recent, n.step);
                    let (ts, channel) = self.post(account, &channel, &message, None, false).await?;
                    return record(db, &alert, store::Kind::Dm, &n.key, &channel, &ts, now).await;
                }
                // Paged faster than Slack shows direct messages: one DM lists this person's alerts.
                self.page_into_digest(&alert, n, &channel, now).await
            }
            Target::Channel { channel, mention } => {
                let Some(channel) = channel else {
                    return Err(NotifyError::Permanent("the team has no channel".into()));
                };
                let parent = store::get(db, &alert.account_id, store::Kind::Channel, &alert.id)
                    .await
                    .map_err(|e| NotifyError::Transient(e.to_string()))?;
                let message = render::mention_message(&alert, *mention, n.step, n.fallback.as_deref());
                // The channel's pace first: a page must not be hidden by Slack's burst limit.
                let account = alert.account_id.as_str();
                pace_channel(self, account, channel).await?;
                let (ts, channel) = match &parent {
                    Some(p) => {
                        self.post_joining(account, &p.channel, &message, Some(&p.ts), true)
                            .await?
                    }
                    None => self.post_joining(account, channel, &message, None, false).await?,
                };
                record(db, &alert, store::Kind::Mention, &n.key, &channel, &ts, now).await
            }
        }
    }

    async fn was_delivered(&self, n: &Notification) -> Result<bool, NotifyError> {
        let db = self.store.database();
        let kind = match n.target {
            Target::User { .. } => store::Kind::Dm,
            Target::Channel { .. } => store::Kind::Mention,
        };
        Ok(store::get(db, &n.account_id, kind, &n.key)
            .await
            .map_err(|e| NotifyError::Transient(e.to_string()))?
            .is_some())
    }
}

impl Slack {
    /// Adds a page to its person's digest DM of this hour, posting the digest first when there is none yet
    /// (one post per person at a time: two pages of one person do not post two digests).
    async fn page_into_digest(
        &self,
        alert: &StoredAlert,
        n: &Notification,
        channel: &str,
        now: i64,
    ) -> Result<(), NotifyError> {
        let db = self.store.database();
        let lock = {
            let mut locks = self.dm_locks.lock().unwrap_or_else(PoisonError::into_inner);
            locks.entry(channel.to_owned()).or_default().clone()
        };
        let _guard = lock.lock().await;
        let reference = crate::jobs::digest::reference(channel, now);
        let transient = |e: sqlx::Error| NotifyError::Transient(e.to_string());
        if let Some(digest) = store::get(db, &alert.account_id, store::Kind::Digest, &reference)
            .await
            .map_err(transient)?
        {
            record(
                db,
                alert,
                store::Kind::Dm,
                &n.key,
                &digest.channel,
                &digest.ts,
                now,
            )
            .await?;
            if let Some(job) = crate::jobs::DigestJob::of_person(&alert.account_id, &reference) {
                let job = job.map_err(|e| NotifyError::Transient(e.to_string()))?;
                self.store_queue_enqueue(job).await?;
            }
            return Ok(());
        }
        pace_channel(self, &alert.account_id, channel).await?;
        let message = render::dm_digest(std::slice::from_ref(alert), 1);
        let (ts, channel) = self
            .post(&alert.account_id, channel, &message, None, false)
            .await?;
        store::record(
            db,
            store::NewPosted {
                account_id: &alert.account_id,
                alert_id: None,
                kind: store::Kind::Digest,
                reference: &reference,
                channel: &channel,
                ts: &ts,
                version: crate::jobs::digest::content_version(&message),
            },
            now,
        )
        .await
        .map_err(transient)?;
        record(db, alert, store::Kind::Dm, &n.key, &channel, &ts, now).await
    }

    async fn store_queue_enqueue(&self, job: klaxon_queue::NewJob) -> Result<(), NotifyError> {
        self.queue
            .enqueue(job)
            .await
            .map(|_| ())
            .map_err(|e| NotifyError::Transient(e.to_string()))
    }
}

/// Waits (up to a few seconds) for a post slot in `channel`, or says when to come back.
async fn pace_channel(slack: &Slack, account: &str, channel: &str) -> Result<(), NotifyError> {
    let key = slack.channel_key(account, channel).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match slack.client.pacer().try_take(&key, pace::CHANNEL_POSTS) {
            Ok(()) => return Ok(()),
            Err(wait) if Instant::now() + wait <= deadline => tokio::time::sleep(wait).await,
            Err(wait) => {
                return Err(NotifyError::RetryAfter(
                    format!("channel {channel} is busy"),
                    wait,
                ));
            }
        }
    }
}

/// Records a post of `alert` (a DM, a mention) by its reference, so a retry can tell it went out.
pub(crate) async fn record(
    db: &klaxon_db::Database,
    alert: &StoredAlert,
    kind: store::Kind,
    reference: &str,
    channel: &str,
    ts: &str,
    now: i64,
) -> Result<(), NotifyError> {
    store::record(
        db,
        store::NewPosted {
            account_id: &alert.account_id,
            alert_id: Some(&alert.id),
            kind,
            reference,
            channel,
            ts,
            version: alert.version,
        },
        now,
    )
    .await
    .map_err(|e| NotifyError::Transient(format!("posted, but could not record it: {e}")))
}

/// Mentions are rendered from `Mention`; keep the names in one place for the digest and the fake Slack.
pub fn mention_token(m: Mention) -> &'static str {
    match m {
        Mention::Here => "<!here>",
        Mention::Channel => "<!channel>",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn do_not_disturb_windows_and_snoozes() {
        let now = 1_000;
        assert!(!in_dnd_now(
            &json!({"dnd_enabled": false, "next_dnd_start_ts": 1, "next_dnd_end_ts": 1}),
            now
        ));
        assert!(in_dnd_now(
            &json!({"dnd_enabled": true, "next_dnd_start_ts": 900, "next_dnd_end_ts": 1100}),
            now
        ));
        assert!(!in_dnd_now(
            &json!({"dnd_enabled": true, "next_dnd_start_ts": 1100, "next_dnd_end_ts": 1200}),
            now
        ));
        assert!(in_dnd_now(
            &json!({"snooze_enabled": true, "snooze_endtime": 2000}),
            now
        ));
        assert!(!in_dnd_now(
            &json!({"snooze_enabled": true, "snooze_endtime": 500}),
            now
        ));
    }
}

//! Slack: the messages, buttons and escalation DMs Klaxon's users see.
//!
//! The pieces: [`client`] (the Web API client: timeouts, retries, pacing by Slack's tiers), [`blocks`] (Block
//! Kit as types, limits kept by construction), [`render`] (what each message says), [`signing`] (request
//! signatures), [`interactions`] (reading a button press), [`store`] (the messages Klaxon posted), and here the
//! workspace Klaxon talks to, its health, and Slack as the escalation engine's [`Directory`] and
//! [`Notifier`]. The jobs that sync messages (`jobs::sync`, `jobs::digest`) and apply presses
//! (`jobs::press`) use them.
//!
//! One workspace is configured with `KLAXON_SLACK_BOT_TOKEN` and `KLAXON_SLACK_SIGNING_SECRET`; every account
//! of this Klaxon posts to it.

pub mod blocks;
pub mod client;
pub mod interactions;
pub mod pace;
pub mod render;
pub mod signing;
pub mod store;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError, RwLock},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

pub use client::{Args, ClientSettings, SlackClient, SlackError};
pub use signing::SigningSecret;

use crate::{
    alerts::{self, StoredAlert},
    escalation::{Mention, Target},
    notify::{Directory, Notification, Notifier, NotifyError},
    store::Store,
};

/// Settings of Slack: the Web API's address and the one workspace's credentials.
#[derive(Clone, clap::Args)]
pub struct SlackArgs {
    /// Base URL of Slack's Web API (tests point it at a local fake).
    #[arg(long, env = "KLAXON_SLACK_API_URL", default_value = "https://slack.com/api")]
    pub slack_api_url: String,
    /// Bot token (`xoxb-…`) of the workspace Klaxon posts to. With the signing secret it turns Slack on;
    /// without both, alerts are stored, grouped and escalated but nothing is posted.
    #[arg(long, env = "KLAXON_SLACK_BOT_TOKEN", hide_env_values = true)]
    pub slack_bot_token: Option<String>,
    /// Signing secret of the Slack app, from its "Basic Information" page: proves that a button press comes
    /// from Slack.
    #[arg(long, env = "KLAXON_SLACK_SIGNING_SECRET", hide_env_values = true)]
    pub slack_signing_secret: Option<String>,
    /// Time allowed for one Slack call, answer included, in milliseconds (at most 3 s of it to connect).
    /// A call that takes longer is retried like a 5xx.
    #[arg(long, env = "KLAXON_SLACK_TIMEOUT_MS", default_value_t = 5000)]
    pub slack_timeout_ms: u64,
}

impl std::fmt::Debug for SlackArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackArgs")
            .field("slack_api_url", &self.slack_api_url)
            .field("slack_bot_token", &self.slack_bot_token.as_ref().map(|_| "***"))
            .field(
                "slack_signing_secret",
                &self.slack_signing_secret.as_ref().map(|_| "***"),
            )
            .field("slack_timeout_ms", &self.slack_timeout_ms)
            .finish()
    }
}

impl SlackArgs {
    /// The token and secret, when Slack is on; an error naming the setting when only one is given, or the
    /// API URL is not http(s).
    pub fn credentials(&self) -> Result<Option<(String, String)>, crate::config::ConfigError> {
        let url = url::Url::parse(&self.slack_api_url).ok();
        if !url
            .as_ref()
            .is_some_and(|u| matches!(u.scheme(), "http" | "https"))
        {
            return Err(crate::config::ConfigError {
                setting: "--slack-api-url / KLAXON_SLACK_API_URL",
                message: format!("{:?} is not an http(s) URL", self.slack_api_url),
            });
        }
        if !(100..=60_000).contains(&self.slack_timeout_ms) {
            return Err(crate::config::ConfigError {
                setting: "--slack-timeout-ms / KLAXON_SLACK_TIMEOUT_MS",
                message: "must be 100 to 60000".into(),
            });
        }
        let token = self
            .slack_bot_token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty());
        let secret = self
            .slack_signing_secret
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        match (token, secret) {
            (Some(t), Some(s)) => Ok(Some((t.to_owned(), s.to_owned()))),
            (None, None) => Ok(None),
            (Some(_), None) => Err(crate::config::ConfigError {
                setting: "--slack-signing-secret / KLAXON_SLACK_SIGNING_SECRET",
                message:
                    "is required with KLAXON_SLACK_BOT_TOKEN: without it button presses cannot be checked"
                        .into(),
            }),
            (None, Some(_)) => Err(crate::config::ConfigError {
                setting: "--slack-bot-token / KLAXON_SLACK_BOT_TOKEN",
                message: "is required with KLAXON_SLACK_SIGNING_SECRET: without it nothing can be posted"
                    .into(),
            }),
        }
    }
}

/// Whether a workspace can be used, and why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// Calls can be made.
    pub ok: bool,
    /// Why not (Slack's error code), when not.
    pub reason: Option<String>,
    /// Since when, Unix milliseconds.
    pub since_ms: i64,
}

/// The workspace Klaxon talks to.
#[derive(Debug)]
pub struct Workspace {
    token: String,
    /// Slack's id of the workspace (`T…`), learnt from `auth.test`; `None` until known.
    team_id: RwLock<Option<String>>,
    health: RwLock<Health>,
}

/// How long presence, DND and channel members are remembered.
const DIRECTORY_TTL: Duration = Duration::from_secs(60);

/// Slack, configured: the client, the workspace and what is cached about it.
#[derive(Debug)]
pub struct Slack {
    /// The Web API client.
    pub client: SlackClient,
    /// Checks that requests come from Slack.
    pub signing: SigningSecret,
    workspace: Workspace,
    store: Store,
    queue: klaxon_queue::Queue,
    members: Mutex<HashMap<String, (Instant, Vec<String>)>>,
    active: Mutex<HashMap<String, (Instant, bool)>>,
    dm_channels: Mutex<HashMap<String, String>>,
    /// Alerts whose first post waits for its channel's pace, by channel: more than a few waiting is a storm.
    waiting: Mutex<HashMap<String, HashMap<String, Instant>>>,
    /// One digest post per person at a time.
    dm_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Slack {
    /// Slack with one workspace's bot `token` and the app's signing `secret`.
    pub fn new(
        settings: ClientSettings,
        token: &str,
        secret: &str,
        store: Store,
        queue: klaxon_queue::Queue,
    ) -> Result<Self, reqwest::Error> {
        Ok(Self {
            client: SlackClient::new(settings)?,
            signing: SigningSecret::new(secret),
            workspace: Workspace {
                token: token.to_owned(),
                team_id: RwLock::new(None),
                health: RwLock::new(Health {
                    ok: true,
                    reason: None,
                    since_ms: crate::store::now_ms(),
                }),
            },
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

    /// Asks Slack who the token is (`auth.test`): learns the workspace's id, and marks the workspace
    /// unhealthy when the token is refused. A network failure leaves things as they are (the next call will
    /// tell).
    pub async fn check(&self) -> Result<(), SlackError> {
        match self.call("auth.test", Args::Form(Vec::new())).await {
            Ok(v) => {
                if let Some(team) = v.get("team_id").and_then(Value::as_str) {
                    *self
                        .workspace
                        .team_id
                        .write()
                        .unwrap_or_else(PoisonError::into_inner) = Some(team.to_owned());
                }
                self.set_health(true, None);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// The workspace's id, once known.
    pub fn team_id(&self) -> Option<String> {
        self.workspace
            .team_id
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Whether the workspace can be used.
    pub fn health(&self) -> Health {
        self.workspace
            .health
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set_health(&self, ok: bool, reason: Option<String>) {
        let mut h = self
            .workspace
            .health
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if h.ok != ok || h.reason != reason {
            if ok {
                tracing::info!("The Slack workspace can be used again.");
            } else {
                tracing::error!(
                    reason = reason.as_deref().unwrap_or("-"),
                    "The Slack workspace cannot be used: no more calls are made to it until a check succeeds. \
                     Alerts are still stored and escalated."
                );
            }
            *h = Health {
                ok,
                reason,
                since_ms: crate::store::now_ms(),
            };
        }
    }

    /// The client's settings for `args`.
    pub fn settings(args: &SlackArgs) -> ClientSettings {
        let mut settings = ClientSettings::new(&args.slack_api_url);
        settings.timeout = Duration::from_millis(args.slack_timeout_ms);
        settings.connect_timeout = settings.connect_timeout.min(settings.timeout);
        settings
    }

    /// Checks an unhealthy workspace again every `every`, until `stop`.
    pub async fn watch_health(self: Arc<Self>, every: Duration, stop: tokio_util::sync::CancellationToken) {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            if !self.health().ok || self.team_id().is_none() {
                // The result is in the health; a failure is logged by `set_health`.
                let _ = self.check_now().await;
            }
        }
    }

    /// `auth.test` even while the workspace is unhealthy (the way back to health).
    async fn check_now(&self) -> Result<(), SlackError> {
        let team = self.team_id().unwrap_or_else(|| "workspace".to_owned());
        match self
            .client
            .call(&team, &self.workspace.token, "auth.test", Args::Form(Vec::new()))
            .await
        {
            Ok(v) => {
                if let Some(team) = v.get("team_id").and_then(Value::as_str) {
                    *self
                        .workspace
                        .team_id
                        .write()
                        .unwrap_or_else(PoisonError::into_inner) = Some(team.to_owned());
                }
                self.set_health(true, None);
                Ok(())
            }
            Err(e @ SlackError::Workspace { .. }) => {
                self.set_health(false, e.code().map(str::to_owned));
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Calls `method` on the workspace; refuses at once while the workspace is unhealthy, and marks it so
    /// when Slack says its token is no good.
    pub async fn call(&self, method: &'static str, args: Args) -> Result<Value, SlackError> {
        let health = self.health();
        if !health.ok {
            return Err(SlackError::Workspace {
                code: health.reason.unwrap_or_else(|| "unhealthy".to_owned()),
            });
        }
        let team = self.team_id().unwrap_or_else(|| "workspace".to_owned());
        let result = self.client.call(&team, &self.workspace.token, method, args).await;
        if let Err(SlackError::Workspace { code }) = &result {
            self.set_health(false, Some(code.clone()));
        }
        result
    }

    /// The workspace an account's alerts go to: its team id, when known (every account of this Klaxon uses
    /// the one workspace configured).
    pub fn team_of(&self, _account_id: &str) -> Option<String> {
        self.team_id()
    }

    /// The pace key of posts to `channel`.
    pub fn channel_key(&self, channel: &str) -> String {
        format!(
            "{}/post/{channel}",
            self.team_id().unwrap_or_else(|| "workspace".to_owned())
        )
    }

    /// Posts `message` to `channel` (in the thread of `thread_ts`, also shown in the channel with
    /// `broadcast`); returns its `ts` and the channel Slack answered with.
    pub async fn post(
        &self,
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
        let v = self.call("chat.postMessage", Args::Json(body)).await?;
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
    pub async fn update(&self, channel: &str, ts: &str, message: &blocks::Message) -> Result<(), SlackError> {
        let body = json!({"channel": channel, "ts": ts, "text": message.text, "blocks": message.blocks});
        self.call("chat.update", Args::Json(body)).await.map(|_| ())
    }

    /// The DM channel with `user` (`conversations.open`, remembered).
    pub async fn dm_channel(&self, user: &str) -> Result<String, SlackError> {
        if let Some(c) = self
            .dm_channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(user)
        {
            return Ok(c.clone());
        }
        let v = self
            .call("conversations.open", Args::Json(json!({"users": user})))
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
            .insert(user.to_owned(), channel.clone());
        Ok(channel)
    }

    /// Joins a public `channel` (`conversations.join`), so Klaxon can post where it was not invited.
    pub async fn join(&self, channel: &str) -> Result<(), SlackError> {
        self.call(
            "conversations.join",
            Args::Form(vec![("channel", channel.to_owned())]),
        )
        .await
        .map(|_| ())
    }

    /// Posts to a channel Klaxon may not have joined yet: on `not_in_channel` it joins (a public channel)
    /// and posts again.
    pub async fn post_joining(
        &self,
        channel: &str,
        message: &blocks::Message,
        thread_ts: Option<&str>,
        broadcast: bool,
    ) -> Result<(String, String), SlackError> {
        match self.post(channel, message, thread_ts, broadcast).await {
            Err(SlackError::Api { code, .. }) if code == "not_in_channel" => {
                self.join(channel).await?;
                self.post(channel, message, thread_ts, broadcast).await
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
    async fn channel_members(&self, _account_id: &str, channel: &str) -> Result<Vec<String>, NotifyError> {
        if let Some((at, members)) = self
            .members
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(channel)
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
            let v = self.call("conversations.members", Args::Query(args)).await?;
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
            .insert(channel.to_owned(), (Instant::now(), members.clone()));
        Ok(members)
    }

    async fn is_active(&self, _account_id: &str, user: &str) -> Result<bool, NotifyError> {
        if let Some((at, active)) = self
            .active
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(user)
            && at.elapsed() < DIRECTORY_TTL
        {
            return Ok(*active);
        }
        let presence = self
            .call("users.getPresence", Args::Query(vec![("user", user.to_owned())]))
            .await;
        let away = match presence {
            Ok(v) => v.get("presence").and_then(Value::as_str) == Some("away"),
            Err(SlackError::Workspace { code }) => return Err(NotifyError::Workspace(code)),
            Err(e) => {
                tracing::warn!(user, error = %e, "Could not ask Slack for a member's presence; counting them as active.");
                false
            }
        };
        let in_dnd = if away {
            false
        } else {
            match self
                .call("dnd.info", Args::Query(vec![("user", user.to_owned())]))
                .await
            {
                Ok(v) => in_dnd_now(&v, crate::store::now_ms() / 1000),
                Err(SlackError::Workspace { code }) => return Err(NotifyError::Workspace(code)),
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
            .insert(user.to_owned(), (Instant::now(), active));
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
                let channel = self.dm_channel(user).await?;
                let history = alerts::log::since(db, &alert.id, 0)
                    .await
                    .map_err(|e| NotifyError::Transient(e.to_string()))?;
                let recent = render::Recent::of(history.iter().map(|e| &e.line));
                let key = self.channel_key(&channel);
                if self.client.pacer().try_take(&key, pace::CHANNEL_POSTS).is_ok() {
                    let message = render::dm_message(&alert, &recent, n.step);
                    let (ts, channel) = self.post(&channel, &message, None, false).await?;
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
                pace_channel(self, channel).await?;
                let (ts, channel) = match &parent {
                    Some(p) => self.post_joining(&p.channel, &message, Some(&p.ts), true).await?,
                    None => self.post_joining(channel, &message, None, false).await?,
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
        pace_channel(self, channel).await?;
        let message = render::dm_digest(std::slice::from_ref(alert), 1);
        let (ts, channel) = self.post(channel, &message, None, false).await?;
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
async fn pace_channel(slack: &Slack, channel: &str) -> Result<(), NotifyError> {
    let key = slack.channel_key(channel);
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

async fn record(
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

    #[test]
    fn args_need_both_credentials_and_hide_them() {
        let args = |t: Option<&str>, s: Option<&str>| SlackArgs {
            slack_api_url: "https://slack.com/api".into(),
            slack_bot_token: t.map(str::to_owned),
            slack_signing_secret: s.map(str::to_owned),
            slack_timeout_ms: 5000,
        };
        assert!(args(None, None).credentials().is_ok_and(|c| c.is_none()));
        assert!(
            args(Some("xoxb-1"), Some("s"))
                .credentials()
                .is_ok_and(|c| c.is_some())
        );
        let e = args(Some("xoxb-1"), None).credentials().unwrap_err();
        assert!(e.setting.contains("KLAXON_SLACK_SIGNING_SECRET"));
        let e = args(None, Some("s")).credentials().unwrap_err();
        assert!(e.setting.contains("KLAXON_SLACK_BOT_TOKEN"));
        let dbg = format!("{:?}", args(Some("xoxb-secret-token"), Some("sign-secret")));
        assert!(
            !dbg.contains("xoxb-secret-token") && !dbg.contains("sign-secret"),
            "{dbg}"
        );
    }
}

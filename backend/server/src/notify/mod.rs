//! Who can be notified and how a notification is delivered, as two interfaces the escalation engine calls:
//! a [`Directory`] (the members of a channel, whether a user is active) and a [`Notifier`] (delivers one
//! [`Notification`]). Slack implements both; without Slack, [`SkipNotifier`] logs and drops notifications,
//! [`LogNotifier`] appends them to a file as JSON lines (for tests and dry runs), and the in-memory
//! [`MemoryDirectory`] and [`MemoryNotifier`] serve tests.

mod log;
mod memory;

use klaxon_api::Notify;
use serde::{Deserialize, Serialize};

pub use log::LogNotifier;
pub use memory::{MemoryDirectory, MemoryNotifier};

use crate::escalation::Target;

/// One step of one alert's escalation, as delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Identity of the delivery: `<alert id>/<round>/<step>`. The same key delivered twice is a duplicate.
    pub key: String,
    /// The account (Slack workspace) the alert belongs to.
    pub account_id: String,
    /// The alert.
    pub alert_id: String,
    /// The alert's team.
    pub team_id: String,
    /// The escalation round, from 0.
    pub round: u32,
    /// The step within the round, from 0.
    pub step: u32,
    /// The step's kind.
    pub notify: Notify,
    /// Where it goes.
    pub target: Target,
    /// Why a member step went to the channel instead of a member, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    /// The alert's title.
    pub title: String,
    /// The alert's severity (`info`, `warning`, `error`, `critical`).
    pub severity: String,
    /// When the step fired, Unix milliseconds.
    pub at_ms: i64,
}

/// Why a directory or notifier call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    /// A failure that may pass (a timeout, a 5xx): the step is retried with back-off.
    #[error("{0}")]
    Transient(String),
    /// A failure that may pass after a wait the peer named (Slack's `Retry-After`).
    #[error("{0} (retry after {1:?})")]
    RetryAfter(String, std::time::Duration),
    /// This recipient cannot be reached, and retrying will not change that (a deactivated user, a deleted
    /// or archived channel): the escalation says so and moves on.
    #[error("{0}")]
    Permanent(String),
    /// The workspace cannot be used at all (a revoked token, an uninstalled app): nothing is sent to it
    /// until that is fixed; escalation goes on in Klaxon and says so.
    #[error("{0}")]
    Workspace(String),
}

/// Who is in a channel and who is around.
#[async_trait::async_trait]
pub trait Directory: std::fmt::Debug + Send + Sync {
    /// The members of `channel` in `account`'s workspace, used when a team lists no members.
    async fn channel_members(&self, account_id: &str, channel: &str) -> Result<Vec<String>, NotifyError>;

    /// Whether `user` is active now (not away, not in Do Not Disturb).
    async fn is_active(&self, account_id: &str, user: &str) -> Result<bool, NotifyError>;
}

/// Delivers notifications.
#[async_trait::async_trait]
pub trait Notifier: std::fmt::Debug + Send + Sync {
    /// Delivers `n`.
    async fn deliver(&self, n: &Notification) -> Result<(), NotifyError>;

    /// Whether `n` (by its key) was delivered already. Asked only when an earlier attempt began delivering
    /// it and died before recording the outcome, so the retry neither loses nor repeats it. A notifier that
    /// cannot tell answers `false` (the notification may then be repeated once after such a crash).
    async fn was_delivered(&self, n: &Notification) -> Result<bool, NotifyError>;
}

/// The directory when Slack is not configured: channel members are unknown and everyone is active.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoDirectory;

#[async_trait::async_trait]
impl Directory for NoDirectory {
    async fn channel_members(&self, _account_id: &str, _channel: &str) -> Result<Vec<String>, NotifyError> {
        Ok(Vec::new())
    }

    async fn is_active(&self, _account_id: &str, _user: &str) -> Result<bool, NotifyError> {
        Ok(true)
    }
}

/// The notifier when Slack is not configured and no notification log is set: logs each notification at
/// debug level and drops it (alerts are still stored, grouped, escalated and visible through the API).
#[derive(Debug, Clone, Copy, Default)]
pub struct SkipNotifier;

#[async_trait::async_trait]
impl Notifier for SkipNotifier {
    async fn deliver(&self, n: &Notification) -> Result<(), NotifyError> {
        tracing::debug!(key = %n.key, notify = n.notify.as_str(), "Notification skipped: Slack is not configured.");
        Ok(())
    }

    async fn was_delivered(&self, _n: &Notification) -> Result<bool, NotifyError> {
        Ok(false)
    }
}

//! Alerts: what an ingested event becomes, and their life.
//!
//! An event becomes an *alert* (needs someone: escalated until acknowledged) or a *notification* (only
//! informs: never escalated, cannot be acknowledged, stored closed). Events of one endpoint and group key
//! within the endpoint's grouping window join one alert (its count grows) instead of opening another; a
//! recovery event closes the open alert as auto-closed. An alert moves open -> acknowledged -> closed, or open
//! -> closed; a pass hands it to its next escalation step at once. Every transition is idempotent, because
//! Slack retries deliveries and people press buttons twice.
//!
//! The pieces: [`ingest`] (grouping, resolving, creating with the first escalation timer, in one
//! transaction), [`act`] (acknowledge, close, pass), [`escalate::run_step`] (one escalation step, driven by
//! the `escalation.step` job), the history of each alert ([`log`]), the work a change leaves behind
//! (`follow_up`: timers and Slack syncs, enqueued with the change), reads in `db.rs`, and the API view in
//! `view.rs`. This module owns the alert tables' SQL; `jobs` calls into it, never the reverse.

mod actions;
pub mod batch;
mod db;
pub mod escalate;
mod follow_up;
mod grouping;
pub mod heartbeat;
mod ingest;
pub mod log;
pub mod maintenance;
pub mod remind;
pub mod snooze;
mod view;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use actions::{Acted, Action, act, digest_of, get, get_any, list, open_in_workspace, set_slack_delivery};
pub use follow_up::{EscalateJob, SyncJob};
pub use ingest::{IngestAction, Ingested, ingest};
pub use log::{LogEntry, LogLine};
pub use view::{ActionInput, Alert, AlertQuery, CreateAlertInput, Escalation, MaintenanceHold};

use crate::{
    escalation::{Policy, Position},
    notify::Notification,
    store::StoreError,
};

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    /// Nobody has taken it yet; escalation runs.
    Open,
    /// Someone took it; escalation stopped.
    Acknowledged,
    /// Over (closed by someone or by a recovery event).
    Closed,
}

impl AlertStatus {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledged => "acknowledged",
            Self::Closed => "closed",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Open, Self::Acknowledged, Self::Closed]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// Whether an alert asks for a human or only informs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// Escalated until acknowledged.
    Alert,
    /// Posted once, never escalated, cannot be acknowledged.
    Notification,
}

impl AlertKind {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Alert => "alert",
            Self::Notification => "notification",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Alert, Self::Notification]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// Context of the event source kept with an alert, for display.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Details {
    /// AWS account id (or another system's account), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// AWS region, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The affected resource, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// A console or dashboard link, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// An alert as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAlert {
    /// Server-assigned id (`alert_...`).
    pub id: String,
    /// The owning account.
    pub account_id: String,
    /// The endpoint that received its first event.
    pub endpoint_id: String,
    /// The team it belongs to.
    pub team_id: String,
    /// The policy it escalates by, as it was when the alert opened.
    pub policy: Policy,
    /// Events with this key (within the grouping window) joined it.
    pub group_key: String,
    /// Alert or notification.
    pub kind: AlertKind,
    /// Where it is in its life.
    pub status: AlertStatus,
    /// One line for people.
    pub title: String,
    /// Longer description (may be empty).
    pub text: String,
    /// `info`, `warning`, `error` or `critical`.
    pub severity: String,
    /// Where its first event came from.
    pub source: String,
    /// Flattened details of the first event.
    pub fields: BTreeMap<String, String>,
    /// Account, region, resource and link of the first event.
    pub details: Details,
    /// Events that joined it, the first included.
    pub count: u64,
    /// When the first event arrived, Unix milliseconds.
    pub first_seen_ms: i64,
    /// When the latest event arrived, Unix milliseconds.
    pub last_seen_ms: i64,
    /// Who acknowledged it (a Slack user id), when someone did and said who.
    pub acknowledged_by: Option<String>,
    /// When it was acknowledged.
    pub acknowledged_at_ms: Option<i64>,
    /// Who closed it, when someone did and said who.
    pub closed_by: Option<String>,
    /// When it was closed.
    pub closed_at_ms: Option<i64>,
    /// Closed by a recovery event.
    pub auto_closed: bool,
    /// The escalation step that fires next (past the last step once the chain has ended).
    pub position: Position,
    /// When that step is due, while the alert is open and the chain has not ended.
    pub next_escalation_at_ms: Option<i64>,
    /// Members DMed so far by `random_member` steps.
    pub notified: Vec<String>,
    /// The notification of the current step while it is being delivered.
    pub delivering: Option<Notification>,
    /// Bumped by every change people should see; a Slack message of an older version is out of date.
    pub version: u64,
    /// Why the latest escalation step reached nobody; `None` once a step reaches someone.
    pub problem: Option<String>,
    /// Where Slack shows it: `None` while its channel message is still to be posted, `posted`, or `digest`
    /// (in its channel's digest during a storm).
    pub slack_delivery: Option<String>,
    /// While the alert is snoozed, when the snooze ends (Unix milliseconds): its pending escalation step
    /// waits until then (see `snooze`).
    pub snoozed_until_ms: Option<i64>,
    /// Who snoozed it (a Slack user id), when known.
    pub snoozed_by: Option<String>,
}

/// What an alert call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    /// No such alert in the caller's account.
    #[error("not found")]
    NotFound,
    /// The action does not apply to this object (acknowledging a notification).
    #[error("{0}")]
    Conflict(String),
    /// A store call failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// The job queue failed.
    #[error(transparent)]
    Queue(#[from] klaxon_queue::Error),
    /// A stored JSON document could not be read back or written.
    #[error("corrupt alert document: {0}")]
    Corrupt(#[from] serde_json::Error),
}

impl AlertError {
    /// Why the database cannot serve now, when that is the failure (see [`klaxon_db::unavailable`]): the
    /// caller is told to retry (503) instead of being shown a fault.
    pub fn unavailable(&self) -> Option<&'static str> {
        match self {
            Self::Store(StoreError::Db(e)) | Self::Db(e) | Self::Queue(klaxon_queue::Error::Sqlx(e)) => {
                klaxon_db::unavailable(e)
            }
            _ => None,
        }
    }
}

/// The job partition of an alert: its jobs run one at a time, in order.
pub fn partition(alert_id: &str) -> String {
    format!("alert:{alert_id}")
}

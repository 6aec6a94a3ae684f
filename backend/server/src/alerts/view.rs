//! The API's view of alerts (`/v1/alerts`): the wire types, and the conversion from [`StoredAlert`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{AlertKind, AlertStatus, Details, StoredAlert};
use crate::escalation::Position;

/// An alert or notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Alert {
    /// Server-assigned id.
    pub id: String,
    /// The endpoint that received its first event; for a missed heartbeat's alert (`source` `heartbeat`),
    /// the heartbeat's id (`/v1/heartbeats/{id}`).
    pub endpoint_id: String,
    /// The team it belongs to.
    pub team_id: String,
    /// The policy it escalates by; null for the team's default chain (and for notifications).
    pub escalation_policy_id: Option<String>,
    /// Events with this key (within the endpoint's grouping window) join it.
    pub group_key: String,
    /// `alert` (escalated until acknowledged) or `notification` (informs only; stored closed).
    pub kind: AlertKind,
    /// `open`, `acknowledged` or `closed`.
    pub status: AlertStatus,
    /// One line for people.
    pub title: String,
    /// Longer description (may be empty).
    pub text: String,
    /// `info`, `warning`, `error` or `critical`.
    pub severity: String,
    /// Where its first event came from (`aws.cloudwatch`, `webhook`, `api`, ...).
    pub source: String,
    /// Flattened details of the first event.
    pub fields: BTreeMap<String, String>,
    /// Account, region, resource and link of the first event, when known.
    pub details: Details,
    /// Events that joined it, the first included.
    pub count: u64,
    /// When the first event arrived (RFC 3339).
    pub first_seen: String,
    /// When the latest event arrived (RFC 3339).
    pub last_seen: String,
    /// Who acknowledged it, when someone did and said who.
    pub acknowledged_by: Option<String>,
    /// When it was acknowledged (RFC 3339).
    pub acknowledged_at: Option<String>,
    /// Who closed it, when someone did and said who.
    pub closed_by: Option<String>,
    /// When it was closed (RFC 3339).
    pub closed_at: Option<String>,
    /// Closed by a recovery event.
    pub auto_closed: bool,
    /// Where its escalation stands (null for notifications).
    pub escalation: Option<Escalation>,
    /// While the open alert is snoozed, when the snooze ends (RFC 3339): its pending escalation step waits
    /// until then, and fires at once when it ends.
    pub snoozed_until: Option<String>,
    /// Who snoozed it, when someone did and said who.
    pub snoozed_by: Option<String>,
    /// While the alert is held by a maintenance window (it opened during one, and is neither closed nor passed
    /// on): nobody is paged until the hold ends; if it is still open then, its escalation starts from the
    /// first step. Null otherwise. The channel message carries the same "In maintenance" mark.
    pub maintenance: Option<MaintenanceHold>,
    /// Where Slack shows it: `posted` (its own message), `digest` (in its channel's digest, during a storm) or
    /// `delayed` (its message waits for the channel's pace or for Slack to answer); null when Slack is not
    /// configured.
    pub delivery: Option<String>,
}

/// The maintenance window holding an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MaintenanceHold {
    /// The window that holds it (when several cover it, the one ending last).
    pub window_id: String,
    /// When the hold ends and escalation starts (RFC 3339): the end of the window's occurrence, following
    /// the window when it is changed.
    pub until: String,
}

/// Where an alert's escalation stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Escalation {
    /// The round of the step that fires next, from 0.
    pub round: u32,
    /// The step that fires next, from 0; equal to the number of steps once the chain has ended.
    pub step: u32,
    /// The chain has run to its end.
    pub ended: bool,
    /// When the next step is due (RFC 3339); null unless the alert is open and the chain has not ended.
    pub next_at: Option<String>,
    /// Members DMed so far.
    pub notified: Vec<String>,
    /// Why the latest step reached nobody (a deactivated user, a missing channel, an unusable workspace);
    /// null once a step reaches someone.
    pub problem: Option<String>,
}

impl StoredAlert {
    /// The API view, with `delivery` when Slack is on and the maintenance hold `held` (from
    /// [`super::maintenance::holds_of`]) while it holds the alert: not closed, and not passed on (a pass
    /// starts the escalation during the window), as the Slack mark.
    pub fn to_api_with(&self, slack_on: bool, held: Option<&super::maintenance::Held>) -> Alert {
        let mut a = self.to_api();
        a.maintenance = held
            .filter(|_| self.status != AlertStatus::Closed && self.position == Position::START)
            .map(|h| MaintenanceHold {
                window_id: h.window_id.clone(),
                until: rfc3339(h.until_ms),
            });
        a.delivery = slack_on.then(|| {
            match self.slack_delivery.as_deref() {
                Some("posted") => "posted",
                Some("digest") => "digest",
                _ => "delayed",
            }
            .to_owned()
        });
        a
    }

    /// The API view (without `delivery` and `maintenance`).
    pub fn to_api(&self) -> Alert {
        Alert {
            id: self.id.clone(),
            endpoint_id: self.endpoint_id.clone(),
            team_id: self.team_id.clone(),
            escalation_policy_id: self.policy.policy_id.clone(),
            group_key: self.group_key.clone(),
            kind: self.kind,
            status: self.status,
            title: self.title.clone(),
            text: self.text.clone(),
            severity: self.severity.clone(),
            source: self.source.clone(),
            fields: self.fields.clone(),
            details: self.details.clone(),
            count: self.count,
            first_seen: rfc3339(self.first_seen_ms),
            last_seen: rfc3339(self.last_seen_ms),
            acknowledged_by: self.acknowledged_by.clone(),
            acknowledged_at: self.acknowledged_at_ms.map(rfc3339),
            closed_by: self.closed_by.clone(),
            closed_at: self.closed_at_ms.map(rfc3339),
            auto_closed: self.auto_closed,
            escalation: (self.kind == AlertKind::Alert).then(|| Escalation {
                round: self.position.round,
                step: self.position.step,
                ended: self.policy.step(self.position).is_none(),
                next_at: self.next_escalation_at_ms.map(rfc3339),
                notified: self.notified.clone(),
                problem: self.problem.clone(),
            }),
            snoozed_until: self
                .snoozed_until_ms
                .filter(|_| self.status == AlertStatus::Open)
                .map(rfc3339),
            snoozed_by: self
                .snoozed_by
                .clone()
                .filter(|_| self.status == AlertStatus::Open && self.snoozed_until_ms.is_some()),
            delivery: None,
            maintenance: None,
        }
    }
}

/// Filters of `GET /v1/alerts`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AlertQuery {
    /// Only alerts in this status (`open`, `acknowledged`, `closed`).
    pub status: Option<AlertStatus>,
    /// Page size, 1 to 1000; default 100.
    #[serde(default, deserialize_with = "klaxon_api::int::query_u32")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The optional body of `POST /v1/alerts/{id}/{ack,close,pass}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionInput {
    /// Who acts: a Slack user id, recorded as `acknowledged_by` or `closed_by`.
    #[serde(default)]
    pub by: Option<String>,
}

/// The body of `POST /v1/alerts`: raise an alert by hand, through the same path as ingested events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAlertInput {
    /// The endpoint whose team, policy and grouping window apply.
    pub endpoint_id: String,
    /// One line for people, 1 to 500 characters.
    pub title: String,
    /// Events with the same key join one alert; default: the title.
    #[serde(default)]
    pub group_key: Option<String>,
    /// Longer description.
    #[serde(default)]
    pub text: Option<String>,
    /// `info`, `warning`, `error` (default) or `critical`.
    #[serde(default)]
    pub severity: Option<crate::event::Severity>,
}

/// Unix milliseconds as RFC 3339 (UTC).
fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

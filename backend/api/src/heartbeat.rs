//! Heartbeats (dead-man's switches): a job pings its URL (`GET` or `POST /heartbeat/{token}`) every run;
//! when no ping arrives within `interval_minutes + grace_minutes`, Klaxon opens an alert in the team
//! ("heartbeat nightly-backup missed") that escalates like any other, and the next ping closes it.

use serde::{Deserialize, Serialize};

/// A heartbeat as stored.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Heartbeat {
    /// Server-assigned id.
    pub id: String,
    /// The team its missed-alerts belong to.
    pub team_id: String,
    /// The policy that escalates its missed-alerts; null means the team's default chain.
    pub escalation_policy_id: Option<String>,
    /// Unique name within the team; the alert is titled "heartbeat NAME missed".
    pub name: String,
    /// Minutes expected between two pings.
    pub interval_minutes: u32,
    /// Minutes of lateness tolerated after `interval_minutes` before the alert opens.
    pub grace_minutes: u32,
    /// Paused: no alert opens, whatever the pings; resuming starts the clock afresh.
    pub paused: bool,
    /// The URL to ping (`GET` or `POST`); it embeds the heartbeat's secret token.
    pub ping_url: String,
    /// When the latest ping arrived (RFC 3339); null before the first.
    pub last_beat_at: Option<String>,
    /// Whether the heartbeat is missed now (its alert was opened and no ping has arrived since).
    pub missed: bool,
}

// Debug hides the token in the ping URL: it is the heartbeat's credential.
impl std::fmt::Debug for Heartbeat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = match self.ping_url.rsplit_once('/') {
            Some((base, _)) => format!("{base}/***"),
            None => "***".to_owned(),
        };
        f.debug_struct("Heartbeat")
            .field("id", &self.id)
            .field("team_id", &self.team_id)
            .field("escalation_policy_id", &self.escalation_policy_id)
            .field("name", &self.name)
            .field("interval_minutes", &self.interval_minutes)
            .field("grace_minutes", &self.grace_minutes)
            .field("paused", &self.paused)
            .field("ping_url", &url)
            .field("last_beat_at", &self.last_beat_at)
            .field("missed", &self.missed)
            .finish()
    }
}

/// The body of `POST /v1/heartbeats` and `PUT /v1/heartbeats/{id}` (a full replacement).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HeartbeatInput {
    /// The team its missed-alerts belong to (must exist in the caller's account; a heartbeat cannot move).
    pub team_id: String,
    /// A policy of the same team; null means the team's default chain.
    #[serde(default)]
    pub escalation_policy_id: Option<String>,
    /// Unique name within the team, 1 to 100 characters.
    pub name: String,
    /// Minutes expected between two pings, 1 to 10080 (7 days).
    #[serde(deserialize_with = "crate::int::u32")]
    pub interval_minutes: u32,
    /// Minutes of lateness tolerated after `interval_minutes`, 0 to 1440 (1 day); default 0.
    #[serde(default, deserialize_with = "crate::int::u32")]
    pub grace_minutes: u32,
    /// Pause the heartbeat (maintenance, a job switched off): no alert opens, and pausing closes an open
    /// missed-alert (its thread says why); default false. Resuming starts the clock afresh.
    #[serde(default)]
    pub paused: bool,
}

/// Largest `interval_minutes`: 7 days (a weekly job).
pub const MAX_HEARTBEAT_INTERVAL_MINUTES: u32 = 10_080;
/// Largest `grace_minutes`: 1 day.
pub const MAX_HEARTBEAT_GRACE_MINUTES: u32 = 1440;

/// Filters of `GET /v1/heartbeats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct HeartbeatQuery {
    /// Only heartbeats of this team.
    pub team_id: Option<String>,
    /// Only the heartbeat with exactly this name.
    pub name: Option<String>,
    /// Page size, 1 to 1000; default 100.
    #[serde(default, deserialize_with = "crate::int::query_u32")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The answer to a ping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Beat {
    /// Always true: the ping was recorded.
    pub ok: bool,
    /// True when this ping closed the heartbeat's open missed-alert.
    pub recovered: bool,
}

//! Endpoints: where alerts come in (`POST /ingest/{token}`), for one team.

use serde::{Deserialize, Serialize};

/// An endpoint as stored.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Endpoint {
    /// Server-assigned id.
    pub id: String,
    /// The team its alerts belong to.
    pub team_id: String,
    /// The policy that escalates its alerts; null means the team's default chain.
    pub escalation_policy_id: Option<String>,
    /// Unique name within the team.
    pub name: String,
    /// SNS topics allowed to post here, sorted; empty means any topic.
    pub allowed_topic_arns: Vec<String>,
    /// Minutes an open alert absorbs events with the same group key.
    pub alert_grouping_minutes: u32,
    /// Minutes a notification absorbs events with the same group key.
    pub notification_grouping_minutes: u32,
    /// Ingest URL for webhooks; it embeds the secret ingest token.
    pub url: String,
    /// Ingest URL to subscribe to SNS topics (today the same as `url`).
    pub sns_url: String,
}

// Debug hides the token in the ingest URLs: they are the endpoint's credential.
impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("id", &self.id)
            .field("team_id", &self.team_id)
            .field("escalation_policy_id", &self.escalation_policy_id)
            .field("name", &self.name)
            .field("allowed_topic_arns", &self.allowed_topic_arns)
            .field("alert_grouping_minutes", &self.alert_grouping_minutes)
            .field(
                "notification_grouping_minutes",
                &self.notification_grouping_minutes,
            )
            .field("url", &hide_token(&self.url))
            .field("sns_url", &hide_token(&self.sns_url))
            .finish()
    }
}

/// An ingest URL with its last path segment (the secret token) replaced by `***`.
fn hide_token(url: &str) -> String {
    match url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/***"),
        None => "***".to_owned(),
    }
}

/// The body of `POST /v1/endpoints` and `PUT /v1/endpoints/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EndpointInput {
    /// The team its alerts belong to (must exist in the caller's account).
    pub team_id: String,
    /// A policy of the same team; null means the team's default chain.
    #[serde(default)]
    pub escalation_policy_id: Option<String>,
    /// Unique name within the team, 1 to 100 characters.
    pub name: String,
    /// SNS topic ARNs allowed to post here (a set: order and duplicates do not matter); empty means any.
    #[serde(default)]
    pub allowed_topic_arns: Vec<String>,
    /// Minutes an open alert absorbs events with the same group key, 0 to 525600; default 10080 (7 days).
    #[serde(default = "default_alert_grouping", deserialize_with = "crate::int::u32")]
    pub alert_grouping_minutes: u32,
    /// Minutes a notification absorbs events with the same group key, 0 to 1440; default 1.
    #[serde(
        default = "default_notification_grouping",
        deserialize_with = "crate::int::u32"
    )]
    pub notification_grouping_minutes: u32,
}

/// Default of `alert_grouping_minutes`: 7 days.
pub const DEFAULT_ALERT_GROUPING_MINUTES: u32 = 10_080;
/// Default of `notification_grouping_minutes`.
pub const DEFAULT_NOTIFICATION_GROUPING_MINUTES: u32 = 1;

fn default_alert_grouping() -> u32 {
    DEFAULT_ALERT_GROUPING_MINUTES
}

fn default_notification_grouping() -> u32 {
    DEFAULT_NOTIFICATION_GROUPING_MINUTES
}

/// Filters of `GET /v1/endpoints`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct EndpointQuery {
    /// Only endpoints of this team.
    pub team_id: Option<String>,
    /// Only the endpoint with exactly this name.
    pub name: Option<String>,
    /// Page size, 1 to 1000; default 100.
    #[serde(default, deserialize_with = "crate::int::query_u32")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

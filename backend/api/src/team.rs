//! Teams: a Slack channel and the people who answer its alerts.

use serde::{Deserialize, Serialize};

/// A team as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Team {
    /// Server-assigned id.
    pub id: String,
    /// Unique name within the account.
    pub name: String,
    /// Slack channel id (`C0123ABCD`) where the team's alerts are posted.
    pub slack_channel: String,
    /// Slack user ids, in the order given (the order `next_member` walks); empty means the channel's members.
    pub members: Vec<String>,
    /// Free text.
    pub description: Option<String>,
}

/// The body of `POST /v1/teams` and `PUT /v1/teams/{id}` (a full replacement).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TeamInput {
    /// Unique name within the account, 1 to 100 characters.
    pub name: String,
    /// Slack channel id: `C` or `G` followed by upper-case letters and digits.
    pub slack_channel: String,
    /// Slack user ids (`U...` or `W...`), no duplicates, at most 100; empty means the channel's members.
    #[serde(default)]
    pub members: Vec<String>,
    /// Free text, at most 1000 characters.
    #[serde(default)]
    pub description: Option<String>,
}

/// Filters of `GET /v1/teams`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct TeamQuery {
    /// Only the team with exactly this name.
    pub name: Option<String>,
    /// Page size, 1 to 1000; default 100.
    #[serde(default, deserialize_with = "crate::int::query_u32")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

//! Escalation policies: who is notified, in which order, and how long each step waits.

use serde::{Deserialize, Serialize};

/// Minutes between the steps of the default chain.
pub const DEFAULT_STEP_MINUTES: u32 = 5;

/// Whom a step notifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Notify {
    /// A random member not yet notified for this alert, by direct message.
    RandomMember,
    /// The next member in the team's order (round-robin), by direct message.
    NextMember,
    /// The step's `user`, by direct message.
    User,
    /// A channel post with `@here`.
    Here,
    /// A channel post with `@channel`.
    Channel,
}

impl Notify {
    /// Every kind, in documentation order.
    pub const ALL: [Self; 5] = [
        Self::RandomMember,
        Self::NextMember,
        Self::User,
        Self::Here,
        Self::Channel,
    ];

    /// The wire name (`random_member`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RandomMember => "random_member",
            Self::NextMember => "next_member",
            Self::User => "user",
            Self::Here => "here",
            Self::Channel => "channel",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|n| n.as_str() == s)
    }
}

/// One step of a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Whom to notify.
    pub notify: Notify,
    /// Slack user id; required when `notify` is `user`, not allowed otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Minutes to wait before the next step (or before the first again when `repeat` is above 0), 1 to 1440;
    /// without it the chain ends at this step.
    #[serde(
        default,
        deserialize_with = "crate::int::opt_u32",
        skip_serializing_if = "Option::is_none"
    )]
    pub escalate_after_minutes: Option<u32>,
}

/// A policy as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EscalationPolicy {
    /// Server-assigned id.
    pub id: String,
    /// The team whose alerts it escalates.
    pub team_id: String,
    /// Unique name within the team.
    pub name: String,
    /// The steps, exactly in the order given.
    pub steps: Vec<Step>,
    /// How many times the whole chain runs again after its last step, 0 to 9.
    pub repeat: u32,
    /// Skip members who are away or in Do Not Disturb.
    pub skip_inactive: bool,
    /// Minutes between reminders of an acknowledged alert that stays open (a DM to whoever acknowledged it);
    /// absent: no reminders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remind_after_minutes: Option<u32>,
}

/// The body of `POST /v1/escalation-policies` and `PUT /v1/escalation-policies/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EscalationPolicyInput {
    /// The team whose alerts it escalates (must exist in the caller's account).
    pub team_id: String,
    /// Unique name within the team, 1 to 100 characters.
    pub name: String,
    /// 1 to 20 steps; only the last may omit `escalate_after_minutes`, and when `repeat` is above 0 none may.
    pub steps: Vec<Step>,
    /// How many times the whole chain runs again after its last step, 0 to 9; default 0.
    #[serde(default, deserialize_with = "crate::int::u32")]
    pub repeat: u32,
    /// Skip members who are away or in Do Not Disturb; default true.
    #[serde(default = "default_true")]
    pub skip_inactive: bool,
    /// Remind whoever acknowledged an alert, by DM, every this many minutes (1 to 1440) while it stays open;
    /// absent: no reminders.
    #[serde(
        default,
        deserialize_with = "crate::int::opt_u32",
        skip_serializing_if = "Option::is_none"
    )]
    pub remind_after_minutes: Option<u32>,
}

fn default_true() -> bool {
    true
}

/// Filters of `GET /v1/escalation-policies`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct PolicyQuery {
    /// Only policies of this team.
    pub team_id: Option<String>,
    /// Only the policy with exactly this name.
    pub name: Option<String>,
    /// Page size, 1 to 1000; default 100.
    #[serde(default, deserialize_with = "crate::int::query_u32")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The seed's chain, used for a team whose endpoint names no policy: DM a random active member, after 5
/// minutes another one, after 5 minutes `@here`, after 5 minutes `@channel`; no repeat.
pub fn default_chain() -> Vec<Step> {
    let step = |notify, after: Option<u32>| Step {
        notify,
        user: None,
        escalate_after_minutes: after,
    };
    vec![
        step(Notify::RandomMember, Some(DEFAULT_STEP_MINUTES)),
        step(Notify::RandomMember, Some(DEFAULT_STEP_MINUTES)),
        step(Notify::Here, Some(DEFAULT_STEP_MINUTES)),
        step(Notify::Channel, None),
    ]
}

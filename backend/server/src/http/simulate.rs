//! `simulate`: the timeline a policy would page for a new alert nobody acknowledges, for a stored policy, a
//! policy not saved yet, or a team's default chain (the seed's: what endpoints without a policy use).

use axum::{Json, body::Bytes, extract::State};
use klaxon_api::{Step, validate};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{Account, AppError, AppJson, AppPath, AppResult, AppState, optional_body};
use crate::escalation::{
    Policy, Roster, TimelineEntry, timeline,
    words::{self, Audience},
};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(simulate_draft))
        .routes(routes!(simulate_policy))
        .routes(routes!(simulate_team))
}

/// Who the simulation may choose from (the optional body of the stored-policy and team simulations).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SimulateMembers {
    /// Members to choose from, in rotation order; default: the team's members.
    #[serde(default)]
    pub members: Option<Vec<String>>,
    /// Members to treat as away or in Do Not Disturb.
    #[serde(default)]
    pub inactive: Vec<String>,
}

/// The body of `POST /v1/escalation-policies/simulate`: a policy not saved yet, or (without `steps`) the
/// seed's default chain, with the members and channel of `team_id` when it is given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SimulateInput {
    /// The team whose members and channel fill in the picks; without it (and without `members`) the
    /// timeline shows kinds and times only.
    #[serde(default)]
    pub team_id: Option<String>,
    /// The steps, as in a policy; without them the seed's default chain is simulated.
    #[serde(default)]
    pub steps: Option<Vec<Step>>,
    /// As in a policy, 0 to 9; default 0.
    #[serde(default, deserialize_with = "klaxon_api::int::u32")]
    pub repeat: u32,
    /// As in a policy; default true.
    #[serde(default)]
    pub skip_inactive: Option<bool>,
    /// Members to choose from, in rotation order; default: the team's members.
    #[serde(default)]
    pub members: Option<Vec<String>>,
    /// Members to treat as away or in Do Not Disturb.
    #[serde(default)]
    pub inactive: Vec<String>,
}

/// A simulated escalation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub(super) struct Simulation {
    /// `policy` (a stored policy), `draft` (a policy in the request) or `default` (the seed's chain).
    pub source: String,
    /// The stored policy simulated, for `policy`.
    pub escalation_policy_id: Option<String>,
    /// The steps simulated.
    pub steps: Vec<Step>,
    /// Repeats of the chain.
    pub repeat: u32,
    /// Whether inactive members are skipped.
    pub skip_inactive: bool,
    /// What fires when, in order.
    pub timeline: Vec<TimelineEntry>,
    /// The timeline in words, one line per step of the first round, then the repeats and reminders: the
    /// lines the Terraform provider plans as the policy's `timeline`.
    pub summary: Vec<String>,
}

/// Simulate a stored policy: the timeline for a new alert nobody acknowledges.
#[utoipa::path(post, path = "/v1/escalation-policies/{id}/simulate", tag = "escalation-policies",
    operation_id = "simulate_escalation_policy", params(("id" = String, Path)),
    request_body(content = Option<SimulateMembers>, description = "Optional: members to choose from"),
    responses((status = 200, body = Simulation)), security(("bearer" = [])))]
pub(super) async fn simulate_policy(
    State(state): State<AppState>,
    Account(account): Account,
    AppPath(id): AppPath<String>,
    body: Bytes,
) -> AppResult<Json<Simulation>> {
    let who = optional_body::<SimulateMembers>(&body)?;
    let policy = state.store.get_policy(&account, &id).await?;
    let team = state.store.get_team(&account, &policy.team_id).await?;
    let roster = roster(Some(&team), who.members, who.inactive)?;
    Ok(Json(simulate(
        "policy",
        &Policy::from_api(&policy),
        roster.as_ref(),
        Some(&team),
    )))
}

/// Simulate a team's default chain (the seed's), which its endpoints without a policy escalate by.
#[utoipa::path(post, path = "/v1/teams/{id}/simulate", tag = "teams", operation_id = "simulate_team",
    params(("id" = String, Path)),
    request_body(content = Option<SimulateMembers>, description = "Optional: members to choose from"),
    responses((status = 200, body = Simulation)), security(("bearer" = [])))]
pub(super) async fn simulate_team(
    State(state): State<AppState>,
    Account(account): Account,
    AppPath(id): AppPath<String>,
    body: Bytes,
) -> AppResult<Json<Simulation>> {
    let who = optional_body::<SimulateMembers>(&body)?;
    let team = state.store.get_team(&account, &id).await?;
    let roster = roster(Some(&team), who.members, who.inactive)?;
    Ok(Json(simulate(
        "default",
        &Policy::default_chain(),
        roster.as_ref(),
        Some(&team),
    )))
}

/// Simulate a policy that is not saved yet, or (without `steps`) the seed's default chain.
#[utoipa::path(post, path = "/v1/escalation-policies/simulate", tag = "escalation-policies",
    operation_id = "simulate_draft_policy", request_body = SimulateInput,
    responses((status = 200, body = Simulation)), security(("bearer" = [])))]
pub(super) async fn simulate_draft(
    State(state): State<AppState>,
    Account(account): Account,
    AppJson(input): AppJson<SimulateInput>,
) -> AppResult<Json<Simulation>> {
    let mut errs = Vec::new();
    if let Some(id) = &input.team_id {
        validate::id(&mut errs, "team_id", id);
    }
    validate::repeat(&mut errs, input.repeat);
    if let Some(steps) = &input.steps {
        errs.extend(validate::steps(steps, input.repeat));
    }
    AppError::first_invalid(errs)?;
    let team = match &input.team_id {
        Some(id) => Some(state.store.get_team(&account, id).await.map_err(|e| match e {
            crate::store::StoreError::NotFound => AppError::MissingReference {
                message: format!("no team {id:?} in this account"),
                field: "team_id".to_owned(),
            },
            e => e.into(),
        })?),
        None => None,
    };
    let (source, policy) = match input.steps {
        Some(steps) => {
            let policy = Policy {
                policy_id: None,
                steps,
                repeat: input.repeat,
                skip_inactive: input.skip_inactive.unwrap_or(true),
                remind_after_minutes: None,
            };
            ("draft", policy)
        }
        None => ("default", Policy::default_chain()),
    };
    let roster = roster(team.as_ref(), input.members, input.inactive)?;
    Ok(Json(simulate(source, &policy, roster.as_ref(), team.as_ref())))
}

fn simulate(
    source: &str,
    policy: &Policy,
    roster: Option<&Roster>,
    team: Option<&klaxon_api::Team>,
) -> Simulation {
    let audience = team.map_or_else(Audience::default, |t| Audience {
        team: &t.name,
        channel: &t.slack_channel,
    });
    Simulation {
        source: source.to_owned(),
        escalation_policy_id: policy.policy_id.clone(),
        steps: policy.steps.clone(),
        repeat: policy.repeat,
        skip_inactive: policy.skip_inactive,
        timeline: timeline(policy, roster, 0, &mut rand::rng()),
        summary: words::summary(policy, audience),
    }
}

/// The roster to simulate with: the given members, else the team's (when neither names anyone the timeline
/// shows kinds and times only), and the team's channel for channel posts.
fn roster(
    team: Option<&klaxon_api::Team>,
    members: Option<Vec<String>>,
    inactive: Vec<String>,
) -> AppResult<Option<Roster>> {
    let mut errs = Vec::new();
    validate::user_ids(&mut errs, "members", members.as_deref().unwrap_or_default());
    validate::user_ids(&mut errs, "inactive", &inactive);
    AppError::first_invalid(errs)?;
    let members = members.unwrap_or_else(|| team.map(|t| t.members.clone()).unwrap_or_default());
    let channel = team.map(|t| t.slack_channel.clone());
    Ok(Some(Roster {
        members,
        inactive: inactive.into_iter().collect(),
        channel,
    }))
}

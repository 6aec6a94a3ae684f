//! `klaxon_escalation_policy`: who is notified about a team's alert, in which order, and how long each step
//! waits for an acknowledgement.

use klaxon_api::{
    EscalationPolicy, EscalationPolicyInput, Notify, Step,
    escalation::{
        Policy,
        words::{self, Audience},
    },
    validate,
};
use serde::{Deserialize, Serialize};
use tfplugin::{
    Attribute, AttributePath, Block, Context, Mode, Nesting, Plan, Resource, Schema, Type, ValidateContext,
    Value,
};

use super::{api_error, to_u32};
use crate::{KlaxonData, diag};

/// Default of `repeat`.
const DEFAULT_REPEAT: i64 = 0;
/// Default of `skip_inactive`.
const DEFAULT_SKIP_INACTIVE: bool = true;

/// State of one `klaxon_escalation_policy`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyState {
    /// Server-assigned id.
    pub id: Value<String>,
    /// The team (changing it replaces the policy).
    pub team_id: Value<String>,
    /// Unique name within the team.
    pub name: Value<String>,
    /// The steps, in order.
    pub steps: Value<Vec<StepState>>,
    /// Rounds after the first.
    pub repeat: Value<i64>,
    /// Skip away or Do-Not-Disturb members.
    pub skip_inactive: Value<bool>,
    /// Minutes between reminders of an acknowledged alert.
    pub remind_after_minutes: Value<i64>,
    /// Who is paged when, in words (computed).
    pub timeline: Value<Vec<String>>,
}

/// One step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepState {
    /// Whom to notify.
    pub notify: Value<String>,
    /// The user for `notify = "user"`.
    pub user: Value<String>,
    /// Wait before the next step.
    pub escalate_after_minutes: Value<i64>,
}

/// The `klaxon_escalation_policy` resource type.
#[derive(Debug, Clone, Copy)]
pub struct EscalationPolicyResource;

impl Resource<KlaxonData> for EscalationPolicyResource {
    type State = PolicyState;

    fn type_name(&self) -> &str {
        "klaxon_escalation_policy"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .description(
                    "An escalation policy: the ordered steps that page people about an alert nobody has \
                     acknowledged. An endpoint without a policy uses the team's default chain: DM a random \
                     member, after 5 minutes another one, after 5 minutes `@here`, after 5 minutes `@channel`.",
                )
                .attribute(Attribute::computed("id", Type::String).description("The policy's id, assigned by Klaxon."))
                .attribute(
                    Attribute::required("team_id", Type::String)
                        .requires_replace()
                        .description("Id of the team whose alerts it escalates. Changing it replaces the policy."),
                )
                .attribute(
                    Attribute::required("name", Type::String)
                        .description("Name of the policy, unique within the team (1 to 100 characters)."),
                )
                .attribute(
                    Attribute::nested(
                        "steps",
                        Nesting::List,
                        vec![
                            Attribute::required("notify", Type::String).description(
                                "Whom this step notifies: `random_member` (a random member not yet notified \
                                 for this alert, by DM), `next_member` (round-robin over the team's members, by \
                                 DM), `user` (the step's `user`, by DM), `here` (a channel post with @here) or \
                                 `channel` (a channel post with @channel).",
                            ),
                            Attribute::optional("user", Type::String).description(
                                "Slack user id (`U...`) to DM; required when `notify = \"user\"`, not allowed otherwise.",
                            ),
                            Attribute::optional("escalate_after_minutes", Type::Number).description(
                                "Minutes to wait for an acknowledgement before the next step (or before the \
                                 first step again when `repeat` is above 0), 1 to 1440. Only the last step may \
                                 omit it, and then the chain ends there.",
                            ),
                        ],
                        Mode::Required,
                    )
                    .description("The steps, run in exactly this order (1 to 20)."),
                )
                .attribute(Attribute::optional_computed("repeat", Type::Number).description(
                    "How many times the whole chain runs again after its last step, 0 to 9. Default `0`.",
                ))
                .attribute(Attribute::optional_computed("skip_inactive", Type::Bool).description(
                    "Skip members who are away or in Do Not Disturb when choosing whom to DM. Default `true`.",
                ))
                .attribute(Attribute::optional("remind_after_minutes", Type::Number).description(
                    "Remind whoever acknowledged an alert, by DM and in the alert's thread, every this many \
                     minutes (1 to 1440) while the alert stays open. Leave it out for no reminders.",
                ))
                .attribute(Attribute::computed("timeline", Type::List(Box::new(Type::String))).description(
                    "Who is paged when, in words, planned from the configuration so a plan shows the \
                     timeline before and after an edit: one line per step of the first round (`0 min: DM a \
                     random active member of payments`, `5 min: DM U0PAYLEAD1`, `15 min: @here in \
                     C0PAYMENTS`), then `then again from minute 30, twice` when the chain repeats and a \
                     line for reminders. The same words `POST /v1/escalation-policies/{id}/simulate` answers \
                     as `summary`. Unknown until apply while the team or a step is not known at plan time.",
                )),
        )
    }

    async fn validate(&self, ctx: &mut ValidateContext, config: PolicyState) {
        if let Value::Known(steps) = &config.steps {
            for (i, step) in steps.iter().enumerate() {
                if let Value::Known(n) = &step.notify
                    && Notify::parse(n).is_none()
                {
                    let kinds: Vec<_> = Notify::ALL.iter().map(|k| k.as_str()).collect();
                    ctx.error_at(
                        AttributePath::root("steps").index(i).attr("notify"),
                        "Invalid value for steps",
                        format!("{n:?} is not a notify kind; use one of {}", kinds.join(", ")),
                    );
                }
            }
        }
        let Some((steps, unknown)) = expand_steps_partial(&config.steps) else {
            return;
        };
        let mut errors = validate::steps(&steps, to_u32(&config.repeat, 0));
        if let Value::Known(name) = &config.name {
            let probe = EscalationPolicyInput {
                team_id: "placeholder".into(),
                name: name.clone(),
                steps,
                repeat: to_u32(&config.repeat, 0),
                skip_inactive: true,
                remind_after_minutes: None,
            };
            errors.extend(
                validate::policy(&probe)
                    .into_iter()
                    .filter(|e| e.field == "name" || e.field == "repeat"),
            );
            if let Value::Known(m) = config.remind_after_minutes {
                validate::remind_after(&mut errors, Some(u32::try_from(m).unwrap_or(u32::MAX)));
            }
        } else if let Value::Known(r) = config.repeat
            && !(0..=i64::from(validate::MAX_REPEAT)).contains(&r)
        {
            errors.push(validate::FieldError {
                field: "repeat".into(),
                message: format!("must be between 0 and {}", validate::MAX_REPEAT),
            });
        }
        errors.retain(|e| !unknown.iter().any(|u| e.field.starts_with(u.as_str())));
        diag::report(ctx, errors, &[]);
    }

    async fn read(&self, ctx: &mut Context<KlaxonData>, state: PolicyState) -> Option<PolicyState> {
        let id = state.id.known()?;
        match ctx.data().client.get_policy(&id).await {
            Ok(Some(p)) => Some(with_timeline(ctx, flatten(p)).await),
            Ok(None) => None,
            Err(e) => {
                api_error(ctx, "reading", &format!("escalation policy {id:?}"), &e, &[]);
                None
            }
        }
    }

    async fn plan_create(
        &self,
        ctx: &mut Context<KlaxonData>,
        proposed: PolicyState,
        config: PolicyState,
    ) -> Option<PolicyState> {
        Some(with_timeline(ctx, with_defaults(proposed, &config)).await)
    }

    async fn plan_update(
        &self,
        ctx: &mut Context<KlaxonData>,
        _prior: PolicyState,
        proposed: PolicyState,
        config: PolicyState,
    ) -> Option<Plan<PolicyState>> {
        Some(Plan::new(
            with_timeline(ctx, with_defaults(proposed, &config)).await,
        ))
    }

    async fn create(
        &self,
        ctx: &mut Context<KlaxonData>,
        planned: PolicyState,
        _config: PolicyState,
    ) -> Option<PolicyState> {
        let input = expand(planned);
        match ctx.data().client.create_policy(&input).await {
            Ok(p) => Some(with_timeline(ctx, flatten(p)).await),
            Err(e) => {
                api_error(
                    ctx,
                    "creating",
                    &format!("escalation policy {:?}", input.name),
                    &e,
                    &[],
                );
                None
            }
        }
    }

    async fn update(
        &self,
        ctx: &mut Context<KlaxonData>,
        prior: PolicyState,
        planned: PolicyState,
        _config: PolicyState,
    ) -> Option<PolicyState> {
        let id = prior.id.known()?;
        match ctx.data().client.update_policy(&id, &expand(planned)).await {
            Ok(p) => Some(with_timeline(ctx, flatten(p)).await),
            Err(e) => {
                api_error(ctx, "updating", &format!("escalation policy {id:?}"), &e, &[]);
                None
            }
        }
    }

    async fn destroy(&self, ctx: &mut Context<KlaxonData>, prior: PolicyState) {
        let Some(id) = prior.id.known() else { return };
        if let Err(e) = ctx.data().client.delete_policy(&id).await {
            api_error(ctx, "deleting", &format!("escalation policy {id:?}"), &e, &[]);
        }
    }

    async fn import(&self, ctx: &mut Context<KlaxonData>, id: String) -> Option<PolicyState> {
        match ctx.data().client.get_policy(&id).await {
            Ok(Some(p)) => Some(with_timeline(ctx, flatten(p)).await),
            Ok(None) => {
                ctx.error(
                    format!("Cannot import escalation policy {id:?}"),
                    "No policy with this id in the account.",
                );
                None
            }
            Err(e) => {
                api_error(ctx, "importing", &format!("escalation policy {id:?}"), &e, &[]);
                None
            }
        }
    }
}

/// Optional arguments left out of the configuration plan their default, visibly, instead of keeping a
/// value an earlier configuration set: removing `repeat = 2` plans `repeat = 0`.
fn with_defaults(mut planned: PolicyState, config: &PolicyState) -> PolicyState {
    if config.repeat.is_null() {
        planned.repeat = Value::Known(DEFAULT_REPEAT);
    }
    if config.skip_inactive.is_null() {
        planned.skip_inactive = Value::Known(DEFAULT_SKIP_INACTIVE);
    }
    planned
}

/// State to API input (planned values are wholly known at apply).
fn expand(state: PolicyState) -> EscalationPolicyInput {
    let steps = expand_steps_partial(&state.steps)
        .map(|(s, _)| s)
        .unwrap_or_default();
    EscalationPolicyInput {
        team_id: state.team_id.unwrap_or_default(),
        name: state.name.unwrap_or_default(),
        steps,
        repeat: to_u32(&state.repeat, 0),
        skip_inactive: state.skip_inactive.unwrap_or(DEFAULT_SKIP_INACTIVE),
        remind_after_minutes: state
            .remind_after_minutes
            .known()
            .and_then(|m| u32::try_from(m).ok()),
    }
}

/// The steps as API values, with the fields that are still unknown (`steps[2].user`); `None` while the list
/// itself is unknown. Unknown values get valid placeholders so the other rules can still be checked.
fn expand_steps_partial(steps: &Value<Vec<StepState>>) -> Option<(Vec<Step>, Vec<String>)> {
    let Value::Known(steps) = steps else {
        return if steps.is_null() {
            Some((Vec::new(), Vec::new()))
        } else {
            None
        };
    };
    let mut unknown = Vec::new();
    let mut out = Vec::with_capacity(steps.len());
    for (i, s) in steps.iter().enumerate() {
        let notify = match &s.notify {
            Value::Known(n) if Notify::parse(n).is_some() => Notify::parse(n).unwrap_or(Notify::Channel),
            // Unknown or invalid (reported by `validate` itself): the step's other rules depend on it.
            _ => {
                unknown.push(format!("steps[{i}]."));
                Notify::Channel
            }
        };
        let user = match &s.user {
            Value::Known(u) => Some(u.clone()),
            Value::Null => None,
            Value::Unknown => {
                unknown.push(format!("steps[{i}].user"));
                Some("U00000000".into())
            }
        };
        let escalate_after_minutes = match s.escalate_after_minutes {
            Value::Known(m) => Some(u32::try_from(m).unwrap_or(u32::MAX)),
            Value::Null => None,
            Value::Unknown => {
                unknown.push(format!("steps[{i}].escalate_after_minutes"));
                Some(1)
            }
        };
        out.push(Step {
            notify,
            user,
            escalate_after_minutes,
        });
    }
    Some((out, unknown))
}

/// API object to state.
fn flatten(p: EscalationPolicy) -> PolicyState {
    PolicyState {
        id: Value::Known(p.id),
        team_id: Value::Known(p.team_id),
        name: Value::Known(p.name),
        steps: flatten_steps(p.steps),
        repeat: Value::Known(i64::from(p.repeat)),
        skip_inactive: Value::Known(p.skip_inactive),
        remind_after_minutes: p.remind_after_minutes.map(i64::from).into(),
        timeline: Value::Unknown,
    }
}

/// The state with its `timeline` filled in from its other attributes and its team's name and channel, with
/// the words `simulate` uses; unknown while the team or any step is unknown (at plan time, values another
/// resource has not created yet), never guessed.
async fn with_timeline(ctx: &Context<KlaxonData>, mut state: PolicyState) -> PolicyState {
    state.timeline = Value::Unknown;
    let (Value::Known(team_id), Some((steps, unknown))) =
        (&state.team_id, expand_steps_partial(&state.steps))
    else {
        return state;
    };
    let (Value::Known(repeat), Value::Known(skip_inactive)) = (&state.repeat, &state.skip_inactive) else {
        return state;
    };
    let remind_after_minutes = match state.remind_after_minutes {
        Value::Known(m) => Some(u32::try_from(m).unwrap_or(u32::MAX)),
        Value::Null => None,
        Value::Unknown => return state,
    };
    if !unknown.is_empty() || steps.is_empty() {
        return state;
    }
    // A team that cannot be read (not created yet, or gone) leaves the words unknown; the apply reports it.
    let Ok(Some(team)) = ctx.data().client.get_team(team_id).await else {
        return state;
    };
    let policy = Policy {
        policy_id: None,
        steps,
        repeat: u32::try_from(*repeat).unwrap_or(0),
        skip_inactive: *skip_inactive,
        remind_after_minutes,
    };
    let audience = Audience {
        team: &team.name,
        channel: &team.slack_channel,
    };
    state.timeline = Value::Known(words::summary(&policy, audience));
    state
}

/// API steps to state (shared with the `klaxon_escalation_policy` data source).
pub(crate) fn flatten_steps(steps: Vec<Step>) -> Value<Vec<StepState>> {
    Value::Known(
        steps
            .into_iter()
            .map(|s| StepState {
                notify: Value::Known(s.notify.as_str().to_owned()),
                user: s.user.into(),
                escalate_after_minutes: s.escalate_after_minutes.map(i64::from).into(),
            })
            .collect(),
    )
}

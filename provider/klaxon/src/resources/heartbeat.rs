//! `klaxon_heartbeat`: a dead-man's switch. A job pings `ping_url` every run; when no ping arrives within
//! `interval_minutes + grace_minutes`, Klaxon opens an alert in the team, and the next ping closes it.

use klaxon_api::{Heartbeat, HeartbeatInput, validate};
use serde::{Deserialize, Serialize};
use tfplugin::{Attribute, Block, Context, Plan, Resource, Schema, Type, ValidateContext, Value};

use super::{api_error, to_u32};
use crate::{KlaxonData, diag};

/// Default of `grace_minutes`.
const DEFAULT_GRACE_MINUTES: u32 = 0;

/// State of one `klaxon_heartbeat`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HeartbeatState {
    /// Server-assigned id.
    pub id: Value<String>,
    /// The team (changing it replaces the heartbeat).
    pub team_id: Value<String>,
    /// The policy; null = the team's default chain.
    pub escalation_policy_id: Value<String>,
    /// Unique name within the team.
    pub name: Value<String>,
    /// Minutes expected between two pings.
    pub interval_minutes: Value<i64>,
    /// Minutes of lateness tolerated.
    pub grace_minutes: Value<i64>,
    /// Paused: no alert opens.
    pub paused: Value<bool>,
    /// The URL to ping.
    pub ping_url: Value<String>,
}

/// The `klaxon_heartbeat` resource type.
#[derive(Debug, Clone, Copy)]
pub struct HeartbeatResource;

impl Resource<KlaxonData> for HeartbeatResource {
    type State = HeartbeatState;

    fn type_name(&self) -> &str {
        "klaxon_heartbeat"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .description(
                    "A heartbeat (dead-man's switch) of a team. A scheduled job (a backup, a cron) sends `GET` or \
                     `POST` to `ping_url` each time it runs; when no ping arrives within `interval_minutes` plus \
                     `grace_minutes` of the last one (or of the creation), Klaxon opens an alert titled \
                     \"heartbeat NAME missed\" in the team, posted to Slack and escalated like any other, and the \
                     next ping closes it automatically.",
                )
                .attribute(Attribute::computed("id", Type::String).description("The heartbeat's id, assigned by Klaxon."))
                .attribute(
                    Attribute::required("team_id", Type::String)
                        .requires_replace()
                        .description("Id of the team its alerts belong to. Changing it replaces the heartbeat (and its ping URL)."),
                )
                .attribute(Attribute::optional("escalation_policy_id", Type::String).description(
                    "Id of a policy of the same team that escalates its alerts. Omitted: the team's default chain.",
                ))
                .attribute(
                    Attribute::required("name", Type::String)
                        .description("Name of the heartbeat, unique within the team (1 to 100 characters); the alert is titled \"heartbeat NAME missed\"."),
                )
                .attribute(Attribute::required("interval_minutes", Type::Number).description(
                    "Minutes expected between two pings, 1 to 10080 (7 days).",
                ))
                .attribute(Attribute::optional_computed("grace_minutes", Type::Number).description(
                    "Minutes of lateness tolerated after `interval_minutes` before the alert opens, 0 to 1440 \
                     (1 day). Default `0`.",
                ))
                .attribute(Attribute::optional_computed("paused", Type::Bool).description(
                    "Pause the heartbeat: no alert opens whatever the pings, and an open missed-alert is closed \
                     (its thread says the heartbeat was paused). Setting it back to `false` starts the clock \
                     afresh. Default `false`. Destroying the heartbeat closes its open missed-alert too.",
                ))
                .attribute(Attribute::computed("ping_url", Type::String).sensitive().description(
                    "The URL to ping (`GET` or `POST`, e.g. `curl -fsS -X POST <url>`). Sensitive: it embeds the \
                     heartbeat's secret token.",
                )),
        )
    }

    async fn validate(&self, ctx: &mut ValidateContext, config: HeartbeatState) {
        let (input, unknown) = expand_partial(&config);
        let errors = validate::heartbeat(&input)
            .into_iter()
            .filter(|e| !unknown.iter().any(|u| e.field.starts_with(u.as_str())))
            .collect();
        diag::report(ctx, errors, &[]);
    }

    async fn read(&self, ctx: &mut Context<KlaxonData>, state: HeartbeatState) -> Option<HeartbeatState> {
        let id = state.id.known()?;
        match ctx.data().client.get_heartbeat(&id).await {
            Ok(Some(h)) => Some(flatten(h)),
            Ok(None) => None,
            Err(e) => {
                api_error(ctx, "reading", &format!("heartbeat {id:?}"), &e, &[]);
                None
            }
        }
    }

    async fn plan_create(
        &self,
        _ctx: &mut Context<KlaxonData>,
        proposed: HeartbeatState,
        config: HeartbeatState,
    ) -> Option<HeartbeatState> {
        Some(with_defaults(proposed, &config))
    }

    async fn plan_update(
        &self,
        _ctx: &mut Context<KlaxonData>,
        _prior: HeartbeatState,
        proposed: HeartbeatState,
        config: HeartbeatState,
    ) -> Option<Plan<HeartbeatState>> {
        // `ping_url` keeps its prior value (the proposed state carries it): an update never changes the token.
        Some(Plan::new(with_defaults(proposed, &config)))
    }

    async fn create(
        &self,
        ctx: &mut Context<KlaxonData>,
        planned: HeartbeatState,
        _config: HeartbeatState,
    ) -> Option<HeartbeatState> {
        let input = expand(planned);
        match ctx.data().client.create_heartbeat(&input).await {
            Ok(h) => Some(flatten(h)),
            Err(e) => {
                api_error(ctx, "creating", &format!("heartbeat {:?}", input.name), &e, &[]);
                None
            }
        }
    }

    async fn update(
        &self,
        ctx: &mut Context<KlaxonData>,
        prior: HeartbeatState,
        planned: HeartbeatState,
        _config: HeartbeatState,
    ) -> Option<HeartbeatState> {
        let id = prior.id.known()?;
        match ctx.data().client.update_heartbeat(&id, &expand(planned)).await {
            Ok(h) => Some(flatten(h)),
            Err(e) => {
                api_error(ctx, "updating", &format!("heartbeat {id:?}"), &e, &[]);
                None
            }
        }
    }

    async fn destroy(&self, ctx: &mut Context<KlaxonData>, prior: HeartbeatState) {
        let Some(id) = prior.id.known() else { return };
        if let Err(e) = ctx.data().client.delete_heartbeat(&id).await {
            api_error(ctx, "deleting", &format!("heartbeat {id:?}"), &e, &[]);
        }
    }

    async fn import(&self, ctx: &mut Context<KlaxonData>, id: String) -> Option<HeartbeatState> {
        match ctx.data().client.get_heartbeat(&id).await {
            Ok(Some(h)) => Some(flatten(h)),
            Ok(None) => {
                ctx.error(
                    format!("Cannot import heartbeat {id:?}"),
                    "No heartbeat with this id in the account.",
                );
                None
            }
            Err(e) => {
                api_error(ctx, "importing", &format!("heartbeat {id:?}"), &e, &[]);
                None
            }
        }
    }
}

/// Omitted optional arguments plan their defaults visibly (see the policy resource for why).
fn with_defaults(mut planned: HeartbeatState, config: &HeartbeatState) -> HeartbeatState {
    if config.grace_minutes.is_null() {
        planned.grace_minutes = Value::Known(i64::from(DEFAULT_GRACE_MINUTES));
    }
    if config.paused.is_null() {
        planned.paused = Value::Known(false);
    }
    planned
}

/// State to API input (planned values are wholly known at apply).
fn expand(state: HeartbeatState) -> HeartbeatInput {
    HeartbeatInput {
        team_id: state.team_id.unwrap_or_default(),
        escalation_policy_id: state.escalation_policy_id.known(),
        name: state.name.unwrap_or_default(),
        interval_minutes: to_u32(&state.interval_minutes, 1),
        grace_minutes: to_u32(&state.grace_minutes, DEFAULT_GRACE_MINUTES),
        paused: state.paused.unwrap_or(false),
    }
}

/// Config to API input for validation, with the fields still unknown.
fn expand_partial(config: &HeartbeatState) -> (HeartbeatInput, Vec<String>) {
    let mut unknown = Vec::new();
    let mut text = |v: &Value<String>, field: &str| match v {
        Value::Known(s) => Some(s.clone()),
        Value::Null => None,
        Value::Unknown => {
            unknown.push(field.to_owned());
            Some("placeholder".to_owned())
        }
    };
    let team_id = text(&config.team_id, "team_id").unwrap_or_default();
    let escalation_policy_id = text(&config.escalation_policy_id, "escalation_policy_id");
    let name = text(&config.name, "name").unwrap_or_default();
    if config.interval_minutes.is_unknown() {
        unknown.push("interval_minutes".into());
    }
    let input = HeartbeatInput {
        team_id,
        escalation_policy_id,
        name,
        interval_minutes: to_u32(&config.interval_minutes, 1),
        grace_minutes: to_u32(&config.grace_minutes, DEFAULT_GRACE_MINUTES),
        paused: false,
    };
    (input, unknown)
}

/// API object to state.
fn flatten(h: Heartbeat) -> HeartbeatState {
    HeartbeatState {
        id: Value::Known(h.id),
        team_id: Value::Known(h.team_id),
        escalation_policy_id: h.escalation_policy_id.into(),
        name: Value::Known(h.name),
        interval_minutes: Value::Known(i64::from(h.interval_minutes)),
        grace_minutes: Value::Known(i64::from(h.grace_minutes)),
        paused: Value::Known(h.paused),
        ping_url: Value::Known(h.ping_url),
    }
}

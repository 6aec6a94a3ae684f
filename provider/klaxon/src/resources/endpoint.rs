//! `klaxon_endpoint`: where a team's alerts come in, by webhook (`url`) or SNS subscription (`sns_url`).

use klaxon_api::{
    DEFAULT_ALERT_GROUPING_MINUTES, DEFAULT_NOTIFICATION_GROUPING_MINUTES, Endpoint, EndpointInput, validate,
};
use serde::{Deserialize, Serialize};
use tfplugin::{Attribute, Block, Context, Plan, Resource, Schema, Type, ValidateContext, Value};

use super::{api_error, is_empty_list, list_state, strings, to_u32};
use crate::{KlaxonData, diag};

/// Attributes that are sets: errors about one element point at the set.
const SETS: &[&str] = &["allowed_topic_arns"];

/// State of one `klaxon_endpoint`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EndpointState {
    /// Server-assigned id.
    pub id: Value<String>,
    /// The team (changing it replaces the endpoint).
    pub team_id: Value<String>,
    /// The policy; null = the team's default chain.
    pub escalation_policy_id: Value<String>,
    /// Unique name within the team.
    pub name: Value<String>,
    /// Allowed SNS topics (a set).
    pub allowed_topic_arns: Value<Vec<Value<String>>>,
    /// Alert grouping window.
    pub alert_grouping_minutes: Value<i64>,
    /// Notification grouping window.
    pub notification_grouping_minutes: Value<i64>,
    /// Webhook ingest URL.
    pub url: Value<String>,
    /// SNS ingest URL.
    pub sns_url: Value<String>,
}

/// The `klaxon_endpoint` resource type.
#[derive(Debug, Clone, Copy)]
pub struct EndpointResource;

impl Resource<KlaxonData> for EndpointResource {
    type State = EndpointState;

    fn type_name(&self) -> &str {
        "klaxon_endpoint"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .description(
                    "An ingest endpoint of a team. Webhook callers (New Relic, Uptime Robot, curl) post to `url`; \
                     SNS topics subscribe `sns_url` (see `klaxon_sns_subscription`). Both embed a secret token.",
                )
                .attribute(Attribute::computed("id", Type::String).description("The endpoint's id, assigned by Klaxon."))
                .attribute(
                    Attribute::required("team_id", Type::String)
                        .requires_replace()
                        .description("Id of the team its alerts belong to. Changing it replaces the endpoint (and its URLs)."),
                )
                .attribute(Attribute::optional("escalation_policy_id", Type::String).description(
                    "Id of a policy of the same team that escalates its alerts. Omitted: the team's default chain \
                     (a random member, another one, `@here`, `@channel`, 5 minutes apart).",
                ))
                .attribute(
                    Attribute::required("name", Type::String)
                        .description("Name of the endpoint, unique within the team (1 to 100 characters)."),
                )
                .attribute(Attribute::optional("allowed_topic_arns", Type::set(Type::String)).description(
                    "SNS topic ARNs allowed to deliver to `sns_url`; messages from other topics are refused (403). \
                     Omitted or empty: any topic.",
                ))
                .attribute(Attribute::optional_computed("alert_grouping_minutes", Type::Number).description(
                    "Minutes during which an event with the same group key joins the open alert (its count goes up) \
                     instead of opening a new one, 0 to 525600. Default `10080` (7 days).",
                ))
                .attribute(Attribute::optional_computed("notification_grouping_minutes", Type::Number).description(
                    "The same window for notifications (events that need nobody), 0 to 1440. Default `1`.",
                ))
                .attribute(Attribute::computed("url", Type::String).sensitive().description(
                    "Ingest URL for webhooks. Sensitive: it embeds the endpoint's secret token.",
                ))
                .attribute(Attribute::computed("sns_url", Type::String).sensitive().description(
                    "Ingest URL to subscribe to SNS topics (protocol `https`). Sensitive: it embeds the secret token.",
                )),
        )
    }

    async fn validate(&self, ctx: &mut ValidateContext, config: EndpointState) {
        let (input, unknown) = expand_partial(&config);
        let errors = validate::endpoint(&input)
            .into_iter()
            .filter(|e| !unknown.iter().any(|u| e.field.starts_with(u.as_str())))
            .collect();
        diag::report(ctx, errors, SETS);
    }

    async fn read(&self, ctx: &mut Context<KlaxonData>, state: EndpointState) -> Option<EndpointState> {
        let id = state.id.known()?;
        match ctx.data().client.get_endpoint(&id).await {
            Ok(Some(e)) => Some(flatten(e, is_empty_list(&state.allowed_topic_arns))),
            Ok(None) => None,
            Err(e) => {
                api_error(ctx, "reading", &format!("endpoint {id:?}"), &e, SETS);
                None
            }
        }
    }

    async fn plan_create(
        &self,
        _ctx: &mut Context<KlaxonData>,
        proposed: EndpointState,
        config: EndpointState,
    ) -> Option<EndpointState> {
        Some(with_defaults(proposed, &config))
    }

    async fn plan_update(
        &self,
        _ctx: &mut Context<KlaxonData>,
        _prior: EndpointState,
        proposed: EndpointState,
        config: EndpointState,
    ) -> Option<Plan<EndpointState>> {
        // `url` and `sns_url` keep their prior values (the proposed state carries them): an update never
        // changes the ingest token, so the plan shows no "(known after apply)" noise.
        Some(Plan::new(with_defaults(proposed, &config)))
    }

    async fn create(
        &self,
        ctx: &mut Context<KlaxonData>,
        planned: EndpointState,
        _config: EndpointState,
    ) -> Option<EndpointState> {
        let keep_empty = is_empty_list(&planned.allowed_topic_arns);
        let input = expand(planned);
        match ctx.data().client.create_endpoint(&input).await {
            Ok(e) => Some(flatten(e, keep_empty)),
            Err(e) => {
                api_error(ctx, "creating", &format!("endpoint {:?}", input.name), &e, SETS);
                None
            }
        }
    }

    async fn update(
        &self,
        ctx: &mut Context<KlaxonData>,
        prior: EndpointState,
        planned: EndpointState,
        _config: EndpointState,
    ) -> Option<EndpointState> {
        let id = prior.id.known()?;
        let keep_empty = is_empty_list(&planned.allowed_topic_arns);
        match ctx.data().client.update_endpoint(&id, &expand(planned)).await {
            Ok(e) => Some(flatten(e, keep_empty)),
            Err(e) => {
                api_error(ctx, "updating", &format!("endpoint {id:?}"), &e, SETS);
                None
            }
        }
    }

    async fn destroy(&self, ctx: &mut Context<KlaxonData>, prior: EndpointState) {
        let Some(id) = prior.id.known() else { return };
        if let Err(e) = ctx.data().client.delete_endpoint(&id).await {
            api_error(ctx, "deleting", &format!("endpoint {id:?}"), &e, SETS);
        }
    }

    async fn import(&self, ctx: &mut Context<KlaxonData>, id: String) -> Option<EndpointState> {
        match ctx.data().client.get_endpoint(&id).await {
            Ok(Some(e)) => Some(flatten(e, false)),
            Ok(None) => {
                ctx.error(
                    format!("Cannot import endpoint {id:?}"),
                    "No endpoint with this id in the account.",
                );
                None
            }
            Err(e) => {
                api_error(ctx, "importing", &format!("endpoint {id:?}"), &e, SETS);
                None
            }
        }
    }
}

/// Omitted optional arguments plan their defaults visibly (see the policy resource for why).
fn with_defaults(mut planned: EndpointState, config: &EndpointState) -> EndpointState {
    if config.alert_grouping_minutes.is_null() {
        planned.alert_grouping_minutes = Value::Known(i64::from(DEFAULT_ALERT_GROUPING_MINUTES));
    }
    if config.notification_grouping_minutes.is_null() {
        planned.notification_grouping_minutes =
            Value::Known(i64::from(DEFAULT_NOTIFICATION_GROUPING_MINUTES));
    }
    planned
}

/// State to API input (planned values are wholly known at apply).
fn expand(state: EndpointState) -> EndpointInput {
    EndpointInput {
        team_id: state.team_id.unwrap_or_default(),
        escalation_policy_id: state.escalation_policy_id.known(),
        name: state.name.unwrap_or_default(),
        allowed_topic_arns: strings(state.allowed_topic_arns),
        alert_grouping_minutes: to_u32(&state.alert_grouping_minutes, DEFAULT_ALERT_GROUPING_MINUTES),
        notification_grouping_minutes: to_u32(
            &state.notification_grouping_minutes,
            DEFAULT_NOTIFICATION_GROUPING_MINUTES,
        ),
    }
}

/// Config to API input for validation, with the fields still unknown.
fn expand_partial(config: &EndpointState) -> (EndpointInput, Vec<String>) {
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
    let allowed_topic_arns = match &config.allowed_topic_arns {
        Value::Known(items) => items.iter().filter_map(|v| v.as_ref().known().cloned()).collect(),
        Value::Null => Vec::new(),
        Value::Unknown => {
            unknown.push("allowed_topic_arns".into());
            Vec::new()
        }
    };
    let input = EndpointInput {
        team_id,
        escalation_policy_id,
        name,
        allowed_topic_arns,
        alert_grouping_minutes: to_u32(&config.alert_grouping_minutes, DEFAULT_ALERT_GROUPING_MINUTES),
        notification_grouping_minutes: to_u32(
            &config.notification_grouping_minutes,
            DEFAULT_NOTIFICATION_GROUPING_MINUTES,
        ),
    };
    (input, unknown)
}

/// API object to state.
fn flatten(e: Endpoint, keep_empty_topics: bool) -> EndpointState {
    EndpointState {
        id: Value::Known(e.id),
        team_id: Value::Known(e.team_id),
        escalation_policy_id: e.escalation_policy_id.into(),
        name: Value::Known(e.name),
        allowed_topic_arns: list_state(e.allowed_topic_arns, keep_empty_topics),
        alert_grouping_minutes: Value::Known(i64::from(e.alert_grouping_minutes)),
        notification_grouping_minutes: Value::Known(i64::from(e.notification_grouping_minutes)),
        url: Value::Known(e.url),
        sns_url: Value::Known(e.sns_url),
    }
}

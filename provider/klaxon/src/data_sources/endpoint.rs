//! `data "klaxon_endpoint"`: an ingest endpoint looked up by team and name, e.g. so that a stack owning an
//! SNS topic can subscribe it to an endpoint the platform team manages.

use klaxon_api::EndpointQuery;
use serde::{Deserialize, Serialize};
use tfplugin::{Attribute, Block, Context, DataSource, Schema, Type, Value};

use super::found_by_name;
use crate::KlaxonData;

/// What the data source reads and returns.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct EndpointLookup {
    /// The team.
    team_id: Value<String>,
    /// The name looked up.
    name: Value<String>,
    /// The endpoint's id.
    id: Value<String>,
    /// Its policy; null = the team's default chain.
    escalation_policy_id: Value<String>,
    /// SNS topics allowed to deliver (empty: any).
    allowed_topic_arns: Value<Vec<String>>,
    /// Alert grouping window.
    alert_grouping_minutes: Value<i64>,
    /// Notification grouping window.
    notification_grouping_minutes: Value<i64>,
    /// Webhook ingest URL.
    url: Value<String>,
    /// SNS ingest URL.
    sns_url: Value<String>,
}

/// The `klaxon_endpoint` data source.
#[derive(Debug, Clone, Copy)]
pub(super) struct EndpointDataSource;

impl DataSource<KlaxonData> for EndpointDataSource {
    type State = EndpointLookup;

    fn type_name(&self) -> &str {
        "klaxon_endpoint"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .description(
                    "Looks up an ingest endpoint by its team and name, e.g. one managed in another workspace, to \
                     subscribe a topic to it (`klaxon_sns_subscription`) or hand its URL to a webhook caller.",
                )
                .attribute(
                    Attribute::required("team_id", Type::String).description("Id of the endpoint's team."),
                )
                .attribute(
                    Attribute::required("name", Type::String).description("The endpoint's name (exact match)."),
                )
                .attribute(Attribute::computed("id", Type::String).description("The endpoint's id."))
                .attribute(
                    Attribute::computed("escalation_policy_id", Type::String)
                        .description("Id of the policy escalating its alerts; null: the team's default chain."),
                )
                .attribute(
                    Attribute::computed("allowed_topic_arns", Type::set(Type::String))
                        .description("SNS topic ARNs allowed to deliver to `sns_url`; empty: any topic."),
                )
                .attribute(
                    Attribute::computed("alert_grouping_minutes", Type::Number)
                        .description("Minutes during which an event with the same group key joins the open alert."),
                )
                .attribute(
                    Attribute::computed("notification_grouping_minutes", Type::Number)
                        .description("The same window for notifications."),
                )
                .attribute(Attribute::computed("url", Type::String).sensitive().description(
                    "Ingest URL for webhooks. Sensitive: it embeds the endpoint's secret token.",
                ))
                .attribute(Attribute::computed("sns_url", Type::String).sensitive().description(
                    "Ingest URL to subscribe to SNS topics. Sensitive: it embeds the secret token.",
                )),
        )
    }

    async fn read(&self, ctx: &mut Context<KlaxonData>, config: EndpointLookup) -> Option<EndpointLookup> {
        let team_id = config.team_id.known()?;
        let name = config.name.known()?;
        let query = EndpointQuery {
            team_id: Some(team_id.clone()),
            name: Some(name.clone()),
            ..EndpointQuery::default()
        };
        let result = ctx.data().client.list_endpoints(&query).await;
        let owner = format!("Team {team_id:?}");
        let e = found_by_name(ctx, "endpoint", &name, &owner, result)?;
        Some(EndpointLookup {
            team_id: Value::Known(e.team_id),
            name: Value::Known(e.name),
            id: Value::Known(e.id),
            escalation_policy_id: e.escalation_policy_id.into(),
            allowed_topic_arns: Value::Known(e.allowed_topic_arns),
            alert_grouping_minutes: Value::Known(i64::from(e.alert_grouping_minutes)),
            notification_grouping_minutes: Value::Known(i64::from(e.notification_grouping_minutes)),
            url: Value::Known(e.url),
            sns_url: Value::Known(e.sns_url),
        })
    }
}

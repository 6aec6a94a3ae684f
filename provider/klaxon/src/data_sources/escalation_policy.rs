//! `data "klaxon_escalation_policy"`: a policy looked up by team and name.

use klaxon_api::PolicyQuery;
use serde::{Deserialize, Serialize};
use tfplugin::{Attribute, Block, Context, DataSource, Mode, Nesting, Schema, Type, Value};

use super::found_by_name;
use crate::{
    KlaxonData,
    resources::{StepState, flatten_steps},
};

/// What the data source reads and returns.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct PolicyLookup {
    /// The team.
    team_id: Value<String>,
    /// The name looked up.
    name: Value<String>,
    /// The policy's id.
    id: Value<String>,
    /// Its steps.
    steps: Value<Vec<StepState>>,
    /// Its repeat count.
    repeat: Value<i64>,
    /// Whether inactive members are skipped.
    skip_inactive: Value<bool>,
    /// Minutes between reminders of an acknowledged alert.
    remind_after_minutes: Value<i64>,
}

/// The `klaxon_escalation_policy` data source.
#[derive(Debug, Clone, Copy)]
pub(super) struct PolicyDataSource;

impl DataSource<KlaxonData> for PolicyDataSource {
    type State = PolicyLookup;

    fn type_name(&self) -> &str {
        "klaxon_escalation_policy"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .description("Looks up an escalation policy by its team and name.")
                .attribute(
                    Attribute::required("team_id", Type::String).description("Id of the policy's team."),
                )
                .attribute(
                    Attribute::required("name", Type::String).description("The policy's name (exact match)."),
                )
                .attribute(Attribute::computed("id", Type::String).description("The policy's id."))
                .attribute(
                    Attribute::nested(
                        "steps",
                        Nesting::List,
                        vec![
                            Attribute::computed("notify", Type::String)
                                .description("Whom the step notifies."),
                            Attribute::computed("user", Type::String)
                                .description("The user of a `user` step."),
                            Attribute::computed("escalate_after_minutes", Type::Number)
                                .description("Minutes before the next step."),
                        ],
                        Mode::Computed,
                    )
                    .description("The steps, in order."),
                )
                .attribute(Attribute::computed("repeat", Type::Number).description("Rounds after the first."))
                .attribute(
                    Attribute::computed("skip_inactive", Type::Bool)
                        .description("Whether away members are skipped."),
                )
                .attribute(
                    Attribute::computed("remind_after_minutes", Type::Number)
                        .description("Minutes between reminders of an acknowledged alert; null: none."),
                ),
        )
    }

    async fn read(&self, ctx: &mut Context<KlaxonData>, config: PolicyLookup) -> Option<PolicyLookup> {
        let team_id = config.team_id.known()?;
        let name = config.name.known()?;
        let query = PolicyQuery {
            team_id: Some(team_id.clone()),
            name: Some(name.clone()),
            ..PolicyQuery::default()
        };
        let result = ctx.data().client.list_policies(&query).await;
        let owner = format!("Team {team_id:?}");
        let p = found_by_name(ctx, "escalation policy", &name, &owner, result)?;
        Some(PolicyLookup {
            team_id: Value::Known(p.team_id),
            name: Value::Known(p.name),
            id: Value::Known(p.id),
            steps: flatten_steps(p.steps),
            repeat: Value::Known(i64::from(p.repeat)),
            skip_inactive: Value::Known(p.skip_inactive),
            remind_after_minutes: p.remind_after_minutes.map(i64::from).into(),
        })
    }
}

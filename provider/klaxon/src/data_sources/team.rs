//! `data "klaxon_team"`: a team looked up by name.

use klaxon_api::TeamQuery;
use serde::{Deserialize, Serialize};
use tfplugin::{Attribute, Block, Context, DataSource, Schema, Type, Value};

use super::found_by_name;
use crate::KlaxonData;

/// What the data source reads and returns.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct TeamLookup {
    /// The name looked up.
    name: Value<String>,
    /// The team's id.
    id: Value<String>,
    /// Its Slack channel.
    slack_channel: Value<String>,
    /// Its members, in order.
    members: Value<Vec<String>>,
    /// Its description.
    description: Value<String>,
}

/// The `klaxon_team` data source.
#[derive(Debug, Clone, Copy)]
pub(super) struct TeamDataSource;

impl DataSource<KlaxonData> for TeamDataSource {
    type State = TeamLookup;

    fn type_name(&self) -> &str {
        "klaxon_team"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .description(
                    "Looks up a team of the account by its name, e.g. one managed in another workspace.",
                )
                .attribute(
                    Attribute::required("name", Type::String).description("The team's name (exact match)."),
                )
                .attribute(Attribute::computed("id", Type::String).description("The team's id."))
                .attribute(
                    Attribute::computed("slack_channel", Type::String).description("Its Slack channel id."),
                )
                .attribute(
                    Attribute::computed("members", Type::list(Type::String))
                        .description("Its members' Slack user ids, in order (empty: the channel's members)."),
                )
                .attribute(Attribute::computed("description", Type::String).description("Its description.")),
        )
    }

    async fn read(&self, ctx: &mut Context<KlaxonData>, config: TeamLookup) -> Option<TeamLookup> {
        let name = config.name.known()?;
        let query = TeamQuery {
            name: Some(name.clone()),
            ..TeamQuery::default()
        };
        let result = ctx.data().client.list_teams(&query).await;
        let t = found_by_name(ctx, "team", &name, "The account", result)?;
        Some(TeamLookup {
            name: Value::Known(t.name),
            id: Value::Known(t.id),
            slack_channel: Value::Known(t.slack_channel),
            members: Value::Known(t.members),
            description: t.description.into(),
        })
    }
}

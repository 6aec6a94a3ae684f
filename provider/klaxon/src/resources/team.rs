//! `klaxon_team`: a Slack channel and the people who answer its alerts.

use klaxon_api::{Team, TeamInput, validate};
use serde::{Deserialize, Serialize};
use tfplugin::{Attribute, Block, Context, Resource, Schema, Type, ValidateContext, Value};

use super::{api_error, is_empty_list, list_state, strings};
use crate::{KlaxonData, diag};

/// State of one `klaxon_team`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TeamState {
    /// Server-assigned id.
    pub id: Value<String>,
    /// Unique name within the account.
    pub name: Value<String>,
    /// Slack channel id.
    pub slack_channel: Value<String>,
    /// Slack user ids, in order.
    pub members: Value<Vec<Value<String>>>,
    /// Free text.
    pub description: Value<String>,
}

/// The `klaxon_team` resource type.
#[derive(Debug, Clone, Copy)]
pub struct TeamResource;

impl Resource<KlaxonData> for TeamResource {
    type State = TeamState;

    fn type_name(&self) -> &str {
        "klaxon_team"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .description(
                    "A team: the Slack channel where its alerts are posted and the people who answer them. \
                     Escalation policies and endpoints belong to a team.",
                )
                .attribute(Attribute::computed("id", Type::String).description("The team's id, assigned by Klaxon."))
                .attribute(Attribute::required("name", Type::String).description(
                    "Name of the team, unique within the account (1 to 100 characters). Renaming is an in-place update.",
                ))
                .attribute(Attribute::required("slack_channel", Type::String).description(
                    "Id of the Slack channel that receives the team's alerts, e.g. `C0123ABCDE` (`C` or `G` followed \
                     by upper-case letters and digits; in Slack: channel details, at the bottom).",
                ))
                .attribute(Attribute::optional("members", Type::list(Type::String)).description(
                    "Slack user ids of the people who are paged (`U...` or `W...`), in the order `next_member` walks \
                     them. Omitted or empty: the members of the channel.",
                ))
                .attribute(
                    Attribute::optional("description", Type::String)
                        .description("Free text for people (at most 1000 characters)."),
                ),
        )
    }

    async fn validate(&self, ctx: &mut ValidateContext, config: TeamState) {
        let (input, unknown) = expand_partial(&config);
        let errors = validate::team(&input)
            .into_iter()
            .filter(|e| !unknown.contains(&e.field))
            .collect();
        diag::report(ctx, errors, &[]);
    }

    async fn read(&self, ctx: &mut Context<KlaxonData>, state: TeamState) -> Option<TeamState> {
        let id = state.id.known()?;
        match ctx.data().client.get_team(&id).await {
            Ok(Some(team)) => Some(flatten(team, is_empty_list(&state.members))),
            Ok(None) => None,
            Err(e) => {
                api_error(ctx, "reading", &format!("team {id:?}"), &e, &[]);
                None
            }
        }
    }

    async fn create(
        &self,
        ctx: &mut Context<KlaxonData>,
        planned: TeamState,
        _config: TeamState,
    ) -> Option<TeamState> {
        let keep_empty = is_empty_list(&planned.members);
        let input = expand(planned);
        match ctx.data().client.create_team(&input).await {
            Ok(team) => Some(flatten(team, keep_empty)),
            Err(e) => {
                api_error(ctx, "creating", &format!("team {:?}", input.name), &e, &[]);
                None
            }
        }
    }

    async fn update(
        &self,
        ctx: &mut Context<KlaxonData>,
        prior: TeamState,
        planned: TeamState,
        _config: TeamState,
    ) -> Option<TeamState> {
        let id = prior.id.known()?;
        let keep_empty = is_empty_list(&planned.members);
        match ctx.data().client.update_team(&id, &expand(planned)).await {
            Ok(team) => Some(flatten(team, keep_empty)),
            Err(e) => {
                api_error(ctx, "updating", &format!("team {id:?}"), &e, &[]);
                None
            }
        }
    }

    async fn destroy(&self, ctx: &mut Context<KlaxonData>, prior: TeamState) {
        let Some(id) = prior.id.known() else { return };
        // Already gone is what destroy wants: delete_team answers false then, not an error.
        if let Err(e) = ctx.data().client.delete_team(&id).await {
            api_error(ctx, "deleting", &format!("team {id:?}"), &e, &[]);
        }
    }

    async fn import(&self, ctx: &mut Context<KlaxonData>, id: String) -> Option<TeamState> {
        match ctx.data().client.get_team(&id).await {
            Ok(Some(team)) => Some(flatten(team, false)),
            Ok(None) => {
                ctx.error(
                    format!("Cannot import team {id:?}"),
                    "No team with this id in the account.",
                );
                None
            }
            Err(e) => {
                api_error(ctx, "importing", &format!("team {id:?}"), &e, &[]);
                None
            }
        }
    }
}

/// State to API input (planned values are wholly known at apply).
fn expand(state: TeamState) -> TeamInput {
    TeamInput {
        name: state.name.unwrap_or_default(),
        slack_channel: state.slack_channel.unwrap_or_default(),
        members: strings(state.members),
        description: state.description.known(),
    }
}

/// Config to API input for validation: unknown values get valid placeholders, and their fields are returned
/// so errors about them are not reported (they are checked again once known).
fn expand_partial(config: &TeamState) -> (TeamInput, Vec<String>) {
    let mut unknown = Vec::new();
    let mut text = |v: &Value<String>, field: &str, placeholder: &str| match v {
        Value::Known(s) => s.clone(),
        Value::Null => String::new(),
        Value::Unknown => {
            unknown.push(field.to_owned());
            placeholder.to_owned()
        }
    };
    let name = text(&config.name, "name", "placeholder");
    let slack_channel = text(&config.slack_channel, "slack_channel", "C00000000");
    let members = match &config.members {
        Value::Known(items) => items
            .iter()
            .enumerate()
            .map(|(i, m)| match m {
                Value::Known(s) => s.clone(),
                _ => {
                    unknown.push(format!("members[{i}]"));
                    format!("U{i:08}")
                }
            })
            .collect(),
        _ => Vec::new(),
    };
    let description = config.description.as_ref().known().cloned();
    (
        TeamInput {
            name,
            slack_channel,
            members,
            description,
        },
        unknown,
    )
}

/// API object to state.
fn flatten(team: Team, keep_empty_members: bool) -> TeamState {
    TeamState {
        id: Value::Known(team.id),
        name: Value::Known(team.name),
        slack_channel: Value::Known(team.slack_channel),
        members: list_state(team.members, keep_empty_members),
        description: team.description.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expand_flatten_round_trip() {
        let team = Team {
            id: "team_1".into(),
            name: "sre".into(),
            slack_channel: "C0123ABCDE".into(),
            members: vec!["U0000000B".into(), "U0000000A".into()],
            description: None,
        };
        let state = flatten(team.clone(), false);
        let input = expand(state);
        assert_eq!(input.members, team.members, "order is kept");
        assert_eq!(input.description, None);
        assert!(
            flatten(
                Team {
                    members: vec![],
                    ..team.clone()
                },
                false
            )
            .members
            .is_null()
        );
        assert!(is_empty_list(
            &flatten(
                Team {
                    members: vec![],
                    ..team
                },
                true
            )
            .members
        ));
    }

    #[test]
    fn unknown_values_are_not_reported() {
        let config = TeamState {
            id: Value::Unknown,
            name: Value::Unknown,
            slack_channel: Value::Known("general".into()),
            members: Value::Known(vec![Value::Unknown, Value::Unknown]),
            description: Value::Null,
        };
        let (input, unknown) = expand_partial(&config);
        let errors: Vec<_> = validate::team(&input)
            .into_iter()
            .filter(|e| !unknown.contains(&e.field))
            .map(|e| e.field)
            .collect();
        assert_eq!(errors, ["slack_channel"]);
    }
}

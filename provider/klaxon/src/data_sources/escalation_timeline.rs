//! `data "klaxon_escalation_timeline"`: who is paged when for a team's, an endpoint's or a policy's alerts, as
//! entries a `check` block can test ("someone is DMed within 10 minutes") and as the lines the policy
//! resource plans. Computed with the words `simulate` uses (`klaxon_api::escalation::words`), without
//! members: the kinds of DM, never a random pick, so the values are the same at every read.

use klaxon_api::escalation::{
    Mention, Policy,
    words::{self, Audience},
};
use serde::{Deserialize, Serialize};
use tfplugin::{
    Attribute, AttributePath, Block, Context, DataSource, Mode, Nesting, Schema, Type, ValidateContext, Value,
};

use crate::KlaxonData;

/// What the data source reads and returns.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct TimelineLookup {
    /// The team whose default chain to show.
    team_id: Value<String>,
    /// The endpoint whose alerts' chain to show.
    endpoint_id: Value<String>,
    /// The policy to show.
    escalation_policy_id: Value<String>,
    /// `policy` or `default`.
    source: Value<String>,
    /// The lines, as the policy resource's `timeline`.
    lines: Value<Vec<String>>,
    /// Every step of every round.
    entries: Value<Vec<EntryState>>,
    /// The minute of the first direct message, if any step sends one.
    first_dm_minute: Value<i64>,
}

/// One step of the timeline.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct EntryState {
    /// Minutes after the alert opened.
    at_minute: Value<i64>,
    /// The round, from 0.
    round: Value<i64>,
    /// The step within the round, from 0.
    step: Value<i64>,
    /// The step's kind.
    notify: Value<String>,
    /// The user of a `user` step.
    user: Value<String>,
    /// `here` or `channel` for channel posts.
    mention: Value<String>,
    /// The channel of channel posts.
    channel: Value<String>,
    /// What the step does, in words.
    text: Value<String>,
}

/// The `klaxon_escalation_timeline` data source.
#[derive(Debug, Clone, Copy)]
pub(super) struct TimelineDataSource;

const ONE_OF: [&str; 3] = ["team_id", "endpoint_id", "escalation_policy_id"];

impl DataSource<KlaxonData> for TimelineDataSource {
    type State = TimelineLookup;

    fn type_name(&self) -> &str {
        "klaxon_escalation_timeline"
    }

    fn schema(&self) -> Schema {
        let computed = |name: &str, ty: Type, doc: &str| Attribute::computed(name, ty).description(doc);
        Schema::new(
            Block::new()
                .description(
                    "Who is paged when for a new alert nobody acknowledges: of a policy, of an endpoint (its \
                     policy, or its team's default chain when it names none) or of a team's default chain. Set \
                     exactly one of `escalation_policy_id`, `endpoint_id` and `team_id`. Member steps name \
                     the kind of DM (`a random active member of payments`), not a pick, so every read gives \
                     the same values; use it in outputs and `check` blocks. Like any data source it is read at plan \
                     time: to read a policy changed in the same apply, add `depends_on` on that policy (or use \
                     the policy's own `timeline`, which the plan shows before and after).",
                )
                .attribute(
                    Attribute::optional_computed("escalation_policy_id", Type::String).description(
                        "The policy whose timeline to show; when looked up by endpoint, the endpoint's policy \
                         (null for the default chain).",
                    ),
                )
                .attribute(Attribute::optional("endpoint_id", Type::String).description(
                    "The endpoint whose alerts' timeline to show: its policy, or its team's default chain.",
                ))
                .attribute(
                    Attribute::optional("team_id", Type::String)
                        .description("The team whose default chain (the seed's) to show."),
                )
                .attribute(computed(
                    "source",
                    Type::String,
                    "`policy` (a stored policy) or `default` (the team's default chain).",
                ))
                .attribute(computed(
                    "lines",
                    Type::List(Box::new(Type::String)),
                    "The timeline in words, as the policy resource's `timeline`.",
                ))
                .attribute(computed(
                    "first_dm_minute",
                    Type::Number,
                    "The minute of the first direct message; null when no step sends one.",
                ))
                .attribute(
                    Attribute::nested(
                        "entries",
                        Nesting::List,
                        vec![
                            computed("at_minute", Type::Number, "Minutes after the alert opened."),
                            computed("round", Type::Number, "The round, from 0."),
                            computed("step", Type::Number, "The step's index within its round, from 0."),
                            computed("notify", Type::String, "The step's kind (`random_member`, ...)."),
                            computed("user", Type::String, "The user a `user` step DMs."),
                            computed("mention", Type::String, "`here` or `channel`, for channel posts."),
                            computed("channel", Type::String, "The channel of channel posts."),
                            computed("text", Type::String, "What the step does, in words."),
                        ],
                        Mode::Computed,
                    )
                    .description("Every step of every round, in the order they fire."),
                ),
        )
    }

    async fn validate(&self, ctx: &mut ValidateContext, config: TimelineLookup) {
        let given = [&config.team_id, &config.endpoint_id, &config.escalation_policy_id];
        // An unknown value is set: it counts as given.
        let set = given.iter().filter(|v| !v.is_null()).count();
        if set != 1 {
            ctx.error_at(
                AttributePath::root("escalation_policy_id"),
                "Invalid klaxon_escalation_timeline",
                format!("set exactly one of {}", ONE_OF.join(", ")),
            );
        }
    }

    async fn read(&self, ctx: &mut Context<KlaxonData>, config: TimelineLookup) -> Option<TimelineLookup> {
        let client = &ctx.data().client;
        let (policy_id, team_id) = if let Value::Known(id) = &config.escalation_policy_id {
            match client.get_policy(id).await {
                Ok(Some(p)) => (Some(p.id), p.team_id),
                Ok(None) => return not_found(ctx, "escalation policy", id),
                Err(e) => return failed(ctx, "escalation policy", id, &e),
            }
        } else if let Value::Known(id) = &config.endpoint_id {
            match client.get_endpoint(id).await {
                Ok(Some(e)) => (e.escalation_policy_id, e.team_id),
                Ok(None) => return not_found(ctx, "endpoint", id),
                Err(e) => return failed(ctx, "endpoint", id, &e),
            }
        } else if let Value::Known(id) = &config.team_id {
            (None, id.clone())
        } else {
            return None;
        };
        let policy = match &policy_id {
            Some(id) => match client.get_policy(id).await {
                Ok(Some(p)) => Policy::from_api(&p),
                Ok(None) => return not_found(ctx, "escalation policy", id),
                Err(e) => return failed(ctx, "escalation policy", id, &e),
            },
            None => Policy::default_chain(),
        };
        let team = match client.get_team(&team_id).await {
            Ok(Some(t)) => t,
            Ok(None) => return not_found(ctx, "team", &team_id),
            Err(e) => return failed(ctx, "team", &team_id, &e),
        };
        let audience = Audience {
            team: &team.name,
            channel: &team.slack_channel,
        };
        let entries = words::entries(&policy, audience);
        let first_dm_minute = entries
            .iter()
            .find(|e| e.channel.is_none() && e.mention.is_none())
            .map(|e| i64::try_from(e.at_minute).unwrap_or(i64::MAX));
        let entries = entries
            .iter()
            .map(|e| EntryState {
                at_minute: Value::Known(i64::try_from(e.at_minute).unwrap_or(i64::MAX)),
                round: Value::Known(i64::from(e.round)),
                step: Value::Known(i64::from(e.step)),
                notify: Value::Known(e.notify.as_str().to_owned()),
                user: e.user.clone().into(),
                mention: e
                    .mention
                    .map(|m| match m {
                        Mention::Here => "here".to_owned(),
                        Mention::Channel => "channel".to_owned(),
                    })
                    .into(),
                channel: e.channel.clone().into(),
                text: Value::Known(words::describe(e, &policy, audience)),
            })
            .collect();
        let source = if policy_id.is_some() { "policy" } else { "default" };
        Some(TimelineLookup {
            team_id: config.team_id,
            endpoint_id: config.endpoint_id,
            escalation_policy_id: if config.escalation_policy_id.is_null() {
                policy_id.into()
            } else {
                config.escalation_policy_id
            },
            source: Value::Known(source.to_owned()),
            lines: Value::Known(words::summary(&policy, audience)),
            entries: Value::Known(entries),
            first_dm_minute: first_dm_minute.into(),
        })
    }
}

fn not_found(ctx: &mut Context<KlaxonData>, what: &str, id: &str) -> Option<TimelineLookup> {
    ctx.error(
        format!("No {what} {id:?}"),
        format!("The account has no {what} with this id."),
    );
    None
}

fn failed(
    ctx: &mut Context<KlaxonData>,
    what: &str,
    id: &str,
    e: &klaxon_api::client::ClientError,
) -> Option<TimelineLookup> {
    ctx.error(format!("Error reading {what} {id:?}"), e.to_string());
    None
}

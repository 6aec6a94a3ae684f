//! `data "klaxon_heartbeat"`: a heartbeat looked up by team and name, e.g. so that the stack deploying a
//! scheduled job can hand it the ping URL of a heartbeat the platform team manages.

use klaxon_api::HeartbeatQuery;
use serde::{Deserialize, Serialize};
use tfplugin::{Attribute, Block, Context, DataSource, Schema, Type, Value};

use super::found_by_name;
use crate::KlaxonData;

/// What the data source reads and returns.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct HeartbeatLookup {
    /// The team.
    team_id: Value<String>,
    /// The name looked up.
    name: Value<String>,
    /// The heartbeat's id.
    id: Value<String>,
    /// Its policy; null = the team's default chain.
    escalation_policy_id: Value<String>,
    /// Minutes expected between two pings.
    interval_minutes: Value<i64>,
    /// Minutes of lateness tolerated.
    grace_minutes: Value<i64>,
    /// Paused: no alert opens.
    paused: Value<bool>,
    /// The URL to ping.
    ping_url: Value<String>,
    /// When the last ping arrived.
    last_beat_at: Value<String>,
    /// Whether a ping is overdue (its alert is open).
    missed: Value<bool>,
}

/// The `klaxon_heartbeat` data source.
#[derive(Debug, Clone, Copy)]
pub(super) struct HeartbeatDataSource;

impl DataSource<KlaxonData> for HeartbeatDataSource {
    type State = HeartbeatLookup;

    fn type_name(&self) -> &str {
        "klaxon_heartbeat"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .description(
                    "Looks up a heartbeat by its team and name, e.g. one managed in another workspace, to give the \
                     scheduled job its `ping_url`.",
                )
                .attribute(
                    Attribute::required("team_id", Type::String).description("Id of the heartbeat's team."),
                )
                .attribute(
                    Attribute::required("name", Type::String).description("The heartbeat's name (exact match)."),
                )
                .attribute(Attribute::computed("id", Type::String).description("The heartbeat's id."))
                .attribute(
                    Attribute::computed("escalation_policy_id", Type::String)
                        .description("Id of the policy escalating its alerts; null: the team's default chain."),
                )
                .attribute(
                    Attribute::computed("interval_minutes", Type::Number)
                        .description("Minutes expected between two pings."),
                )
                .attribute(
                    Attribute::computed("grace_minutes", Type::Number)
                        .description("Minutes of lateness tolerated after `interval_minutes`."),
                )
                .attribute(
                    Attribute::computed("paused", Type::Bool).description("Whether it is paused (no alert opens)."),
                )
                .attribute(Attribute::computed("ping_url", Type::String).sensitive().description(
                    "The URL the job sends `GET` or `POST` to each run. Sensitive: it embeds the heartbeat's \
                     secret token.",
                ))
                .attribute(
                    Attribute::computed("last_beat_at", Type::String)
                        .description("When the last ping arrived (RFC 3339), as of the read; null: never."),
                )
                .attribute(
                    Attribute::computed("missed", Type::Bool)
                        .description("Whether a ping was overdue as of the read (its alert is open)."),
                ),
        )
    }

    async fn read(&self, ctx: &mut Context<KlaxonData>, config: HeartbeatLookup) -> Option<HeartbeatLookup> {
        let team_id = config.team_id.known()?;
        let name = config.name.known()?;
        let query = HeartbeatQuery {
            team_id: Some(team_id.clone()),
            name: Some(name.clone()),
            ..HeartbeatQuery::default()
        };
        let result = ctx.data().client.list_heartbeats(&query).await;
        let owner = format!("Team {team_id:?}");
        let h = found_by_name(ctx, "heartbeat", &name, &owner, result)?;
        Some(HeartbeatLookup {
            team_id: Value::Known(h.team_id),
            name: Value::Known(h.name),
            id: Value::Known(h.id),
            escalation_policy_id: h.escalation_policy_id.into(),
            interval_minutes: Value::Known(i64::from(h.interval_minutes)),
            grace_minutes: Value::Known(i64::from(h.grace_minutes)),
            paused: Value::Known(h.paused),
            ping_url: Value::Known(h.ping_url),
            last_beat_at: h.last_beat_at.into(),
            missed: Value::Known(h.missed),
        })
    }
}

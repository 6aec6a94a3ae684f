//! `klaxon_maintenance_window`: a time when a team's (or some endpoints') new alerts are posted without
//! paging anyone, and escalate from their first step when it ends.

use klaxon_api::{
    MaintenanceWindow, MaintenanceWindowInput, Recurrence,
    maintenance::{self, parse_instant},
};
use serde::{Deserialize, Serialize};
use tfplugin::{
    Attribute, Block, Context, NestedBlock, Nesting, Resource, Schema, Type, ValidateContext, Value,
};

use super::{api_error, list_state, strings, to_u32};
use crate::{KlaxonData, diag};

/// State of one `klaxon_maintenance_window`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WindowState {
    /// Server-assigned id.
    pub id: Value<String>,
    /// The team it covers.
    pub team_id: Value<String>,
    /// The endpoints it covers.
    pub endpoint_ids: Value<Vec<Value<String>>>,
    /// Start of a one-off window (RFC 3339).
    pub starts_at: Value<String>,
    /// End of a one-off window (RFC 3339).
    pub ends_at: Value<String>,
    /// A recurring window.
    pub recurrence: Value<RecurrenceState>,
    /// Free text.
    pub description: Value<String>,
}

/// The `recurrence` block.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecurrenceState {
    /// 5-field cron expression of the occurrences' starts.
    pub cron: Value<String>,
    /// Length of each occurrence.
    pub duration_minutes: Value<i64>,
    /// IANA time zone of the expression.
    pub time_zone: Value<String>,
}

/// The `klaxon_maintenance_window` resource type.
#[derive(Debug, Clone, Copy)]
pub struct MaintenanceWindowResource;

impl Resource<KlaxonData> for MaintenanceWindowResource {
    type State = WindowState;

    fn type_name(&self) -> &str {
        "klaxon_maintenance_window"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .description(
                    "A maintenance window: while it is in effect, alerts that open for its team (or its endpoints) \
                     are stored, grouped and posted to the channel marked *in maintenance*, without DMs or \
                     `@here`/`@channel`, and do not escalate. When the window ends, each of them still open starts \
                     its escalation from the first step (its thread says so); one acknowledged or closed meanwhile \
                     never escalates. Alerts that opened before the window started keep escalating. Changing the \
                     window re-examines the alerts it holds (they stay held until its new end while it still covers \
                     them and is in effect, otherwise they are released at once); deleting it releases them at once.\n\n\
                     A window is one-off (`starts_at` and `ends_at`, at most 7 days apart) or recurring (a \
                     `recurrence` block), not both; it covers a team (`team_id`) or endpoints (`endpoint_ids`), \
                     not both.",
                )
                .attribute(
                    Attribute::computed("id", Type::String).description("The window's id, assigned by Klaxon."),
                )
                .attribute(Attribute::optional("team_id", Type::String).description(
                    "Id of the team whose new alerts the window holds. Exactly one of `team_id` and \
                     `endpoint_ids`.",
                ))
                .attribute(Attribute::optional("endpoint_ids", Type::list(Type::String)).description(
                    "Ids of the endpoints whose new alerts the window holds (1 to 100, no duplicates). Exactly \
                     one of `team_id` and `endpoint_ids`.",
                ))
                .attribute(Attribute::optional("starts_at", Type::String).description(
                    "Start of a one-off window: an RFC 3339 date and time with its offset, e.g. \
                     `2026-12-05T22:00:00Z` or `2026-12-05T23:00:00+01:00` (at most millisecond precision). \
                     Klaxon answers instants in UTC; a value that denotes the same instant as Klaxon's plans no \
                     change. Not with `recurrence`.",
                ))
                .attribute(Attribute::optional("ends_at", Type::String).description(
                    "End of a one-off window (exclusive), RFC 3339 like `starts_at`: after it, at most 7 days \
                     later. Not with `recurrence`.",
                ))
                .attribute(Attribute::optional("description", Type::String).description(
                    "Free text for people, shown in the thread of the alerts the window holds (at most 1000 \
                     characters).",
                ))
                .block(
                    NestedBlock::new(
                        "recurrence",
                        Nesting::Single,
                        Block::new()
                            .description(
                                "A recurring window: an occurrence starts each time `cron` matches (read in \
                                 `time_zone`) and lasts `duration_minutes`. Not with `starts_at`/`ends_at`.",
                            )
                            .attribute(Attribute::required("cron", Type::String).description(
                                "Standard 5-field cron expression of the occurrences' starts: minute (0-59), hour \
                                 (0-23), day of month (1-31), month (1-12 or `JAN`-`DEC`), day of week (0-7 or \
                                 `SUN`-`SAT`; 0 and 7 are Sunday). Each field is `*`, a value, a range `a-b`, a step \
                                 `*/n`, `a-b/n` or `a/n`, or a comma-separated list of these; names are \
                                 case-insensitive and go wherever a number does (`MON-FRI`). When both day fields \
                                 are restricted, a day matching either one matches (as in cron). Example: \
                                 `0 22 * * SAT` (Saturdays at 22:00).",
                            ))
                            .attribute(Attribute::required("duration_minutes", Type::Number).description(
                                "Length of each occurrence in minutes, 1 to 10080 (7 days).",
                            ))
                            .attribute(Attribute::required("time_zone", Type::String).description(
                                "IANA time zone the expression is read in, e.g. `UTC`, `Europe/Paris`. A start \
                                 time the clock skips on a daylight-saving change day starts no occurrence that day.",
                            )),
                    ),
                ),
        )
    }

    async fn validate(&self, ctx: &mut ValidateContext, config: WindowState) {
        let (input, unknown) = expand_partial(&config);
        let errors = maintenance::validate(&input)
            .into_iter()
            .filter(|e| !unknown.contains(&e.field))
            .collect();
        diag::report(ctx, errors, &[]);
    }

    async fn read(&self, ctx: &mut Context<KlaxonData>, state: WindowState) -> Option<WindowState> {
        let id = state.id.clone().known()?;
        match ctx.data().client.get_maintenance_window(&id).await {
            Ok(Some(w)) => Some(flatten(w, Some(&state))),
            Ok(None) => None,
            Err(e) => {
                api_error(ctx, "reading", &format!("maintenance window {id:?}"), &e, &[]);
                None
            }
        }
    }

    async fn create(
        &self,
        ctx: &mut Context<KlaxonData>,
        planned: WindowState,
        _config: WindowState,
    ) -> Option<WindowState> {
        let input = expand(&planned);
        match ctx.data().client.create_maintenance_window(&input).await {
            Ok(w) => Some(flatten(w, Some(&planned))),
            Err(e) => {
                api_error(ctx, "creating", "maintenance window", &e, &[]);
                None
            }
        }
    }

    async fn update(
        &self,
        ctx: &mut Context<KlaxonData>,
        prior: WindowState,
        planned: WindowState,
        _config: WindowState,
    ) -> Option<WindowState> {
        let id = prior.id.known()?;
        let input = expand(&planned);
        match ctx.data().client.update_maintenance_window(&id, &input).await {
            Ok(w) => Some(flatten(w, Some(&planned))),
            Err(e) => {
                api_error(ctx, "updating", &format!("maintenance window {id:?}"), &e, &[]);
                None
            }
        }
    }

    async fn destroy(&self, ctx: &mut Context<KlaxonData>, prior: WindowState) {
        let Some(id) = prior.id.known() else { return };
        // Already gone is what destroy wants: the client answers false then, not an error.
        if let Err(e) = ctx.data().client.delete_maintenance_window(&id).await {
            api_error(ctx, "deleting", &format!("maintenance window {id:?}"), &e, &[]);
        }
    }

    async fn import(&self, ctx: &mut Context<KlaxonData>, id: String) -> Option<WindowState> {
        match ctx.data().client.get_maintenance_window(&id).await {
            Ok(Some(w)) => Some(flatten(w, None)),
            Ok(None) => {
                ctx.error(
                    format!("Cannot import maintenance window {id:?}"),
                    "No maintenance window with this id in the account.",
                );
                None
            }
            Err(e) => {
                api_error(ctx, "importing", &format!("maintenance window {id:?}"), &e, &[]);
                None
            }
        }
    }
}

/// State to API input (planned values are wholly known at apply).
fn expand(state: &WindowState) -> MaintenanceWindowInput {
    let recurrence = state.recurrence.as_ref().known().map(|r| Recurrence {
        cron: r.cron.as_ref().known().cloned().unwrap_or_default(),
        duration_minutes: to_u32(&r.duration_minutes, 0),
        time_zone: r.time_zone.as_ref().known().cloned().unwrap_or_default(),
    });
    MaintenanceWindowInput {
        team_id: state.team_id.as_ref().known().cloned(),
        endpoint_ids: strings(state.endpoint_ids.clone()),
        starts_at: state.starts_at.as_ref().known().cloned(),
        ends_at: state.ends_at.as_ref().known().cloned(),
        recurrence,
        description: state.description.as_ref().known().cloned(),
    }
}

/// Config to API input for validation: unknown values get valid placeholders, and their fields are returned
/// so errors about them are not reported (they are checked again once known).
fn expand_partial(config: &WindowState) -> (MaintenanceWindowInput, Vec<String>) {
    let mut unknown = Vec::new();
    let text = |unknown: &mut Vec<String>, v: &Value<String>, field: &str, placeholder: &str| match v {
        Value::Known(s) => Some(s.clone()),
        Value::Null => None,
        Value::Unknown => {
            unknown.push(field.to_owned());
            Some(placeholder.to_owned())
        }
    };
    let team_id = text(&mut unknown, &config.team_id, "team_id", "placeholder");
    let starts_at = text(
        &mut unknown,
        &config.starts_at,
        "starts_at",
        "2000-01-01T00:00:00Z",
    );
    let ends_at = text(&mut unknown, &config.ends_at, "ends_at", "2000-01-01T00:01:00Z");
    let description = text(&mut unknown, &config.description, "description", "");
    let recurrence = match &config.recurrence {
        Value::Known(r) => Some(Recurrence {
            cron: text(&mut unknown, &r.cron, "recurrence.cron", "* * * * *").unwrap_or_default(),
            duration_minutes: match &r.duration_minutes {
                Value::Known(n) => u32::try_from(*n).unwrap_or(u32::MAX),
                _ => {
                    unknown.push("recurrence.duration_minutes".to_owned());
                    1
                }
            },
            time_zone: text(&mut unknown, &r.time_zone, "recurrence.time_zone", "UTC").unwrap_or_default(),
        }),
        Value::Null => None,
        Value::Unknown => {
            unknown.extend(
                [
                    "recurrence",
                    "recurrence.cron",
                    "recurrence.duration_minutes",
                    "recurrence.time_zone",
                ]
                .map(str::to_owned),
            );
            Some(Recurrence {
                cron: "* * * * *".into(),
                duration_minutes: 1,
                time_zone: "UTC".into(),
            })
        }
    };
    let endpoint_ids = match &config.endpoint_ids {
        Value::Known(items) => items
            .iter()
            .enumerate()
            .map(|(i, e)| match e {
                Value::Known(s) => s.clone(),
                _ => {
                    unknown.push(format!("endpoint_ids[{i}]"));
                    format!("unknown_{i}")
                }
            })
            .collect(),
        Value::Null => Vec::new(),
        Value::Unknown => {
            unknown.push("endpoint_ids".to_owned());
            vec!["unknown".to_owned()]
        }
    };
    // A window with unknown parts cannot be judged on the rules between its parts either.
    if unknown.iter().any(|f| f == "starts_at" || f == "ends_at") {
        unknown.push("ends_at".to_owned());
    }
    (
        MaintenanceWindowInput {
            team_id,
            endpoint_ids,
            starts_at,
            ends_at,
            recurrence,
            description,
        },
        unknown,
    )
}

/// API object to state. `prior` (the planned or stored state) keeps the user's spelling of an instant when
/// it denotes the instant Klaxon answered, so a plan after apply is quiet; and keeps `endpoint_ids = []`.
fn flatten(w: MaintenanceWindow, prior: Option<&WindowState>) -> WindowState {
    let instant = |answered: Option<String>, prior: Option<&Value<String>>| -> Value<String> {
        let Some(answered) = answered else {
            return Value::Null;
        };
        if let Some(Value::Known(mine)) = prior
            && let (Ok(a), Ok(b)) = (parse_instant(mine), parse_instant(&answered))
            && a == b
        {
            return Value::Known(mine.clone());
        }
        Value::Known(answered)
    };
    let keep_empty = prior.is_some_and(|p| super::is_empty_list(&p.endpoint_ids));
    WindowState {
        id: Value::Known(w.id),
        team_id: w.team_id.into(),
        endpoint_ids: list_state(w.endpoint_ids, keep_empty),
        starts_at: instant(w.starts_at, prior.map(|p| &p.starts_at)),
        ends_at: instant(w.ends_at, prior.map(|p| &p.ends_at)),
        recurrence: w
            .recurrence
            .map(|r| RecurrenceState {
                cron: Value::Known(r.cron),
                duration_minutes: Value::Known(i64::from(r.duration_minutes)),
                time_zone: Value::Known(r.time_zone),
            })
            .into(),
        description: w.description.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window() -> MaintenanceWindow {
        MaintenanceWindow {
            id: "mw_1".into(),
            team_id: Some("team_1".into()),
            endpoint_ids: vec![],
            starts_at: Some("2026-12-05T22:00:00Z".into()),
            ends_at: Some("2026-12-06T01:00:00Z".into()),
            recurrence: None,
            description: None,
        }
    }

    #[test]
    fn instants_keep_the_users_spelling_of_the_same_instant() {
        let mut prior = flatten(window(), None);
        prior.starts_at = Value::Known("2026-12-05T23:00:00+01:00".into());
        prior.ends_at = Value::Known("2026-12-06T01:00:01Z".into());
        let state = flatten(window(), Some(&prior));
        assert_eq!(state.starts_at, Value::Known("2026-12-05T23:00:00+01:00".into()));
        assert_eq!(
            state.ends_at,
            Value::Known("2026-12-06T01:00:00Z".into()),
            "another instant"
        );
        let input = expand(&state);
        assert!(maintenance::validate(&input).is_empty());
        assert!(state.recurrence.is_null() && state.endpoint_ids.is_null());
    }

    #[test]
    fn unknown_values_are_not_reported() {
        let config = WindowState {
            id: Value::Unknown,
            team_id: Value::Unknown,
            endpoint_ids: Value::Null,
            starts_at: Value::Unknown,
            ends_at: Value::Known("2026-12-06T01:00:00Z".into()),
            recurrence: Value::Known(RecurrenceState {
                cron: Value::Known("61 * * * *".into()),
                duration_minutes: Value::Unknown,
                time_zone: Value::Known("Nowhere/Else".into()),
            }),
            description: Value::Null,
        };
        let (input, unknown) = expand_partial(&config);
        let errors: Vec<_> = maintenance::validate(&input)
            .into_iter()
            .filter(|e| !unknown.contains(&e.field))
            .map(|e| e.field)
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        let config = WindowState {
            starts_at: Value::Null,
            ends_at: Value::Null,
            ..config
        };
        let (input, unknown) = expand_partial(&config);
        let errors: Vec<_> = maintenance::validate(&input)
            .into_iter()
            .filter(|e| !unknown.contains(&e.field))
            .map(|e| e.field)
            .collect();
        assert_eq!(errors, ["recurrence.cron", "recurrence.time_zone"]);
    }
}

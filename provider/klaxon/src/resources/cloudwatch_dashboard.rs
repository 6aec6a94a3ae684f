//! `klaxon_cloudwatch_dashboard`: the CloudWatch dashboard of Klaxon's metrics, written with PutDashboard
//! through the AWS API.
//!
//! The body comes from the one definition in `klaxon_api::metrics` (the same `klaxon dashboard put` writes), so
//! it is known at plan time: a dashboard edited outside terraform reads back with its remote body and plans as
//! an update back to the definition.

use aws_sdk_cloudwatch::{
    error::ProvideErrorMetadata as _, operation::put_dashboard::PutDashboardError,
    types::DashboardValidationMessage,
};
use klaxon_api::metrics::{DEFAULT_NAMESPACE, DEFAULT_PERIOD, dashboard_body, dashboard_settings};
use serde::{Deserialize, Serialize};
use tfplugin::{
    Attribute, AttributePath, Block, Context, Plan, Resource, Schema, Type, ValidateContext, Value,
};

use super::{aws_detail, to_u32};
use crate::KlaxonData;

/// Longest dashboard name and namespace CloudWatch accepts.
const MAX_NAME_LEN: usize = 255;

/// Longest period of a graph: one day.
const MAX_PERIOD: i64 = 86_400;

/// Periods below a minute CloudWatch accepts, for high-resolution metrics.
const HIGH_RESOLUTION_PERIODS: [i64; 4] = [1, 5, 10, 30];

/// State of one `klaxon_cloudwatch_dashboard`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DashboardState {
    /// The dashboard's name (CloudWatch has no other id).
    pub id: Value<String>,
    /// The dashboard's name (changing it replaces the dashboard).
    pub name: Value<String>,
    /// The CloudWatch namespace the graphs read.
    pub namespace: Value<String>,
    /// Seconds per data point of every graph.
    pub period: Value<i64>,
    /// The dashboard JSON.
    pub body: Value<String>,
    /// The dashboard's ARN.
    pub dashboard_arn: Value<String>,
}

/// The `klaxon_cloudwatch_dashboard` resource type.
#[derive(Debug, Clone, Copy)]
pub struct CloudWatchDashboardResource;

impl Resource<KlaxonData> for CloudWatchDashboardResource {
    type State = DashboardState;

    fn type_name(&self) -> &str {
        "klaxon_cloudwatch_dashboard"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .description(
                    "Klaxon's CloudWatch dashboard: graphs of the metrics the Klaxon server publishes to CloudWatch \
                     when `KLAXON_CLOUDWATCH_NAMESPACE` is set. It shows alerts and notifications over time, \
                     escalations by step, alerts acknowledged, closed, auto-closed and passed, time to acknowledge \
                     (p50 and p90), Slack API errors and latency, rejected ingest by reason, dead jobs and queue \
                     lag, and the Slack workspaces installed.\n\n\
                     The body is the same definition `klaxon dashboard put` writes, computed at plan time, so a \
                     dashboard edited outside Terraform shows as an update back to the definition. Written with \
                     PutDashboard through the provider's `aws` block (its region is the region of the graphed \
                     metrics) and the AWS SDK's credentials, which need `cloudwatch:PutDashboard`, \
                     `cloudwatch:GetDashboard` and `cloudwatch:DeleteDashboards`.",
                )
                .attribute(Attribute::computed("id", Type::String).description("The dashboard's name."))
                .attribute(Attribute::required("name", Type::String).requires_replace().description(
                    "Name of the dashboard in CloudWatch: 1 to 255 letters, digits, `-` and `_`. Changing it \
                     replaces the dashboard (CloudWatch cannot rename one).",
                ))
                .attribute(Attribute::optional_computed("namespace", Type::String).description(
                    "CloudWatch namespace the graphs read: the `KLAXON_CLOUDWATCH_NAMESPACE` the Klaxon server \
                     publishes its metrics to (1 to 255 letters, digits and `.` `-` `_` `/` `#` `:`, not starting with `AWS/`). Default `Klaxon`.",
                ))
                .attribute(Attribute::optional_computed("period", Type::Number).description(
                    "Seconds each data point of the graphs covers: `60` or a multiple of 60 up to `86400` (one \
                     day), or `1`, `5`, `10` or `30` for high-resolution metrics (the server publishes those when \
                     `KLAXON_METRICS_INTERVAL` is under a minute). Default `300`.",
                ))
                .attribute(Attribute::computed("body", Type::String).description(
                    "The dashboard's JSON, as written with PutDashboard. Known at plan time; differs from the \
                     definition only when the dashboard was edited outside Terraform.",
                ))
                .attribute(
                    Attribute::computed("dashboard_arn", Type::String).description("ARN of the dashboard."),
                ),
        )
    }

    async fn validate(&self, ctx: &mut ValidateContext, config: DashboardState) {
        let checks = [
            ("name", config.name.known().and_then(|n| name_problem(&n))),
            (
                "namespace",
                config.namespace.known().and_then(|n| namespace_problem(&n)),
            ),
            ("period", config.period.known().and_then(period_problem)),
        ];
        for (attr, problem) in checks {
            if let Some(problem) = problem {
                ctx.error_at(
                    AttributePath::root(attr),
                    format!("Invalid value for {attr}"),
                    problem,
                );
            }
        }
    }

    async fn read(&self, ctx: &mut Context<KlaxonData>, state: DashboardState) -> Option<DashboardState> {
        let name = state.name.clone().known().or_else(|| state.id.clone().known())?;
        let cloudwatch = ctx.data().cloudwatch().await.clone();
        match cloudwatch.get_dashboard().dashboard_name(&name).send().await {
            Ok(out) => {
                let namespace = state
                    .namespace
                    .known()
                    .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
                let period = to_u32(&state.period, DEFAULT_PERIOD);
                let region = region(ctx).await;
                Some(flatten(name, namespace, period, region.as_deref(), &out))
            }
            // Deleted outside terraform: gone, so the next plan creates it again.
            Err(e) if e.code() == Some("ResourceNotFound") => None,
            Err(e) => {
                ctx.error(
                    format!("Error reading CloudWatch dashboard {name:?}"),
                    aws_detail(&e),
                );
                None
            }
        }
    }

    async fn plan_create(
        &self,
        ctx: &mut Context<KlaxonData>,
        proposed: DashboardState,
        config: DashboardState,
    ) -> Option<DashboardState> {
        let region = plan_region(ctx, proposed.name.as_deref().known()).await?;
        Some(planned(proposed, &config, &region))
    }

    async fn plan_update(
        &self,
        ctx: &mut Context<KlaxonData>,
        prior: DashboardState,
        proposed: DashboardState,
        config: DashboardState,
    ) -> Option<Plan<DashboardState>> {
        let region = plan_region(ctx, proposed.name.as_deref().known()).await?;
        let mut plan = planned(proposed, &config, &region);
        // A new name is a new dashboard (the adapter plans the replacement), whose ARN is not known yet.
        if plan.name != prior.name {
            plan.dashboard_arn = Value::Unknown;
        }
        Some(Plan::new(plan))
    }

    async fn create(
        &self,
        ctx: &mut Context<KlaxonData>,
        planned: DashboardState,
        _config: DashboardState,
    ) -> Option<DashboardState> {
        self.put(ctx, planned, "creating").await
    }

    async fn update(
        &self,
        ctx: &mut Context<KlaxonData>,
        _prior: DashboardState,
        planned: DashboardState,
        _config: DashboardState,
    ) -> Option<DashboardState> {
        self.put(ctx, planned, "updating").await
    }

    async fn destroy(&self, ctx: &mut Context<KlaxonData>, prior: DashboardState) {
        let Some(name) = prior.name.known().or_else(|| prior.id.known()) else {
            return;
        };
        let cloudwatch = ctx.data().cloudwatch().await.clone();
        match cloudwatch.delete_dashboards().dashboard_names(&name).send().await {
            Ok(_) => {}
            // Already gone is what destroy wants.
            Err(e) if e.code() == Some("ResourceNotFound") => {}
            Err(e) => ctx.error(
                format!("Error deleting CloudWatch dashboard {name:?}"),
                aws_detail(&e),
            ),
        }
    }

    async fn import(&self, ctx: &mut Context<KlaxonData>, id: String) -> Option<DashboardState> {
        let cloudwatch = ctx.data().cloudwatch().await.clone();
        let out = match cloudwatch.get_dashboard().dashboard_name(&id).send().await {
            Ok(out) => out,
            Err(e) if e.code() == Some("ResourceNotFound") => {
                ctx.error(
                    format!("Cannot import CloudWatch dashboard {id:?}"),
                    "No dashboard with this name in the account (dashboards are imported by name).",
                );
                return None;
            }
            Err(e) => {
                ctx.error(
                    format!("Cannot import CloudWatch dashboard {id:?}"),
                    aws_detail(&e),
                );
                return None;
            }
        };
        // The settings the body was made with, so the plan after import is quiet when the configuration
        // matches; a body that is not Klaxon's reads as the defaults and plans an update to the definition.
        let (namespace, period) = out
            .dashboard_body()
            .and_then(dashboard_settings)
            .unwrap_or_else(|| (DEFAULT_NAMESPACE.to_owned(), DEFAULT_PERIOD));
        let region = region(ctx).await;
        Some(flatten(id, namespace, period, region.as_deref(), &out))
    }
}

impl CloudWatchDashboardResource {
    /// PutDashboard with the planned body, then GetDashboard for the ARN. Returns the new state whenever the
    /// dashboard was written, even if CloudWatch had complaints, so state follows what is in AWS.
    async fn put(
        &self,
        ctx: &mut Context<KlaxonData>,
        planned: DashboardState,
        action: &str,
    ) -> Option<DashboardState> {
        let DashboardState {
            name,
            namespace,
            period,
            body,
            ..
        } = planned;
        let name = name.known()?;
        let namespace = namespace.known().unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
        let period = to_u32(&period, DEFAULT_PERIOD);
        // The planned body is what the user approved; it is only unknown when the plan could not compute it.
        let body = match body.known() {
            Some(body) => body,
            None => dashboard_body(&namespace, period, &plan_region(ctx, Some(&name)).await?),
        };
        let summary = format!("Error {action} CloudWatch dashboard {name:?}");
        let cloudwatch = ctx.data().cloudwatch().await.clone();
        match cloudwatch
            .put_dashboard()
            .dashboard_name(&name)
            .dashboard_body(&body)
            .send()
            .await
        {
            Ok(out) => {
                // CloudWatch wrote the dashboard but names parts that will not render: the shared definition is
                // wrong, which should fail loudly rather than leave a half-broken dashboard unnoticed.
                if !out.dashboard_validation_messages().is_empty() {
                    ctx.error(
                        summary,
                        format!(
                            "CloudWatch wrote the dashboard with complaints: {}",
                            validation_messages(out.dashboard_validation_messages())
                        ),
                    );
                }
            }
            Err(e) => {
                let messages = match e.as_service_error() {
                    Some(PutDashboardError::DashboardInvalidInputError(invalid)) => {
                        validation_messages(invalid.dashboard_validation_messages())
                    }
                    _ => String::new(),
                };
                let detail = if messages.is_empty() {
                    aws_detail(&e)
                } else {
                    format!("{} ({messages})", aws_detail(&e))
                };
                ctx.error(summary, detail);
                return None;
            }
        }
        let dashboard_arn = match cloudwatch.get_dashboard().dashboard_name(&name).send().await {
            Ok(out) => out.dashboard_arn.into(),
            Err(e) => {
                // Written but not read back: keep it in state (null ARN) so it is not lost; the next refresh
                // fills the ARN in.
                ctx.error(
                    format!("Error reading CloudWatch dashboard {name:?} after writing it"),
                    aws_detail(&e),
                );
                Value::Null
            }
        };
        Some(DashboardState {
            id: Value::Known(name.clone()),
            name: Value::Known(name),
            namespace: Value::Known(namespace),
            period: Value::Known(i64::from(period)),
            body: Value::Known(body),
            dashboard_arn,
        })
    }
}

/// The region of the CloudWatch client: the provider's `aws.region`, else the SDK's resolution.
async fn region(ctx: &Context<KlaxonData>) -> Option<String> {
    ctx.data()
        .cloudwatch()
        .await
        .config()
        .region()
        .map(ToString::to_string)
}

/// The region for planning the body, or an error asking for one: the graphs name the region of their metrics.
async fn plan_region(ctx: &mut Context<KlaxonData>, name: Option<&str>) -> Option<String> {
    let region = region(ctx).await;
    if region.is_none() {
        let what = match name {
            Some(n) => format!("CloudWatch dashboard {n:?}"),
            None => "CloudWatch dashboard".to_owned(),
        };
        ctx.error(
            format!("Error planning {what}"),
            "No AWS region: set `region` in the provider's `aws` block or the AWS_REGION environment variable \
             (the dashboard's graphs name the region of the metrics they show).",
        );
    }
    region
}

/// The planned state: omitted optional arguments plan their defaults visibly (removing `period = 60` plans
/// `period = 300`), `id` is the name, and `body` is the definition for the namespace, period and region
/// (unknown while the namespace or period is).
fn planned(mut plan: DashboardState, config: &DashboardState, region: &str) -> DashboardState {
    if config.namespace.is_null() {
        plan.namespace = Value::Known(DEFAULT_NAMESPACE.to_owned());
    }
    if config.period.is_null() {
        plan.period = Value::Known(i64::from(DEFAULT_PERIOD));
    }
    plan.id = plan.name.clone();
    plan.body = match (&plan.namespace, &plan.period) {
        (Value::Known(namespace), Value::Known(_)) => Value::Known(dashboard_body(
            namespace,
            to_u32(&plan.period, DEFAULT_PERIOD),
            region,
        )),
        _ => Value::Unknown,
    };
    plan
}

/// A GetDashboard answer to state. The body read back stays the definition's exact string when it is the
/// same JSON (CloudWatch may reformat it), so only a real edit outside terraform shows in the next plan.
fn flatten(
    name: String,
    namespace: String,
    period: u32,
    region: Option<&str>,
    out: &aws_sdk_cloudwatch::operation::get_dashboard::GetDashboardOutput,
) -> DashboardState {
    let remote = out.dashboard_body().unwrap_or_default();
    let body = match region.map(|r| dashboard_body(&namespace, period, r)) {
        Some(expected) if same_json(remote, &expected) => expected,
        _ => remote.to_owned(),
    };
    DashboardState {
        id: Value::Known(name.clone()),
        name: Value::Known(name),
        namespace: Value::Known(namespace),
        period: Value::Known(i64::from(period)),
        body: Value::Known(body),
        dashboard_arn: out.dashboard_arn().map(str::to_owned).into(),
    }
}

/// Whether two texts are the same JSON value (whitespace and key order aside); false when either is not JSON.
fn same_json(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// CloudWatch's validation messages as one sentence: `path: message; ...`.
fn validation_messages(messages: &[DashboardValidationMessage]) -> String {
    messages
        .iter()
        .map(|m| {
            format!(
                "{}: {}",
                m.data_path().unwrap_or("(dashboard)"),
                m.message().unwrap_or("invalid")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Why `name` is not a CloudWatch dashboard name, if it is not.
fn name_problem(name: &str) -> Option<String> {
    let len = name.chars().count();
    if len == 0 || len > MAX_NAME_LEN {
        return Some(format!(
            "a dashboard name has 1 to {MAX_NAME_LEN} characters; {name:?} has {len}"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Some(format!(
            "{name:?} contains {c:?}; a dashboard name has only letters, digits, `-` and `_`"
        ));
    }
    None
}

/// Why `namespace` cannot be Klaxon's CloudWatch namespace, if it cannot (the server checks the same).
fn namespace_problem(namespace: &str) -> Option<String> {
    klaxon_api::metrics::namespace_problem(namespace).map(|p| {
        format!("{p}; use the KLAXON_CLOUDWATCH_NAMESPACE of the server (default \"{DEFAULT_NAMESPACE}\")")
    })
}

/// Why `period` is not a period CloudWatch graphs, if it is not.
fn period_problem(period: i64) -> Option<String> {
    let ok = HIGH_RESOLUTION_PERIODS.contains(&period)
        || ((60..=MAX_PERIOD).contains(&period) && period % 60 == 0);
    (!ok).then(|| {
        format!("{period} is not a period CloudWatch graphs; use 60 or a multiple of 60 up to {MAX_PERIOD}, or 1, 5, 10 or 30 (high resolution)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(namespace: Value<String>, period: Value<i64>) -> DashboardState {
        DashboardState {
            id: Value::Null,
            name: Value::Known("klaxon".into()),
            namespace,
            period,
            body: Value::Null,
            dashboard_arn: Value::Null,
        }
    }

    #[test]
    fn plan_fills_defaults_and_the_body_of_the_shared_definition() {
        let c = config(Value::Null, Value::Null);
        let plan = planned(c.clone(), &c, "eu-west-1");
        assert_eq!(plan.id, Value::Known("klaxon".to_owned()));
        assert_eq!(plan.namespace, Value::Known(DEFAULT_NAMESPACE.to_owned()));
        assert_eq!(plan.period, Value::Known(i64::from(DEFAULT_PERIOD)));
        assert_eq!(
            plan.body,
            Value::Known(dashboard_body(DEFAULT_NAMESPACE, DEFAULT_PERIOD, "eu-west-1"))
        );

        let c = config(Value::Known("Prod".into()), Value::Known(60));
        let plan = planned(c.clone(), &c, "us-east-1");
        assert_eq!(plan.body, Value::Known(dashboard_body("Prod", 60, "us-east-1")));

        let c = config(Value::Unknown, Value::Known(60));
        assert!(planned(c.clone(), &c, "us-east-1").body.is_unknown());
    }

    #[test]
    fn read_keeps_the_definition_when_only_the_formatting_differs() {
        let expected = dashboard_body("Klaxon", 300, "eu-west-1");
        let pretty =
            serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(&expected).unwrap())
                .unwrap();
        assert_ne!(pretty, expected);
        let out = |body: &str| {
            aws_sdk_cloudwatch::operation::get_dashboard::GetDashboardOutput::builder()
                .dashboard_name("klaxon")
                .dashboard_arn("arn:aws:cloudwatch::123456789012:dashboard/klaxon")
                .dashboard_body(body)
                .build()
        };
        let state = flatten(
            "klaxon".into(),
            "Klaxon".into(),
            300,
            Some("eu-west-1"),
            &out(&pretty),
        );
        assert_eq!(state.body, Value::Known(expected.clone()));
        assert_eq!(
            state.dashboard_arn,
            Value::Known("arn:aws:cloudwatch::123456789012:dashboard/klaxon".to_owned())
        );

        // Edited outside terraform: the remote body is kept, so the plan shows the way back.
        let edited = r#"{"widgets":[]}"#;
        let state = flatten(
            "klaxon".into(),
            "Klaxon".into(),
            300,
            Some("eu-west-1"),
            &out(edited),
        );
        assert_eq!(state.body, Value::Known(edited.to_owned()));

        // Another region is another body: the one read back is kept, and the plan (for us-east-1) updates it.
        let state = flatten(
            "klaxon".into(),
            "Klaxon".into(),
            300,
            Some("us-east-1"),
            &out(&expected),
        );
        assert_eq!(state.body, Value::Known(expected));
        assert_ne!(
            state.body,
            Value::Known(dashboard_body("Klaxon", 300, "us-east-1"))
        );
    }

    #[test]
    fn import_settings_round_trip_through_the_body() {
        let body = dashboard_body("Prod", 60, "eu-west-1");
        assert_eq!(dashboard_settings(&body), Some(("Prod".to_owned(), 60)));
    }

    #[test]
    fn names_namespaces_and_periods_are_checked() {
        assert_eq!(name_problem("Klaxon-prod_1"), None);
        assert!(name_problem("").is_some());
        assert!(name_problem("has space").is_some());
        assert!(name_problem(&"a".repeat(256)).is_some());
        assert_eq!(name_problem(&"a".repeat(255)), None);

        assert_eq!(namespace_problem("Klaxon"), None);
        assert_eq!(namespace_problem("Klaxon/prod"), None);
        assert!(namespace_problem("").is_some());
        assert!(namespace_problem("AWS/SNS").is_some());
        assert!(namespace_problem(&"n".repeat(256)).is_some());

        for ok in [1, 5, 10, 30, 60, 120, 300, 3600, 86_400] {
            assert_eq!(period_problem(ok), None, "{ok}");
        }
        for bad in [0, -60, 2, 59, 61, 90, 86_460] {
            assert!(period_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn validation_messages_read_as_one_sentence() {
        let messages = [
            DashboardValidationMessage::builder()
                .data_path("/widgets/0")
                .message("Should have property 'x'")
                .build(),
            DashboardValidationMessage::builder().message("Invalid").build(),
        ];
        assert_eq!(
            validation_messages(&messages),
            "/widgets/0: Should have property 'x'; (dashboard): Invalid"
        );
    }
}

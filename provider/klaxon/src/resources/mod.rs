//! Managed resources, one file each, each laid out the same way: state struct, schema, validate, read,
//! plan hooks, create/update/destroy, import, then `expand` (state to API input) and `flatten` (API object to
//! state), then tests.

mod cloudwatch_dashboard;
mod endpoint;
mod escalation_policy;
mod heartbeat;
mod maintenance_window;
mod sns_subscription;
mod team;

use tfplugin::{Context, ResourceHandle, Value};

use crate::{KlaxonData, diag};

pub use cloudwatch_dashboard::CloudWatchDashboardResource;
pub use endpoint::EndpointResource;
pub use escalation_policy::EscalationPolicyResource;
pub(crate) use escalation_policy::{StepState, flatten_steps};
pub use heartbeat::HeartbeatResource;
pub use maintenance_window::MaintenanceWindowResource;
pub use sns_subscription::SnsSubscriptionResource;
pub use team::TeamResource;

/// Every resource type of the provider.
pub fn all() -> Vec<ResourceHandle<KlaxonData>> {
    vec![
        ResourceHandle::new(TeamResource),
        ResourceHandle::new(EscalationPolicyResource),
        ResourceHandle::new(EndpointResource),
        ResourceHandle::new(MaintenanceWindowResource),
        ResourceHandle::new(HeartbeatResource),
        ResourceHandle::new(SnsSubscriptionResource),
        ResourceHandle::new(CloudWatchDashboardResource),
    ]
}

/// Reports a failed API call on an object, at the attribute the server named when it named one.
pub(crate) fn api_error(
    ctx: &mut Context<KlaxonData>,
    action: &str,
    what: &str,
    err: &klaxon_api::ClientError,
    sets: &[&str],
) {
    let summary = format!("Error {action} {what}");
    match diag::field_path(err, sets) {
        Some(path) => ctx.error_at(path, summary, diag::detail(err)),
        None => ctx.error(summary, diag::detail(err)),
    }
}

/// An AWS error as a sentence: code and message (moto sends codes without messages), else the whole error
/// chain (a connection refused says so, not just "dispatch failure"). Every AWS SDK crate shares the smithy
/// error traits, so this serves SNS and CloudWatch alike.
pub(crate) fn aws_detail<E>(e: &E) -> String
where
    E: aws_sdk_sns::error::ProvideErrorMetadata + std::error::Error,
{
    match (e.code(), e.message()) {
        (Some(code), Some(msg)) => format!("{code}: {msg}"),
        (Some(code), None) => code.to_owned(),
        _ => aws_sdk_sns::error::DisplayErrorContext(e).to_string(),
    }
}

/// A list of strings from state, unknown elements dropped (only used on wholly known values).
pub(crate) fn strings(v: Value<Vec<Value<String>>>) -> Vec<String> {
    v.known()
        .unwrap_or_default()
        .into_iter()
        .filter_map(Value::known)
        .collect()
}

/// A list for state: an empty list reads back as null unless the configuration wrote `[]`, so omitting the
/// argument and writing `[]` both plan quietly.
pub(crate) fn list_state(items: Vec<String>, keep_empty: bool) -> Value<Vec<Value<String>>> {
    if items.is_empty() && !keep_empty {
        Value::Null
    } else {
        Value::Known(items.into_iter().map(Value::Known).collect())
    }
}

/// True when a list attribute is set to an empty list (as opposed to null).
pub(crate) fn is_empty_list<T>(v: &Value<Vec<T>>) -> bool {
    matches!(v, Value::Known(items) if items.is_empty())
}

/// A number attribute as `u32` (only for known values that passed validation).
pub(crate) fn to_u32(v: &Value<i64>, default: u32) -> u32 {
    match v {
        Value::Known(n) => u32::try_from(*n).unwrap_or(u32::MAX),
        _ => default,
    }
}

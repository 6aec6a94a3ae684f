//! Klaxon's management API: the wire types the server answers with and the typed client that calls it.
//!
//! Server and client share these types, so the two cannot drift: a field added here is a field both sides
//! see. The validation rules of each input live beside its type ([`validate`]) and are run by both the server
//! (the last word) and the Terraform provider (so `terraform plan` reports a bad value with its attribute path
//! before anything is sent).

pub mod client;
mod endpoint;
mod error;
pub mod escalation;
mod heartbeat;
pub mod int;
mod list;
pub mod maintenance;
pub mod metrics;
mod policy;
mod team;
pub mod validate;

pub use client::{Client, ClientConfig, ClientError};
pub use endpoint::{
    DEFAULT_ALERT_GROUPING_MINUTES, DEFAULT_NOTIFICATION_GROUPING_MINUTES, Endpoint, EndpointInput,
    EndpointQuery,
};
pub use error::{ErrorBody, ErrorDetail};
pub use heartbeat::{
    Beat, Heartbeat, HeartbeatInput, HeartbeatQuery, MAX_HEARTBEAT_GRACE_MINUTES,
    MAX_HEARTBEAT_INTERVAL_MINUTES,
};
pub use list::{ListQuery, Page};
pub use maintenance::{MaintenanceWindow, MaintenanceWindowInput, MaintenanceWindowQuery, Recurrence};
pub use policy::{
    DEFAULT_STEP_MINUTES, EscalationPolicy, EscalationPolicyInput, Notify, PolicyQuery, Step, default_chain,
};
pub use team::{Team, TeamInput, TeamQuery};

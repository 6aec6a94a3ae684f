//! Klaxon's backend service: the management API, and (as the other parts land) ingest, alerts, escalation,
//! Slack and AWS. `main.rs` is only the command line; everything testable lives here.

pub mod alerts;
pub mod config;
pub mod escalation;
pub mod event;
pub mod http;
pub mod ingest;
pub mod jobs;
pub mod metrics;
pub mod notify;
pub mod secrets;
pub mod serve;
pub mod slack;
pub mod store;

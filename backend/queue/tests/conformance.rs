//! One conformance suite for both stores: every test runs on SQLite and on PostgreSQL.
//!
//! Time-dependent rules (timers, leases, back-off) run against a `klaxon_queue::ManualClock`, so nothing depends on how
//! fast the machine is; concurrency is proven with barriers and gates, not sleeps.

// The whole suite is test code (helpers and job kinds included): a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

#[path = "conformance/support.rs"]
mod support;

#[path = "conformance/claims.rs"]
mod claims;

#[path = "conformance/runner.rs"]
mod runner;

#[path = "conformance/tenants.rs"]
mod tenants;

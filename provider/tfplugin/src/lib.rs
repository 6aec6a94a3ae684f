//! Terraform plugin protocol 6 for Rust providers.
//!
//! Everything between `terraform` and a provider's resources: the go-plugin handshake and AutoMTLS
//! ([`serve`]), the gRPC service, msgpack values with unknowns ([`Value`], [`Dynamic`]), schemas
//! ([`Schema`]), diagnostics with attribute paths ([`Diagnostics`], [`AttributePath`]), and typed traits
//! ([`Provider`], [`Resource`], [`DataSource`]) whose hooks see plain serde structs, never protobuf.
//!
//! A provider binary's `main`:
//!
//! ```ignore
//! #[tokio::main]
//! async fn main() -> std::process::ExitCode {
//!     tfplugin::serve(MyProvider, tfplugin::ServeOptions::new("registry.terraform.io/acme/example")).await
//! }
//! ```
//!
//! See `examples/terraform-provider-tfpluginexample.rs` for a complete provider, and the [`resource`] module
//! docs for the planning contracts.
//!
//! # Runtime behaviour
//!
//! - Logs go to stderr (terraform reads them into its log) or to `PLUGIN_LOG_FILE`; the level comes from
//!   `TF_LOG_PROVIDER`, else `TF_LOG`, else WARN. stdout carries only the handshake line.
//! - `--debug` serves without TLS and prints a `TF_REATTACH_PROVIDERS` line to export; Ctrl-C stops it.
//! - SIGINT is ignored in normal mode (terraform sends `StopProvider`, which cancels every hook context's
//!   [`CancellationToken`]); `Shutdown` ends the process, at the latest 500 ms later.
//!
//! # Startup cost
//!
//! The handshake line is printed ~3 ms after spawn with AutoMTLS (release build): the server certificate is
//! Ed25519 from an OS seed, so nothing before the line needs aws-lc's random generator. Its first use (the first
//! TLS handshake) still costs ~65 ms per process of CPU jitter entropy collection, started on a background thread
//! at launch. Building with `AWS_LC_SYS_NO_JITTER_ENTROPY=1` (e.g. `[env]` in `.cargo/config.toml`) makes aws-lc
//! seed from the OS instead and removes that cost.
//!
//! # Tests
//!
//! `cargo test -p tfplugin` runs the unit tests and `tests/terraform.rs`, which builds the example provider and
//! drives the real `terraform` CLI through a full lifecycle with AutoMTLS (skipped when `terraform` is not on
//! PATH, unless `TFPLUGIN_REQUIRE_TERRAFORM=1`).

mod adapter;
mod context;
mod data_source;
mod de;
mod diagnostics;
mod dynamic;
mod handshake;
mod logging;
mod path;
mod provider;
mod raw;
pub mod resource;
mod schema;
mod ser;
mod server;
mod service;
mod tls;
mod types;
mod value;

/// Generated protobuf and tonic code; private so no prost type leaks into the public API.
mod proto {
    #![allow(unreachable_pub, dead_code, clippy::all, clippy::pedantic, missing_docs)]
    pub(crate) mod tfplugin6 {
        tonic::include_proto!("tfplugin6");
    }
    pub(crate) mod plugin {
        tonic::include_proto!("plugin");
    }
}

pub use context::{ConfigureContext, Context, ValidateContext};
pub use data_source::{DataSource, DataSourceHandle};
pub use de::from_dynamic;
pub use diagnostics::{Diagnostic, Diagnostics, Severity};
pub use dynamic::{Dynamic, Number};
pub use handshake::{HandshakeError, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE, PROTOCOL_VERSION};
pub use path::{AttributePath, Step};
pub use provider::Provider;
pub use raw::CodecError;
pub use resource::{Plan, RawState, Resource, ResourceHandle, UpgradeContext};
pub use schema::{Attribute, AttributeKind, Block, DescriptionKind, Mode, NestedBlock, Nesting, Schema};
pub use ser::{ValueError, to_dynamic};
pub use server::{ServeError, ServeOptions, serve, try_serve};
pub use tls::TlsError;
pub use tokio_util::sync::CancellationToken;
pub use types::{Type, TypeError};
pub use value::Value;

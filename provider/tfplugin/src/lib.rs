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

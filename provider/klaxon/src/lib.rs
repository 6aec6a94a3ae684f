//! The Terraform provider for Klaxon: provider configuration, resources and data sources over the management
//! API's typed client. The protocol lives in `tfplugin`; nothing here sees protobuf.

pub mod data_sources;
mod diag;
mod provider;
pub mod resources;

pub use provider::{KlaxonData, KlaxonProvider, SOURCE_ADDRESS};

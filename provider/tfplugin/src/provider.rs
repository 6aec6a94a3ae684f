//! The provider: its configuration schema, how it configures itself (typically an API client shared by every
//! resource), and the resource and data source types it offers.

use std::future::Future;

use serde::de::DeserializeOwned;

use crate::context::{ConfigureContext, ValidateContext};
use crate::data_source::DataSourceHandle;
use crate::resource::ResourceHandle;
use crate::schema::Schema;

/// A terraform provider. Served with [`serve`](crate::serve).
///
/// ```no_run
/// use serde::Deserialize;
/// use tfplugin::{Attribute, Block, ConfigureContext, Provider, ResourceHandle, Schema, ServeOptions, Type, Value};
///
/// struct Example;
///
/// #[derive(Deserialize)]
/// struct Config {
///     endpoint: Value<String>,
/// }
///
/// struct Client {
///     endpoint: String,
/// }
///
/// impl Provider for Example {
///     type Config = Config;
///     type Data = Client;
///
///     fn schema(&self) -> Schema {
///         Schema::new(Block::new().attribute(Attribute::optional("endpoint", Type::String)))
///     }
///
///     async fn configure(&self, _ctx: &mut ConfigureContext, config: Config) -> Option<Client> {
///         Some(Client { endpoint: config.endpoint.unwrap_or_else(|| "http://127.0.0.1:8080".into()) })
///     }
///
///     fn resources(&self) -> Vec<ResourceHandle<Client>> {
///         Vec::new()
///     }
/// }
///
/// #[tokio::main]
/// async fn main() -> std::process::ExitCode {
///     tfplugin::serve(Example, ServeOptions::new("registry.terraform.io/example/example")).await
/// }
/// ```
pub trait Provider: Send + Sync + 'static {
    /// The provider block's configuration (a serde struct matching [`schema`](Provider::schema)).
    type Config: DeserializeOwned + Send + 'static;
    /// What [`configure`](Provider::configure) produces and every resource hook gets through
    /// [`Context::data`](crate::Context::data).
    type Data: Send + Sync + 'static;

    /// The provider block's schema (may be empty, never absent).
    fn schema(&self) -> Schema;

    /// Checks the provider configuration (values may be unknown).
    fn validate(&self, ctx: &mut ValidateContext, config: Self::Config) -> impl Future<Output = ()> + Send {
        let _ = (ctx, config);
        async {}
    }

    /// Configures the provider (once per provider process, before any resource operation). Values may be
    /// unknown when they depend on resources not yet created. `None` on failure, with an error in the context.
    fn configure(
        &self,
        ctx: &mut ConfigureContext,
        config: Self::Config,
    ) -> impl Future<Output = Option<Self::Data>> + Send;

    /// The resource types; called once when the server starts.
    fn resources(&self) -> Vec<ResourceHandle<Self::Data>>;

    /// The data source types; called once when the server starts. Default: none.
    fn data_sources(&self) -> Vec<DataSourceHandle<Self::Data>> {
        Vec::new()
    }
}

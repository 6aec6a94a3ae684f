//! Data sources: read-only lookups (`data "example_item" "x" { ... }`), typed over a serde state struct.
//!
//! The config and the result share one struct: the config's attributes are set, computed ones are null until
//! [`DataSource::read`] fills them. Terraform defers reading a data source whose config is not wholly known to
//! apply, so `read` sees known values only.

use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::adapter::DynDataSource;
use crate::context::{Context, ValidateContext};
use crate::schema::Schema;
use crate::types::Type;

/// A data source type, typed over its state struct. `D` is the provider's configured data.
pub trait DataSource<D: Send + Sync + 'static = ()>: Send + Sync + 'static {
    /// The config and result: a serde struct with one field per attribute and nested block.
    type State: Serialize + DeserializeOwned + Send + 'static;

    /// The full data source type name, e.g. `example_item`.
    fn type_name(&self) -> &str;

    /// The schema; called once when the server starts.
    fn schema(&self) -> Schema;

    /// Checks a configuration (values may be unknown; the provider is not configured yet).
    fn validate(&self, ctx: &mut ValidateContext, config: Self::State) -> impl Future<Output = ()> + Send {
        let _ = (ctx, config);
        async {}
    }

    /// Looks the object up; returns the config with the computed attributes filled in. `None` on failure (with
    /// an error in the diagnostics).
    fn read(
        &self,
        ctx: &mut Context<D>,
        config: Self::State,
    ) -> impl Future<Output = Option<Self::State>> + Send;
}

/// A data source type registered with a provider: the dynamic adapter plus its schema, computed once.
pub struct DataSourceHandle<D> {
    pub(crate) type_name: String,
    pub(crate) schema: Schema,
    pub(crate) value_type: Type,
    pub(crate) inner: Arc<dyn DynDataSource<D>>,
}

impl<D: Send + Sync + 'static> DataSourceHandle<D> {
    /// Registers a typed data source.
    pub fn new<S: DataSource<D>>(data_source: S) -> Self {
        let schema = data_source.schema();
        Self {
            type_name: data_source.type_name().to_owned(),
            value_type: schema.block.value_type(),
            schema,
            inner: Arc::new(data_source),
        }
    }

    /// The data source type name, e.g. `example_item` (for tools such as docs generators).
    pub fn type_name(&self) -> &str {
        &self.type_name
    }

    /// The schema, as sent to terraform (for tools such as docs generators).
    pub fn schema(&self) -> &Schema {
        &self.schema
    }
}

impl<D> std::fmt::Debug for DataSourceHandle<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataSourceHandle")
            .field("type_name", &self.type_name)
            .finish_non_exhaustive()
    }
}

//! Managed resources: the typed [`Resource`] trait a provider author implements.
//!
//! State is a plain serde struct (fields are [`Value<T>`](crate::Value) where a value may be null or unknown).
//! Terraform's single `PlanResourceChange`/`ApplyResourceChange` calls are split into hooks by the adapter
//! (`adapter` module) from null prior/proposed/planned values:
//!
//! | terraform call | prior | proposed/planned | hook |
//! |---|---|---|---|
//! | plan | null | value | [`plan_create`](Resource::plan_create) |
//! | plan | value | value | [`plan_update`](Resource::plan_update) |
//! | plan | value | null | [`plan_destroy`](Resource::plan_destroy) |
//! | apply | null | value | [`create`](Resource::create) |
//! | apply | value | value | [`update`](Resource::update) |
//! | apply | value | null | [`destroy`](Resource::destroy) |
//!
//! Contracts (decided once here so every resource behaves the same):
//! - Hooks returning `Option` return `None` on failure, with an error in the context's diagnostics.
//! - `read` returns `None` when the object is gone (404): terraform drops it from state and plans a create. If
//!   `read` records an error, the prior state is kept whatever it returns.
//! - `create` should return `Some` whenever the object was created, even if a later step failed, so state is not
//!   lost; `update` returning `None` keeps the prior state; `destroy` with errors keeps the prior state (and
//!   should treat "already gone" as success).
//! - Planning (terraform rejects plans breaking these): non-computed attributes must equal the config; an
//!   optional+computed attribute may differ from the config only when the config is null. The defaults are
//!   valid: `plan_create` returns the proposed state and the adapter then marks every top-level computed
//!   attribute that is null in both config and plan as unknown ("known after apply"); `plan_update` returns the
//!   proposed state, which keeps prior computed values, so a resource whose computed values change on update
//!   (e.g. `updated_at`) sets them to `Value::Unknown` itself. Attributes declared with
//!   [`Attribute::requires_replace`](crate::Attribute::requires_replace) are added to the replace paths when
//!   their planned value differs from the prior one.
//! - Apply results must be wholly known and must equal every known planned value; the adapter reports an
//!   unknown left in a result as an error with its path.

use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::adapter::DynResource;
use crate::context::{Context, ValidateContext};
use crate::de::from_dynamic;
use crate::path::AttributePath;
use crate::raw::from_json;
use crate::schema::Schema;
use crate::ser::ValueError;
use crate::types::Type;

/// Context of [`Resource::upgrade`]: like validation, upgrades may run before the provider is configured.
pub type UpgradeContext = ValidateContext;

/// An update plan: the planned state and the attributes whose change forces replacement.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan<S> {
    /// The planned new state.
    pub state: S,
    /// Attributes whose planned change cannot be done in place; terraform then destroys and re-creates.
    pub requires_replace: Vec<AttributePath>,
}

impl<S> Plan<S> {
    /// A plan for an in-place update.
    pub fn new(state: S) -> Self {
        Self {
            state,
            requires_replace: Vec::new(),
        }
    }

    /// Adds an attribute whose change forces replacement.
    #[must_use]
    pub fn replace(mut self, path: AttributePath) -> Self {
        self.requires_replace.push(path);
        self
    }
}

/// Stored state in an older schema version, as terraform hands it to [`Resource::upgrade`]: the JSON of the
/// instance's attributes in `terraform.tfstate`.
#[derive(Debug, Clone)]
pub struct RawState {
    pub(crate) json: serde_json::Value,
    pub(crate) current_type: Type,
}

impl RawState {
    /// The raw JSON object, per the old schema.
    pub fn json(&self) -> &serde_json::Value {
        &self.json
    }

    /// Decodes the JSON leniently per the *current* schema: keys the schema lacks are ignored, missing
    /// attributes are null. Enough when a version only added or removed attributes.
    pub fn decode<S: DeserializeOwned>(&self) -> Result<S, ValueError> {
        let dynamic = from_json(&self.json, &self.current_type).map_err(|e| ValueError(e.to_string()))?;
        from_dynamic(dynamic)
    }
}

/// A managed resource type, typed over its state struct. `D` is the provider's configured data
/// ([`Provider::Data`](crate::Provider::Data)).
///
/// Hooks are `async`: implement them with `async fn`. The returned futures must be `Send`.
pub trait Resource<D: Send + Sync + 'static = ()>: Send + Sync + 'static {
    /// The state (and config, plan) of one instance: a serde struct with one field per attribute and nested
    /// block of [`schema`](Resource::schema).
    type State: Serialize + DeserializeOwned + Send + 'static;

    /// The full resource type name as written in configuration, e.g. `example_item`.
    fn type_name(&self) -> &str;

    /// The schema; called once when the server starts.
    fn schema(&self) -> Schema;

    /// Checks a configuration (values may be unknown; the provider is not configured yet).
    fn validate(&self, ctx: &mut ValidateContext, config: Self::State) -> impl Future<Output = ()> + Send {
        let _ = (ctx, config);
        async {}
    }

    /// Reads the current remote object; `None` when it no longer exists.
    fn read(
        &self,
        ctx: &mut Context<D>,
        state: Self::State,
    ) -> impl Future<Output = Option<Self::State>> + Send;

    /// Plans a create. Default: the proposed state (computed attributes then become unknown, see module docs).
    fn plan_create(
        &self,
        ctx: &mut Context<D>,
        proposed: Self::State,
        config: Self::State,
    ) -> impl Future<Output = Option<Self::State>> + Send {
        let _ = (ctx, config);
        async move { Some(proposed) }
    }

    /// Plans an update. Default: the proposed state, replacing only for `requires_replace` attributes.
    fn plan_update(
        &self,
        ctx: &mut Context<D>,
        prior: Self::State,
        proposed: Self::State,
        config: Self::State,
    ) -> impl Future<Output = Option<Plan<Self::State>>> + Send {
        let _ = (ctx, prior, config);
        async move { Some(Plan::new(proposed)) }
    }

    /// Plans a destroy (e.g. to refuse it with an error). Default: nothing.
    fn plan_destroy(&self, ctx: &mut Context<D>, prior: Self::State) -> impl Future<Output = ()> + Send {
        let _ = (ctx, prior);
        async {}
    }

    /// Creates the object; returns the new state (wholly known).
    fn create(
        &self,
        ctx: &mut Context<D>,
        planned: Self::State,
        config: Self::State,
    ) -> impl Future<Output = Option<Self::State>> + Send;

    /// Updates the object in place; returns the new state (wholly known).
    fn update(
        &self,
        ctx: &mut Context<D>,
        prior: Self::State,
        planned: Self::State,
        config: Self::State,
    ) -> impl Future<Output = Option<Self::State>> + Send;

    /// Deletes the object.
    fn destroy(&self, ctx: &mut Context<D>, prior: Self::State) -> impl Future<Output = ()> + Send;

    /// Imports an existing object by id (`import { id = "..." }`). Return at least what `read` needs; terraform
    /// calls `read` next. Default: import is not supported.
    fn import(&self, ctx: &mut Context<D>, id: String) -> impl Future<Output = Option<Self::State>> + Send {
        ctx.error(
            format!("Import not supported by {}", self.type_name()),
            "This resource type cannot be imported.",
        );
        let _ = id;
        async { None }
    }

    /// Upgrades state stored with an older schema `version` (only called when it is older than
    /// [`Schema::version`]). Default: [`RawState::decode`], i.e. added attributes become null and removed ones
    /// are dropped.
    fn upgrade(
        &self,
        ctx: &mut UpgradeContext,
        version: i64,
        raw: RawState,
    ) -> impl Future<Output = Option<Self::State>> + Send {
        let decoded = raw.decode().map_err(|e| {
            ctx.error(
                format!("Cannot upgrade state from schema version {version}"),
                e.to_string(),
            );
        });
        async move { decoded.ok() }
    }
}

/// A resource type registered with a provider: the dynamic adapter plus its schema, computed once.
pub struct ResourceHandle<D> {
    pub(crate) type_name: String,
    pub(crate) schema: Schema,
    pub(crate) value_type: Type,
    pub(crate) inner: Arc<dyn DynResource<D>>,
}

impl<D: Send + Sync + 'static> ResourceHandle<D> {
    /// Registers a typed resource.
    pub fn new<R: Resource<D>>(resource: R) -> Self {
        let schema = resource.schema();
        Self {
            type_name: resource.type_name().to_owned(),
            value_type: schema.block.value_type(),
            schema,
            inner: Arc::new(resource),
        }
    }

    /// The resource type name, e.g. `example_item` (for tools such as docs generators).
    pub fn type_name(&self) -> &str {
        &self.type_name
    }

    /// The schema, as sent to terraform (for tools such as docs generators).
    pub fn schema(&self) -> &Schema {
        &self.schema
    }
}

impl<D> std::fmt::Debug for ResourceHandle<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceHandle")
            .field("type_name", &self.type_name)
            .finish_non_exhaustive()
    }
}

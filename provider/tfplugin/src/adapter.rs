//! The dynamic layer: object-safe traits over [`Dynamic`] values and the one blanket adapter that bridges typed
//! [`Resource`]/[`DataSource`] hooks to them.
//!
//! The gRPC service only ever sees `dyn DynResource`; this is where terraform's combined plan/apply calls are
//! split into create/update/destroy from null prior/proposed values, typed state is decoded and encoded, and the
//! protocol rules every resource would otherwise re-implement are applied once (computed-unknown marking on
//! create, schema-declared replacement, wholly-known apply results).

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::context::{Context, ValidateContext};
use crate::data_source::DataSource;
use crate::de::from_dynamic;
use crate::diagnostics::Diagnostics;
use crate::dynamic::Dynamic;
use crate::path::AttributePath;
use crate::raw::encode_msgpack;
use crate::resource::{Plan, RawState, Resource};
use crate::schema::Schema;
use crate::ser::to_dynamic;

/// What the dynamic layer needs to know about the resource's schema, computed once.
pub(crate) struct ResourceMeta<'a> {
    pub(crate) type_name: &'a str,
    pub(crate) schema: &'a Schema,
}

/// A resource on dynamic values; implemented for every typed [`Resource`].
#[async_trait::async_trait]
pub(crate) trait DynResource<D>: Send + Sync {
    async fn dyn_validate(&self, ctx: &mut ValidateContext, meta: ResourceMeta<'_>, config: Dynamic);
    async fn dyn_read(&self, ctx: &mut Context<D>, meta: ResourceMeta<'_>, state: Dynamic) -> Dynamic;
    async fn dyn_plan(
        &self,
        ctx: &mut Context<D>,
        meta: ResourceMeta<'_>,
        prior: Dynamic,
        proposed: Dynamic,
        config: Dynamic,
    ) -> (Dynamic, Vec<AttributePath>);
    async fn dyn_apply(
        &self,
        ctx: &mut Context<D>,
        meta: ResourceMeta<'_>,
        prior: Dynamic,
        planned: Dynamic,
        config: Dynamic,
    ) -> Dynamic;
    async fn dyn_import(&self, ctx: &mut Context<D>, meta: ResourceMeta<'_>, id: String) -> Option<Dynamic>;
    async fn dyn_upgrade(
        &self,
        ctx: &mut ValidateContext,
        meta: ResourceMeta<'_>,
        version: i64,
        raw: RawState,
    ) -> Option<Dynamic>;
}

/// Typed view of a dynamic value; a decoding failure becomes an error diagnostic.
fn decode<S: DeserializeOwned>(
    diags: &mut Diagnostics,
    what: &str,
    type_name: &str,
    value: Dynamic,
) -> Option<S> {
    from_dynamic(value)
        .map_err(|e| {
            diags.error(
                format!("Invalid {what} for {type_name}"),
                format!("Decoding failed: {e}"),
            );
        })
        .ok()
}

fn encode<S: Serialize>(diags: &mut Diagnostics, what: &str, type_name: &str, value: &S) -> Option<Dynamic> {
    to_dynamic(value)
        .map_err(|e| {
            diags.error(
                format!("Invalid {what} from {type_name}"),
                format!("Encoding failed: {e}"),
            );
        })
        .ok()
}

/// A hook returned `None`: make sure the user learns why, even if the hook forgot to say.
fn ensure_error(diags: &mut Diagnostics, type_name: &str, hook: &str) {
    if !diags.has_errors() {
        diags.error(
            format!("{type_name}: {hook} failed"),
            "The provider returned no result and no error; this is a bug in the provider.",
        );
    }
}

/// Apply results must be wholly known: report the first unknown with its path.
fn check_known(diags: &mut Diagnostics, type_name: &str, value: &Dynamic) {
    if let Some(path) = value.first_unknown() {
        diags.error_at(
            path,
            format!("Provider returned an unknown value for {type_name}"),
            "Values must be known after apply; this is a bug in the provider.",
        );
    }
}

/// On create, top-level computed attributes the plan left null (and the config did not set) become unknown:
/// the provider decides them at apply.
fn mark_computed_unknown(schema: &Schema, config: &Dynamic, planned: &mut Dynamic) {
    let Dynamic::Map(map) = planned else { return };
    for attr in schema.block.attributes.iter().filter(|a| a.mode.is_computed()) {
        if config.attr(&attr.name).is_null() {
            let slot = map.entry(attr.name.clone()).or_insert(Dynamic::Null);
            if slot.is_null() {
                *slot = Dynamic::Unknown;
            }
        }
    }
}

/// Attributes declared `requires_replace` whose planned value differs from the prior one.
fn schema_replacements(schema: &Schema, prior: &Dynamic, planned: &Dynamic) -> Vec<AttributePath> {
    schema
        .block
        .attributes
        .iter()
        .filter(|a| a.requires_replace)
        .filter(|a| {
            // Compare wire encodings: they normalise numbers the way terraform sees them.
            let ty = a.value_type();
            encode_msgpack(prior.attr(&a.name), &ty).ok() != encode_msgpack(planned.attr(&a.name), &ty).ok()
        })
        .map(|a| AttributePath::root(a.name.clone()))
        .collect()
}

#[async_trait::async_trait]
impl<D, R> DynResource<D> for R
where
    D: Send + Sync + 'static,
    R: Resource<D>,
{
    async fn dyn_validate(&self, ctx: &mut ValidateContext, meta: ResourceMeta<'_>, config: Dynamic) {
        if let Some(config) = decode(&mut ctx.diagnostics, "configuration", meta.type_name, config) {
            Resource::validate(self, ctx, config).await;
        }
    }

    async fn dyn_read(&self, ctx: &mut Context<D>, meta: ResourceMeta<'_>, state: Dynamic) -> Dynamic {
        if state.is_null() {
            return Dynamic::Null;
        }
        let Some(typed) = decode(&mut ctx.diagnostics, "state", meta.type_name, state.clone()) else {
            return state;
        };
        let result = Resource::read(self, ctx, typed).await;
        if ctx.has_errors() {
            // A failed read must not make terraform forget the object.
            return state;
        }
        match result {
            Some(new) => {
                let new = encode(&mut ctx.diagnostics, "state", meta.type_name, &new).unwrap_or(state);
                check_known(&mut ctx.diagnostics, meta.type_name, &new);
                new
            }
            None => Dynamic::Null,
        }
    }

    async fn dyn_plan(
        &self,
        ctx: &mut Context<D>,
        meta: ResourceMeta<'_>,
        prior: Dynamic,
        proposed: Dynamic,
        config: Dynamic,
    ) -> (Dynamic, Vec<AttributePath>) {
        let name = meta.type_name;
        if proposed.is_null() {
            if !prior.is_null()
                && let Some(prior) = decode(&mut ctx.diagnostics, "prior state", name, prior)
            {
                Resource::plan_destroy(self, ctx, prior).await;
            }
            return (Dynamic::Null, Vec::new());
        }
        let (Some(typed_proposed), Some(typed_config)) = (
            decode(&mut ctx.diagnostics, "proposed state", name, proposed.clone()),
            decode(&mut ctx.diagnostics, "configuration", name, config.clone()),
        ) else {
            return (proposed, Vec::new());
        };
        if prior.is_null() {
            let Some(planned) = Resource::plan_create(self, ctx, typed_proposed, typed_config).await else {
                ensure_error(&mut ctx.diagnostics, name, "plan_create");
                return (proposed, Vec::new());
            };
            let Some(mut planned) = encode(&mut ctx.diagnostics, "planned state", name, &planned) else {
                return (proposed, Vec::new());
            };
            mark_computed_unknown(meta.schema, &config, &mut planned);
            return (planned, Vec::new());
        }
        let Some(typed_prior) = decode(&mut ctx.diagnostics, "prior state", name, prior.clone()) else {
            return (proposed, Vec::new());
        };
        let Some(Plan {
            state,
            mut requires_replace,
        }) = Resource::plan_update(self, ctx, typed_prior, typed_proposed, typed_config).await
        else {
            ensure_error(&mut ctx.diagnostics, name, "plan_update");
            return (proposed, Vec::new());
        };
        let Some(planned) = encode(&mut ctx.diagnostics, "planned state", name, &state) else {
            return (proposed, Vec::new());
        };
        for path in schema_replacements(meta.schema, &prior, &planned) {
            if !requires_replace.contains(&path) {
                requires_replace.push(path);
            }
        }
        (planned, requires_replace)
    }

    async fn dyn_apply(
        &self,
        ctx: &mut Context<D>,
        meta: ResourceMeta<'_>,
        prior: Dynamic,
        planned: Dynamic,
        config: Dynamic,
    ) -> Dynamic {
        let name = meta.type_name;
        if planned.is_null() {
            if prior.is_null() {
                return Dynamic::Null;
            }
            let Some(typed_prior) = decode(&mut ctx.diagnostics, "prior state", name, prior.clone()) else {
                return prior;
            };
            Resource::destroy(self, ctx, typed_prior).await;
            // With errors the object may still exist: keep it in state.
            return if ctx.has_errors() { prior } else { Dynamic::Null };
        }
        let (Some(typed_planned), Some(typed_config)) = (
            decode(&mut ctx.diagnostics, "planned state", name, planned),
            decode(&mut ctx.diagnostics, "configuration", name, config),
        ) else {
            return prior;
        };
        let result = if prior.is_null() {
            let result = Resource::create(self, ctx, typed_planned, typed_config).await;
            if result.is_none() {
                ensure_error(&mut ctx.diagnostics, name, "create");
            }
            result
        } else {
            let Some(typed_prior) = decode(&mut ctx.diagnostics, "prior state", name, prior.clone()) else {
                return prior;
            };
            let result = Resource::update(self, ctx, typed_prior, typed_planned, typed_config).await;
            if result.is_none() {
                ensure_error(&mut ctx.diagnostics, name, "update");
            }
            result
        };
        let Some(new) = result.and_then(|s| encode(&mut ctx.diagnostics, "new state", name, &s)) else {
            // Nothing new to record: a failed create stores nothing, a failed update keeps the prior state.
            return prior;
        };
        check_known(&mut ctx.diagnostics, name, &new);
        new
    }

    async fn dyn_import(&self, ctx: &mut Context<D>, meta: ResourceMeta<'_>, id: String) -> Option<Dynamic> {
        let state = Resource::import(self, ctx, id).await;
        if state.is_none() {
            ensure_error(&mut ctx.diagnostics, meta.type_name, "import");
        }
        state.and_then(|s| encode(&mut ctx.diagnostics, "imported state", meta.type_name, &s))
    }

    async fn dyn_upgrade(
        &self,
        ctx: &mut ValidateContext,
        meta: ResourceMeta<'_>,
        version: i64,
        raw: RawState,
    ) -> Option<Dynamic> {
        let state = Resource::upgrade(self, ctx, version, raw).await;
        if state.is_none() {
            ensure_error(&mut ctx.diagnostics, meta.type_name, "upgrade");
        }
        state.and_then(|s| encode(&mut ctx.diagnostics, "upgraded state", meta.type_name, &s))
    }
}

/// A data source on dynamic values; implemented for every typed [`DataSource`].
#[async_trait::async_trait]
pub(crate) trait DynDataSource<D>: Send + Sync {
    async fn dyn_validate(&self, ctx: &mut ValidateContext, type_name: &str, config: Dynamic);
    async fn dyn_read(&self, ctx: &mut Context<D>, type_name: &str, config: Dynamic) -> Dynamic;
}

#[async_trait::async_trait]
impl<D, S> DynDataSource<D> for S
where
    D: Send + Sync + 'static,
    S: DataSource<D>,
{
    async fn dyn_validate(&self, ctx: &mut ValidateContext, type_name: &str, config: Dynamic) {
        if let Some(config) = decode(&mut ctx.diagnostics, "configuration", type_name, config) {
            DataSource::validate(self, ctx, config).await;
        }
    }

    async fn dyn_read(&self, ctx: &mut Context<D>, type_name: &str, config: Dynamic) -> Dynamic {
        let Some(typed) = decode(&mut ctx.diagnostics, "configuration", type_name, config) else {
            return Dynamic::Null;
        };
        let Some(state) = DataSource::read(self, ctx, typed).await else {
            ensure_error(&mut ctx.diagnostics, type_name, "read");
            return Dynamic::Null;
        };
        let state = encode(&mut ctx.diagnostics, "state", type_name, &state).unwrap_or_default();
        check_known(&mut ctx.diagnostics, type_name, &state);
        state
    }
}

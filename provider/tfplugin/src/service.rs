//! The gRPC services: `tfplugin6.Provider` (protobuf ⇄ the crate's types, dispatch by type name) and go-plugin's
//! `plugin.GRPCController` (Shutdown).
//!
//! User-facing problems are always answered as diagnostics in an OK response; terraform shows a gRPC error only
//! as "Plugin did not respond", so the service never returns one for bad input.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::adapter::ResourceMeta;
use crate::context::{ConfigureContext, Context, ValidateContext};
use crate::data_source::DataSourceHandle;
use crate::de::from_dynamic;
use crate::diagnostics::Diagnostics;
use crate::dynamic::Dynamic;
use crate::proto::{plugin, tfplugin6 as pb};
use crate::provider::Provider;
use crate::raw::{decode_json, decode_msgpack, encode_msgpack};
use crate::resource::{RawState, ResourceHandle};
use crate::schema::Block;
use crate::types::Type;

type Rpc<T> = Result<Response<T>, Status>;

/// The provider service: everything computed once at start, plus the configured data.
pub(crate) struct ProviderService<P: Provider> {
    provider: P,
    provider_type: Type,
    resources: HashMap<String, ResourceHandle<P::Data>>,
    data_sources: HashMap<String, DataSourceHandle<P::Data>>,
    schema_response: pb::get_provider_schema::Response,
    data: RwLock<Option<Arc<P::Data>>>,
    /// Cancelled by StopProvider; every hook context gets it.
    stop: CancellationToken,
}

fn capabilities() -> pb::ServerCapabilities {
    // Schema-optional: terraform caches the schema per command instead of asking every process.
    pb::ServerCapabilities {
        plan_destroy: true,
        get_provider_schema_optional: true,
        move_resource_state: false,
    }
}

impl<P: Provider> ProviderService<P> {
    pub(crate) fn new(provider: P) -> Self {
        let provider_schema = provider.schema();
        let resources: HashMap<_, _> = provider
            .resources()
            .into_iter()
            .map(|r| (r.type_name.clone(), r))
            .collect();
        let data_sources: HashMap<_, _> = provider
            .data_sources()
            .into_iter()
            .map(|d| (d.type_name.clone(), d))
            .collect();
        let schema_response = pb::get_provider_schema::Response {
            provider: Some(provider_schema.to_proto()),
            resource_schemas: resources
                .iter()
                .map(|(k, r)| (k.clone(), r.schema.to_proto()))
                .collect(),
            data_source_schemas: data_sources
                .iter()
                .map(|(k, d)| (k.clone(), d.schema.to_proto()))
                .collect(),
            diagnostics: Vec::new(),
            provider_meta: None,
            server_capabilities: Some(capabilities()),
        };
        Self {
            provider_type: provider_schema.block.value_type(),
            provider,
            resources,
            data_sources,
            schema_response,
            data: RwLock::new(None),
            stop: CancellationToken::new(),
        }
    }

    fn resource_block(&self, name: &str) -> Option<&Block> {
        self.resources.get(name).map(|r| &r.schema.block)
    }

    fn data_source_block(&self, name: &str) -> Option<&Block> {
        self.data_sources.get(name).map(|d| &d.schema.block)
    }

    fn resource(&self, name: &str, diags: &mut Diagnostics) -> Option<&ResourceHandle<P::Data>> {
        let found = self.resources.get(name);
        if found.is_none() {
            diags.error(
                format!("Unknown resource type {name:?}"),
                "This provider does not offer it.",
            );
        }
        found
    }

    fn data_source(&self, name: &str, diags: &mut Diagnostics) -> Option<&DataSourceHandle<P::Data>> {
        let found = self.data_sources.get(name);
        if found.is_none() {
            diags.error(
                format!("Unknown data source type {name:?}"),
                "This provider does not offer it.",
            );
        }
        found
    }

    /// A hook context; an error when the provider is not configured yet (terraform always configures first).
    fn context(&self, private: Vec<u8>, diags: &mut Diagnostics) -> Option<Context<P::Data>> {
        let data = self.data.read().map(|d| d.clone()).unwrap_or_default();
        if data.is_none() {
            diags.error(
                "Provider not configured",
                "ConfigureProvider must succeed before this operation.",
            );
        }
        data.map(|data| Context::new(self.stop.child_token(), data, private))
    }
}

/// Decodes a `DynamicValue` (msgpack, or the JSON fallback); absent means null.
fn decode_value(
    value: Option<&pb::DynamicValue>,
    ty: &Type,
    what: &str,
    diags: &mut Diagnostics,
) -> Option<Dynamic> {
    let Some(value) = value else {
        return Some(Dynamic::Null);
    };
    let decoded = if value.msgpack.is_empty() {
        decode_json(&value.json, ty)
    } else {
        decode_msgpack(&value.msgpack, ty)
    };
    decoded
        .map_err(|e| {
            diags.error(
                format!("Invalid {what}"),
                format!("Cannot decode the {what}: {e}"),
            );
        })
        .ok()
}

fn encode_value(value: &Dynamic, ty: &Type, diags: &mut Diagnostics) -> Option<pb::DynamicValue> {
    encode_msgpack(value, ty)
        .map(|msgpack| pb::DynamicValue {
            msgpack,
            json: Vec::new(),
        })
        .map_err(|e| {
            diags.error(
                "Provider produced a value that does not match its schema",
                e.to_string(),
            );
        })
        .ok()
}

fn diagnostics(diags: Diagnostics) -> Vec<pb::Diagnostic> {
    diags
        .into_vec()
        .iter()
        .map(crate::diagnostics::to_proto)
        .collect()
}

/// Diagnostics of an operation on one resource or data source, with paths fitted to what terraform can show.
fn diagnostics_in(diags: Diagnostics, block: Option<&Block>) -> Vec<pb::Diagnostic> {
    diagnostics(crate::diagnostics::fit_paths_to_source(diags, block))
}

fn paths(paths: &[crate::path::AttributePath]) -> Vec<pb::AttributePath> {
    paths.iter().map(crate::path::to_proto).collect()
}

#[tonic::async_trait]
impl<P: Provider> pb::provider_server::Provider for ProviderService<P> {
    async fn get_metadata(
        &self,
        _request: Request<pb::get_metadata::Request>,
    ) -> Rpc<pb::get_metadata::Response> {
        use pb::get_metadata::{DataSourceMetadata, ResourceMetadata};
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(capabilities()),
            diagnostics: Vec::new(),
            data_sources: self
                .data_sources
                .keys()
                .map(|n| DataSourceMetadata { type_name: n.clone() })
                .collect(),
            resources: self
                .resources
                .keys()
                .map(|n| ResourceMetadata { type_name: n.clone() })
                .collect(),
            functions: Vec::new(),
            ephemeral_resources: Vec::new(),
        }))
    }

    async fn get_provider_schema(
        &self,
        _request: Request<pb::get_provider_schema::Request>,
    ) -> Rpc<pb::get_provider_schema::Response> {
        Ok(Response::new(self.schema_response.clone()))
    }

    async fn validate_provider_config(
        &self,
        request: Request<pb::validate_provider_config::Request>,
    ) -> Rpc<pb::validate_provider_config::Response> {
        let request = request.into_inner();
        let mut ctx = ValidateContext::new(self.stop.child_token());
        if let Some(config) = decode_value(
            request.config.as_ref(),
            &self.provider_type,
            "provider configuration",
            &mut ctx.diagnostics,
        ) && let Some(config) = decode_typed(&mut ctx.diagnostics, "provider configuration", config)
        {
            self.provider.validate(&mut ctx, config).await;
        }
        Ok(Response::new(pb::validate_provider_config::Response {
            diagnostics: diagnostics(ctx.diagnostics),
        }))
    }

    async fn configure_provider(
        &self,
        request: Request<pb::configure_provider::Request>,
    ) -> Rpc<pb::configure_provider::Response> {
        let request = request.into_inner();
        let mut ctx = ConfigureContext {
            diagnostics: Diagnostics::default(),
            cancel: self.stop.child_token(),
            terraform_version: request.terraform_version,
        };
        tracing::debug!(terraform_version = %ctx.terraform_version, "Configuring the provider.");
        if let Some(config) = decode_value(
            request.config.as_ref(),
            &self.provider_type,
            "provider configuration",
            &mut ctx.diagnostics,
        ) && let Some(config) = decode_typed(&mut ctx.diagnostics, "provider configuration", config)
            && let Some(data) = self.provider.configure(&mut ctx, config).await
        {
            if let Ok(mut slot) = self.data.write() {
                *slot = Some(Arc::new(data));
            }
        } else if !ctx.diagnostics.has_errors() {
            ctx.error(
                "Provider configuration failed",
                "The provider returned no data and no error.",
            );
        }
        Ok(Response::new(pb::configure_provider::Response {
            diagnostics: diagnostics(ctx.diagnostics),
        }))
    }

    async fn validate_resource_config(
        &self,
        request: Request<pb::validate_resource_config::Request>,
    ) -> Rpc<pb::validate_resource_config::Response> {
        let request = request.into_inner();
        let type_name = request.type_name.clone();
        let mut ctx = ValidateContext::new(self.stop.child_token());
        if let Some(r) = self.resource(&request.type_name, &mut ctx.diagnostics)
            && let Some(config) = decode_value(
                request.config.as_ref(),
                &r.value_type,
                "configuration",
                &mut ctx.diagnostics,
            )
        {
            r.inner.dyn_validate(&mut ctx, meta(r), config).await;
        }
        Ok(Response::new(pb::validate_resource_config::Response {
            diagnostics: diagnostics_in(ctx.diagnostics, self.resource_block(&type_name)),
        }))
    }

    async fn validate_data_resource_config(
        &self,
        request: Request<pb::validate_data_resource_config::Request>,
    ) -> Rpc<pb::validate_data_resource_config::Response> {
        let request = request.into_inner();
        let type_name = request.type_name.clone();
        let mut ctx = ValidateContext::new(self.stop.child_token());
        if let Some(d) = self.data_source(&request.type_name, &mut ctx.diagnostics)
            && let Some(config) = decode_value(
                request.config.as_ref(),
                &d.value_type,
                "configuration",
                &mut ctx.diagnostics,
            )
        {
            d.inner.dyn_validate(&mut ctx, &d.type_name, config).await;
        }
        Ok(Response::new(pb::validate_data_resource_config::Response {
            diagnostics: diagnostics_in(ctx.diagnostics, self.data_source_block(&type_name)),
        }))
    }

    async fn upgrade_resource_state(
        &self,
        request: Request<pb::upgrade_resource_state::Request>,
    ) -> Rpc<pb::upgrade_resource_state::Response> {
        let request = request.into_inner();
        let type_name = request.type_name.clone();
        let mut ctx = ValidateContext::new(self.stop.child_token());
        let mut upgraded_state = None;
        if let Some(r) = self.resource(&request.type_name, &mut ctx.diagnostics) {
            let json = request.raw_state.map(|raw| raw.json).unwrap_or_default();
            let state = upgrade(r, &mut ctx, request.version, &json).await;
            upgraded_state = state.and_then(|s| encode_value(&s, &r.value_type, &mut ctx.diagnostics));
        }
        Ok(Response::new(pb::upgrade_resource_state::Response {
            upgraded_state,
            diagnostics: diagnostics_in(ctx.diagnostics, self.resource_block(&type_name)),
        }))
    }

    async fn read_resource(
        &self,
        request: Request<pb::read_resource::Request>,
    ) -> Rpc<pb::read_resource::Response> {
        let request = request.into_inner();
        let type_name = request.type_name.clone();
        let mut diags = Diagnostics::default();
        let mut response = pb::read_resource::Response {
            new_state: request.current_state.clone(),
            ..Default::default()
        };
        response.private = request.private.clone();
        if let Some(r) = self.resource(&request.type_name, &mut diags)
            && let Some(state) =
                decode_value(request.current_state.as_ref(), &r.value_type, "state", &mut diags)
            && let Some(mut ctx) = self.context(request.private, &mut diags)
        {
            let new = r.inner.dyn_read(&mut ctx, meta(r), state).await;
            diags.extend(std::mem::take(&mut ctx.diagnostics));
            if let Some(new) = encode_value(&new, &r.value_type, &mut diags) {
                response.new_state = Some(new);
            }
            response.private = ctx.private;
        }
        response.diagnostics = diagnostics_in(diags, self.resource_block(&type_name));
        Ok(Response::new(response))
    }

    async fn plan_resource_change(
        &self,
        request: Request<pb::plan_resource_change::Request>,
    ) -> Rpc<pb::plan_resource_change::Response> {
        let request = request.into_inner();
        let type_name = request.type_name.clone();
        let mut diags = Diagnostics::default();
        let mut response = pb::plan_resource_change::Response::default();
        if let Some(r) = self.resource(&request.type_name, &mut diags)
            && let Some(prior) = decode_value(
                request.prior_state.as_ref(),
                &r.value_type,
                "prior state",
                &mut diags,
            )
            && let Some(proposed) = decode_value(
                request.proposed_new_state.as_ref(),
                &r.value_type,
                "proposed state",
                &mut diags,
            )
            && let Some(config) = decode_value(
                request.config.as_ref(),
                &r.value_type,
                "configuration",
                &mut diags,
            )
            && let Some(mut ctx) = self.context(request.prior_private, &mut diags)
        {
            let (planned, replace) = r.inner.dyn_plan(&mut ctx, meta(r), prior, proposed, config).await;
            diags.extend(std::mem::take(&mut ctx.diagnostics));
            response.planned_state = encode_value(&planned, &r.value_type, &mut diags);
            response.requires_replace = paths(&replace);
            response.planned_private = ctx.private;
        }
        response.diagnostics = diagnostics_in(diags, self.resource_block(&type_name));
        Ok(Response::new(response))
    }

    async fn apply_resource_change(
        &self,
        request: Request<pb::apply_resource_change::Request>,
    ) -> Rpc<pb::apply_resource_change::Response> {
        let request = request.into_inner();
        let type_name = request.type_name.clone();
        let mut diags = Diagnostics::default();
        let mut response = pb::apply_resource_change::Response {
            new_state: request.prior_state.clone(),
            ..Default::default()
        };
        if let Some(r) = self.resource(&request.type_name, &mut diags)
            && let Some(prior) = decode_value(
                request.prior_state.as_ref(),
                &r.value_type,
                "prior state",
                &mut diags,
            )
            && let Some(planned) = decode_value(
                request.planned_state.as_ref(),
                &r.value_type,
                "planned state",
                &mut diags,
            )
            && let Some(config) = decode_value(
                request.config.as_ref(),
                &r.value_type,
                "configuration",
                &mut diags,
            )
            && let Some(mut ctx) = self.context(request.planned_private, &mut diags)
        {
            let new = r.inner.dyn_apply(&mut ctx, meta(r), prior, planned, config).await;
            diags.extend(std::mem::take(&mut ctx.diagnostics));
            if let Some(new) = encode_value(&new, &r.value_type, &mut diags) {
                response.new_state = Some(new);
            }
            response.private = ctx.private;
        }
        response.diagnostics = diagnostics_in(diags, self.resource_block(&type_name));
        Ok(Response::new(response))
    }

    async fn import_resource_state(
        &self,
        request: Request<pb::import_resource_state::Request>,
    ) -> Rpc<pb::import_resource_state::Response> {
        let request = request.into_inner();
        let type_name = request.type_name.clone();
        let mut diags = Diagnostics::default();
        let mut response = pb::import_resource_state::Response::default();
        if let Some(r) = self.resource(&request.type_name, &mut diags)
            && let Some(mut ctx) = self.context(Vec::new(), &mut diags)
        {
            let state = r.inner.dyn_import(&mut ctx, meta(r), request.id).await;
            diags.extend(std::mem::take(&mut ctx.diagnostics));
            if let Some(state) = state.and_then(|s| encode_value(&s, &r.value_type, &mut diags)) {
                response
                    .imported_resources
                    .push(pb::import_resource_state::ImportedResource {
                        type_name: request.type_name,
                        state: Some(state),
                        private: ctx.private,
                    });
            }
        }
        response.diagnostics = diagnostics_in(diags, self.resource_block(&type_name));
        Ok(Response::new(response))
    }

    async fn read_data_source(
        &self,
        request: Request<pb::read_data_source::Request>,
    ) -> Rpc<pb::read_data_source::Response> {
        let request = request.into_inner();
        let type_name = request.type_name.clone();
        let mut diags = Diagnostics::default();
        let mut response = pb::read_data_source::Response::default();
        if let Some(d) = self.data_source(&request.type_name, &mut diags)
            && let Some(config) = decode_value(
                request.config.as_ref(),
                &d.value_type,
                "configuration",
                &mut diags,
            )
            && let Some(mut ctx) = self.context(Vec::new(), &mut diags)
        {
            let state = d.inner.dyn_read(&mut ctx, &d.type_name, config).await;
            diags.extend(std::mem::take(&mut ctx.diagnostics));
            response.state = encode_value(&state, &d.value_type, &mut diags);
        }
        response.diagnostics = diagnostics_in(diags, self.data_source_block(&type_name));
        Ok(Response::new(response))
    }

    async fn stop_provider(
        &self,
        _request: Request<pb::stop_provider::Request>,
    ) -> Rpc<pb::stop_provider::Response> {
        tracing::info!("StopProvider received; cancelling in-flight operations.");
        self.stop.cancel();
        Ok(Response::new(pb::stop_provider::Response {
            error: String::new(),
        }))
    }
}

fn meta<D>(r: &ResourceHandle<D>) -> ResourceMeta<'_> {
    ResourceMeta {
        type_name: &r.type_name,
        schema: &r.schema,
    }
}

fn decode_typed<T: serde::de::DeserializeOwned>(
    diags: &mut Diagnostics,
    what: &str,
    value: Dynamic,
) -> Option<T> {
    from_dynamic(value)
        .map_err(|e| diags.error(format!("Invalid {what}"), format!("Decoding failed: {e}")))
        .ok()
}

/// State from the current schema version is only re-encoded (unknown keys dropped, missing ones null); older
/// versions go through the resource's `upgrade` hook.
async fn upgrade<D: Send + Sync + 'static>(
    r: &ResourceHandle<D>,
    ctx: &mut ValidateContext,
    version: i64,
    json: &[u8],
) -> Option<Dynamic> {
    let current = r.schema.version;
    if version > current {
        ctx.error(
            format!("State of {} is from a newer provider", r.type_name),
            format!("Stored schema version {version} is newer than this provider's {current}; upgrade the provider."),
        );
        return None;
    }
    if version == current {
        return decode_json(json, &r.value_type)
            .map_err(|e| ctx.error(format!("Invalid stored state of {}", r.type_name), e.to_string()))
            .ok();
    }
    let json: serde_json::Value = match serde_json::from_slice(json) {
        Ok(json) => json,
        Err(e) => {
            ctx.error(format!("Invalid stored state of {}", r.type_name), e.to_string());
            return None;
        }
    };
    let raw = RawState {
        json,
        current_type: r.value_type.clone(),
    };
    r.inner.dyn_upgrade(ctx, meta(r), version, raw).await
}

/// go-plugin's controller: `Shutdown` asks the whole process to end.
pub(crate) struct Controller {
    pub(crate) shutdown: CancellationToken,
}

#[tonic::async_trait]
impl plugin::grpc_controller_server::GrpcController for Controller {
    async fn shutdown(&self, _request: Request<plugin::Empty>) -> Rpc<plugin::Empty> {
        tracing::debug!("Shutdown requested by terraform.");
        self.shutdown.cancel();
        Ok(Response::new(plugin::Empty {}))
    }
}

//! Hook contexts: what a provider, resource or data source hook gets besides its values.
//!
//! Every context carries the [`Diagnostics`] collector and a cancellation token (cancelled when terraform sends
//! `StopProvider`, i.e. the user pressed Ctrl-C: long waits should `select!` on it). [`Context`] additionally
//! carries the provider's configured data (its API client) and the resource's opaque private bytes.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::diagnostics::Diagnostics;
use crate::path::AttributePath;

macro_rules! diagnostic_shortcuts {
    ($ty:ident $(<$g:ident>)?) => {
        impl$(<$g>)? $ty$(<$g>)? {
            /// The diagnostics collector.
            pub fn diagnostics(&mut self) -> &mut Diagnostics {
                &mut self.diagnostics
            }

            /// Adds an error about the whole object.
            pub fn error(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
                self.diagnostics.error(summary, detail);
            }

            /// Adds an error about one attribute (terraform shows the config line).
            pub fn error_at(&mut self, path: AttributePath, summary: impl Into<String>, detail: impl Into<String>) {
                self.diagnostics.error_at(path, summary, detail);
            }

            /// Adds a warning about the whole object.
            pub fn warning(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
                self.diagnostics.warning(summary, detail);
            }

            /// Adds a warning about one attribute.
            pub fn warning_at(&mut self, path: AttributePath, summary: impl Into<String>, detail: impl Into<String>) {
                self.diagnostics.warning_at(path, summary, detail);
            }

            /// Whether an error was recorded.
            pub fn has_errors(&self) -> bool {
                self.diagnostics.has_errors()
            }

            /// Cancelled when terraform asks the provider to stop (Ctrl-C).
            pub fn cancellation(&self) -> &CancellationToken {
                &self.cancel
            }
        }
    };
}

/// Context of validation hooks. Validation runs before the provider is configured, so there is no data; config
/// values may be unknown.
#[derive(Debug)]
pub struct ValidateContext {
    pub(crate) diagnostics: Diagnostics,
    pub(crate) cancel: CancellationToken,
}

impl ValidateContext {
    pub(crate) fn new(cancel: CancellationToken) -> Self {
        Self {
            diagnostics: Diagnostics::default(),
            cancel,
        }
    }
}

diagnostic_shortcuts!(ValidateContext);

/// Context of [`Provider::configure`](crate::Provider::configure).
#[derive(Debug)]
pub struct ConfigureContext {
    pub(crate) diagnostics: Diagnostics,
    pub(crate) cancel: CancellationToken,
    pub(crate) terraform_version: String,
}

impl ConfigureContext {
    /// The version of the terraform CLI driving this provider (e.g. `1.11.4`).
    pub fn terraform_version(&self) -> &str {
        &self.terraform_version
    }
}

diagnostic_shortcuts!(ConfigureContext);

/// Context of resource and data source operations after the provider is configured.
#[derive(Debug)]
pub struct Context<D> {
    pub(crate) diagnostics: Diagnostics,
    pub(crate) cancel: CancellationToken,
    pub(crate) data: Arc<D>,
    pub(crate) private: Vec<u8>,
}

impl<D> Context<D> {
    pub(crate) fn new(cancel: CancellationToken, data: Arc<D>, private: Vec<u8>) -> Self {
        Self {
            diagnostics: Diagnostics::default(),
            cancel,
            data,
            private,
        }
    }

    /// The data [`Provider::configure`](crate::Provider::configure) returned (typically the API client).
    pub fn data(&self) -> &D {
        &self.data
    }

    /// The resource's private bytes: opaque to terraform, stored in state beside the attributes and handed back
    /// on the next read/plan/apply. Passed through unchanged unless a hook sets new ones.
    pub fn private(&self) -> &[u8] {
        &self.private
    }

    /// Replaces the private bytes stored with the resource.
    pub fn set_private(&mut self, private: Vec<u8>) {
        self.private = private;
    }
}

diagnostic_shortcuts!(Context<D>);

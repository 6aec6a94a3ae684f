//! Diagnostics: the errors and warnings a provider reports to terraform.
//!
//! Every hook gets a context holding a [`Diagnostics`] collector. Problems the user should see (bad config, an API
//! error) are diagnostics, never gRPC errors: terraform prints a gRPC error as "Plugin did not respond", which helps
//! nobody. Hooks return `Option` for their result, so "what happened" (diagnostics) and "what exists now" (the
//! returned state) stay independent.

use crate::path::AttributePath;
use crate::proto::tfplugin6 as pb;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Fails the operation.
    Error,
    /// Shown to the user; the operation continues.
    Warning,
}

/// One error or warning: a one-line summary, an optional longer detail and an optional attribute path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Short description, e.g. `Error creating item "alpha"`.
    pub summary: String,
    /// Longer explanation, e.g. the error chain.
    pub detail: String,
    /// The attribute the problem is about; terraform then shows the config line.
    pub attribute: Option<AttributePath>,
}

/// A collector of diagnostics, passed to every hook through its context.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Adds a diagnostic.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    /// Adds an error about the whole object.
    pub fn error(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
        self.add(Severity::Error, None, summary.into(), detail.into());
    }

    /// Adds an error about one attribute.
    pub fn error_at(&mut self, path: AttributePath, summary: impl Into<String>, detail: impl Into<String>) {
        self.add(Severity::Error, Some(path), summary.into(), detail.into());
    }

    /// Adds a warning about the whole object.
    pub fn warning(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
        self.add(Severity::Warning, None, summary.into(), detail.into());
    }

    /// Adds a warning about one attribute.
    pub fn warning_at(&mut self, path: AttributePath, summary: impl Into<String>, detail: impl Into<String>) {
        self.add(Severity::Warning, Some(path), summary.into(), detail.into());
    }

    /// Whether any error was recorded.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The diagnostics recorded so far.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    /// Moves all diagnostics of `other` into `self`.
    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    pub(crate) fn into_vec(self) -> Vec<Diagnostic> {
        self.items
    }

    fn add(&mut self, severity: Severity, attribute: Option<AttributePath>, summary: String, detail: String) {
        self.items.push(Diagnostic { severity, summary, detail, attribute });
    }
}

pub(crate) fn to_proto(diagnostic: &Diagnostic) -> pb::Diagnostic {
    let severity = match diagnostic.severity {
        Severity::Error => pb::diagnostic::Severity::Error,
        Severity::Warning => pb::diagnostic::Severity::Warning,
    };
    pb::Diagnostic {
        severity: severity as i32,
        summary: diagnostic.summary.clone(),
        detail: diagnostic.detail.clone(),
        attribute: diagnostic.attribute.as_ref().map(crate::path::to_proto),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proto_encoding_with_path() {
        let mut diags = Diagnostics::default();
        diags.error_at(AttributePath::root("steps").index(0).attr("notify"), "Invalid notify", "use one of ...");
        diags.warning("Deprecated", "");
        let protos: Vec<_> = diags.iter().map(to_proto).collect();
        assert_eq!(protos[0].severity, pb::diagnostic::Severity::Error as i32);
        assert_eq!(protos[0].summary, "Invalid notify");
        assert_eq!(protos[0].attribute.as_ref().unwrap().steps.len(), 3);
        assert_eq!(protos[1].severity, pb::diagnostic::Severity::Warning as i32);
        assert!(protos[1].attribute.is_none());
    }

    #[test]
    fn collects_and_classifies() {
        let mut diags = Diagnostics::default();
        diags.warning("careful", "");
        assert!(!diags.has_errors());
        diags.error_at(AttributePath::root("name"), "bad name", "must not be empty");
        assert!(diags.has_errors());
        assert_eq!(diags.iter().count(), 2);
        let last = diags.into_vec().pop().unwrap();
        assert_eq!(last.attribute.unwrap().to_string(), "name");
    }
}

//! Diagnostics: the errors and warnings a provider reports to terraform.
//!
//! Every hook gets a context holding a [`Diagnostics`] collector. Problems the user should see (bad config, an API
//! error) are diagnostics, never gRPC errors: terraform prints a gRPC error as "Plugin did not respond", which helps
//! nobody. Hooks return `Option` for their result, so "what happened" (diagnostics) and "what exists now" (the
//! returned state) stay independent.

use crate::path::{AttributePath, Step};
use crate::proto::tfplugin6 as pb;
use crate::schema::{AttributeKind, Block};

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
        self.items.push(Diagnostic {
            severity,
            summary,
            detail,
            attribute,
        });
    }
}

/// Shortens attribute paths that go inside nested attributes to what terraform can map onto the source.
///
/// Terraform locates a path in the configuration by walking nested *blocks*; a path continuing inside a nested
/// *attribute* (`steps[0].notify` where `steps = [{ notify = ... }]`) is not found, and terraform falls back to
/// the resource's header line. Cut after the element (`steps[0]`, which terraform does locate: the `{ ... }`
/// element) and keep the full path in the detail so the user still learns which attribute is wrong.
pub(crate) fn fit_paths_to_source(diags: Diagnostics, block: Option<&Block>) -> Diagnostics {
    let Some(block) = block else { return diags };
    let items = diags
        .items
        .into_iter()
        .map(|mut d| {
            if let Some(path) = &d.attribute
                && let Some(short) = locatable_prefix(path, block)
            {
                d.detail = if d.detail.is_empty() {
                    format!("Attribute: {path}")
                } else {
                    format!("{}\n\nAttribute: {path}", d.detail)
                };
                d.attribute = Some(short);
            }
            d
        })
        .collect();
    Diagnostics { items }
}

/// The prefix of `path` terraform can locate, when shorter than `path`.
fn locatable_prefix(path: &AttributePath, block: &Block) -> Option<AttributePath> {
    let steps = path.steps();
    let mut block = block;
    let mut i = 0;
    while let Some(Step::Attribute(name)) = steps.get(i) {
        if let Some(nested) = block.blocks.iter().find(|b| &b.type_name == name) {
            // Terraform walks into nested blocks: skip the element key and continue inside.
            block = &nested.block;
            i += if matches!(steps.get(i + 1), Some(Step::Index(_) | Step::Key(_))) {
                2
            } else {
                1
            };
            continue;
        }
        let attr = block.attributes.iter().find(|a| &a.name == name)?;
        if !matches!(attr.kind, AttributeKind::Nested(..)) {
            return None;
        }
        let keep = if matches!(steps.get(i + 1), Some(Step::Index(_) | Step::Key(_))) {
            i + 2
        } else {
            i + 1
        };
        return (keep < steps.len()).then(|| AttributePath::from_steps(steps[..keep].to_vec()));
    }
    None
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
    fn paths_inside_nested_attributes_are_cut_at_the_element() {
        use crate::schema::{Attribute, Mode, NestedBlock, Nesting};
        use crate::types::Type;
        let block = Block::new()
            .attribute(Attribute::nested(
                "steps",
                Nesting::List,
                vec![Attribute::required("notify", Type::String)],
                Mode::Optional,
            ))
            .attribute(Attribute::optional("tags", Type::list(Type::String)))
            .block(NestedBlock::new(
                "rule",
                Nesting::List,
                Block::new().attribute(Attribute::optional("x", Type::String)),
            ));
        let mut diags = Diagnostics::default();
        diags.error_at(AttributePath::root("steps").index(1).attr("notify"), "bad", "why");
        diags.error_at(AttributePath::root("tags").index(0), "bad tag", "");
        diags.error_at(AttributePath::root("rule").index(0).attr("x"), "bad x", "");
        let fitted = fit_paths_to_source(diags, Some(&block)).into_vec();
        assert_eq!(fitted[0].attribute.as_ref().unwrap().to_string(), "steps[1]");
        assert_eq!(fitted[0].detail, "why\n\nAttribute: steps[1].notify");
        assert_eq!(fitted[1].attribute.as_ref().unwrap().to_string(), "tags[0]");
        assert_eq!(fitted[2].attribute.as_ref().unwrap().to_string(), "rule[0].x");
    }

    #[test]
    fn proto_encoding_with_path() {
        let mut diags = Diagnostics::default();
        diags.error_at(
            AttributePath::root("steps").index(0).attr("notify"),
            "Invalid notify",
            "use one of ...",
        );
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

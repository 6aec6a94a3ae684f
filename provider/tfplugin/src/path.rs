//! Attribute paths: where in a configuration or state a diagnostic or a forced replacement points.
//!
//! Terraform maps a path onto the configuration source and prints the offending line, so config errors should
//! always carry one. A path is a list of steps from the root object: attribute names (also nested block type
//! names) and element keys (list/tuple indexes, map keys).

use std::fmt;

use crate::proto::tfplugin6 as pb;

/// One step of an [`AttributePath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Step {
    /// An attribute or nested block type name.
    Attribute(String),
    /// A map key (or a string key of a map-nested block).
    Key(String),
    /// A list or tuple index (sets have no addressable elements; stop the path at the set).
    Index(i64),
}

/// A path to an attribute, built from the root: `AttributePath::root("steps").index(1).attr("user")`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AttributePath {
    steps: Vec<Step>,
}

impl AttributePath {
    /// The path of a top-level attribute or nested block type.
    pub fn root(name: impl Into<String>) -> Self {
        Self {
            steps: vec![Step::Attribute(name.into())],
        }
    }

    /// The empty path: the whole object (a diagnostic without a path points at the resource block).
    pub fn empty() -> Self {
        Self::default()
    }

    /// Appends an attribute step.
    #[must_use]
    pub fn attr(mut self, name: impl Into<String>) -> Self {
        self.steps.push(Step::Attribute(name.into()));
        self
    }

    /// Appends a list/tuple index step.
    #[must_use]
    pub fn index(mut self, index: usize) -> Self {
        // Lists never get near i64::MAX elements; saturate rather than panic.
        self.steps
            .push(Step::Index(i64::try_from(index).unwrap_or(i64::MAX)));
        self
    }

    /// Appends a map key step.
    #[must_use]
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.steps.push(Step::Key(key.into()));
        self
    }

    /// The steps, root first.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Whether the path has no steps.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    pub(crate) fn from_steps(steps: Vec<Step>) -> Self {
        Self { steps }
    }
}

/// Renders like terraform's own addressing: `steps[1].user`, `tags["env"]`.
impl fmt::Display for AttributePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.steps.iter().enumerate() {
            match step {
                Step::Attribute(name) if i == 0 => write!(f, "{name}")?,
                Step::Attribute(name) => write!(f, ".{name}")?,
                Step::Key(key) => write!(f, "[{key:?}]")?,
                Step::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

pub(crate) fn to_proto(path: &AttributePath) -> pb::AttributePath {
    use pb::attribute_path::step::Selector;
    let steps = path
        .steps
        .iter()
        .map(|step| pb::attribute_path::Step {
            selector: Some(match step {
                Step::Attribute(name) => Selector::AttributeName(name.clone()),
                Step::Key(key) => Selector::ElementKeyString(key.clone()),
                Step::Index(index) => Selector::ElementKeyInt(*index),
            }),
        })
        .collect();
    pb::AttributePath { steps }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proto_steps() {
        use pb::attribute_path::step::Selector;
        let proto = to_proto(&AttributePath::root("steps").index(1).attr("user").key("k"));
        let selectors: Vec<_> = proto.steps.into_iter().map(|s| s.selector.unwrap()).collect();
        assert_eq!(
            selectors,
            vec![
                Selector::AttributeName("steps".into()),
                Selector::ElementKeyInt(1),
                Selector::AttributeName("user".into()),
                Selector::ElementKeyString("k".into()),
            ]
        );
    }

    #[test]
    fn builder_and_display() {
        let path = AttributePath::root("steps").index(1).attr("user");
        assert_eq!(path.to_string(), "steps[1].user");
        assert_eq!(
            path.steps(),
            &[
                Step::Attribute("steps".into()),
                Step::Index(1),
                Step::Attribute("user".into())
            ]
        );
        assert_eq!(
            AttributePath::root("tags").key("env").to_string(),
            "tags[\"env\"]"
        );
        assert!(AttributePath::empty().is_empty());
    }
}

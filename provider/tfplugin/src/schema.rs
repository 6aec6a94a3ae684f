//! Schemas: the shape of a provider's configuration, a resource's state or a data source's result.
//!
//! A schema is a [`Block`] of [`Attribute`]s (each with a cty [`Type`] or nested attributes) and
//! [`NestedBlock`]s, plus a version that terraform stores with each resource instance (bump it and implement
//! `upgrade` to migrate old state). Descriptions are the user documentation (markdown).
//!
//! ```
//! use tfplugin::{Attribute, Block, Schema, Type};
//! let schema = Schema::new(
//!     Block::new()
//!         .description("An item.")
//!         .attribute(Attribute::computed("id", Type::String).description("Identifier."))
//!         .attribute(Attribute::required("name", Type::String).description("Name."))
//!         .attribute(Attribute::optional("tags", Type::list(Type::String))),
//! );
//! assert_eq!(schema.version, 0);
//! ```

use crate::proto::tfplugin6 as pb;
use crate::types::Type;

/// A versioned schema.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schema {
    /// State schema version; terraform passes the stored version to `upgrade`.
    pub version: i64,
    /// The root block.
    pub block: Block,
}

impl Schema {
    /// A version-0 schema.
    pub fn new(block: Block) -> Self {
        Self { version: 0, block }
    }

    /// Sets the schema version.
    #[must_use]
    pub fn version(mut self, version: i64) -> Self {
        self.version = version;
        self
    }

    pub(crate) fn to_proto(&self) -> pb::Schema {
        pb::Schema {
            version: self.version,
            block: Some(self.block.to_proto()),
        }
    }
}

/// Whether a description is plain text or markdown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DescriptionKind {
    /// Plain text.
    Plain,
    /// Markdown (the default: registry docs render it).
    #[default]
    Markdown,
}

/// A block: attributes and nested blocks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Block {
    /// Attributes, in declaration order.
    pub attributes: Vec<Attribute>,
    /// Nested block types.
    pub blocks: Vec<NestedBlock>,
    /// Documentation.
    pub description: String,
    /// How `description` is formatted.
    pub description_kind: DescriptionKind,
    /// Marks the whole block deprecated.
    pub deprecated: bool,
}

impl Block {
    /// An empty block.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an attribute.
    #[must_use]
    pub fn attribute(mut self, attribute: Attribute) -> Self {
        self.attributes.push(attribute);
        self
    }

    /// Adds a nested block type.
    #[must_use]
    pub fn block(mut self, block: NestedBlock) -> Self {
        self.blocks.push(block);
        self
    }

    /// Sets the (markdown) description.
    #[must_use]
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }

    /// Marks the block deprecated.
    #[must_use]
    pub fn deprecated(mut self) -> Self {
        self.deprecated = true;
        self
    }

    /// The object type of this block's value: one attribute per attribute and per nested block type.
    pub fn value_type(&self) -> Type {
        let attrs = self.attributes.iter().map(|a| (a.name.clone(), a.value_type()));
        let blocks = self.blocks.iter().map(|b| (b.type_name.clone(), b.value_type()));
        Type::Object(attrs.chain(blocks).collect())
    }

    fn to_proto(&self) -> pb::schema::Block {
        pb::schema::Block {
            version: 0,
            attributes: self.attributes.iter().map(Attribute::to_proto).collect(),
            block_types: self.blocks.iter().map(NestedBlock::to_proto).collect(),
            description: self.description.clone(),
            description_kind: kind_to_proto(self.description_kind),
            deprecated: self.deprecated,
        }
    }
}

/// Who sets an attribute: the user, the provider, or either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The user must set it.
    Required,
    /// The user may set it; null when not set.
    Optional,
    /// Only the provider sets it.
    Computed,
    /// The user may set it; when not set, the provider decides (e.g. a server-side default).
    OptionalComputed,
}

impl Mode {
    /// Whether the provider may choose the value (when the config is null).
    pub fn is_computed(self) -> bool {
        matches!(self, Mode::Computed | Mode::OptionalComputed)
    }
}

/// What an attribute holds: a value of a cty type, or nested attributes (protocol 6 nested types).
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeKind {
    /// A plain typed value.
    Type(Type),
    /// Nested attributes with a nesting mode.
    Nested(Nesting, Vec<Attribute>),
}

/// How nested blocks or nested attributes repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nesting {
    /// One object (null when absent).
    Single,
    /// Ordered list of objects.
    List,
    /// Set of objects.
    Set,
    /// Map of label to object.
    Map,
    /// Like `Single`, but never null (nested blocks only).
    Group,
}

/// An attribute of a block.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    /// Name as written in configuration.
    pub name: String,
    /// Type or nested attributes.
    pub kind: AttributeKind,
    /// Required, optional, computed or both.
    pub mode: Mode,
    /// Documentation.
    pub description: String,
    /// How `description` is formatted.
    pub description_kind: DescriptionKind,
    /// Hidden in plan output.
    pub sensitive: bool,
    /// Shown as deprecated.
    pub deprecated: bool,
    /// A change of this attribute forces replacement (the adapter adds it to `requires_replace` when the planned
    /// value differs from the prior one). Not sent to terraform: replacement is decided at plan time.
    pub requires_replace: bool,
}

impl Attribute {
    fn new(name: impl Into<String>, kind: AttributeKind, mode: Mode) -> Self {
        Self {
            name: name.into(),
            kind,
            mode,
            description: String::new(),
            description_kind: DescriptionKind::Markdown,
            sensitive: false,
            deprecated: false,
            requires_replace: false,
        }
    }

    /// A required attribute.
    pub fn required(name: impl Into<String>, ty: Type) -> Self {
        Self::new(name, AttributeKind::Type(ty), Mode::Required)
    }

    /// An optional attribute (null when not set).
    pub fn optional(name: impl Into<String>, ty: Type) -> Self {
        Self::new(name, AttributeKind::Type(ty), Mode::Optional)
    }

    /// A computed (provider-set) attribute.
    pub fn computed(name: impl Into<String>, ty: Type) -> Self {
        Self::new(name, AttributeKind::Type(ty), Mode::Computed)
    }

    /// An optional attribute whose value the provider decides when the user leaves it out.
    pub fn optional_computed(name: impl Into<String>, ty: Type) -> Self {
        Self::new(name, AttributeKind::Type(ty), Mode::OptionalComputed)
    }

    /// An attribute holding nested attributes (`steps = [{ notify = "x" }]`).
    pub fn nested(name: impl Into<String>, nesting: Nesting, attributes: Vec<Attribute>, mode: Mode) -> Self {
        Self::new(name, AttributeKind::Nested(nesting, attributes), mode)
    }

    /// Sets the (markdown) description.
    #[must_use]
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }

    /// Marks the attribute sensitive.
    #[must_use]
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }

    /// Marks the attribute deprecated.
    #[must_use]
    pub fn deprecated(mut self) -> Self {
        self.deprecated = true;
        self
    }

    /// A change of this attribute replaces the object instead of updating it in place.
    #[must_use]
    pub fn requires_replace(mut self) -> Self {
        self.requires_replace = true;
        self
    }

    /// The cty type of this attribute's value.
    pub fn value_type(&self) -> Type {
        match &self.kind {
            AttributeKind::Type(ty) => ty.clone(),
            AttributeKind::Nested(nesting, attrs) => {
                let object = Type::Object(attrs.iter().map(|a| (a.name.clone(), a.value_type())).collect());
                nest(*nesting, object)
            }
        }
    }

    fn to_proto(&self) -> pb::schema::Attribute {
        let (ty, nested_type) = match &self.kind {
            AttributeKind::Type(ty) => (ty.to_json_bytes(), None),
            AttributeKind::Nested(nesting, attrs) => {
                use pb::schema::object::NestingMode as N;
                let nesting = match nesting {
                    Nesting::Single | Nesting::Group => N::Single,
                    Nesting::List => N::List,
                    Nesting::Set => N::Set,
                    Nesting::Map => N::Map,
                };
                let object = pb::schema::Object {
                    attributes: attrs.iter().map(Attribute::to_proto).collect(),
                    nesting: nesting as i32,
                    min_items: 0,
                    max_items: 0,
                };
                (Vec::new(), Some(object))
            }
        };
        pb::schema::Attribute {
            name: self.name.clone(),
            r#type: ty,
            nested_type,
            description: self.description.clone(),
            required: self.mode == Mode::Required,
            optional: matches!(self.mode, Mode::Optional | Mode::OptionalComputed),
            computed: self.mode.is_computed(),
            sensitive: self.sensitive,
            description_kind: kind_to_proto(self.description_kind),
            deprecated: self.deprecated,
            write_only: false,
        }
    }
}

/// A nested block type (`step { ... }` repeated in configuration).
#[derive(Debug, Clone, PartialEq)]
pub struct NestedBlock {
    /// Block type name as written in configuration.
    pub type_name: String,
    /// Contents of each block.
    pub block: Block,
    /// How the blocks repeat.
    pub nesting: Nesting,
    /// Minimum number of blocks (0 = no minimum).
    pub min_items: i64,
    /// Maximum number of blocks (0 = no maximum).
    pub max_items: i64,
}

impl NestedBlock {
    /// A nested block type.
    pub fn new(type_name: impl Into<String>, nesting: Nesting, block: Block) -> Self {
        Self {
            type_name: type_name.into(),
            block,
            nesting,
            min_items: 0,
            max_items: 0,
        }
    }

    /// Sets item count bounds (0 = unbounded).
    #[must_use]
    pub fn items(mut self, min: i64, max: i64) -> Self {
        self.min_items = min;
        self.max_items = max;
        self
    }

    /// The cty type of the blocks' value.
    pub fn value_type(&self) -> Type {
        nest(self.nesting, self.block.value_type())
    }

    fn to_proto(&self) -> pb::schema::NestedBlock {
        use pb::schema::nested_block::NestingMode as N;
        let nesting = match self.nesting {
            Nesting::Single => N::Single,
            Nesting::List => N::List,
            Nesting::Set => N::Set,
            Nesting::Map => N::Map,
            Nesting::Group => N::Group,
        };
        pb::schema::NestedBlock {
            type_name: self.type_name.clone(),
            block: Some(self.block.to_proto()),
            nesting: nesting as i32,
            min_items: self.min_items,
            max_items: self.max_items,
        }
    }
}

fn nest(nesting: Nesting, object: Type) -> Type {
    match nesting {
        Nesting::Single | Nesting::Group => object,
        Nesting::List => Type::list(object),
        Nesting::Set => Type::set(object),
        Nesting::Map => Type::map(object),
    }
}

fn kind_to_proto(kind: DescriptionKind) -> i32 {
    match kind {
        DescriptionKind::Plain => pb::StringKind::Plain as i32,
        DescriptionKind::Markdown => pb::StringKind::Markdown as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Block {
        Block::new()
            .attribute(Attribute::computed("id", Type::String))
            .attribute(Attribute::required("name", Type::String).sensitive())
            .attribute(Attribute::nested(
                "steps",
                Nesting::List,
                vec![Attribute::required("notify", Type::String)],
                Mode::Optional,
            ))
            .block(NestedBlock::new(
                "aws",
                Nesting::Single,
                Block::new().attribute(Attribute::optional("region", Type::String)),
            ))
    }

    #[test]
    fn value_type_covers_attributes_and_blocks() {
        let ty = sample().value_type();
        assert_eq!(
            ty,
            Type::object([
                ("id", Type::String),
                ("name", Type::String),
                ("steps", Type::list(Type::object([("notify", Type::String)]))),
                ("aws", Type::object([("region", Type::String)])),
            ])
        );
    }

    #[test]
    fn proto_flags_and_nested_type() {
        let block = sample().to_proto();
        let id = &block.attributes[0];
        assert!(id.computed && !id.optional && !id.required);
        assert_eq!(id.r#type, b"\"string\"");
        let name = &block.attributes[1];
        assert!(name.required && name.sensitive);
        let steps = &block.attributes[2];
        assert!(
            steps.r#type.is_empty(),
            "an attribute has exactly one of type or nested_type"
        );
        assert_eq!(
            steps.nested_type.as_ref().unwrap().nesting,
            pb::schema::object::NestingMode::List as i32
        );
        assert_eq!(
            block.block_types[0].nesting,
            pb::schema::nested_block::NestingMode::Single as i32
        );
        assert_eq!(id.description_kind, pb::StringKind::Markdown as i32);
    }
}

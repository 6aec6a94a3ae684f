//! cty types: the type system of terraform values.
//!
//! A schema attribute carries its type as compact JSON (`"string"`, `["list","string"]`,
//! `["object",{"a":"number"}]`), and a value of the dynamic pseudo-type carries its concrete type the same way on
//! the wire. Encoding values is type-directed (sets vs lists, maps vs objects, dynamic wrappers), so every value
//! codec in this crate takes a [`Type`].

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

/// A cty type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Type {
    /// UTF-8 string.
    String,
    /// Arbitrary-precision number (integers and floats).
    Number,
    /// Boolean.
    Bool,
    /// The dynamic pseudo-type: any type, decided per value (carried on the wire beside the value).
    Dynamic,
    /// Ordered list of one element type.
    List(Box<Type>),
    /// Unordered set of one element type.
    Set(Box<Type>),
    /// Map from string keys to one element type.
    Map(Box<Type>),
    /// Object with named attributes of fixed types.
    Object(BTreeMap<String, Type>),
    /// Fixed-length sequence of element types.
    Tuple(Vec<Type>),
}

/// The type JSON was not a cty type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cty type JSON: {0}")]
pub struct TypeError(String);

impl Type {
    /// `list(elem)`.
    pub fn list(elem: Type) -> Self {
        Self::List(Box::new(elem))
    }

    /// `set(elem)`.
    pub fn set(elem: Type) -> Self {
        Self::Set(Box::new(elem))
    }

    /// `map(elem)`.
    pub fn map(elem: Type) -> Self {
        Self::Map(Box::new(elem))
    }

    /// `object({...})` from `(name, type)` pairs.
    pub fn object<K: Into<String>>(attrs: impl IntoIterator<Item = (K, Type)>) -> Self {
        Self::Object(attrs.into_iter().map(|(k, t)| (k.into(), t)).collect())
    }

    /// The cty JSON form, as terraform expects it in `Attribute.type` and in dynamic values.
    pub fn to_json(&self) -> Json {
        match self {
            Type::String => json!("string"),
            Type::Number => json!("number"),
            Type::Bool => json!("bool"),
            Type::Dynamic => json!("dynamic"),
            Type::List(t) => json!(["list", t.to_json()]),
            Type::Set(t) => json!(["set", t.to_json()]),
            Type::Map(t) => json!(["map", t.to_json()]),
            Type::Object(attrs) => {
                let attrs: serde_json::Map<String, Json> =
                    attrs.iter().map(|(k, t)| (k.clone(), t.to_json())).collect();
                json!(["object", attrs])
            }
            Type::Tuple(elems) => json!(["tuple", elems.iter().map(Type::to_json).collect::<Vec<_>>()]),
        }
    }

    /// Compact JSON bytes (the string type is the 8 bytes `"string"`, quotes included).
    pub fn to_json_bytes(&self) -> Vec<u8> {
        self.to_json().to_string().into_bytes()
    }

    /// Parses the cty JSON form. Object optional-attribute markers (third element) are accepted and ignored.
    pub fn from_json(json: &Json) -> Result<Self, TypeError> {
        let bad = || TypeError(json.to_string());
        match json {
            Json::String(s) => match s.as_str() {
                "string" => Ok(Type::String),
                "number" => Ok(Type::Number),
                "bool" => Ok(Type::Bool),
                "dynamic" => Ok(Type::Dynamic),
                _ => Err(bad()),
            },
            Json::Array(items) => {
                let kind = items.first().and_then(Json::as_str).ok_or_else(bad)?;
                let arg = items.get(1).ok_or_else(bad)?;
                match kind {
                    "list" => Ok(Type::list(Type::from_json(arg)?)),
                    "set" => Ok(Type::set(Type::from_json(arg)?)),
                    "map" => Ok(Type::map(Type::from_json(arg)?)),
                    "object" => {
                        let attrs = arg.as_object().ok_or_else(bad)?;
                        let attrs = attrs
                            .iter()
                            .map(|(k, v)| Ok((k.clone(), Type::from_json(v)?)))
                            .collect::<Result<_, TypeError>>()?;
                        Ok(Type::Object(attrs))
                    }
                    "tuple" => {
                        let elems = arg.as_array().ok_or_else(bad)?;
                        Ok(Type::Tuple(
                            elems.iter().map(Type::from_json).collect::<Result<_, _>>()?,
                        ))
                    }
                    _ => Err(bad()),
                }
            }
            _ => Err(bad()),
        }
    }

    /// Parses cty JSON bytes.
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Self, TypeError> {
        let json: Json = serde_json::from_slice(bytes)
            .map_err(|e| TypeError(format!("{e}: {}", String::from_utf8_lossy(bytes))))?;
        Self::from_json(&json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitive_json_includes_quotes() {
        assert_eq!(Type::String.to_json_bytes(), b"\"string\"");
        assert_eq!(Type::Dynamic.to_json_bytes(), b"\"dynamic\"");
    }

    #[test]
    fn nested_json_round_trips() {
        let ty = Type::list(Type::object([
            ("notify", Type::String),
            ("after", Type::Number),
            ("tags", Type::set(Type::String)),
            ("meta", Type::map(Type::Bool)),
            ("pair", Type::Tuple(vec![Type::String, Type::Dynamic])),
        ]));
        let bytes = ty.to_json_bytes();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            r#"["list",["object",{"after":"number","meta":["map","bool"],"notify":"string","pair":["tuple",["string","dynamic"]],"tags":["set","string"]}]]"#
        );
        assert_eq!(Type::from_json_bytes(&bytes).unwrap(), ty);
    }

    #[test]
    fn optional_attribute_marker_is_accepted() {
        let ty = Type::from_json_bytes(br#"["object",{"a":"string"},["a"]]"#).unwrap();
        assert_eq!(ty, Type::object([("a", Type::String)]));
        assert!(Type::from_json_bytes(br#""float""#).is_err());
        assert!(Type::from_json_bytes(br#"["list"]"#).is_err());
    }
}

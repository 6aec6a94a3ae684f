//! The dynamic value: terraform's values as the crate handles them between the wire and typed state.
//!
//! A [`Dynamic`] is untyped (the [`Type`](crate::Type) travels beside it): null, unknown, or a known primitive,
//! list (lists, sets and tuples) or map (maps and objects). The wire codecs in `raw` turn msgpack/JSON into it
//! and back, and the serde layer (`ser`/`de`) turns it into a resource's typed state and back, so unknown values
//! survive the whole round trip.

use std::collections::BTreeMap;
use std::fmt;

use crate::path::AttributePath;

/// A terraform value without its type.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Dynamic {
    /// Null: not set.
    #[default]
    Null,
    /// Not known until apply (only in config, proposed and planned values).
    Unknown,
    /// A boolean.
    Bool(bool),
    /// A number.
    Number(Number),
    /// A string.
    String(String),
    /// A list, set or tuple.
    List(Vec<Dynamic>),
    /// A map or object.
    Map(BTreeMap<String, Dynamic>),
}

/// A number as it appeared on the wire: msgpack carries integers, floats, or decimal strings for numbers beyond
/// 64 bits. Equality is numeric (`Int(2) == Float(2.0)`), as terraform has a single number type.
#[derive(Debug, Clone)]
pub enum Number {
    /// Signed integer.
    Int(i64),
    /// Unsigned integer above `i64::MAX`.
    UInt(u64),
    /// Floating point.
    Float(f64),
    /// Decimal text (arbitrary precision).
    Decimal(String),
}

impl Number {
    fn as_f64(&self) -> Option<f64> {
        match self {
            Number::Int(i) => Some(*i as f64),
            Number::UInt(u) => Some(*u as f64),
            Number::Float(f) => Some(*f),
            Number::Decimal(s) => s.parse().ok(),
        }
    }

    fn as_i128(&self) -> Option<i128> {
        match self {
            Number::Int(i) => Some(i128::from(*i)),
            Number::UInt(u) => Some(i128::from(*u)),
            Number::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i128),
            Number::Float(_) => None,
            Number::Decimal(s) => s.parse().ok(),
        }
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Number::Decimal(a), Number::Decimal(b)) if a == b => true,
            _ => match (self.as_i128(), other.as_i128()) {
                (Some(a), Some(b)) => a == b,
                _ => self.as_f64().is_some_and(|a| other.as_f64() == Some(a)),
            },
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(n) => write!(f, "{n}"),
            Number::UInt(n) => write!(f, "{n}"),
            Number::Float(n) => write!(f, "{n}"),
            Number::Decimal(s) => f.write_str(s),
        }
    }
}

impl Dynamic {
    /// Whether the value is null.
    pub fn is_null(&self) -> bool {
        matches!(self, Dynamic::Null)
    }

    /// Whether the value itself is unknown (not looking inside collections).
    pub fn is_unknown(&self) -> bool {
        matches!(self, Dynamic::Unknown)
    }

    /// The attribute `name` of an object value (null when absent or when `self` is not a map).
    pub fn attr(&self, name: &str) -> &Dynamic {
        const NULL: Dynamic = Dynamic::Null;
        match self {
            Dynamic::Map(map) => map.get(name).unwrap_or(&NULL),
            _ => &NULL,
        }
    }

    /// The path of the first unknown value inside `self`, if any (wholly known values have none).
    pub fn first_unknown(&self) -> Option<AttributePath> {
        fn walk(value: &Dynamic, path: &mut Vec<crate::path::Step>) -> bool {
            match value {
                Dynamic::Unknown => true,
                Dynamic::List(items) => items.iter().enumerate().any(|(i, item)| {
                    path.push(crate::path::Step::Index(i64::try_from(i).unwrap_or(i64::MAX)));
                    let found = walk(item, path);
                    if !found {
                        path.pop();
                    }
                    found
                }),
                Dynamic::Map(map) => map.iter().any(|(k, item)| {
                    // At the top level keys are attribute names; deeper, they may be map keys, but an attribute
                    // step renders and maps onto config the same way for objects, which is the common case.
                    path.push(crate::path::Step::Attribute(k.clone()));
                    let found = walk(item, path);
                    if !found {
                        path.pop();
                    }
                    found
                }),
                _ => false,
            }
        }
        let mut steps = Vec::new();
        walk(self, &mut steps).then(|| AttributePath::from_steps(steps))
    }

    /// Whether `self` contains no unknown value at any depth.
    pub fn is_wholly_known(&self) -> bool {
        self.first_unknown().is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_numerically() {
        assert_eq!(Number::Int(2), Number::Float(2.0));
        assert_eq!(Number::UInt(u64::MAX), Number::Decimal(u64::MAX.to_string()));
        assert_ne!(Number::Int(2), Number::Float(2.5));
        assert_eq!(Number::Float(0.1), Number::Decimal("0.1".into()));
    }

    #[test]
    fn finds_nested_unknown() {
        let mut step = BTreeMap::new();
        step.insert("user".to_string(), Dynamic::Unknown);
        let mut root = BTreeMap::new();
        root.insert("id".to_string(), Dynamic::String("x".into()));
        root.insert(
            "steps".to_string(),
            Dynamic::List(vec![Dynamic::Map(BTreeMap::new()), Dynamic::Map(step)]),
        );
        let value = Dynamic::Map(root);
        assert_eq!(value.first_unknown().unwrap().to_string(), "steps[1].user");
        assert_eq!(value.attr("id"), &Dynamic::String("x".into()));
        assert!(value.attr("missing").is_null());
        assert!(Dynamic::String("a".into()).is_wholly_known());
    }
}

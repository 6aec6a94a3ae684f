//! `Value<T>`: terraform's tri-state value (known, null, unknown) for typed state.
//!
//! A resource declares its state as a plain serde struct whose fields are `Value<T>`:
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use tfplugin::Value;
//!
//! #[derive(Serialize, Deserialize)]
//! struct ItemState {
//!     id: Value<String>,
//!     name: Value<String>,
//!     tags: Value<Vec<Value<String>>>,
//! }
//! ```
//!
//! `Known` is a set value, `Null` an unset one, `Unknown` a value terraform will only know after apply (it
//! appears in config, proposed and planned values, never in state read back from the remote system). Plain
//! fields (`String`, `Option<String>`) work too where a value can never be unknown; an unknown reaching them is a
//! decoding error.

use std::ops::Deref;

use serde::de::{Deserialize, Deserializer, Visitor};
use serde::ser::{Serialize, Serializer};

/// Unit-struct name `Value::Unknown` serializes as; the crate's serializer maps it to an unknown value.
pub(crate) const UNKNOWN_MARKER: &str = "$tfplugin::Unknown";
/// Newtype-struct name `Value<T>` deserializes through; the crate's deserializer then reports unknowns.
pub(crate) const VALUE_MARKER: &str = "$tfplugin::Value";

/// A terraform value: known, null or unknown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Value<T> {
    /// A known value.
    Known(T),
    /// Null: not set.
    #[default]
    Null,
    /// Unknown until apply.
    Unknown,
}

impl<T> Value<T> {
    /// Whether the value is known (not null, not unknown).
    pub fn is_known(&self) -> bool {
        matches!(self, Value::Known(_))
    }

    /// Whether the value is null.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Whether the value is unknown.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown)
    }

    /// Borrows the content: `Value<&T>`.
    pub fn as_ref(&self) -> Value<&T> {
        match self {
            Value::Known(v) => Value::Known(v),
            Value::Null => Value::Null,
            Value::Unknown => Value::Unknown,
        }
    }

    /// Borrows the content mutably.
    pub fn as_mut(&mut self) -> Value<&mut T> {
        match self {
            Value::Known(v) => Value::Known(v),
            Value::Null => Value::Null,
            Value::Unknown => Value::Unknown,
        }
    }

    /// Borrows through `Deref`: `Value<String>` → `Value<&str>`.
    pub fn as_deref(&self) -> Value<&T::Target>
    where
        T: Deref,
    {
        self.as_ref().map(|v| &**v)
    }

    /// The known value, if any (null and unknown are both `None`).
    pub fn known(self) -> Option<T> {
        match self {
            Value::Known(v) => Some(v),
            _ => None,
        }
    }

    /// Maps a known value, keeping null and unknown.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Value<U> {
        match self {
            Value::Known(v) => Value::Known(f(v)),
            Value::Null => Value::Null,
            Value::Unknown => Value::Unknown,
        }
    }

    /// The known value, or `default` for null and unknown.
    pub fn unwrap_or(self, default: T) -> T {
        self.known().unwrap_or(default)
    }

    /// The known value, or computes one for null and unknown.
    pub fn unwrap_or_else(self, f: impl FnOnce() -> T) -> T {
        self.known().unwrap_or_else(f)
    }

    /// The known value, or `T::default()` for null and unknown.
    pub fn unwrap_or_default(self) -> T
    where
        T: Default,
    {
        self.known().unwrap_or_default()
    }

    /// `self` unless it is null, then `other` (unknown stays unknown: it may become a value).
    #[must_use]
    pub fn or(self, other: Value<T>) -> Value<T> {
        match self {
            Value::Null => other,
            v => v,
        }
    }

    /// Null becomes unknown: how a plan says "the provider will decide this computed value at apply".
    #[must_use]
    pub fn null_to_unknown(self) -> Value<T> {
        self.or(Value::Unknown)
    }
}

impl<T> From<T> for Value<T> {
    fn from(value: T) -> Self {
        Value::Known(value)
    }
}

impl<T> From<Option<T>> for Value<T> {
    fn from(value: Option<T>) -> Self {
        value.map_or(Value::Null, Value::Known)
    }
}

impl<T: Serialize> Serialize for Value<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Known(v) => serializer.serialize_some(v),
            Value::Null => serializer.serialize_none(),
            // Outside this crate's serializer this is a unit, i.e. JSON null.
            Value::Unknown => serializer.serialize_unit_struct(UNKNOWN_MARKER),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Value<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor<T>(std::marker::PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for ValueVisitor<T> {
            type Value = Value<T>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a terraform value (known, null or unknown)")
            }

            // The crate's deserializer: unknown.
            fn visit_unit<E: serde::de::Error>(self) -> Result<Value<T>, E> {
                Ok(Value::Unknown)
            }

            fn visit_none<E: serde::de::Error>(self) -> Result<Value<T>, E> {
                Ok(Value::Null)
            }

            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value<T>, D::Error> {
                T::deserialize(d).map(Value::Known)
            }

            // Any other deserializer (e.g. serde_json): no unknowns, null or a value.
            fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value<T>, D::Error> {
                Option::<T>::deserialize(d).map(Value::from)
            }
        }

        deserializer.deserialize_newtype_struct(VALUE_MARKER, ValueVisitor(std::marker::PhantomData))
    }
}

#[cfg(test)]
#[path = "value_tests.rs"]
mod tests;

//! serde Deserializer over a [`Dynamic`]: the crate's dynamic value to typed state.
//!
//! [`Value<T>`](crate::Value) asks for a newtype struct with a private marker name; this deserializer answers
//! unknown with `visit_unit`, null with `visit_none` and anything else with `visit_some`, so `Value<T>` sees all
//! three states. Everything else deserializes as from JSON, except that an unknown reaching a plain field is an
//! error telling the author to use `Value<T>` there.

use std::collections::btree_map;

use serde::de::value::StringDeserializer;
use serde::de::{self, DeserializeOwned, Deserializer as _, IntoDeserializer, Visitor};

use crate::dynamic::{Dynamic, Number};
use crate::raw::parse_number;
use crate::ser::ValueError;
use crate::value::VALUE_MARKER;

/// Converts a [`Dynamic`] into any deserializable type (typically a resource's state struct).
pub fn from_dynamic<T: DeserializeOwned>(value: Dynamic) -> Result<T, ValueError> {
    T::deserialize(Deserializer(value))
}

type Result<T, E = ValueError> = std::result::Result<T, E>;

fn unknown_error() -> ValueError {
    ValueError(
        "value is unknown here; declare this field as tfplugin::Value<T> to accept unknown values".into(),
    )
}

pub(crate) struct Deserializer(pub(crate) Dynamic);

fn visit_number<'de, V: Visitor<'de>>(n: Number, visitor: V) -> Result<V::Value> {
    match n {
        Number::Int(i) => visitor.visit_i64(i),
        Number::UInt(u) => visitor.visit_u64(u),
        // Terraform has one number type; let integral floats fill integer fields.
        Number::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => visitor.visit_i64(f as i64),
        Number::Float(f) => visitor.visit_f64(f),
        Number::Decimal(s) => match parse_number(&s) {
            Some(Number::Decimal(_)) | None => visitor.visit_string(s),
            Some(n) => visit_number(n, visitor),
        },
    }
}

impl<'de> de::Deserializer<'de> for Deserializer {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0 {
            Dynamic::Null => visitor.visit_unit(),
            Dynamic::Unknown => Err(unknown_error()),
            Dynamic::Bool(b) => visitor.visit_bool(b),
            Dynamic::Number(n) => visit_number(n, visitor),
            Dynamic::String(s) => visitor.visit_string(s),
            Dynamic::List(items) => {
                let len = items.len();
                let mut seq = SeqAccess(items.into_iter());
                let value = visitor.visit_seq(&mut seq)?;
                if seq.0.len() != 0 {
                    return Err(de::Error::invalid_length(len, &"fewer elements"));
                }
                Ok(value)
            }
            Dynamic::Map(map) => visitor.visit_map(MapAccess {
                iter: map.into_iter(),
                value: None,
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0 {
            Dynamic::Null => visitor.visit_none(),
            Dynamic::Unknown => Err(unknown_error()),
            other => visitor.visit_some(Deserializer(other)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value> {
        if name == VALUE_MARKER {
            return match self.0 {
                Dynamic::Unknown => visitor.visit_unit(),
                Dynamic::Null => visitor.visit_none(),
                other => visitor.visit_some(Deserializer(other)),
            };
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        // A String field accepts numbers and bools like cty's string conversion does.
        match self.0 {
            Dynamic::Number(n) => visitor.visit_string(n.to_string()),
            Dynamic::Bool(b) => visitor.visit_string(b.to_string()),
            other => Deserializer(other).deserialize_any(visitor),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_string(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        match self.0 {
            Dynamic::String(s) => visitor.visit_enum(IntoDeserializer::<ValueError>::into_deserializer(s)),
            Dynamic::Map(map) if map.len() == 1 => {
                let Some((variant, value)) = map.into_iter().next() else {
                    return Err(unknown_error());
                };
                visitor.visit_enum(EnumAccess { variant, value })
            }
            Dynamic::Unknown => Err(unknown_error()),
            _ => Err(ValueError("expected a string (enum variant name)".into())),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        // Fields the target ignores may well be unknown; that is no error.
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

struct SeqAccess(std::vec::IntoIter<Dynamic>);

impl<'de> de::SeqAccess<'de> for SeqAccess {
    type Error = ValueError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        self.0
            .next()
            .map(|v| seed.deserialize(Deserializer(v)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct MapAccess {
    iter: btree_map::IntoIter<String, Dynamic>,
    value: Option<Dynamic>,
}

impl<'de> de::MapAccess<'de> for MapAccess {
    type Error = ValueError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        match self.iter.next() {
            Some((key, value)) => {
                self.value = Some(value);
                let key: StringDeserializer<ValueError> = key.into_deserializer();
                seed.deserialize(key).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        let value = self
            .value
            .take()
            .ok_or_else(|| ValueError("map value without a key".into()))?;
        seed.deserialize(Deserializer(value))
    }
}

struct EnumAccess {
    variant: String,
    value: Dynamic,
}

impl<'de> de::EnumAccess<'de> for EnumAccess {
    type Error = ValueError;
    type Variant = VariantAccess;

    fn variant_seed<V: de::DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, VariantAccess)> {
        let key: StringDeserializer<ValueError> = self.variant.into_deserializer();
        Ok((seed.deserialize(key)?, VariantAccess(self.value)))
    }
}

struct VariantAccess(Dynamic);

impl<'de> de::VariantAccess<'de> for VariantAccess {
    type Error = ValueError;

    fn unit_variant(self) -> Result<()> {
        Ok(())
    }

    fn newtype_variant_seed<T: de::DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        seed.deserialize(Deserializer(self.0))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        Deserializer(self.0).deserialize_any(visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        Deserializer(self.0).deserialize_any(visitor)
    }
}

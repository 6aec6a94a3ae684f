//! serde Serializer producing a [`Dynamic`]: typed state (a plain `#[derive(Serialize)]` struct) to the
//! crate's dynamic value.
//!
//! [`Value::Unknown`](crate::Value) serializes as a unit struct with a private marker name; this serializer turns
//! that into [`Dynamic::Unknown`] (any other serializer sees a unit, i.e. null), which is how unknowns survive
//! the typed layer.

use std::collections::BTreeMap;

use serde::ser::{self, Serialize};

use crate::dynamic::{Dynamic, Number};
use crate::value::UNKNOWN_MARKER;

/// A typed value could not be converted to or from a [`Dynamic`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub(crate) String);

impl ser::Error for ValueError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

impl serde::de::Error for ValueError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

/// Converts any serializable value (typically a resource's state struct) into a [`Dynamic`].
pub fn to_dynamic<T: Serialize + ?Sized>(value: &T) -> Result<Dynamic, ValueError> {
    value.serialize(Serializer)
}

struct Serializer;

type Result<T, E = ValueError> = std::result::Result<T, E>;

fn number(n: Number) -> Result<Dynamic> {
    Ok(Dynamic::Number(n))
}

impl ser::Serializer for Serializer {
    type Ok = Dynamic;
    type Error = ValueError;
    type SerializeSeq = SeqSerializer;
    type SerializeTuple = SeqSerializer;
    type SerializeTupleStruct = SeqSerializer;
    type SerializeTupleVariant = VariantSerializer<SeqSerializer>;
    type SerializeMap = MapSerializer;
    type SerializeStruct = MapSerializer;
    type SerializeStructVariant = VariantSerializer<MapSerializer>;

    fn serialize_bool(self, v: bool) -> Result<Dynamic> {
        Ok(Dynamic::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Dynamic> {
        number(Number::Int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Dynamic> {
        number(Number::Int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Dynamic> {
        number(Number::Int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Dynamic> {
        number(Number::Int(v))
    }
    fn serialize_i128(self, v: i128) -> Result<Dynamic> {
        number(i64::try_from(v).map_or_else(|_| Number::Decimal(v.to_string()), Number::Int))
    }
    fn serialize_u8(self, v: u8) -> Result<Dynamic> {
        number(Number::Int(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Dynamic> {
        number(Number::Int(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Dynamic> {
        number(Number::Int(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Dynamic> {
        number(i64::try_from(v).map_or(Number::UInt(v), Number::Int))
    }
    fn serialize_u128(self, v: u128) -> Result<Dynamic> {
        number(i64::try_from(v).map_or_else(|_| Number::Decimal(v.to_string()), Number::Int))
    }
    fn serialize_f32(self, v: f32) -> Result<Dynamic> {
        number(Number::Float(v.into()))
    }
    fn serialize_f64(self, v: f64) -> Result<Dynamic> {
        number(Number::Float(v))
    }
    fn serialize_char(self, v: char) -> Result<Dynamic> {
        Ok(Dynamic::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Dynamic> {
        Ok(Dynamic::String(v.to_owned()))
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<Dynamic> {
        Err(ValueError(
            "byte strings have no terraform type; use a (base64) String".into(),
        ))
    }
    fn serialize_none(self) -> Result<Dynamic> {
        Ok(Dynamic::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Dynamic> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Dynamic> {
        Ok(Dynamic::Null)
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<Dynamic> {
        Ok(if name == UNKNOWN_MARKER {
            Dynamic::Unknown
        } else {
            Dynamic::Null
        })
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Dynamic> {
        // Enums of unit variants are strings in terraform (`notify = "here"`).
        Ok(Dynamic::String(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Dynamic> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Dynamic> {
        let mut map = BTreeMap::new();
        map.insert(variant.to_owned(), value.serialize(Serializer)?);
        Ok(Dynamic::Map(map))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqSerializer> {
        Ok(SeqSerializer(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqSerializer> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<SeqSerializer> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantSerializer<SeqSerializer>> {
        Ok(VariantSerializer {
            variant,
            inner: SeqSerializer(Vec::with_capacity(len)),
        })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<MapSerializer> {
        Ok(MapSerializer::default())
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<MapSerializer> {
        Ok(MapSerializer::default())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<VariantSerializer<MapSerializer>> {
        Ok(VariantSerializer {
            variant,
            inner: MapSerializer::default(),
        })
    }
}

struct SeqSerializer(Vec<Dynamic>);

impl SeqSerializer {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.0.push(value.serialize(Serializer)?);
        Ok(())
    }
}

impl ser::SerializeSeq for SeqSerializer {
    type Ok = Dynamic;
    type Error = ValueError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Dynamic> {
        Ok(Dynamic::List(self.0))
    }
}

impl ser::SerializeTuple for SeqSerializer {
    type Ok = Dynamic;
    type Error = ValueError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Dynamic> {
        Ok(Dynamic::List(self.0))
    }
}

impl ser::SerializeTupleStruct for SeqSerializer {
    type Ok = Dynamic;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Dynamic> {
        Ok(Dynamic::List(self.0))
    }
}

#[derive(Default)]
struct MapSerializer {
    map: BTreeMap<String, Dynamic>,
    key: Option<String>,
}

impl ser::SerializeMap for MapSerializer {
    type Ok = Dynamic;
    type Error = ValueError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        self.key = Some(match key.serialize(Serializer)? {
            Dynamic::String(s) => s,
            Dynamic::Number(n) => n.to_string(),
            Dynamic::Bool(b) => b.to_string(),
            _ => return Err(ValueError("map keys must be strings".into())),
        });
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let key = self
            .key
            .take()
            .ok_or_else(|| ValueError("map value without a key".into()))?;
        self.map.insert(key, value.serialize(Serializer)?);
        Ok(())
    }
    fn end(self) -> Result<Dynamic> {
        Ok(Dynamic::Map(self.map))
    }
}

impl ser::SerializeStruct for MapSerializer {
    type Ok = Dynamic;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<()> {
        self.map.insert(key.to_owned(), value.serialize(Serializer)?);
        Ok(())
    }
    fn end(self) -> Result<Dynamic> {
        Ok(Dynamic::Map(self.map))
    }
}

/// Externally tagged enum variants with data: `{ "variant": <data> }`.
struct VariantSerializer<S> {
    variant: &'static str,
    inner: S,
}

impl<S> VariantSerializer<S> {
    fn wrap(variant: &str, value: Dynamic) -> Dynamic {
        let mut map = BTreeMap::new();
        map.insert(variant.to_owned(), value);
        Dynamic::Map(map)
    }
}

impl ser::SerializeTupleVariant for VariantSerializer<SeqSerializer> {
    type Ok = Dynamic;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.inner.push(value)
    }
    fn end(self) -> Result<Dynamic> {
        Ok(Self::wrap(self.variant, Dynamic::List(self.inner.0)))
    }
}

impl ser::SerializeStructVariant for VariantSerializer<MapSerializer> {
    type Ok = Dynamic;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<()> {
        ser::SerializeStruct::serialize_field(&mut self.inner, key, value)
    }
    fn end(self) -> Result<Dynamic> {
        Ok(Self::wrap(self.variant, Dynamic::Map(self.inner.map)))
    }
}

//! Wire codecs: msgpack and JSON `DynamicValue`s and JSON raw state, to and from [`Dynamic`].
//!
//! Both directions are type-directed, as cty's own codec is: the type decides set vs list, object attributes
//! (all present, null when unset), and the `[type JSON, value]` wrapper of the dynamic pseudo-type. Any msgpack
//! extension decodes as unknown (plain ext 0 and refined ext 12 alike; refinements are dropped, which only makes
//! a value less precise, never wrong); unknown is encoded as cty does, fixext1 type 0 payload 0.

use std::collections::BTreeMap;

use rmpv::Value as Mp;
use serde_json::Value as Json;

use crate::dynamic::{Dynamic, Number};
use crate::types::Type;

/// A value did not match its type, or the bytes were not valid msgpack/JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CodecError(String);

fn mismatch(expected: &Type, got: &str) -> CodecError {
    CodecError(format!(
        "expected a value of type {}, got {got}",
        expected.to_json()
    ))
}

/// Decodes msgpack bytes of a value of type `ty`. Empty bytes decode as null (an absent `DynamicValue`).
pub(crate) fn decode_msgpack(bytes: &[u8], ty: &Type) -> Result<Dynamic, CodecError> {
    if bytes.is_empty() {
        return Ok(Dynamic::Null);
    }
    let mut reader = bytes;
    let value =
        rmpv::decode::read_value(&mut reader).map_err(|e| CodecError(format!("invalid msgpack: {e}")))?;
    from_msgpack(value, ty)
}

/// Encodes a value of type `ty` as msgpack.
pub(crate) fn encode_msgpack(value: &Dynamic, ty: &Type) -> Result<Vec<u8>, CodecError> {
    let value = to_msgpack(value, ty)?;
    let mut out = Vec::with_capacity(64);
    rmpv::encode::write_value(&mut out, &value).map_err(|e| CodecError(format!("msgpack encoding: {e}")))?;
    Ok(out)
}

fn from_msgpack(value: Mp, ty: &Type) -> Result<Dynamic, CodecError> {
    match value {
        Mp::Nil => return Ok(Dynamic::Null),
        Mp::Ext(..) => return Ok(Dynamic::Unknown),
        _ => {}
    }
    match ty {
        Type::Dynamic => {
            let Mp::Array(mut pair) = value else {
                return Err(mismatch(ty, "a non-array"));
            };
            if pair.len() != 2 {
                return Err(CodecError("dynamic value must be a [type, value] pair".into()));
            }
            let inner = pair.pop().unwrap_or(Mp::Nil);
            let ty_json = match pair.pop() {
                Some(Mp::Binary(b)) => b,
                Some(Mp::String(s)) => s.into_bytes(),
                _ => return Err(CodecError("dynamic value type must be bytes".into())),
            };
            let inner_ty = Type::from_json_bytes(&ty_json).map_err(|e| CodecError(e.to_string()))?;
            from_msgpack(inner, &inner_ty)
        }
        Type::String => match value {
            Mp::String(s) => s
                .into_str()
                .map(Dynamic::String)
                .ok_or_else(|| CodecError("invalid UTF-8".into())),
            _ => Err(mismatch(ty, "another kind")),
        },
        Type::Number => match value {
            Mp::Integer(n) => Ok(Dynamic::Number(match n.as_i64() {
                Some(i) => Number::Int(i),
                None => Number::UInt(n.as_u64().unwrap_or(u64::MAX)),
            })),
            Mp::F32(f) => Ok(Dynamic::Number(Number::Float(f64::from(f)))),
            Mp::F64(f) => Ok(Dynamic::Number(Number::Float(f))),
            // cty writes numbers that do not fit 64 bits as decimal strings.
            Mp::String(s) => Ok(Dynamic::Number(Number::Decimal(s.into_str().unwrap_or_default()))),
            _ => Err(mismatch(ty, "another kind")),
        },
        Type::Bool => match value {
            Mp::Boolean(b) => Ok(Dynamic::Bool(b)),
            _ => Err(mismatch(ty, "another kind")),
        },
        Type::List(elem) | Type::Set(elem) => match value {
            Mp::Array(items) => Ok(Dynamic::List(
                items
                    .into_iter()
                    .map(|v| from_msgpack(v, elem))
                    .collect::<Result<_, _>>()?,
            )),
            _ => Err(mismatch(ty, "a non-array")),
        },
        Type::Tuple(elems) => match value {
            Mp::Array(items) if items.len() == elems.len() => Ok(Dynamic::List(
                items
                    .into_iter()
                    .zip(elems)
                    .map(|(v, t)| from_msgpack(v, t))
                    .collect::<Result<_, _>>()?,
            )),
            _ => Err(mismatch(ty, "an array of another length")),
        },
        Type::Map(elem) => match value {
            Mp::Map(entries) => {
                let mut map = BTreeMap::new();
                for (k, v) in entries {
                    let key = k
                        .as_str()
                        .ok_or_else(|| CodecError("map key must be a string".into()))?
                        .to_owned();
                    map.insert(key, from_msgpack(v, elem)?);
                }
                Ok(Dynamic::Map(map))
            }
            _ => Err(mismatch(ty, "a non-map")),
        },
        Type::Object(attrs) => match value {
            Mp::Map(entries) => {
                let mut map = BTreeMap::new();
                for (k, v) in entries {
                    let key = k
                        .as_str()
                        .ok_or_else(|| CodecError("object key must be a string".into()))?;
                    // Keys outside the type cannot be represented; skip them like cty's lenient decoders.
                    if let Some(attr_ty) = attrs.get(key) {
                        map.insert(key.to_owned(), from_msgpack(v, attr_ty)?);
                    }
                }
                for name in attrs.keys() {
                    map.entry(name.clone()).or_insert(Dynamic::Null);
                }
                Ok(Dynamic::Map(map))
            }
            _ => Err(mismatch(ty, "a non-map")),
        },
    }
}

fn unknown_ext() -> Mp {
    Mp::Ext(0, vec![0])
}

fn to_msgpack(value: &Dynamic, ty: &Type) -> Result<Mp, CodecError> {
    match value {
        Dynamic::Null => return Ok(Mp::Nil),
        Dynamic::Unknown => return Ok(unknown_ext()),
        _ => {}
    }
    match ty {
        Type::Dynamic => {
            let inner_ty = infer_type(value);
            Ok(Mp::Array(vec![
                Mp::Binary(inner_ty.to_json_bytes()),
                to_msgpack(value, &inner_ty)?,
            ]))
        }
        // Primitive conversions follow cty's: numbers and bools convert to strings, and back when they parse.
        Type::String => match value {
            Dynamic::String(s) => Ok(Mp::from(s.as_str())),
            Dynamic::Number(n) => Ok(Mp::from(n.to_string())),
            Dynamic::Bool(b) => Ok(Mp::from(if *b { "true" } else { "false" })),
            _ => Err(mismatch(ty, "a collection")),
        },
        Type::Number => match value {
            Dynamic::Number(n) => Ok(number_to_msgpack(n)),
            Dynamic::String(s) => parse_number(s)
                .map(|n| number_to_msgpack(&n))
                .ok_or_else(|| mismatch(ty, s)),
            _ => Err(mismatch(ty, "a non-number")),
        },
        Type::Bool => match value {
            Dynamic::Bool(b) => Ok(Mp::Boolean(*b)),
            Dynamic::String(s) if s == "true" || s == "false" => Ok(Mp::Boolean(s == "true")),
            _ => Err(mismatch(ty, "a non-bool")),
        },
        Type::List(elem) | Type::Set(elem) => match value {
            Dynamic::List(items) => Ok(Mp::Array(
                items
                    .iter()
                    .map(|v| to_msgpack(v, elem))
                    .collect::<Result<_, _>>()?,
            )),
            _ => Err(mismatch(ty, "a non-list")),
        },
        Type::Tuple(elems) => match value {
            Dynamic::List(items) if items.len() == elems.len() => Ok(Mp::Array(
                items
                    .iter()
                    .zip(elems)
                    .map(|(v, t)| to_msgpack(v, t))
                    .collect::<Result<_, _>>()?,
            )),
            _ => Err(mismatch(ty, "a list of another length")),
        },
        Type::Map(elem) => match value {
            Dynamic::Map(map) => Ok(Mp::Map(
                map.iter()
                    .map(|(k, v)| Ok((Mp::from(k.as_str()), to_msgpack(v, elem)?)))
                    .collect::<Result<_, CodecError>>()?,
            )),
            _ => Err(mismatch(ty, "a non-map")),
        },
        Type::Object(attrs) => match value {
            Dynamic::Map(map) => {
                if let Some(extra) = map.keys().find(|k| !attrs.contains_key(*k)) {
                    return Err(CodecError(format!("attribute {extra:?} is not in the schema")));
                }
                // Every attribute is present on the wire; missing ones are null.
                let entries = attrs
                    .iter()
                    .map(|(name, attr_ty)| {
                        let v = map.get(name).unwrap_or(&Dynamic::Null);
                        to_msgpack(v, attr_ty)
                            .map(|v| (Mp::from(name.as_str()), v))
                            .map_err(|e| CodecError(format!("{name}: {e}")))
                    })
                    .collect::<Result<_, _>>()?;
                Ok(Mp::Map(entries))
            }
            _ => Err(mismatch(ty, "a non-object")),
        },
    }
}

fn number_to_msgpack(n: &Number) -> Mp {
    match n {
        Number::Int(i) => Mp::from(*i),
        Number::UInt(u) => Mp::from(*u),
        // Integral floats go out as integers, as cty does, so equal numbers encode equally.
        Number::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Mp::from(*f as i64),
        Number::Float(f) => Mp::F64(*f),
        Number::Decimal(s) => match parse_number(s) {
            Some(Number::Decimal(_)) | None => Mp::from(s.as_str()),
            Some(n) => number_to_msgpack(&n),
        },
    }
}

/// Parses decimal text into the narrowest exact [`Number`].
pub(crate) fn parse_number(s: &str) -> Option<Number> {
    if let Ok(i) = s.parse::<i64>() {
        return Some(Number::Int(i));
    }
    if let Ok(u) = s.parse::<u64>() {
        return Some(Number::UInt(u));
    }
    let f = s.parse::<f64>().ok()?;
    // Keep the text when f64 would round it (e.g. very long integers).
    if f.is_finite() && (s.contains(['.', 'e', 'E']) || f.abs() < 9.0e15) {
        Some(Number::Float(f))
    } else {
        Some(Number::Decimal(s.to_owned()))
    }
}

/// The type a value of the dynamic pseudo-type is sent with: objects for maps, tuples for lists.
fn infer_type(value: &Dynamic) -> Type {
    match value {
        Dynamic::Null | Dynamic::Unknown => Type::Dynamic,
        Dynamic::Bool(_) => Type::Bool,
        Dynamic::Number(_) => Type::Number,
        Dynamic::String(_) => Type::String,
        Dynamic::List(items) => Type::Tuple(items.iter().map(infer_type).collect()),
        Dynamic::Map(map) => Type::Object(map.iter().map(|(k, v)| (k.clone(), infer_type(v))).collect()),
    }
}

/// Decodes JSON bytes (the `DynamicValue.json` fallback or `RawState.json`) per `ty`.
///
/// Lenient like terraform's state upgrade needs: object keys the type lacks are ignored, missing ones are null.
pub(crate) fn decode_json(bytes: &[u8], ty: &Type) -> Result<Dynamic, CodecError> {
    if bytes.is_empty() {
        return Ok(Dynamic::Null);
    }
    let json: Json = serde_json::from_slice(bytes).map_err(|e| CodecError(format!("invalid JSON: {e}")))?;
    from_json(&json, ty)
}

/// Converts parsed JSON per `ty` (see [`decode_json`]).
pub(crate) fn from_json(json: &Json, ty: &Type) -> Result<Dynamic, CodecError> {
    if json.is_null() {
        return Ok(Dynamic::Null);
    }
    match ty {
        Type::Dynamic => {
            let inner_ty = json
                .get("type")
                .ok_or_else(|| CodecError("dynamic JSON value needs \"type\"".into()))?;
            let inner_ty = Type::from_json(inner_ty).map_err(|e| CodecError(e.to_string()))?;
            from_json(json.get("value").unwrap_or(&Json::Null), &inner_ty)
        }
        Type::String => match json {
            Json::String(s) => Ok(Dynamic::String(s.clone())),
            Json::Number(n) => Ok(Dynamic::String(n.to_string())),
            Json::Bool(b) => Ok(Dynamic::String(b.to_string())),
            _ => Err(mismatch(ty, "a collection")),
        },
        Type::Number => match json {
            Json::Number(n) => Ok(Dynamic::Number(if let Some(i) = n.as_i64() {
                Number::Int(i)
            } else if let Some(u) = n.as_u64() {
                Number::UInt(u)
            } else {
                Number::Float(n.as_f64().unwrap_or(f64::NAN))
            })),
            Json::String(s) => parse_number(s)
                .map(Dynamic::Number)
                .ok_or_else(|| mismatch(ty, s)),
            _ => Err(mismatch(ty, "a non-number")),
        },
        Type::Bool => match json {
            Json::Bool(b) => Ok(Dynamic::Bool(*b)),
            Json::String(s) if s == "true" || s == "false" => Ok(Dynamic::Bool(s == "true")),
            _ => Err(mismatch(ty, "a non-bool")),
        },
        Type::List(elem) | Type::Set(elem) => match json {
            Json::Array(items) => Ok(Dynamic::List(
                items
                    .iter()
                    .map(|v| from_json(v, elem))
                    .collect::<Result<_, _>>()?,
            )),
            _ => Err(mismatch(ty, "a non-array")),
        },
        Type::Tuple(elems) => match json {
            Json::Array(items) if items.len() == elems.len() => Ok(Dynamic::List(
                items
                    .iter()
                    .zip(elems)
                    .map(|(v, t)| from_json(v, t))
                    .collect::<Result<_, _>>()?,
            )),
            _ => Err(mismatch(ty, "an array of another length")),
        },
        Type::Map(elem) => match json {
            Json::Object(map) => Ok(Dynamic::Map(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), from_json(v, elem)?)))
                    .collect::<Result<_, CodecError>>()?,
            )),
            _ => Err(mismatch(ty, "a non-object")),
        },
        Type::Object(attrs) => match json {
            Json::Object(map) => Ok(Dynamic::Map(
                attrs
                    .iter()
                    .map(|(name, attr_ty)| {
                        let v = map.get(name).unwrap_or(&Json::Null);
                        Ok((
                            name.clone(),
                            from_json(v, attr_ty).map_err(|e| CodecError(format!("{name}: {e}")))?,
                        ))
                    })
                    .collect::<Result<_, CodecError>>()?,
            )),
            _ => Err(mismatch(ty, "a non-object")),
        },
    }
}

#[cfg(test)]
#[path = "raw_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "raw_proptests.rs"]
mod proptests;

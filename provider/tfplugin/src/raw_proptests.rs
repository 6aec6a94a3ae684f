//! Property tests of the wire codecs against hostile input: any bytes decoded as any type give a value or a
//! [`CodecError`], never a panic; nesting is bounded (rmpv refuses values nested deeper than its limit, and
//! every recursion here follows the decoded value); a length claimed by a header costs nothing until the bytes
//! are there. Decoded values survive an encode/decode round trip. A fixed seed and case count make every run
//! the same.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{RngAlgorithm, RngSeed};
use serde::Deserialize;

use super::*;
use crate::Value;
use crate::de::from_dynamic;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(0x7466_706c_7567),
        ..ProptestConfig::default()
    }
}

const NAMES: &[&str] = &["id", "name", "count", "tags", "steps", "a", ""];

fn cty() -> impl Strategy<Value = Type> {
    let leaf = select(&[Type::String, Type::Number, Type::Bool, Type::Dynamic][..]);
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(Type::list),
            inner.clone().prop_map(Type::set),
            inner.clone().prop_map(Type::map),
            prop::collection::btree_map(select(NAMES).prop_map(str::to_owned), inner.clone(), 0..4)
                .prop_map(Type::Object),
            prop::collection::vec(inner, 0..4).prop_map(Type::Tuple),
        ]
    })
}

/// Random msgpack values, with type JSON where the dynamic pseudo-type expects it.
fn msgpack() -> impl Strategy<Value = Mp> {
    let leaf = prop_oneof![
        Just(Mp::Nil),
        any::<bool>().prop_map(Mp::Boolean),
        any::<i64>().prop_map(Mp::from),
        any::<u64>().prop_map(Mp::from),
        any::<f32>().prop_map(Mp::F32),
        any::<f64>().prop_map(Mp::F64),
        prop_oneof![
            select(NAMES).prop_map(str::to_owned),
            ".{0,12}",
            "-?[0-9]{1,30}(\\.[0-9]{0,4})?"
        ]
        .prop_map(Mp::from),
        cty().prop_map(|t| Mp::Binary(t.to_json_bytes())),
        cty().prop_map(|t| Mp::from(t.to_json().to_string())),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(Mp::Binary),
        (any::<i8>(), prop::collection::vec(any::<u8>(), 0..4)).prop_map(|(t, d)| Mp::Ext(t, d)),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Mp::Array),
            prop::collection::vec(
                (
                    prop_oneof![4 => select(NAMES).prop_map(Mp::from), 1 => inner.clone()],
                    inner
                ),
                0..6
            )
            .prop_map(Mp::Map),
        ]
    })
}

/// A msgpack value of type `ty`, as terraform would send it (null and unknown anywhere a value may be).
fn value_of(ty: &Type) -> BoxedStrategy<Mp> {
    let known: BoxedStrategy<Mp> = match ty {
        Type::String => ".{0,12}".prop_map(Mp::from).boxed(),
        Type::Number => prop_oneof![
            any::<i64>().prop_map(Mp::from),
            any::<u64>().prop_map(Mp::from),
            any::<f64>().prop_map(Mp::F64),
            // cty's spelling of numbers beyond 64 bits.
            "-?[1-9][0-9]{20,30}".prop_map(Mp::from),
        ]
        .boxed(),
        Type::Bool => any::<bool>().prop_map(Mp::Boolean).boxed(),
        Type::Dynamic => select(vec![
            Type::String,
            Type::Number,
            Type::list(Type::Bool),
            Type::Dynamic,
        ])
        .prop_flat_map(|t| {
            let wire_type = Mp::Binary(t.to_json_bytes());
            value_of(&t).prop_map(move |v| Mp::Array(vec![wire_type.clone(), v]))
        })
        .boxed(),
        Type::List(elem) | Type::Set(elem) => prop::collection::vec(value_of(elem), 0..4)
            .prop_map(Mp::Array)
            .boxed(),
        Type::Map(elem) => prop::collection::vec((".{0,6}", value_of(elem)), 0..4)
            .prop_map(|entries| Mp::Map(entries.into_iter().map(|(k, v)| (Mp::from(k), v)).collect()))
            .boxed(),
        Type::Object(attrs) => attrs
            .iter()
            .map(|(name, t)| {
                let key = Mp::from(name.as_str());
                value_of(t).prop_map(move |v| (key.clone(), v))
            })
            .collect::<Vec<_>>()
            .prop_map(Mp::Map)
            .boxed(),
        Type::Tuple(elems) => elems
            .iter()
            .map(value_of)
            .collect::<Vec<_>>()
            .prop_map(Mp::Array)
            .boxed(),
    };
    prop_oneof![8 => known, 1 => Just(Mp::Nil), 1 => Just(Mp::Ext(0, vec![0]))].boxed()
}

fn encode(value: &Mp) -> Vec<u8> {
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, value).unwrap();
    out
}

/// The JSON spelling of a msgpack value (bytes as text, extensions as null, keys as text).
fn to_json(value: &Mp) -> Json {
    match value {
        Mp::Nil | Mp::Ext(..) => Json::Null,
        Mp::Boolean(b) => Json::Bool(*b),
        Mp::Integer(n) => n
            .as_i64()
            .map_or_else(|| Json::from(n.as_u64().unwrap_or_default()), Json::from),
        Mp::F32(f) => Json::from(f64::from(*f)),
        Mp::F64(f) => Json::from(*f),
        Mp::String(s) => Json::from(s.as_str().unwrap_or_default()),
        Mp::Binary(b) => Json::from(String::from_utf8_lossy(b).into_owned()),
        Mp::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        Mp::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().map_or_else(|| k.to_string(), str::to_owned),
                        to_json(v),
                    )
                })
                .collect(),
        ),
    }
}

fn has_nan(value: &Dynamic) -> bool {
    match value {
        Dynamic::Number(Number::Float(f)) => f.is_nan(),
        Dynamic::List(items) => items.iter().any(has_nan),
        Dynamic::Map(map) => map.values().any(has_nan),
        _ => false,
    }
}

/// A typed state as a resource declares it, to run decoded values through serde.
#[derive(Debug, Deserialize)]
#[allow(dead_code)] // Only deserialized.
struct State {
    id: Value<String>,
    count: Option<i64>,
    tags: Value<Vec<Value<String>>>,
    steps: Option<Vec<BTreeMap<String, Value<String>>>>,
    name: Option<Kind>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)] // Only deserialized.
enum Kind {
    A,
    B(String),
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn arbitrary_bytes_of_any_type_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..256),
        ty in cty(),
    ) {
        let _ = decode_msgpack(&bytes, &ty);
        let _ = decode_json(&bytes, &ty);
        let _ = Type::from_json_bytes(&bytes);
    }

    #[test]
    fn random_values_of_any_type_decode_and_round_trip(value in msgpack(), ty in cty()) {
        let bytes = encode(&value);
        if let Ok(decoded) = decode_msgpack(&bytes, &ty) {
            let _ = from_dynamic::<State>(decoded.clone());
            if let Ok(again) = encode_msgpack(&decoded, &ty) {
                let back = decode_msgpack(&again, &ty);
                prop_assert!(back.is_ok(), "{back:?}");
                if !has_nan(&decoded) {
                    prop_assert_eq!(back.ok(), Some(decoded));
                }
            }
        }
        // The same value as JSON, the fallback encoding.
        let _ = decode_json(to_json(&value).to_string().as_bytes(), &ty);
    }

    /// A well-typed value decodes, encodes, and decodes again to the same value.
    #[test]
    fn well_typed_values_round_trip(
        (ty, value) in cty().prop_flat_map(|t| (Just(t.clone()), value_of(&t))),
    ) {
        let decoded = decode_msgpack(&encode(&value), &ty);
        prop_assert!(decoded.is_ok(), "{decoded:?}");
        let decoded = decoded.unwrap_or_default();
        let again = encode_msgpack(&decoded, &ty);
        prop_assert!(again.is_ok(), "{again:?}");
        let back = decode_msgpack(&again.unwrap_or_default(), &ty);
        if !has_nan(&decoded) {
            prop_assert_eq!(back, Ok(decoded));
        }
    }

    #[test]
    fn truncated_and_edited_values_never_panic(
        value in msgpack(),
        ty in cty(),
        cut in any::<prop::sample::Index>(),
        flip in any::<(prop::sample::Index, u8)>(),
    ) {
        let bytes = encode(&value);
        let _ = decode_msgpack(&bytes[..cut.index(bytes.len() + 1)], &ty);
        let mut edited = bytes;
        if !edited.is_empty() {
            let i = flip.0.index(edited.len());
            edited[i] ^= flip.1;
        }
        let _ = decode_msgpack(&edited, &ty);
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    // 100 000 nested one-element arrays, and as many nested dynamic wrappers.
    let depth = 100_000;
    let mut arrays = vec![0x91; depth];
    arrays.push(0xc0);
    let mut nested_list = Type::String;
    for _ in 0..100 {
        nested_list = Type::list(nested_list);
    }
    for ty in [Type::Dynamic, Type::list(Type::Dynamic), nested_list] {
        assert!(decode_msgpack(&arrays, &ty).is_err());
    }
    let mut wrappers = Vec::new();
    for _ in 0..depth {
        // fixarray(2), fixstr(9) "\"dynamic\"", then the value: the next wrapper.
        wrappers.push(0x92);
        wrappers.push(0xa9);
        wrappers.extend_from_slice(b"\"dynamic\"");
    }
    wrappers.push(0xc0);
    assert!(decode_msgpack(&wrappers, &Type::Dynamic).is_err());
    // Within the limit, nesting decodes.
    let mut shallow = vec![0x91; 50];
    shallow.push(0xc0);
    let mut ty = Type::Bool;
    for _ in 0..50 {
        ty = Type::list(ty);
    }
    assert!(decode_msgpack(&shallow, &ty).is_ok());
}

#[test]
fn claimed_lengths_beyond_the_input_are_refused_without_allocating_them() {
    // Each header claims 4 GiB (or 64 Ki elements) and is followed by a few bytes: had the decoder reserved
    // what the header claims, this would abort on allocation instead of answering an error.
    let ff = [0xff; 4];
    let headers: &[&[u8]] = &[
        &[0xdd],       // array32
        &[0xdf],       // map32
        &[0xdb],       // str32
        &[0xc6],       // bin32
        &[0xc9],       // ext32 (then a type byte)
        &[0xdc, 0xff], // array16
        &[0xde, 0xff], // map16
    ];
    for header in headers {
        let mut bytes = header.to_vec();
        bytes.extend_from_slice(&ff[..if header.len() == 1 { 4 } else { 1 }]);
        bytes.extend_from_slice(&[0x00, 0xc0, 0xc0]);
        for ty in [
            Type::Dynamic,
            Type::String,
            Type::list(Type::Number),
            Type::map(Type::String),
        ] {
            assert!(
                decode_msgpack(&bytes, &ty).is_err(),
                "{bytes:02x?} as {}",
                ty.to_json()
            );
        }
    }
}

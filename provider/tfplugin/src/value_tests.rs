use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::*;
use crate::de::from_dynamic;
use crate::dynamic::{Dynamic, Number};
use crate::raw::{decode_msgpack, encode_msgpack};
use crate::ser::to_dynamic;
use crate::types::Type;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Notify {
    RandomMember,
    Here,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Step {
    notify: Value<Notify>,
    user: Value<String>,
    after: Value<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct State {
    id: Value<String>,
    members: Value<Vec<Value<String>>>,
    steps: Value<Vec<Step>>,
    labels: Value<BTreeMap<String, String>>,
    ratio: Value<f64>,
    plain: Option<bool>,
}

fn state_type() -> Type {
    Type::object([
        ("id", Type::String),
        ("members", Type::list(Type::String)),
        (
            "steps",
            Type::list(Type::object([
                ("notify", Type::String),
                ("user", Type::String),
                ("after", Type::Number),
            ])),
        ),
        ("labels", Type::map(Type::String)),
        ("ratio", Type::Number),
        ("plain", Type::Bool),
    ])
}

fn sample() -> State {
    State {
        id: Value::Unknown,
        members: Value::Known(vec![Value::Known("U1".into()), Value::Unknown, Value::Null]),
        steps: Value::Known(vec![
            Step {
                notify: Value::Known(Notify::RandomMember),
                user: Value::Null,
                after: Value::Known(5),
            },
            Step {
                notify: Value::Known(Notify::Here),
                user: Value::Unknown,
                after: Value::Null,
            },
        ]),
        labels: Value::Known([("env".to_string(), "prod".to_string())].into()),
        ratio: Value::Known(0.5),
        plain: None,
    }
}

#[test]
fn typed_state_round_trips_through_msgpack_with_unknowns() {
    let state = sample();
    let dynamic = to_dynamic(&state).unwrap();
    assert_eq!(dynamic.attr("id"), &Dynamic::Unknown);
    assert_eq!(
        dynamic.attr("steps"),
        &Dynamic::List(vec![
            Dynamic::Map(
                [
                    ("notify".to_string(), Dynamic::String("random_member".into())),
                    ("user".to_string(), Dynamic::Null),
                    ("after".to_string(), Dynamic::Number(Number::Int(5))),
                ]
                .into()
            ),
            Dynamic::Map(
                [
                    ("notify".to_string(), Dynamic::String("here".into())),
                    ("user".to_string(), Dynamic::Unknown),
                    ("after".to_string(), Dynamic::Null),
                ]
                .into()
            ),
        ])
    );
    let bytes = encode_msgpack(&dynamic, &state_type()).unwrap();
    let back: State = from_dynamic(decode_msgpack(&bytes, &state_type()).unwrap()).unwrap();
    assert_eq!(back, state);
}

#[test]
fn unknown_in_a_plain_field_is_a_clear_error() {
    #[derive(Debug, Deserialize)]
    struct Plain {
        #[allow(dead_code)]
        id: String,
    }
    let value = Dynamic::Map([("id".to_string(), Dynamic::Unknown)].into());
    let err = from_dynamic::<Plain>(value).unwrap_err();
    assert!(err.to_string().contains("Value<T>"), "{err}");
}

#[test]
fn ignored_unknown_fields_are_fine_and_numbers_are_lenient() {
    #[derive(Debug, Deserialize)]
    struct Narrow {
        count: u8,
        name: String,
    }
    let value = Dynamic::Map(
        [
            ("count".to_string(), Dynamic::Number(Number::Float(3.0))),
            ("name".to_string(), Dynamic::Number(Number::Int(7))),
            ("other".to_string(), Dynamic::Unknown),
        ]
        .into(),
    );
    let narrow: Narrow = from_dynamic(value).unwrap();
    assert_eq!((narrow.count, narrow.name.as_str()), (3, "7"));
}

#[test]
fn value_with_serde_json_has_no_unknowns() {
    let json = serde_json::to_string(&sample()).unwrap();
    assert!(
        json.starts_with(r#"{"id":null,"members":["U1",null,null]"#),
        "{json}"
    );
    let back: State = serde_json::from_str(&json).unwrap();
    assert_eq!(back.id, Value::Null);
    assert_eq!(back.ratio, Value::Known(0.5));
}

#[test]
fn option_like_helpers() {
    let v: Value<String> = Value::Known("a".into());
    assert_eq!(v.as_deref(), Value::Known("a"));
    assert_eq!(v.clone().map(|s| s.len()), Value::Known(1));
    assert_eq!(v.known(), Some("a".to_string()));
    assert_eq!(Value::<u8>::Null.unwrap_or(3), 3);
    assert_eq!(Value::<u8>::Unknown.unwrap_or_default(), 0);
    assert_eq!(Value::<u8>::Null.null_to_unknown(), Value::Unknown);
    assert_eq!(Value::Known(1).null_to_unknown(), Value::Known(1));
    assert_eq!(Value::<u8>::from(None::<u8>), Value::Null);
    assert!(Value::<u8>::Unknown.is_unknown() && Value::<u8>::Null.is_null() && Value::Known(1).is_known());
}

use super::*;

fn obj(entries: &[(&str, Dynamic)]) -> Dynamic {
    Dynamic::Map(
        entries
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    )
}

fn s(v: &str) -> Dynamic {
    Dynamic::String(v.into())
}

fn schema_type() -> Type {
    Type::object([
        ("id", Type::String),
        ("count", Type::Number),
        ("enabled", Type::Bool),
        ("tags", Type::set(Type::String)),
        ("labels", Type::map(Type::String)),
        (
            "steps",
            Type::list(Type::object([("notify", Type::String), ("user", Type::String)])),
        ),
        ("extra", Type::Dynamic),
    ])
}

#[test]
fn msgpack_round_trip_with_null_unknown_and_nesting() {
    let ty = schema_type();
    let value = obj(&[
        ("id", Dynamic::Unknown),
        ("count", Dynamic::Number(Number::Int(3))),
        ("enabled", Dynamic::Null),
        ("tags", Dynamic::List(vec![s("a"), Dynamic::Unknown])),
        ("labels", obj(&[("env", s("prod"))])),
        (
            "steps",
            Dynamic::List(vec![obj(&[("notify", s("user")), ("user", Dynamic::Null)])]),
        ),
        ("extra", Dynamic::List(vec![s("x"), Dynamic::Bool(true)])),
    ]);
    let bytes = encode_msgpack(&value, &ty).unwrap();
    assert_eq!(decode_msgpack(&bytes, &ty).unwrap(), value);
}

#[test]
fn unknown_is_encoded_as_cty_fixext1() {
    assert_eq!(
        encode_msgpack(&Dynamic::Unknown, &Type::String).unwrap(),
        vec![0xd4, 0x00, 0x00]
    );
    assert_eq!(encode_msgpack(&Dynamic::Null, &Type::String).unwrap(), vec![0xc0]);
}

#[test]
fn any_extension_decodes_as_unknown_including_refinements() {
    // Refined unknown: ext 12 with a map {1: false (not null), 2: "pre"} -- refinements are ignored.
    let mut payload = Vec::new();
    let refinements = Mp::Map(vec![
        (Mp::from(1), Mp::Boolean(false)),
        (Mp::from(2), Mp::from("pre")),
    ]);
    rmpv::encode::write_value(&mut payload, &refinements).unwrap();
    let mut bytes = Vec::new();
    rmpv::encode::write_value(&mut bytes, &Mp::Ext(12, payload)).unwrap();
    assert_eq!(decode_msgpack(&bytes, &Type::String).unwrap(), Dynamic::Unknown);
    // Some other extension code, with an odd payload length.
    let mut bytes = Vec::new();
    rmpv::encode::write_value(&mut bytes, &Mp::Ext(5, vec![1, 2, 3])).unwrap();
    assert_eq!(
        decode_msgpack(&bytes, &Type::list(Type::Number)).unwrap(),
        Dynamic::Unknown
    );
}

#[test]
fn dynamic_pseudo_type_carries_its_type() {
    let bytes = encode_msgpack(&s("hello"), &Type::Dynamic).unwrap();
    let Mp::Array(pair) = rmpv::decode::read_value(&mut bytes.as_slice()).unwrap() else {
        panic!()
    };
    assert_eq!(pair[0], Mp::Binary(b"\"string\"".to_vec()));
    assert_eq!(decode_msgpack(&bytes, &Type::Dynamic).unwrap(), s("hello"));
    // A null or unknown dynamic value is not wrapped.
    assert_eq!(
        encode_msgpack(&Dynamic::Null, &Type::Dynamic).unwrap(),
        vec![0xc0]
    );
    assert_eq!(
        decode_msgpack(&[0xd4, 0, 0], &Type::Dynamic).unwrap(),
        Dynamic::Unknown
    );
}

#[test]
fn numbers_int_float_and_decimal_string() {
    let cases = [
        (Number::Int(-7), Number::Int(-7)),
        (Number::UInt(u64::MAX), Number::UInt(u64::MAX)),
        (Number::Float(1.5), Number::Float(1.5)),
        (Number::Float(2.0), Number::Int(2)),
        (
            Number::Decimal("123456789012345678901234567890".into()),
            Number::Decimal("123456789012345678901234567890".into()),
        ),
        (Number::Decimal("42".into()), Number::Int(42)),
    ];
    for (input, expected) in cases {
        let bytes = encode_msgpack(&Dynamic::Number(input), &Type::Number).unwrap();
        assert_eq!(
            decode_msgpack(&bytes, &Type::Number).unwrap(),
            Dynamic::Number(expected)
        );
    }
}

#[test]
fn objects_fill_missing_attributes_and_reject_extra_ones() {
    let ty = Type::object([("a", Type::String), ("b", Type::Number)]);
    let bytes = encode_msgpack(&obj(&[("a", s("x"))]), &ty).unwrap();
    assert_eq!(
        decode_msgpack(&bytes, &ty).unwrap(),
        obj(&[("a", s("x")), ("b", Dynamic::Null)])
    );
    let err = encode_msgpack(&obj(&[("c", s("x"))]), &ty).unwrap_err();
    assert!(err.to_string().contains("\"c\""), "{err}");
}

#[test]
fn type_mismatch_is_an_error() {
    assert!(encode_msgpack(&Dynamic::List(vec![]), &Type::String).is_err());
    assert!(decode_msgpack(&[0xc3], &Type::String).is_err());
    // cty-style primitive conversions are accepted.
    let bytes = encode_msgpack(&Dynamic::Number(Number::Int(5)), &Type::String).unwrap();
    assert_eq!(decode_msgpack(&bytes, &Type::String).unwrap(), s("5"));
}

#[test]
fn empty_dynamic_value_is_null() {
    assert_eq!(decode_msgpack(&[], &schema_type()).unwrap(), Dynamic::Null);
    assert_eq!(decode_json(&[], &schema_type()).unwrap(), Dynamic::Null);
}

#[test]
fn json_raw_state_is_decoded_leniently() {
    let json = br#"{"id":"i-1","count":2,"removed_attr":"old","tags":["a"],"steps":[{"notify":"here"}],
        "extra":{"type":["list","string"],"value":["p"]}}"#;
    let value = decode_json(json, &schema_type()).unwrap();
    assert_eq!(value.attr("id"), &s("i-1"));
    assert_eq!(value.attr("count"), &Dynamic::Number(Number::Int(2)));
    assert!(value.attr("enabled").is_null());
    assert!(value.attr("labels").is_null());
    assert!(value.attr("removed_attr").is_null());
    assert_eq!(
        value.attr("steps"),
        &Dynamic::List(vec![obj(&[("notify", s("here")), ("user", Dynamic::Null)])])
    );
    assert_eq!(value.attr("extra"), &Dynamic::List(vec![s("p")]));
    // And it re-encodes per the current schema.
    let bytes = encode_msgpack(&value, &schema_type()).unwrap();
    assert_eq!(decode_msgpack(&bytes, &schema_type()).unwrap(), value);
}

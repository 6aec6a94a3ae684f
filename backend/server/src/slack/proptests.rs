//! Property tests: whatever reaches `/slack/*` (after or before its signature check), the signature check, the
//! interaction, Events API and slash command readers answer a value or a refusal, never a panic. A fixed seed
//! and case count make every run the same.

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{RngAlgorithm, RngSeed};
use serde_json::Value;

use super::{events, interactions, signing::SigningSecret};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(0x73_6c61_636b),
        ..ProptestConfig::default()
    }
}

/// Keys and words of Slack's payloads, so random JSON reaches the readers' deeper branches.
const KEYS: &[&str] = &[
    "type",
    "team",
    "id",
    "user",
    "actions",
    "action_id",
    "value",
    "action_ts",
    "response_url",
    "channel",
    "container",
    "channel_id",
    "challenge",
    "event",
    "event_id",
    "team_id",
    "authorizations",
    "event_time",
    "tokens",
    "bot",
    "ts",
    "text",
    "thread_ts",
    "0",
    "",
];
const WORDS: &[&str] = &[
    "block_actions",
    "klaxon.ack",
    "klaxon.close",
    "klaxon.pass",
    "url_verification",
    "event_callback",
    "app_uninstalled",
    "tokens_revoked",
    "app_mention",
    "T0123",
    "U0123",
    "C0123",
    "<@U1> open alerts",
    "<@",
    ">",
    "help",
    "",
    "1700000000.000100",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop_oneof![3 => select(WORDS).prop_map(str::to_owned), 1 => ".{0,30}"].prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![4 => select(KEYS).prop_map(str::to_owned), 1 => ".{0,8}"],
                    inner
                ),
                0..6
            )
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

fn form_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..400),
        json_value().prop_map(|v| {
            let encoded: String = form_urlencoded::byte_serialize(v.to_string().as_bytes()).collect();
            format!("payload={encoded}").into_bytes()
        }),
        prop::collection::vec(
            (
                select(
                    &[
                        "payload",
                        "team_id",
                        "command",
                        "text",
                        "user_id",
                        "channel_id",
                        "x"
                    ][..]
                ),
                ".{0,20}"
            ),
            0..6
        )
        .prop_map(|pairs| {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for (k, v) in pairs {
                form.append_pair(k, &v);
            }
            form.finish().into_bytes()
        }),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn interaction_and_command_bodies_never_panic(body in form_body()) {
        if let Ok(Some(press)) = interactions::parse(&body) {
            prop_assert!(press.action().is_some(), "a press of an unknown button: {press:?}");
            prop_assert!(!press.alert_id.is_empty() && press.alert_id.len() <= 100);
        }
        let _ = events::parse_command(&body);
        let _ = events::parse(&body);
    }

    #[test]
    fn event_deliveries_never_panic(value in json_value(), wrap in any::<bool>()) {
        // Random JSON, or random JSON as the `event` of a well-formed callback.
        let body = if wrap {
            serde_json::json!({"type": "event_callback", "event_id": "Ev1", "team_id": "T1", "event": value})
        } else {
            value
        };
        let _ = events::parse(body.to_string().as_bytes());
    }

    #[test]
    fn verbs_never_panic(text in ".{0,80}") {
        let _ = events::verb(&text);
    }

    /// Any timestamp and signature headers at any clock: a verdict, never an overflow.
    #[test]
    fn signature_checks_never_panic(
        timestamp in prop::option::of(prop_oneof![any::<i64>().prop_map(|t| t.to_string()), ".{0,24}"]),
        signature in prop::option::of(prop_oneof![".{0,70}", "v0=[0-9a-f]{0,64}"]),
        now in any::<i64>(),
        body in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let secret = SigningSecret::new("s3cret");
        let verdict = secret.verify(timestamp.as_deref(), signature.as_deref(), &body, now);
        // A signature made up here never verifies.
        prop_assert!(verdict.is_err());
        // A genuine signature verifies exactly when the timestamp is within the window of `now`.
        if let Some(ts) = &timestamp {
            let genuine = secret.sign(ts, &body);
            let fresh = ts.trim().parse::<i64>().is_ok_and(|t| now.abs_diff(t) <= 300);
            prop_assert_eq!(secret.verify(Some(ts), Some(&genuine), &body, now).is_ok(), fresh);
        }
    }
}

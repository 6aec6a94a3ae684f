//! Property tests: hostile input to ingest. Whatever a caller posts, [`parse`], the SNS verifier and the
//! CloudWatch, EventBridge and webhook readers answer (an event or a refusal) without panicking, and what they
//! make stays inside the documented bounds (at most [`MAX_EVENTS`] events, titles one line of at most
//! [`MAX_TITLE_CHARS`] characters, at most [`MAX_FIELDS`] fields). A real AWS-signed message whose signed
//! content is changed in any way is refused.
//!
//! Every property runs a fixed number of cases from a fixed seed, so a run is reproducible; a failure prints
//! the smallest input proptest could shrink it to.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::{RngAlgorithm, RngSeed};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde_json::{Value, json};

use super::flatten::{MAX_FIELDS, MAX_TITLE_CHARS};
use super::sns::certs::tests::FakeFetcher;
use super::sns::{Envelope, HostPattern, SigningCert, SnsVerifier};
use super::test_fixtures::{dir, fixture, fixture_json, fixture_names};
use super::webhook::{self, MAX_EVENTS};
use super::*;

/// The same cases on every run: a fixed seed, no persistence file, a case count small enough for a debug build.
pub(crate) fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(0x6b6c_6178_6f6e),
        ..ProptestConfig::default()
    }
}

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    RUNTIME.with(|rt| rt.block_on(future))
}

/// A verifier with the given fixture folder pinned; its fetcher serves nothing (and counts the attempts).
fn pinned(sub: &str) -> SnsVerifier {
    SnsVerifier::new(
        HostPattern::default(),
        Some(dir().join(sub)),
        Arc::new(FakeFetcher::default()),
    )
}

static REAL: LazyLock<SnsVerifier> = LazyLock::new(|| pinned("sns-signed-real"));
static TEST_SET: LazyLock<SnsVerifier> = LazyLock::new(|| pinned("sns-signed-test"));

/// A message SNS (or the test key) really signed, and the verifier whose pinned certificate verifies it.
struct Signed {
    name: String,
    text: String,
    envelope: Envelope,
    verifier: &'static SnsVerifier,
}

static SIGNED: LazyLock<Vec<Signed>> = LazyLock::new(|| {
    let mut out = Vec::new();
    let mut add = |rel: String, verifier: &'static SnsVerifier| {
        let text = fixture(&rel);
        let envelope = Envelope::from_json(&fixture_json(&rel), None).unwrap();
        out.push(Signed {
            name: rel,
            text,
            envelope,
            verifier,
        });
    };
    for name in fixture_names("sns-signed-real", ".json") {
        add(format!("sns-signed-real/{name}"), &REAL);
    }
    for name in fixture_names("payloads", ".json") {
        if name.contains(".signed.") {
            add(format!("payloads/{name}"), &REAL);
        }
    }
    for name in fixture_names("sns-signed-test", ".json") {
        add(format!("sns-signed-test/{name}"), &TEST_SET);
    }
    out
});

/// Without this the properties below would hold vacuously: every signed fixture verifies as it is.
#[test]
fn every_signed_fixture_verifies_unchanged() {
    assert!(SIGNED.len() >= 19, "{} signed fixtures", SIGNED.len());
    for signed in SIGNED.iter() {
        block_on(signed.verifier.verify_signature(&signed.envelope))
            .unwrap_or_else(|e| panic!("{}: {e}", signed.name));
    }
}

/// Every payload fixture as JSON, and the JSON inside each SNS `Message` (the alarm or event itself).
static PAYLOADS: LazyLock<Vec<Value>> = LazyLock::new(|| {
    let mut out = Vec::new();
    for sub in ["payloads", "sns-signed-real", "sns-signed-test"] {
        for name in fixture_names(sub, ".json") {
            let value = fixture_json(&format!("{sub}/{name}"));
            let inner = [value.pointer("/Message"), value.pointer("/Records/0/Sns/Message")];
            for message in inner.into_iter().flatten().filter_map(Value::as_str) {
                if let Ok(json) = serde_json::from_str::<Value>(message) {
                    out.push(json);
                }
            }
            out.push(value);
        }
    }
    out
});

/// The bounds every event keeps, whoever sent it.
fn check_events(events: &[crate::event::Event]) -> Result<(), TestCaseError> {
    prop_assert!(events.len() <= MAX_EVENTS, "{} events", events.len());
    for e in events {
        prop_assert!(!e.title.contains('\n'), "a title of several lines: {:?}", e.title);
        prop_assert!(
            e.title.chars().count() <= MAX_TITLE_CHARS,
            "a title of {} characters",
            e.title.chars().count()
        );
        prop_assert!(e.fields.len() <= MAX_FIELDS, "{} fields", e.fields.len());
    }
    Ok(())
}

fn check_incoming(incoming: &Incoming) -> Result<(), TestCaseError> {
    match incoming {
        Incoming::Events { events, .. } => check_events(events),
        Incoming::SnsControl(_) => Ok(()),
    }
}

/// Keys the readers look for, so random JSON reaches their deeper branches.
const KEYS: &[&str] = &[
    "AlarmName",
    "NewStateValue",
    "NewStateReason",
    "AlarmArn",
    "AlarmDescription",
    "Region",
    "AWSAccountId",
    "Trigger",
    "Metrics",
    "MetricStat",
    "Metric",
    "Dimensions",
    "name",
    "value",
    "Namespace",
    "MetricName",
    "detail-type",
    "source",
    "detail",
    "version",
    "account",
    "region",
    "resources",
    "alarmName",
    "state",
    "reason",
    "configuration",
    "description",
    "service",
    "eventTypeCode",
    "eventTypeCategory",
    "statusCode",
    "affectedAccount",
    "eventArn",
    "eventRegion",
    "eventDescription",
    "language",
    "latestDescription",
    "affectedEntities",
    "entityValue",
    "severity",
    "id",
    "accountId",
    "title",
    "type",
    "resource",
    "instanceDetails",
    "instanceId",
    "Records",
    "Sns",
    "Type",
    "TopicArn",
    "MessageId",
    "Message",
    "Subject",
    "Timestamp",
    "SignatureVersion",
    "Signature",
    "SigningCertURL",
    "SigningCertUrl",
    "MessageAttributes",
    "Value",
    "key",
    "status",
    "text",
    "url",
    "issueUrl",
    "priority",
    "incident_id",
    "current_state",
    "details",
    "monitorFriendlyName",
    "alertType",
    "alertDetails",
    "0",
    "",
];

/// Values the readers compare against, and awkward text.
const WORDS: &[&str] = &[
    "ALARM",
    "OK",
    "INSUFFICIENT_DATA",
    "aws.cloudwatch",
    "CloudWatch Alarm State Change",
    "aws.health",
    "aws.guardduty",
    "GuardDuty Finding",
    "Notification",
    "SubscriptionConfirmation",
    "closed",
    "CLOSED",
    "resolved",
    "ACTIVATED",
    "en_US",
    "issue",
    "arn:aws:sns:us-east-1:123456789012:t",
    "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:x",
    "arn:",
    "us-east-1",
    "cn-north-1",
    "us-gov-west-1",
    "EU (Ireland)",
    "Europe (Zurich)",
    "São",
    "123456789012",
    "1",
    "P1",
    "critical",
    "AWS_",
    "AWS_EC2_",
    "_",
    "https://x",
    "<@U1>",
    "",
    " ",
    "\n",
    "line one\nline two",
    "é✓\u{0}\r\n",
    "{\"AlarmName\":\"x\"}",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![4 => select(KEYS).prop_map(str::to_owned), 1 => ".{0,12}"]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(WORDS).prop_map(str::to_owned),
        2 => ".{0,40}",
        1 => (select(WORDS), 150..400usize).prop_map(|(w, n)| format!("{w}{}", "é".repeat(n))),
    ]
}

/// Random JSON, mostly made of the readers' own keys and words.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..8)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// Every JSON pointer in `value`.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let escaped = k.replace('~', "~0").replace('/', "~1");
                pointers(v, format!("{at}/{escaped}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                pointers(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

/// A real payload with one of its values (or the whole) replaced by random JSON.
fn mutated_payload() -> impl Strategy<Value = Value> {
    (any::<Index>(), any::<Index>(), json_value()).prop_map(|(which, at, replacement)| {
        let mut value = which.get(&PAYLOADS[..]).clone();
        let mut all = Vec::new();
        pointers(&value, String::new(), &mut all);
        let pointer = at.get(&all).clone();
        if let Some(slot) = value.pointer_mut(&pointer) {
            *slot = replacement;
        }
        value
    })
}

fn content_type() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        select(
            &[
                "application/json",
                "application/json; charset=utf-8",
                "application/x-www-form-urlencoded",
                "text/plain; charset=UTF-8",
                "application/octet-stream",
            ][..]
        )
        .prop_map(|s| Some(s.to_owned())),
        "[ -~]{0,30}".prop_map(Some),
    ]
}

fn headers(content_type: Option<&str>, sns_type: Option<&str>, alert_key: Option<&str>) -> HeaderMap {
    let mut h = HeaderMap::new();
    let mut put = |name: &'static str, value: Option<&str>| {
        if let Some(v) = value.and_then(|v| HeaderValue::from_str(v).ok()) {
            h.insert(HeaderName::from_static(name), v);
        }
    };
    put("content-type", content_type);
    put(sns::MESSAGE_TYPE_HEADER, sns_type);
    put(webhook::ALERT_KEY_HEADER, alert_key);
    h
}

/// Byte edits: (position, replacement); an edit past the end inserts.
fn byte_edits() -> impl Strategy<Value = Vec<(Index, Option<u8>)>> {
    prop::collection::vec((any::<Index>(), any::<Option<u8>>()), 1..4)
}

fn apply_edits(bytes: &mut Vec<u8>, edits: &[(Index, Option<u8>)]) {
    for (at, edit) in edits {
        if bytes.is_empty() {
            bytes.extend(edit);
            continue;
        }
        let i = at.index(bytes.len());
        match edit {
            Some(b) if bytes[i] == *b => bytes.insert(i, *b),
            Some(b) => bytes[i] = *b,
            None => {
                bytes.remove(i);
            }
        }
    }
}

/// Parses as the handler does and checks what comes out; for SNS, verifies against the pinned certificates
/// and takes the unsigned path too (an endpoint with relaxed checks).
fn through_ingest(
    headers: &HeaderMap,
    method: &Method,
    query: Option<&str>,
    body: &[u8],
    made_up: bool,
) -> Result<(), TestCaseError> {
    match parse(headers, method, query, body) {
        Err(_) => {}
        Ok(Parsed::Webhook(incoming)) => check_incoming(&incoming)?,
        Ok(Parsed::Sns(message)) => {
            if let Ok(incoming) = message.clone().accept_unsigned(&[]) {
                check_incoming(&incoming)?;
            }
            let verified = block_on(sns::verify(message, &REAL, &[]));
            match verified {
                // Whatever it claims, a message made up here has no genuine signature.
                Ok(incoming) if made_up => {
                    prop_assert!(false, "a made-up SNS message verified: {incoming:?}");
                }
                Ok(incoming) => check_incoming(&incoming)?,
                Err(_) => {}
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_bytes_never_panic(
        content_type in content_type(),
        sns_type in prop::option::of(select(&["Notification", "SubscriptionConfirmation", "Nope", ""][..])),
        alert_key in prop::option::of("[ -~]{0,10}"),
        get in any::<bool>(),
        query in prop::option::of(".{0,60}"),
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..600),
            ".{0,300}".prop_map(String::into_bytes),
        ],
    ) {
        let h = headers(content_type.as_deref(), sns_type, alert_key.as_deref());
        let method = if get { Method::GET } else { Method::POST };
        through_ingest(&h, &method, query.as_deref(), &body, true)?;
    }

    #[test]
    fn random_json_as_any_content_type_never_panics_and_stays_bounded(
        value in json_value(),
        content_type in content_type(),
        as_form_payload in any::<bool>(),
    ) {
        let text = value.to_string();
        let body = if as_form_payload {
            format!("payload={}", form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>())
        } else {
            text
        };
        let h = headers(content_type.as_deref(), None, None);
        through_ingest(&h, &Method::POST, None, body.as_bytes(), true)?;
    }

    #[test]
    fn mutated_real_payloads_never_panic_and_stay_bounded(value in mutated_payload()) {
        if let Some(event) = cloudwatch::from_alarm(&value) {
            check_events(&[event])?;
        }
        if let Some(event) = eventbridge::from_event(&value) {
            check_events(&[event])?;
        }
        // Posted as it is, with a query string whose fields join the body's.
        let h = headers(Some("application/json"), None, None);
        through_ingest(&h, &Method::POST, Some("q=1"), value.to_string().as_bytes(), false)?;
        if let Ok(envelope) = Envelope::from_json(&value, None) {
            check_events(&sns::notification_events(&envelope))?;
            let _ = envelope.string_to_sign();
        }
        // The same JSON as the `Message` of an SNS notification.
        let mut envelope = SIGNED[0].envelope.clone();
        envelope.message = value.to_string();
        check_events(&sns::notification_events(&envelope))?;
    }

    #[test]
    fn form_bodies_and_queries_of_any_size_keep_the_field_bound(
        names in prop::collection::vec("[a-z]{1,6}", 0..400),
        in_query in any::<bool>(),
    ) {
        let pairs: String = names.iter().map(|n| format!("{n}=v&")).collect();
        let h = headers(Some("application/x-www-form-urlencoded"), None, None);
        let (method, query, body) = if in_query {
            (Method::GET, Some(pairs.as_str()), "")
        } else {
            (Method::POST, None, pairs.as_str())
        };
        through_ingest(&h, &method, query, body.as_bytes(), true)?;
    }
}

proptest! {
    // Each case verifies an RSA signature; fewer cases keep a debug run within seconds.
    #![proptest_config(config(128))]

    /// Random byte edits of real signed messages: refused, unless the edit left every signed field as it was
    /// (white space, an unsigned field).
    #[test]
    fn edited_bytes_of_a_signed_message_verify_only_if_the_signed_content_is_unchanged(
        which in any::<Index>(),
        edits in byte_edits(),
    ) {
        let signed = which.get(&SIGNED[..]);
        let mut bytes = signed.text.clone().into_bytes();
        apply_edits(&mut bytes, &edits);
        let h = headers(Some("text/plain; charset=UTF-8"), Some(signed.envelope.message_type.as_str()), None);
        if let Ok(Parsed::Sns(message)) = parse(&h, &Method::POST, None, &bytes) {
            let envelope = message.envelope();
            if block_on(signed.verifier.verify_signature(envelope)).is_ok() {
                prop_assert_eq!(
                    envelope.string_to_sign(),
                    signed.envelope.string_to_sign(),
                    "{} verified with its signed content changed",
                    &signed.name
                );
                check_incoming(&message.clone().accept_unsigned(&[]).unwrap())?;
            }
        }
    }

    /// Any change to any signed field (or adding, removing or changing `Subject`, or the signature) is refused.
    #[test]
    fn any_change_to_a_signed_field_is_refused(
        which in any::<Index>(),
        field in select(&["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type", "SubscribeURL",
            "Token", "Signature", "SignatureVersion"][..]),
        replacement in prop_oneof![text(), ".{0,20}", Just("SubscriptionConfirmation".to_owned())],
        drop_field in any::<bool>(),
    ) {
        let signed = which.get(&SIGNED[..]);
        let notification = signed.envelope.message_type == sns::MessageType::Notification;
        // What the signature covers for this type, and the signature itself.
        let covered = match field {
            "Subject" => notification,
            "SubscribeURL" | "Token" => !notification,
            _ => true,
        };
        prop_assume!(covered);
        let mut value: Value = serde_json::from_str(&signed.text).unwrap();
        let obj = value.as_object_mut().unwrap();
        // JSON null is an absent field (Lambda's copies say `"Subject": null`).
        let present = |v: Option<&Value>| v.filter(|v| !v.is_null()).cloned();
        let before = present(obj.get(field));
        if drop_field {
            obj.remove(field);
        } else {
            obj.insert(field.to_owned(), Value::String(replacement));
        }
        prop_assume!(present(obj.get(field)) != before);
        // SignatureVersion is not signed, but a different one is a different algorithm: still refused.
        let outcome = match Envelope::from_json(&value, None) {
            Err(_) => None,
            Ok(envelope) => Some(block_on(signed.verifier.verify_signature(&envelope))),
        };
        prop_assert!(
            !matches!(outcome, Some(Ok(_))),
            "{}: {field} changed from {before:?} and it still verified",
            &signed.name
        );
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// A certificate URL or `SubscribeURL` is accepted only as https on an SNS host, whatever the string.
    #[test]
    fn only_https_sns_hosts_pass_the_url_checks(
        raw in prop_oneof![
            ".{0,60}",
            ("(https?|ftp)", "[a-z0-9.:@\\[\\]-]{0,40}", "(/[a-z.]{0,8})?").prop_map(|(s, h, p)| format!("{s}://{h}{p}")),
            select(&[
                "https://sns.us-east-1.amazonaws.com/x.pem",
                "https://sns.us-east-1.amazonaws.com.evil.example/x.pem",
                "https://evil.example/sns.us-east-1.amazonaws.com/x.pem",
                "https://sns.us-east-1.amazonaws.com@127.0.0.1/x.pem",
                "https://127.0.0.1#@sns.us-east-1.amazonaws.com/",
                "https://[::1]/x.pem",
                "https://sns.cn-north-1.amazonaws.com.cn/x.pem",
            ][..]).prop_map(str::to_owned),
        ],
    ) {
        for url in [REAL.check_cert_url(&raw), REAL.check_subscribe_url(&raw)].into_iter().flatten() {
            let host = url.host_str().unwrap_or_default();
            prop_assert_eq!(url.scheme(), "https");
            prop_assert!(
                host.starts_with("sns.") && (host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn")),
                "{raw} passed with host {host}"
            );
        }
    }

    /// A signing certificate with edited bytes, or with any text in its validity dates, is refused or read;
    /// never a panic.
    #[test]
    fn edited_certificates_never_panic(
        which in select(&[
            "sns-signed-real/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem",
            "sns-signed-real/SimpleNotificationService-b95095beb82e8f6a046b3aafc7f4149a.pem",
            "sns-signed-test/SimpleNotificationService-test.pem",
        ][..]),
        edits in byte_edits(),
        date in "[0-9é✓Z]{0,12}",
        pinned in any::<bool>(),
    ) {
        let pem = fixture(which);
        let der = CertificateDer::from_pem_slice(pem.as_bytes()).unwrap().to_vec();
        let mut dated = der.clone();
        // Each UTCTime of the validity: tag 0x17, length 13. Its text becomes `date`, cut or padded to 12 bytes,
        // and `Z`.
        let mut text = date.into_bytes();
        text.resize(12, b'0');
        text.push(b'Z');
        for at in 0..dated.len().saturating_sub(15) {
            if dated[at] == 0x17 && dated[at + 1] == 13 {
                dated[at + 2..at + 15].copy_from_slice(&text);
            }
        }
        let mut edited = der;
        apply_edits(&mut edited, &edits);
        for bytes in [dated, edited] {
            let _ = SigningCert::parse(&bytes, pinned);
            let pem = format!(
                "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &bytes)
            );
            let _ = SigningCert::parse(pem.as_bytes(), pinned);
        }
    }
}

#[test]
fn deeply_nested_json_is_a_clean_refusal() {
    for depth in [200usize, 100_000] {
        for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
            let body = format!("{}1{}", open.repeat(depth), close.repeat(depth));
            for content_type in [
                "application/json",
                "text/plain",
                "application/x-www-form-urlencoded",
            ] {
                let h = headers(Some(content_type), None, None);
                match parse(&h, &Method::POST, None, body.as_bytes()) {
                    // Too large, or too deep for JSON and read as text (one bounded event).
                    Err(r) => assert!(
                        matches!(r.reason(), Reason::MalformedBody | Reason::TooLarge),
                        "{r}"
                    ),
                    Ok(Parsed::Webhook(incoming)) => check_incoming(&incoming).unwrap(),
                    Ok(other) => panic!("{other:?}"),
                }
            }
            // The same inside an SNS message: the envelope parses, the message is shown as text.
            let mut envelope = SIGNED[0].envelope.clone();
            envelope.message = body.clone();
            check_events(&sns::notification_events(&envelope)).unwrap();
        }
    }
}

#[test]
fn huge_inputs_stay_bounded() {
    // A long title, a form of many fields, many SNS attributes, a long alarm name: all cut to the bounds.
    let long = "x".repeat(10_000);
    let h = headers(Some("application/json"), None, None);
    let alarm = json!({"AlarmName": long, "NewStateValue": "ALARM"}).to_string();
    let Ok(Parsed::Webhook(incoming)) = parse(&h, &Method::POST, None, alarm.as_bytes()) else {
        panic!("an alarm posted as a webhook is a webhook")
    };
    check_incoming(&incoming).unwrap();
    let Incoming::Events { events, .. } = incoming else {
        panic!()
    };
    assert!(
        events[0].group_key.ends_with(&long),
        "the group key keeps the whole name"
    );

    let form: String = (0..5000).map(|i| format!("f{i}=v&")).collect();
    let h = headers(Some("application/x-www-form-urlencoded"), None, None);
    let Ok(Parsed::Webhook(incoming)) = parse(&h, &Method::POST, None, form.as_bytes()) else {
        panic!()
    };
    check_incoming(&incoming).unwrap();

    let mut envelope = SIGNED[0].envelope.clone();
    envelope.subject = None;
    envelope.message = "plain".into();
    envelope.message_attributes = (0..5000)
        .map(|i| (format!("a{i}"), "v".to_owned()))
        .collect::<BTreeMap<_, _>>();
    check_events(&sns::notification_events(&envelope)).unwrap();
}

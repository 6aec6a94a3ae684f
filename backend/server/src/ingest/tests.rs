//! Through [`parse`], the way the HTTP handler will call it: every payload fixture is recognised as what its
//! README says, with a snapshot of the fields people see; and the request-level refusals.

use http::{HeaderMap, HeaderValue, Method};

use super::test_fixtures::{fixture, fixture_headers, fixture_names};
use super::*;
use crate::event::{EventStatus, Severity};

/// What a fixture must become: (title, group_key, status, severity, link).
type Snapshot = (
    &'static str,
    &'static str,
    EventStatus,
    Severity,
    Option<&'static str>,
);

const FIRING: EventStatus = EventStatus::Firing;
const RESOLVED: EventStatus = EventStatus::Resolved;

#[rustfmt::skip]
const SNAPSHOTS: &[(&str, Snapshot)] = &[
    ("cw-alarm-ALARM-metricmath.sns-lambda-envelope.aws-lambda-go.json",
        ("ALARM: EXAMPLE", "cw:::EXAMPLE", FIRING, Severity::Error, None)),
    ("cw-alarm-ALARM.sns-http.cloudforet-2021-06-23.json",
        ("ALARM: EC2-CPU", "cw:257706363616:ap-northeast-2:EC2-CPU", FIRING, Severity::Error,
         Some("https://ap-northeast-2.console.aws.amazon.com/cloudwatch/home?region=ap-northeast-2#alarmsV2:alarm/EC2-CPU"))),
    ("cw-alarm-ALARM.sns-lambda-envelope.aws-lambda-go.json",
        ("ALARM: EXAMPLE", "cw:123456789012::EXAMPLE", FIRING, Severity::Error, None)),
    ("cw-alarm-OK.sns-http.cloudforet-2021-06-27.json",
        ("OK: ContainerInsight-pod_cpu_utilization", "cw:257706363616:ap-northeast-2:ContainerInsight-pod_cpu_utilization",
         RESOLVED, Severity::Info,
         Some("https://ap-northeast-2.console.aws.amazon.com/cloudwatch/home?region=ap-northeast-2#alarmsV2:alarm/ContainerInsight-pod_cpu_utilization"))),
    ("eventbridge-aws-health-abuse.via-sns-http.signed.cloudforet-3.json",
        ("AWS Health ABUSE: Dos report",
         "health:123456789012:arn:aws:health:global::event/AWS_ABUSE_DOS_REPORT_92387492375_4498_2018_08_01_02_33_00",
         FIRING, Severity::Error, Some("https://phd.aws.amazon.com/phd/home?region=us-east-1#/dashboard/open-issues"))),
    ("eventbridge-aws-health-abuse.via-sns-http.signed.cloudforet-4.json",
        ("AWS Health ABUSE: Copyright dmca report",
         "health:123456789012:arn:aws:health:global::event/AWS_ABUSE_COPYRIGHT_DMCA_REPORT_2345235545_5323_2018_08_02_02_12_98",
         FIRING, Severity::Error, Some("https://phd.aws.amazon.com/phd/home?region=us-east-1#/dashboard/open-issues"))),
    ("eventbridge-aws-health-issue.via-sns-http.signed.cloudforet-1.json",
        ("AWS Health ELASTICLOADBALANCING: Api issue",
         "health:123456789012:arn:aws:health:ap-southeast-2::event/AWS_ELASTICLOADBALANCING_API_ISSUE_90353408594353980",
         FIRING, Severity::Error, Some("https://phd.aws.amazon.com/phd/home?region=ap-southeast-2#/dashboard/open-issues"))),
    ("eventbridge-aws-health.via-sns-http.BADSIG.cloudforet-5.json",
        ("AWS Health ACM: Renewal state change",
         "health:1234567890:arn:aws:health:us-east-1::event/ACM/AWS_ACM_RENEWAL_STATE_CHANGE/AWS_ACM_RENEWAL_STATE_CHANGE-837a9d58-dd89-441a-bee9-fea9425565e2",
         FIRING, Severity::Info, Some("https://phd.aws.amazon.com/phd/home?region=us-east-1#/dashboard/open-issues"))),
    ("eventbridge-aws-health.via-sns-http.signed.cloudforet-2.json",
        ("AWS Health EC2: Instance store drive performance degraded",
         "health:123456789012:arn:aws:health:us-west-2::event/AWS_EC2_INSTANCE_STORE_DRIVE_PERFORMANCE_DEGRADED_90353408594353980",
         FIRING, Severity::Error, Some("https://phd.aws.amazon.com/phd/home?region=us-west-2#/dashboard/open-issues"))),
    ("eventbridge-cloudwatch-alarm-state-change.ALARM.json",
        ("ALARM: ServerCpuTooHigh", "cw:123456789012:us-east-1:ServerCpuTooHigh", FIRING, Severity::Error,
         Some("https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/ServerCpuTooHigh"))),
    ("newrelic-legacy-incident-opened.zulip.json",
        ("Server Down: I am a test Violation", "newrelic:incident:1234", FIRING, Severity::Critical,
         Some("https://alerts.newrelic.com/accounts/2941966/incidents/1234"))),
    ("newrelic-workflow-issue-activated.zulip.json",
        ("zulip_app query result is > 1.0 for 1 minutes on 'Zulip Server Low Storage'",
         "newrelic:issue:c5faa7e6-7b54-402d-af79-f99601e0278c", FIRING, Severity::Critical,
         Some("https://radar-api.service.newrelic.com/accounts/4420147/issues/c5faa7e6-7b54-402d-af79-f99601e0278c?notifier=WEBHOOK"))),
    ("newrelic-workflow-issue-closed.zulip.json",
        ("main_app-UBUNTU query result is > 2.0 for 1 minutes on 'High CPU'",
         "newrelic:issue:95a9344a-2590-48ce-8d83-07e28b6d22c6", RESOLVED, Severity::Info,
         Some("https://radar-api.service.newrelic.com/accounts/1/issues/0ea2df1c-adab-45d2-aae0-042b609d2322?notifier=SLACK"))),
    ("sns-http-notification.awsdocs.json",
        ("My First Message", "sns:arn:aws:sns:us-west-2:123456789012:MyTopic:My First Message", FIRING, Severity::Warning,
         Some("https://us-west-2.console.aws.amazon.com/sns/v3/home?region=us-west-2#/topic/arn:aws:sns:us-west-2:123456789012:MyTopic"))),
    ("uptimerobot-monitor-down.zulip.json",
        ("Web Server is down: Host Is Unreachable", "uptimerobot:server1.example.com", FIRING, Severity::Error, None)),
    ("uptimerobot-monitor-up.zulip.json",
        ("Mail Server is up: Host Is Reachable", "uptimerobot:server2.example.com", RESOLVED, Severity::Info, None)),
];

/// Confirmations: (file, kind).
const CONTROLS: &[(&str, SnsControlKind)] = &[
    (
        "sns-http-subscription-confirmation.awsdocs.json",
        SnsControlKind::SubscriptionConfirmation,
    ),
    (
        "sns-http-unsubscribe-confirmation.awsdocs.json",
        SnsControlKind::UnsubscribeConfirmation,
    ),
];

/// A POST of a fixture with its captured headers, or SNS's `text/plain` when there are none.
fn post(name: &str) -> Result<Parsed, Rejection> {
    let headers_file = format!("payloads/{}", name.replace(".json", ".headers.txt"));
    let headers = if super::test_fixtures::dir().join(&headers_file).exists() {
        fixture_headers(&headers_file)
    } else {
        let mut h = HeaderMap::new();
        h.insert(
            "content-type",
            HeaderValue::from_static("text/plain; charset=UTF-8"),
        );
        h
    };
    parse(
        &headers,
        &Method::POST,
        None,
        fixture(&format!("payloads/{name}")).as_bytes(),
    )
}

/// The content, unsigned for SNS (signatures have their own tests; these doc samples have placeholders).
fn content(parsed: Parsed) -> Incoming {
    match parsed {
        Parsed::Webhook(incoming) => incoming,
        Parsed::Sns(message) => message.accept_unsigned(&[]).unwrap(),
    }
}

#[test]
fn every_payload_fixture_is_covered_by_a_snapshot() {
    let mut covered: Vec<&str> = SNAPSHOTS.iter().map(|(n, _)| *n).collect();
    covered.extend(CONTROLS.iter().map(|(n, _)| *n));
    covered.sort_unstable();
    assert_eq!(covered, fixture_names("payloads", ".json"));
}

#[test]
fn every_payload_fixture_becomes_the_expected_event() {
    for (name, (title, key, status, severity, link)) in SNAPSHOTS {
        let parsed = post(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let sns_expected = name.contains("sns-http");
        assert_eq!(
            matches!(parsed, Parsed::Sns(_)),
            sns_expected,
            "{name}: recognised as SNS or not"
        );
        let Incoming::Events { events, dedup_id } = content(parsed) else {
            panic!("{name}: not events")
        };
        assert_eq!(dedup_id.is_some(), sns_expected, "{name}: dedup id");
        assert_eq!(events.len(), 1, "{name}");
        let e = &events[0];
        assert_eq!(
            (
                e.title.as_str(),
                e.group_key.as_str(),
                e.status,
                e.severity,
                e.link.as_deref()
            ),
            (*title, *key, *status, *severity, *link),
            "{name}"
        );
        assert!(!e.fields.is_empty(), "{name}: fields");
    }
}

#[test]
fn sns_confirmations_parse_by_header_and_by_body() {
    for (name, kind) in CONTROLS {
        let Incoming::SnsControl(control) = content(post(name).unwrap()) else {
            panic!("{name}")
        };
        assert_eq!(control.kind, *kind);
        assert_eq!(control.topic_arn, "arn:aws:sns:us-west-2:123456789012:MyTopic");
        assert!(
            control
                .subscribe_url
                .starts_with("https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription")
        );
        assert!(!control.token.is_empty());
    }
}

#[test]
fn an_sns_header_with_a_broken_body_or_missing_field_is_400() {
    let mut headers = HeaderMap::new();
    headers.insert(sns::MESSAGE_TYPE_HEADER, HeaderValue::from_static("Notification"));
    let err = parse(&headers, &Method::POST, None, b"{not json").unwrap_err();
    assert_eq!(
        (err.reason(), err.status()),
        (Reason::MalformedBody, http::StatusCode::BAD_REQUEST)
    );
    let no_signature =
        br#"{"Type":"Notification","MessageId":"m","TopicArn":"t","Message":"x","Timestamp":"t",
        "SignatureVersion":"1","SigningCertURL":"https://sns.us-east-1.amazonaws.com/x.pem"}"#;
    let err = parse(&headers, &Method::POST, None, no_signature).unwrap_err();
    assert_eq!(
        err,
        Rejection::MissingSnsField {
            message_type: "Notification".into(),
            field: "Signature"
        }
    );
    assert_eq!(err.status(), http::StatusCode::BAD_REQUEST);
    // Without the header the body's Type still makes it SNS, with the same error.
    assert_eq!(
        parse(&HeaderMap::new(), &Method::POST, None, no_signature)
            .unwrap_err()
            .reason(),
        Reason::MissingSnsField
    );
}

#[test]
fn size_method_and_query_rules() {
    let big = vec![b'x'; MAX_BODY_BYTES + 1];
    let err = parse(&HeaderMap::new(), &Method::POST, None, &big).unwrap_err();
    assert_eq!(
        (err.reason(), err.status()),
        (Reason::TooLarge, http::StatusCode::PAYLOAD_TOO_LARGE)
    );
    let mut sns_headers = HeaderMap::new();
    sns_headers.insert(sns::MESSAGE_TYPE_HEADER, HeaderValue::from_static("Notification"));
    // SNS gets room for a full 256 KiB message in its envelope: the same size fails later, on the JSON.
    assert_eq!(
        parse(&sns_headers, &Method::POST, None, &big)
            .unwrap_err()
            .reason(),
        Reason::MalformedBody
    );
    let err = parse(&HeaderMap::new(), &Method::PUT, None, b"x").unwrap_err();
    assert_eq!(
        (err.reason(), err.status()),
        (Reason::MethodNotAllowed, http::StatusCode::METHOD_NOT_ALLOWED)
    );
    assert_eq!(
        parse(&HeaderMap::new(), &Method::GET, None, b"")
            .unwrap_err()
            .reason(),
        Reason::MethodNotAllowed
    );
    let Ok(Parsed::Webhook(Incoming::Events { events, .. })) = parse(
        &HeaderMap::new(),
        &Method::GET,
        Some("monitorFriendlyName=Shop&alertType=2&monitorID=9"),
        b"",
    ) else {
        panic!()
    };
    assert_eq!(
        (events[0].title.as_str(), events[0].status),
        ("Shop is up", EventStatus::Resolved)
    );
}

#[test]
fn topics_are_checked_only_when_some_are_allowed() {
    let allowed = vec!["arn:aws:sns:eu-west-1:111122223333:alerts".to_owned()];
    assert!(check_topic("arn:aws:sns:eu-west-1:111122223333:alerts", &allowed).is_ok());
    assert!(check_topic("anything", &[]).is_ok());
    let err = check_topic("arn:aws:sns:eu-west-1:999999999999:alerts", &allowed).unwrap_err();
    assert_eq!(
        (err.reason(), err.status()),
        (Reason::ForeignTopic, http::StatusCode::FORBIDDEN)
    );
}

#[test]
fn arns_split_into_region_account_resource() {
    assert_eq!(
        arn_parts("arn:aws:sns:us-east-1:123:topic"),
        Some(("us-east-1", "123", "topic"))
    );
    assert_eq!(
        arn_parts("arn:aws:health:global::event/X:Y"),
        Some(("global", "", "event/X:Y"))
    );
    assert_eq!(arn_parts("EXAMPLE"), None);
}

//! SNS end to end against a real `klaxon serve`: the subscription handshake (a signed SubscriptionConfirmation,
//! the confirmation GET to a local stand-in for SNS's host, then a signed Notification that becomes an
//! alert), and moto as the SNS API (CreateTopic, Subscribe the endpoint, Publish a CloudWatch alarm).

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use klaxon_tests::{
    Server, TempDir,
    moto::Moto,
    sns::{ConfirmStandIn, Signer, timestamp_now},
    workspace_root,
};
use serde_json::{Value, json};

fn api(server: &Server, token: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let mut req = reqwest::blocking::Client::new()
        .request(method, format!("{}{path}", server.url))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().unwrap();
    let status = resp.status();
    let v: Value = resp.json().unwrap();
    assert!(status.is_success(), "{path}: {status} {v}");
    v
}

/// A team and an endpoint; returns the endpoint.
fn endpoint(server: &Server, token: &str, allowed: &[&str]) -> Value {
    let team = api(
        server,
        token,
        reqwest::Method::POST,
        "/v1/teams",
        Some(json!({"name": "sre", "slack_channel": "C0123ABCDE"})),
    );
    api(
        server,
        token,
        reqwest::Method::POST,
        "/v1/endpoints",
        Some(json!({"team_id": team["id"], "name": "aws", "allowed_topic_arns": allowed})),
    )
}

fn alarm(name: &str, state: &str) -> String {
    json!({
        "AlarmName": name,
        "AlarmDescription": "p99 latency over 2 s",
        "AWSAccountId": "123456789012",
        "NewStateValue": state,
        "NewStateReason": "Threshold Crossed",
        "StateChangeTime": "2026-11-27T01:00:00.000+0000",
        "Region": "EU (Ireland)",
        "AlarmArn": format!("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:{name}"),
        "OldStateValue": "OK",
        "Trigger": {"MetricName": "Latency", "Namespace": "AWS/ApplicationELB", "Statistic": "Average",
                    "Period": 60, "EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanThreshold", "Threshold": 2.0,
                    "Dimensions": []}
    })
    .to_string()
}

#[test]
fn subscription_handshake_then_notification() {
    let dir = TempDir::new("sns-e2e");
    let certs = dir.path().join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::copy(
        workspace_root().join("tests/fixtures/SimpleNotificationService-test.pem"),
        certs.join("SimpleNotificationService-test.pem"),
    )
    .unwrap();
    let ca = dir.path().join("standin-ca.pem");
    let standin = ConfirmStandIn::start(&ca);
    let db = format!("sqlite://{}", dir.path().join("k.db").display());
    let server = Server::start(
        &db,
        TempDir::new("sns-serve"),
        &[
            ("KLAXON_SNS_CERT_DIR", certs.to_str().unwrap()),
            (
                "KLAXON_SNS_CERT_HOSTS",
                r"sns\.[a-z0-9-]+\.amazonaws\.com|127\.0\.0\.1",
            ),
            ("KLAXON_SNS_CA_FILE", ca.to_str().unwrap()),
        ],
    );
    let token = server.create_account("sns");
    let topic = "arn:aws:sns:us-east-1:123456789012:alerts";
    let ep = endpoint(&server, &token, &[topic]);
    let sns_url = ep["sns_url"].as_str().unwrap();
    let signer = Signer::test_key();
    let post = |kind: &str, msg: &Value| {
        reqwest::blocking::Client::new()
            .post(sns_url)
            .header("x-amz-sns-message-type", kind)
            .header("content-type", "text/plain; charset=UTF-8")
            .body(msg.to_string())
            .send()
            .unwrap()
    };

    // 1. SubscriptionConfirmation: verified, then confirmed by a GET of SubscribeURL on the stand-in.
    let subscribe_url = format!(
        "{}/?Action=ConfirmSubscription&TopicArn={topic}&Token=tok-123",
        standin.url
    );
    let confirmation = signer.sign(&[
        ("Type", "SubscriptionConfirmation"),
        ("MessageId", "m-1"),
        ("Token", "tok-123"),
        ("TopicArn", topic),
        ("Message", "You have chosen to subscribe to the topic."),
        ("SubscribeURL", &subscribe_url),
        ("Timestamp", &timestamp_now(0)),
    ]);
    let resp = post("SubscriptionConfirmation", &confirmation);
    let status = resp.status();
    let body: Value = resp.json().unwrap();
    assert_eq!(status, 200, "{body}\n{}", server.log());
    assert_eq!(body["status"], "confirmed");
    let seen = standin.requests.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].starts_with("GET /?Action=ConfirmSubscription") && seen[0].contains("Token=tok-123"),
        "{seen:?}"
    );

    // A confirmation whose SubscribeURL leaves the allowed hosts is refused without any request.
    let evil = signer.sign(&[
        ("Type", "SubscriptionConfirmation"),
        ("MessageId", "m-2"),
        ("Token", "t"),
        ("TopicArn", topic),
        ("Message", "x"),
        (
            "SubscribeURL",
            "https://attacker.example/?Action=ConfirmSubscription",
        ),
        ("Timestamp", &timestamp_now(1000)),
    ]);
    assert_eq!(post("SubscriptionConfirmation", &evil).status(), 403);
    assert_eq!(standin.requests.lock().unwrap().len(), 1);

    // 2. A Notification with a CloudWatch alarm becomes an alert.
    let message = alarm("api-latency", "ALARM");
    let note = signer.sign(&[
        ("Type", "Notification"),
        ("MessageId", "m-3"),
        ("TopicArn", topic),
        ("Subject", "ALARM: \"api-latency\" in EU (Ireland)"),
        ("Message", &message),
        ("Timestamp", &timestamp_now(2000)),
    ]);
    let resp = post("Notification", &note);
    assert_eq!(resp.status(), 200);
    let alerts = api(&server, &token, reqwest::Method::GET, "/v1/alerts", None);
    let items = alerts["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{alerts}");
    assert!(
        items[0]["title"].as_str().unwrap().contains("api-latency"),
        "{alerts}"
    );
    assert_eq!(items[0]["status"], "open");
}

#[test]
fn moto_publish_becomes_an_alert() {
    let Some(moto) = Moto::start() else { return };
    let server = Server::start_sqlite_with(
        // moto signs with certificates it does not publish: this set-up reads SNS without signature checks
        // (the topic is still checked against the endpoint's allowed topics).
        &[("KLAXON_SNS_VERIFY_SIGNATURES", "false")],
    );
    let token = server.create_account("moto");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = rt.block_on(
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .endpoint_url(&moto.url)
            .credentials_provider(aws_sdk_sns::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .load(),
    );
    let sns = aws_sdk_sns::Client::new(&config);
    let topic = rt
        .block_on(sns.create_topic().name("alarms").send())
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    let ep = endpoint(&server, &token, &[&topic]);
    let sns_url = ep["sns_url"].as_str().unwrap();
    rt.block_on(
        sns.subscribe()
            .topic_arn(&topic)
            .protocol("http")
            .endpoint(sns_url)
            .send(),
    )
    .unwrap();
    // moto POSTs to the subscriber during Publish (and fails the Publish if the subscriber fails).
    rt.block_on(
        sns.publish()
            .topic_arn(&topic)
            .message(alarm("db-cpu", "ALARM"))
            .send(),
    )
    .unwrap();
    let alerts = api(&server, &token, reqwest::Method::GET, "/v1/alerts", None);
    let items = alerts["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{alerts}\n{}", server.log());
    assert!(items[0]["title"].as_str().unwrap().contains("db-cpu"), "{alerts}");
    // The OK of the same alarm auto-closes it.
    rt.block_on(
        sns.publish()
            .topic_arn(&topic)
            .message(alarm("db-cpu", "OK"))
            .send(),
    )
    .unwrap();
    let alerts = api(
        &server,
        &token,
        reqwest::Method::GET,
        &format!("/v1/alerts/{}", items[0]["id"].as_str().unwrap()),
        None,
    );
    assert_eq!(alerts["status"], "closed", "{alerts}");
}

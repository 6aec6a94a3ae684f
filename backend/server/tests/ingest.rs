//! `POST /ingest/{token}` through the router, on SQLite and on PostgreSQL: every fixture format, grouping and
//! auto-close, SNS signatures (real AWS-signed messages, the self-signed set, a tampered byte, BADSIG), and
//! every refusal answering its status while storing nothing; old SNS message ids purged and old messages
//! refused.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    body::Body,
    http::{Method, Request, StatusCode},
};
use http_body_util::BodyExt as _;
use klaxon::{
    alerts::batch::{BatchSettings, Batcher},
    http::{AppState, ingest::IngestState, router},
    ingest::{
        Reason,
        rate_limit::RateLimit,
        sns::{Clock, FetchError, Fetcher, HostPattern, MAX_MESSAGE_AGE, SnsVerifier},
    },
    store::{IngestEndpoint, MESSAGE_ID_RETENTION, Store},
};
use klaxon_db::{Database, dual_test};
use serde_json::{Value, json};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use tower::ServiceExt as _;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn fixture(path: &str) -> String {
    std::fs::read_to_string(fixtures().join(path)).unwrap()
}

/// Offline: every certificate a test needs is pinned.
#[derive(Debug)]
struct NoFetch;

#[async_trait::async_trait]
impl Fetcher for NoFetch {
    async fn get(&self, _url: &url::Url) -> Result<Vec<u8>, FetchError> {
        Err(FetchError::Transport("offline test".into()))
    }
}

/// A directory with the real AWS certificates and the test set's certificate, by their URL file names.
fn cert_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("klaxon-certs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for src in ["sns-signed-real", "sns-signed-test"] {
        for entry in std::fs::read_dir(fixtures().join(src)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("SimpleNotificationService-") {
                std::fs::copy(&path, dir.join(name)).unwrap();
            }
        }
    }
    dir
}

struct App {
    router: Router,
    store: Store,
    token: String,
    state: AppState,
    /// The SNS verifier's clock: the fixtures were signed years ago.
    now: Arc<Mutex<OffsetDateTime>>,
}

async fn app_with(db: Database, verify: bool, rate: RateLimit) -> App {
    klaxon_queue::MIGRATOR.run(&db).await.unwrap();
    let store = Store::new(db.clone(), klaxon::secrets::Secrets::ephemeral(db.clone()));
    store.migrate().await.unwrap();
    let token = store.create_account("a").await.unwrap().token;
    let mut state = AppState::new(store.clone(), "https://klaxon.test");
    let now = Arc::new(Mutex::new(OffsetDateTime::now_utc()));
    let clock = Arc::clone(&now);
    let verifier = SnsVerifier::new(HostPattern::default(), Some(cert_dir()), Arc::new(NoFetch))
        .with_clock(Clock::from_fn(move || *clock.lock().unwrap()));
    let batcher = Batcher::spawn(&store, &state.queue, BatchSettings::default());
    state.ingest = Arc::new(IngestState::new(verifier, verify, rate, batcher));
    App {
        router: router(state.clone()),
        store,
        token,
        state,
        now,
    }
}

async fn app(db: Database) -> App {
    app_with(db, true, RateLimit::default()).await
}

impl App {
    async fn call(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (StatusCode, Value, Option<String>) {
        // An SNS message arrives a minute after it was sent, as SNS would deliver it (tests of the age rule
        // set the clock with `post_at`).
        if let Some(sent) = sent_at(&body) {
            *self.now.lock().unwrap() = sent + time::Duration::minutes(1);
        }
        self.send(method, path, headers, body).await
    }

    /// Posts with the SNS verifier's clock at `now`, whatever the message's `Timestamp`.
    async fn post_at(
        &self,
        now: OffsetDateTime,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (StatusCode, Value, Option<String>) {
        *self.now.lock().unwrap() = now;
        self.send(Method::POST, path, headers, body.as_bytes().to_vec())
            .await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (StatusCode, Value, Option<String>) {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {}", self.token));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = self
            .router
            .clone()
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, value, retry_after)
    }

    async fn endpoint(&self, body: Value) -> String {
        let team = self
            .call(
                Method::POST,
                "/v1/teams",
                &[],
                json!({"name": format!("t{}", rand_suffix()), "slack_channel": "C0123ABCDE"})
                    .to_string()
                    .into_bytes(),
            )
            .await
            .1;
        let mut body = body;
        body["team_id"] = team["id"].clone();
        body["name"] = json!("e");
        let (status, ep, _) = self
            .call(Method::POST, "/v1/endpoints", &[], body.to_string().into_bytes())
            .await;
        assert_eq!(status, StatusCode::CREATED, "{ep}");
        ep["url"]
            .as_str()
            .unwrap()
            .trim_start_matches("https://klaxon.test")
            .to_owned()
    }

    async fn post(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (StatusCode, Value, Option<String>) {
        self.call(Method::POST, path, headers, body.as_bytes().to_vec())
            .await
    }

    /// The stored endpoint behind an ingest path.
    async fn endpoint_of(&self, path: &str) -> Arc<IngestEndpoint> {
        self.store
            .endpoint_by_token(path.trim_start_matches("/ingest/"))
            .await
            .unwrap()
            .unwrap()
    }

    async fn alerts(&self) -> Vec<Value> {
        let (_, v, _) = self
            .call(Method::GET, "/v1/alerts?limit=1000", &[], Vec::new())
            .await;
        v["items"].as_array().cloned().unwrap_or_default()
    }
}

/// The `Timestamp` of an SNS message body.
fn sent_at(body: &[u8]) -> Option<OffsetDateTime> {
    let value: Value = serde_json::from_slice(body).ok()?;
    OffsetDateTime::parse(value.get("Timestamp")?.as_str()?, &Rfc3339).ok()
}

fn rand_suffix() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// (path, headers, body, status, error code) of a request that must be refused.
type Refusal<'a> = (&'a str, Vec<(&'a str, &'a str)>, String, StatusCode, &'a str);

const SNS: (&str, &str) = ("x-amz-sns-message-type", "Notification");
const JSON: (&str, &str) = ("content-type", "application/json");

async fn webhooks_group_and_resolve(db: Database) {
    let app = app(db).await;
    let url = app.endpoint(json!({})).await;
    let (s, first, _) = app
        .post(&url, &[JSON], r#"{"title": "disk full", "key": "db1"}"#)
        .await;
    assert_eq!(s, StatusCode::OK, "{first}");
    assert_eq!(first["alerts"][0]["action"], "created");
    let (_, second, _) = app
        .post(&url, &[JSON], r#"{"title": "disk full", "key": "db1"}"#)
        .await;
    assert_eq!(second["alerts"][0]["action"], "grouped");
    assert_eq!(second["alerts"][0]["id"], first["alerts"][0]["id"]);
    let alerts = app.alerts().await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["count"], 2);
    assert_eq!(alerts[0]["status"], "open");

    // Form, text and GET with query parameters are webhooks too.
    let (s, v, _) = app
        .post(
            &url,
            &[("content-type", "application/x-www-form-urlencoded")],
            "title=cpu+high&key=web1",
        )
        .await;
    assert_eq!(
        (s, v["alerts"][0]["action"].as_str()),
        (StatusCode::OK, Some("created"))
    );
    let (s, v, _) = app
        .post(&url, &[("content-type", "text/plain")], "backup failed on db2")
        .await;
    assert_eq!(
        (s, v["alerts"][0]["action"].as_str()),
        (StatusCode::OK, Some("created"))
    );
    let (s, v, _) = app
        .call(
            Method::GET,
            &format!("{url}?title=queue+stuck&key=q1"),
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(
        (s, v["alerts"][0]["action"].as_str()),
        (StatusCode::OK, Some("created"))
    );

    // A resolved status auto-closes the alert and cancels its escalation timers.
    let (_, v, _) = app
        .post(&url, &[JSON], r#"{"key": "db1", "status": "resolved"}"#)
        .await;
    assert_eq!(v["alerts"][0]["action"], "resolved");
    let id = first["alerts"][0]["id"].as_str().unwrap();
    let (_, alert, _) = app
        .call(Method::GET, &format!("/v1/alerts/{id}"), &[], Vec::new())
        .await;
    assert_eq!(alert["status"], "closed");
    assert_eq!(alert["auto_closed"], true, "{alert}");
}

async fn payload_fixtures_become_alerts(db: Database) {
    // The cloudforet CloudWatch envelopes are signed by certificates nobody kept: read them with signature
    // checks off, as an emulator set-up would.
    let app = app_with(db, false, RateLimit::default()).await;
    let url = app.endpoint(json!({})).await;
    let cases = [
        (
            "payloads/cw-alarm-ALARM.sns-http.cloudforet-2021-06-23.json",
            &[SNS][..],
            "created",
            "alert",
        ),
        (
            "payloads/uptimerobot-monitor-down.zulip.json",
            &[JSON][..],
            "created",
            "alert",
        ),
        // The fixtures' "up" is of another monitor: with nothing of its own open it is a notification.
        (
            "payloads/uptimerobot-monitor-up.zulip.json",
            &[JSON][..],
            "created",
            "notification",
        ),
        (
            "payloads/newrelic-workflow-issue-activated.zulip.json",
            &[JSON][..],
            "created",
            "alert",
        ),
        (
            "payloads/eventbridge-cloudwatch-alarm-state-change.ALARM.json",
            &[JSON][..],
            "created",
            "alert",
        ),
    ];
    for (file, headers, action, kind) in cases {
        let (s, v, _) = app.post(&url, headers, &fixture(file)).await;
        assert_eq!(s, StatusCode::OK, "{file}: {v}");
        assert_eq!(
            (v["alerts"][0]["action"].as_str(), v["alerts"][0]["kind"].as_str()),
            (Some(action), Some(kind)),
            "{file}: {v}"
        );
    }
    // The "up" of the monitor that went down resolves its alert.
    let up = fixture("payloads/uptimerobot-monitor-up.zulip.json")
        .replace("server2.example.com", "server1.example.com")
        .replace("Mail Server", "Web Server");
    let (_, v, _) = app.post(&url, &[JSON], &up).await;
    assert_eq!(v["alerts"][0]["action"], "resolved", "{v}");
    // The OK of another alarm, with nothing open, is only a notification.
    let (_, v, _) = app
        .post(
            &url,
            &[SNS],
            &fixture("payloads/cw-alarm-OK.sns-http.cloudforet-2021-06-27.json"),
        )
        .await;
    assert_eq!(v["alerts"][0]["kind"], "notification", "{v}");
}

async fn signed_sns_messages_verify_and_retries_are_ignored(db: Database) {
    let app = app(db).await;
    let url = app.endpoint(json!({})).await;
    for file in [
        "sns-signed-test/notification-v1-nosubject.json",
        "sns-signed-test/notification-v2-subject-unicode.json",
        "sns-signed-real/aws-php-2022-notification-2-sigv2.json",
        "payloads/eventbridge-aws-health-issue.via-sns-http.signed.cloudforet-1.json",
    ] {
        let (s, v, _) = app
            .post(&url, &[("content-type", "text/plain")], &fixture(file))
            .await;
        assert_eq!(s, StatusCode::OK, "{file}: {v}");
        assert_eq!(v["status"], "stored", "{file}: {v}");
        // SNS retries deliver the same MessageId: stored once.
        let (s, v, _) = app.post(&url, &[SNS], &fixture(file)).await;
        assert_eq!(
            (s, v["status"].as_str()),
            (StatusCode::OK, Some("duplicate")),
            "{file}: {v}"
        );
    }
    assert_eq!(app.alerts().await.len(), 4);
    assert!(
        app.state
            .store
            .metrics()
            .render()
            .contains("klaxon_sns_duplicates_total 4")
    );
}

async fn refusals_answer_their_status_and_store_nothing(db: Database) {
    let app = app(db).await;
    let url = app.endpoint(json!({})).await;
    let picky = app
        .endpoint(json!({"allowed_topic_arns": ["arn:aws:sns:eu-west-1:123456789012:only-this"]}))
        .await;
    let signed = fixture("sns-signed-test/notification-v1-nosubject.json");
    let tampered = signed.replace(
        "\"MessageId\": \"00000000-0000-0000-0000-000000000001\"",
        "\"MessageId\": \"00000000-0000-0000-0000-000000000009\"",
    );
    assert_ne!(tampered, signed, "the fixture's MessageId was found and changed");
    let http_cert = signed.replace(
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem",
        "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem",
    );
    let evil_host = signed.replace(
        "https://sns.us-east-1.amazonaws.com/",
        "https://sns.us-east-1.amazonaws.com.evil.example/",
    );
    let mut missing: Value = serde_json::from_str(&signed).unwrap();
    missing.as_object_mut().unwrap().remove("TopicArn");
    let big = format!(r#"{{"title": "{}"}}"#, "x".repeat(300 * 1024));
    let many = Value::Array(
        (0..=klaxon::ingest::webhook::MAX_EVENTS)
            .map(|i| json!({"title": format!("e{i}")}))
            .collect(),
    )
    .to_string();
    let cases: Vec<Refusal<'_>> = vec![
        (
            &url,
            vec![JSON],
            r#"{"title": "#.into(),
            StatusCode::BAD_REQUEST,
            "malformed_body",
        ),
        (
            &url,
            vec![SNS],
            missing.to_string(),
            StatusCode::BAD_REQUEST,
            "missing_sns_field",
        ),
        (&url, vec![SNS], tampered, StatusCode::FORBIDDEN, "bad_signature"),
        (
            &url,
            vec![SNS],
            fixture("payloads/eventbridge-aws-health.via-sns-http.BADSIG.cloudforet-5.json"),
            StatusCode::FORBIDDEN,
            "bad_signature",
        ),
        (
            &url,
            vec![SNS],
            http_cert,
            StatusCode::FORBIDDEN,
            "cert_url_not_https",
        ),
        (
            &url,
            vec![SNS],
            evil_host,
            StatusCode::FORBIDDEN,
            "cert_host_not_allowed",
        ),
        (
            &picky,
            vec![SNS],
            signed.clone(),
            StatusCode::FORBIDDEN,
            "foreign_topic",
        ),
        (&url, vec![JSON], big, StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
        // More events than one request may carry: refused whole, not cut to the limit.
        (
            &url,
            vec![JSON],
            many,
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_events",
        ),
    ];
    for (path, headers, body, status, code) in &cases {
        let (s, v, _) = app.post(path, headers, body).await;
        assert_eq!(s, *status, "{code}: {v}");
        assert_eq!(v["error"]["code"], *code, "{v}");
    }
    // Over 512 KiB even SNS is refused before it is read.
    let (s, _, _) = app.post(&url, &[SNS], &"x".repeat(600 * 1024)).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    // An unknown token says nothing about whether it ever existed.
    let (s, v, _) = app.post("/ingest/ing_nope", &[JSON], r#"{"title": "x"}"#).await;
    assert_eq!(
        (s, &v["error"]["code"]),
        (StatusCode::NOT_FOUND, &json!("not_found"))
    );
    assert!(app.alerts().await.is_empty(), "no refusal stored anything");
    let m = app.state.store.metrics();
    let rejected = |r: Reason| m.counter_value("IngestRejected", &[r.as_str()]);
    assert_eq!(rejected(Reason::BadSignature), 2);
    assert_eq!(rejected(Reason::ForeignTopic), 1);
    assert_eq!(rejected(Reason::TooLarge), 2);
    assert_eq!(rejected(Reason::TooManyEvents), 1);
    assert!(
        m.render()
            .contains("klaxon_ingest_rejected_total{reason=\"unknown_endpoint\"} 1")
    );
}

async fn rate_limited_endpoints_get_429_with_retry_after(db: Database) {
    let app = app_with(
        db,
        true,
        RateLimit {
            burst: 2,
            per_second: 0.01,
        },
    )
    .await;
    let url = app.endpoint(json!({})).await;
    for i in 0..2 {
        let (s, _, _) = app.post(&url, &[JSON], &format!(r#"{{"title": "t{i}"}}"#)).await;
        assert_eq!(s, StatusCode::OK);
    }
    let (s, v, retry) = app.post(&url, &[JSON], r#"{"title": "t3"}"#).await;
    assert_eq!(
        (s, &v["error"]["code"]),
        (StatusCode::TOO_MANY_REQUESTS, &json!("rate_limited"))
    );
    assert!(retry.unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(app.alerts().await.len(), 2);
    // Another endpoint has its own bucket.
    let other = app.endpoint(json!({})).await;
    assert_eq!(
        app.post(&other, &[JSON], r#"{"title": "x"}"#).await.0,
        StatusCode::OK
    );
}

async fn subscription_messages_are_recorded(db: Database) {
    let app = app(db).await;
    let url = app.endpoint(json!({})).await;
    // The test set's SubscribeURL is on sns.us-east-1.amazonaws.com; offline the confirmation GET fails,
    // which must answer 502 (SNS sends the confirmation again) and record nothing.
    let (s, v, _) = app
        .post(
            &url,
            &[("x-amz-sns-message-type", "SubscriptionConfirmation")],
            &fixture("sns-signed-test/subscription-confirmation-v2.json"),
        )
        .await;
    assert_eq!(
        (s, &v["error"]["code"]),
        (StatusCode::BAD_GATEWAY, &json!("confirmation_failed"))
    );
    let (s, v, _) = app
        .post(
            &url,
            &[("x-amz-sns-message-type", "UnsubscribeConfirmation")],
            &fixture("sns-signed-test/unsubscribe-confirmation-v2.json"),
        )
        .await;
    assert_eq!((s, &v["status"]), (StatusCode::OK, &json!("unsubscribed")), "{v}");
    let ep = app.endpoint_of(&url).await;
    let subs = app.store.subscriptions(&ep.endpoint.id).await.unwrap();
    assert_eq!(
        subs,
        [(
            "arn:aws:sns:us-east-1:123456789012:alerts".to_owned(),
            "unsubscribed".to_owned()
        )]
    );
}

/// Deliveries arriving together are stored in one batch: events of one key still make one alert, one SNS
/// message delivered many times at once is stored once, and deleting the endpoint closes its URL at once
/// (the token cache forgets it).
async fn concurrent_deliveries_group_dedup_and_see_deletes(db: Database) {
    let app = app(db).await;
    let url = app.endpoint(json!({})).await;
    let sns = fixture("sns-signed-test/notification-v1-nosubject.json");
    let mut calls = Vec::new();
    for i in 0..50 {
        let body = match i % 5 {
            0 | 1 => r#"{"title": "same", "key": "same"}"#.to_owned(),
            2 => sns.clone(),
            _ => format!(r#"{{"title": "unique {i}", "key": "u{i}"}}"#),
        };
        let headers = if i % 5 == 2 { vec![SNS] } else { vec![JSON] };
        let (app, url) = (&app, &url);
        calls.push(async move { app.post(url, &headers, &body).await });
    }
    let answers = futures::future::join_all(calls).await;
    let mut statuses = std::collections::BTreeMap::new();
    for (s, v, _) in &answers {
        assert_eq!(*s, StatusCode::OK, "{v}");
        *statuses
            .entry(v["status"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    assert_eq!(statuses["stored"], 41, "{statuses:?}");
    assert_eq!(statuses["duplicate"], 9, "{statuses:?}");
    let alerts = app.alerts().await;
    assert_eq!(alerts.len(), 1 + 1 + 20, "{alerts:#?}");
    let same: Vec<_> = alerts.iter().filter(|a| a["title"] == "same").collect();
    assert_eq!(same.len(), 1);
    assert_eq!(same[0]["count"], 20);

    let ep = app.endpoint_of(&url).await;
    let (s, _, _) = app
        .call(
            Method::DELETE,
            &format!("/v1/endpoints/{}", ep.endpoint.id),
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v, _) = app.post(&url, &[JSON], r#"{"title": "late"}"#).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
}

/// Message ids are purged after their retention, and a signed message older than the ids kept is refused, so
/// the purge cannot let a replay in.
async fn old_message_ids_are_purged_and_old_messages_refused(db: Database) {
    let app = app(db).await;
    let url = app.endpoint(json!({})).await;
    let message = fixture("sns-signed-test/notification-v1-nosubject.json");
    let sent = sent_at(message.as_bytes()).unwrap();
    let (s, v, _) = app.post(&url, &[SNS], &message).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("stored")), "{v}");

    // Ids younger than the retention stay: a retry is still a duplicate.
    let retention = i64::try_from(MESSAGE_ID_RETENTION.as_millis()).unwrap();
    let now_ms = || i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap();
    assert_eq!(app.store.purge_messages(now_ms() - retention).await.unwrap(), 0);
    let (_, v, _) = app.post(&url, &[SNS], &message).await;
    assert_eq!(v["status"], "duplicate", "{v}");
    // The retention outlives the accepted age (with a day for clocks that disagree).
    assert!(MESSAGE_ID_RETENTION.as_secs() > MAX_MESSAGE_AGE.whole_seconds().unsigned_abs() + 3600);

    // Once the id is purged (here: everything received until now), a replay older than the horizon is
    // refused and stores nothing...
    assert_eq!(app.store.purge_messages(now_ms() + 1).await.unwrap(), 1);
    let too_late = sent + MAX_MESSAGE_AGE + time::Duration::seconds(1);
    let (s, v, _) = app.post_at(too_late, &url, &[SNS], &message).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("timestamp_out_of_range")),
        "{v}"
    );
    // ...and so is a message dated far ahead of the clock.
    let early = sent - time::Duration::hours(1);
    let (s, v, _) = app.post_at(early, &url, &[SNS], &message).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("timestamp_out_of_range"))
    );
    let alerts = app.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0]["count"], 1, "{alerts:#?}");
    let m = app.state.store.metrics();
    assert_eq!(m.counter_value("IngestRejected", &["timestamp_out_of_range"]), 2);
}

dual_test!(
    webhooks_group_and_resolve,
    payload_fixtures_become_alerts,
    signed_sns_messages_verify_and_retries_are_ignored,
    refusals_answer_their_status_and_store_nothing,
    rate_limited_endpoints_get_429_with_retry_after,
    subscription_messages_are_recorded,
    concurrent_deliveries_group_dedup_and_see_deletes,
    old_message_ids_are_purged_and_old_messages_refused,
);

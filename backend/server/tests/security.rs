//! Security properties of the whole HTTP surface, through the router (no socket), on SQLite and PostgreSQL.
//!
//! Routes are not listed here by hand: they are read from the OpenAPI document, which is built from the same
//! declarations as the router (`utoipa_axum::routes!`; `http::openapi` has a test that no route is added any
//! other way). So a new management route is checked as soon as it exists, and one whose objects this file does
//! not know fails the test until it is added to [`object_of`] or [`CREATE_REFERENCES`].
//!
//! - Every management operation answers 401 without a token and with a wrong one.
//! - Another account's token gets 404 for every operation on an object of the first account, and the object is
//!   unchanged afterwards; its lists show none of them; its creates cannot refer to them.
//! - A deleted endpoint's ingest URL answers 404.
//! - No SNS message makes Klaxon connect to a host outside `KLAXON_SNS_CERT_HOSTS`: `SigningCertURL` and
//!   `SubscribeURL` pointing at a local listener (by IP, by name, in disguise) are refused and the listener
//!   sees no connection, with signature checks on and off.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use std::{
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use aws_lc_rs::{rand::SystemRandom, signature};
use axum::{
    Router,
    body::Body,
    http::{Method, Request, StatusCode},
};
use base64::Engine as _;
use http_body_util::BodyExt as _;
use klaxon::{
    http::{AppState, ingest::IngestState, openapi::document_value, router},
    ingest::{
        rate_limit::RateLimit,
        sns::{DEFAULT_CERT_HOSTS, HostPattern, HttpFetcher, SnsVerifier},
    },
    store::Store,
};
use klaxon_db::{Database, dual_test};
use rustls_pki_types::{PrivatePkcs8KeyDer, pem::PemObject};
use serde_json::{Value, json};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use tower::ServiceExt as _;

/// The `SigningCertURL` of the test certificate, pinned from the fixtures (never fetched).
const TEST_CERT_URL: &str = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem";
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:alerts";

struct App {
    router: Router,
    a: String,
    b: String,
}

impl App {
    async fn call(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let req = req.body(body.map_or_else(Body::empty, Body::from)).unwrap();
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn json(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let body = body.map(|b| serde_json::to_vec(b).unwrap());
        self.call(token, method, path, &[("content-type", "application/json")], body)
            .await
    }

    async fn create(&self, path: &str, body: &Value) -> Value {
        let (status, v) = self.json(Some(&self.a), Method::POST, path, Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "POST {path}: {v}");
        v
    }

    async fn sns(&self, ingest_url: &str, message: &Value) -> (StatusCode, Value) {
        let kind = message["Type"].as_str().unwrap_or("Notification");
        let body = serde_json::to_vec(message).unwrap();
        self.call(
            None,
            Method::POST,
            ingest_url,
            &[
                ("content-type", "text/plain; charset=UTF-8"),
                ("x-amz-sns-message-type", kind),
            ],
            Some(body),
        )
        .await
    }
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Two accounts (A and B) on `db`.
async fn accounts(db: Database) -> (Store, String, String) {
    klaxon_queue::MIGRATOR.run(&db).await.unwrap();
    let store = Store::new(db.clone(), klaxon::secrets::Secrets::ephemeral(db.clone()));
    store.migrate().await.unwrap();
    let a = store.create_account("a").await.unwrap().token;
    let b = store.create_account("b").await.unwrap().token;
    (store, a, b)
}

/// The router over `store` with SNS checks as `klaxon serve` makes them: `KLAXON_SNS_CERT_HOSTS` = `hosts`,
/// the real HTTPS fetcher, the test certificate pinned.
fn app_with(accounts: &(Store, String, String), hosts: &str, verify_signatures: bool) -> App {
    let (store, a, b) = accounts.clone();
    let mut state = AppState::new(store, "https://klaxon.test");
    let verifier = SnsVerifier::new(
        HostPattern::new(hosts).unwrap(),
        Some(fixtures().join("sns-signed-test")),
        Arc::new(HttpFetcher::new().unwrap()),
    );
    state.ingest = Arc::new(IngestState::new(
        verifier,
        verify_signatures,
        RateLimit::default(),
        state.ingest.batcher.clone(),
    ));
    App {
        router: router(state),
        a,
        b,
    }
}

/// The path of an ingest URL.
fn ingest_path(endpoint: &Value) -> String {
    let url = endpoint["url"].as_str().unwrap();
    url.strip_prefix("https://klaxon.test").unwrap().to_owned()
}

/// Every management operation of the document: (method, path template, operationId, has a body).
fn management_operations() -> Vec<(Method, String, String, bool)> {
    let mut out = Vec::new();
    for (path, item) in document_value()["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            if secured {
                let id = op["operationId"].as_str().unwrap().to_owned();
                out.push((method, path.clone(), id, op.get("requestBody").is_some()));
            }
        }
    }
    assert!(
        out.len() >= 20,
        "the document lists {} management operations",
        out.len()
    );
    out
}

/// Account A's objects, one of each kind a path can name.
struct Objects {
    team: Value,
    policy: Value,
    endpoint: Value,
    alert: Value,
    job: Value,
    window: Value,
    heartbeat: Value,
}

impl Objects {
    /// The object named by `{id}` in `template`, and the body of a valid update of it.
    fn object_of(&self, template: &str) -> (&Value, Option<Value>) {
        let rest = template.strip_prefix("/v1/").unwrap();
        let kind = rest.split('/').next().unwrap();
        match kind {
            "teams" => (&self.team, Some(team_body())),
            "escalation-policies" => (&self.policy, Some(policy_body(&self.team))),
            "endpoints" => (&self.endpoint, Some(endpoint_body(&self.team, &self.policy))),
            "alerts" => (&self.alert, None),
            "jobs" => (&self.job, None),
            "maintenance-windows" => (&self.window, Some(window_body(&self.team))),
            "heartbeats" => (&self.heartbeat, Some(heartbeat_body(&self.team))),
            _ => panic!(
                "{template} names an object this test does not know: add its kind to Objects (and make one for \
                 account A) so that another account's access to it is checked"
            ),
        }
    }
}

fn team_body() -> Value {
    json!({"name": "sre", "slack_channel": "C0123ABCDE", "members": ["U0000000A", "U0000000B"]})
}

fn policy_body(team: &Value) -> Value {
    json!({"team_id": team["id"], "name": "day", "steps": [
        {"notify": "next_member", "escalate_after_minutes": 1},
        {"notify": "channel"}
    ]})
}

fn window_body(team: &Value) -> Value {
    json!({"team_id": team["id"], "starts_at": "2026-12-05T22:00:00Z", "ends_at": "2026-12-05T23:00:00Z"})
}

fn heartbeat_body(team: &Value) -> Value {
    json!({"team_id": team["id"], "name": "nightly-backup", "interval_minutes": 1440})
}

fn endpoint_body(team: &Value, policy: &Value) -> Value {
    json!({"team_id": team["id"], "escalation_policy_id": policy["id"], "name": "aws"})
}

/// Creates that may refer to another object: the body with references to account A's objects. Another account
/// sending it must get 422, as for an id that never existed (a create that refers to nothing is listed with
/// `None`).
const CREATE_REFERENCES: &[(&str, Option<&str>)] = &[
    ("create_team", None),
    ("create_escalation_policy", Some("team")),
    ("create_endpoint", Some("team+policy")),
    ("create_alert", Some("endpoint")),
    ("simulate_draft_policy", Some("team")),
    ("create_maintenance_window", Some("window")),
    ("create_heartbeat", Some("heartbeat")),
];

async fn make_objects(app: &App) -> Objects {
    let team = app.create("/v1/teams", &team_body()).await;
    let policy = app.create("/v1/escalation-policies", &policy_body(&team)).await;
    let endpoint = app.create("/v1/endpoints", &endpoint_body(&team, &policy)).await;
    let window = app.create("/v1/maintenance-windows", &window_body(&team)).await;
    let heartbeat = app.create("/v1/heartbeats", &heartbeat_body(&team)).await;
    let alert = app
        .create(
            "/v1/alerts",
            &json!({"endpoint_id": endpoint["id"], "title": "disk full"}),
        )
        .await;
    // The alert's escalation timer is a job of account A, waiting for its time.
    let (status, jobs) = app
        .json(Some(&app.a), Method::GET, "/v1/jobs?state=ready", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{jobs}");
    let job = jobs["items"]
        .as_array()
        .and_then(|items| items.first())
        .cloned()
        .unwrap_or_else(|| panic!("account A has no job to protect: {jobs}"));
    Objects {
        team,
        policy,
        endpoint,
        alert,
        job,
        window,
        heartbeat,
    }
}

/// The ids of every object a list answer shows.
fn ids_in(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn app(db: Database) -> App {
    app_with(&accounts(db).await, DEFAULT_CERT_HOSTS, true)
}

async fn management_routes_need_a_token_and_keep_accounts_apart(db: Database) {
    let app = app(db).await;
    let objects = make_objects(&app).await;
    let ours = [
        &objects.team,
        &objects.policy,
        &objects.endpoint,
        &objects.alert,
        &objects.job,
        &objects.window,
        &objects.heartbeat,
    ]
    .map(|o| o["id"].as_str().unwrap().to_owned());

    for (method, template, operation, has_body) in management_operations() {
        let what = format!("{method} {template} ({operation})");
        let (object, update) = if template.contains("{id}") {
            let (object, update) = objects.object_of(&template);
            (Some(object), update)
        } else {
            (None, None)
        };
        let path = match object {
            Some(o) => template.replace("{id}", o["id"].as_str().unwrap()),
            None => template.clone(),
        };
        // A body that would be valid for account A: another account must still get 404, not 400.
        let body = match (&method, object, has_body) {
            (&Method::PUT, Some(_), _) => update.clone(),
            (_, None, true) if method == Method::POST => {
                let refers = CREATE_REFERENCES
                    .iter()
                    .find(|(id, _)| *id == operation)
                    .unwrap_or_else(|| {
                        panic!("{what}: add it to CREATE_REFERENCES (what in its body may name an object)")
                    })
                    .1;
                match refers {
                    None => Some(team_body()),
                    Some("team") if operation == "simulate_draft_policy" => {
                        Some(json!({"team_id": objects.team["id"]}))
                    }
                    Some("team") => Some(policy_body(&objects.team)),
                    Some("team+policy") => Some(endpoint_body(&objects.team, &objects.policy)),
                    Some("endpoint") => Some(json!({"endpoint_id": objects.endpoint["id"], "title": "x"})),
                    Some("window") => Some(window_body(&objects.team)),
                    Some("heartbeat") => Some(heartbeat_body(&objects.team)),
                    Some(other) => panic!("{other}"),
                }
            }
            _ => None,
        };

        for token in [None, Some("wrong-token"), Some("")] {
            let (status, answer) = app.json(token, method.clone(), &path, body.as_ref()).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{what} with token {token:?}: {answer}"
            );
        }

        let (status, answer) = app.json(Some(&app.b), method.clone(), &path, body.as_ref()).await;
        match (object, &method) {
            // An object of A, whatever B asks of it.
            (Some(_), _) => {
                assert_eq!(
                    status,
                    StatusCode::NOT_FOUND,
                    "{what} by another account: {answer}"
                );
            }
            // B's lists (and other reads) show none of A's objects.
            (None, &Method::GET) => {
                assert_ne!(
                    status,
                    StatusCode::UNAUTHORIZED,
                    "{what} by another account: {answer}"
                );
                for id in ids_in(&answer) {
                    assert!(!ours.contains(&id), "{what} shows account A's {id} to account B");
                }
            }
            // B's creates and drafts that name A's objects.
            (None, _) if body.is_some() && operation != "create_team" => {
                assert_eq!(
                    (status, answer["error"]["code"].as_str()),
                    (StatusCode::UNPROCESSABLE_ENTITY, Some("missing_reference")),
                    "{what} naming A's objects: {answer}"
                );
            }
            (None, _) => {}
        }
    }

    // A's objects are as they were: nothing another account sent changed, deleted or acted on them.
    for (kind, object) in [
        ("teams", &objects.team),
        ("escalation-policies", &objects.policy),
        ("endpoints", &objects.endpoint),
        ("alerts", &objects.alert),
        ("maintenance-windows", &objects.window),
        ("heartbeats", &objects.heartbeat),
    ] {
        let path = format!("/v1/{kind}/{}", object["id"].as_str().unwrap());
        let (status, still) = app.json(Some(&app.a), Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {still}");
        if kind == "alerts" {
            assert_eq!(
                still["status"], object["status"],
                "another account acted on A's alert"
            );
        } else {
            assert_eq!(&still, object, "another account changed {path}");
        }
    }
    let (_, jobs) = app
        .json(Some(&app.a), Method::GET, "/v1/jobs?state=ready", None)
        .await;
    assert!(ids_in(&jobs).contains(&ours[4]), "A's job is gone: {jobs}");
}

async fn a_deleted_endpoints_ingest_url_is_not_found(db: Database) {
    let app = app(db).await;
    let objects = make_objects(&app).await;
    let ingest = ingest_path(&objects.endpoint);
    let body = br#"{"title": "disk full", "key": "db1"}"#.to_vec();
    let json = [("content-type", "application/json")];
    let (status, receipt) = app
        .call(None, Method::POST, &ingest, &json, Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{receipt}");

    let id = objects.endpoint["id"].as_str().unwrap();
    let (status, _) = app
        .json(Some(&app.a), Method::DELETE, &format!("/v1/endpoints/{id}"), None)
        .await;
    assert!(status.is_success(), "delete: {status}");

    let (status, answer) = app.call(None, Method::POST, &ingest, &json, Some(body)).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "POST to a deleted endpoint: {answer}"
    );
    let (status, answer) = app
        .call(None, Method::GET, &format!("{ingest}?title=x"), &[], None)
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "GET to a deleted endpoint: {answer}"
    );
    let message = sign(&[
        ("Type", "Notification"),
        ("MessageId", "m-deleted"),
        ("TopicArn", TOPIC),
        ("Message", "hello"),
        ("Timestamp", &now()),
    ]);
    let (status, answer) = app.sns(&ingest, &message).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "SNS to a deleted endpoint: {answer}"
    );
}

/// A TCP listener on loopback that counts the connections it is offered (and closes them).
struct Listener {
    port: u16,
    connections: Arc<AtomicUsize>,
}

async fn listener() -> Listener {
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = socket.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    tokio::spawn(async move {
        while let Ok((stream, _)) = socket.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    Listener { port, connections }
}

fn now() -> String {
    OffsetDateTime::now_utc().format(&Rfc3339).unwrap()
}

/// An SNS message signed with the test key (SignatureVersion 2, the pinned test certificate).
fn sign(fields: &[(&str, &str)]) -> Value {
    let pem = std::fs::read(fixtures().join("../../../../tests/fixtures/signing-key.TEST-ONLY.pem")).unwrap();
    let der = PrivatePkcs8KeyDer::from_pem_slice(&pem).unwrap();
    let key = signature::RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).unwrap();
    let get = |k: &str| fields.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
    let keys: &[&str] = match get("Type") {
        Some("Notification") => &["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
        _ => &[
            "Message",
            "MessageId",
            "SubscribeURL",
            "Timestamp",
            "Token",
            "TopicArn",
            "Type",
        ],
    };
    let mut to_sign = String::new();
    for k in keys {
        if let Some(v) = get(k) {
            to_sign.push_str(&format!("{k}\n{v}\n"));
        }
    }
    let mut sig = vec![0; key.public_modulus_len()];
    key.sign(
        &signature::RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        to_sign.as_bytes(),
        &mut sig,
    )
    .unwrap();
    let mut msg: serde_json::Map<String, Value> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
        .collect();
    msg.insert("SignatureVersion".into(), "2".into());
    msg.insert(
        "Signature".into(),
        base64::engine::general_purpose::STANDARD.encode(sig).into(),
    );
    msg.entry("SigningCertURL").or_insert(TEST_CERT_URL.into());
    Value::Object(msg)
}

/// URLs that lead to the listener (or to this machine) while trying to look like something else.
fn local_urls(port: u16) -> Vec<String> {
    [
        "https://127.0.0.1:{port}/SimpleNotificationService-x.pem",
        "https://localhost:{port}/SimpleNotificationService-x.pem",
        "http://127.0.0.1:{port}/SimpleNotificationService-x.pem",
        "https://sns.us-east-1.amazonaws.com@127.0.0.1:{port}/SimpleNotificationService-x.pem",
        "https://127.0.0.1:{port}/sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem",
        "https://127.0.0.1:{port}#@sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem",
        "https://2130706433:{port}/SimpleNotificationService-x.pem",
        "https://0x7f.1:{port}/SimpleNotificationService-x.pem",
        "https://[::ffff:127.0.0.1]:{port}/SimpleNotificationService-x.pem",
        "https://sns.us-east-1.amazonaws.com.localhost:{port}/SimpleNotificationService-x.pem",
    ]
    .iter()
    .map(|u| u.replace("{port}", &port.to_string()))
    .collect()
}

async fn sns_urls_never_reach_a_host_outside_the_allowed_ones(db: Database) {
    let listener = listener().await;
    let accounts = accounts(db).await;
    let objects = make_objects(&app_with(&accounts, DEFAULT_CERT_HOSTS, true)).await;
    let ingest = ingest_path(&objects.endpoint);
    for verify_signatures in [true, false] {
        let app = app_with(&accounts, DEFAULT_CERT_HOSTS, verify_signatures);
        for (i, url) in local_urls(listener.port).into_iter().enumerate() {
            let id = format!("m-{verify_signatures}-{i}");
            // The certificate URL of a notification.
            let mut note = sign(&[
                ("Type", "Notification"),
                ("MessageId", &id),
                ("TopicArn", TOPIC),
                ("Message", "hello"),
                ("Timestamp", &now()),
            ]);
            note["SigningCertURL"] = Value::String(url.clone());
            let (status, answer) = app.sns(&ingest, &note).await;
            if verify_signatures {
                assert_eq!(status, StatusCode::FORBIDDEN, "SigningCertURL {url}: {answer}");
                let code = answer["error"]["code"].as_str().unwrap_or_default();
                assert!(
                    ["cert_url_not_https", "cert_host_not_allowed"].contains(&code),
                    "SigningCertURL {url}: {answer}"
                );
            } else {
                // Unchecked signatures fetch nothing at all.
                assert_eq!(status, StatusCode::OK, "SigningCertURL {url} unchecked: {answer}");
            }
            // The SubscribeURL of a confirmation genuinely signed (by the test key) and of one with the
            // certificate URL pointing there too.
            let confirmation = sign(&[
                ("Type", "SubscriptionConfirmation"),
                ("MessageId", &format!("{id}-c")),
                ("TopicArn", TOPIC),
                ("Message", "You have chosen to subscribe."),
                ("Timestamp", &now()),
                ("Token", "2336412f37fb687f5d51e6e2425f004aed"),
                ("SubscribeURL", &url),
            ]);
            let mut both = confirmation.clone();
            both["SigningCertURL"] = Value::String(url.clone());
            for (message, refused_for) in [
                (confirmation, "subscribe_url_not_allowed"),
                (
                    both,
                    if verify_signatures {
                        ""
                    } else {
                        "subscribe_url_not_allowed"
                    },
                ),
            ] {
                let (status, answer) = app.sns(&ingest, &message).await;
                assert_eq!(status, StatusCode::FORBIDDEN, "SubscribeURL {url}: {answer}");
                if !refused_for.is_empty() {
                    // Genuinely signed: refused for the URL itself, not for its signature.
                    assert_eq!(
                        answer["error"]["code"], refused_for,
                        "SubscribeURL {url}: {answer}"
                    );
                }
            }
        }
    }
    assert_eq!(
        listener.connections.load(Ordering::SeqCst),
        0,
        "Klaxon connected to a host outside KLAXON_SNS_CERT_HOSTS"
    );

    // The listener does count: allowed by the pattern, the same certificate URL is fetched (and fails: the
    // listener speaks no TLS).
    let app = app_with(&accounts, r"127\.0\.0\.1", true);
    let mut note = sign(&[
        ("Type", "Notification"),
        ("MessageId", "m-control"),
        ("TopicArn", TOPIC),
        ("Message", "hello"),
        ("Timestamp", &now()),
    ]);
    note["SigningCertURL"] = Value::String(format!(
        "https://127.0.0.1:{}/SimpleNotificationService-x.pem",
        listener.port
    ));
    let (status, answer) = app.sns(&ingest, &note).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while listener.connections.load(Ordering::SeqCst) == 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        listener.connections.load(Ordering::SeqCst),
        1,
        "the control fetch reached the listener"
    );
}

dual_test!(
    management_routes_need_a_token_and_keep_accounts_apart,
    a_deleted_endpoints_ingest_url_is_not_found,
    sns_urls_never_reach_a_host_outside_the_allowed_ones,
);

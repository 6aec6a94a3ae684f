//! The management API through the router (no socket), on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use axum::{
    Router,
    body::Body,
    http::{Method, Request, StatusCode},
};
use http_body_util::BodyExt as _;
use klaxon::{
    http::{AppState, router},
    store::Store,
};
use klaxon_db::{Database, dual_test};
use serde_json::{Value, json};
use tower::ServiceExt as _;

struct App {
    router: Router,
    a: String,
    b: String,
}

async fn app(db: Database) -> App {
    let store = Store::new(db.clone(), klaxon::secrets::Secrets::ephemeral(db.clone()));
    store.migrate().await.unwrap();
    let a = store.create_account("a").await.unwrap().token;
    let b = store.create_account("b").await.unwrap().token;
    let router = router(AppState::new(store, "https://klaxon.test"));
    App { router, a, b }
}

impl App {
    async fn call(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = req
            .header("content-type", "application/json")
            .body(body.map_or_else(Body::empty, Body::from))
            .unwrap();
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, value)
    }

    async fn as_a(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call(
            Some(&self.a),
            method,
            path,
            body.map(|b| serde_json::to_vec(&b).unwrap()),
        )
        .await
    }

    async fn as_b(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call(
            Some(&self.b),
            method,
            path,
            body.map(|b| serde_json::to_vec(&b).unwrap()),
        )
        .await
    }

    async fn raw_a(&self, method: Method, path: &str, body: &str) -> (StatusCode, Value) {
        self.call(Some(&self.a), method, path, Some(body.as_bytes().to_vec()))
            .await
    }

    async fn create(&self, path: &str, body: Value) -> Value {
        let (status, v) = self.as_a(Method::POST, path, Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        v
    }

    async fn count(&self, path: &str) -> usize {
        let (status, v) = self.as_a(Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        v["items"].as_array().unwrap().len()
    }

    /// A team, a policy and an endpoint of account A.
    async fn fixture(&self) -> (Value, Value, Value) {
        let team = self
            .create(
                "/v1/teams",
                json!({"name": "sre", "slack_channel": "C0123ABCDE", "members": ["U0000000B", "U0000000A"]}),
            )
            .await;
        let policy = self
            .create(
                "/v1/escalation-policies",
                json!({"team_id": team["id"], "name": "day", "steps": [
                    {"notify": "next_member", "escalate_after_minutes": 5},
                    {"notify": "user", "user": "U0000000C", "escalate_after_minutes": 10},
                    {"notify": "channel"}
                ]}),
            )
            .await;
        let endpoint = self
            .create(
                "/v1/endpoints",
                json!({"team_id": team["id"], "escalation_policy_id": policy["id"], "name": "aws",
                       "allowed_topic_arns": ["arn:aws:sns:eu-west-1:123456789012:z", "arn:aws:sns:eu-west-1:123456789012:a"]}),
            )
            .await;
        (team, policy, endpoint)
    }
}

async fn crud_round_trips(db: Database) {
    let app = app(db).await;
    let (team, policy, endpoint) = app.fixture().await;

    // Read-after-write: what was written comes back exactly, lists in the order given, sets sorted.
    assert_eq!(team["members"], json!(["U0000000B", "U0000000A"]));
    assert_eq!(team["description"], Value::Null);
    assert_eq!(
        policy["steps"][1],
        json!({"notify": "user", "user": "U0000000C", "escalate_after_minutes": 10})
    );
    assert_eq!(policy["steps"][2], json!({"notify": "channel"}));
    assert_eq!(policy["repeat"], 0);
    assert_eq!(policy["skip_inactive"], true);
    assert_eq!(
        endpoint["allowed_topic_arns"],
        json!([
            "arn:aws:sns:eu-west-1:123456789012:a",
            "arn:aws:sns:eu-west-1:123456789012:z"
        ])
    );
    assert_eq!(endpoint["alert_grouping_minutes"], 10080);
    assert_eq!(endpoint["notification_grouping_minutes"], 1);
    let url = endpoint["url"].as_str().unwrap();
    assert!(url.starts_with("https://klaxon.test/ingest/ing_"), "{url}");
    assert!(
        url.len() > "https://klaxon.test/ingest/ing_".len() + 40,
        "token has high entropy: {url}"
    );
    assert_eq!(endpoint["sns_url"], endpoint["url"]);

    for (path, created) in [
        ("teams", &team),
        ("escalation-policies", &policy),
        ("endpoints", &endpoint),
    ] {
        let (status, read) = app
            .as_a(
                Method::GET,
                &format!("/v1/{path}/{}", created["id"].as_str().unwrap()),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(&read, created, "{path} reads back as created");
    }

    // Full update: reorder steps; the order is kept exactly.
    let pid = policy["id"].as_str().unwrap();
    let (status, updated) = app
        .as_a(
            Method::PUT,
            &format!("/v1/escalation-policies/{pid}"),
            Some(
                json!({"team_id": team["id"], "name": "day", "repeat": 2, "skip_inactive": false, "steps": [
                    {"notify": "user", "user": "U0000000C", "escalate_after_minutes": 10},
                    {"notify": "next_member", "escalate_after_minutes": 5},
                    {"notify": "channel", "escalate_after_minutes": 15}
                ]}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["steps"][0]["notify"], "user");
    assert_eq!(updated["steps"][1]["notify"], "next_member");
    assert_eq!(updated["repeat"], 2);
    assert_eq!(updated["skip_inactive"], false);

    // The ingest token survives an update of the endpoint.
    let eid = endpoint["id"].as_str().unwrap();
    let (status, ep2) = app
        .as_a(
            Method::PUT,
            &format!("/v1/endpoints/{eid}"),
            Some(json!({"team_id": team["id"], "name": "aws2"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{ep2}");
    assert_eq!(ep2["url"], endpoint["url"]);
    assert_eq!(ep2["escalation_policy_id"], Value::Null);
    assert_eq!(ep2["allowed_topic_arns"], json!([]));

    // Dependents block deletes: team <- policy <- endpoint.
    let tid = team["id"].as_str().unwrap();
    let (status, err) = app.as_a(Method::DELETE, &format!("/v1/teams/{tid}"), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    assert_eq!(err["error"]["code"], "conflict");
    for path in [
        format!("/v1/endpoints/{eid}"),
        format!("/v1/escalation-policies/{pid}"),
        format!("/v1/teams/{tid}"),
    ] {
        let (status, _) = app.as_a(Method::DELETE, &path, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{path}");
        let (status, _) = app.as_a(Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        let (status, _) = app.as_a(Method::DELETE, &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "deleting twice: {path}");
    }
}

async fn lists_page_and_filter(db: Database) {
    let app = app(db).await;
    for i in 0..5 {
        app.create(
            "/v1/teams",
            json!({"name": format!("t{i}"), "slack_channel": "C0123ABCDE"}),
        )
        .await;
    }
    let (_, page1) = app.as_a(Method::GET, "/v1/teams?limit=2", None).await;
    assert_eq!(page1["items"].as_array().unwrap().len(), 2);
    let cursor = page1["next_cursor"].as_str().unwrap();
    let (_, page2) = app
        .as_a(Method::GET, &format!("/v1/teams?limit=2&cursor={cursor}"), None)
        .await;
    let (_, page3) = app
        .as_a(
            Method::GET,
            &format!(
                "/v1/teams?limit=2&cursor={}",
                page2["next_cursor"].as_str().unwrap()
            ),
            None,
        )
        .await;
    let names: Vec<_> = [&page1, &page2, &page3]
        .iter()
        .flat_map(|p| {
            p["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(names, ["t0", "t1", "t2", "t3", "t4"]);
    assert_eq!(page3["next_cursor"], Value::Null);

    let (_, one) = app.as_a(Method::GET, "/v1/teams?name=t3", None).await;
    assert_eq!(one["items"].as_array().unwrap().len(), 1);
    assert_eq!(one["items"][0]["name"], "t3");

    let (status, err) = app.as_a(Method::GET, "/v1/teams?limit=0", None).await;
    assert_eq!(
        (status, &err["error"]["field"]),
        (StatusCode::BAD_REQUEST, &json!("limit"))
    );
    let (status, err) = app.as_a(Method::GET, "/v1/teams?bogus=1", None).await;
    assert_eq!(
        (status, &err["error"]["field"]),
        (StatusCode::BAD_REQUEST, &json!("bogus"))
    );

    let (status, err) = app
        .as_a(
            Method::POST,
            "/v1/teams",
            Some(json!({"name": "t1", "slack_channel": "C0123ABCDE"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(err["error"]["field"], "name");
    assert_eq!(app.count("/v1/teams").await, 5);
}

async fn tenants_are_isolated(db: Database) {
    let app = app(db).await;
    let (team, policy, endpoint) = app.fixture().await;
    let objects = [
        (
            "teams",
            &team,
            json!({"name": "x", "slack_channel": "C0123ABCDE"}),
        ),
        (
            "escalation-policies",
            &policy,
            json!({"team_id": team["id"], "name": "x", "steps": [{"notify": "here"}]}),
        ),
        (
            "endpoints",
            &endpoint,
            json!({"team_id": team["id"], "name": "x"}),
        ),
    ];
    for (path, obj, body) in &objects {
        let url = format!("/v1/{path}/{}", obj["id"].as_str().unwrap());
        let (s, _) = app.as_b(Method::GET, &url, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "GET {url}");
        let (s, _) = app.as_b(Method::PUT, &url, Some(body.clone())).await;
        assert!(
            s == StatusCode::NOT_FOUND || s == StatusCode::BAD_REQUEST,
            "PUT {url}: {s}"
        );
        let (s, _) = app.as_b(Method::DELETE, &url, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "DELETE {url}");
        let (s, list) = app.as_b(Method::GET, &format!("/v1/{path}"), None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(list["items"], json!([]), "B lists none of A's {path}");
    }
    // B cannot attach its objects to A's team either: the team is "not in this account".
    let (s, err) = app
        .as_b(
            Method::POST,
            "/v1/escalation-policies",
            Some(json!({"team_id": team["id"], "name": "x", "steps": [{"notify": "here"}]})),
        )
        .await;
    assert_eq!(
        (s, &err["error"]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("team_id"))
    );
    let (s, err) = app
        .as_b(
            Method::POST,
            "/v1/endpoints",
            Some(json!({"team_id": team["id"], "name": "x"})),
        )
        .await;
    assert_eq!(
        (s, &err["error"]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("team_id"))
    );
    // Everything of A is untouched.
    for (path, obj, _) in &objects {
        let (s, read) = app
            .as_a(
                Method::GET,
                &format!("/v1/{path}/{}", obj["id"].as_str().unwrap()),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(&read, *obj);
    }
}

async fn auth_is_required(db: Database) {
    let app = app(db).await;
    for (method, path) in [
        (Method::GET, "/v1/teams"),
        (Method::POST, "/v1/teams"),
        (Method::GET, "/v1/endpoints/x"),
    ] {
        for token in [None, Some("klx_wrong"), Some("")] {
            let (s, err) = app.call(token, method.clone(), path, Some(b"{}".to_vec())).await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{method} {path} {token:?}");
            assert_eq!(err["error"]["code"], "unauthorized");
        }
    }
}

async fn bad_input_is_rejected_and_stores_nothing(db: Database) {
    let app = app(db).await;
    let (team, policy, _) = app.fixture().await;
    let tid = team["id"].as_str().unwrap();
    let cases: Vec<(&str, String, &str, Option<&str>)> = vec![
        // (path, body, code, field)
        ("/v1/teams", r#"{"name": "x", "#.into(), "invalid_json", None),
        ("/v1/teams", "not json".into(), "invalid_json", None),
        (
            "/v1/teams",
            r#"{"name": "x", "slack_channel": "C0123ABCDE", "colour": "red"}"#.into(),
            "invalid_field",
            Some("colour"),
        ),
        (
            "/v1/teams",
            r#"{"name": 7, "slack_channel": "C0123ABCDE"}"#.into(),
            "invalid_field",
            Some("name"),
        ),
        (
            "/v1/teams",
            r#"{"slack_channel": "C0123ABCDE"}"#.into(),
            "invalid_field",
            Some("name"),
        ),
        (
            "/v1/teams",
            r#"{"name": "x", "slack_channel": "general"}"#.into(),
            "invalid_field",
            Some("slack_channel"),
        ),
        (
            "/v1/teams",
            r#"{"name": "x", "slack_channel": "C0123ABCDE", "members": ["U0000000A", 3]}"#.into(),
            "invalid_field",
            Some("members[1]"),
        ),
        (
            "/v1/teams",
            r#"{"name": "x", "slack_channel": "C0123ABCDE", "members": ["bob"]}"#.into(),
            "invalid_field",
            Some("members[0]"),
        ),
        (
            "/v1/escalation-policies",
            format!(r#"{{"team_id": "{tid}", "name": "p", "steps": [{{"notify": "pager"}}]}}"#),
            "invalid_field",
            Some("steps[0].notify"),
        ),
        (
            "/v1/escalation-policies",
            format!(
                r#"{{"team_id": "{tid}", "name": "p", "steps": [{{"notify": "here", "escalate_after_minutes": 5}}, {{"notify": "user"}}]}}"#
            ),
            "invalid_field",
            Some("steps[1].user"),
        ),
        (
            "/v1/escalation-policies",
            format!(
                r#"{{"team_id": "{tid}", "name": "p", "steps": [{{"notify": "here", "escalate_after_minutes": 1441}}]}}"#
            ),
            "invalid_field",
            Some("steps[0].escalate_after_minutes"),
        ),
        (
            "/v1/escalation-policies",
            format!(
                r#"{{"team_id": "{tid}", "name": "p", "repeat": 10, "steps": [{{"notify": "here", "escalate_after_minutes": 5}}]}}"#
            ),
            "invalid_field",
            Some("repeat"),
        ),
        (
            "/v1/escalation-policies",
            format!(r#"{{"team_id": "{tid}", "name": "p", "repeat": -1, "steps": [{{"notify": "here"}}]}}"#),
            "invalid_field",
            Some("repeat"),
        ),
        (
            "/v1/escalation-policies",
            format!(r#"{{"team_id": "{tid}", "name": "p", "steps": [{{"notify": "here", "wait": 5}}]}}"#),
            "invalid_field",
            Some("steps[0].wait"),
        ),
        (
            "/v1/escalation-policies",
            format!(r#"{{"team_id": "{tid}", "name": "p", "steps": [{{"escalate_after_minutes": 5}}]}}"#),
            "invalid_field",
            Some("steps[0].notify"),
        ),
        (
            "/v1/escalation-policies",
            format!(r#"{{"team_id": "{tid}", "name": "p", "steps": []}}"#),
            "invalid_field",
            Some("steps"),
        ),
        (
            "/v1/endpoints",
            format!(r#"{{"team_id": "{tid}", "name": "e", "allowed_topic_arns": ["nope"]}}"#),
            "invalid_field",
            Some("allowed_topic_arns[0]"),
        ),
        (
            "/v1/endpoints",
            format!(r#"{{"team_id": "{tid}", "name": "e", "alert_grouping_minutes": 600000}}"#),
            "invalid_field",
            Some("alert_grouping_minutes"),
        ),
        (
            "/v1/endpoints",
            r#"{"team_id": "team_nope", "name": "e"}"#.into(),
            "missing_reference",
            Some("team_id"),
        ),
        (
            "/v1/endpoints",
            format!(r#"{{"team_id": "{tid}", "name": "e", "escalation_policy_id": "pol_nope"}}"#),
            "missing_reference",
            Some("escalation_policy_id"),
        ),
    ];
    for (path, body, code, field) in &cases {
        let before = app.count(path).await;
        let (status, err) = app.raw_a(Method::POST, path, body).await;
        // A reference to an object the account does not have is a 422 naming the field: a 404 would say the
        // object at the URL is gone.
        let expected = if *code == "missing_reference" {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::BAD_REQUEST
        };
        assert_eq!(status, expected, "{path} {body}: {err}");
        assert_eq!(err["error"]["code"], *code, "{body}: {err}");
        assert_eq!(err["error"]["field"].as_str(), *field, "{body}: {err}");
        assert!(!err["error"]["message"].as_str().unwrap().is_empty());
        assert_eq!(app.count(path).await, before, "nothing stored for {body}");
    }

    // A rejected update changes nothing.
    let pid = policy["id"].as_str().unwrap();
    let (status, _) = app
        .raw_a(
            Method::PUT,
            &format!("/v1/escalation-policies/{pid}"),
            &format!(r#"{{"team_id": "{tid}", "name": "p", "steps": [{{"notify": "user"}}]}}"#),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, after) = app
        .as_a(Method::GET, &format!("/v1/escalation-policies/{pid}"), None)
        .await;
    assert_eq!(after, policy);

    // Over 1 MiB: 413 with the JSON error shape, nothing stored.
    let before = app.count("/v1/teams").await;
    let huge = format!(
        r#"{{"name": "x", "slack_channel": "C0123ABCDE", "description": "{}"}}"#,
        "a".repeat(1024 * 1024 + 1)
    );
    let (status, err) = app.raw_a(Method::POST, "/v1/teams", &huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(err["error"]["code"], "payload_too_large");
    assert_eq!(app.count("/v1/teams").await, before);
}

async fn health_and_readiness(db: Database) {
    let app = app(db).await;
    let (s, v) = app.call(None, Method::GET, "/healthz", None).await;
    assert_eq!((s, v), (StatusCode::OK, json!({"status": "ok"})));
    let (s, v) = app.call(None, Method::GET, "/readyz", None).await;
    assert_eq!((s, v), (StatusCode::OK, json!({"status": "ok"})));
    let (s, v) = app.call(None, Method::GET, "/openapi.json", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["paths"]["/v1/teams/{id}"]["put"].is_object());
}

dual_test!(
    crud_round_trips,
    lists_page_and_filter,
    tenants_are_isolated,
    auth_is_required,
    bad_input_is_rejected_and_stores_nothing,
    health_and_readiness,
);

/// The committed `docs/openapi.json` is what the code generates; `UPDATE_OPENAPI=1` rewrites it.
#[test]
fn openapi_document_is_committed() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    let generated = klaxon::http::openapi::document();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::create_dir_all(std::path::Path::new(path).parent().unwrap()).unwrap();
        std::fs::write(path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test -p klaxon --test api` and commit it"
    );
}

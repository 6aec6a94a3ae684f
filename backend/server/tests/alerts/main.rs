//! Alerts, jobs and simulation through the router (no socket), on SQLite and on PostgreSQL: grouping and
//! resolving, idempotent actions, tenant isolation, dead letters, and the seed's chain for a team without a
//! policy.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use std::collections::BTreeMap;

use axum::{
    Router,
    body::Body,
    http::{Method, Request, StatusCode},
};
use http_body_util::BodyExt as _;
mod actions;
mod jobs_and_simulation;

use klaxon::{
    alerts,
    event::{Event, EventKind, EventStatus, Severity},
    http::{AppState, router},
    store::{IngestEndpoint, Store},
};
use klaxon_db::Database;
use klaxon_queue::{JobState, Queue};
use serde_json::{Value, json};

use tower::ServiceExt as _;

/// The router over a fresh database with accounts A and B (id, token).
struct App {
    router: Router,
    store: Store,
    queue: Queue,
    a: (String, String),
    b: (String, String),
}

async fn app(db: Database) -> App {
    klaxon_queue::MIGRATOR.run(&db).await.unwrap();
    let store = Store::new(db.clone(), klaxon::secrets::Secrets::ephemeral(db.clone()));
    store.migrate().await.unwrap();
    let a = store.create_account("a").await.unwrap();
    let b = store.create_account("b").await.unwrap();
    let state = AppState::new(store.clone(), "https://klaxon.test");
    App {
        queue: state.queue.clone(),
        router: router(state),
        store,
        a: (a.id, a.token),
        b: (b.id, b.token),
    }
}

impl App {
    async fn call(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(body.map_or_else(Body::empty, |b| Body::from(serde_json::to_vec(&b).unwrap())))
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

    async fn a(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call(&self.a.1, method, path, body).await
    }

    async fn b(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call(&self.b.1, method, path, body).await
    }

    async fn ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.a(method, path, body).await;
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }

    /// A team of account A without a policy, and an endpoint of it.
    async fn fixture(&self) -> (Value, Value) {
        let team = self
            .ok(
                Method::POST,
                "/v1/teams",
                Some(json!({"name": "sre", "slack_channel": "C0123ABCDE", "members": ["U0000000A", "U0000000B"]})),
            )
            .await;
        let endpoint = self
            .ok(
                Method::POST,
                "/v1/endpoints",
                Some(json!({"team_id": team["id"], "name": "aws", "notification_grouping_minutes": 1})),
            )
            .await;
        (team, endpoint)
    }

    async fn ingest(
        &self,
        endpoint: &Value,
        key: &str,
        status: EventStatus,
        kind: EventKind,
        at: i64,
    ) -> alerts::Ingested {
        let endpoint = self
            .store
            .get_endpoint(&self.a.0, endpoint["id"].as_str().unwrap())
            .await
            .unwrap();
        let event = Event {
            title: format!("{key} fired"),
            text: "details".into(),
            severity: Severity::Warning,
            source: "aws.cloudwatch".into(),
            account: Some("123456789012".into()),
            region: Some("eu-west-1".into()),
            resource: None,
            link: None,
            group_key: key.into(),
            status,
            kind,
            fields: BTreeMap::from([("a.b".to_owned(), "c".to_owned())]),
        };
        let ep = IngestEndpoint {
            account_id: self.a.0.clone(),
            endpoint,
        };
        alerts::ingest(&self.store, &self.queue, &ep, &event, at)
            .await
            .unwrap()
    }

    async fn pending_timers(&self, alert_id: &str) -> usize {
        let page = self.queue.list(JobState::Ready, 1000, None).await.unwrap();
        let partition = alerts::partition(alert_id);
        page.items
            .iter()
            .filter(|j| j.partition.as_deref() == Some(partition.as_str()))
            .count()
    }
}

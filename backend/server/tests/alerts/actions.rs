//! Ingest and the alert actions: grouping, resolving, notifications, idempotent ack/close/pass, tenant
//! isolation and input checks.

use axum::http::{Method, StatusCode};
use klaxon::{
    alerts::IngestAction,
    event::{EventKind, EventStatus},
};
use klaxon_db::{Database, dual_test};
use serde_json::{Value, json};

use super::app;

async fn actions_are_idempotent_and_stop_escalation(db: Database) {
    let app = app(db).await;
    let (_, endpoint) = app.fixture().await;
    let body = json!({"endpoint_id": endpoint["id"], "title": "disk full", "severity": "critical"});
    let (status, alert) = app.a(Method::POST, "/v1/alerts", Some(body.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{alert}");
    assert_eq!(alert["status"], "open");
    assert_eq!(alert["kind"], "alert");
    assert_eq!(alert["severity"], "critical");
    assert_eq!(alert["escalation"]["step"], 0);
    assert!(alert["escalation"]["next_at"].is_string());
    let id = alert["id"].as_str().unwrap();
    assert_eq!(
        app.pending_timers(id).await,
        1,
        "an alert never exists without its timer"
    );

    // The same title again joins the alert.
    let (status, again) = app.a(Method::POST, "/v1/alerts", Some(body)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (again["id"].as_str(), again["count"].as_u64()),
        (Some(id), Some(2))
    );

    let ack = app
        .ok(
            Method::POST,
            &format!("/v1/alerts/{id}/ack"),
            Some(json!({"by": "U0000000A"})),
        )
        .await;
    assert_eq!(
        (ack["status"].as_str(), ack["acknowledged_by"].as_str()),
        (Some("acknowledged"), Some("U0000000A"))
    );
    assert_eq!(app.pending_timers(id).await, 0, "ack cancels the timer");
    let twice = app
        .ok(
            Method::POST,
            &format!("/v1/alerts/{id}/ack"),
            Some(json!({"by": "U0000000B"})),
        )
        .await;
    assert_eq!(twice, ack, "acknowledging twice is one acknowledgement");
    let passed = app.ok(Method::POST, &format!("/v1/alerts/{id}/pass"), None).await;
    assert_eq!(passed, ack, "a pass on an acknowledged alert changes nothing");
    assert_eq!(app.pending_timers(id).await, 0);

    let closed = app
        .ok(Method::POST, &format!("/v1/alerts/{id}/close"), None)
        .await;
    assert_eq!(
        (closed["status"].as_str(), closed["auto_closed"].as_bool()),
        (Some("closed"), Some(false))
    );
    assert_eq!(closed["acknowledged_by"], "U0000000A");
    let again = app
        .ok(
            Method::POST,
            &format!("/v1/alerts/{id}/close"),
            Some(json!({"by": "U0000000B"})),
        )
        .await;
    assert_eq!(again, closed, "close after close is a no-op");
    let passed = app.ok(Method::POST, &format!("/v1/alerts/{id}/pass"), None).await;
    assert_eq!(passed, closed, "a pass on a closed alert is a no-op");

    // A new event after the close opens a new alert; the list filters by status.
    let (status, fresh) = app
        .a(
            Method::POST,
            "/v1/alerts",
            Some(json!({"endpoint_id": endpoint["id"], "title": "disk full"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(fresh["id"], alert["id"]);
    let open = app.ok(Method::GET, "/v1/alerts?status=open", None).await;
    assert_eq!(open["items"].as_array().unwrap().len(), 1);
    let all = app.ok(Method::GET, "/v1/alerts?limit=1", None).await;
    assert_eq!(all["items"][0]["id"], alert["id"], "oldest first");
    let cursor = all["next_cursor"].as_str().unwrap();
    let next = app
        .ok(Method::GET, &format!("/v1/alerts?limit=1&cursor={cursor}"), None)
        .await;
    assert_eq!(next["items"][0]["id"], fresh["id"]);
    assert_eq!(next["next_cursor"], Value::Null);
    let read = app.ok(Method::GET, &format!("/v1/alerts/{id}"), None).await;
    assert_eq!(read, closed);
}

async fn events_group_resolve_and_become_notifications(db: Database) {
    let app = app(db).await;
    let (_, endpoint) = app.fixture().await;
    let t0 = 1_700_000_000_000;
    let min = 60_000;
    let first = app
        .ingest(&endpoint, "cpu", EventStatus::Firing, EventKind::Alert, t0)
        .await;
    assert_eq!(first.action, IngestAction::Created);
    let joined = app
        .ingest(
            &endpoint,
            "cpu",
            EventStatus::Firing,
            EventKind::Alert,
            t0 + 5 * min,
        )
        .await;
    assert_eq!(
        (joined.action, joined.alert.id.as_str(), joined.alert.count),
        (IngestAction::Grouped, first.alert.id.as_str(), 2)
    );
    assert_eq!(joined.alert.last_seen_ms, t0 + 5 * min);

    // Past the 7-day window the same key opens a new alert.
    let later = app
        .ingest(
            &endpoint,
            "cpu",
            EventStatus::Firing,
            EventKind::Alert,
            t0 + 10081 * min,
        )
        .await;
    assert_eq!(later.action, IngestAction::Created);
    assert_ne!(later.alert.id, first.alert.id);

    // Recovery closes every open alert of the key, auto-closed, and cancels their timers.
    let ok = app
        .ingest(
            &endpoint,
            "cpu",
            EventStatus::Resolved,
            EventKind::Notification,
            t0 + 10082 * min,
        )
        .await;
    assert_eq!(ok.action, IngestAction::Resolved);
    for id in [&first.alert.id, &later.alert.id] {
        let a = app.ok(Method::GET, &format!("/v1/alerts/{id}"), None).await;
        assert_eq!(
            (a["status"].as_str(), a["auto_closed"].as_bool()),
            (Some("closed"), Some(true)),
            "{a}"
        );
        assert_eq!(app.pending_timers(id).await, 0);
    }

    // A recovery with nothing open is a notification; notifications group within their own (1 min) window.
    let note = app
        .ingest(
            &endpoint,
            "cpu",
            EventStatus::Resolved,
            EventKind::Notification,
            t0 + 20000 * min,
        )
        .await;
    assert_eq!(note.action, IngestAction::Created);
    let n = app
        .ok(Method::GET, &format!("/v1/alerts/{}", note.alert.id), None)
        .await;
    assert_eq!(
        (n["kind"].as_str(), n["status"].as_str(), &n["escalation"]),
        (Some("notification"), Some("closed"), &Value::Null)
    );
    assert_eq!(
        app.pending_timers(&note.alert.id).await,
        0,
        "notifications never escalate"
    );
    let backup = app
        .ingest(
            &endpoint,
            "backup",
            EventStatus::Firing,
            EventKind::Notification,
            t0,
        )
        .await;
    let same = app
        .ingest(
            &endpoint,
            "backup",
            EventStatus::Firing,
            EventKind::Notification,
            t0 + 30_000,
        )
        .await;
    assert_eq!(
        (same.action, same.alert.id.as_str()),
        (IngestAction::Grouped, backup.alert.id.as_str())
    );
    let other = app
        .ingest(
            &endpoint,
            "backup",
            EventStatus::Firing,
            EventKind::Notification,
            t0 + 2 * min,
        )
        .await;
    assert_eq!(other.action, IngestAction::Created);
    let (status, e) = app
        .a(Method::POST, &format!("/v1/alerts/{}/ack", backup.alert.id), None)
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a notification cannot be acknowledged: {e}"
    );
}

async fn tenants_are_isolated(db: Database) {
    let app = app(db).await;
    let (team, endpoint) = app.fixture().await;
    let alert = app
        .ok(
            Method::POST,
            "/v1/alerts",
            Some(json!({"endpoint_id": endpoint["id"], "title": "x"})),
        )
        .await;
    let id = alert["id"].as_str().unwrap();
    for (method, path) in [
        (Method::GET, format!("/v1/alerts/{id}")),
        (Method::POST, format!("/v1/alerts/{id}/ack")),
        (Method::POST, format!("/v1/alerts/{id}/close")),
        (Method::POST, format!("/v1/alerts/{id}/pass")),
        (
            Method::POST,
            format!("/v1/teams/{}/simulate", team["id"].as_str().unwrap()),
        ),
    ] {
        let (status, _) = app.b(method, &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (_, list) = app.b(Method::GET, "/v1/alerts", None).await;
    assert_eq!(list["items"], json!([]));
    let (status, e) = app
        .b(
            Method::POST,
            "/v1/alerts",
            Some(json!({"endpoint_id": endpoint["id"], "title": "x"})),
        )
        .await;
    assert_eq!(
        (status, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("endpoint_id"))
    );
    let (status, e) = app
        .b(
            Method::POST,
            "/v1/escalation-policies/simulate",
            Some(json!({"team_id": team["id"]})),
        )
        .await;
    assert_eq!(
        (status, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("team_id"))
    );
    // A's alert is untouched.
    let read = app.ok(Method::GET, &format!("/v1/alerts/{id}"), None).await;
    assert_eq!(read["status"], "open");
}

async fn bad_input_is_rejected(db: Database) {
    let app = app(db).await;
    let (_, endpoint) = app.fixture().await;
    let (status, e) = app
        .a(
            Method::POST,
            "/v1/alerts",
            Some(json!({"endpoint_id": endpoint["id"], "title": " "})),
        )
        .await;
    assert_eq!(
        (status, e["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("title"))
    );
    let (status, e) = app
        .a(
            Method::POST,
            "/v1/alerts",
            Some(json!({"endpoint_id": endpoint["id"], "title": "x", "severity": "meh"})),
        )
        .await;
    assert_eq!(
        (status, e["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("severity"))
    );
    let alert = app
        .ok(
            Method::POST,
            "/v1/alerts",
            Some(json!({"endpoint_id": endpoint["id"], "title": "x"})),
        )
        .await;
    let (status, e) = app
        .a(
            Method::POST,
            &format!("/v1/alerts/{}/ack", alert["id"].as_str().unwrap()),
            Some(json!({"by": "bob"})),
        )
        .await;
    assert_eq!(
        (status, e["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("by"))
    );
    let (status, e) = app.a(Method::GET, "/v1/alerts?status=maybe", None).await;
    assert_eq!(
        (status, e["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("status"))
    );
    let (status, _) = app.a(Method::GET, "/v1/alerts/alert_nope", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.call("klx_wrong", Method::GET, "/v1/alerts", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

dual_test!(
    actions_are_idempotent_and_stop_escalation,
    events_group_resolve_and_become_notifications,
    tenants_are_isolated,
    bad_input_is_rejected,
);

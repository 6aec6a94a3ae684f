//! Maintenance windows end to end: a real `klaxon serve` (on SQLite and on PostgreSQL) with the fake Slack
//! and a fast policy clock, the API's refusals, and the `klaxon_maintenance_window` resource with the real
//! `terraform`.
//!
//! Window times are wall-clock instants (a window is a time of day, not a policy length), so the window a
//! test opens ends a few real seconds later; the escalation steps after it run on the fast policy clock.

#![allow(clippy::unwrap_used, clippy::needless_pass_by_value)] // Test code: a failed unwrap is a failed test.

use std::time::{SystemTime, UNIX_EPOCH};

use klaxon_api::{Client, ClientConfig, MaintenanceWindowQuery, TeamQuery, maintenance::format_instant_ms};
use klaxon_tests::{
    Server, on_both_stores,
    rig::{ALICE, BOB, CHANNEL, Db, Rig, WAIT, rig},
    terraform::{Terraform, text},
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_stores!(
    alerts_in_a_window_are_posted_marked_and_escalate_from_step_one_when_it_ends,
    deleting_a_window_releases_its_alerts_at_once,
    a_crash_across_the_windows_end_releases_once,
    invalid_windows_are_refused_naming_the_field_and_nothing_is_stored,
    snoozes_and_windows_each_hold_until_their_own_end,
);

fn now_ms() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

/// A request whose answer may be an error: its status and body.
fn send(r: &Rig, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = r
        .http
        .request(method, format!("{}{path}", r.server.url))
        .bearer_auth(&r.token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().unwrap();
    let status = resp.status();
    (status, resp.json().unwrap_or(Value::Null))
}

fn team_id(r: &Rig) -> String {
    let teams = r.api(Method::GET, "/v1/teams", None);
    teams["items"][0]["id"].as_str().unwrap().to_owned()
}

/// DMs to `user` about `title`.
fn dms_about(r: &Rig, user: &str, title: &str) -> usize {
    r.slack
        .dms(user)
        .iter()
        .filter(|d| d.content().contains(title))
        .count()
}

/// Whether anything posted to the channel (its messages and their threads) mentions `@here`/`@channel`
/// about `title`.
fn mentions_about(r: &Rig, title: &str) -> usize {
    r.slack
        .find(CHANNEL, title)
        .iter()
        .flat_map(|m| {
            let mut all = vec![m.content()];
            all.extend(r.slack.thread(CHANNEL, &m.ts).iter().map(|t| t.content()));
            all
        })
        .filter(|t| t.contains("<!here>") || t.contains("<!channel>"))
        .count()
}

const STEPS: fn() -> Value = || {
    json!([
        {"notify": "user", "user": ALICE, "escalate_after_minutes": 5},
        {"notify": "here"},
    ])
};

/// An alert opened during a window is posted with the mark, pages nobody and has no escalation timer; when
/// the window ends it escalates from its first step (the DM arrives, the thread says so). An alert
/// acknowledged during the window never escalates; one opened before the window keeps escalating.
fn alerts_in_a_window_are_posted_marked_and_escalate_from_step_one_when_it_ends(db: Db) {
    let Some(r) = rig(db, &[("KLAXON_ESCALATION_MINUTE_MS", "200")]) else {
        return;
    };
    let url = r.setup(&[ALICE], STEPS());
    let team = team_id(&r);

    // Opened before the window: it keeps escalating.
    r.raise(&url, "before the window");
    r.slack.wait("the DM of the alert opened before", WAIT, |_| {
        dms_about(&r, ALICE, "before the window") > 0
    });

    // The window: started a minute ago, ends in ten minutes (shortened below, once everything is checked).
    let starts_at = format_instant_ms(now_ms() - 60_000);
    let body = |ends_ms: i64| {
        json!({
            "team_id": team,
            "starts_at": starts_at,
            "ends_at": format_instant_ms(ends_ms),
            "description": "db upgrade",
        })
    };
    let window = r.post("/v1/maintenance-windows", body(now_ms() + 600_000));
    assert_eq!(window["team_id"], team.as_str(), "{window}");

    let held = r.raise(&url, "held in maintenance");
    let acked = r.raise(&url, "acked in maintenance");
    for id in [&held, &acked] {
        let a = r.alert(id);
        assert_eq!(a["status"], "open", "{a}");
        assert!(a["escalation"]["next_at"].is_null(), "no escalation timer: {a}");
        // The API says why: the window holds it until its end.
        assert_eq!(a["maintenance"]["window_id"], window["id"], "{a}");
        assert_eq!(a["maintenance"]["until"], window["ends_at"], "{a}");
    }
    let open = r.api(Method::GET, "/v1/alerts?status=open", None);
    let listed: Vec<&Value> = open["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["id"] == held.as_str() || a["title"] == "before the window")
        .collect();
    assert_eq!(listed.len(), 2, "{open}");
    for a in listed {
        let expected = if a["id"] == held.as_str() {
            window["id"].clone()
        } else {
            Value::Null
        };
        assert_eq!(
            a["maintenance"]["window_id"], expected,
            "the list shows holds too: {a}"
        );
    }
    r.wait_message("held in maintenance", "In maintenance");
    r.wait_thread(
        "held in maintenance",
        "Opened during a maintenance window (db upgrade)",
    );
    assert_eq!(r.press("klaxon.ack", &acked, BOB).0, 200);
    r.wait_message("acked in maintenance", &format!("Acknowledged* by <@{BOB}>"));
    // Acknowledged, it is still held (were it unacknowledged before the end, it would escalate then).
    assert_eq!(r.alert(&acked)["maintenance"]["window_id"], window["id"]);
    // The held alerts have no timer, so no step can have run: nobody was paged.
    assert_eq!(dms_about(&r, ALICE, "held in maintenance"), 0);
    assert_eq!(mentions_about(&r, "held in maintenance"), 0);

    // Shortened to end in a moment: still in effect, so the alerts stay held until the new end.
    let ends_ms = now_ms() + 1_500;
    let path = format!("/v1/maintenance-windows/{}", window["id"].as_str().unwrap());
    r.api(Method::PUT, &path, Some(body(ends_ms)));

    // The window ends: the open alert escalates from its first step (a DM to Alice), not the acked one.
    r.wait_or_dump("the DM of the held alert after the window", WAIT, |_| {
        dms_about(&r, ALICE, "held in maintenance") > 0
    });
    assert!(now_ms() >= ends_ms, "paged only once the window had ended");
    r.wait_thread("held in maintenance", "escalation starts from the first step");
    r.wait_thread("held in maintenance", &format!("Paged <@{ALICE}>"));
    r.wait_message("held in maintenance", "Acknowledge");
    r.slack.wait("the mark gone from the message", WAIT, |s| {
        s.find(CHANNEL, "held in maintenance")
            .first()
            .is_some_and(|m| !m.content().contains("In maintenance"))
    });
    let a = r.alert(&held);
    assert_eq!(a["escalation"]["round"], 0, "{a}");
    assert!(a["maintenance"].is_null(), "released: {a}");
    r.wait_thread("acked in maintenance", "The maintenance window ended.");
    // Its release committed without a timer: no step of it can run any more.
    assert_eq!(dms_about(&r, ALICE, "acked in maintenance"), 0);
    assert_eq!(mentions_about(&r, "acked in maintenance"), 0);
    assert!(r.alert(&acked)["escalation"]["next_at"].is_null());
    assert!(r.alert(&acked)["maintenance"].is_null(), "released");
}

/// A held alert snoozed for less than the window: the snooze's end says so in the thread and pages nobody
/// (the alert has no pending step while held); the window's end starts its escalation. One snoozed beyond
/// the window's end is released by it, and its first step waits for the snooze to end.
fn snoozes_and_windows_each_hold_until_their_own_end(db: Db) {
    let Some(r) = rig(db, &[("KLAXON_ESCALATION_MINUTE_MS", "200")]) else {
        return;
    };
    let url = r.setup(&[ALICE], STEPS());
    let team = team_id(&r);
    let starts_at = format_instant_ms(now_ms() - 60_000);
    let body = |ends_ms: i64| json!({"team_id": team, "starts_at": starts_at, "ends_at": format_instant_ms(ends_ms)});
    let window = r.post("/v1/maintenance-windows", body(now_ms() + 600_000));
    let held = r.raise(&url, "snoozed in maintenance");
    let longer = r.raise(&url, "snoozed past the window");
    r.wait_message("snoozed in maintenance", "In maintenance");
    r.post(
        &format!("/v1/alerts/{held}/snooze"),
        json!({"minutes": 1, "by": BOB}),
    );
    // 1000 policy minutes: 200 s, far beyond the window's end below.
    r.post(
        &format!("/v1/alerts/{longer}/snooze"),
        json!({"minutes": 1000, "by": BOB}),
    );
    r.wait_thread("snoozed in maintenance", "The snooze ended");
    // The snooze's end found no pending step; the release is still the window's.
    let a = r.alert(&held);
    assert!(a["escalation"]["next_at"].is_null(), "{a}");
    assert_eq!(dms_about(&r, ALICE, "snoozed in maintenance"), 0);

    let path = format!("/v1/maintenance-windows/{}", window["id"].as_str().unwrap());
    r.api(Method::PUT, &path, Some(body(now_ms() + 500)));
    r.wait_or_dump("the DM once the window ended", WAIT, |_| {
        dms_about(&r, ALICE, "snoozed in maintenance") > 0
    });
    r.wait_thread("snoozed in maintenance", "escalation starts from the first step");

    // The window ended during the other one's snooze: released, but its first step waits for the snooze,
    // which a new snooze then shortens to a policy minute.
    r.wait_thread("snoozed past the window", "escalation starts from the first step");
    assert_eq!(dms_about(&r, ALICE, "snoozed past the window"), 0);
    r.post(
        &format!("/v1/alerts/{longer}/snooze"),
        json!({"minutes": 1, "by": BOB}),
    );
    r.wait_thread("snoozed past the window", "The snooze ended");
    r.wait_or_dump("the DM once the snooze ended", WAIT, |_| {
        dms_about(&r, ALICE, "snoozed past the window") > 0
    });
}

/// The release is a durable timer: a server killed before the window's end and started after it still
/// releases the held alert, once (one thread line, one first step, then the chain goes on).
fn a_crash_across_the_windows_end_releases_once(db: Db) {
    let Some(mut r) = rig(
        db,
        &[
            ("KLAXON_ESCALATION_MINUTE_MS", "200"),
            ("KLAXON_JOB_LEASE_MS", "1500"),
        ],
    ) else {
        return;
    };
    let url = r.setup(&[ALICE], STEPS());
    let team = team_id(&r);
    let ends_ms = now_ms() + 5_000;
    r.post(
        "/v1/maintenance-windows",
        json!({
            "team_id": team,
            "starts_at": format_instant_ms(now_ms() - 1_000),
            "ends_at": format_instant_ms(ends_ms),
        }),
    );
    r.raise(&url, "held across a crash");
    r.wait_message("held across a crash", "In maintenance");
    r.server.kill();
    // Down until the window is over (a precondition, not the property: that is waited for below).
    while now_ms() < ends_ms + 500 {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(dms_about(&r, ALICE, "held across a crash"), 0);
    r.server.restart();
    r.wait_or_dump("the DM after the restart", WAIT, |_| {
        dms_about(&r, ALICE, "held across a crash") > 0
    });
    // The chain goes on to its `here` step. The thread tells the history in order, so once it shows the
    // page that followed the release, a second release before it would be there too.
    r.wait_or_dump("the here step after the release", WAIT, |_| {
        mentions_about(&r, "held across a crash") > 0
    });
    r.wait_thread("held across a crash", &format!("Paged <@{ALICE}>"));
    let thread = r.thread_text("held across a crash");
    assert_eq!(
        thread.matches("escalation starts from the first step").count(),
        1,
        "{thread}"
    );
    assert_eq!(dms_about(&r, ALICE, "held across a crash"), 1);
}

/// Deleting a window releases the alerts it holds at once: they escalate from their first step.
fn deleting_a_window_releases_its_alerts_at_once(db: Db) {
    let Some(r) = rig(db, &[("KLAXON_ESCALATION_MINUTE_MS", "200")]) else {
        return;
    };
    let url = r.setup(&[ALICE], STEPS());
    let endpoints = r.api(Method::GET, "/v1/endpoints", None);
    let endpoint = endpoints["items"][0]["id"].as_str().unwrap().to_owned();
    // A recurring window in effect all day long (every minute starts a 7-day occurrence), on the endpoint.
    let window = r.post(
        "/v1/maintenance-windows",
        json!({
            "endpoint_ids": [endpoint],
            "recurrence": {"cron": "* * * * *", "duration_minutes": 10080, "time_zone": "Europe/Paris"},
        }),
    );
    let id = r.raise(&url, "held until the delete");
    r.wait_message("held until the delete", "In maintenance");
    assert!(r.alert(&id)["escalation"]["next_at"].is_null());
    assert_eq!(dms_about(&r, ALICE, "held until the delete"), 0);
    // A person passing a held alert on pages its first step at once, window or not.
    let passed = r.raise(&url, "passed in maintenance");
    r.wait_message("passed in maintenance", "In maintenance");
    assert_eq!(r.press("klaxon.pass", &passed, BOB).0, 200);
    r.wait_or_dump("the DM of the passed alert", WAIT, |_| {
        dms_about(&r, ALICE, "passed in maintenance") > 0
    });
    // Escalating, it is no longer shown as held; the other one is.
    assert!(r.alert(&passed)["maintenance"].is_null());
    assert_eq!(r.alert(&id)["maintenance"]["window_id"], window["id"]);

    // Shortening it is re-examined at once too: still in effect, so still held.
    let (status, _) = send(
        &r,
        Method::PUT,
        &format!("/v1/maintenance-windows/{}", window["id"].as_str().unwrap()),
        Some(json!({
            "endpoint_ids": [endpoint],
            "recurrence": {"cron": "* * * * *", "duration_minutes": 600, "time_zone": "UTC"},
        })),
    );
    assert_eq!(status, 200);
    let (status, _) = send(
        &r,
        Method::DELETE,
        &format!("/v1/maintenance-windows/{}", window["id"].as_str().unwrap()),
        None,
    );
    assert_eq!(status, 204);
    r.wait_or_dump("the DM after the delete", WAIT, |_| {
        dms_about(&r, ALICE, "held until the delete") > 0
    });
    r.wait_thread("held until the delete", "escalation starts from the first step");
    // The passed one was escalating already: the end of its hold starts nothing more.
    r.wait_thread("passed in maintenance", "The maintenance window ended.");
    assert!(
        !r.thread_text("passed in maintenance")
            .contains("escalation starts from the first step")
    );
    let (status, _) = send(
        &r,
        Method::GET,
        &format!("/v1/maintenance-windows/{}", window["id"].as_str().unwrap()),
        None,
    );
    assert_eq!(status, 404);
}

/// Bad windows answer 400 naming the field (422 for a reference that does not exist) and store nothing;
/// good ones go through the whole API.
fn invalid_windows_are_refused_naming_the_field_and_nothing_is_stored(db: Db) {
    let Some(r) = rig(db, &[]) else { return };
    r.setup(&[ALICE], STEPS());
    let team = team_id(&r);
    let once = |starts: &str, ends: &str| json!({"team_id": team, "starts_at": starts, "ends_at": ends});
    let recurring = |cron: &str, minutes: Value, zone: &str| json!({"team_id": team, "recurrence": {"cron": cron, "duration_minutes": minutes, "time_zone": zone}});
    let cases = [
        (
            once("2026-12-05T22:00:00Z", "2026-12-05T21:00:00Z"),
            400,
            "ends_at",
            "after starts_at",
        ),
        (
            once("2026-12-05T22:00:00Z", "2026-12-12T22:00:01Z"),
            400,
            "ends_at",
            "at most 7 days",
        ),
        (
            once("2026-12-05 22:00", "2026-12-05T23:00:00Z"),
            400,
            "starts_at",
            "RFC 3339",
        ),
        (
            json!({"team_id": team, "starts_at": "2026-12-05T22:00:00Z"}),
            400,
            "ends_at",
            "required",
        ),
        (
            json!({"team_id": team, "starts_at": "2026-12-05T22:00:00Z", "ends_at": "2026-12-05T23:00:00Z",
                "recurrence": {"cron": "0 22 * * 6", "duration_minutes": 60, "time_zone": "UTC"}}),
            400,
            "starts_at",
            "not both",
        ),
        (
            recurring("0 22 * *", json!(60), "UTC"),
            400,
            "recurrence.cron",
            "5-field",
        ),
        (
            recurring("0 24 * * *", json!(60), "UTC"),
            400,
            "recurrence.cron",
            "hour field",
        ),
        (
            recurring("0 22 * * 6", json!(10_081), "UTC"),
            400,
            "recurrence.duration_minutes",
            "between 1 and 10080",
        ),
        (
            recurring("0 22 * * 6", json!(60), "Europe/Atlantis"),
            400,
            "recurrence.time_zone",
            "IANA",
        ),
        (
            json!({"starts_at": "2026-12-05T22:00:00Z", "ends_at": "2026-12-05T23:00:00Z"}),
            400,
            "team_id",
            "required",
        ),
        (
            json!({"team_id": team, "endpoint_ids": ["ep_x"], "starts_at": "2026-12-05T22:00:00Z",
                "ends_at": "2026-12-05T23:00:00Z"}),
            400,
            "endpoint_ids",
            "not both",
        ),
        (
            json!({"endpoint_ids": ["ep_nope"], "starts_at": "2026-12-05T22:00:00Z",
                "ends_at": "2026-12-05T23:00:00Z"}),
            422,
            "endpoint_ids",
            "ep_nope",
        ),
        (
            json!({"team_id": "team_nope", "starts_at": "2026-12-05T22:00:00Z",
                "ends_at": "2026-12-05T23:00:00Z"}),
            422,
            "team_id",
            "team_nope",
        ),
    ];
    for (body, status, field, says) in cases {
        let (got, answer) = send(&r, Method::POST, "/v1/maintenance-windows", Some(body.clone()));
        assert_eq!(got.as_u16(), status, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{body}: {message}");
    }
    let listed = r.api(Method::GET, "/v1/maintenance-windows", None);
    assert_eq!(listed["items"], json!([]), "nothing was stored");

    // The whole API on a good one; instants come back in UTC.
    let created = r.post(
        "/v1/maintenance-windows",
        once("2026-12-05T23:00:00+01:00", "2026-12-06T01:30:00.5+01:00"),
    );
    assert_eq!(created["starts_at"], "2026-12-05T22:00:00Z", "{created}");
    assert_eq!(created["ends_at"], "2026-12-06T00:30:00.5Z", "{created}");
    assert!(created["recurrence"].is_null() && created["endpoint_ids"] == json!([]));
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        r.api(Method::GET, &format!("/v1/maintenance-windows/{id}"), None),
        created
    );
    let page = r.api(
        Method::GET,
        &format!("/v1/maintenance-windows?team_id={team}&limit=1"),
        None,
    );
    assert_eq!(page["items"][0]["id"], id);
    // A team cannot be deleted under its window (this one has nothing else), and can once it is gone.
    let lone = r.post(
        "/v1/teams",
        json!({"name": "lone", "slack_channel": "C0LONE0001"}),
    );
    let lone = lone["id"].as_str().unwrap();
    let window = r.post(
        "/v1/maintenance-windows",
        json!({"team_id": lone, "starts_at": "2026-12-05T22:00:00Z", "ends_at": "2026-12-05T23:00:00Z"}),
    );
    let (status, answer) = send(&r, Method::DELETE, &format!("/v1/teams/{lone}"), None);
    assert_eq!(status.as_u16(), 409, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("maintenance windows"),
        "{answer}"
    );
    let window = format!("/v1/maintenance-windows/{}", window["id"].as_str().unwrap());
    assert_eq!(send(&r, Method::DELETE, &window, None).0, 204);
    assert_eq!(
        send(&r, Method::DELETE, &format!("/v1/teams/{lone}"), None).0,
        204
    );
    let other = r.api(Method::GET, "/v1/maintenance-windows?team_id=team_other", None);
    assert_eq!(other["items"], json!([]));
    // A bad replacement changes nothing.
    let path = format!("/v1/maintenance-windows/{id}");
    let (status, answer) = send(
        &r,
        Method::PUT,
        &path,
        Some(recurring("0 22 * * 6", json!(0), "UTC")),
    );
    assert_eq!(
        (status.as_u16(), answer["error"]["field"].as_str()),
        (400, Some("recurrence.duration_minutes"))
    );
    assert_eq!(r.api(Method::GET, &path, None), created);
    let replaced = r.api(
        Method::PUT,
        &path,
        Some(recurring("30 1 * * 1-5", json!(90), "America/New_York")),
    );
    assert_eq!(replaced["starts_at"], Value::Null);
    assert_eq!(replaced["recurrence"]["time_zone"], "America/New_York");
    let (status, _) = send(&r, Method::DELETE, &path, None);
    assert_eq!(status, 204);
    let (status, _) = send(&r, Method::DELETE, &path, None);
    assert_eq!(status, 404);
}

// ----- Terraform -----

const HEADER: &str = r#"
terraform {
  required_providers {
    klaxon = { source = "klaxon/klaxon" }
  }
}
provider "klaxon" {}

resource "klaxon_team" "sre" {
  name          = "sre"
  slack_channel = "C0123ABCDE"
}

resource "klaxon_endpoint" "batch" {
  team_id = klaxon_team.sre.id
  name    = "batch"
}
"#;

fn windows(description: &str, ends_at: &str, duration: u32) -> String {
    format!(
        r#"{HEADER}
resource "klaxon_maintenance_window" "upgrade" {{
  team_id     = klaxon_team.sre.id
  starts_at   = "2026-12-05T23:00:00+01:00"
  ends_at     = "{ends_at}"
  description = "{description}"
}}

resource "klaxon_maintenance_window" "weekly" {{
  endpoint_ids = [klaxon_endpoint.batch.id]

  recurrence {{
    cron             = "0 22 * * sat"
    duration_minutes = {duration}
    time_zone        = "Europe/Paris"
  }}
}}

output "upgrade_id" {{ value = klaxon_maintenance_window.upgrade.id }}
output "weekly_id"  {{ value = klaxon_maintenance_window.weekly.id }}
"#
    )
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn terraform_lifecycle_of_a_maintenance_window() {
    let server = Server::start_sqlite();
    let token = server.create_account("tf");
    let api = Client::new(ClientConfig::new(&server.url, &token)).unwrap();
    let rt = rt();
    let tf = Terraform::new(&server.url, &token);

    // Create; the plan after it is quiet although Klaxon answers the instants in UTC.
    tf.write(&windows("db upgrade", "2026-12-06T02:00:00+01:00", 120));
    tf.apply();
    tf.assert_quiet();
    let (upgrade, weekly) = (tf.output("upgrade_id"), tf.output("weekly_id"));
    let stored = rt
        .block_on(api.get_maintenance_window(&upgrade))
        .unwrap()
        .unwrap();
    assert_eq!(stored.starts_at.as_deref(), Some("2026-12-05T22:00:00Z"));
    let stored = rt.block_on(api.get_maintenance_window(&weekly)).unwrap().unwrap();
    let recurrence = stored.recurrence.unwrap();
    assert_eq!(recurrence.duration_minutes, 120);
    // Names are kept as written (so the plan stays quiet), and read as the day they name.
    assert_eq!(recurrence.cron, "0 22 * * sat");

    // In-place updates: both windows change, neither is replaced.
    tf.write(&windows("db upgrade, part 2", "2026-12-06T03:00:00+01:00", 90));
    let (code, plan) = tf.plan();
    assert_eq!(code, 2);
    assert!(
        plan.contains("Plan: 0 to add, 2 to change, 0 to destroy"),
        "{plan}"
    );
    assert!(plan.contains("~ duration_minutes = 120 -> 90"), "{plan}");
    tf.apply();
    tf.assert_quiet();
    assert_eq!(
        (tf.output("upgrade_id"), tf.output("weekly_id")),
        (upgrade.clone(), weekly.clone())
    );
    let stored = rt
        .block_on(api.get_maintenance_window(&upgrade))
        .unwrap()
        .unwrap();
    assert_eq!(stored.ends_at.as_deref(), Some("2026-12-06T02:00:00Z"));
    assert_eq!(stored.description.as_deref(), Some("db upgrade, part 2"));

    // Import into a fresh state: the windows written in UTC plan nothing beyond the imports.
    let state = std::fs::read_to_string(tf.path("terraform.tfstate")).unwrap();
    tf.ok(&["state", "rm", "klaxon_maintenance_window.weekly"]);
    tf.ok(&["import", "-no-color", "klaxon_maintenance_window.weekly", &weekly]);
    tf.assert_quiet();
    std::fs::write(tf.path("terraform.tfstate"), &state).unwrap();
    let out = tf.run(&[
        "import",
        "-no-color",
        "klaxon_maintenance_window.missing",
        "mw_nope",
    ]);
    assert!(!out.status.success());

    // Deleted outside terraform: the next plan creates it again.
    assert!(rt.block_on(api.delete_maintenance_window(&upgrade)).unwrap());
    let (code, plan) = tf.plan();
    assert_eq!(code, 2);
    assert!(
        plan.contains("klaxon_maintenance_window.upgrade will be created"),
        "{plan}"
    );
    assert!(
        plan.contains("Plan: 1 to add, 0 to change, 0 to destroy"),
        "{plan}"
    );
    tf.apply();
    tf.assert_quiet();

    tf.ok(&["destroy", "-auto-approve", "-no-color"]);
    rt.block_on(async {
        let left = api
            .list_maintenance_windows(&MaintenanceWindowQuery::default())
            .await
            .unwrap();
        assert!(left.items.is_empty(), "{left:?}");
    });
}

#[test]
fn terraform_refuses_invalid_windows_at_plan_with_the_attribute_path() {
    let server = Server::start_sqlite();
    let token = server.create_account("tf");
    let api = Client::new(ClientConfig::new(&server.url, &token)).unwrap();
    let tf = Terraform::new(&server.url, &token);
    let cases = [
        (
            r#"team_id = klaxon_team.sre.id
  starts_at = "2026-12-05T23:00:00Z"
  ends_at   = "2026-12-05T22:00:00Z""#,
            "must be after starts_at",
            "ends_at",
        ),
        (
            r#"team_id = klaxon_team.sre.id
  starts_at = "2026-12-05T23:00:00Z"
  ends_at   = "2026-12-13T23:00:00Z""#,
            "at most 7 days",
            "ends_at",
        ),
        (
            r#"team_id = klaxon_team.sre.id
  starts_at = "next tuesday"
  ends_at   = "2026-12-13T23:00:00Z""#,
            "is not an RFC 3339 date and time",
            "starts_at",
        ),
        (
            r#"team_id = klaxon_team.sre.id
  recurrence {
    cron             = "0 22 * * 8"
    duration_minutes = 60
    time_zone        = "UTC"
  }"#,
            "day of week field",
            "cron",
        ),
        (
            r#"team_id = klaxon_team.sre.id
  recurrence {
    cron             = "0 22 * * 6"
    duration_minutes = 0
    time_zone        = "Europe/Atlantis"
  }"#,
            "is not an IANA time zone name",
            "time_zone",
        ),
        (
            r#"team_id = klaxon_team.sre.id
  starts_at = "2026-12-05T22:00:00Z"
  ends_at   = "2026-12-05T23:00:00Z"
  recurrence {
    cron             = "0 22 * * 6"
    duration_minutes = 60
    time_zone        = "UTC"
  }"#,
            "not both",
            "starts_at",
        ),
        (
            r#"team_id      = klaxon_team.sre.id
  endpoint_ids = [klaxon_endpoint.batch.id]
  starts_at    = "2026-12-05T22:00:00Z"
  ends_at      = "2026-12-05T23:00:00Z""#,
            "not both",
            "endpoint_ids",
        ),
    ];
    for (body, message, attribute) in cases {
        tf.write(&format!(
            "{HEADER}\nresource \"klaxon_maintenance_window\" \"w\" {{\n  {body}\n}}\n"
        ));
        let out = tf.run(&["apply", "-auto-approve", "-no-color"]);
        let text = text(&out);
        assert!(!out.status.success(), "apply must fail at its plan for {body}");
        let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(words.contains(message), "message {message:?} in:\n{text}");
        // Terraform maps the attribute path onto the configuration and quotes the line.
        assert!(
            text.contains("klaxon_maintenance_window.w") && text.contains("main.tf line"),
            "{text}"
        );
        // ... at the attribute itself: the quoted source line (`  21:   ends_at = ...`) starts with it.
        let quoted = text.lines().any(|l| {
            l.trim_start()
                .split_once(':')
                .is_some_and(|(n, rest)| n.parse::<u32>().is_ok() && rest.trim_start().starts_with(attribute))
        });
        assert!(quoted, "attribute {attribute} quoted in:\n{text}");
    }
    // Nothing was created: apply stopped at its plan, before the team was created.
    let rt = rt();
    rt.block_on(async {
        assert!(
            api.list_teams(&TeamQuery::default())
                .await
                .unwrap()
                .items
                .is_empty()
        );
    });
}

//! Heartbeats (dead-man's switches) end to end: a real `klaxon serve` on SQLite and on PostgreSQL, with the fake
//! Slack and a fast policy minute. A heartbeat that is not pinged opens an alert that is posted and escalated
//! like any other; the next ping closes it (auto-closed, the message updated, the thread saying why); pings in
//! time open nothing, nor do paused or deleted heartbeats; pings write no job; bad input is refused with the
//! field named. Then the Terraform resource with the real `terraform`. What a ping costs is measured by
//! `bench/heartbeats.sh`, not here.

#![allow(clippy::unwrap_used, clippy::needless_pass_by_value)] // Test code: a failed unwrap is a failed test.

use std::{
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

use klaxon_api::{Client, ClientConfig, HeartbeatQuery};
use klaxon_tests::{
    Server, TempDir, on_both_stores,
    rig::{ALICE, CHANNEL, Db, Rig, SECRET, TOKEN, WAIT, rig},
    terraform::Terraform,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_stores!(
    a_missed_heartbeat_alerts_escalates_and_a_ping_closes_it,
    pings_in_time_and_paused_or_deleted_heartbeats_raise_nothing,
    pings_write_no_job,
    a_deadline_passed_while_down_alerts_after_the_restart,
    bad_input_is_refused_with_the_field_and_changes_nothing,
    pausing_or_deleting_a_missed_heartbeat_closes_its_alert,
);

/// A policy minute of the backend tests: a 1-minute interval passes in 150 ms.
const MINUTE_MS: &str = "150";

fn fast_rig(db: Db) -> Option<Rig> {
    rig(db, &[("KLAXON_ESCALATION_MINUTE_MS", MINUTE_MS)])
}

/// A team with Alice, and a policy that DMs her, then (30 policy minutes later) asks the channel.
fn team_and_policy(r: &Rig) -> (String, String) {
    let team = r.post(
        "/v1/teams",
        json!({"name": "sre", "slack_channel": CHANNEL, "members": [ALICE]}),
    );
    let policy = r.post(
        "/v1/escalation-policies",
        json!({"team_id": team["id"], "name": "backups", "steps": [
            {"notify": "user", "user": ALICE, "escalate_after_minutes": 30},
            {"notify": "here"}
        ]}),
    );
    (
        team["id"].as_str().unwrap().to_owned(),
        policy["id"].as_str().unwrap().to_owned(),
    )
}

/// The answer to an API call, whatever its status.
fn call(r: &Rig, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = r
        .http
        .request(method, format!("{}{path}", r.server.url))
        .bearer_auth(&r.token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().unwrap();
    (resp.status(), resp.json().unwrap_or(Value::Null))
}

fn ping(r: &Rig, url: &str) -> Value {
    let resp = r.http.post(url).send().unwrap();
    assert_eq!(resp.status(), 200, "ping {}", resp.status());
    resp.json().unwrap()
}

/// The account's alerts of one heartbeat (its id is their `endpoint_id`).
fn alerts_of(r: &Rig, heartbeat: &str) -> Vec<Value> {
    let all = r.api(Method::GET, "/v1/alerts?limit=1000", None);
    all["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["endpoint_id"] == heartbeat)
        .cloned()
        .collect()
}

/// Waits until the missed-alert of the heartbeat named `name` is in the channel.
fn wait_missed(r: &Rig, name: &str) {
    let title = format!("heartbeat {name} missed");
    r.wait_or_dump(&format!("the message {title:?}"), WAIT, |s| {
        !s.find(CHANNEL, &title).is_empty()
    });
}

/// The whole flow: no ping within interval + grace opens one alert, posted to the channel and DMed to the
/// policy's person; the heartbeat says it is missed; further sweeps open no second alert; a ping closes it
/// (auto-closed, message updated, thread says the heartbeat is back); a later miss opens a new one.
fn a_missed_heartbeat_alerts_escalates_and_a_ping_closes_it(db: Db) {
    let Some(r) = fast_rig(db) else { return };
    let (team, policy) = team_and_policy(&r);
    let hb = r.post(
        "/v1/heartbeats",
        json!({"team_id": team, "escalation_policy_id": policy, "name": "nightly-backup",
            "interval_minutes": 1, "grace_minutes": 1}),
    );
    let id = hb["id"].as_str().unwrap().to_owned();
    let url = hb["ping_url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&format!("{}/heartbeat/hb_", r.server.url)),
        "{url}"
    );
    assert_eq!(
        (hb["missed"].as_bool(), &hb["last_beat_at"]),
        (Some(false), &Value::Null)
    );

    wait_missed(&r, "nightly-backup");
    r.slack.wait("the DM to Alice", WAIT, |s| {
        s.dms(ALICE)
            .iter()
            .any(|d| d.content().contains("heartbeat nightly-backup missed"))
    });
    r.wait_thread("heartbeat nightly-backup missed", &format!("Paged <@{ALICE}>"));
    let got = r.api(Method::GET, &format!("/v1/heartbeats/{id}"), None);
    assert_eq!(got["missed"], true, "{got}");
    let alerts = alerts_of(&r, &id);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let alert = &alerts[0];
    assert_eq!(
        (
            alert["status"].as_str(),
            alert["source"].as_str(),
            alert["team_id"].as_str(),
            alert["escalation_policy_id"].as_str()
        ),
        (
            Some("open"),
            Some("heartbeat"),
            Some(team.as_str()),
            Some(policy.as_str())
        ),
        "{alert}"
    );
    let text = alert["text"].as_str().unwrap();
    assert!(
        text.starts_with("No ping since the heartbeat was created or resumed at 20")
            && text.ends_with("it expects one every 1 min, with 1 min of grace."),
        "{text}"
    );

    // Sweeps go on (a probe heartbeat created now misses later than this one did): still one alert.
    let probe = r.post(
        "/v1/heartbeats",
        json!({"team_id": team, "name": "probe", "interval_minutes": 2}),
    );
    wait_missed(&r, "probe");
    assert_eq!(alerts_of(&r, &id).len(), 1, "one missed-alert per miss");

    // A longer window first, so the checks below run well within it (an update keeps the miss).
    let body = |interval: u32| {
        json!({"team_id": team, "escalation_policy_id": policy, "name": "nightly-backup",
            "interval_minutes": interval, "grace_minutes": 1})
    };
    let got = r.api(Method::PUT, &format!("/v1/heartbeats/{id}"), Some(body(600)));
    assert_eq!(got["missed"], true, "{got}");
    // The ping closes it, through the same path as a recovery event.
    let beat = ping(&r, &url);
    assert_eq!(beat, json!({"ok": true, "recovered": true}));
    let closed = r.alert(alert["id"].as_str().unwrap());
    assert_eq!(
        (closed["status"].as_str(), closed["auto_closed"].as_bool()),
        (Some("closed"), Some(true)),
        "{closed}"
    );
    r.wait_message("heartbeat nightly-backup missed", "Closed automatically");
    r.wait_thread("heartbeat nightly-backup missed", "the heartbeat is back");
    assert!(
        r.message("heartbeat nightly-backup missed").buttons().is_empty(),
        "a closed alert has no buttons"
    );
    let got = r.api(Method::GET, &format!("/v1/heartbeats/{id}"), None);
    assert_eq!(got["missed"], false, "{got}");
    assert!(got["last_beat_at"].is_string(), "{got}");
    // A second ping has nothing to close.
    assert_eq!(ping(&r, &url), json!({"ok": true, "recovered": false}));

    // Silence again (back to the short window): a new alert, the closed one stays closed.
    r.api(Method::PUT, &format!("/v1/heartbeats/{id}"), Some(body(1)));
    r.wait_or_dump("a second missed-alert", WAIT, |_| alerts_of(&r, &id).len() == 2);
    let alerts = alerts_of(&r, &id);
    let open: Vec<_> = alerts.iter().filter(|a| a["status"] == "open").collect();
    assert_eq!(open.len(), 1, "{alerts:#?}");
    let text = open[0]["text"].as_str().unwrap();
    assert!(text.starts_with("No ping since 20"), "{text}");
    // The probe, never pinged, used the team's default chain (it names no policy).
    let probe_alerts = alerts_of(&r, probe["id"].as_str().unwrap());
    assert_eq!(probe_alerts.len(), 1, "{probe_alerts:#?}");
    assert_eq!(probe_alerts[0]["escalation_policy_id"], Value::Null);
}

/// Whether a thread of a channel message titled `title` contains `needle` (a heartbeat's missed-alerts share
/// their title).
fn some_thread_says(r: &Rig, title: &str, needle: &str) -> bool {
    r.slack.find(CHANNEL, title).iter().any(|m| {
        r.slack
            .thread(CHANNEL, &m.ts)
            .iter()
            .any(|t| t.text.contains(needle))
    })
}

/// Pausing a missed heartbeat closes its alert (nobody runs what it watches; paging about it is noise) and the
/// thread says why; resumed, it watches again and misses again; deleting it closes that alert too.
fn pausing_or_deleting_a_missed_heartbeat_closes_its_alert(db: Db) {
    let Some(r) = fast_rig(db) else { return };
    let (team, _) = team_and_policy(&r);
    let body = |paused: bool| {
        json!({"team_id": team, "name": "cron-a", "interval_minutes": 1, "grace_minutes": 0,
            "paused": paused})
    };
    let hb = r.post("/v1/heartbeats", body(false));
    let id = hb["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/heartbeats/{id}");
    let title = "heartbeat cron-a missed";
    wait_missed(&r, "cron-a");
    let first = alerts_of(&r, &id)[0]["id"].as_str().unwrap().to_owned();

    let got = r.api(Method::PUT, &path, Some(body(true)));
    assert_eq!(got["missed"], false, "the miss is taken back: {got}");
    assert_eq!(r.alert(&first)["status"], "closed");
    r.wait_or_dump("the thread saying the heartbeat was paused", WAIT, |_| {
        some_thread_says(&r, title, "The heartbeat was paused")
    });

    r.api(Method::PUT, &path, Some(body(false)));
    r.wait_or_dump("a new missed-alert after the resume", WAIT, |_| {
        alerts_of(&r, &id).iter().any(|a| a["status"] == "open")
    });
    let second = alerts_of(&r, &id)
        .into_iter()
        .find(|a| a["status"] == "open")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(first, second);
    r.api(Method::DELETE, &path, None);
    assert_eq!(r.alert(&second)["status"], "closed");
    r.wait_or_dump("the thread saying the heartbeat was deleted", WAIT, |_| {
        some_thread_says(&r, title, "The heartbeat was deleted")
    });
}

/// A heartbeat pinged well within its window raises nothing, nor does a paused one or a deleted one, while a
/// probe created after them (never pinged, a longer window than theirs) shows the sweeps went past all their
/// deadlines. Resuming the paused one starts its clock afresh: it misses one window later.
fn pings_in_time_and_paused_or_deleted_heartbeats_raise_nothing(db: Db) {
    let Some(r) = fast_rig(db) else { return };
    let (team, _) = team_and_policy(&r);
    let hb = |name: &str, interval: u32, paused: bool| {
        r.post(
            "/v1/heartbeats",
            json!({"team_id": team, "name": name, "interval_minutes": interval,
                "grace_minutes": 5, "paused": paused}),
        )
    };
    // A window of 20 policy minutes (3 s), pinged every 100 ms or so.
    let steady = hb("steady", 15, false);
    let steady_url = steady["ping_url"].as_str().unwrap().to_owned();
    let paused = hb("paused", 1, true);
    let deleted = hb("deleted", 1, false);
    let (s, _) = call(
        &r,
        Method::DELETE,
        &format!("/v1/heartbeats/{}", deleted["id"].as_str().unwrap()),
        None,
    );
    assert_eq!(s, 204);
    let probe = hb("probe", 35, false);
    let deadline = Instant::now() + WAIT;
    while alerts_of(&r, probe["id"].as_str().unwrap()).is_empty() {
        assert!(Instant::now() < deadline, "the probe never missed:\n{}", r.log());
        ping(&r, &steady_url);
        std::thread::sleep(Duration::from_millis(100));
    }
    for quiet in [&steady, &paused, &deleted] {
        let id = quiet["id"].as_str().unwrap();
        assert!(alerts_of(&r, id).is_empty(), "{quiet}");
    }
    assert!(
        r.slack.find(CHANNEL, "heartbeat steady").is_empty()
            && r.slack.find(CHANNEL, "heartbeat paused").is_empty()
            && r.slack.find(CHANNEL, "heartbeat deleted").is_empty()
    );
    // The deleted heartbeat's URL is gone.
    let gone = r.http.post(deleted["ping_url"].as_str().unwrap()).send().unwrap();
    assert_eq!(gone.status(), 404);
    // Resumed: its clock starts now, and with no ping it misses.
    let pid = paused["id"].as_str().unwrap();
    let resumed = r.api(
        Method::PUT,
        &format!("/v1/heartbeats/{pid}"),
        Some(json!({"team_id": team, "name": "paused", "interval_minutes": 1, "grace_minutes": 0})),
    );
    assert_eq!(resumed["paused"], false);
    wait_missed(&r, "paused");
}

/// A deadline that passes while the service is down opens the alert once it is back: the sweep is durable
/// (and every start makes sure one is scheduled).
fn a_deadline_passed_while_down_alerts_after_the_restart(db: Db) {
    let Some(mut r) = fast_rig(db) else { return };
    let (team, _) = team_and_policy(&r);
    let hb = r.post(
        "/v1/heartbeats",
        json!({"team_id": team, "name": "cron", "interval_minutes": 10}),
    );
    r.server.kill();
    // Down for longer than the heartbeat's 10 policy minutes (1.5 s): the deadline passes meanwhile.
    std::thread::sleep(Duration::from_secs(3));
    r.server.restart();
    wait_missed(&r, "cron");
    assert_eq!(alerts_of(&r, hb["id"].as_str().unwrap()).len(), 1);
}

/// Pings write no job, however many: 200 heartbeats pinged 5 times each leave the queue's jobs other than
/// the sweep's as they were, and the sweep's count grows with time, not pings.
fn pings_write_no_job(db: Db) {
    let Some(r) = fast_rig(db) else { return };
    let (team, _) = team_and_policy(&r);
    let urls: Vec<String> = (0..200)
        .map(|i| {
            let hb = r.post(
                "/v1/heartbeats",
                json!({"team_id": team, "name": format!("job-{i}"), "interval_minutes": 10080}),
            );
            hb["ping_url"].as_str().unwrap().to_owned()
        })
        .collect();
    let before = jobs_other_than_sweeps(&r.server);
    for _ in 0..5 {
        for url in &urls {
            r.http.get(url).send().unwrap().error_for_status().unwrap();
        }
    }
    assert_eq!(jobs_other_than_sweeps(&r.server), before, "pings wrote jobs");
    let beaten = sql(
        &r.server,
        "SELECT count(*) FROM heartbeats WHERE last_beat_ms IS NOT NULL",
    );
    assert_eq!(beaten, "200");
}

fn jobs_other_than_sweeps(server: &Server) -> u64 {
    sql(
        server,
        "SELECT count(*) FROM queue_jobs WHERE kind <> 'heartbeat.sweep'",
    )
    .parse()
    .unwrap()
}

/// Runs SQL on the server's database (python's sqlite3 for SQLite, psql for PostgreSQL); rows as `a|b` lines.
fn sql(server: &Server, statement: &str) -> String {
    let out = if server.database_url.starts_with("sqlite") {
        let path = PathBuf::from(server.database_url.trim_start_matches("sqlite://"));
        Command::new("python3")
            .args([
                "-c",
                "import sqlite3,sys\nc=sqlite3.connect(sys.argv[1])\nr=c.execute(sys.argv[2]).fetchall()\n\
                 print('\\n'.join('|'.join(map(str,x)) for x in r))",
                &path.display().to_string(),
                statement,
            ])
            .output()
            .unwrap()
    } else {
        Command::new("psql")
            .args([&server.database_url, "-v", "ON_ERROR_STOP=1", "-Atqc", statement])
            .output()
            .unwrap()
    };
    assert!(
        out.status.success(),
        "{statement}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Every refusal names its field, and none changes anything.
fn bad_input_is_refused_with_the_field_and_changes_nothing(db: Db) {
    let Some(r) = fast_rig(db) else { return };
    let (team, policy) = team_and_policy(&r);
    let other_team = r.post("/v1/teams", json!({"name": "dba", "slack_channel": "C0DBA00001"}));
    let other_policy = r.post(
        "/v1/escalation-policies",
        json!({"team_id": other_team["id"], "name": "p", "steps": [{"notify": "here"}]}),
    );
    let good = json!({"team_id": team, "name": "nightly-backup", "interval_minutes": 1440,
        "grace_minutes": 60, "escalation_policy_id": policy});
    let hb = r.post("/v1/heartbeats", good.clone());
    let id = hb["id"].as_str().unwrap().to_owned();
    let with = |k: &str, v: Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    let cases = [
        (with("interval_minutes", json!(0)), 400, "interval_minutes"),
        (with("interval_minutes", json!(10081)), 400, "interval_minutes"),
        (with("interval_minutes", json!(-5)), 400, "interval_minutes"),
        (with("grace_minutes", json!(1441)), 400, "grace_minutes"),
        (with("name", json!(" ")), 400, "name"),
        (with("name", json!("x".repeat(101))), 400, "name"),
        (with("team_id", json!("team_nope")), 422, "team_id"),
        (
            with("escalation_policy_id", json!("policy_nope")),
            422,
            "escalation_policy_id",
        ),
        (
            with("escalation_policy_id", other_policy["id"].clone()),
            409,
            "escalation_policy_id",
        ),
        (with("surprise", json!(1)), 400, ""),
    ];
    for (body, status, field) in &cases {
        let renamed = with("name", json!("another"));
        let mut body = body.clone();
        if body["name"] == "nightly-backup" {
            body["name"] = renamed["name"].clone();
        }
        let (s, v) = call(&r, Method::POST, "/v1/heartbeats", Some(body.clone()));
        assert_eq!(s.as_u16(), *status, "{body}: {v}");
        if !field.is_empty() {
            assert_eq!(v["error"]["field"], *field, "{body}: {v}");
        }
        // The same body replacing the existing heartbeat is refused alike (team_id: a heartbeat cannot move).
        let (s, v) = call(
            &r,
            Method::PUT,
            &format!("/v1/heartbeats/{id}"),
            Some(body.clone()),
        );
        let expected = if *field == "team_id" { 409 } else { *status };
        assert_eq!(s.as_u16(), expected, "PUT {body}: {v}");
    }
    // The ping token is stored as its hash and sealed, never in clear.
    let token = hb["ping_url"].as_str().unwrap().rsplit('/').next().unwrap();
    let stored = sql(
        &r.server,
        "SELECT ping_token || ' ' || ping_token_sealed FROM heartbeats",
    );
    assert!(
        stored.starts_with("sha256:") && !stored.contains(token),
        "{stored}"
    );
    // The name is unique within the team.
    let (s, v) = call(&r, Method::POST, "/v1/heartbeats", Some(good.clone()));
    assert_eq!(
        (s.as_u16(), v["error"]["field"].as_str()),
        (409, Some("name")),
        "{v}"
    );
    // Nothing changed: one heartbeat, as created.
    let list = r.api(Method::GET, "/v1/heartbeats", None);
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["items"][0], hb);
    // A wrong ping token, another account, a policy in use: 404, 404, 409.
    let wrong = r
        .http
        .get(format!("{}/heartbeat/hb_not-a-token", r.server.url))
        .send()
        .unwrap();
    assert_eq!(wrong.status(), 404);
    let stranger = r.server.create_account("stranger");
    let s = r
        .http
        .get(format!("{}/v1/heartbeats/{id}", r.server.url))
        .bearer_auth(stranger)
        .send()
        .unwrap()
        .status();
    assert_eq!(s, 404);
    let (s, v) = call(
        &r,
        Method::DELETE,
        &format!("/v1/escalation-policies/{policy}"),
        None,
    );
    assert_eq!(s, 409, "a policy a heartbeat uses cannot go: {v}");
    // Filters and paging, as for the other lists.
    for i in 0..3 {
        r.post(
            "/v1/heartbeats",
            json!({"team_id": other_team["id"], "name": format!("hb-{i}"), "interval_minutes": 5}),
        );
    }
    let page = r.api(
        Method::GET,
        &format!(
            "/v1/heartbeats?team_id={}&limit=2",
            other_team["id"].as_str().unwrap()
        ),
        None,
    );
    assert_eq!(page["items"].as_array().unwrap().len(), 2, "{page}");
    let next = page["next_cursor"].as_str().unwrap();
    let rest = r.api(
        Method::GET,
        &format!(
            "/v1/heartbeats?team_id={}&limit=2&cursor={next}",
            other_team["id"].as_str().unwrap()
        ),
        None,
    );
    assert_eq!(
        (rest["items"].as_array().unwrap().len(), &rest["next_cursor"]),
        (1, &Value::Null)
    );
    let named = r.api(Method::GET, "/v1/heartbeats?name=nightly-backup", None);
    assert_eq!(named["items"].as_array().unwrap().len(), 1);
    let (s, _) = call(&r, Method::GET, "/v1/heartbeats?limit=0", None);
    assert_eq!(s, 400);
}

/// Two replicas on one PostgreSQL database: one sweep is pending for both, every missed heartbeat gets
/// exactly one alert, and a ping through either replica closes it.
#[test]
fn two_replicas_open_one_alert_per_miss() {
    let Some(r) = fast_rig(Db::Postgres) else { return };
    let replica = Server::start(
        &r.server.database_url,
        TempDir::new("heartbeat-replica"),
        &[
            ("KLAXON_SLACK_API_URL", r.slack.api_url.as_str()),
            ("KLAXON_SLACK_BOT_TOKEN", TOKEN),
            ("KLAXON_SLACK_SIGNING_SECRET", SECRET),
            ("KLAXON_SLACK_TIMEOUT_MS", "1000"),
            ("KLAXON_ESCALATION_MINUTE_MS", MINUTE_MS),
        ],
    );
    let (team, _) = team_and_policy(&r);
    let beats: Vec<Value> = (0..10)
        .map(|i| {
            r.post(
                "/v1/heartbeats",
                json!({"team_id": team, "name": format!("job-{i}"), "interval_minutes": 1}),
            )
        })
        .collect();
    let id = |hb: &Value| hb["id"].as_str().unwrap().to_owned();
    r.wait_or_dump("every heartbeat's alert", WAIT, |_| {
        beats.iter().all(|hb| !alerts_of(&r, &id(hb)).is_empty())
    });
    // More sweeps run (a probe created now misses later): still one alert each.
    r.post(
        "/v1/heartbeats",
        json!({"team_id": team, "name": "probe", "interval_minutes": 3}),
    );
    wait_missed(&r, "probe");
    for hb in &beats {
        assert_eq!(alerts_of(&r, &id(hb)).len(), 1, "{hb}");
    }
    let pending = sql(
        &r.server,
        "SELECT count(*) FROM queue_jobs WHERE kind = 'heartbeat.sweep' AND state = 'ready'",
    );
    assert!(
        pending == "0" || pending == "1",
        "one sweep pending at most: {pending}"
    );
    // A ping through the other replica closes the alert.
    let url = beats[0]["ping_url"]
        .as_str()
        .unwrap()
        .replace(&r.server.url, &replica.url);
    let beat: Value = r.http.post(&url).send().unwrap().json().unwrap();
    assert_eq!(beat["recovered"], true, "{beat}");
    let alert = &alerts_of(&r, &id(&beats[0]))[0];
    assert_eq!(alert["status"], "closed", "{alert}");
}

// ----- Terraform -----

const HEADER: &str = r#"
terraform {
  required_providers {
    klaxon = { source = "klaxon/klaxon" }
  }
}
provider "klaxon" {}
"#;

fn tf_stack(heartbeat_args: &str) -> String {
    format!(
        r#"{HEADER}
resource "klaxon_team" "sre" {{
  name          = "sre"
  slack_channel = "C0123ABCDE"
}}

resource "klaxon_escalation_policy" "backups" {{
  team_id = klaxon_team.sre.id
  name    = "backups"
  steps   = [{{ notify = "here" }}]
}}

resource "klaxon_heartbeat" "backup" {{
  team_id = klaxon_team.sre.id
  name    = "nightly-backup"
  {heartbeat_args}
}}

output "heartbeat_id" {{ value = klaxon_heartbeat.backup.id }}
output "ping_url" {{
  value     = klaxon_heartbeat.backup.ping_url
  sensitive = true
}}
"#
    )
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Create, quiet plan, in-place update (the ping URL stays), import, out-of-band delete re-created, destroy.
#[test]
fn terraform_heartbeat_lifecycle() {
    let server = Server::start_sqlite();
    let token = server.create_account("tf");
    let api = Client::new(ClientConfig::new(&server.url, &token)).unwrap();
    let rt = rt();
    let tf = Terraform::new(&server.url, &token);

    tf.write(&tf_stack("interval_minutes = 1440"));
    let (_, plan) = tf.plan();
    assert!(
        plan.contains("+ grace_minutes") && plan.contains("+ ping_url") && plan.contains("(sensitive value)"),
        "{plan}"
    );
    tf.apply();
    tf.assert_quiet();
    let id = tf.output("heartbeat_id");
    let url = tf.output("ping_url");
    let hb = rt.block_on(api.get_heartbeat(&id)).unwrap().unwrap();
    assert_eq!(
        (hb.interval_minutes, hb.grace_minutes, hb.paused),
        (1440, 0, false)
    );
    assert_eq!(hb.ping_url, url);
    let pinged = reqwest::blocking::get(&url).unwrap();
    assert_eq!(
        pinged.status(),
        200,
        "the URL terraform shows is the one that works"
    );

    // In place: the id and the ping URL stay, nothing computed is unknown.
    tf.write(&tf_stack(
        "interval_minutes = 60\n  grace_minutes = 15\n  paused = true\n  escalation_policy_id = klaxon_escalation_policy.backups.id",
    ));
    let (code, plan) = tf.plan();
    assert_eq!(code, 2);
    assert!(
        plan.contains("Plan: 0 to add, 1 to change, 0 to destroy"),
        "{plan}"
    );
    assert!(
        plan.contains("~ interval_minutes") && plan.contains("1440 -> 60"),
        "{plan}"
    );
    assert!(
        !plan.contains("known after apply"),
        "no computed noise on update:\n{plan}"
    );
    tf.apply();
    tf.assert_quiet();
    assert_eq!(tf.output("heartbeat_id"), id);
    assert_eq!(tf.output("ping_url"), url);
    let hb = rt.block_on(api.get_heartbeat(&id)).unwrap().unwrap();
    assert_eq!((hb.interval_minutes, hb.grace_minutes, hb.paused), (60, 15, true));
    assert!(hb.escalation_policy_id.is_some());

    // Import into a fresh state: nothing to change beyond the import.
    tf.ok(&["state", "rm", "klaxon_heartbeat.backup"]);
    tf.ok(&["import", "-no-color", "klaxon_heartbeat.backup", &id]);
    tf.assert_quiet();
    assert_eq!(tf.output("ping_url"), url);

    // Deleted outside terraform: the next plan creates it again (with a new URL).
    assert!(rt.block_on(api.delete_heartbeat(&id)).unwrap());
    let (code, plan) = tf.plan();
    assert_eq!(code, 2);
    assert!(plan.contains("klaxon_heartbeat.backup will be created"), "{plan}");
    assert!(
        plan.contains("Plan: 1 to add, 0 to change, 0 to destroy"),
        "{plan}"
    );
    tf.apply();
    tf.assert_quiet();
    assert_ne!(tf.output("ping_url"), url);

    tf.ok(&["destroy", "-auto-approve", "-no-color"]);
    let left = rt
        .block_on(api.list_heartbeats(&HeartbeatQuery::default()))
        .unwrap();
    assert!(left.items.is_empty());
}

/// Bad values are refused at plan, each at its attribute, before anything is created.
#[test]
fn terraform_heartbeat_invalid_values_fail_at_plan_with_the_attribute_path() {
    let server = Server::start_sqlite();
    let token = server.create_account("tf");
    let api = Client::new(ClientConfig::new(&server.url, &token)).unwrap();
    let tf = Terraform::new(&server.url, &token);
    let cases = [
        (
            "interval_minutes = 0",
            "interval_minutes",
            "must be between 1 and 10080",
        ),
        (
            "interval_minutes = 10081",
            "interval_minutes",
            "must be between 1 and 10080",
        ),
        (
            "interval_minutes = 5\n  grace_minutes = 1441",
            "grace_minutes",
            "must be between 0 and 1440",
        ),
        (
            "interval_minutes = 5\n  escalation_policy_id = \"not an id!\"",
            "escalation_policy_id",
            "is not an id this API hands out",
        ),
    ];
    for (args, attribute, message) in cases {
        tf.write(&tf_stack(args));
        let out = tf.run(&["apply", "-auto-approve", "-no-color"]);
        let text = klaxon_tests::terraform::text(&out);
        assert!(!out.status.success(), "apply must fail at its plan for {args}");
        assert!(text.contains(message), "message {message:?} in:\n{text}");
        // Terraform maps the attribute path onto the configuration and quotes the line.
        assert!(
            text.contains("klaxon_heartbeat.backup") && text.contains("main.tf line"),
            "{text}"
        );
        assert!(
            quotes(&text, attribute),
            "the line of {attribute} is quoted:\n{text}"
        );
    }
    let rt = rt();
    assert!(
        rt.block_on(api.list_heartbeats(&HeartbeatQuery::default()))
            .unwrap()
            .items
            .is_empty()
    );
    assert!(
        rt.block_on(api.list_teams(&klaxon_api::TeamQuery::default()))
            .unwrap()
            .items
            .is_empty(),
        "apply stopped at its plan, before the valid team was created"
    );
}

/// Whether terraform's output quotes a configuration line (`  20:   NAME = ...`) setting `attribute`.
fn quotes(text: &str, attribute: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim_start_matches(|c: char| c == '\u{2502}' || c.is_whitespace());
        l.split_once(':').is_some_and(|(num, rest)| {
            !num.is_empty()
                && num.chars().all(|c| c.is_ascii_digit())
                && rest.trim_start().starts_with(&format!("{attribute} "))
        })
    })
}

//! Two `klaxon serve` replicas on one PostgreSQL database share 1,000 alerts' escalation timers; one is
//! killed with SIGKILL midway. Every step of every alert must still be notified exactly once: none lost with
//! the dead replica (its leases expire and the survivor runs its jobs), none repeated (a step is a
//! deduplicated timer, and a step cut short mid-delivery asks the notification log before sending again).
//!
//! Both replicas append to one notification log (`KLAXON_NOTIFY_LOG`, O_APPEND JSON lines); the test counts
//! its lines per (alert, round, step).

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use std::{
    collections::BTreeMap,
    path::Path,
    time::{Duration, Instant},
};

use klaxon_tests::{Server, TempDir, postgres_database};
use serde_json::{Value, json};

const ALERTS: usize = 1000;
/// Steps per alert in the test's policy.
const STEPS: usize = 3;

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn post(http: &reqwest::blocking::Client, base: &str, token: &str, path: &str, body: &Value) -> Value {
    let resp = http
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(body)
        .send()
        .unwrap();
    let status = resp.status();
    let v: Value = resp.json().unwrap();
    assert!(status.is_success(), "POST {path}: {status} {v}");
    v
}

#[test]
fn every_step_is_notified_exactly_once_when_a_replica_dies() {
    let Some(database_url) = postgres_database() else {
        return;
    };
    let shared = TempDir::new("notify");
    let log = shared.path().join("notifications.jsonl");
    let log_str = log.display().to_string();
    let env = [
        ("KLAXON_NOTIFY_LOG", log_str.as_str()),
        // A policy minute of 1 s, and leases that expire 2 s after a replica dies.
        ("KLAXON_ESCALATION_MINUTE_MS", "1000"),
        ("KLAXON_JOB_LEASE_MS", "2000"),
        ("KLAXON_LOG", "warn"),
    ];
    // One after the other: the first applies the migrations.
    let mut victim = Server::start(&database_url, TempDir::new("serve-a"), &env);
    let survivor = Server::start(&database_url, TempDir::new("serve-b"), &env);
    let token = survivor.create_account("crash");
    let http = reqwest::blocking::Client::new();
    let base = survivor.url.clone();
    let team = post(
        &http,
        &base,
        &token,
        "/v1/teams",
        &json!({"name": "sre", "slack_channel": "C0123ABCDE",
                "members": ["U0000000A", "U0000000B", "U0000000C", "U0000000D"]}),
    );
    let policy = post(
        &http,
        &base,
        &token,
        "/v1/escalation-policies",
        &json!({"team_id": team["id"], "name": "crash", "steps": [
            {"notify": "random_member", "escalate_after_minutes": 1},
            {"notify": "next_member", "escalate_after_minutes": 1},
            {"notify": "here"}
        ]}),
    );
    let endpoint = post(
        &http,
        &base,
        &token,
        "/v1/endpoints",
        &json!({"team_id": team["id"], "escalation_policy_id": policy["id"], "name": "crash"}),
    );

    // Alerts go in through both replicas; both replicas' workers fire their timers.
    let urls = [victim.url.clone(), survivor.url.clone()];
    let expected = ALERTS * STEPS;
    let mut killed_at = None;
    for i in 0..ALERTS {
        // After the kill only the survivor answers.
        let url = if killed_at.is_some() {
            &urls[1]
        } else {
            &urls[i % 2]
        };
        let created = post(
            &http,
            url,
            &token,
            "/v1/alerts",
            &json!({"endpoint_id": endpoint["id"], "title": format!("disk {i} full"), "group_key": format!("k{i}")}),
        );
        assert_eq!(created["status"], "open");
        // Kill the first replica once a good share of the timers is in flight.
        if i == ALERTS * 2 / 3 && killed_at.is_none() {
            victim.kill();
            killed_at = Some(lines(&log).len());
        }
    }
    let killed_at = killed_at.unwrap();
    eprintln!(
        "killed replica {} with {killed_at} of {expected} notifications logged",
        victim.pid()
    );

    // Every step logged, and no job of the account left that could log again: none ready (a timer, a retry,
    // a job reclaimed from the dead replica) and none running (the dead replica's leases hold its jobs
    // running until they expire and the survivor takes them). From then on a duplicate cannot show up.
    let jobs = |state: &str| -> usize {
        let resp = http
            .get(format!("{base}/v1/jobs?state={state}&limit=1"))
            .bearer_auth(&token)
            .send()
            .unwrap();
        assert!(resp.status().is_success(), "GET /v1/jobs: {}", resp.status());
        let v: Value = resp.json().unwrap();
        v["items"].as_array().unwrap().len()
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let logged = lines(&log).len();
        if logged >= expected && jobs("ready") == 0 && jobs("running") == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still escalating: {logged} of {expected} notified; survivor log:\n{}",
            survivor.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(jobs("dead"), 0, "no step gave up");

    let mut counts: BTreeMap<(String, u64, u64), usize> = BTreeMap::new();
    for n in lines(&log) {
        let key = (
            n["alert_id"].as_str().unwrap().to_owned(),
            n["round"].as_u64().unwrap(),
            n["step"].as_u64().unwrap(),
        );
        *counts.entry(key).or_default() += 1;
    }
    let twice: Vec<_> = counts.iter().filter(|(_, c)| **c > 1).collect();
    assert!(twice.is_empty(), "notified more than once: {twice:?}");
    assert_eq!(
        counts.len(),
        expected,
        "every step of every alert notified; survivor log:\n{}",
        survivor.log()
    );
    assert!(
        killed_at > 0 && killed_at < expected,
        "the replica died midway ({killed_at} of {expected} notified)"
    );
}

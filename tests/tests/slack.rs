//! Slack end to end: a real `klaxon serve` (on SQLite and on PostgreSQL) against the fake Slack of the tests'
//! support code, driven as people drive it: alerts arrive by webhook, buttons are pressed with requests signed
//! exactly as Slack signs them, and what the channel shows is read back from the fake.

#![allow(clippy::unwrap_used, clippy::needless_pass_by_value)] // Test code: a failed unwrap is a failed test.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use klaxon_tests::{
    on_both_stores,
    rig::{ALICE, BOB, CAROL, CHANNEL, Db, SECRET, WAIT, rig},
    slack::{FakeSlack, Faults, dm_channel, now_secs, press_body, sign},
};
use serde_json::{Value, json};

on_both_stores!(
    alert_message_ack_thread_and_close,
    pass_pages_the_next_step,
    dm_here_and_channel_steps_with_a_fast_clock,
    skip_inactive_asks_presence_and_dnd_of_candidates_only,
    a_double_press_and_bad_signatures_change_nothing_twice,
    a_flaky_slack_gets_every_message_in_the_end,
    a_poison_message_is_dead_lettered_while_others_flow,
    a_kill_between_post_and_record_duplicates_at_most_once,
    a_person_who_cannot_be_reached_is_skipped_and_said_so,
    storms_keep_slacks_pace_and_lose_nothing,
    a_revoked_token_stops_calls_while_escalation_goes_on,
    a_third_of_calls_failing_with_429_bursts_delivers_everything,
    slack_down_for_ten_policy_minutes_ends_no_escalation,
);

/// The whole flow: an alert posts one message with the buttons, the first step DMs its person (logged in
/// the thread), Acknowledge updates the message in place and adds a thread line, Close does the same.
fn alert_message_ack_thread_and_close(db: Db) {
    let Some(r) = rig(db, &[]) else { return };
    let url = r.setup(
        &[ALICE, BOB],
        json!([{"notify": "user", "user": ALICE, "escalate_after_minutes": 30}, {"notify": "here"}]),
    );
    let id = r.raise(&url, "disk full on db1");
    let m = r.message("disk full on db1");
    assert_eq!(
        m.buttons(),
        ["klaxon.ack", "klaxon.close", "klaxon.pass"],
        "{}",
        m.content()
    );
    r.slack.wait("the DM to Alice", WAIT, |s| {
        s.dms(ALICE)
            .iter()
            .any(|d| d.content().contains("disk full on db1"))
    });
    r.wait_thread("disk full on db1", &format!("Paged <@{ALICE}>"));

    let (status, took) = r.press("klaxon.ack", &id, BOB);
    assert_eq!(status, 200);
    eprintln!("button answered in {took:?}");
    r.wait_message("disk full on db1", &format!("Acknowledged* by <@{BOB}>"));
    r.wait_thread("disk full on db1", &format!(":eyes: Acknowledged by <@{BOB}>."));
    assert_eq!(r.message("disk full on db1").buttons(), ["klaxon.close"]);
    r.slack.wait("the DM updated too", WAIT, |s| {
        s.dms(ALICE).iter().any(|d| d.content().contains("Acknowledged"))
    });
    let a = r.alert(&id);
    assert_eq!(
        (a["status"].as_str(), a["acknowledged_by"].as_str()),
        (Some("acknowledged"), Some(BOB))
    );
    assert_eq!(a["delivery"], "posted");

    assert_eq!(r.press("klaxon.close", &id, BOB).0, 200);
    r.wait_message("disk full on db1", &format!("Closed* by <@{BOB}>"));
    r.wait_thread("disk full on db1", &format!("Closed by <@{BOB}>."));
    assert!(r.message("disk full on db1").buttons().is_empty());
    assert_eq!(
        r.slack.find(CHANNEL, "disk full on db1").len(),
        1,
        "one message, updated in place"
    );
    assert_eq!(r.slack.sent_429(), 0, "{:?}", r.slack.calls());
}

/// Pass hands the alert to the next step at once: the next person is paged, the thread and the status line
/// say who passed to whom. (The bot is not in this public channel: it joins it on `not_in_channel`.)
fn pass_pages_the_next_step(db: Db) {
    let Some(r) = rig(db, &[]) else { return };
    r.slack.require_join(CHANNEL);
    let url = r.setup(
        &[ALICE, BOB],
        json!([
            {"notify": "user", "user": ALICE, "escalate_after_minutes": 30},
            {"notify": "user", "user": BOB, "escalate_after_minutes": 30},
            {"notify": "here"}
        ]),
    );
    let id = r.raise(&url, "api latency");
    r.wait_thread("api latency", &format!("Paged <@{ALICE}>"));
    assert_eq!(r.press("klaxon.pass", &id, ALICE).0, 200);
    r.slack.wait("the DM to Bob", WAIT, |s| !s.dms(BOB).is_empty());
    r.wait_thread("api latency", &format!("Passed by <@{ALICE}>"));
    r.wait_thread("api latency", &format!("Paged <@{BOB}>"));
    r.wait_message("api latency", &format!("passed by <@{ALICE}> to <@{BOB}>"));
    assert_eq!(r.slack.dms(ALICE).len(), 1);
    assert_eq!(r.slack.dms(BOB).len(), 1);
    assert_eq!(r.slack.calls_of("conversations.join").len(), 1, "joined once");
}

/// With a fast clock the engine runs the chain: a DM, then `@here` and `@channel` in the alert's thread,
/// shown in the channel too; each step once.
fn dm_here_and_channel_steps_with_a_fast_clock(db: Db) {
    let Some(r) = rig(db, &[("KLAXON_ESCALATION_MINUTE_MS", "150")]) else {
        return;
    };
    let url = r.setup(
        &[ALICE],
        json!([
            {"notify": "random_member", "escalate_after_minutes": 1},
            {"notify": "here", "escalate_after_minutes": 1},
            {"notify": "channel"}
        ]),
    );
    r.raise(&url, "queue backlog");
    r.wait_thread("queue backlog", "<!here>");
    r.wait_thread("queue backlog", "<!channel>");
    let m = r.message("queue backlog");
    let thread = r.slack.thread(CHANNEL, &m.ts);
    let here: Vec<_> = thread.iter().filter(|t| t.text.contains("<!here>")).collect();
    let channel: Vec<_> = thread.iter().filter(|t| t.text.contains("<!channel>")).collect();
    assert_eq!((here.len(), channel.len()), (1, 1), "{thread:#?}");
    assert!(
        here[0].broadcast && channel[0].broadcast,
        "mentions are shown in the channel too"
    );
    assert_eq!(r.slack.dms(ALICE).len(), 1);
    r.wait_thread("queue backlog", &format!("Paged <@{ALICE}>"));
}

/// `skip_inactive`: the next member is asked whether they are around, one at a time, and those away or in
/// Do Not Disturb are passed over; members nobody would choose are not asked.
fn skip_inactive_asks_presence_and_dnd_of_candidates_only(db: Db) {
    let Some(r) = rig(db, &[]) else { return };
    r.slack.set_away(ALICE, true);
    r.slack.set_dnd(BOB, true);
    let url = r.setup(
        &[ALICE, BOB, CAROL, "U0DAVE0001"],
        json!([{"notify": "next_member"}]),
    );
    r.raise(&url, "cpu high");
    r.slack
        .wait("the DM to Carol", WAIT, |s| !s.dms(CAROL).is_empty());
    assert!(r.slack.dms(ALICE).is_empty() && r.slack.dms(BOB).is_empty());
    let asked: Vec<String> = r
        .slack
        .calls_of("users.getPresence")
        .iter()
        .map(|c| c.args["user"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        asked,
        [ALICE, BOB, CAROL],
        "presence asked of candidates in turn, never of Dave"
    );
    let dnd: Vec<String> = r
        .slack
        .calls_of("dnd.info")
        .iter()
        .map(|c| c.args["user"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(dnd, [BOB, CAROL], "DND asked only of those who are present");
}

/// A double press acknowledges once (the second presser is told privately); a stale, a forged and a missing
/// signature are answered 401 and record nothing.
fn a_double_press_and_bad_signatures_change_nothing_twice(db: Db) {
    let Some(r) = rig(db, &[]) else { return };
    let url = r.setup(
        &[ALICE],
        json!([{"notify": "user", "user": ALICE, "escalate_after_minutes": 30}, {"notify": "here"}]),
    );
    let id = r.raise(&url, "error rate");
    r.message("error rate");

    // Refused presses of Close: had any been recorded, it would apply before the Acknowledge below (presses of
    // one alert apply in order) and the alert would end closed.
    let body = press_body("klaxon.close", &id, BOB, &r.slack.response_url("x"));
    let (old_ts, old_sig) = sign(SECRET, &body, now_secs() - 600);
    assert_eq!(r.press_raw(&body, Some(&old_ts), Some(&old_sig)).0, 401, "stale");
    let (ts, _) = sign(SECRET, &body, now_secs());
    let (_, forged) = sign("not-the-secret", &body, now_secs());
    assert_eq!(r.press_raw(&body, Some(&ts), Some(&forged)).0, 401, "forged");
    assert_eq!(r.press_raw(&body, None, None).0, 401, "missing");

    assert_eq!(r.press("klaxon.ack", &id, ALICE).0, 200);
    assert_eq!(r.press("klaxon.ack", &id, ALICE).0, 200);
    r.slack.wait("the second press answered privately", WAIT, |s| {
        s.responses().iter().any(|v| {
            v["text"]
                .as_str()
                .unwrap_or_default()
                .contains("already acknowledged by you")
        })
    });
    let a = r.alert(&id);
    assert_eq!(a["status"], "acknowledged", "{a}");
    r.wait_thread("error rate", ":eyes: Acknowledged");
    let acks = r.thread_text("error rate").matches(":eyes: Acknowledged").count();
    assert_eq!(acks, 1, "one acknowledgement, told once");
    assert!(r.log().contains("Refused a Slack request"));
}

/// With 30% of Slack's answers failing (5xx and timeouts) after a burst of 429s, every alert still gets its
/// message, and the updates after an action arrive.
fn a_flaky_slack_gets_every_message_in_the_end(db: Db) {
    let Some(r) = rig(db, &[("KLAXON_SLACK_TIMEOUT_MS", "400")]) else {
        return;
    };
    r.slack.set_faults(Faults {
        error_rate: 0.15,
        timeout_rate: 0.15,
        hang: Duration::from_millis(800),
        rate_limit_burst: 5,
        ..Faults::default()
    });
    let url = r.setup(
        &[ALICE],
        json!([{"notify": "user", "user": ALICE, "escalate_after_minutes": 30}, {"notify": "here"}]),
    );
    let ids: Vec<String> = (0..8).map(|i| r.raise(&url, &format!("[flaky {i}]"))).collect();
    // Visible: its own message, or (should retries keep its channel busy long enough) a line of the digest.
    for i in 0..8 {
        r.message(&format!("[flaky {i}]"));
    }
    r.api(
        reqwest::Method::POST,
        &format!("/v1/alerts/{}/ack", ids[0]),
        Some(json!({"by": BOB})),
    );
    r.slack
        .wait("the acknowledgement shown", Duration::from_secs(90), |s| {
            s.find(CHANNEL, "[flaky 0]").iter().any(|m| {
                m.content().contains(&format!("cknowledged* by <@{BOB}>"))
                    || m.content().contains(&format!("cknowledged by <@{BOB}>"))
            })
        });
    let failed = r.slack.calls().iter().filter(|c| c.status >= 500).count();
    assert!(failed > 0, "the fake did fail some calls");
    let statuses: Vec<u16> = r.slack.calls().iter().map(|c| c.status).collect();
    assert!(
        r.slack.sent_429() >= 5,
        "the 429 burst was sent and waited out: {} {statuses:?}",
        r.slack.sent_429()
    );
    for i in 0..8 {
        let title = format!("[flaky {i}]");
        assert!(
            r.slack.find(CHANNEL, &title).len() <= 2,
            "at most a duplicate from a timed-out post"
        );
    }
}

/// A message Slack always refuses (`invalid_blocks`) kills its sync job, visible as a dead letter, while the
/// other alerts keep flowing.
fn a_poison_message_is_dead_lettered_while_others_flow(db: Db) {
    let Some(r) = rig(db, &[]) else { return };
    r.slack.set_faults(Faults {
        poison: Some("POISON".into()),
        ..Faults::default()
    });
    let url = r.setup(&[ALICE], json!([{"notify": "here"}]));
    let poison = r.raise(&url, "POISON pill");
    for i in 0..3 {
        r.raise(&url, &format!("healthy {i}"));
    }
    for i in 0..3 {
        r.message(&format!("healthy {i}"));
    }
    r.slack.wait("the poison's sync dead-lettered", WAIT, |_| {
        let dead = r.api(reqwest::Method::GET, "/v1/jobs?state=dead", None);
        dead["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["kind"] == "slack.sync" && j["payload"]["alert_id"] == poison.as_str())
    });
    let dead = r.api(reqwest::Method::GET, "/v1/jobs?state=dead", None);
    let job = dead["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["payload"]["alert_id"] == poison.as_str())
        .unwrap()
        .clone();
    assert!(
        job["last_error"].as_str().unwrap().contains("invalid_blocks"),
        "{job}"
    );
    assert!(r.slack.find(CHANNEL, "POISON").is_empty());
}

/// Klaxon killed after Slack took a post and before Klaxon recorded it posts again when it comes back: at
/// most one duplicate, and the message it recorded is the one kept up to date.
fn a_kill_between_post_and_record_duplicates_at_most_once(db: Db) {
    let Some(mut r) = rig(db, &[("KLAXON_JOB_LEASE_MS", "1500")]) else {
        return;
    };
    let pid = r.server.pid();
    let killed = Arc::new(AtomicBool::new(false));
    let flag = killed.clone();
    // Only the channel post: the escalation's DM to Alice names the alert too and races the channel post,
    // and a kill during the DM would let the channel post be recorded (no duplicate to see).
    r.slack.on_post(move |args| {
        let text = args["text"].as_str().unwrap_or_default();
        let to_channel = args["channel"].as_str() == Some(CHANNEL);
        if to_channel && text.contains("crash here") && !flag.swap(true, Ordering::SeqCst) {
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    let url = r.setup(
        &[ALICE],
        json!([{"notify": "user", "user": ALICE, "escalate_after_minutes": 30}, {"notify": "here"}]),
    );
    let id = r.raise(&url, "crash here");
    r.slack.wait("the kill", WAIT, |_| killed.load(Ordering::SeqCst));
    r.server.restart();
    r.wait_or_dump("the message posted again", WAIT, |s| {
        s.find(CHANNEL, "crash here").len() >= 2
    });
    r.api(
        reqwest::Method::POST,
        &format!("/v1/alerts/{id}/ack",),
        Some(json!({"by": BOB})),
    );
    r.slack.wait("the recorded message updated", WAIT, |s| {
        s.find(CHANNEL, "crash here")
            .iter()
            .any(|m| m.content().contains("Acknowledged"))
    });
    let posts = r.slack.find(CHANNEL, "crash here");
    assert!(posts.len() <= 2, "at most one duplicate: {}", posts.len());
    assert_eq!(
        posts.iter().filter(|m| m.updates > 0).count(),
        1,
        "one message is kept up to date"
    );
}

/// A person who cannot be reached (deactivated) does not end the escalation: the thread says so and the
/// next step runs at once.
fn a_person_who_cannot_be_reached_is_skipped_and_said_so(db: Db) {
    let Some(r) = rig(db, &[]) else { return };
    r.slack.disable_user(ALICE);
    let url = r.setup(
        &[ALICE, BOB],
        json!([
            {"notify": "user", "user": ALICE, "escalate_after_minutes": 30},
            {"notify": "user", "user": BOB, "escalate_after_minutes": 30},
            {"notify": "here"}
        ]),
    );
    let id = r.raise(&url, "disk io");
    r.slack
        .wait("Bob paged at once", WAIT, |s| !s.dms(BOB).is_empty());
    r.wait_thread("disk io", &format!("could not reach <@{ALICE}> (user_disabled)"));
    r.wait_thread("disk io", &format!("Paged <@{BOB}>"));
    let a = r.alert(&id);
    assert_eq!(a["escalation"]["step"], 2, "{a}");
}

/// Storms, smaller than the benchmark's: a grouped one (many events of a few alarms) posts one message per
/// alarm and counts every event; a unique one (many alerts at once) keeps the channel's pace, sending the
/// surplus to a digest, and every alert is visible. Slack never has to say 429.
fn storms_keep_slacks_pace_and_lose_nothing(db: Db) {
    let Some(r) = rig(
        db,
        &[
            ("KLAXON_INGEST_RATE", "100000"),
            ("KLAXON_INGEST_BURST", "100000"),
        ],
    ) else {
        return;
    };
    let url = r.setup(
        &[ALICE],
        json!([{"notify": "user", "user": ALICE, "escalate_after_minutes": 30}, {"notify": "here"}]),
    );
    // Grouped: 400 events of 8 alarms.
    let events = 400;
    std::thread::scope(|s| {
        for t in 0..4 {
            let url = &url;
            let http = &r.http;
            s.spawn(move || {
                for i in 0..events / 4 {
                    let key = format!("alarm-{}", (t * 1000 + i) % 8);
                    let resp = http
                        .post(url)
                        .json(&json!({"title": key, "key": key}))
                        .send()
                        .unwrap();
                    assert!(resp.status().is_success());
                }
            });
        }
    });
    let alerts = r.api(reqwest::Method::GET, "/v1/alerts?limit=1000", None);
    let items = alerts["items"].as_array().unwrap();
    assert_eq!(items.len(), 8);
    assert_eq!(
        items.iter().map(|a| a["count"].as_u64().unwrap()).sum::<u64>(),
        events as u64,
        "every event counted"
    );
    r.slack.wait("every alarm visible", WAIT, |s| {
        let top = s.channel(CHANNEL);
        (0..8).all(|k| top.iter().any(|m| m.content().contains(&format!("alarm-{k}"))))
    });
    let posts = r.slack.channel(CHANNEL).len();
    assert!(posts <= 9, "one message per alarm (or the digest): {posts}");

    // Unique: 60 alerts at once into the same channel.
    let ids: Vec<String> = (0..60)
        .map(|i| r.raise(&url, &format!("unique-{i:03}")))
        .collect();
    let visible = |s: &FakeSlack| {
        let top = s.channel(CHANNEL);
        let digest_total: usize = top
            .iter()
            .filter(|m| m.text.contains("new alerts"))
            .filter_map(|m| {
                m.text
                    .split_whitespace()
                    .next()
                    .and_then(|n| n.parse::<usize>().ok())
            })
            .sum();
        let own = (0..ids.len())
            .filter(|i| {
                top.iter().any(|m| {
                    !m.text.contains("new alerts") && m.content().contains(&format!("unique-{i:03}"))
                })
            })
            .count();
        (own, digest_total)
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (own, digest) = visible(&r.slack);
        if own + digest >= ids.len() {
            break;
        }
        if Instant::now() > deadline {
            let top: Vec<String> = r.slack.channel(CHANNEL).iter().map(|m| m.text.clone()).collect();
            panic!(
                "not every unique alert is visible: {own} own messages, {digest} in digests\n{top:#?}\n{:?}\n{}",
                klaxon_tests::slack::method_counts(&r.slack.calls()),
                r.log()
                    .lines()
                    .filter(|l| l.contains("WARN") || l.contains("ERROR") || l.contains("digest"))
                    .take(60)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let delivery: Vec<String> = ids
        .iter()
        .map(|id| r.alert(id)["delivery"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(
        delivery.iter().any(|d| d == "digest"),
        "the surplus went to the digest: {delivery:?}"
    );
    assert_eq!(r.slack.sent_429(), 0, "Klaxon kept Slack's pace");
    // Alice is paged for every alert, in a few DMs: the first ones, then one that lists the rest.
    r.slack.wait("every alert paged", Duration::from_secs(60), |_| {
        ids.iter()
            .all(|id| r.alert(id)["escalation"]["step"].as_u64() >= Some(1))
    });
    let dms = r.slack.dms(ALICE);
    assert!(dms.len() <= 5, "one DM lists a storm's pages: {} DMs", dms.len());
    r.slack.wait("the digest DM lists every page", WAIT, |s| {
        s.dms(ALICE).iter().any(|m| {
            m.text.starts_with("You are paged for")
                && m.text
                    .split_whitespace()
                    .nth(4)
                    .and_then(|n| n.parse::<usize>().ok())
                    .unwrap_or(0)
                    + dms.len()
                    > ids.len()
        })
    });
}

/// A revoked token marks the workspace unhealthy: `/readyz` and the API say why, no call is wasted on it,
/// and alerts are still stored and escalated (each step saying it was not delivered).
fn a_revoked_token_stops_calls_while_escalation_goes_on(db: Db) {
    let Some(r) = rig(db, &[]) else { return };
    let url = r.setup(
        &[ALICE],
        json!([{"notify": "user", "user": ALICE, "escalate_after_minutes": 30}, {"notify": "here"}]),
    );
    r.raise(&url, "before the revocation");
    r.message("before the revocation");
    r.slack.set_faults(Faults {
        token_revoked: true,
        ..Faults::default()
    });
    let second = r.raise(&url, "second alert");
    r.slack.wait("the workspace marked unhealthy", WAIT, |_| {
        let ready: Value = r
            .http
            .get(format!("{}/readyz", r.server.url))
            .send()
            .unwrap()
            .json()
            .unwrap();
        ready["slack"] == "unhealthy: token_revoked"
    });
    let ws = r.api(reqwest::Method::GET, "/v1/workspace", None);
    assert_eq!(
        (ws["slack"]["healthy"].as_bool(), ws["slack"]["reason"].as_str()),
        (Some(false), Some("token_revoked"))
    );
    let calls = r.slack.calls().len();
    let third = r.raise(&url, "third alert");
    for id in [&second, &third] {
        r.slack.wait("the step run without Slack", WAIT, |_| {
            r.alert(id)["escalation"]["step"] == 1
        });
        let a = r.alert(id);
        assert!(
            a["escalation"]["problem"]
                .as_str()
                .unwrap_or_default()
                .contains("token_revoked"),
            "{a}"
        );
        assert_eq!(a["status"], "open");
    }
    assert_eq!(
        r.slack.calls().len(),
        calls,
        "no call is made to an unhealthy workspace"
    );
    assert!(r.log().contains("The Slack workspace cannot be used"));
}

#[test]
fn dm_channels_are_per_user() {
    assert_eq!(dm_channel(ALICE), "D0ALICE001");
}

/// The fake fails 30% of calls (500 and 503) and answers bursts of 429 with `Retry-After` while eight
/// alerts arrive and escalate: every message, DM and mention arrives in the end, once per step; a channel that
/// does not exist (`channel_not_found`, a 4xx-like refusal) is asked once per attempt, never retried by the
/// client; and it does not hold up the others.
fn a_third_of_calls_failing_with_429_bursts_delivers_everything(db: Db) {
    let Some(r) = rig(
        db,
        &[
            ("KLAXON_SLACK_TIMEOUT_MS", "1000"),
            ("KLAXON_ESCALATION_MINUTE_MS", "300"),
        ],
    ) else {
        return;
    };
    let faults = Faults {
        error_rate: 0.3,
        rate_limit_burst: 4,
        ..Faults::default()
    };
    r.slack.set_faults(faults.clone());
    let url = r.setup(
        &[ALICE],
        json!([{"notify": "user", "user": ALICE, "escalate_after_minutes": 1}, {"notify": "here"}]),
    );
    // A second team whose channel is gone.
    r.slack.remove_channel("C0GONE0001");
    let team = r.post(
        "/v1/teams",
        json!({"name": "gone", "slack_channel": "C0GONE0001"}),
    );
    let gone = r.post("/v1/endpoints", json!({"team_id": team["id"], "name": "gone"}));
    let nowhere_id = r.raise(gone["url"].as_str().unwrap(), "[nowhere]");

    let titles: Vec<String> = (0..8).map(|i| format!("[faulty {i}]")).collect();
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        // A burst of 429 every ten seconds while the alerts flow (Slack answers 429 to bursts, not to every
        // other call).
        s.spawn(|| {
            let mut since = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                if since.elapsed() >= Duration::from_secs(10) {
                    r.slack.set_faults(faults.clone());
                    since = Instant::now();
                }
            }
        });
        // Stops the bursts also when a wait below fails, so the scope ends.
        let _stop = StopOnDrop(&stop);
        // One alert every 1.5 s: faster than this, Slack's pace of a message per second per channel sends them
        // to the channel's digest (tested elsewhere), and this test follows each alert's own message.
        for t in &titles {
            r.raise(&url, t);
            std::thread::sleep(Duration::from_millis(1500));
        }
        for t in &titles {
            r.wait_or_dump(
                &format!("{t} posted, DMed and mentioned"),
                Duration::from_secs(120),
                |s| {
                    delivered(s, t, "<!here>")
                        && s.dms(ALICE).iter().any(|d| d.content().contains(t.as_str()))
                },
            );
        }
    });

    let calls = r.slack.calls();
    let failed = calls.iter().filter(|c| c.status >= 500).count();
    assert!(
        failed * 10 >= calls.len(),
        "about a third failed: {failed} of {}",
        calls.len()
    );
    assert!(
        r.slack.sent_429() >= 8,
        "several 429 bursts: {}",
        r.slack.sent_429()
    );
    for t in &titles {
        let dms = r
            .slack
            .dms(ALICE)
            .iter()
            .filter(|d| d.content().contains(t.as_str()))
            .count();
        assert!(dms <= 2, "{t}: DMed once, or twice after a timed-out call: {dms}");
    }
    // The missing channel: Slack's refusal ends the call (the client retries timeouts, 5xx and 429 only, each
    // logged as "Retrying a Slack call"); the job is dead-lettered without holding up the other alerts.
    let refused = calls
        .iter()
        .filter(|c| c.args["channel"] == "C0GONE0001" && c.error.as_deref() == Some("channel_not_found"))
        .count();
    let log = r.log();
    let retries: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("Retrying a Slack call"))
        .collect();
    let wrong: Vec<&&str> = retries
        .iter()
        .filter(|l| l.contains("channel_not_found"))
        .collect();
    assert!(
        !retries.is_empty(),
        "the 5xx and 429 answers were retried (logged)"
    );
    assert!(wrong.is_empty(), "channel_not_found was retried: {wrong:#?}");
    let dead = r.api(reqwest::Method::GET, "/v1/jobs?state=dead", None);
    let dead_nowhere = dead["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["payload"]["alert_id"] == nowhere_id.as_str())
        .count();
    eprintln!(
        "counted: {} Slack calls, {failed} answered 5xx, {} answered 429; every one of {} alerts delivered; \
         {} client retries logged, none of channel_not_found ({refused} answers, {dead_nowhere} dead jobs)",
        calls.len(),
        r.slack.sent_429(),
        titles.len(),
        retries.len(),
    );
    assert!(
        refused >= 1 && dead_nowhere >= 1,
        "the missing channel was tried and its job dead-lettered"
    );
}

/// Slack answers nothing but 503 for ten policy minutes (5 s of a fast clock) while three alerts should have
/// run their three steps: no escalation ends or skips a step because Slack is away, and everything arrives
/// when it returns: each message, each DM, each mention, once.
fn slack_down_for_ten_policy_minutes_ends_no_escalation(db: Db) {
    let Some(r) = rig(db, &[("KLAXON_ESCALATION_MINUTE_MS", "500")]) else {
        return;
    };
    let url = r.setup(
        &[ALICE],
        json!([
            {"notify": "user", "user": ALICE, "escalate_after_minutes": 2},
            {"notify": "here", "escalate_after_minutes": 2},
            {"notify": "channel"}
        ]),
    );
    r.slack.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let down = Instant::now();
    let ids: Vec<String> = (0..3).map(|i| r.raise(&url, &format!("[outage {i}]"))).collect();
    std::thread::sleep(Duration::from_secs(5));
    for id in &ids {
        let a = r.alert(id);
        assert_eq!(a["status"], "open");
        assert_eq!(a["escalation"]["ended"], false, "the chain waits for Slack: {a}");
    }
    let calls_while_down = r.slack.calls().len();
    r.slack.set_faults(Faults::default());
    eprintln!(
        "Slack answered 503 to all {calls_while_down} calls for {:.1} s (10 policy minutes)",
        down.elapsed().as_secs_f64()
    );
    for i in 0..3 {
        let title = format!("[outage {i}]");
        r.wait_or_dump(&format!("{title}: its message and both mentions"), WAIT, |s| {
            delivered(s, &title, "<!here>") && delivered(s, &title, "<!channel>")
        });
        assert_eq!(mentions(&r.slack, &title, "<!here>"), 1, "{title}: @here once");
        assert_eq!(
            mentions(&r.slack, &title, "<!channel>"),
            1,
            "{title}: @channel once"
        );
        let own = r
            .slack
            .find(CHANNEL, &title)
            .iter()
            .filter(|m| !m.text.contains("needs someone"))
            .count();
        assert_eq!(own, 1, "{title}: one message");
    }
    // Each alert's page reaches Alice once: its own DM, or a line of her DM digest (pages that came faster
    // than Slack shows DMs, as they do when Slack returns).
    let paged = |s: &FakeSlack, title: &str| {
        s.dms(ALICE)
            .iter()
            .filter(|d| d.content().contains(title))
            .count()
    };
    r.wait_or_dump("every page in a DM", WAIT, |s| {
        (0..3).all(|i| paged(s, &format!("[outage {i}]")) >= 1)
    });
    for i in 0..3 {
        assert_eq!(
            paged(&r.slack, &format!("[outage {i}]")),
            1,
            "[outage {i}] paged once"
        );
    }
    for id in &ids {
        assert_eq!(r.alert(id)["escalation"]["ended"], true);
    }
}

/// Sets the flag when dropped (also while a failed assertion unwinds).
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The mentions of `title` with `mention` (`<!here>`, `<!channel>`), in its thread or, when a step ran before
/// the alert's own message could be posted (Slack away), in the channel.
fn mentions(slack: &FakeSlack, title: &str, mention: &str) -> usize {
    let top = slack.channel(CHANNEL);
    let in_channel = top
        .iter()
        .filter(|m| m.text.contains(mention) && m.text.contains(title))
        .count();
    let in_threads: usize = top
        .iter()
        .map(|m| {
            slack
                .thread(CHANNEL, &m.ts)
                .iter()
                .filter(|x| x.text.contains(mention) && x.text.contains(title))
                .count()
        })
        .sum();
    in_channel + in_threads
}

/// `title` has its own message in the channel and its `mention` was made.
fn delivered(slack: &FakeSlack, title: &str, mention: &str) -> bool {
    let own = slack
        .channel(CHANNEL)
        .iter()
        .any(|m| m.content().contains(title) && !m.text.contains("needs someone"));
    own && mentions(slack, title, mention) >= 1
}

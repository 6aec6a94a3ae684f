//! Snooze and reminders end to end: a real `klaxon serve` (on SQLite and on PostgreSQL) against the fake
//! Slack, with a fast policy minute (`KLAXON_ESCALATION_MINUTE_MS`) so an hour's snooze passes in seconds.
//! Snoozes are chosen in the alert's Slack menu (a signed `block_actions` post of a `static_select`, as Slack
//! sends it) or through `POST /v1/alerts/{id}/snooze`; what the channel, the thread and the DMs show is read
//! back from the fake. Properties are decided by what arrived and in which order, never by how long a wait
//! took.

#![allow(clippy::unwrap_used, clippy::needless_pass_by_value)] // Test code: a failed unwrap is a failed test.

use klaxon_tests::{
    on_both_stores,
    rig::{ALICE, BOB, CHANNEL, Db, Rig, SECRET, WAIT, rig},
    slack::{now_secs, select_body, sign},
};
use serde_json::{Value, json};

on_both_stores!(
    a_snooze_from_the_menu_holds_the_step_until_it_ends,
    a_snooze_through_the_api_ends_with_an_acknowledgement,
    a_pass_ends_a_snooze_and_pages_the_next_step_at_once,
    a_snooze_outlives_a_restart,
    until_nine_tomorrow_is_in_the_choosers_time_zone,
    bad_snoozes_are_refused_and_change_nothing,
    reminders_dm_the_acknowledger_until_the_alert_is_closed,
    reminders_due_together_are_paced_not_refused,
);

/// A policy minute of 100 ms: "1 h" is 6 s.
const MINUTE_MS: &str = "100";

fn fast_rig(db: Db) -> Option<Rig> {
    rig(db, &[("KLAXON_ESCALATION_MINUTE_MS", MINUTE_MS)])
}

/// A team of Alice and Bob, a policy of `policy` (its `team_id` and `name` filled in) and an endpoint of it;
/// returns the ingest URL.
fn setup(r: &Rig, mut policy: Value) -> String {
    let team = r.post(
        "/v1/teams",
        json!({"name": "sre", "slack_channel": CHANNEL, "members": [ALICE, BOB]}),
    );
    policy["team_id"] = team["id"].clone();
    policy["name"] = json!("p");
    let policy = r.post("/v1/escalation-policies", policy);
    let endpoint = r.post(
        "/v1/endpoints",
        json!({"team_id": team["id"], "name": "e", "escalation_policy_id": policy["id"]}),
    );
    endpoint["url"].as_str().unwrap().to_owned()
}

/// Alice is paged first; Bob `wait` policy minutes later.
fn alice_then_bob(wait: u32) -> Value {
    json!({"steps": [
        {"notify": "user", "user": ALICE, "escalate_after_minutes": wait},
        {"notify": "user", "user": BOB},
    ]})
}

/// Chooses `choice` (`60`, `240`, `tomorrow9`) in the snooze menu of alert `id` as `user`, as Slack posts it.
fn choose(r: &Rig, id: &str, choice: &str, user: &str) {
    let body = select_body(
        "klaxon.snooze",
        &format!("{choice}:{id}"),
        "Snooze",
        user,
        &r.slack.response_url(id),
    );
    let (ts, sig) = sign(SECRET, &body, now_secs());
    let (status, _) = r.press_raw(&body, Some(&ts), Some(&sig));
    assert_eq!(status, 200, "the choice is answered at once");
}

/// `POST /v1/alerts/{id}/snooze` with `body`: the status and the answer.
fn snooze(r: &Rig, id: &str, body: Value) -> (u16, Value) {
    let resp = r
        .http
        .post(format!("{}/v1/alerts/{id}/snooze", r.server.url))
        .bearer_auth(&r.token)
        .json(&body)
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

/// The thread of the alert titled `title`, one line per reply, in order.
fn thread(r: &Rig, title: &str) -> Vec<String> {
    let m = r.message(title);
    r.slack
        .thread(CHANNEL, &m.ts)
        .iter()
        .map(|t| t.text.clone())
        .collect()
}

fn position(lines: &[String], needle: &str) -> usize {
    lines
        .iter()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} is not in the thread: {lines:#?}"))
}

/// Pending jobs of alert `id` of `kind`.
fn pending(r: &Rig, id: &str, kind: &str) -> usize {
    let jobs = r.api(reqwest::Method::GET, "/v1/jobs?state=ready&limit=1000", None);
    jobs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["kind"] == kind && j["payload"]["alert_id"] == id)
        .count()
}

/// Alice chooses "1 h" from her DM right after she is paged: the message says who snoozed it until when,
/// Bob (the step the alert was at) is not paged while it lasts, and when it ends the thread says so and Bob
/// is paged, once. Without the snooze Bob would have been paged 40 policy minutes in, before its end.
fn a_snooze_from_the_menu_holds_the_step_until_it_ends(db: Db) {
    let Some(r) = fast_rig(db) else { return };
    // Bob is due 40 policy minutes (4 s) after Alice; the snooze lasts 60 (6 s).
    let url = setup(&r, alice_then_bob(40));
    let id = r.raise(&url, "replica lag");
    r.slack.wait("the DM to Alice", WAIT, |s| {
        s.dms(ALICE).iter().any(|d| d.content().contains("replica lag"))
    });
    let dm = r.slack.dms(ALICE).remove(0);
    assert!(
        dm.content().contains("klaxon.snooze"),
        "the DM has the menu: {}",
        dm.content()
    );
    let m = r.message("replica lag");
    for label in ["Snooze 1 h", "Snooze 4 h", "Snooze until 9:00 tomorrow"] {
        assert!(m.content().contains(label), "{label} in {}", m.content());
    }

    choose(&r, &id, "60", ALICE);
    r.wait_message("replica lag", &format!("Snoozed* by <@{ALICE}> until <!date^"));
    let metrics = r
        .http
        .get(format!("{}/metrics", r.server.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains(r#"klaxon_button_presses_total{action="snooze"} 1"#),
        "the choice counts as one snooze press: {metrics}"
    );
    r.wait_thread("replica lag", &format!("Snoozed by <@{ALICE}> until <!date^"));
    let a = r.alert(&id);
    assert_eq!(a["snoozed_by"], ALICE, "{a}");
    assert!(a["snoozed_until"].is_string(), "{a}");
    assert_eq!(a["status"], "open");

    r.wait_or_dump("Bob paged after the snooze", WAIT, |s| !s.dms(BOB).is_empty());
    r.wait_thread("replica lag", &format!("Paged <@{BOB}>"));
    let lines = thread(&r, "replica lag");
    let snoozed = position(&lines, "Snoozed by");
    let ended = position(&lines, "The snooze ended: escalation goes on from step 2");
    let bob = position(&lines, &format!("Paged <@{BOB}>"));
    assert!(
        snoozed < ended && ended < bob,
        "Bob is paged only once the snooze ended: {lines:#?}"
    );
    r.slack.wait("the message without the snooze", WAIT, |s| {
        s.find(CHANNEL, "replica lag")
            .first()
            .is_some_and(|m| !m.content().contains("Snoozed*"))
    });
    assert!(r.alert(&id)["snoozed_until"].is_null());
    assert_eq!(r.slack.dms(BOB).len(), 1, "the step fired once");
    assert_eq!(r.slack.dms(ALICE).len(), 1);
    assert_eq!(
        lines.iter().filter(|l| l.contains("Paged")).count(),
        2,
        "{lines:#?}"
    );
}

/// A snooze through the API (its `minutes` are policy minutes) holds the pending step; acknowledging ends
/// the snooze (the message stops saying it, its end is cancelled) and stops the escalation. Snoozing an
/// acknowledged or closed alert is a conflict.
fn a_snooze_through_the_api_ends_with_an_acknowledgement(db: Db) {
    let Some(r) = fast_rig(db) else { return };
    let url = setup(&r, alice_then_bob(100));
    let id = r.raise(&url, "cert expiry");
    r.wait_thread("cert expiry", &format!("Paged <@{ALICE}>"));

    let until = format!("{}Z", unix_to_rfc3339(now_secs() + 600));
    let (status, a) = snooze(&r, &id, json!({"until": until, "by": BOB}));
    assert_eq!(status, 200, "{a}");
    assert_eq!(
        (a["snoozed_by"].as_str(), a["status"].as_str()),
        (Some(BOB), Some("open"))
    );
    assert_eq!(a["snoozed_until"], until.as_str(), "{a}");
    assert_eq!(
        a["escalation"]["next_at"],
        until.as_str(),
        "the step waits for the end"
    );
    assert_eq!(pending(&r, &id, "escalation.snooze_end"), 1);
    assert_eq!(
        pending(&r, &id, "escalation.step"),
        0,
        "the step's timer was moved to the end"
    );
    r.wait_message("cert expiry", &format!("Snoozed* by <@{BOB}> until"));

    // The same request again is one snooze.
    let (status, again) = snooze(&r, &id, json!({"until": until, "by": BOB}));
    assert_eq!((status, &again["snoozed_until"]), (200, &json!(until)));

    let a = r.post(&format!("/v1/alerts/{id}/ack"), json!({"by": ALICE}));
    assert_eq!(a["status"], "acknowledged");
    assert!(a["snoozed_until"].is_null() && a["snoozed_by"].is_null(), "{a}");
    assert_eq!(
        pending(&r, &id, "escalation.snooze_end"),
        0,
        "the ack cancelled the end"
    );
    r.wait_message("cert expiry", &format!("Acknowledged* by <@{ALICE}>"));
    assert!(!r.message("cert expiry").content().contains("Snoozed*"));

    let (status, e) = snooze(&r, &id, json!({"minutes": 60}));
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (409, Some("conflict")),
        "{e}"
    );
    r.post(&format!("/v1/alerts/{id}/close"), json!({}));
    let (status, e) = snooze(&r, &id, json!({"minutes": 60}));
    assert_eq!(status, 409, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("closed"), "{e}");
    let lines = thread(&r, "cert expiry");
    assert_eq!(
        lines.iter().filter(|l| l.contains("Snoozed by")).count(),
        1,
        "{lines:#?}"
    );
    assert!(r.slack.dms(BOB).is_empty(), "Bob was never paged");
}

/// Passing a snoozed alert ends the snooze (its end is cancelled) and pages the pending step at once, once.
fn a_pass_ends_a_snooze_and_pages_the_next_step_at_once(db: Db) {
    let Some(r) = fast_rig(db) else { return };
    let url = setup(&r, alice_then_bob(100));
    let id = r.raise(&url, "stuck deploy");
    r.wait_thread("stuck deploy", &format!("Paged <@{ALICE}>"));
    let (status, a) = snooze(&r, &id, json!({"minutes": 6000, "by": ALICE}));
    assert_eq!(status, 200, "{a}");
    assert_eq!(pending(&r, &id, "escalation.snooze_end"), 1);

    let a = r.post(&format!("/v1/alerts/{id}/pass"), json!({"by": ALICE}));
    assert!(a["snoozed_until"].is_null(), "{a}");
    assert_eq!(
        pending(&r, &id, "escalation.snooze_end"),
        0,
        "the pass cancelled the end"
    );
    r.wait_or_dump("Bob paged at the pass", WAIT, |s| !s.dms(BOB).is_empty());
    r.wait_thread("stuck deploy", &format!("Paged <@{BOB}>"));
    let lines = thread(&r, "stuck deploy");
    assert!(
        position(&lines, "Snoozed by") < position(&lines, "Passed by")
            && position(&lines, "Passed by") < position(&lines, &format!("Paged <@{BOB}>")),
        "{lines:#?}"
    );
    assert!(!lines.iter().any(|l| l.contains("snooze ended")), "{lines:#?}");
    assert_eq!(r.slack.dms(BOB).len(), 1, "the step fired once");
}

/// The snooze and its end are in the database: Klaxon killed during a snooze and started again ends it on
/// time and pages the pending step once.
fn a_snooze_outlives_a_restart(db: Db) {
    let Some(mut r) = fast_rig(db) else { return };
    let url = setup(&r, alice_then_bob(40));
    let id = r.raise(&url, "etl stalled");
    r.wait_thread("etl stalled", &format!("Paged <@{ALICE}>"));
    let (status, a) = snooze(&r, &id, json!({"minutes": 60, "by": ALICE}));
    assert_eq!(status, 200, "{a}");
    r.server.kill();
    r.server.restart();
    r.wait_or_dump("Bob paged after the snooze", WAIT, |s| !s.dms(BOB).is_empty());
    r.wait_thread("etl stalled", &format!("Paged <@{BOB}>"));
    let lines = thread(&r, "etl stalled");
    assert!(
        position(&lines, "The snooze ended") < position(&lines, &format!("Paged <@{BOB}>")),
        "{lines:#?}"
    );
    assert_eq!(
        lines.iter().filter(|l| l.contains("The snooze ended")).count(),
        1,
        "{lines:#?}"
    );
    assert_eq!(r.slack.dms(BOB).len(), 1, "the step fired once");
}

/// "Until 9:00 tomorrow" is 9:00 on the next day where the chooser lives, from `users.info`.
fn until_nine_tomorrow_is_in_the_choosers_time_zone(db: Db) {
    let Some(r) = fast_rig(db) else { return };
    r.slack.set_tz(BOB, "Asia/Tokyo");
    let url = setup(&r, alice_then_bob(600));
    let id = r.raise(&url, "batch late");
    r.wait_thread("batch late", &format!("Paged <@{ALICE}>"));
    let before = now_secs();
    choose(&r, &id, "tomorrow9", BOB);
    r.wait_message("batch late", &format!("Snoozed* by <@{BOB}>"));
    let after = now_secs();
    // Tokyo is UTC+9 all year: 9:00 there is 00:00 UTC, at the start of the next Tokyo day.
    let expected = |now: i64| ((now + 9 * 3600).div_euclid(86_400) + 1) * 86_400;
    let until = r.alert(&id)["snoozed_until"].as_str().unwrap().to_owned();
    let day = unix_day_of(&until);
    assert!(
        [expected(before), expected(after)].contains(&day),
        "snoozed until {until}, expected 00:00 UTC of day {}",
        expected(before) / 86_400
    );
    assert!(until.ends_with("T00:00:00Z"), "{until}");
    let asked: Vec<_> = r.slack.calls_of("users.info");
    assert!(!asked.is_empty(), "the zone came from users.info");
}

/// Seconds of 00:00 UTC of an RFC 3339 UTC time's day (`2026-12-02T00:00:00Z`).
fn unix_day_of(rfc3339: &str) -> i64 {
    let date = &rfc3339[..10];
    let mut parts = date.split('-').map(|p| p.parse::<i64>().unwrap());
    let (y, m, d) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) * 86_400
}

/// Bad input is a 400 naming the field, an unknown alert a 404; nothing changes.
fn bad_snoozes_are_refused_and_change_nothing(db: Db) {
    let Some(r) = fast_rig(db) else { return };
    let url = setup(&r, alice_then_bob(600));
    let id = r.raise(&url, "dns flaps");
    let now = now_secs();
    let at = |secs: i64| format!("{}Z", unix_to_rfc3339(secs));
    let cases = [
        (json!({}), "minutes"),
        (json!({"minutes": 0}), "minutes"),
        (json!({"minutes": 10_081}), "minutes"),
        (json!({"minutes": -5}), "minutes"),
        (json!({"minutes": "60"}), "minutes"),
        (json!({"until": "tomorrow"}), "until"),
        (json!({"until": at(now - 60)}), "until"),
        (json!({"until": at(now + 8 * 86_400)}), "until"),
        (json!({"minutes": 60, "until": at(now + 3600)}), "until"),
        (json!({"minutes": 60, "by": "bob"}), "by"),
        (json!({"minutes": 60, "for": "lunch"}), "for"),
    ];
    for (body, field) in cases {
        let (status, e) = snooze(&r, &id, body.clone());
        assert_eq!(status, 400, "{body}: {e}");
        assert_eq!(e["error"]["field"], field, "{body}: {e}");
    }
    let (status, _) = snooze(&r, "alert_nope", json!({"minutes": 60}));
    assert_eq!(status, 404);
    let a = r.alert(&id);
    assert!(a["snoozed_until"].is_null(), "{a}");
    assert_eq!(pending(&r, &id, "escalation.snooze_end"), 0);
    // Good ones, for contrast: `minutes` (policy minutes), and `until` with an offset.
    let (status, a) = snooze(&r, &id, json!({"minutes": 6000, "by": ALICE}));
    assert_eq!((status, &a["snoozed_by"]), (200, &json!(ALICE)), "{a}");
    let in_two_hours = format!("{}+02:00", unix_to_rfc3339(now + 7200 + 7200));
    let (status, a) = snooze(&r, &id, json!({"until": in_two_hours}));
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["snoozed_until"], at(now + 7200), "{a}");
    assert!(a["snoozed_by"].is_null(), "{a}");
}

/// `YYYY-MM-DDTHH:MM:SS` (UTC) of Unix seconds.
fn unix_to_rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// With `remind_after_minutes`, an acknowledged alert DMs its acknowledger every period, and the thread says
/// so; closing it stops the reminders (measured against a second alert's reminders, which go on).
fn reminders_dm_the_acknowledger_until_the_alert_is_closed(db: Db) {
    let Some(r) = fast_rig(db) else { return };
    let mut policy = alice_then_bob(600);
    policy["remind_after_minutes"] = json!(10); // 1 s
    let url = setup(&r, policy);
    let id = r.raise(&url, "queue depth");
    r.wait_thread("queue depth", &format!("Paged <@{ALICE}>"));
    r.post(&format!("/v1/alerts/{id}/ack"), json!({"by": ALICE}));

    let reminders = |user: &str, title: &str| {
        r.slack
            .dms(user)
            .iter()
            .filter(|d| d.text.starts_with("Reminder:") && d.text.contains(title))
            .count()
    };
    r.wait_or_dump("two reminders to Alice", WAIT, |_| {
        reminders(ALICE, "queue depth") >= 2
    });
    r.wait_thread("queue depth", &format!("Reminded <@{ALICE}> by direct message"));
    r.wait_thread("queue depth", "(reminder 2)");
    let dm = r
        .slack
        .dms(ALICE)
        .into_iter()
        .find(|d| d.text.starts_with("Reminder:"))
        .unwrap();
    assert!(
        dm.content().contains("Reminder 1: you acknowledged this alert"),
        "{}",
        dm.content()
    );
    assert!(r.slack.dms(BOB).is_empty(), "only the acknowledger is reminded");

    r.post(&format!("/v1/alerts/{id}/close"), json!({"by": ALICE}));
    r.wait_thread("queue depth", &format!("Closed by <@{ALICE}>"));
    let at_close = reminders(ALICE, "queue depth");

    // Another alert, acknowledged by Bob now: two of its periods pass while the closed one stays quiet.
    let other = r.raise(&url, "disk io");
    r.post(&format!("/v1/alerts/{other}/ack"), json!({"by": BOB}));
    r.wait_or_dump("two reminders to Bob", WAIT, |_| reminders(BOB, "disk io") >= 2);
    let after = reminders(ALICE, "queue depth");
    // A reminder that was being sent as the close committed may still arrive; none is sent after that.
    assert!(after <= at_close + 1, "{at_close} at the close, {after} after");
    let lines = thread(&r, "queue depth");
    for period in 1..=at_close {
        let told = lines
            .iter()
            .filter(|l| l.contains(&format!("(reminder {period})")))
            .count();
        assert!(told <= 1, "reminder {period} told {told} times: {lines:#?}");
    }
    let closed = position(&lines, "Closed by");
    assert!(
        lines[closed..].iter().all(|l| !l.contains("Reminded")),
        "no reminder is told after the close: {lines:#?}"
    );
    assert_eq!(pending(&r, &id, "escalation.remind"), 0);
}

/// Four alerts acknowledged by Alice together come due for their reminders together: they share her DM
/// channel, where Slack shows one post a second, so they go out one by one instead of running into Slack's
/// limit (the fake refuses a faster post with 429, as Slack does).
fn reminders_due_together_are_paced_not_refused(db: Db) {
    let Some(r) = fast_rig(db) else { return };
    let mut policy = alice_then_bob(600);
    policy["remind_after_minutes"] = json!(30); // 3 s
    let url = setup(&r, policy);
    let titles = ["paced one", "paced two", "paced three", "paced four"];
    let ids: Vec<String> = titles.iter().map(|t| r.raise(&url, t)).collect();
    for id in &ids {
        r.post(&format!("/v1/alerts/{id}/ack"), json!({"by": ALICE}));
    }
    let reminded = |title: &str| {
        r.slack
            .dms(ALICE)
            .iter()
            .any(|d| d.text.starts_with("Reminder:") && d.text.contains(title))
    };
    r.wait_or_dump("a reminder of each alert", WAIT, |_| {
        titles.iter().all(|t| reminded(t))
    });
    let refused: Vec<_> = r
        .slack
        .calls_of("chat.postMessage")
        .into_iter()
        .filter(|c| {
            c.status == 429
                && c.args["text"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("Reminder:"))
        })
        .collect();
    // Klaxon spaces posts to a channel 1.1 s apart; a post held up in flight on a loaded machine can still
    // land within a second of the one before it, so one refusal is tolerated. Unpaced, the four come due
    // together and at least three are refused.
    assert!(
        refused.len() <= 1,
        "reminders refused by Slack's rate limit: {refused:#?}"
    );
    for t in titles {
        r.wait_thread(t, &format!("Reminded <@{ALICE}> by direct message"));
    }
}

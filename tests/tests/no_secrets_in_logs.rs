//! No secret reaches the logs: a real `klaxon serve` logging everything (`KLAXON_LOG=trace`) goes through a
//! realistic flow (an account token on the API, an endpoint's ingest URL, a heartbeat's ping URL, a Slack bot
//! token and signing secret against the fake Slack, a button press, and wrong tokens of each kind), then the
//! captured log is searched for every secret it was given or handed out.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use std::time::Duration;

use klaxon_tests::{
    Server,
    slack::{FakeSlack, now_secs, press_body, sign},
};
use serde_json::{Value, json};

// Distinctive values, so a match in the log can only be a leak.
const BOT_TOKEN: &str = "xoxb-logtest-7c1e0b9a2f4d-bot-token";
const SIGNING_SECRET: &str = "logtest-signing-secret-93b1d0e6";
const CHANNEL: &str = "C0LOGS0001";
const ALICE: &str = "U0ALICE001";
const WAIT: Duration = Duration::from_secs(45);

#[test]
fn secrets_never_reach_the_logs_even_at_trace_level() {
    let slack = FakeSlack::start(BOT_TOKEN);
    let server = Server::start_sqlite_with(&[
        ("KLAXON_SLACK_API_URL", slack.api_url.as_str()),
        ("KLAXON_SLACK_BOT_TOKEN", BOT_TOKEN),
        ("KLAXON_SLACK_SIGNING_SECRET", SIGNING_SECRET),
        ("KLAXON_SLACK_TIMEOUT_MS", "2000"),
        ("KLAXON_LOG", "trace"),
    ]);
    let account_token = server.create_account("acme");
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let api = |method: reqwest::Method, path: &str, token: &str, body: Option<Value>| {
        let mut req = http
            .request(method, format!("{}{path}", server.url))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().unwrap();
        (resp.status(), resp.json::<Value>().unwrap_or(Value::Null))
    };
    let post = |path: &str, body: Value| {
        let (status, v) = api(reqwest::Method::POST, path, &account_token, Some(body));
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    };

    // The API with the account's token: a team, a policy that posts to the channel, an endpoint.
    let team = post(
        "/v1/teams",
        json!({"name": "sre", "slack_channel": CHANNEL, "members": [ALICE]}),
    );
    let policy = post(
        "/v1/escalation-policies",
        json!({"team_id": team["id"], "name": "p", "steps": [{"notify": "here"}]}),
    );
    let endpoint = post(
        "/v1/endpoints",
        json!({"team_id": team["id"], "name": "e", "escalation_policy_id": policy["id"]}),
    );
    let url = endpoint["url"].as_str().unwrap().to_owned();
    let ingest_token = url.rsplit('/').next().unwrap().to_owned();
    assert!(ingest_token.len() > 20, "{url}");

    // An alert through the ingest URL, posted to Slack with the bot token.
    let resp = http
        .post(&url)
        .json(&json!({"title": "disk full on db1", "key": "db1-disk"}))
        .send()
        .unwrap();
    assert!(resp.status().is_success(), "ingest: {}", resp.status());
    let alert = resp.json::<Value>().unwrap()["alerts"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    slack.wait("the alert's message in the channel", WAIT, |s| {
        !s.find(CHANNEL, "disk full on db1").is_empty()
    });

    // A button press signed with the signing secret acknowledges it.
    let body = press_body("klaxon.ack", &alert, ALICE, &slack.response_url(&alert));
    let (ts, sig) = sign(SIGNING_SECRET, &body, now_secs());
    let resp = http
        .post(format!("{}/slack/interactions", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", &ts)
        .header("x-slack-signature", &sig)
        .body(body.clone())
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let deadline = std::time::Instant::now() + WAIT;
    let mut status = Value::Null;
    while std::time::Instant::now() < deadline {
        status = api(
            reqwest::Method::GET,
            &format!("/v1/alerts/{alert}"),
            &account_token,
            None,
        )
        .1["status"]
            .clone();
        if status == "acknowledged" {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(status, "acknowledged");

    // Wrong credentials of each kind are refused, and must not be logged either.
    let wrong_account = "klx_logtest-wrong-account-token-5d2c";
    let (s, _) = api(reqwest::Method::GET, "/v1/teams", wrong_account, None);
    assert_eq!(s, 401);
    let wrong_ingest = "ing_logtest-wrong-ingest-token-8e4f";
    let s = http
        .post(format!("{}/ingest/{wrong_ingest}", server.url))
        .json(&json!({"title": "x"}))
        .send()
        .unwrap()
        .status();
    assert_eq!(s, 404);
    // A heartbeat's ping URL (its token is the credential), pinged by GET and POST, and a wrong one.
    let heartbeat = post(
        "/v1/heartbeats",
        json!({"team_id": team["id"], "name": "nightly-backup", "interval_minutes": 60}),
    );
    let ping_url = heartbeat["ping_url"].as_str().unwrap().to_owned();
    let ping_token = ping_url.rsplit('/').next().unwrap().to_owned();
    assert!(ping_token.len() > 20, "{ping_url}");
    assert_eq!(http.get(&ping_url).send().unwrap().status(), 200);
    assert_eq!(http.post(&ping_url).send().unwrap().status(), 200);
    let wrong_ping = "hb_logtest-wrong-ping-token-3a9d";
    let s = http
        .post(format!("{}/heartbeat/{wrong_ping}", server.url))
        .send()
        .unwrap()
        .status();
    assert_eq!(s, 404);
    let (ts, _) = sign(SIGNING_SECRET, &body, now_secs());
    let forged = "v0=logtest0forged0signature0a1b2c3d4e5f60718293a4b5c6d7e8f9012345";
    let s = http
        .post(format!("{}/slack/interactions", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", &ts)
        .header("x-slack-signature", forged)
        .body(body)
        .send()
        .unwrap()
        .status();
    assert_eq!(s, 401);

    let log = server.log();
    // The log is the trace-level log of this flow (so an empty or quiet log cannot pass).
    for expected in ["Klaxon is serving", "TRACE", "DEBUG", "/slack/interactions"] {
        assert!(log.contains(expected), "the log lacks {expected:?}:\n{log}");
    }
    for (what, secret) in [
        ("the account's API token", account_token.as_str()),
        ("the endpoint's ingest token", ingest_token.as_str()),
        ("the Slack bot token", BOT_TOKEN),
        ("the Slack signing secret", SIGNING_SECRET),
        ("the signature of the press", sig.as_str()),
        ("a wrong API token", wrong_account),
        ("a wrong ingest token", wrong_ingest),
        ("the heartbeat's ping token", ping_token.as_str()),
        ("a wrong ping token", wrong_ping),
        ("a forged Slack signature", forged),
    ] {
        let lines: Vec<&str> = log.lines().filter(|l| l.contains(secret)).collect();
        assert!(
            lines.is_empty(),
            "{what} is in the log ({} lines), e.g.:\n{}",
            lines.len(),
            lines.iter().take(5).copied().collect::<Vec<_>>().join("\n")
        );
    }
}

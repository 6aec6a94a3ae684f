//! The Slack rig of the end-to-end tests: a fake Slack and a real `klaxon serve` using it, with the calls a test
//! makes as a person would (API calls, webhook alerts, signed button presses) and waits that say what did arrive
//! when they time out.

#![allow(
    clippy::unwrap_used,
    clippy::missing_panics_doc,
    clippy::needless_pass_by_value
)] // Test support: a failed unwrap is a failed test.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{
    Server, TempDir, postgres_database,
    slack::{FakeSlack, now_secs, press_body, sign},
};

pub const TOKEN: &str = "xoxb-test-bot-token";
pub const SECRET: &str = "test-signing-secret";
pub const CHANNEL: &str = "C0SRE00001";
pub const ALICE: &str = "U0ALICE001";
pub const BOB: &str = "U0BOB0001";
pub const CAROL: &str = "U0CAROL01";
/// Long enough for a loaded CI machine; the waits end as soon as their condition holds.
pub const WAIT: Duration = Duration::from_secs(45);

#[derive(Debug, Clone, Copy)]
pub enum Db {
    /// A fresh SQLite file.
    Sqlite,
    /// A fresh database on the test PostgreSQL.
    Postgres,
}

pub struct Rig {
    /// The fake Slack the server talks to.
    pub slack: FakeSlack,
    /// The server.
    pub server: Server,
    /// The API token of its account.
    pub token: String,
    /// A client for the API and ingest calls.
    pub http: reqwest::blocking::Client,
}

/// The fake Slack and a `klaxon serve` using it; `None` when PostgreSQL is asked for and not available.
pub fn rig(db: Db, env: &[(&str, &str)]) -> Option<Rig> {
    let slack = FakeSlack::start(TOKEN);
    let mut all = vec![
        ("KLAXON_SLACK_API_URL", slack.api_url.as_str()),
        ("KLAXON_SLACK_BOT_TOKEN", TOKEN),
        ("KLAXON_SLACK_SIGNING_SECRET", SECRET),
        ("KLAXON_SLACK_TIMEOUT_MS", "1000"),
        ("KLAXON_LOG", "klaxon=debug,info"),
    ];
    all.extend_from_slice(env);
    let server = match db {
        Db::Sqlite => Server::start_sqlite_with(&all),
        Db::Postgres => Server::start(&postgres_database()?, TempDir::new("slack-pg"), &all),
    };
    let token = server.create_account("acme");
    Some(Rig {
        slack,
        server,
        token,
        http: reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
    })
}

impl Rig {
    pub fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.server.url))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().unwrap();
        let status = resp.status();
        let v: Value = resp.json().unwrap_or(Value::Null);
        assert!(status.is_success(), "{method} {path}: {status} {v}");
        v
    }

    pub fn post(&self, path: &str, body: Value) -> Value {
        self.api(reqwest::Method::POST, path, Some(body))
    }

    /// A team of `members` in the test channel, an endpoint of it with `steps`; returns the ingest URL.
    pub fn setup(&self, members: &[&str], steps: Value) -> String {
        let team = self.post(
            "/v1/teams",
            json!({"name": "sre", "slack_channel": CHANNEL, "members": members}),
        );
        let policy = self.post(
            "/v1/escalation-policies",
            json!({"team_id": team["id"], "name": "p", "steps": steps}),
        );
        let endpoint = self.post(
            "/v1/endpoints",
            json!({"team_id": team["id"], "name": "e", "escalation_policy_id": policy["id"]}),
        );
        endpoint["url"].as_str().unwrap().to_owned()
    }

    /// Sends a webhook event; returns the alert's id.
    pub fn raise(&self, url: &str, title: &str) -> String {
        let resp = self
            .http
            .post(url)
            .json(&json!({"title": title, "key": title}))
            .send()
            .unwrap();
        assert!(resp.status().is_success(), "ingest: {}", resp.status());
        let v: Value = resp.json().unwrap();
        v["alerts"][0]["id"].as_str().unwrap().to_owned()
    }

    pub fn alert(&self, id: &str) -> Value {
        self.api(reqwest::Method::GET, &format!("/v1/alerts/{id}"), None)
    }

    /// Presses a button as Slack would post it: signed with the app's secret, now.
    pub fn press(&self, action: &str, alert: &str, user: &str) -> (reqwest::StatusCode, Duration) {
        let body = press_body(action, alert, user, &self.slack.response_url(alert));
        let (ts, sig) = sign(SECRET, &body, now_secs());
        self.press_raw(&body, Some(&ts), Some(&sig))
    }

    pub fn press_raw(
        &self,
        body: &str,
        ts: Option<&str>,
        sig: Option<&str>,
    ) -> (reqwest::StatusCode, Duration) {
        let mut req = self
            .http
            .post(format!("{}/slack/interactions", self.server.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned());
        if let Some(ts) = ts {
            req = req.header("x-slack-request-timestamp", ts);
        }
        if let Some(sig) = sig {
            req = req.header("x-slack-signature", sig);
        }
        let started = Instant::now();
        let resp = req.send().unwrap();
        (resp.status(), started.elapsed())
    }

    /// The alert's message in the test channel (waits for it).
    pub fn message(&self, title: &str) -> crate::slack::Msg {
        self.slack.wait(&format!("the message of {title}"), WAIT, |s| {
            !s.find(CHANNEL, title).is_empty()
        });
        self.slack.find(CHANNEL, title).remove(0)
    }

    pub fn thread_text(&self, title: &str) -> String {
        let m = self.message(title);
        self.slack
            .thread(CHANNEL, &m.ts)
            .iter()
            .map(|r| r.text.clone())
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn wait_thread(&self, title: &str, needle: &str) {
        self.slack
            .wait(&format!("{needle:?} in the thread of {title}"), WAIT, |_| {
                self.thread_text(title).contains(needle)
            });
    }

    pub fn wait_message(&self, title: &str, needle: &str) {
        self.slack
            .wait(&format!("{needle:?} in the message of {title}"), WAIT, |s| {
                s.find(CHANNEL, title)
                    .first()
                    .is_some_and(|m| m.content().contains(needle))
            });
    }

    pub fn log(&self) -> String {
        self.server.log()
    }

    /// Waits for `check`; on timeout fails with what the channel, its threads and the DMs show, and the
    /// server's log, so a failure says what did arrive.
    pub fn wait_or_dump(&self, what: &str, timeout: Duration, mut check: impl FnMut(&FakeSlack) -> bool) {
        let deadline = Instant::now() + timeout;
        while !check(&self.slack) {
            if Instant::now() > deadline {
                let channel: Vec<String> = self
                    .slack
                    .channel(CHANNEL)
                    .iter()
                    .map(|m| {
                        let thread: Vec<String> = self
                            .slack
                            .thread(CHANNEL, &m.ts)
                            .iter()
                            .map(|t| t.text.clone())
                            .collect();
                        format!("{} | thread: {thread:?}", m.text)
                    })
                    .collect();
                let dms: Vec<String> = self.slack.dms(ALICE).iter().map(|m| m.text.clone()).collect();
                panic!(
                    "timed out waiting for {what}\nchannel:\n{}\nDMs: {dms:#?}\nlog:\n{}",
                    channel.join("\n"),
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Declares each named test function `fn(Db)` twice: in `mod sqlite` and in `mod postgres`.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name($crate::rig::Db::Sqlite) } )*
        }
        mod postgres {
            $( #[test] fn $name() { super::$name($crate::rig::Db::Postgres) } )*
        }
    };
}

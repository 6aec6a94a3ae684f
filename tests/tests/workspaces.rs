//! Several Slack workspaces end to end, on SQLite and on PostgreSQL: installs through OAuth as a browser
//! does them (the fake Slack plays Slack's consent page and `oauth.v2.access`), reinstalls, refused installs,
//! uninstall and token revocation through the Events API in either order, retried deliveries, mentions and
//! the `/klaxon` slash command, and the single configured workspace beside the installed ones.

#![allow(clippy::unwrap_used, clippy::needless_pass_by_value)] // Test code: a failed unwrap is a failed test.

use std::time::Duration;

use klaxon_tests::{
    Server, TempDir, postgres_database,
    slack::{FakeSlack, TEAM_ID, now_secs, sign},
};
use reqwest::{StatusCode, blocking::Client};
use serde_json::{Value, json};

const TOKEN: &str = "xoxb-configured-workspace";
const SECRET: &str = "workspaces-signing-secret";
const CLIENT_ID: &str = "1111.2222";
const CLIENT_SECRET: &str = "workspaces-client-secret";
const CHANNEL: &str = "C0OPS00001";
const ALICE: &str = "U0ALICE001";
const ACME: &str = "T0ACME0001";
const BETA: &str = "T0BETA0001";
const WAIT: Duration = Duration::from_secs(45);

#[derive(Debug, Clone, Copy)]
enum Db {
    Sqlite,
    Postgres,
}

struct Rig {
    slack: FakeSlack,
    server: Server,
    /// A browser: no redirects followed, cookies handled by the test.
    browser: Client,
    http: Client,
}

fn rig(db: Db) -> Option<Rig> {
    let slack = FakeSlack::start(TOKEN);
    slack.set_app(CLIENT_ID, CLIENT_SECRET);
    let env = [
        ("KLAXON_SLACK_API_URL", slack.api_url.as_str()),
        ("KLAXON_SLACK_BOT_TOKEN", TOKEN),
        ("KLAXON_SLACK_SIGNING_SECRET", SECRET),
        ("KLAXON_SLACK_CLIENT_ID", CLIENT_ID),
        ("KLAXON_SLACK_CLIENT_SECRET", CLIENT_SECRET),
        ("KLAXON_SLACK_TIMEOUT_MS", "2000"),
        ("KLAXON_ESCALATION_MINUTE_MS", "100"),
        ("KLAXON_METRICS_INTERVAL", "1s"),
        ("KLAXON_LOG", "klaxon=debug,info"),
    ];
    let server = match db {
        Db::Sqlite => Server::start_sqlite_with(&env),
        Db::Postgres => Server::start(&postgres_database()?, TempDir::new("ws-pg"), &env),
    };
    let client = |redirects| {
        Client::builder()
            .redirect(redirects)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    };
    Some(Rig {
        slack,
        server,
        browser: client(reqwest::redirect::Policy::none()),
        http: client(reqwest::redirect::Policy::default()),
    })
}

/// What an install showed the browser.
struct Page {
    status: StatusCode,
    html: String,
}

impl Page {
    /// The API token the success page shows, if it shows one.
    fn token(&self) -> Option<String> {
        let start = self.html.find("<pre id=\"token\">")? + "<pre id=\"token\">".len();
        let end = start + self.html[start..].find("</pre>")?;
        Some(self.html[start..end].to_owned())
    }
}

impl Rig {
    /// `GET /slack/install`: the consent page's URL and the cookie binding the install to this browser.
    fn begin(&self) -> (String, String) {
        let resp = self
            .browser
            .get(format!("{}/slack/install", self.server.url))
            .send()
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FOUND, "{}", self.server.log());
        let location = resp.headers()["location"].to_str().unwrap().to_owned();
        let cookie = resp.headers()["set-cookie"].to_str().unwrap();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("Max-Age=600"),
            "{cookie}"
        );
        let cookie = cookie.split(';').next().unwrap().to_owned();
        (location, cookie)
    }

    /// Follows the consent page back to Klaxon's callback; returns the callback URL.
    fn consent(&self, location: &str) -> String {
        let resp = self.browser.get(location).send().unwrap();
        assert_eq!(resp.status(), StatusCode::FOUND, "the fake's consent page");
        resp.headers()["location"].to_str().unwrap().to_owned()
    }

    fn callback(&self, url: &str, cookie: Option<&str>) -> Page {
        let mut req = self.browser.get(url);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let resp = req.send().unwrap();
        let status = resp.status();
        assert_eq!(
            resp.headers().get("content-type").and_then(|v| v.to_str().ok()),
            Some("text/html; charset=utf-8")
        );
        Page {
            status,
            html: resp.text().unwrap(),
        }
    }

    /// Installs Klaxon in workspace `team` as a person in a browser does.
    fn install(&self, team: &str, name: &str) -> Page {
        self.slack.approve_next(team, name);
        let (location, cookie) = self.begin();
        let back = self.consent(&location);
        self.callback(&back, Some(&cookie))
    }

    fn api(&self, token: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.server.url))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().unwrap();
        let status = resp.status();
        let v: Value = resp.json().unwrap_or(Value::Null);
        assert!(status.is_success(), "{method} {path}: {status} {v}");
        v
    }

    fn workspace(&self, token: &str) -> Value {
        self.api(token, reqwest::Method::GET, "/v1/workspace", None)["slack"].clone()
    }

    /// A team in `CHANNEL` paging Alice, and its endpoint; returns the ingest URL.
    fn setup(&self, token: &str) -> String {
        let post = |path: &str, body: Value| self.api(token, reqwest::Method::POST, path, Some(body));
        let team = post(
            "/v1/teams",
            json!({"name": "ops", "slack_channel": CHANNEL, "members": [ALICE]}),
        );
        let policy = post(
            "/v1/escalation-policies",
            json!({"team_id": team["id"], "name": "p",
                "steps": [{"notify": "user", "user": ALICE, "escalate_after_minutes": 30}, {"notify": "here"}]}),
        );
        let endpoint = post(
            "/v1/endpoints",
            json!({"team_id": team["id"], "name": "e", "escalation_policy_id": policy["id"]}),
        );
        endpoint["url"].as_str().unwrap().to_owned()
    }

    fn raise(&self, url: &str, title: &str) -> String {
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

    /// The message of `title` posted in workspace `team` (waits for it).
    fn posted_in(&self, team: &str, title: &str) -> klaxon_tests::slack::Msg {
        self.slack.wait(&format!("{title} posted in {team}"), WAIT, |s| {
            s.messages()
                .iter()
                .any(|m| m.team == team && m.thread_ts.is_none() && m.content().contains(title))
        });
        self.slack
            .messages()
            .into_iter()
            .find(|m| m.team == team && m.thread_ts.is_none() && m.content().contains(title))
            .unwrap()
    }

    /// Posts `body` to a Slack endpoint of Klaxon, signed as Slack signs it.
    fn signed(
        &self,
        path: &str,
        content_type: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, String) {
        let (ts, sig) = sign(SECRET, body, now_secs());
        let mut req = self
            .http
            .post(format!("{}{path}", self.server.url))
            .header("content-type", content_type)
            .header("x-slack-request-timestamp", ts)
            .header("x-slack-signature", sig)
            .body(body.to_owned());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().unwrap();
        (resp.status(), resp.text().unwrap())
    }

    /// Delivers an Events API event of `team` that happened now, as Slack does (`retry` sets
    /// `X-Slack-Retry-Num`).
    fn event(&self, team: &str, event_id: &str, event: Value, retry: Option<&str>) {
        self.event_at(team, event_id, event, retry, now_secs());
    }

    /// Delivers an event that happened at `time` (Unix seconds).
    fn event_at(&self, team: &str, event_id: &str, event: Value, retry: Option<&str>, time: i64) {
        let body = json!({"token": "legacy", "team_id": team, "api_app_id": "A0KLAXON", "type": "event_callback",
            "event": event, "event_id": event_id, "event_time": time,
            "authorizations": [{"team_id": team, "user_id": "U0KLAXON01", "is_bot": true}]});
        let headers: Vec<(&str, &str)> = retry
            .map(|n| vec![("x-slack-retry-num", n), ("x-slack-retry-reason", "http_timeout")])
            .unwrap_or_default();
        let (status, text) = self.signed("/slack/events", "application/json", &body.to_string(), &headers);
        assert_eq!(status, StatusCode::OK, "{text}");
    }

    /// The `/klaxon` slash command typed in workspace `team`; returns Klaxon's answer.
    fn command(&self, team: &str, text: &str) -> Value {
        let body = form(&[
            ("token", "legacy"),
            ("team_id", team),
            ("team_domain", "acme"),
            ("channel_id", CHANNEL),
            ("channel_name", "ops"),
            ("user_id", ALICE),
            ("user_name", "alice"),
            ("command", "/klaxon"),
            ("text", text),
            ("api_app_id", "A0KLAXON"),
            ("response_url", "https://hooks.slack.com/commands/T/1/2"),
            ("trigger_id", "1.2.3"),
        ]);
        let (status, answer) =
            self.signed("/slack/commands", "application/x-www-form-urlencoded", &body, &[]);
        assert_eq!(status, StatusCode::OK, "{answer}");
        serde_json::from_str(&answer).unwrap()
    }

    /// Waits until `/metrics` shows `line` (the database gauges are read every second here).
    fn wait_metric(&self, line: &str) {
        self.slack.wait(&format!("{line:?} on /metrics"), WAIT, |_| {
            self.metrics().contains(line)
        });
    }

    fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.server.url))
            .send()
            .unwrap()
            .text()
            .unwrap()
    }

    fn alert(&self, token: &str, id: &str) -> Value {
        self.api(token, reqwest::Method::GET, &format!("/v1/alerts/{id}"), None)
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(super::Db::Sqlite) } )*
        }
        mod postgres {
            $( #[test] fn $name() { super::$name(super::Db::Postgres) } )*
        }
    };
}

on_both_stores!(
    installs_make_accounts_and_reinstalls_keep_them,
    refused_installs_explain_and_change_nothing,
    uninstall_and_revocation_in_either_order_then_reinstall,
    mentions_and_the_slash_command_answer,
);

/// Two workspaces install Klaxon: each becomes an account whose alerts go to its own workspace with its own
/// token, beside the configured workspace of an account made with the CLI. A reinstall keeps the account,
/// its API token and everything in it, and Klaxon posts with the new token.
fn installs_make_accounts_and_reinstalls_keep_them(db: Db) {
    let Some(r) = rig(db) else { return };
    let page = r.install(ACME, "Acme Inc");
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(
        page.html.contains("Acme Inc") && page.html.contains("KLAXON_TOKEN"),
        "{}",
        page.html
    );
    let acme = page.token().expect("the first install shows the API token");
    assert!(acme.starts_with("klx_"));
    let beta = r.install(BETA, "Beta & Co").token().unwrap();
    assert!(
        r.install(BETA, "Beta & Co").html.contains("Beta &amp; Co"),
        "names are escaped"
    );
    let cli = r.server.create_account("cli");

    let ws = r.workspace(&acme);
    assert_eq!(
        (
            ws["connection"].as_str(),
            ws["team_id"].as_str(),
            ws["team_name"].as_str(),
            ws["active"].as_bool()
        ),
        (Some("installed"), Some(ACME), Some("Acme Inc"), Some(true)),
        "{ws}"
    );
    assert_eq!(r.workspace(&cli)["connection"], "configured");

    let (acme_url, beta_url, cli_url) = (r.setup(&acme), r.setup(&beta), r.setup(&cli));
    r.raise(&acme_url, "acme db down");
    r.raise(&beta_url, "beta db down");
    r.raise(&cli_url, "cli db down");
    r.posted_in(ACME, "acme db down");
    r.posted_in(BETA, "beta db down");
    r.posted_in(TEAM_ID, "cli db down");
    for (team, title) in [
        (ACME, "beta db down"),
        (BETA, "acme db down"),
        (TEAM_ID, "acme db down"),
    ] {
        assert!(
            !r.slack
                .messages()
                .iter()
                .any(|m| m.team == team && m.content().contains(title)),
            "{title} was posted in {team}"
        );
    }

    // Reinstall: same account (the old API token still works, its team is still there), a new bot token.
    let old_token = r.slack.token_of(ACME).unwrap();
    let again = r.install(ACME, "Acme Inc");
    assert_eq!(again.status, StatusCode::OK, "{}", again.html);
    assert!(
        again.token().is_none() && again.html.contains("installed Klaxon before"),
        "{}",
        again.html
    );
    let new_token = r.slack.token_of(ACME).unwrap();
    assert_ne!(old_token, new_token);
    let teams = r.api(&acme, reqwest::Method::GET, "/v1/teams", None);
    assert_eq!(teams["items"].as_array().map(Vec::len), Some(1));
    r.raise(&acme_url, "acme after reinstall");
    r.posted_in(ACME, "acme after reinstall");
    let posts: Vec<_> = r
        .slack
        .calls_of("chat.postMessage")
        .into_iter()
        .filter(|c| c.team == ACME && c.args.to_string().contains("acme after reinstall"))
        .collect();
    assert!(
        !posts.is_empty() && posts.iter().all(|c| c.token == new_token),
        "posted with the new token"
    );
    r.wait_metric("klaxon_slack_teams_installed 2.0\n");
}

/// Every refused install says why and installs nothing: cancelled on Slack's page, a state altered, a
/// state used twice, a state from another browser, a code Slack refuses, and installs switched off.
fn refused_installs_explain_and_change_nothing(db: Db) {
    let Some(r) = rig(db) else { return };
    // Cancelled.
    r.slack.deny_next();
    let (location, cookie) = r.begin();
    let page = r.callback(&r.consent(&location), Some(&cookie));
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.html.contains("cancelled"), "{}", page.html);

    // Altered: another expiry, or another signature.
    r.slack.approve_next(ACME, "Acme");
    let (location, cookie) = r.begin();
    let back = r.consent(&location);
    let state = url::Url::parse(&back)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let mut parts: Vec<&str> = state.split('.').collect();
    let later = (parts[1].parse::<i64>().unwrap() + 3_600_000).to_string();
    parts[1] = &later;
    let forged = back.replace(&state, &parts.join("."));
    let page = r.callback(&forged, Some(&cookie));
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.html.contains("altered"), "{}", page.html);
    // From another browser (no cookie).
    let page = r.callback(&back, None);
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.html.contains("another browser"), "{}", page.html);
    // The genuine one works once; used again it is refused.
    let page = r.callback(&back, Some(&cookie));
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let page = r.callback(&back, Some(&cookie));
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.html.contains("already used"), "{}", page.html);

    // A code Slack does not know.
    let (location, cookie) = r.begin();
    let state = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let made_up = format!(
        "{}/slack/oauth/callback?{}",
        r.server.url,
        form(&[("code", "nope"), ("state", &state)])
    );
    let page = r.callback(&made_up, Some(&cookie));
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.html.contains("invalid_code"), "{}", page.html);
    // Only the genuine install made an account.
    r.wait_metric("klaxon_slack_teams_installed 1.0\n");
    // Without a code or state at all.
    let page = r.callback(&format!("{}/slack/oauth/callback", r.server.url), None);
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
}

/// `app_uninstalled` then `tokens_revoked` (and the other order for a second workspace) make a workspace
/// inactive: no more calls for it, its alerts still stored and escalated, the API and metrics say so; a
/// retried delivery changes nothing more; a reinstall makes it active and brings its messages up to date.
fn uninstall_and_revocation_in_either_order_then_reinstall(db: Db) {
    let Some(r) = rig(db) else { return };
    let acme = r.install(ACME, "Acme").token().unwrap();
    let beta = r.install(BETA, "Beta").token().unwrap();
    let (acme_url, beta_url) = (r.setup(&acme), r.setup(&beta));
    r.raise(&acme_url, "acme before");
    r.posted_in(ACME, "acme before");

    r.event(ACME, "Ev0ACME001", json!({"type": "app_uninstalled"}), None);
    r.event(
        ACME,
        "Ev0ACME002",
        json!({"type": "tokens_revoked", "tokens": {"bot": ["U0KLAXON01"]}}),
        None,
    );
    r.event(
        BETA,
        "Ev0BETA001",
        json!({"type": "tokens_revoked", "tokens": {"bot": ["U0KLAXON01"]}}),
        None,
    );
    r.event(BETA, "Ev0BETA002", json!({"type": "app_uninstalled"}), None);
    r.slack.revoke(ACME);
    r.slack.revoke(BETA);
    for (token, reason) in [(&acme, "app_uninstalled"), (&beta, "tokens_revoked")] {
        r.slack.wait("the workspace inactive", WAIT, |_| {
            r.workspace(token)["active"] == false
        });
        let ws = r.workspace(token);
        assert_eq!(
            (ws["healthy"].as_bool(), ws["reason"].as_str()),
            (Some(false), Some(reason)),
            "{ws}"
        );
    }
    r.wait_metric("klaxon_slack_teams_inactive 2.0\n");
    // A retried delivery of the uninstall is answered and acted on once (the workspace stays as it is).
    r.event(ACME, "Ev0ACME001", json!({"type": "app_uninstalled"}), Some("1"));

    let calls = r.slack.calls().iter().filter(|c| c.team == ACME).count();
    let during = r.raise(&acme_url, "acme while uninstalled");
    r.slack.wait("the step run without Slack", WAIT, |_| {
        r.alert(&acme, &during)["escalation"]["step"] == 1
    });
    let a = r.alert(&acme, &during);
    assert_eq!(a["status"], "open");
    assert!(
        a["escalation"]["problem"]
            .as_str()
            .unwrap_or_default()
            .contains("app_uninstalled"),
        "{a}"
    );
    assert_eq!(
        r.slack.calls().iter().filter(|c| c.team == ACME).count(),
        calls,
        "no call for an inactive workspace"
    );

    // Reinstalled: active again, and the alert raised meanwhile is posted with the new token.
    let again = r.install(ACME, "Acme");
    assert_eq!(again.status, StatusCode::OK, "{}", again.html);
    assert_eq!(r.workspace(&acme)["active"], true);
    r.posted_in(ACME, "acme while uninstalled");
    // A late retry of the old uninstall, or an uninstall from before the reinstall delivered late, does not
    // undo the reinstall.
    r.event(ACME, "Ev0ACME001", json!({"type": "app_uninstalled"}), Some("3"));
    r.event_at(
        ACME,
        "Ev0ACME003",
        json!({"type": "app_uninstalled"}),
        None,
        now_secs() - 60,
    );
    r.raise(&beta_url, "beta still stored");
    r.slack.wait("Beta's alert stored", WAIT, |_| {
        r.api(&beta, reqwest::Method::GET, "/v1/alerts", None)["items"]
            .as_array()
            .map_or(0, Vec::len)
            == 1
    });
    assert_eq!(r.workspace(&acme)["active"], true, "{}", r.server.log());
}

/// `@klaxon open alerts` and `@klaxon help` are answered in the mention's thread, once however often Slack
/// delivers the event; `/klaxon` answers privately in its response; unsigned requests are refused; the
/// Events API URL check is answered.
fn mentions_and_the_slash_command_answer(db: Db) {
    let Some(r) = rig(db) else { return };
    let acme = r.install(ACME, "Acme").token().unwrap();
    let url = r.setup(&acme);
    let first = r.raise(&url, "payments 500s");
    r.raise(&url, "search slow");
    r.posted_in(ACME, "payments 500s");
    r.api(
        &acme,
        reqwest::Method::POST,
        &format!("/v1/alerts/{first}/ack"),
        None,
    );

    let (status, answer) = r.signed(
        "/slack/events",
        "application/json",
        &json!({"token": "x", "challenge": "ch4ll3nge", "type": "url_verification"}).to_string(),
        &[],
    );
    assert_eq!(
        (
            status,
            serde_json::from_str::<Value>(&answer).unwrap()["challenge"].clone()
        ),
        (StatusCode::OK, json!("ch4ll3nge"))
    );
    let unsigned = r
        .http
        .post(format!("{}/slack/events", r.server.url))
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    let unsigned = r
        .http
        .post(format!("{}/slack/commands", r.server.url))
        .body("text=help")
        .send()
        .unwrap();
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);

    let asked = r.slack.user_says(ACME, CHANNEL, "<@U0KLAXON01> open alerts");
    let mention = json!({"type": "app_mention", "user": ALICE, "text": "<@U0KLAXON01> open alerts",
        "ts": asked, "channel": CHANNEL, "event_ts": asked});
    r.event(ACME, "Ev0MENTION1", mention.clone(), None);
    r.event(ACME, "Ev0MENTION1", mention, Some("1"));
    r.slack.wait("the answer in the thread", WAIT, |s| {
        !s.thread(CHANNEL, &asked).is_empty()
    });
    let answer = r.slack.thread(CHANNEL, &asked)[0].content();
    assert!(
        answer.contains("payments 500s") && answer.contains("search slow"),
        "{answer}"
    );
    assert!(
        answer.contains("2 alerts not closed") && answer.contains("klaxon.ack"),
        "{answer}"
    );

    let helped = r.slack.user_says(ACME, CHANNEL, "<@U0KLAXON01> help");
    r.event(
        ACME,
        "Ev0MENTION2",
        json!({"type": "app_mention", "user": ALICE, "text": "<@U0KLAXON01> help",
        "ts": helped, "channel": CHANNEL, "event_ts": helped}),
        None,
    );
    r.slack.wait("the help in its thread", WAIT, |s| {
        !s.thread(CHANNEL, &helped).is_empty()
    });
    assert!(
        r.slack.thread(CHANNEL, &helped)[0]
            .text
            .contains("@klaxon open alerts")
    );
    assert_eq!(
        r.slack.thread(CHANNEL, &asked).len(),
        1,
        "the retried delivery was answered once"
    );

    let open = r.command(ACME, "open alerts");
    assert_eq!(open["response_type"], "ephemeral");
    let text = open.to_string();
    assert!(
        text.contains("payments 500s") && text.contains("search slow"),
        "{text}"
    );
    let help = r.command(ACME, "");
    assert!(
        help["text"].as_str().unwrap().contains("/klaxon open alerts"),
        "{help}"
    );
    let unknown = r.command(ACME, "dance");
    assert!(unknown["text"].as_str().unwrap().contains("dance"), "{unknown}");
    // The configured workspace shows the alerts of the accounts without an install: none here.
    let none = r.command(TEAM_ID, "open alerts");
    assert!(
        none["text"].as_str().unwrap().contains("No open alerts"),
        "{none}"
    );
    let elsewhere = r.command("T0UNKNOWN1", "open alerts");
    assert!(
        elsewhere["text"]
            .as_str()
            .unwrap()
            .contains("does not post to this workspace"),
        "{elsewhere}"
    );
}

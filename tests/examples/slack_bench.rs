//! Slack benchmarks (run by `bench/slack.sh`, never by the tests): a release `klaxon serve` against the fake
//! Slack of the tests' support code, on SQLite and on PostgreSQL, and Prometheus Alertmanager's Slack receiver
//! against the same fake, in one run.
//!
//! - Button answer latency: signed presses at a fixed rate (open loop: a slow answer does not slow the
//!   sender), p50/p99 of the time to Slack's 200, against Slack's 3 s deadline.
//! - Grouped storm: many events of a few alarms into one channel within seconds: posts, updates, 429s, and
//!   whether every event is counted.
//! - Unique storm: many distinct alerts into one channel within seconds: how long until every alert is
//!   visible (its own message or counted in a digest), calls over Slack's pace, nothing lost.
//!
//! Usage: `slack_bench KLAXON_BIN [--postgres URL] [--alertmanager BIN] [--small] [--buttons-only]`; prints a
//! table and one JSON line per result.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::too_many_lines)] // A measuring tool: it reports on stdout and fails loudly.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use klaxon_tests::{
    TempDir, free_port,
    slack::{FakeSlack, now_secs, press_body, sign},
};
use serde_json::{Value, json};

const TOKEN: &str = "xoxb-bench";
const SECRET: &str = "bench-signing-secret";
const ALICE: &str = "U0ALICE001";

struct Scale {
    /// Only the button presses (`--buttons-only`).
    buttons_only: bool,
    presses_per_sec: u64,
    press_secs: u64,
    grouped_events: usize,
    alarms: usize,
    unique: usize,
    storm_secs: u64,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let klaxon = std::fs::canonicalize(PathBuf::from(
        args.get(1)
            .expect("usage: slack_bench KLAXON_BIN [--postgres URL] [--alertmanager BIN] [--small]"),
    ))
    .expect("the klaxon binary");
    let opt = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let small = args.iter().any(|a| a == "--small");
    let scale = if small {
        Scale {
            buttons_only: false,
            presses_per_sec: 200,
            press_secs: 3,
            grouped_events: 1000,
            alarms: 10,
            unique: 200,
            storm_secs: 5,
        }
    } else {
        Scale {
            buttons_only: false,
            presses_per_sec: 1000,
            press_secs: 5,
            grouped_events: 10_000,
            alarms: 50,
            unique: 2000,
            storm_secs: 10,
        }
    };
    let scale = Scale {
        buttons_only: args.iter().any(|a| a == "--buttons-only"),
        ..scale
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut rows: Vec<Value> = Vec::new();
    let mut stores = vec![("sqlite".to_owned(), None)];
    if let Some(pg) = opt("--postgres") {
        stores.push(("postgres".to_owned(), Some(pg)));
    }
    for (store, pg) in stores {
        eprintln!("== klaxon on {store}");
        rows.extend(rt.block_on(klaxon_run(&klaxon, &store, pg.as_deref(), &scale)));
    }
    if let Some(am) = opt("--alertmanager") {
        eprintln!("== alertmanager");
        rows.extend(rt.block_on(alertmanager_run(Path::new(&am), &scale)));
    }
    println!();
    println!(
        "{:<14}{:<22}{:>10}{:>10}{:>10}{:>8}{:>10}{:>10}",
        "system", "scenario", "p50 ms", "p99 ms", "posts", "429s", "lost", "seconds"
    );
    for r in &rows {
        let f = |k: &str| {
            r.get(k).map_or("-".to_owned(), |v| match v {
                Value::Number(n) => n.as_f64().map_or(n.to_string(), |x| {
                    if x.fract() == 0.0 {
                        format!("{x:.0}")
                    } else {
                        format!("{x:.1}")
                    }
                }),
                v => v.to_string(),
            })
        };
        println!(
            "{:<14}{:<22}{:>10}{:>10}{:>10}{:>8}{:>10}{:>10}",
            r["system"].as_str().unwrap_or(""),
            r["scenario"].as_str().unwrap_or(""),
            f("p50_ms"),
            f("p99_ms"),
            f("posts"),
            f("429s"),
            f("lost"),
            f("seconds")
        );
    }
    println!();
    for r in &rows {
        println!("{r}");
    }
}

struct Klaxon {
    child: Child,
    url: String,
    token: String,
    _dir: TempDir,
}

impl Drop for Klaxon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_klaxon(bin: &Path, store: &str, pg: Option<&str>, slack: &FakeSlack) -> Klaxon {
    let dir = TempDir::new("slack-bench");
    let db = match (store, pg) {
        ("postgres", Some(base)) => {
            let name = format!("slackbench_{}", std::process::id());
            let _ = Command::new("psql")
                .arg(base)
                .args(["-q", "-c", &format!("DROP DATABASE IF EXISTS {name}")])
                .status();
            let ok = Command::new("psql")
                .arg(base)
                .args(["-q", "-c", &format!("CREATE DATABASE {name}")])
                .status()
                .unwrap();
            assert!(ok.success());
            format!("{}/{name}", base.rsplit_once('/').unwrap().0)
        }
        _ => format!("sqlite://{}", dir.path().join("klaxon.db").display()),
    };
    let port = free_port();
    let env = [
        ("KLAXON_LISTEN", format!("127.0.0.1:{port}")),
        ("KLAXON_DATABASE_URL", db.clone()),
        ("KLAXON_SLACK_API_URL", slack.api_url.clone()),
        ("KLAXON_SLACK_BOT_TOKEN", TOKEN.into()),
        ("KLAXON_SLACK_SIGNING_SECRET", SECRET.into()),
        ("KLAXON_INGEST_RATE", "1000000".into()),
        ("KLAXON_INGEST_BURST", "1000000".into()),
        ("KLAXON_LOG", "warn".into()),
    ];
    let log = std::fs::File::create(dir.path().join("serve.log")).unwrap();
    let child = Command::new(bin)
        .arg("serve")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "klaxon did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = Command::new(bin)
        .args(["account", "create", "--name", "bench"])
        .env("KLAXON_DATABASE_URL", &db)
        .output()
        .unwrap();
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    Klaxon {
        child,
        url,
        token,
        _dir: dir,
    }
}

async fn api(http: &reqwest::Client, k: &Klaxon, path: &str, body: Value) -> Value {
    http.post(format!("{}{path}", k.url))
        .bearer_auth(&k.token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A team posting to `channel` with a policy paging Alice first; returns the ingest URL.
async fn setup(http: &reqwest::Client, k: &Klaxon, name: &str, channel: &str) -> String {
    let team = api(
        http,
        k,
        "/v1/teams",
        json!({"name": name, "slack_channel": channel, "members": [ALICE]}),
    )
    .await;
    let policy = api(
        http,
        k,
        "/v1/escalation-policies",
        json!({"team_id": team["id"], "name": "p", "steps": [
            {"notify": "user", "user": ALICE, "escalate_after_minutes": 60}, {"notify": "here"}]}),
    )
    .await;
    let ep = api(
        http,
        k,
        "/v1/endpoints",
        json!({"team_id": team["id"], "name": name, "escalation_policy_id": policy["id"]}),
    )
    .await;
    ep["url"].as_str().unwrap().to_owned()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Sends `n` requests made by `make` at an even pace over `secs` (open loop), each on its own task.
async fn open_loop<F, Fut>(n: usize, secs: u64, make: F) -> Vec<(Duration, bool)>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let start = tokio::time::Instant::now();
    let interval = Duration::from_secs(secs).as_secs_f64() / n.max(1) as f64;
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        tokio::time::sleep_until(start + Duration::from_secs_f64(interval * i as f64)).await;
        let fut = make(i);
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let ok = fut.await;
            (t.elapsed(), ok)
        }));
    }
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// Waits until the fake has seen no new call for `quiet`, at most `max`.
async fn settle(slack: &FakeSlack, quiet: Duration, max: Duration) {
    let deadline = Instant::now() + max;
    let mut last = slack.calls().len();
    let mut since = Instant::now();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let n = slack.calls().len();
        if n != last {
            last = n;
            since = Instant::now();
        } else if since.elapsed() >= quiet {
            return;
        }
    }
}

async fn klaxon_run(bin: &Path, store: &str, pg: Option<&str>, scale: &Scale) -> Vec<Value> {
    let slack = Arc::new(FakeSlack::start(TOKEN));
    let k = Arc::new(start_klaxon(bin, store, pg, &slack));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let system = format!("klaxon-{store}");
    let mut rows = Vec::new();

    // Button presses.
    let url = setup(&http, &k, "press", "C0PRESS001").await;
    let mut alerts = Vec::new();
    for i in 0..200 {
        let v: Value = http
            .post(&url)
            .json(&json!({"title": format!("press {i}"), "key": format!("press {i}")}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        alerts.push(v["alerts"][0]["id"].as_str().unwrap().to_owned());
    }
    let alerts = Arc::new(alerts);
    let n = (scale.presses_per_sec * scale.press_secs) as usize;
    let response_url = slack.response_url("bench");
    let results = open_loop(n, scale.press_secs, |i| {
        let http = http.clone();
        let k = k.clone();
        let alerts = alerts.clone();
        let response_url = response_url.clone();
        async move {
            let body = press_body("klaxon.ack", &alerts[i % alerts.len()], ALICE, &response_url);
            let (ts, sig) = sign(SECRET, &body, now_secs());
            http.post(format!("{}/slack/interactions", k.url))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("x-slack-request-timestamp", ts)
                .header("x-slack-signature", sig)
                .body(body)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        }
    })
    .await;
    let mut ms: Vec<f64> = results.iter().map(|(d, _)| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    let failed = results.iter().filter(|(_, ok)| !ok).count();
    rows.push(json!({"system": system, "scenario": "button answer", "presses": n, "rate_per_sec": scale.presses_per_sec,
        "p50_ms": percentile(&ms, 0.5), "p99_ms": percentile(&ms, 0.99), "max_ms": percentile(&ms, 1.0), "failed": failed,
        "target": "p99 < 10 ms at 1,000 presses/s"}));
    eprintln!("{}", rows.last().unwrap());
    if scale.buttons_only {
        return rows;
    }
    settle(&slack, Duration::from_secs(3), Duration::from_secs(60)).await;

    // Grouped storm.
    let url = Arc::new(setup(&http, &k, "grouped", "C0GROUPED1").await);
    let before_429 = slack.sent_429();
    let started = Instant::now();
    let alarms = scale.alarms;
    let sent = open_loop(scale.grouped_events, scale.storm_secs, |i| {
        let http = http.clone();
        let url = url.clone();
        async move {
            let key = format!("grouped-alarm-{:03}", i % alarms);
            http.post(url.as_str())
                .json(&json!({"title": key, "key": key}))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        }
    })
    .await;
    settle(&slack, Duration::from_secs(5), Duration::from_secs(180)).await;
    let calls = slack.calls();
    let posts = calls
        .iter()
        .filter(|c| {
            c.method == "chat.postMessage"
                && c.status == 200
                && c.args["channel"] == "C0GROUPED1"
                && c.args.get("thread_ts").is_none()
        })
        .count();
    let replies = calls
        .iter()
        .filter(|c| {
            c.method == "chat.postMessage"
                && c.status == 200
                && c.args["channel"] == "C0GROUPED1"
                && c.args.get("thread_ts").is_some()
        })
        .count();
    let updates = calls.iter().filter(|c| c.method == "chat.update").count();
    let listed: Value = http
        .get(format!("{}/v1/alerts?limit=1000", k.url))
        .bearer_auth(&k.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let counted: u64 = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| {
            a["title"]
                .as_str()
                .unwrap_or_default()
                .starts_with("grouped-alarm-")
        })
        .map(|a| a["count"].as_u64().unwrap_or(0))
        .sum();
    let accepted = sent.iter().filter(|(_, ok)| *ok).count();
    let top = slack.channel("C0GROUPED1");
    let in_digest: usize = top
        .iter()
        .filter(|m| m.text.contains("new alerts"))
        .filter_map(|m| {
            m.text
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<usize>().ok())
        })
        .sum();
    let own = (0..alarms)
        .filter(|a| {
            top.iter().any(|m| {
                !m.text.contains("new alerts") && m.content().contains(&format!("grouped-alarm-{a:03}"))
            })
        })
        .count();
    let visible = own + in_digest;
    rows.push(json!({"system": system, "scenario": "grouped storm", "events": scale.grouped_events, "alarms": alarms,
        "accepted": accepted, "counted": counted, "posts": posts, "thread_replies": replies, "updates_all_channels": updates,
        "429s": slack.sent_429() - before_429, "lost": accepted as u64 - counted.min(accepted as u64) + alarms.saturating_sub(visible) as u64,
        "seconds": started.elapsed().as_secs_f64(), "target": "posts <= alarms, no 429 unhandled, every event counted"}));
    eprintln!("{}", rows.last().unwrap());

    // Unique storm.
    let url = Arc::new(setup(&http, &k, "unique", "C0UNIQUE01").await);
    let before_429 = slack.sent_429();
    let started = Instant::now();
    let sent = open_loop(scale.unique, scale.storm_secs, |i| {
        let http = http.clone();
        let url = url.clone();
        async move {
            let key = format!("unique-{i:05}");
            http.post(url.as_str())
                .json(&json!({"title": key, "key": key}))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        }
    })
    .await;
    let accepted = sent.iter().filter(|(_, ok)| *ok).count();
    let mut visible_after = None;
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut visible = 0;
    while Instant::now() < deadline {
        let top = slack.channel("C0UNIQUE01");
        let digest: usize = top
            .iter()
            .filter(|m| m.text.contains("new alerts"))
            .filter_map(|m| {
                m.text
                    .split_whitespace()
                    .next()
                    .and_then(|n| n.parse::<usize>().ok())
            })
            .sum();
        let own = top
            .iter()
            .filter(|m| !m.text.contains("new alerts") && m.text.contains("unique-"))
            .count();
        visible = own + digest;
        if visible >= scale.unique {
            visible_after = Some(started.elapsed().as_secs_f64());
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    settle(&slack, Duration::from_secs(5), Duration::from_secs(120)).await;
    let calls = slack.calls();
    let posts_in = |c: &klaxon_tests::slack::Call| {
        c.method == "chat.postMessage" && c.status == 200 && c.args["channel"] == "C0UNIQUE01"
    };
    let mut times: Vec<Instant> = calls.iter().filter(|c| posts_in(c)).map(|c| c.at).collect();
    times.sort();
    let over_pace = times
        .windows(2)
        .filter(|w| w[1].duration_since(w[0]) < Duration::from_millis(1000))
        .count();
    let dms = slack.dms(ALICE).len();
    rows.push(json!({"system": system, "scenario": "unique storm", "alerts": scale.unique, "accepted": accepted,
        "visible": visible, "visible_after_s": visible_after, "posts": times.len(), "posts_over_pace": over_pace, "dms_to_alice": dms,
        "429s": slack.sent_429() - before_429, "lost": (scale.unique - visible.min(scale.unique)) as u64,
        "seconds": visible_after.unwrap_or(f64::NAN), "target": "every alert visible within 60 s, Slack's pace kept, nothing lost"}));
    eprintln!("{}", rows.last().unwrap());
    rows
}

async fn alertmanager_run(bin: &Path, scale: &Scale) -> Vec<Value> {
    let slack = FakeSlack::start(TOKEN);
    let dir = TempDir::new("am-bench");
    let port = free_port();
    let cluster = free_port();
    let config = format!(
        "route:\n  receiver: grouped\n  group_by: ['alertname']\n  group_wait: 1s\n  group_interval: 5s\n  repeat_interval: 4h\n  routes:\n    - matchers: ['storm=\"unique\"']\n      receiver: unique\nreceivers:\n  - name: grouped\n    slack_configs:\n      - api_url: '{0}'\n        channel: '#grouped'\n        title: '{{{{ .CommonLabels.alertname }}}}'\n        text: '{{{{ range .Alerts }}}}{{{{ .Labels.alertname }}}} {{{{ end }}}}'\n  - name: unique\n    slack_configs:\n      - api_url: '{0}'\n        channel: '#unique'\n        title: '{{{{ .CommonLabels.alertname }}}}'\n        text: '{{{{ range .Alerts }}}}{{{{ .Labels.alertname }}}} {{{{ end }}}}'\n",
        slack.webhook_url()
    );
    std::fs::write(dir.path().join("am.yml"), config).unwrap();
    let mut child = Command::new(bin)
        .arg(format!("--config.file={}", dir.path().join("am.yml").display()))
        .arg(format!("--storage.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg(format!("--cluster.listen-address=127.0.0.1:{cluster}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("am.log")).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "alertmanager did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let http = reqwest::Client::new();
    let api = Arc::new(format!("http://127.0.0.1:{port}/api/v2/alerts"));
    let mut rows = Vec::new();
    let alarms = scale.alarms;

    let started = Instant::now();
    let sent = open_loop(scale.grouped_events, scale.storm_secs, |i| {
        let http = http.clone();
        let api = api.clone();
        async move {
            let body = json!([{"labels": {"alertname": format!("grouped-alarm-{:03}", i % alarms), "storm": "grouped"}}]);
            http.post(api.as_str()).json(&body).send().await.is_ok_and(|r| r.status().is_success())
        }
    })
    .await;
    settle(&slack, Duration::from_secs(12), Duration::from_secs(120)).await;
    let calls = slack.calls();
    let ok_posts = |ch: &str| {
        calls
            .iter()
            .filter(|c| c.method == "webhook" && c.status == 200 && c.args["channel"] == ch)
            .count()
    };
    let got_429 = |ch: &str| {
        calls
            .iter()
            .filter(|c| c.method == "webhook" && c.status == 429 && c.args["channel"] == ch)
            .count()
    };
    let top = slack.channel("#grouped");
    let visible = (0..alarms)
        .filter(|a| {
            top.iter()
                .any(|m| m.text.contains(&format!("grouped-alarm-{a:03}")))
        })
        .count();
    rows.push(json!({"system": "alertmanager", "scenario": "grouped storm", "events": scale.grouped_events, "alarms": alarms,
        "accepted": sent.iter().filter(|(_, ok)| *ok).count(), "posts": ok_posts("#grouped"), "429s": got_429("#grouped"),
        "lost": alarms - visible, "seconds": started.elapsed().as_secs_f64()}));
    eprintln!("{}", rows.last().unwrap());

    let started = Instant::now();
    let sent = open_loop(scale.unique, scale.storm_secs, |i| {
        let http = http.clone();
        let api = api.clone();
        async move {
            let body = json!([{"labels": {"alertname": format!("unique-{i:05}"), "storm": "unique"}}]);
            http.post(api.as_str())
                .json(&body)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        }
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut visible = 0;
    let mut visible_after = None;
    while Instant::now() < deadline {
        let top = slack.channel("#unique");
        visible = (0..scale.unique)
            .filter(|i| top.iter().any(|m| m.text.contains(&format!("unique-{i:05}"))))
            .count();
        if visible >= scale.unique {
            visible_after = Some(started.elapsed().as_secs_f64());
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let calls = slack.calls();
    let posts = calls
        .iter()
        .filter(|c| c.method == "webhook" && c.status == 200 && c.args["channel"] == "#unique")
        .count();
    let rejected = calls
        .iter()
        .filter(|c| c.method == "webhook" && c.status == 429 && c.args["channel"] == "#unique")
        .count();
    rows.push(json!({"system": "alertmanager", "scenario": "unique storm", "alerts": scale.unique,
        "accepted": sent.iter().filter(|(_, ok)| *ok).count(), "visible": visible, "visible_after_s": visible_after,
        "posts": posts, "429s": rejected, "lost": scale.unique - visible, "seconds": visible_after.unwrap_or(f64::NAN)}));
    eprintln!("{}", rows.last().unwrap());
    let _ = child.kill();
    let _ = child.wait();
    rows
}

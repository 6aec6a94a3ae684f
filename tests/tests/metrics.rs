//! Metrics end to end, on SQLite and on PostgreSQL: a real `klaxon serve` publishing to CloudWatch (moto)
//! every second while a script raises, groups, resolves, acknowledges, closes and passes alerts and sends a
//! request that is refused; `GetMetricStatistics` must then return the script's sums, `/metrics` must show
//! every metric of the catalogue with its help, and `klaxon dashboard put` must write the dashboard of the
//! shared definition. With moto stopped mid-run the service keeps ingesting and escalating, and publishes
//! what waited once moto is back.

#![allow(clippy::unwrap_used, clippy::needless_pass_by_value)] // Test code: a failed unwrap is a failed test.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::{
    primitives::DateTime,
    types::{Dimension, Statistic},
};
use klaxon_api::metrics::{METRICS, dashboard_body};
use klaxon_tests::{Server, TempDir, moto::Moto, postgres_database};
use reqwest::blocking::Client;
use serde_json::{Value, json};

const ALICE: &str = "U0ALICE001";
const WAIT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy)]
enum Db {
    Sqlite,
    Postgres,
}

struct Rig {
    server: Server,
    http: Client,
    token: String,
    url: String,
    namespace: String,
    rt: tokio::runtime::Runtime,
    cloudwatch: aws_sdk_cloudwatch::Client,
}

fn rig(db: Db, moto: &Moto) -> Option<Rig> {
    let namespace = format!("KlaxonTest{}", std::process::id());
    let dir = TempDir::new("metrics-log");
    let log = dir.path().join("notify.jsonl").display().to_string();
    let mut env: Vec<(&str, String)> = moto.env();
    env.extend([
        ("KLAXON_CLOUDWATCH_NAMESPACE", namespace.clone()),
        ("KLAXON_METRICS_INTERVAL", "1s".to_owned()),
        // Thirty policy minutes are thirty seconds: the test acts on each alert long before its next step.
        ("KLAXON_ESCALATION_MINUTE_MS", "1000".to_owned()),
        ("KLAXON_NOTIFY_LOG", log),
        ("KLAXON_LOG", "klaxon=debug,info".to_owned()),
    ]);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = match db {
        Db::Sqlite => Server::start_sqlite_with(&env),
        Db::Postgres => Server::start(&postgres_database()?, dir, &env),
    };
    let token = server.create_account("metrics");
    let http = Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let post = |path: &str, body: Value| -> Value {
        let resp = http
            .post(format!("{}{path}", server.url))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().unwrap()
    };
    let team = post(
        "/v1/teams",
        json!({"name": "ops", "slack_channel": "C0OPS00001", "members": [ALICE]}),
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
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = rt.block_on(
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .endpoint_url(&moto.url)
            .credentials_provider(aws_sdk_cloudwatch::config::Credentials::new(
                "testing", "testing", None, None, "t",
            ))
            .load(),
    );
    Some(Rig {
        url: endpoint["url"].as_str().unwrap().to_owned(),
        server,
        http,
        token,
        namespace,
        rt,
        cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
    })
}

impl Rig {
    fn send(&self, body: Value) -> Value {
        let resp = self.http.post(&self.url).json(&body).send().unwrap();
        assert!(resp.status().is_success(), "ingest: {}", resp.status());
        resp.json().unwrap()
    }

    /// A firing alert keyed `key`; returns its id.
    fn raise(&self, key: &str) -> String {
        self.send(json!({"title": key, "key": key}))["alerts"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn api(&self, method: reqwest::Method, path: &str) -> Value {
        let resp = self
            .http
            .request(method.clone(), format!("{}{path}", self.server.url))
            .bearer_auth(&self.token)
            .send()
            .unwrap();
        assert!(resp.status().is_success(), "{method} {path}: {}", resp.status());
        resp.json().unwrap()
    }

    /// Waits until the alert's escalation reached `step`.
    fn wait_step(&self, id: &str, step: u64) {
        wait(&format!("{id} at step {step}"), || {
            self.api(reqwest::Method::GET, &format!("/v1/alerts/{id}"))["escalation"]["step"] == step
        });
    }

    /// The sum of `statistic` over the last ten minutes of `metric` with `dimensions`.
    fn statistic(&self, metric: &str, dimensions: &[(&str, &str)], statistic: Statistic) -> f64 {
        let now = SystemTime::now();
        let mut req = self
            .cloudwatch
            .get_metric_statistics()
            .namespace(&self.namespace)
            .metric_name(metric)
            .start_time(DateTime::from(now - Duration::from_secs(600)))
            .end_time(DateTime::from(now + Duration::from_secs(600)))
            .period(60)
            .statistics(statistic.clone());
        for (name, value) in dimensions {
            req = req.dimensions(Dimension::builder().name(*name).value(*value).build());
        }
        let out = self.rt.block_on(req.send()).unwrap();
        out.datapoints()
            .iter()
            .map(|d| match statistic {
                Statistic::Sum => d.sum().unwrap_or(0.0),
                Statistic::SampleCount => d.sample_count().unwrap_or(0.0),
                Statistic::Maximum => d.maximum().unwrap_or(0.0),
                _ => 0.0,
            })
            .sum()
    }

    fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.server.url))
            .send()
            .unwrap()
            .text()
            .unwrap()
    }
}

fn wait(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + WAIT;
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
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
    cloudwatch_gets_the_sums_of_a_scripted_run,
    a_cloudwatch_outage_loses_nothing_and_stops_nothing,
);

/// Alerts, a grouped event, a recovery, a notification, acknowledge, close, pass and a refused request:
/// CloudWatch gets each count, the histograms' sample counts, the gauges; `/metrics` shows every metric.
fn cloudwatch_gets_the_sums_of_a_scripted_run(db: Db) {
    let Some(moto) = Moto::start() else { return };
    let Some(r) = rig(db, &moto) else { return };
    let a = r.raise("disk full");
    let b = r.raise("cpu high");
    let c = r.raise("queue backlog");
    for id in [&a, &b, &c] {
        r.wait_step(id, 1);
    }
    assert_eq!(
        r.send(json!({"title": "disk full", "key": "disk full"}))["alerts"][0]["action"],
        "grouped"
    );
    assert_eq!(
        r.send(json!({"title": "cpu high", "key": "cpu high", "status": "resolved"}))["alerts"][0]["action"],
        "resolved"
    );
    assert_eq!(
        r.send(json!({"title": "nothing open", "key": "nothing open", "status": "resolved"}))["alerts"][0]["kind"],
        "notification"
    );
    r.api(reqwest::Method::POST, &format!("/v1/alerts/{a}/ack"));
    r.api(reqwest::Method::POST, &format!("/v1/alerts/{c}/close"));
    let d = r.raise("api errors");
    r.wait_step(&d, 1);
    r.api(reqwest::Method::POST, &format!("/v1/alerts/{d}/pass"));
    r.wait_step(&d, 2);
    let refused = r
        .http
        .post(format!("{}/ingest/ing_unknown", r.server.url))
        .json(&json!({"title": "x"}))
        .send()
        .unwrap();
    assert_eq!(refused.status(), 404);

    let expect = [
        ("AlertsCreated", vec![], Statistic::Sum, 4.0),
        ("NotificationsCreated", vec![], Statistic::Sum, 1.0),
        ("EventsStored", vec![], Statistic::Sum, 7.0),
        ("Acknowledged", vec![], Statistic::Sum, 1.0),
        ("Closed", vec![], Statistic::Sum, 1.0),
        ("AutoClosed", vec![], Statistic::Sum, 1.0),
        ("Passed", vec![], Statistic::Sum, 1.0),
        ("Escalations", vec![("StepKind", "user")], Statistic::Sum, 4.0),
        ("Escalations", vec![("StepKind", "here")], Statistic::Sum, 1.0),
        (
            "IngestRejected",
            vec![("Reason", "unknown_endpoint")],
            Statistic::Sum,
            1.0,
        ),
        ("TimeToAcknowledge", vec![], Statistic::SampleCount, 1.0),
        ("TimeToClose", vec![], Statistic::SampleCount, 2.0),
        ("IngestLatency", vec![], Statistic::SampleCount, 7.0),
    ];
    for (metric, dims, stat, want) in &expect {
        wait(&format!("{metric} {dims:?} = {want} in CloudWatch"), || {
            (r.statistic(metric, dims, stat.clone()) - want).abs() < 1e-9
        });
    }
    // The database gauges: published too, and on /metrics.
    wait("the gauges published", || {
        r.statistic("OpenAlerts", &[], Statistic::SampleCount) > 0.0
    });
    wait("two open alerts on /metrics", || {
        r.metrics().contains("klaxon_open_alerts 2.0")
    });
    let text = r.metrics();
    assert!(text.contains("klaxon_dead_jobs 0.0"), "{text}");
    for def in METRICS {
        // OpenMetrics names the family without the `_total` of a counter's samples.
        assert!(
            text.contains(&format!("# HELP {} {}", def.prometheus, def.help)),
            "{} has no help line in\n{text}",
            def.prometheus
        );
    }
    // Sums stay put: nothing is counted twice across intervals.
    std::thread::sleep(Duration::from_secs(3));
    for (metric, dims, stat, want) in &expect {
        assert!(
            (r.statistic(metric, dims, stat.clone()) - want).abs() < 1e-9,
            "{metric} changed"
        );
    }

    // The dashboard of the shared definition.
    let name = format!("klaxon-{}", std::process::id());
    let out = r.server.command(
        &[
            "dashboard",
            "put",
            "--name",
            &name,
            "--namespace",
            &r.namespace,
            "--period",
            "60",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got =
        r.rt.block_on(r.cloudwatch.get_dashboard().dashboard_name(&name).send())
            .unwrap();
    assert_eq!(
        got.dashboard_body(),
        Some(dashboard_body(&r.namespace, 60, "eu-west-1").as_str())
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&name));
}

/// CloudWatch stops answering: ingest and escalation go on, data points wait; when it is back they arrive.
fn a_cloudwatch_outage_loses_nothing_and_stops_nothing(db: Db) {
    let Some(moto) = Moto::start() else { return };
    let port = moto.port();
    let Some(r) = rig(db, &moto) else { return };
    let first = r.raise("before the outage");
    r.wait_step(&first, 1);
    wait("the first alert published", || {
        r.statistic("AlertsCreated", &[], Statistic::Sum) >= 1.0
            && r.statistic("Escalations", &[("StepKind", "user")], Statistic::Sum) >= 1.0
    });
    drop(moto);
    let during = [r.raise("during the outage 1"), r.raise("during the outage 2")];
    for id in &during {
        r.wait_step(id, 1);
    }
    r.api(reqwest::Method::POST, &format!("/v1/alerts/{}/ack", during[0]));
    wait("a failed publication", || {
        r.server.log().contains("Could not publish metrics to CloudWatch")
    });
    // A fresh moto on the same address: what it receives is only what waited.
    let _back = Moto::start_on(port).unwrap();
    wait("the waiting data points published", || {
        (r.statistic("AlertsCreated", &[], Statistic::Sum) - 2.0).abs() < 1e-9
            && (r.statistic("Acknowledged", &[], Statistic::Sum) - 1.0).abs() < 1e-9
            && (r.statistic("Escalations", &[("StepKind", "user")], Statistic::Sum) - 2.0).abs() < 1e-9
    });
    assert!(
        r.server.log().contains("CloudWatch takes metrics again"),
        "{}",
        r.server.log()
    );
}

//! The metrics documentation is made from the catalogue (`klaxon_api::metrics`) and kept true by this test:
//! the table of metrics in `docs/guides/metrics.md`, the CloudWatch dashboard body and the Grafana dashboard
//! in `docs/` are what the code generates (`UPDATE_DOCS=1` rewrites them), and the Prometheus rules name
//! only metrics Klaxon exposes.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use std::path::PathBuf;

use klaxon_api::metrics::{self, Kind, METRICS};

fn docs(path: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs")).join(path)
}

/// Compares `path` with `generated`, rewriting it when `UPDATE_DOCS` is set.
fn check(path: &str, generated: &str) {
    let file = docs(path);
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&file, generated).unwrap();
    }
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/{path} is stale: run `UPDATE_DOCS=1 cargo test -p klaxon --test metrics_docs` and commit it"
    );
}

/// The table of every metric, as the guide shows it.
fn table() -> String {
    let mut out = String::from(
        "| CloudWatch | Prometheus | kind | dimensions / labels | meaning |\n|---|---|---|---|---|\n",
    );
    for m in METRICS {
        let (kind, prom) = match m.kind {
            Kind::Counter => ("counter", format!("`{}_total`", m.prometheus)),
            Kind::Histogram => ("histogram (seconds)", format!("`{}`", m.prometheus)),
            Kind::Gauge => ("gauge", format!("`{}`", m.prometheus)),
        };
        let labels: Vec<String> = m
            .labels
            .iter()
            .map(|l| format!("`{}` / `{l}`", metrics::dimension(l)))
            .collect();
        out.push_str(&format!(
            "| `{}` | {prom} | {kind} | {} | {} |\n",
            m.name,
            if labels.is_empty() {
                "-".to_owned()
            } else {
                labels.join(", ")
            },
            m.help
        ));
    }
    out
}

#[test]
fn the_metrics_docs_are_what_the_catalogue_makes() {
    let guide = std::fs::read_to_string(docs("guides/metrics.md")).unwrap();
    let (start, end) = ("<!-- metrics:start -->\n", "<!-- metrics:end -->");
    let a = guide.find(start).expect("the guide has the metrics:start marker") + start.len();
    let b = guide.find(end).expect("the guide has the metrics:end marker");
    let regenerated = format!("{}{}{}", &guide[..a], table(), &guide[b..]);
    check("guides/metrics.md", &regenerated);

    let body: serde_json::Value =
        serde_json::from_str(&metrics::dashboard_body("Klaxon", 300, "us-east-1")).unwrap();
    check(
        "cloudwatch/dashboard.json",
        &(serde_json::to_string_pretty(&body).unwrap() + "\n"),
    );
    check("grafana/klaxon.json", &metrics::grafana_dashboard());
}

#[test]
fn the_prometheus_rules_name_only_exposed_metrics() {
    let rules = std::fs::read_to_string(docs("prometheus/klaxon-rules.yml")).unwrap();
    let parsed: serde_json::Value = serde_norway::from_str(&rules).unwrap();
    let exprs: Vec<String> = parsed["groups"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["expr"].as_str().unwrap().to_owned())
        .collect();
    assert!(exprs.len() >= 3);
    let names = metrics::promql_metric_names(&exprs.join("\n"));
    assert!(names.iter().any(|n| n == "klaxon_queue_lag_seconds"));
    for name in names {
        assert!(
            METRICS.iter().any(|m| m.prometheus == name),
            "docs/prometheus/klaxon-rules.yml names {name}, which Klaxon does not expose"
        );
    }
}

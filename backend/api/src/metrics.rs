//! Klaxon's metrics, defined once: every metric's name in CloudWatch and in Prometheus, its kind, unit,
//! labels and meaning ([`METRICS`]), and the dashboards built from that list (the CloudWatch dashboard of
//! `klaxon dashboard put` and of the provider's `klaxon_cloudwatch_dashboard`, and the Grafana dashboard in
//! `docs/`). The server records and publishes exactly these; a dashboard that names anything else fails a
//! test.

use serde_json::{Value, json};

/// What a metric measures over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A count that only goes up (per interval in CloudWatch: the sum of the interval).
    Counter,
    /// A distribution of observed values (in CloudWatch: the values and their counts, so percentiles work).
    Histogram,
    /// A value read from the database by one replica at a time.
    Gauge,
}

/// The unit of a metric's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A number of things.
    Count,
    /// Seconds.
    Seconds,
}

impl Unit {
    /// CloudWatch's name of the unit.
    pub fn cloudwatch(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Seconds => "Seconds",
        }
    }
}

/// The bucket layout of a histogram (Prometheus only; CloudWatch gets the values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Buckets {
    /// Not a histogram.
    None,
    /// Request latencies: 1 ms to about 16 s.
    Latency,
    /// Human reaction times: 5 s to about 1 day.
    Reaction,
}

/// One metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricDef {
    /// The CloudWatch metric name (`AlertsCreated`).
    pub name: &'static str,
    /// The Prometheus name, without the `_total` a counter gets (`klaxon_alerts_created`).
    pub prometheus: &'static str,
    /// Counter, histogram or gauge.
    pub kind: Kind,
    /// Unit of the values.
    pub unit: Unit,
    /// Label names (Prometheus); in CloudWatch each is a dimension, capitalised (`step_kind` → `StepKind`).
    /// Every label takes few values: no alert, user or account ids.
    pub labels: &'static [&'static str],
    /// Histogram buckets.
    pub buckets: Buckets,
    /// What it means (the `# HELP` line and the docs).
    pub help: &'static str,
}

const fn counter(
    name: &'static str,
    prometheus: &'static str,
    labels: &'static [&'static str],
    help: &'static str,
) -> MetricDef {
    MetricDef {
        name,
        prometheus,
        kind: Kind::Counter,
        unit: Unit::Count,
        labels,
        buckets: Buckets::None,
        help,
    }
}

const fn histogram(
    name: &'static str,
    prometheus: &'static str,
    labels: &'static [&'static str],
    buckets: Buckets,
    help: &'static str,
) -> MetricDef {
    MetricDef {
        name,
        prometheus,
        kind: Kind::Histogram,
        unit: Unit::Seconds,
        labels,
        buckets,
        help,
    }
}

const fn gauge(name: &'static str, prometheus: &'static str, unit: Unit, help: &'static str) -> MetricDef {
    MetricDef {
        name,
        prometheus,
        kind: Kind::Gauge,
        unit,
        labels: &[],
        buckets: Buckets::None,
        help,
    }
}

/// The namespace metrics are published in by default.
pub const DEFAULT_NAMESPACE: &str = "Klaxon";
/// The period of the dashboard's graphs by default, in seconds.
pub const DEFAULT_PERIOD: u32 = 300;

/// Every metric Klaxon records and publishes.
pub const METRICS: &[MetricDef] = &[
    counter(
        "AlertsCreated",
        "klaxon_alerts_created",
        &[],
        "Alerts created (an event that matched no open alert).",
    ),
    counter(
        "NotificationsCreated",
        "klaxon_notifications_created",
        &[],
        "Notifications created (events posted to the channel that cannot be acknowledged, e.g. an OK with no open alert).",
    ),
    counter(
        "EventsStored",
        "klaxon_events_stored",
        &[],
        "Events stored by ingest, grouped into an alert or not.",
    ),
    counter(
        "Escalations",
        "klaxon_escalations",
        &["step_kind"],
        "Escalation steps run, by the kind of step (user, random_member, next_member, here, channel).",
    ),
    counter(
        "Acknowledged",
        "klaxon_acknowledged",
        &[],
        "Alerts acknowledged (by a button or the API).",
    ),
    counter(
        "Closed",
        "klaxon_closed",
        &[],
        "Alerts closed by a person (a button or the API).",
    ),
    counter(
        "AutoClosed",
        "klaxon_auto_closed",
        &[],
        "Alerts closed automatically by a recovery (an OK, a resolved webhook).",
    ),
    counter(
        "Passed",
        "klaxon_passed",
        &[],
        "Alerts passed to the next escalation step by a person.",
    ),
    counter(
        "IngestRejected",
        "klaxon_ingest_rejected",
        &["reason"],
        "Ingest requests refused, by reason; nothing of them was stored.",
    ),
    counter(
        "SnsDuplicates",
        "klaxon_sns_duplicates",
        &[],
        "SNS messages ignored as retries of messages already stored.",
    ),
    counter(
        "SlackApiErrors",
        "klaxon_slack_api_errors",
        &["method", "error"],
        "Slack Web API calls that failed after their retries, by method and Slack's error (or timeout, http_5xx, rate_limited).",
    ),
    counter(
        "SlackRetries",
        "klaxon_slack_retries",
        &["method"],
        "Slack Web API calls retried (a timeout, a 5xx, a 429), by method.",
    ),
    counter(
        "ButtonPresses",
        "klaxon_button_presses",
        &["action"],
        "Slack button presses recorded, by action (ack, close, pass).",
    ),
    counter(
        "MetricsDropped",
        "klaxon_metrics_dropped",
        &[],
        "CloudWatch data points dropped because CloudWatch could not be reached for long (the oldest go first).",
    ),
    histogram(
        "TimeToAcknowledge",
        "klaxon_time_to_acknowledge_seconds",
        &[],
        Buckets::Reaction,
        "Time from an alert's first event to its acknowledgement, in seconds.",
    ),
    histogram(
        "TimeToClose",
        "klaxon_time_to_close_seconds",
        &[],
        Buckets::Reaction,
        "Time from an alert's first event to its close (by a person or a recovery), in seconds.",
    ),
    histogram(
        "SlackApiLatency",
        "klaxon_slack_api_latency_seconds",
        &["method"],
        Buckets::Latency,
        "Time of one Slack Web API call, retries included, by method, in seconds.",
    ),
    histogram(
        "IngestLatency",
        "klaxon_ingest_latency_seconds",
        &[],
        Buckets::Latency,
        "Time to answer an ingest request that stored its events (durably), in seconds.",
    ),
    histogram(
        "ButtonAnswerLatency",
        "klaxon_button_answer_latency_seconds",
        &[],
        Buckets::Latency,
        "Time to answer Slack for a button press (the press recorded durably), in seconds.",
    ),
    gauge(
        "SlackTeamsInstalled",
        "klaxon_slack_teams_installed",
        Unit::Count,
        "Slack workspaces installed through OAuth and active (not uninstalled, token not revoked).",
    ),
    gauge(
        "SlackTeamsInactive",
        "klaxon_slack_teams_inactive",
        Unit::Count,
        "Slack workspaces installed through OAuth that uninstalled Klaxon or revoked its token.",
    ),
    gauge(
        "OpenAlerts",
        "klaxon_open_alerts",
        Unit::Count,
        "Alerts not closed (open or acknowledged).",
    ),
    gauge(
        "DeadJobs",
        "klaxon_dead_jobs",
        Unit::Count,
        "Jobs that failed for good and wait for an operator (GET /v1/jobs?state=dead).",
    ),
    gauge(
        "QueueLag",
        "klaxon_queue_lag_seconds",
        Unit::Seconds,
        "Age of the oldest job that is due and could run now (not waiting behind an earlier job of its alert), in seconds (0 when none waits).",
    ),
    gauge(
        "PendingTimers",
        "klaxon_pending_timers",
        Unit::Count,
        "Jobs scheduled for later (escalation timers among them).",
    ),
];

/// Why `namespace` cannot be the CloudWatch namespace of Klaxon's metrics, if it cannot: 1 to 255 of the
/// characters CloudWatch takes (letters, digits, `.` `-` `_` `/` `#` `:`), not one of AWS's (`AWS/…`).
pub fn namespace_problem(namespace: &str) -> Option<String> {
    let len = namespace.chars().count();
    if len == 0 || len > 255 {
        return Some(format!(
            "a namespace has 1 to 255 characters; {namespace:?} has {len}"
        ));
    }
    if let Some(c) = namespace
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || ".-_/#:".contains(*c)))
    {
        return Some(format!(
            "{namespace:?} has {c:?}; a namespace has letters, digits and . - _ / # : only"
        ));
    }
    if namespace.starts_with("AWS/") {
        return Some(format!("{namespace:?} is reserved for AWS services"));
    }
    None
}

/// The metric named `name` (CloudWatch name).
pub fn metric(name: &str) -> Option<&'static MetricDef> {
    METRICS.iter().find(|m| m.name == name)
}

/// A label's CloudWatch dimension name: `step_kind` → `StepKind`.
pub fn dimension(label: &str) -> String {
    label
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
        })
        .collect()
}

/// A graph of the dashboard.
struct Widget {
    title: &'static str,
    /// Metrics drawn: (metric, statistic, label).
    lines: Vec<Line>,
    width: u32,
}

enum Line {
    /// One metric without dimensions, with a statistic.
    Metric(&'static str, &'static str, &'static str),
    /// Every series of a metric with dimensions (a SEARCH expression), with a statistic.
    Search(&'static str, &'static str),
}

fn widgets() -> Vec<Widget> {
    use Line::{Metric, Search};
    vec![
        Widget {
            title: "Alerts and notifications",
            lines: vec![
                Metric("AlertsCreated", "Sum", "Alerts"),
                Metric("NotificationsCreated", "Sum", "Notifications"),
            ],
            width: 12,
        },
        Widget {
            title: "Escalations by step",
            lines: vec![Search("Escalations", "Sum")],
            width: 12,
        },
        Widget {
            title: "Acknowledged, closed, auto-closed, passed",
            lines: vec![
                Metric("Acknowledged", "Sum", "Acknowledged"),
                Metric("Closed", "Sum", "Closed"),
                Metric("AutoClosed", "Sum", "Auto-closed"),
                Metric("Passed", "Sum", "Passed"),
            ],
            width: 12,
        },
        Widget {
            title: "Time to acknowledge (seconds)",
            lines: vec![
                Metric("TimeToAcknowledge", "p50", "p50"),
                Metric("TimeToAcknowledge", "p90", "p90"),
            ],
            width: 12,
        },
        Widget {
            title: "Slack API errors",
            lines: vec![Search("SlackApiErrors", "Sum")],
            width: 8,
        },
        Widget {
            title: "Slack API latency p90 (seconds)",
            lines: vec![Search("SlackApiLatency", "p90")],
            width: 8,
        },
        Widget {
            title: "Rejected ingest by reason",
            lines: vec![Search("IngestRejected", "Sum")],
            width: 8,
        },
        Widget {
            title: "Dead jobs and queue lag",
            lines: vec![
                Metric("DeadJobs", "Maximum", "Dead jobs"),
                Metric("QueueLag", "Maximum", "Queue lag (s)"),
            ],
            width: 12,
        },
        Widget {
            title: "Workspaces installed",
            lines: vec![
                Metric("SlackTeamsInstalled", "Maximum", "Active"),
                Metric("SlackTeamsInactive", "Maximum", "Inactive"),
            ],
            width: 12,
        },
    ]
}

/// The CloudWatch dashboard body (JSON) for metrics in `namespace`, graphs of `period` seconds, in `region`.
pub fn dashboard_body(namespace: &str, period: u32, region: &str) -> String {
    let (mut x, mut y) = (0, 0);
    let mut out = Vec::new();
    for (i, w) in widgets().into_iter().enumerate() {
        if x + w.width > 24 {
            x = 0;
            y += 6;
        }
        let metrics: Vec<Value> = w
            .lines
            .iter()
            .enumerate()
            .map(|(j, line)| match line {
                Line::Metric(name, stat, label) => {
                    json!([namespace, name, {"stat": stat, "label": label, "id": format!("m{i}_{j}")}])
                }
                Line::Search(name, stat) => {
                    let def = metric(name);
                    let dims: Vec<String> = def
                        .map(|d| d.labels.iter().map(|l| dimension(l)).collect())
                        .unwrap_or_default();
                    json!([{
                        "expression": format!(
                            "SEARCH('{{\"{namespace}\",{}}} MetricName=\"{name}\"', '{stat}', {period})",
                            dims.join(",")
                        ),
                        "id": format!("e{i}_{j}"),
                        "label": "",
                    }])
                }
            })
            .collect();
        out.push(json!({
            "type": "metric",
            "x": x,
            "y": y,
            "width": w.width,
            "height": 6,
            "properties": {
                "title": w.title,
                "view": "timeSeries",
                "stacked": false,
                "region": region,
                "period": period,
                "metrics": metrics,
            },
        }));
        x += w.width;
    }
    json!({"widgets": out}).to_string()
}

/// The metric names a dashboard body refers to (in metric lines and in SEARCH expressions).
pub fn dashboard_metric_names(body: &str) -> Vec<String> {
    let mut names = Vec::new();
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    for widget in v["widgets"].as_array().into_iter().flatten() {
        for line in widget["properties"]["metrics"].as_array().into_iter().flatten() {
            for item in line.as_array().into_iter().flatten() {
                if let Some(expr) = item.get("expression").and_then(Value::as_str) {
                    for part in expr.split("MetricName=\"").skip(1) {
                        if let Some(end) = part.find('"') {
                            names.push(part[..end].to_owned());
                        }
                    }
                }
            }
            if let Some(name) = line.get(1).and_then(Value::as_str) {
                names.push(name.to_owned());
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

/// The namespace and period a body of [`dashboard_body`] was made with (to import a dashboard).
pub fn dashboard_settings(body: &str) -> Option<(String, u32)> {
    let v: Value = serde_json::from_str(body).ok()?;
    let first = v["widgets"].as_array()?.first()?;
    let period = u32::try_from(first["properties"]["period"].as_u64()?).ok()?;
    let line = first["properties"]["metrics"].as_array()?.first()?;
    let namespace = line.get(0)?.as_str()?.to_owned();
    Some((namespace, period))
}

/// The Grafana dashboard (JSON) over Klaxon's Prometheus metrics, the same graphs as the CloudWatch one;
/// `${DS_PROMETHEUS}` is the data source asked for on import.
pub fn grafana_dashboard() -> String {
    let rate = |m: &str| format!("sum(increase({m}_total[$__rate_interval]))");
    let by = |m: &str, label: &str| format!("sum by ({label}) (increase({m}_total[$__rate_interval]))");
    let quantile = |m: &str, q: &str, label: Option<&str>| match label {
        Some(l) => format!("histogram_quantile({q}, sum by (le, {l}) (rate({m}_bucket[$__rate_interval])))"),
        None => format!("histogram_quantile({q}, sum by (le) (rate({m}_bucket[$__rate_interval])))"),
    };
    let panels: Vec<(&str, Vec<(String, &str)>)> = vec![
        (
            "Alerts and notifications",
            vec![
                (rate("klaxon_alerts_created"), "Alerts"),
                (rate("klaxon_notifications_created"), "Notifications"),
            ],
        ),
        (
            "Escalations by step",
            vec![(by("klaxon_escalations", "step_kind"), "{{step_kind}}")],
        ),
        (
            "Acknowledged, closed, auto-closed, passed",
            vec![
                (rate("klaxon_acknowledged"), "Acknowledged"),
                (rate("klaxon_closed"), "Closed"),
                (rate("klaxon_auto_closed"), "Auto-closed"),
                (rate("klaxon_passed"), "Passed"),
            ],
        ),
        (
            "Time to acknowledge (seconds)",
            vec![
                (quantile("klaxon_time_to_acknowledge_seconds", "0.5", None), "p50"),
                (quantile("klaxon_time_to_acknowledge_seconds", "0.9", None), "p90"),
            ],
        ),
        (
            "Slack API errors",
            vec![(
                by("klaxon_slack_api_errors", "method, error"),
                "{{method}} {{error}}",
            )],
        ),
        (
            "Slack API latency p90 (seconds)",
            vec![(
                quantile("klaxon_slack_api_latency_seconds", "0.9", Some("method")),
                "{{method}}",
            )],
        ),
        (
            "Rejected ingest by reason",
            vec![(by("klaxon_ingest_rejected", "reason"), "{{reason}}")],
        ),
        (
            "Dead jobs and queue lag",
            vec![
                ("max(klaxon_dead_jobs)".to_owned(), "Dead jobs"),
                ("max(klaxon_queue_lag_seconds)".to_owned(), "Queue lag (s)"),
            ],
        ),
        (
            "Workspaces installed",
            vec![
                ("max(klaxon_slack_teams_installed)".to_owned(), "Active"),
                ("max(klaxon_slack_teams_inactive)".to_owned(), "Inactive"),
            ],
        ),
    ];
    let (mut x, mut y) = (0, 0);
    let panels: Vec<Value> = panels
        .into_iter()
        .enumerate()
        .map(|(i, (title, targets))| {
            if x + 12 > 24 {
                x = 0;
                y += 8;
            }
            let p = json!({
                "id": i + 1,
                "type": "timeseries",
                "title": title,
                "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
                "gridPos": {"x": x, "y": y, "w": 12, "h": 8},
                "targets": targets.iter().enumerate().map(|(j, (expr, legend))| json!({
                    "refId": char::from(b'A' + u8::try_from(j).unwrap_or(0)).to_string(),
                    "expr": expr,
                    "legendFormat": legend,
                })).collect::<Vec<_>>(),
            });
            x += 12;
            p
        })
        .collect();
    let dashboard = json!({
        "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource", "pluginId": "prometheus"}],
        "title": "Klaxon",
        "uid": "klaxon",
        "schemaVersion": 39,
        "time": {"from": "now-24h", "to": "now"},
        "refresh": "1m",
        "panels": panels,
    });
    serde_json::to_string_pretty(&dashboard).unwrap_or_default() + "\n"
}

/// The Prometheus series names a PromQL text refers to (`klaxon_…`), suffixes (`_total`, `_bucket`, `_sum`,
/// `_count`) removed.
pub fn promql_metric_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("klaxon_") {
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let mut name = &tail[..end];
        for suffix in ["_total", "_bucket", "_sum", "_count"] {
            if let Some(n) = name.strip_suffix(suffix) {
                name = n;
            }
        }
        names.push(name.to_owned());
        rest = &tail[end..];
    }
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_dashboards_name_only_published_metrics() {
        let mut names: Vec<&str> = METRICS.iter().map(|m| m.name).collect();
        let mut proms: Vec<&str> = METRICS.iter().map(|m| m.prometheus).collect();
        names.sort_unstable();
        proms.sort_unstable();
        let n = names.len();
        names.dedup();
        proms.dedup();
        assert_eq!((names.len(), proms.len()), (n, n));
        let body = dashboard_body("Klaxon", 300, "eu-west-1");
        let used = dashboard_metric_names(&body);
        assert!(used.len() >= 15, "{used:?}");
        for name in &used {
            assert!(
                metric(name).is_some(),
                "the dashboard names {name}, which Klaxon does not publish"
            );
        }
        assert_eq!(dashboard_settings(&body), Some(("Klaxon".to_owned(), 300)));
        for name in promql_metric_names(&grafana_dashboard()) {
            assert!(
                METRICS.iter().any(|m| m.prometheus == name),
                "the Grafana dashboard names {name}, which Klaxon does not expose"
            );
        }
        assert_eq!(dimension("step_kind"), "StepKind");
        assert!(namespace_problem("Klaxon").is_none() && namespace_problem("acme/klaxon-prod").is_none());
        for bad in ["", "AWS/EC2", "with space", "a,b"] {
            assert!(namespace_problem(bad).is_some(), "{bad:?}");
        }
    }
}

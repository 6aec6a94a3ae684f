//! The process's metrics: one layer, fed by the domain, read by two sinks.
//!
//! Every metric is defined once in `klaxon_api::metrics::METRICS` (name, kind, unit, labels, meaning). Here
//! they are recorded on `prometheus-client` metrics (chosen over `metrics` + its exporter because its typed
//! families render the exposition with `# HELP` lines from a registry we own, with no global recorder: each
//! process, and each test, has its own) for `GET /metrics`, and, while a CloudWatch publisher runs, also
//! accumulated per interval for it ([`cloudwatch`]): counters as the sum of the interval, histograms as
//! values and counts (so CloudWatch can compute percentiles). Recording is a few atomic operations and, with
//! the publisher on, a short lock: it never waits for the network and never fails.
//!
//! Gauges are read from the database by one replica at a time ([`gauges`]), so a sum over replicas is not
//! multiplied; the other replicas do not export them.

pub mod cloudwatch;
pub mod gauges;

use std::{
    collections::HashMap,
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicBool, AtomicU64},
    },
    time::Duration,
};

use klaxon_api::metrics::{Buckets, Kind, METRICS, MetricDef};
use prometheus_client::{
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

type Labels = Vec<(String, String)>;
/// A metric (its index in `METRICS`) and its label values.
type SeriesKey = (usize, Vec<String>);
type HistogramFamily = Family<Labels, Histogram, fn() -> Histogram>;

/// The Prometheus family of one metric.
enum Series {
    Counter(Family<Labels, Counter>),
    Histogram(HistogramFamily),
    Gauge(Family<Labels, Gauge<f64, AtomicU64>>),
}

fn latency_histogram() -> Histogram {
    // 1 ms to about 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

fn reaction_histogram() -> Histogram {
    // 5 s to about 1.5 days.
    Histogram::new(exponential_buckets(5.0, 2.0, 15))
}

/// What accumulates for CloudWatch between two publications.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    /// Counter sums, by metric and label values.
    pub(crate) sums: HashMap<SeriesKey, f64>,
    /// Histogram observations, by metric and label values: value (rounded to two significant digits) →
    /// (value, count).
    pub(crate) values: HashMap<SeriesKey, HashMap<u64, (f64, f64)>>,
}

/// The metrics of one process.
pub struct Metrics {
    registry: Registry,
    series: Vec<Series>,
    /// Accumulate for CloudWatch (only while a publisher runs, so nothing grows without one).
    publishing: AtomicBool,
    pending: Mutex<Pending>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every metric of the catalogue, registered, at zero.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let series = METRICS
            .iter()
            .map(|def| {
                let s = match def.kind {
                    Kind::Counter => Series::Counter(Family::default()),
                    Kind::Histogram => {
                        let make: fn() -> Histogram = match def.buckets {
                            Buckets::Reaction => reaction_histogram,
                            Buckets::Latency | Buckets::None => latency_histogram,
                        };
                        Series::Histogram(Family::new_with_constructor(make))
                    }
                    Kind::Gauge => Series::Gauge(Family::default()),
                };
                // The encoder ends the help with a full stop of its own.
                let help = def.help.trim_end_matches('.');
                match &s {
                    Series::Counter(f) => registry.register(def.prometheus, help, f.clone()),
                    Series::Histogram(f) => registry.register(def.prometheus, help, f.clone()),
                    Series::Gauge(f) => registry.register(def.prometheus, help, f.clone()),
                }
                // Counters without labels are shown at 0 from the start, not only after their first event.
                if let (Series::Counter(f), true) = (&s, def.labels.is_empty()) {
                    let _ = f.get_or_create(&Vec::new());
                }
                s
            })
            .collect();
        let metrics = Self {
            registry,
            series,
            publishing: AtomicBool::new(false),
            pending: Mutex::default(),
        };
        // Labels whose values are known in advance start at 0, so a rate over them needs no first event.
        for kind in klaxon_api::Notify::ALL {
            metrics.seed("Escalations", &[kind.as_str()]);
        }
        for reason in crate::ingest::Reason::ALL {
            metrics.seed("IngestRejected", &[reason.as_str()]);
        }
        metrics.seed("IngestRejected", &["unknown_endpoint"]);
        for action in ["ack", "close", "pass", "snooze"] {
            metrics.seed("ButtonPresses", &[action]);
        }
        metrics
    }

    /// Creates counter `name` with `labels` at 0.
    fn seed(&self, name: &str, labels: &[&str]) {
        if let Some(i) = Self::index(name)
            && let Series::Counter(f) = &self.series[i]
        {
            let _ = f.get_or_create(&Self::labels(&METRICS[i], labels));
        }
    }

    /// The exposition for `GET /metrics` (OpenMetrics text, which Prometheus reads). Every metric of the
    /// catalogue is described, also one with no series yet (a Slack error never seen, the gauges on a
    /// replica that does not compute them): a family may have no samples.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "Could not render the metrics.");
        }
        let mut missing = String::new();
        for def in METRICS {
            if !out.contains(&format!("# HELP {} ", def.prometheus)) {
                let kind = match def.kind {
                    Kind::Counter => "counter",
                    Kind::Histogram => "histogram",
                    Kind::Gauge => "gauge",
                };
                missing.push_str(&format!(
                    "# HELP {} {}\n# TYPE {} {kind}\n",
                    def.prometheus, def.help, def.prometheus
                ));
            }
        }
        match out.rfind("# EOF") {
            Some(at) => out.insert_str(at, &missing),
            None => out.push_str(&missing),
        }
        out
    }

    fn index(name: &str) -> Option<usize> {
        METRICS.iter().position(|m| m.name == name)
    }

    fn labels(def: &MetricDef, values: &[&str]) -> Labels {
        def.labels
            .iter()
            .zip(values)
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// Adds `by` to counter `name` (with `labels`' values, in the catalogue's order).
    pub fn count(&self, name: &str, labels: &[&str], by: u64) {
        let Some(i) = Self::index(name) else { return };
        let Series::Counter(f) = &self.series[i] else {
            return;
        };
        f.get_or_create(&Self::labels(&METRICS[i], labels)).inc_by(by);
        if self.publishing.load(std::sync::atomic::Ordering::Relaxed) {
            let key = (i, labels.iter().map(|s| (*s).to_owned()).collect());
            #[allow(clippy::cast_precision_loss)] // Counts per interval are far below 2^52.
            let by = by as f64;
            *self.lock().sums.entry(key).or_default() += by;
        }
    }

    /// Observes `value` on histogram `name`.
    pub fn observe(&self, name: &str, labels: &[&str], value: f64) {
        let Some(i) = Self::index(name) else { return };
        let Series::Histogram(f) = &self.series[i] else {
            return;
        };
        let value = value.max(0.0);
        f.get_or_create(&Self::labels(&METRICS[i], labels)).observe(value);
        if self.publishing.load(std::sync::atomic::Ordering::Relaxed) {
            let rounded = round2(value);
            let key = (i, labels.iter().map(|s| (*s).to_owned()).collect());
            let mut pending = self.lock();
            let slot = pending
                .values
                .entry(key)
                .or_default()
                .entry(rounded.to_bits())
                .or_insert((rounded, 0.0));
            slot.1 += 1.0;
        }
    }

    /// Sets gauge `name` (or removes it, with `None`: this replica does not compute the gauges).
    pub fn set_gauge(&self, name: &str, value: Option<f64>) {
        let Some(i) = Self::index(name) else { return };
        let Series::Gauge(f) = &self.series[i] else { return };
        match value {
            Some(v) => {
                f.get_or_create(&Vec::new()).set(v);
            }
            None => f.clear(),
        }
    }

    /// The gauges this replica exports now (`None` when it does not compute them).
    pub fn gauges(&self) -> Vec<(&'static MetricDef, f64)> {
        METRICS
            .iter()
            .zip(&self.series)
            .filter_map(|(def, s)| match s {
                Series::Gauge(f) => f.get(&Vec::new()).map(|g| (def, g.get())),
                _ => None,
            })
            .collect()
    }

    /// The value of counter `name` with `labels` (tests, and the ingest refusal counts).
    pub fn counter_value(&self, name: &str, labels: &[&str]) -> u64 {
        let Some(i) = Self::index(name) else { return 0 };
        let Series::Counter(f) = &self.series[i] else {
            return 0;
        };
        f.get(&Self::labels(&METRICS[i], labels)).map_or(0, |c| c.get())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts accumulating for CloudWatch.
    pub(crate) fn start_publishing(&self) {
        self.publishing.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// What accumulated since the last call.
    pub(crate) fn take_pending(&self) -> Pending {
        std::mem::take(&mut *self.lock())
    }

    // --- What the domain records -------------------------------------------------------------------------

    /// Alerts and notifications created by ingest.
    pub fn created(&self, alerts: u64, notifications: u64) {
        if alerts > 0 {
            self.count("AlertsCreated", &[], alerts);
        }
        if notifications > 0 {
            self.count("NotificationsCreated", &[], notifications);
        }
    }

    /// Events stored by ingest.
    pub fn events_stored(&self, n: u64) {
        self.count("EventsStored", &[], n);
    }

    /// An SNS message ignored as a retry.
    pub fn sns_duplicate(&self) {
        self.count("SnsDuplicates", &[], 1);
    }

    /// An ingest request refused for `reason`.
    pub fn ingest_rejected(&self, reason: &str) {
        self.count("IngestRejected", &[reason], 1);
    }

    /// An ingest request answered after its events were stored.
    pub fn ingest_answered(&self, took: Duration) {
        self.observe("IngestLatency", &[], took.as_secs_f64());
    }

    /// An escalation step of `step_kind` ran.
    pub fn escalation(&self, step_kind: &str) {
        self.count("Escalations", &[step_kind], 1);
    }

    /// An alert acknowledged `since_first_ms` after its first event.
    pub fn acknowledged(&self, since_first_ms: i64) {
        self.count("Acknowledged", &[], 1);
        self.observe("TimeToAcknowledge", &[], seconds(since_first_ms));
    }

    /// An alert closed (by a recovery when `auto`) `since_first_ms` after its first event.
    pub fn closed(&self, auto: bool, since_first_ms: i64) {
        self.count(if auto { "AutoClosed" } else { "Closed" }, &[], 1);
        self.observe("TimeToClose", &[], seconds(since_first_ms));
    }

    /// An alert passed by a person.
    pub fn passed(&self) {
        self.count("Passed", &[], 1);
    }

    /// A Slack Web API call of `method` that took `took` (retries included), retried `retries` times, and
    /// failed with `error` (Slack's code, or `timeout`, `http_5xx`, `rate_limited`) or succeeded.
    pub fn slack_call(&self, method: &str, took: Duration, retries: u32, error: Option<&str>) {
        self.observe("SlackApiLatency", &[method], took.as_secs_f64());
        if retries > 0 {
            self.count("SlackRetries", &[method], u64::from(retries));
        }
        if let Some(error) = error {
            self.count("SlackApiErrors", &[method, error], 1);
        }
    }

    /// A button press of `action` recorded and answered after `took`.
    pub fn button_press(&self, action: &str, took: Duration) {
        self.count("ButtonPresses", &[action], 1);
        self.observe("ButtonAnswerLatency", &[], took.as_secs_f64());
    }

    /// CloudWatch data points dropped.
    pub fn dropped(&self, n: u64) {
        self.count("MetricsDropped", &[], n);
    }
}

#[allow(clippy::cast_precision_loss)] // Milliseconds of human reaction times are far below 2^52.
fn seconds(ms: i64) -> f64 {
    ms.max(0) as f64 / 1000.0
}

/// `v` rounded to two significant digits, so a histogram sends at most a few hundred distinct values per
/// interval (CloudWatch takes 150 per data point) with at most 5% error.
fn round2(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 0.0;
    }
    let magnitude = v.log10().floor() - 1.0;
    let scale = 10f64.powf(magnitude);
    (v / scale).round() * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_show_on_the_exposition_and_accumulate_for_cloudwatch() {
        let m = Metrics::new();
        m.start_publishing();
        m.ingest_rejected("bad_signature");
        m.ingest_rejected("bad_signature");
        m.acknowledged(90_000);
        m.slack_call(
            "chat.postMessage",
            Duration::from_millis(12),
            1,
            Some("channel_not_found"),
        );
        m.set_gauge("DeadJobs", Some(3.0));
        let text = m.render();
        for line in [
            "klaxon_ingest_rejected_total{reason=\"bad_signature\"} 2",
            "klaxon_acknowledged_total 1",
            "klaxon_alerts_created_total 0",
            "klaxon_slack_api_errors_total{method=\"chat.postMessage\",error=\"channel_not_found\"} 1",
            "klaxon_dead_jobs 3.0",
            "# HELP klaxon_time_to_acknowledge_seconds Time from an alert's first event",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
        assert_eq!(m.counter_value("IngestRejected", &["bad_signature"]), 2);
        let p = m.take_pending();
        assert_eq!(p.sums.len(), 4, "{:?}", p.sums);
        assert_eq!(p.values.len(), 2);
        assert!(m.take_pending().sums.is_empty(), "taken once");
        m.set_gauge("DeadJobs", None);
        assert!(!m.render().contains("klaxon_dead_jobs 3"));
        assert!((round2(1234.0) - 1200.0).abs() < 1e-9 && (round2(0.01234) - 0.012).abs() < 1e-12);
    }
}

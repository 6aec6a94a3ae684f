//! The CloudWatch publisher: every `KLAXON_METRICS_INTERVAL`, what the process recorded in the interval goes
//! to CloudWatch with `PutMetricData` in the namespace `KLAXON_CLOUDWATCH_NAMESPACE`: counters as the sum of
//! the interval, histograms as values and counts (CloudWatch computes percentiles from them), and the
//! database gauges when this replica computes them. Labels become dimensions (`reason` → `Reason`).
//!
//! It runs beside the service and never on the path of an alert or a button: recording only touches memory.
//! While CloudWatch cannot be reached, data points wait in a backlog bounded in memory ([`MAX_BACKLOG`]; the
//! oldest are dropped first and counted as `MetricsDropped`) and are sent, oldest first, once it answers
//! again, after a back-off of 2, 4, then 8 intervals (at most five minutes).

use std::{
    collections::VecDeque,
    sync::Arc,
    time::{Duration, Instant},
};

use aws_sdk_cloudwatch::{
    Client,
    primitives::DateTime,
    types::{Dimension, MetricDatum, StandardUnit},
};
use klaxon_api::metrics::{Kind, METRICS, MetricDef, Unit, dimension};
use tokio_util::sync::CancellationToken;

use super::Metrics;
use crate::config::ConfigError;

/// Data points kept while CloudWatch cannot be reached: at the default interval about 10 hours of a busy
/// process, a few MB.
pub const MAX_BACKLOG: usize = 50_000;
/// Data points per `PutMetricData` (the API takes up to 1,000 and 1 MB per request).
const PER_REQUEST: usize = 500;
/// Values per data point (the API's limit).
const MAX_VALUES: usize = 150;
/// Longest wait between two attempts while CloudWatch fails.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Settings of the metrics.
#[derive(Debug, Clone, clap::Args)]
pub struct MetricsArgs {
    /// Publish metrics to CloudWatch (`PutMetricData`) in this namespace, e.g. `Klaxon`. Off when unset.
    /// Credentials and region come from the AWS default chain (`AWS_REGION`, `AWS_ENDPOINT_URL` too).
    #[arg(long, env = "KLAXON_CLOUDWATCH_NAMESPACE")]
    pub cloudwatch_namespace: Option<String>,
    /// How often metrics go to CloudWatch and the database gauges are read again (`60s`, `1m`, `10s`, or
    /// seconds). Below 60 s CloudWatch stores them at high resolution, which it bills higher.
    #[arg(long, env = "KLAXON_METRICS_INTERVAL", default_value = "60s", value_parser = parse_interval)]
    pub metrics_interval: Duration,
}

/// `60s`, `1m`, `500ms`, or a number of seconds.
fn parse_interval(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration such as 60s or 1m"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        _ => return Err(format!("{s:?}: the unit must be ms, s or m")),
    };
    if d < Duration::from_millis(100) || d > Duration::from_secs(3600) {
        return Err("must be 100ms to 1h".into());
    }
    Ok(d)
}

impl MetricsArgs {
    /// Checks the namespace CloudWatch will take.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self
            .cloudwatch_namespace
            .as_deref()
            .and_then(klaxon_api::metrics::namespace_problem)
        {
            Some(problem) => Err(ConfigError {
                setting: "--cloudwatch-namespace / KLAXON_CLOUDWATCH_NAMESPACE",
                message: problem,
            }),
            None => Ok(()),
        }
    }

    /// How often the database gauges are read: the interval, but at least every 15 s for `/metrics`.
    pub fn gauge_refresh(&self) -> Duration {
        self.metrics_interval.min(Duration::from_secs(15))
    }
}

/// Publishes a process's metrics to CloudWatch.
#[derive(Debug)]
pub struct Publisher {
    client: Client,
    namespace: String,
    interval: Duration,
    metrics: Arc<Metrics>,
    backlog: VecDeque<MetricDatum>,
    failures: u32,
    next_try: Instant,
}

impl Publisher {
    /// A publisher of `metrics` to `namespace` every `interval`, with the AWS default configuration.
    pub async fn new(namespace: &str, interval: Duration, metrics: Arc<Metrics>) -> Self {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let client = Client::from_conf(
            aws_sdk_cloudwatch::config::Builder::from(&config)
                .timeout_config(
                    aws_config::timeout::TimeoutConfig::builder()
                        .operation_timeout(Duration::from_secs(15))
                        .build(),
                )
                .build(),
        );
        metrics.start_publishing();
        Self {
            client,
            namespace: namespace.to_owned(),
            interval,
            metrics,
            backlog: VecDeque::new(),
            failures: 0,
            next_try: Instant::now(),
        }
    }

    /// Publishes every interval until `stop`; then publishes what is left (for at most five seconds).
    pub async fn run(mut self, stop: CancellationToken) {
        tracing::info!(namespace = %self.namespace, interval_ms = self.interval.as_millis() as u64,
            "Publishing metrics to CloudWatch.");
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(self.interval) => {}
            }
            self.collect();
            if Instant::now() >= self.next_try {
                self.flush().await;
            }
        }
        self.collect();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.flush()).await;
    }

    /// Moves what was recorded since the last call into the backlog, as data points stamped now.
    fn collect(&mut self) {
        let now = DateTime::from_millis(crate::store::now_ms());
        let resolution = if self.interval < Duration::from_secs(60) {
            1
        } else {
            60
        };
        let pending = self.metrics.take_pending();
        let mut points = Vec::new();
        // Counters without labels are sent every interval, zero or not, so graphs have no gaps.
        for (i, def) in METRICS.iter().enumerate() {
            if def.kind == Kind::Counter
                && def.labels.is_empty()
                && !pending.sums.contains_key(&(i, Vec::new()))
            {
                points.push(datum(def, &[], now, resolution).value(0.0).build());
            }
        }
        for ((i, labels), sum) in pending.sums {
            points.push(datum(&METRICS[i], &labels, now, resolution).value(sum).build());
        }
        for ((i, labels), values) in pending.values {
            let values: Vec<(f64, f64)> = values.into_values().collect();
            for chunk in values.chunks(MAX_VALUES) {
                let (v, c): (Vec<f64>, Vec<f64>) = chunk.iter().copied().unzip();
                points.push(
                    datum(&METRICS[i], &labels, now, resolution)
                        .set_values(Some(v))
                        .set_counts(Some(c))
                        .build(),
                );
            }
        }
        for (def, value) in self.metrics.gauges() {
            points.push(datum(def, &[], now, resolution).value(value).build());
        }
        self.backlog.extend(points);
        let over = self.backlog.len().saturating_sub(MAX_BACKLOG);
        if over > 0 {
            self.backlog.drain(..over);
            self.metrics.dropped(over as u64);
            tracing::warn!(
                dropped = over,
                "CloudWatch has not taken metrics for long: the oldest were dropped."
            );
        }
    }

    /// Sends the backlog, oldest first, until it is empty or CloudWatch fails (then backs off).
    async fn flush(&mut self) {
        while !self.backlog.is_empty() {
            let n = self.backlog.len().min(PER_REQUEST);
            let batch: Vec<MetricDatum> = self.backlog.iter().take(n).cloned().collect();
            let sent = self
                .client
                .put_metric_data()
                .namespace(&self.namespace)
                .set_metric_data(Some(batch))
                .send()
                .await;
            match sent {
                Ok(_) => {
                    self.backlog.drain(..n);
                    if self.failures > 0 {
                        tracing::info!(namespace = %self.namespace, "CloudWatch takes metrics again.");
                    }
                    self.failures = 0;
                }
                Err(e) => {
                    self.failures += 1;
                    // 2, 4, then 8 intervals between attempts (at most five minutes).
                    let wait = self
                        .interval
                        .saturating_mul(1 << self.failures.min(3))
                        .min(MAX_BACKOFF);
                    self.next_try = Instant::now() + wait;
                    let message = aws_sdk_cloudwatch::error::DisplayErrorContext(&e).to_string();
                    if self.failures == 1 {
                        tracing::warn!(error = %message, backlog = self.backlog.len(),
                            "Could not publish metrics to CloudWatch; they wait and are sent when it answers.");
                    } else {
                        tracing::debug!(error = %message, backlog = self.backlog.len(), wait_ms = wait.as_millis() as u64,
                            "CloudWatch still refuses metrics.");
                    }
                    return;
                }
            }
        }
    }
}

/// A data point of `def` with `labels`' values as dimensions.
fn datum(
    def: &MetricDef,
    labels: &[String],
    at: DateTime,
    resolution: i32,
) -> aws_sdk_cloudwatch::types::builders::MetricDatumBuilder {
    let mut b = MetricDatum::builder()
        .metric_name(def.name)
        .timestamp(at)
        .storage_resolution(resolution)
        .unit(match def.unit {
            Unit::Count => StandardUnit::Count,
            Unit::Seconds => StandardUnit::Seconds,
        });
    for (name, value) in def.labels.iter().zip(labels) {
        b = b.dimensions(Dimension::builder().name(dimension(name)).value(value).build());
    }
    b
}

/// `klaxon dashboard put`: writes the dashboard of the metrics in `namespace` as `name`, graphs of `period`
/// seconds, in `region` (else the AWS default chain's); returns its ARN.
pub async fn put_dashboard(
    name: &str,
    namespace: &str,
    period: u32,
    region: Option<&str>,
) -> anyhow::Result<String> {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(r) = region {
        loader = loader.region(aws_config::Region::new(r.to_owned()));
    }
    let config = loader.load().await;
    let region = config
        .region()
        .map(ToString::to_string)
        .ok_or_else(|| anyhow::anyhow!("no AWS region: give --region or set AWS_REGION"))?;
    let client = Client::new(&config);
    let body = klaxon_api::metrics::dashboard_body(namespace, period, &region);
    let out = client
        .put_dashboard()
        .dashboard_name(name)
        .dashboard_body(body)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "PutDashboard {name:?}: {}",
                aws_sdk_cloudwatch::error::DisplayErrorContext(&e)
            )
        })?;
    let problems: Vec<String> = out
        .dashboard_validation_messages()
        .iter()
        .map(|m| format!("{}: {}", m.data_path().unwrap_or("-"), m.message().unwrap_or("-")))
        .collect();
    anyhow::ensure!(
        problems.is_empty(),
        "CloudWatch refused the dashboard: {}",
        problems.join("; ")
    );
    let got = client
        .get_dashboard()
        .dashboard_name(name)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "GetDashboard {name:?}: {}",
                aws_sdk_cloudwatch::error::DisplayErrorContext(&e)
            )
        })?;
    Ok(got.dashboard_arn().unwrap_or(name).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_read_as_people_write_them() {
        assert_eq!(parse_interval("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_interval("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_interval("15"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_interval("500ms"), Ok(Duration::from_millis(500)));
        assert!(
            parse_interval("1h").is_err() && parse_interval("0s").is_err() && parse_interval("x").is_err()
        );
    }
}

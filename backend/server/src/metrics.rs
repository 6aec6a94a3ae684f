//! Process counters, rendered in the Prometheus text format at `GET /metrics` (the CloudWatch publisher reads
//! the same counters). Plain atomics: counting must never slow a request or fail it.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::ingest::Reason;

/// The counters of one process.
#[derive(Debug)]
pub struct Metrics {
    rejected: [AtomicU64; Reason::ALL.len()],
    unknown_endpoint: AtomicU64,
    events_stored: AtomicU64,
    sns_duplicates: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            rejected: std::array::from_fn(|_| AtomicU64::new(0)),
            unknown_endpoint: AtomicU64::new(0),
            events_stored: AtomicU64::new(0),
            sns_duplicates: AtomicU64::new(0),
        }
    }
}

impl Metrics {
    /// Counts an ingest request refused for `reason`.
    pub fn rejected(&self, reason: Reason) {
        if let Some(i) = Reason::ALL.iter().position(|r| *r == reason) {
            self.rejected[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts an ingest request to a token no endpoint has.
    pub fn unknown_endpoint(&self) {
        self.unknown_endpoint.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts stored events.
    pub fn stored(&self, events: usize) {
        self.events_stored
            .fetch_add(u64::try_from(events).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Counts an SNS message ignored as a retry of one already stored.
    pub fn sns_duplicate(&self) {
        self.sns_duplicates.fetch_add(1, Ordering::Relaxed);
    }

    /// Refusals so far for `reason`.
    pub fn rejected_count(&self, reason: Reason) -> u64 {
        Reason::ALL
            .iter()
            .position(|r| *r == reason)
            .map_or(0, |i| self.rejected[i].load(Ordering::Relaxed))
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        out.push_str("# HELP klaxon_ingest_rejected_total Ingest requests refused, by reason; nothing of them was stored.\n");
        out.push_str("# TYPE klaxon_ingest_rejected_total counter\n");
        for (i, reason) in Reason::ALL.iter().enumerate() {
            let _ = writeln!(
                out,
                "klaxon_ingest_rejected_total{{reason=\"{}\"}} {}",
                reason.as_str(),
                self.rejected[i].load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "klaxon_ingest_rejected_total{{reason=\"unknown_endpoint\"}} {}",
            self.unknown_endpoint.load(Ordering::Relaxed)
        );
        let counters = [
            (
                "klaxon_ingest_events_total",
                "Events stored by ingest.",
                &self.events_stored,
            ),
            (
                "klaxon_ingest_sns_duplicates_total",
                "SNS messages ignored as retries of stored ones.",
                &self.sns_duplicates,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Ordering::Relaxed)
            );
        }
        out
    }
}

//! The normalised event: what every ingest format (SNS + CloudWatch, EventBridge, webhooks, New Relic, Uptime
//! Robot) is turned into, and the only thing the alert logic sees of a payload.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How bad an event is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Informational (an OK, a successful backup).
    Info,
    /// Worth a look.
    Warning,
    /// Something is broken.
    Error,
    /// Something important is broken now.
    Critical,
}

impl Severity {
    /// The stored and wire name (the serde name).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
            Self::Critical => "critical",
        }
    }
}

/// Whether the event reports a problem or its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    /// The problem is happening.
    Firing,
    /// The problem is over: closes the open alert with the same group key (auto-close).
    Resolved,
}

/// Whether the event asks for a human (an alert, escalated until acknowledged) or only informs (a
/// notification: posted, never escalated, cannot be acknowledged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Needs someone: opens (or joins) an alert and starts escalation.
    Alert,
    /// Only informs.
    Notification,
}

/// One incoming event, whatever its format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// One line for people (the Slack message's title).
    pub title: String,
    /// Longer description (may be empty).
    pub text: String,
    /// How bad it is.
    pub severity: Severity,
    /// Where it comes from: `aws.cloudwatch`, `aws.health`, `aws.guardduty`, `aws.events`, `sns`, `webhook`,
    /// `newrelic`, `uptimerobot`.
    pub source: String,
    /// AWS account id (or another system's account), when known.
    pub account: Option<String>,
    /// AWS region, when known.
    pub region: Option<String>,
    /// The affected resource (ARN, URL, host), when known.
    pub resource: Option<String>,
    /// A console or dashboard link, when one can be built.
    pub link: Option<String>,
    /// Events with the same key (within an endpoint and its grouping window) are one alert.
    pub group_key: String,
    /// Problem or recovery.
    pub status: EventStatus,
    /// Alert or notification.
    pub kind: EventKind,
    /// Flattened details (`a.b.c` keys) for display, in key order.
    pub fields: BTreeMap<String, String>,
}

impl Event {
    /// The event with every NUL character replaced by U+FFFD. A caller may send anything, and PostgreSQL
    /// cannot store NUL in text: refusing the event would lose an alert over one byte, so it is kept, marked.
    #[must_use]
    pub fn without_nul(mut self) -> Self {
        fn scrub(s: &mut String) {
            if s.contains('\0') {
                *s = s.replace('\0', "\u{FFFD}");
            }
        }
        for s in [
            &mut self.title,
            &mut self.text,
            &mut self.source,
            &mut self.group_key,
        ] {
            scrub(s);
        }
        for s in [
            &mut self.account,
            &mut self.region,
            &mut self.resource,
            &mut self.link,
        ]
        .into_iter()
        .flatten()
        {
            scrub(s);
        }
        if self
            .fields
            .iter()
            .any(|(k, v)| k.contains('\0') || v.contains('\0'))
        {
            self.fields = std::mem::take(&mut self.fields)
                .into_iter()
                .map(|(mut k, mut v)| {
                    scrub(&mut k);
                    scrub(&mut v);
                    (k, v)
                })
                .collect();
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_replaced_everywhere() {
        let e = Event {
            title: "a\0b".into(),
            text: String::new(),
            severity: Severity::Error,
            source: "webhook".into(),
            account: Some("\0".into()),
            region: None,
            resource: None,
            link: None,
            group_key: "k\0".into(),
            status: EventStatus::Firing,
            kind: EventKind::Alert,
            fields: [("x\0".to_owned(), "\0y".to_owned())].into(),
        }
        .without_nul();
        let json = serde_json::to_string(&e).unwrap();
        assert!(!json.contains("\\u0000"), "{json}");
        assert_eq!(e.title, "a\u{FFFD}b");
        assert_eq!(e.fields.get("x\u{FFFD}").map(String::as_str), Some("\u{FFFD}y"));
    }

    #[test]
    fn severity_names_are_the_serde_names() {
        for s in [
            Severity::Info,
            Severity::Warning,
            Severity::Error,
            Severity::Critical,
        ] {
            assert_eq!(serde_json::to_value(s).ok(), Some(serde_json::json!(s.as_str())));
        }
    }
}

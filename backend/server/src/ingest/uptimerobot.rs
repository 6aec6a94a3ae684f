//! Uptime Robot webhooks: a monitor went down (`alertType` 1) or came back up (2). Uptime Robot fills a
//! user-written template, so the fields arrive as JSON, form fields or query parameters, spelled either as its
//! variables (`monitorFriendlyName`, `alertType`, ...) or in snake_case (`monitor_friendly_name`, ...).
//! Up resolves the alert of the same monitor.

use std::collections::BTreeMap;

use super::flatten::{first, one_line};
use crate::event::{Event, EventKind, EventStatus, Severity};

const NAME: &[&str] = &["monitor_friendly_name", "monitorFriendlyName"];
const ALERT_TYPE: &[&str] = &["alert_type", "alertType"];
const ALERT_TYPE_NAME: &[&str] = &["alert_type_friendly_name", "alertTypeFriendlyName"];
const URL: &[&str] = &["monitor_url", "monitorURL", "monitorUrl"];
const ID: &[&str] = &["monitor_id", "monitorID", "monitorId"];
const DETAILS: &[&str] = &["alert_details", "alertDetails"];
const DURATION: &[&str] = &["alert_friendly_duration", "alertFriendlyDuration"];

/// The event, or `None` when `fields` are not an Uptime Robot alert (no monitor name and alert type).
pub fn from_fields(fields: &BTreeMap<String, String>) -> Option<Event> {
    let name = first(fields, NAME)?;
    let alert_type = first(fields, ALERT_TYPE)?;
    let type_name = first(fields, ALERT_TYPE_NAME)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let up = alert_type == "2" || type_name == "up";
    let (status, severity, verb) = if up {
        (EventStatus::Resolved, Severity::Info, "up")
    } else if alert_type == "1" || type_name == "down" {
        (EventStatus::Firing, Severity::Error, "down")
    } else {
        // SSL expiry and other notices: worth fixing, not an outage.
        (EventStatus::Firing, Severity::Warning, "alerting")
    };
    let details = first(fields, DETAILS);
    let title = match details {
        Some(details) => format!("{name} is {verb}: {details}"),
        None => format!("{name} is {verb}"),
    };
    // Uptime Robot leaves unknown template variables as `*name*`: not worth showing.
    let duration = first(fields, DURATION).filter(|d| !d.starts_with('*'));
    let text = match (up, duration) {
        (true, Some(duration)) => format!("Was down for {duration}."),
        _ => details.unwrap_or_default().to_owned(),
    };
    let url = first(fields, URL);
    let id = first(fields, ID);
    let link = match (id, url) {
        (Some(id), _) => Some(format!("https://dashboard.uptimerobot.com/monitors/{id}")),
        (None, Some(url)) if url.starts_with("http://") || url.starts_with("https://") => {
            Some(url.to_owned())
        }
        _ => None,
    };
    let monitor = id.or(url).unwrap_or(name);
    Some(Event {
        title: one_line(&title, 150),
        text,
        severity,
        source: "uptimerobot".to_owned(),
        account: None,
        region: None,
        resource: url.map(str::to_owned),
        link,
        group_key: format!("uptimerobot:{monitor}"),
        status,
        kind: EventKind::Alert,
        fields: fields.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::flatten::flatten;
    use crate::ingest::test_fixtures::fixture_json;

    fn event(rel: &str) -> Event {
        from_fields(&flatten(&fixture_json(rel))).unwrap()
    }

    #[test]
    fn monitor_down() {
        let e = event("payloads/uptimerobot-monitor-down.zulip.json");
        assert_eq!(e.title, "Web Server is down: Host Is Unreachable");
        assert_eq!(e.group_key, "uptimerobot:server1.example.com");
        assert_eq!(
            (e.status, e.kind, e.severity),
            (EventStatus::Firing, EventKind::Alert, Severity::Error)
        );
        assert_eq!(
            (e.resource.as_deref(), e.link.as_deref()),
            (Some("server1.example.com"), None)
        );
        assert_eq!(e.text, "Host Is Unreachable");
    }

    #[test]
    fn monitor_up_resolves() {
        let e = event("payloads/uptimerobot-monitor-up.zulip.json");
        assert_eq!(e.title, "Mail Server is up: Host Is Reachable");
        assert_eq!(e.group_key, "uptimerobot:server2.example.com");
        assert_eq!((e.status, e.severity), (EventStatus::Resolved, Severity::Info));
        assert_eq!(e.text, "Was down for 44 minutes and 37 seconds.");
    }

    #[test]
    fn default_variables_as_query_parameters_link_to_the_monitor() {
        let fields: BTreeMap<String, String> = [
            ("monitorID", "777"),
            ("monitorURL", "https://shop.example.com"),
            ("monitorFriendlyName", "Shop"),
            ("alertType", "1"),
            ("alertDetails", "HTTP 503"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let e = from_fields(&fields).unwrap();
        assert_eq!(
            (e.title.as_str(), e.group_key.as_str()),
            ("Shop is down: HTTP 503", "uptimerobot:777")
        );
        assert_eq!(
            e.link.as_deref(),
            Some("https://dashboard.uptimerobot.com/monitors/777")
        );
        assert!(from_fields(&BTreeMap::new()).is_none());
    }
}

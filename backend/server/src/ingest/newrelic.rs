//! New Relic webhooks: the Workflows default payload (an *issue*: `id`, `issueUrl`, `title`, `priority`,
//! `state` ACTIVATED / ACKNOWLEDGED / CLOSED, `impactedEntities`, policy and condition names) and the legacy
//! alert-channel payload (an *incident*: `incident_id`, `incident_url`, `current_state` open / acknowledged /
//! closed, `condition_name`, `details`). CLOSED / closed resolves.

use std::collections::BTreeMap;

use super::flatten::{first, one_line};
use super::webhook::severity_from_word;
use crate::event::{Event, EventKind, EventStatus, Severity};

/// The event, or `None` when `fields` (flattened) are not a New Relic payload.
pub fn from_fields(fields: &BTreeMap<String, String>) -> Option<Event> {
    if fields.contains_key("issueUrl") && fields.contains_key("state") {
        return Some(workflow_issue(fields));
    }
    if fields.contains_key("incident_id") && fields.contains_key("current_state") {
        return Some(legacy_incident(fields));
    }
    None
}

fn workflow_issue(fields: &BTreeMap<String, String>) -> Event {
    let state = first(fields, &["state"]).unwrap_or_default().to_ascii_uppercase();
    let status = if state == "CLOSED" {
        EventStatus::Resolved
    } else {
        EventStatus::Firing
    };
    let url = first(fields, &["issueUrl"]).unwrap_or_default();
    let id = first(fields, &["id"]).unwrap_or(url);
    let listed = |prefix: &str| joined(fields, prefix);
    let mut text = Vec::new();
    for (label, prefix) in [
        ("Policy", "alertPolicyNames"),
        ("Condition", "alertConditionNames"),
        ("Workflow", "workflowName"),
    ] {
        let value = listed(prefix);
        if !value.is_empty() {
            text.push(format!("{label}: {value}"));
        }
    }
    let impacted = listed("impactedEntities");
    Event {
        title: one_line(first(fields, &["title"]).unwrap_or("New Relic issue"), 150),
        text: text.join("\n"),
        severity: severity(first(fields, &["priority"]), status),
        source: "newrelic".to_owned(),
        account: account_of(url),
        region: None,
        resource: (!impacted.is_empty()).then_some(impacted),
        link: Some(url.to_owned()).filter(|u| u.starts_with("https://")),
        group_key: format!("newrelic:issue:{id}"),
        status,
        kind: EventKind::Alert,
        fields: fields.clone(),
    }
}

fn legacy_incident(fields: &BTreeMap<String, String>) -> Event {
    let state = first(fields, &["current_state"])
        .unwrap_or_default()
        .to_ascii_lowercase();
    let status = if state == "closed" {
        EventStatus::Resolved
    } else {
        EventStatus::Firing
    };
    let url = first(fields, &["incident_url"]).unwrap_or_default();
    let condition = first(fields, &["condition_name"]).unwrap_or("New Relic incident");
    let title = match first(fields, &["details"]) {
        Some(details) => format!("{condition}: {details}"),
        None => condition.to_owned(),
    };
    let text = [("Policy", "policy_name"), ("State", "current_state")]
        .iter()
        .filter_map(|(label, key)| first(fields, &[key]).map(|v| format!("{label}: {v}")))
        .collect::<Vec<_>>()
        .join("\n");
    Event {
        title: one_line(&title, 150),
        text,
        severity: severity(first(fields, &["severity"]), status),
        source: "newrelic".to_owned(),
        account: account_of(url),
        region: None,
        resource: first(fields, &["targets.0.name"]).map(str::to_owned),
        link: Some(url.to_owned()).filter(|u| u.starts_with("https://")),
        group_key: format!(
            "newrelic:incident:{}",
            first(fields, &["incident_id"]).unwrap_or_default()
        ),
        status,
        kind: EventKind::Alert,
        fields: fields.clone(),
    }
}

/// A resolved event is informational; otherwise the payload's priority, CRITICAL when it has none (New Relic
/// notifies on critical violations by default).
fn severity(word: Option<&str>, status: EventStatus) -> Severity {
    if status == EventStatus::Resolved {
        return Severity::Info;
    }
    word.and_then(severity_from_word).unwrap_or(Severity::Critical)
}

/// The values of a flattened list (`prefix.0`, `prefix.1`, ...) or a plain field, joined with `, `.
fn joined(fields: &BTreeMap<String, String>, prefix: &str) -> String {
    let dotted = format!("{prefix}.");
    fields
        .iter()
        .filter(|(k, _)| *k == prefix || k.strip_prefix(&dotted).is_some_and(|i| i.parse::<u32>().is_ok()))
        .map(|(_, v)| v.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The account number in `https://.../accounts/<n>/...`.
fn account_of(url: &str) -> Option<String> {
    let rest = url.split("/accounts/").nth(1)?;
    let id: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (!id.is_empty()).then_some(id)
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
    fn workflow_issue_activated() {
        let e = event("payloads/newrelic-workflow-issue-activated.zulip.json");
        assert_eq!(
            e.title,
            "zulip_app query result is > 1.0 for 1 minutes on 'Zulip Server Low Storage'"
        );
        assert_eq!(e.group_key, "newrelic:issue:c5faa7e6-7b54-402d-af79-f99601e0278c");
        assert_eq!(
            (e.status, e.kind, e.severity),
            (EventStatus::Firing, EventKind::Alert, Severity::Critical)
        );
        assert_eq!(
            e.link.as_deref(),
            Some(
                "https://radar-api.service.newrelic.com/accounts/4420147/issues/c5faa7e6-7b54-402d-af79-f99601e0278c?notifier=WEBHOOK"
            )
        );
        assert_eq!(
            (e.account.as_deref(), e.resource.as_deref()),
            (Some("4420147"), Some("zulip_app"))
        );
        assert_eq!(
            e.text,
            "Policy: Golden Signals\nCondition: Zulip Server Low Storage\nWorkflow: testWorkflow"
        );
    }

    #[test]
    fn workflow_issue_closed_resolves() {
        let e = event("payloads/newrelic-workflow-issue-closed.zulip.json");
        assert_eq!(
            e.title,
            "main_app-UBUNTU query result is > 2.0 for 1 minutes on 'High CPU'"
        );
        assert_eq!(e.group_key, "newrelic:issue:95a9344a-2590-48ce-8d83-07e28b6d22c6");
        assert_eq!((e.status, e.severity), (EventStatus::Resolved, Severity::Info));
        assert_eq!(e.account.as_deref(), Some("1"));
    }

    #[test]
    fn legacy_incident_opened_and_closed() {
        let e = event("payloads/newrelic-legacy-incident-opened.zulip.json");
        assert_eq!(e.title, "Server Down: I am a test Violation");
        assert_eq!(e.group_key, "newrelic:incident:1234");
        assert_eq!(
            (e.status, e.kind, e.severity),
            (EventStatus::Firing, EventKind::Alert, Severity::Critical)
        );
        assert_eq!(
            e.link.as_deref(),
            Some("https://alerts.newrelic.com/accounts/2941966/incidents/1234")
        );
        assert_eq!(e.account.as_deref(), Some("2941966"));
        assert_eq!(e.text, "Policy: New Relic Alert - Test Policy\nState: open");
        let mut closed = fixture_json("payloads/newrelic-legacy-incident-opened.zulip.json");
        closed["current_state"] = "closed".into();
        let closed = from_fields(&flatten(&closed)).unwrap();
        assert_eq!(
            (closed.status, closed.group_key.as_str()),
            (EventStatus::Resolved, "newrelic:incident:1234")
        );
    }
}

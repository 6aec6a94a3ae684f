//! EventBridge events (a rule whose target is an SNS topic, or a caller posting the event itself): the envelope
//! `version`, `id`, `detail-type`, `source`, `account`, `time`, `region`, `resources`, `detail`.
//!
//! Known sources get their own title, grouping and resolve signal (AWS-EVENTS.md §3): CloudWatch Alarm State
//! Change (grouped with the SNS form of the same alarm), AWS Health (resolved by `statusCode: closed`) and
//! GuardDuty findings (no resolve event: they fire, and age out). Any other event is shown generically and
//! grouped by source + detail-type + resources.

use serde_json::Value;

use super::cloudwatch;
use super::flatten::{MAX_TITLE_CHARS, flatten, one_line};
use crate::event::{Event, EventKind, EventStatus, Severity};

/// The event as an [`Event`], or `None` when `value` is not an EventBridge event.
pub fn from_event(value: &Value) -> Option<Event> {
    let envelope = Envelope {
        detail_type: value.get("detail-type")?.as_str()?,
        source: value.get("source")?.as_str()?,
        detail: value.get("detail").filter(|d| d.is_object())?,
        account: str_at(value, "/account"),
        region: str_at(value, "/region"),
        resources: value
            .get("resources")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default(),
    };
    value.get("version")?;
    let mut event = match (envelope.source, envelope.detail_type) {
        ("aws.cloudwatch", "CloudWatch Alarm State Change") => alarm(&envelope)?,
        ("aws.health", _) => health(&envelope),
        ("aws.guardduty", "GuardDuty Finding") => guardduty(&envelope),
        _ => generic(&envelope),
    };
    event.fields = flatten(value);
    Some(event)
}

/// The envelope fields every kind of event uses.
struct Envelope<'a> {
    detail_type: &'a str,
    source: &'a str,
    detail: &'a Value,
    account: Option<&'a str>,
    region: Option<&'a str>,
    resources: Vec<&'a str>,
}

impl Envelope<'_> {
    /// An event with the envelope's account, region and first resource; fields are filled by the caller.
    fn event(
        &self,
        title: String,
        group_key: String,
        status: EventStatus,
        kind: EventKind,
        severity: Severity,
    ) -> Event {
        Event {
            title,
            text: String::new(),
            severity,
            source: self.source.to_owned(),
            account: self.account.map(str::to_owned),
            region: self.region.map(str::to_owned),
            resource: self.resources.first().map(|r| (*r).to_owned()),
            link: None,
            group_key,
            status,
            kind,
            fields: Default::default(),
        }
    }
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

/// CloudWatch Alarm State Change: the same title, key and status as the alarm's SNS message.
fn alarm(env: &Envelope<'_>) -> Option<Event> {
    let name = str_at(env.detail, "/alarmName")?;
    let state = str_at(env.detail, "/state/value").unwrap_or("ALARM");
    let (status, kind, severity) = cloudwatch::state_meaning(state);
    let key = cloudwatch::group_key(
        env.account.unwrap_or_default(),
        env.region.unwrap_or_default(),
        name,
    );
    let title = one_line(&format!("{state}: {name}"), MAX_TITLE_CHARS);
    let mut event = env.event(title, key, status, kind, severity);
    let reason = str_at(env.detail, "/state/reason").unwrap_or_default();
    event.text = match str_at(env.detail, "/configuration/description") {
        Some(description) => format!("{description}\n{reason}"),
        None => reason.to_owned(),
    };
    event.link = env
        .region
        .filter(|r| cloudwatch::is_region_code(r))
        .map(|r| cloudwatch::console_link(r, name));
    Some(event)
}

/// AWS Health: `issue` pages, scheduled changes and account notifications inform; `closed` resolves.
fn health(env: &Envelope<'_>) -> Event {
    let detail = env.detail;
    let service = str_at(detail, "/service").unwrap_or("AWS");
    let code = str_at(detail, "/eventTypeCode").unwrap_or(env.detail_type);
    let category = str_at(detail, "/eventTypeCategory").unwrap_or("issue");
    let status = match str_at(detail, "/statusCode") {
        Some("closed") => EventStatus::Resolved,
        _ => EventStatus::Firing,
    };
    let (kind, severity) = match (category, status) {
        (_, EventStatus::Resolved) => (EventKind::Alert, Severity::Info),
        ("issue" | "investigation", _) => (EventKind::Alert, Severity::Error),
        _ => (EventKind::Notification, Severity::Info),
    };
    let account = str_at(detail, "/affectedAccount")
        .or(env.account)
        .unwrap_or_default();
    let event_arn = str_at(detail, "/eventArn").unwrap_or(code);
    let title = format!("AWS Health {service}: {}", humanise(code, service));
    let mut event = env.event(
        one_line(&title, MAX_TITLE_CHARS),
        format!("health:{account}:{event_arn}"),
        status,
        kind,
        severity,
    );
    event.account = (!account.is_empty()).then(|| account.to_owned());
    event.region = str_at(detail, "/eventRegion").or(env.region).map(str::to_owned);
    let descriptions = detail.get("eventDescription").and_then(Value::as_array);
    let english = descriptions.and_then(|d| {
        d.iter()
            .find(|x| x.get("language").and_then(Value::as_str) == Some("en_US"))
            .or_else(|| d.first())
    });
    event.text = english
        .and_then(|d| str_at(d, "/latestDescription"))
        .unwrap_or_default()
        .to_owned();
    if let Some(entity) = str_at(detail, "/affectedEntities/0/entityValue") {
        event.resource = Some(entity.to_owned());
    }
    let region = event
        .region
        .as_deref()
        .filter(|r| cloudwatch::is_region_code(r))
        .unwrap_or("us-east-1");
    event.link = Some(format!(
        "https://phd.aws.amazon.com/phd/home?region={region}#/dashboard/open-issues"
    ));
    event
}

/// `AWS_EC2_INSTANCE_STORE_DRIVE_PERFORMANCE_DEGRADED` of service `EC2` -> `Instance store drive performance
/// degraded`.
fn humanise(code: &str, service: &str) -> String {
    let rest = code.strip_prefix("AWS_").unwrap_or(code);
    let rest = rest
        .strip_prefix(service)
        .and_then(|r| r.strip_prefix('_'))
        .unwrap_or(rest);
    let words = rest.replace('_', " ").to_lowercase();
    let mut chars = words.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// GuardDuty: severity from the finding's score (Low < 4 <= Medium < 7 <= High < 9 <= Critical); Low only
/// informs. Findings never resolve by event; repeats of one finding update one alert.
fn guardduty(env: &Envelope<'_>) -> Event {
    let detail = env.detail;
    let score = detail.get("severity").and_then(Value::as_f64).unwrap_or(5.0);
    let (kind, severity) = match score {
        s if s >= 9.0 => (EventKind::Alert, Severity::Critical),
        s if s >= 7.0 => (EventKind::Alert, Severity::Error),
        s if s >= 4.0 => (EventKind::Alert, Severity::Warning),
        _ => (EventKind::Notification, Severity::Info),
    };
    let id = str_at(detail, "/id").unwrap_or_default();
    let account = str_at(detail, "/accountId").or(env.account).unwrap_or_default();
    let region = str_at(detail, "/region").or(env.region).unwrap_or_default();
    let title = str_at(detail, "/title")
        .or(str_at(detail, "/type"))
        .unwrap_or(env.detail_type);
    let key = format!("gd:{account}:{region}:{id}");
    let mut event = env.event(
        one_line(title, MAX_TITLE_CHARS),
        key,
        EventStatus::Firing,
        kind,
        severity,
    );
    event.account = (!account.is_empty()).then(|| account.to_owned());
    event.region = (!region.is_empty()).then(|| region.to_owned());
    event.text = str_at(detail, "/description").unwrap_or_default().to_owned();
    event.resource = str_at(detail, "/resource/instanceDetails/instanceId")
        .or(str_at(detail, "/resource/accessKeyDetails/accessKeyId"))
        .or(str_at(detail, "/resource/resourceType"))
        .map(str::to_owned)
        .or(event.resource);
    if !region.is_empty() {
        event.link = Some(format!(
            "https://console.aws.amazon.com/guardduty/home?region={region}#/findings?search=id%3D{id}"
        ));
    }
    event
}

/// Any other event: an alert titled by its detail-type, grouped by source + detail-type + resources.
fn generic(env: &Envelope<'_>) -> Event {
    let key = format!(
        "eb:{}:{}:{}",
        env.source,
        env.detail_type,
        env.resources.join(",")
    );
    let title = match env.resources.first() {
        Some(resource) => format!("{}: {resource}", env.detail_type),
        None => env.detail_type.to_owned(),
    };
    let mut event = env.event(
        one_line(&title, MAX_TITLE_CHARS),
        key,
        EventStatus::Firing,
        EventKind::Alert,
        Severity::Warning,
    );
    event.text = format!("{} event from {}", env.detail_type, env.source);
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::sns::{Envelope as SnsEnvelope, notification_events};
    use crate::ingest::test_fixtures::fixture_json;
    use serde_json::json;

    fn via_sns(rel: &str) -> Event {
        let envelope = SnsEnvelope::from_json(&fixture_json(rel), None).unwrap();
        notification_events(&envelope).remove(0)
    }

    #[test]
    fn cloudwatch_alarm_state_change_groups_with_the_sns_alarm() {
        let e = from_event(&fixture_json(
            "payloads/eventbridge-cloudwatch-alarm-state-change.ALARM.json",
        ))
        .unwrap();
        assert_eq!(e.title, "ALARM: ServerCpuTooHigh");
        assert_eq!(e.group_key, "cw:123456789012:us-east-1:ServerCpuTooHigh");
        assert_eq!(
            (e.status, e.kind, e.severity),
            (EventStatus::Firing, EventKind::Alert, Severity::Error)
        );
        assert_eq!(
            e.resource.as_deref(),
            Some("arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServerCpuTooHigh")
        );
        assert_eq!(
            e.link.as_deref(),
            Some(
                "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/ServerCpuTooHigh"
            )
        );
        assert!(
            e.text
                .starts_with("Goes into alarm when server CPU utilization is too high!\nThreshold Crossed")
        );
        let mut ok = fixture_json("payloads/eventbridge-cloudwatch-alarm-state-change.ALARM.json");
        ok["detail"]["state"]["value"] = json!("OK");
        assert_eq!(from_event(&ok).unwrap().status, EventStatus::Resolved);
    }

    #[test]
    fn aws_health_events_through_sns() {
        let issue = via_sns("payloads/eventbridge-aws-health-issue.via-sns-http.signed.cloudforet-1.json");
        assert_eq!(issue.title, "AWS Health ELASTICLOADBALANCING: Api issue");
        assert_eq!(
            issue.group_key,
            "health:123456789012:arn:aws:health:ap-southeast-2::event/AWS_ELASTICLOADBALANCING_API_ISSUE_90353408594353980"
        );
        assert_eq!(
            (issue.status, issue.kind, issue.severity),
            (EventStatus::Firing, EventKind::Alert, Severity::Error)
        );
        assert_eq!(issue.text, "A description of the event will be provided here");
        assert_eq!(
            issue.link.as_deref(),
            Some("https://phd.aws.amazon.com/phd/home?region=ap-southeast-2#/dashboard/open-issues")
        );
        assert_eq!(issue.source, "aws.health");

        let ec2 = via_sns("payloads/eventbridge-aws-health.via-sns-http.signed.cloudforet-2.json");
        assert_eq!(
            ec2.title,
            "AWS Health EC2: Instance store drive performance degraded"
        );
        assert_eq!(ec2.resource.as_deref(), Some("i-abcd1111"));
        assert_eq!(ec2.region.as_deref(), Some("us-west-2"));

        let abuse = via_sns("payloads/eventbridge-aws-health-abuse.via-sns-http.signed.cloudforet-3.json");
        assert_eq!(abuse.title, "AWS Health ABUSE: Dos report");
        assert_eq!(
            abuse.resource.as_deref(),
            Some("arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111")
        );
        assert_eq!(abuse.region.as_deref(), Some("global"));
        let dmca = via_sns("payloads/eventbridge-aws-health-abuse.via-sns-http.signed.cloudforet-4.json");
        assert_eq!(dmca.title, "AWS Health ABUSE: Copyright dmca report");
        assert_eq!(
            dmca.link.as_deref(),
            Some("https://phd.aws.amazon.com/phd/home?region=us-east-1#/dashboard/open-issues")
        );

        let scheduled = via_sns("payloads/eventbridge-aws-health.via-sns-http.BADSIG.cloudforet-5.json");
        assert_eq!(scheduled.title, "AWS Health ACM: Renewal state change");
        assert_eq!(
            (scheduled.kind, scheduled.severity),
            (EventKind::Notification, Severity::Info)
        );
    }

    #[test]
    fn health_closed_resolves() {
        let mut event = fixture_json("payloads/eventbridge-cloudwatch-alarm-state-change.ALARM.json");
        event["source"] = json!("aws.health");
        event["detail-type"] = json!("AWS Health Event");
        event["detail"] = json!({"service": "EC2", "eventTypeCode": "AWS_EC2_OPERATIONAL_ISSUE",
            "eventTypeCategory": "issue", "statusCode": "closed", "eventArn": "arn:aws:health:us-east-1::event/x"});
        let e = from_event(&event).unwrap();
        assert_eq!(
            (e.status, e.group_key.as_str()),
            (
                EventStatus::Resolved,
                "health:123456789012:arn:aws:health:us-east-1::event/x"
            )
        );
    }

    #[test]
    fn guardduty_finding_by_severity() {
        // Shape from the GuardDuty docs (no captured fixture): a High finding on an instance.
        let finding = json!({"version": "0", "id": "e1", "detail-type": "GuardDuty Finding", "source": "aws.guardduty",
            "account": "111122223333", "region": "eu-west-1", "resources": [],
            "detail": {"id": "f00", "accountId": "111122223333", "region": "eu-west-1", "severity": 8.0,
                "type": "UnauthorizedAccess:EC2/SSHBruteForce", "title": "SSH brute force against i-0abc",
                "description": "i-0abc is being probed.",
                "resource": {"resourceType": "Instance", "instanceDetails": {"instanceId": "i-0abc"}}}});
        let e = from_event(&finding).unwrap();
        assert_eq!(
            (e.title.as_str(), e.group_key.as_str()),
            ("SSH brute force against i-0abc", "gd:111122223333:eu-west-1:f00")
        );
        assert_eq!(
            (e.status, e.kind, e.severity),
            (EventStatus::Firing, EventKind::Alert, Severity::Error)
        );
        assert_eq!(e.resource.as_deref(), Some("i-0abc"));
        assert_eq!(
            e.link.as_deref(),
            Some("https://console.aws.amazon.com/guardduty/home?region=eu-west-1#/findings?search=id%3Df00")
        );
        let mut low = finding;
        low["detail"]["severity"] = json!(2.0);
        assert_eq!(from_event(&low).unwrap().kind, EventKind::Notification);
    }

    #[test]
    fn any_other_event_is_generic_and_not_an_eventbridge_event_is_none() {
        let e = from_event(
            &json!({"version": "0", "detail-type": "CodePipeline Pipeline Execution State Change",
            "source": "aws.codepipeline", "account": "111122223333", "region": "eu-west-1",
            "resources": ["arn:aws:codepipeline:eu-west-1:111122223333:web-deploy"],
            "detail": {"pipeline": "web-deploy", "state": "FAILED"}}),
        )
        .unwrap();
        assert_eq!(
            e.group_key,
            "eb:aws.codepipeline:CodePipeline Pipeline Execution State Change:arn:aws:codepipeline:eu-west-1:111122223333:web-deploy"
        );
        assert_eq!(
            e.title,
            "CodePipeline Pipeline Execution State Change: arn:aws:codepipeline:eu-west-1:111122223333:web-deploy"
        );
        assert_eq!(e.fields.get("detail.state").map(String::as_str), Some("FAILED"));
        assert!(from_event(&json!({"source": "x", "detail": {}})).is_none());
    }
}

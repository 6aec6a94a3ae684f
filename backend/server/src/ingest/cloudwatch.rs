//! CloudWatch alarm notifications: the JSON an alarm action publishes to SNS (`AlarmName`, `NewStateValue`,
//! `NewStateReason`, `AlarmArn`, `Trigger` with one metric or `Metrics` for metric math and anomaly bands).
//! Also the console link and region helpers shared with EventBridge's "CloudWatch Alarm State Change".
//!
//! Identity comes from `AlarmArn` (region code and account), never from the `Subject`, whose alarm name may be
//! cut short. ALARM fires, OK resolves, INSUFFICIENT_DATA is a warning that pages nobody.

use serde_json::Value;

use super::arn_parts;
use super::flatten::{MAX_TITLE_CHARS, flatten, one_line};
use crate::event::{Event, EventKind, EventStatus, Severity};

/// The alarm as an event, or `None` when `message` is not an alarm (no `AlarmName` + `NewStateValue`).
pub fn from_alarm(message: &Value) -> Option<Event> {
    let name = message.get("AlarmName")?.as_str()?;
    let state = message.get("NewStateValue")?.as_str()?;
    let text_of = |key: &str| {
        message
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
    };
    let arn = text_of("AlarmArn").and_then(arn_parts);
    let region = arn
        .map(|(region, _, _)| region)
        .filter(|r| is_region_code(r))
        .or_else(|| text_of("Region").and_then(region_code));
    let account = arn
        .map(|(_, account, _)| account)
        .filter(|a| is_account_id(a))
        .or_else(|| text_of("AWSAccountId").filter(|a| is_account_id(a)));
    let reason = text_of("NewStateReason").unwrap_or_default();
    let text = match text_of("AlarmDescription") {
        Some(description) => format!("{description}\n{reason}"),
        None => reason.to_owned(),
    };
    let (status, kind, severity) = state_meaning(state);
    Some(Event {
        // Names and states are the sender's text: an alarm name may be 255 characters (or anything, posted as a
        // webhook), a title is one line.
        title: one_line(&format!("{state}: {name}"), MAX_TITLE_CHARS),
        text: text.trim().to_owned(),
        severity,
        source: "aws.cloudwatch".to_owned(),
        account: account.map(str::to_owned),
        region: region.map(str::to_owned),
        resource: message.get("Trigger").and_then(trigger_resource),
        link: region.map(|r| console_link(r, name)),
        group_key: group_key(account.unwrap_or_default(), region.unwrap_or_default(), name),
        status,
        kind,
        fields: flatten(message),
    })
}

/// Status, kind and severity of an alarm state (`ALARM`, `OK`, `INSUFFICIENT_DATA`).
pub(crate) fn state_meaning(state: &str) -> (EventStatus, EventKind, Severity) {
    match state {
        "OK" => (EventStatus::Resolved, EventKind::Alert, Severity::Info),
        // Missing data is worth seeing, not worth waking someone: a notification in the same group.
        "INSUFFICIENT_DATA" => (EventStatus::Firing, EventKind::Notification, Severity::Warning),
        _ => (EventStatus::Firing, EventKind::Alert, Severity::Error),
    }
}

/// The group key of an alarm, the same for the SNS and the EventBridge form so either resolves the other.
/// The state is not in it: an OK must find the ALARM's group.
pub(crate) fn group_key(account: &str, region: &str, alarm_name: &str) -> String {
    format!("cw:{account}:{region}:{alarm_name}")
}

/// The alarm's page in the CloudWatch console (China and GovCloud have their own console hosts).
pub fn console_link(region: &str, alarm_name: &str) -> String {
    let name: String = url::form_urlencoded::byte_serialize(alarm_name.as_bytes()).collect();
    // The console reads the fragment with %20 for spaces, not the form encoding's `+`.
    let name = name.replace('+', "%20");
    let host = if region.starts_with("cn-") {
        format!("{region}.console.amazonaws.cn")
    } else if region.starts_with("us-gov-") {
        "console.amazonaws-us-gov.com".to_owned()
    } else {
        format!("{region}.console.aws.amazon.com")
    };
    format!("https://{host}/cloudwatch/home?region={region}#alarmsV2:alarm/{name}")
}

/// The first dimension (`name=value`) of the alarm's metric, or of the first metric of a metric-math alarm;
/// else `Namespace/MetricName`.
fn trigger_resource(trigger: &Value) -> Option<String> {
    let metric = match trigger.get("Metrics").and_then(Value::as_array) {
        Some(metrics) => metrics.iter().find_map(|m| m.pointer("/MetricStat/Metric"))?,
        None => trigger,
    };
    let dimension = metric
        .get("Dimensions")
        .and_then(Value::as_array)
        .and_then(|d| d.first());
    if let Some(d) = dimension {
        let (name, value) = (d.get("name")?.as_str()?, d.get("value")?.as_str()?);
        return Some(format!("{name}={value}"));
    }
    let namespace = metric.get("Namespace")?.as_str()?;
    let metric_name = metric.get("MetricName")?.as_str()?;
    Some(format!("{namespace}/{metric_name}"))
}

/// Whether `s` looks like a region code (`eu-west-1`, `us-gov-west-1`), not a placeholder like `REGION`.
pub(crate) fn is_region_code(s: &str) -> bool {
    let mut parts = s.split('-');
    parts
        .next()
        .is_some_and(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_lowercase()))
        && s.rsplit('-')
            .next()
            .is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        && s.matches('-').count() >= 2
}

/// Whether `s` is a 12-digit account id.
pub(crate) fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.chars().all(|c| c.is_ascii_digit())
}

/// The region code of a long name as alarm messages spell it (`EU (Ireland)`, `Europe (Zurich)`, `US - N.
/// Virginia`); only needed when the message has no usable `AlarmArn`.
pub fn region_code(long_name: &str) -> Option<&'static str> {
    let name = long_name.trim().replace("Europe (", "EU (").replace("São", "Sao");
    REGIONS
        .iter()
        .find(|(long, _)| *long == name)
        .map(|(_, code)| *code)
}

const REGIONS: &[(&str, &str)] = &[
    ("US East (N. Virginia)", "us-east-1"),
    ("US East (Ohio)", "us-east-2"),
    ("US West (N. California)", "us-west-1"),
    ("US West (Oregon)", "us-west-2"),
    ("Africa (Cape Town)", "af-south-1"),
    ("Asia Pacific (Hong Kong)", "ap-east-1"),
    ("Asia Pacific (Taipei)", "ap-east-2"),
    ("Asia Pacific (Tokyo)", "ap-northeast-1"),
    ("Asia Pacific (Seoul)", "ap-northeast-2"),
    ("Asia Pacific (Osaka)", "ap-northeast-3"),
    ("Asia Pacific (Osaka-Local)", "ap-northeast-3"),
    ("Asia Pacific (Mumbai)", "ap-south-1"),
    ("Asia Pacific (Hyderabad)", "ap-south-2"),
    ("Asia Pacific (Singapore)", "ap-southeast-1"),
    ("Asia Pacific (Sydney)", "ap-southeast-2"),
    ("Asia Pacific (Jakarta)", "ap-southeast-3"),
    ("Asia Pacific (Melbourne)", "ap-southeast-4"),
    ("Asia Pacific (Malaysia)", "ap-southeast-5"),
    ("Asia Pacific (Thailand)", "ap-southeast-7"),
    ("Canada (Central)", "ca-central-1"),
    ("Canada West (Calgary)", "ca-west-1"),
    ("EU (Frankfurt)", "eu-central-1"),
    ("EU (Zurich)", "eu-central-2"),
    ("EU (Ireland)", "eu-west-1"),
    ("EU (London)", "eu-west-2"),
    ("EU (Paris)", "eu-west-3"),
    ("EU (Milan)", "eu-south-1"),
    ("EU (Spain)", "eu-south-2"),
    ("EU (Stockholm)", "eu-north-1"),
    ("Israel (Tel Aviv)", "il-central-1"),
    ("Middle East (Bahrain)", "me-south-1"),
    ("Middle East (UAE)", "me-central-1"),
    ("Mexico (Central)", "mx-central-1"),
    ("South America (Sao Paulo)", "sa-east-1"),
    ("AWS GovCloud (US-West)", "us-gov-west-1"),
    ("AWS GovCloud (US)", "us-gov-west-1"),
    ("AWS GovCloud (US-East)", "us-gov-east-1"),
    ("China (Beijing)", "cn-north-1"),
    ("China (Ningxia)", "cn-northwest-1"),
    ("US - N. Virginia", "us-east-1"),
    ("EU - Ireland", "eu-west-1"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::sns::{Envelope, notification_events};
    use crate::ingest::test_fixtures::fixture_json;

    /// The alarm inside an SNS HTTP envelope, or inside Lambda's `Records[0].Sns`.
    fn alarm(rel: &str) -> Event {
        let json = fixture_json(rel);
        let envelope_json = json.pointer("/Records/0/Sns").unwrap_or(&json);
        let envelope = Envelope::from_json(envelope_json, None).unwrap();
        let mut events = notification_events(&envelope);
        assert_eq!(events.len(), 1);
        events.remove(0)
    }

    #[test]
    fn alarm_over_sns_http() {
        let e = alarm("payloads/cw-alarm-ALARM.sns-http.cloudforet-2021-06-23.json");
        assert_eq!(e.title, "ALARM: EC2-CPU");
        assert_eq!(e.group_key, "cw:257706363616:ap-northeast-2:EC2-CPU");
        assert_eq!(
            (e.status, e.kind, e.severity),
            (EventStatus::Firing, EventKind::Alert, Severity::Error)
        );
        assert_eq!(e.resource.as_deref(), Some("InstanceId=i-0f672ea50a80cda4b"));
        assert_eq!(
            e.link.as_deref(),
            Some(
                "https://ap-northeast-2.console.aws.amazon.com/cloudwatch/home?region=ap-northeast-2#alarmsV2:alarm/EC2-CPU"
            )
        );
        assert!(
            e.text
                .starts_with("Threshold Crossed: 1 out of the last 1 datapoints [17.2564528039004")
        );
        assert_eq!(e.source, "aws.cloudwatch");
        assert_eq!(
            e.fields.get("Trigger.MetricName").map(String::as_str),
            Some("CPUUtilization")
        );
    }

    #[test]
    fn ok_of_an_anomaly_band_alarm_resolves_the_same_group() {
        let e = alarm("payloads/cw-alarm-OK.sns-http.cloudforet-2021-06-27.json");
        assert_eq!(e.title, "OK: ContainerInsight-pod_cpu_utilization");
        assert_eq!(
            e.group_key,
            "cw:257706363616:ap-northeast-2:ContainerInsight-pod_cpu_utilization"
        );
        assert_eq!(
            (e.status, e.kind, e.severity),
            (EventStatus::Resolved, EventKind::Alert, Severity::Info)
        );
        assert_eq!(
            e.resource.as_deref(),
            Some("ClusterName=cloudone-dev-v1-eks-cluster")
        );
        assert_eq!(
            e.link.as_deref(),
            Some(
                "https://ap-northeast-2.console.aws.amazon.com/cloudwatch/home?region=ap-northeast-2#alarmsV2:alarm/ContainerInsight-pod_cpu_utilization"
            )
        );
    }

    #[test]
    fn single_metric_and_metric_math_in_the_lambda_envelope_with_placeholder_arn() {
        // aws-lambda-go's samples use `REGION`/`ACCOUNT_NUMBER` placeholders: no region, no link.
        let single = alarm("payloads/cw-alarm-ALARM.sns-lambda-envelope.aws-lambda-go.json");
        assert_eq!(single.title, "ALARM: EXAMPLE");
        assert_eq!(single.group_key, "cw:123456789012::EXAMPLE");
        assert_eq!((single.region, single.link), (None, None));
        assert_eq!(
            single.text,
            "EXAMPLE\nThreshold Crossed: 1 out of the last 1 datapoints [1234.0 (06/03/15 17:43:27)] was greater than the threshold (0.0) (minimum 1 datapoint for OK -> ALARM transition)."
        );
        assert_eq!(single.resource.as_deref(), Some("InstanceId=TestInstance"));
        let math = alarm("payloads/cw-alarm-ALARM-metricmath.sns-lambda-envelope.aws-lambda-go.json");
        assert_eq!(
            (math.title.as_str(), math.group_key.as_str()),
            ("ALARM: EXAMPLE", "cw:::EXAMPLE")
        );
        assert_eq!(math.resource.as_deref(), Some("InstanceId=TestInstance"));
        assert_eq!(math.status, EventStatus::Firing);
    }

    #[test]
    fn insufficient_data_is_a_warning_notification() {
        let message = serde_json::json!({
            "AlarmName": "queue depth", "NewStateValue": "INSUFFICIENT_DATA", "AlarmDescription": null,
            "Region": "Europe (Zurich)", "AWSAccountId": "111122223333", "NewStateReason": "no data",
            "Trigger": {"MetricName": "Depth", "Namespace": "Custom/Q", "Dimensions": []}
        });
        let e = from_alarm(&message).unwrap();
        assert_eq!(
            (e.status, e.kind, e.severity),
            (EventStatus::Firing, EventKind::Notification, Severity::Warning)
        );
        assert_eq!(e.group_key, "cw:111122223333:eu-central-2:queue depth");
        assert_eq!(e.resource.as_deref(), Some("Custom/Q/Depth"));
        assert_eq!(e.text, "no data");
    }

    #[test]
    fn console_links_per_partition_and_encoded_names() {
        assert_eq!(
            console_link("eu-west-1", "api 5xx/prod"),
            "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/api%205xx%2Fprod"
        );
        assert!(console_link("cn-north-1", "a").starts_with("https://cn-north-1.console.amazonaws.cn/"));
        assert!(console_link("us-gov-west-1", "a").starts_with("https://console.amazonaws-us-gov.com/"));
        assert_eq!(region_code("South America (São Paulo)"), Some("sa-east-1"));
        assert!(is_region_code("us-gov-west-1") && !is_region_code("REGION") && !is_region_code("global"));
    }
}

//! Generic webhooks: whatever an HTTPS caller sends (JSON, a JSON array of events, form fields, plain text, or
//! a GET with query parameters), flattened to `a.b.c` fields. New Relic and Uptime Robot payloads are
//! recognised and shown with their own titles; an EventBridge event or CloudWatch alarm posted as it is, and a
//! Lambda-forwarded SNS record (`Records[].Sns`), are read as what they are.
//!
//! Grouping: the `X-Alert-Key` header, else a top-level `key` field, else the set of field names (with the
//! value too when the body has a single field, e.g. plain text). A `status` of `resolved`, `ok` or `closed`
//! resolves.

use std::collections::BTreeMap;

use http::HeaderMap;
use http::header::CONTENT_TYPE;
use serde_json::Value;

use super::flatten::{first, flatten, one_line};
use super::rejection::Rejection;
use super::{cloudwatch, eventbridge, newrelic, sns, uptimerobot};
use crate::event::{Event, EventKind, EventStatus, Severity};

/// The header that sets the group key of every event of the request.
pub const ALERT_KEY_HEADER: &str = "x-alert-key";
/// A JSON array body (or a Lambda's batch of SNS records) gives at most this many events; a body with more is
/// refused whole (413), never cut: the caller must not be told "stored" for events that were dropped.
pub const MAX_EVENTS: usize = 100;
/// Group keys derived from a value are cut to this many characters.
const MAX_KEY_VALUE: usize = 200;

const TITLE_KEYS: &[&str] = &[
    "title",
    "subject",
    "summary",
    "alertname",
    "name",
    "message",
    "text",
    "description",
];
const TEXT_KEYS: &[&str] = &["description", "details", "message", "text", "body"];
const LINK_KEYS: &[&str] = &["url", "link", "href", "html_url", "dashboard_url", "generatorURL"];
const RESOURCE_KEYS: &[&str] = &["resource", "host", "hostname", "instance", "service"];
const SEVERITY_KEYS: &[&str] = &["severity", "priority", "level"];

/// A decoded webhook body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// Nothing (a GET, or an empty POST).
    Empty,
    /// JSON (any content type, when it parses).
    Json(Value),
    /// `application/x-www-form-urlencoded` fields.
    Form(Vec<(String, String)>),
    /// Anything else that is UTF-8.
    Text(String),
}

/// Decodes a body by its `Content-Type`: JSON types must parse; form bodies are fields; anything else is
/// JSON when it parses as an object or array (SNS and many tools post JSON as `text/plain`), else text.
pub fn decode(headers: &HeaderMap, body: &[u8]) -> Result<Body, Rejection> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Body::Empty);
    }
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.contains("json") {
        return serde_json::from_slice(body)
            .map(Body::Json)
            .map_err(|e| Rejection::malformed("JSON", e));
    }
    if content_type.starts_with("application/x-www-form-urlencoded") {
        // `curl -d '{...}'` sends JSON labelled as a form; a form body never starts with `{` or `[` (those
        // would be percent-encoded), so a body that parses as a JSON object or array is JSON.
        let start = body.trim_ascii_start();
        if (start.starts_with(b"{") || start.starts_with(b"["))
            && let Ok(json @ (Value::Object(_) | Value::Array(_))) = serde_json::from_slice(body)
        {
            return Ok(Body::Json(json));
        }
        let pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
        // Some senders (Slack-style tools) post one `payload` field holding JSON.
        if let [(name, value)] = pairs.as_slice()
            && name == "payload"
            && let Ok(json @ (Value::Object(_) | Value::Array(_))) = serde_json::from_str(value)
        {
            return Ok(Body::Json(json));
        }
        return Ok(Body::Form(pairs));
    }
    let text = std::str::from_utf8(body).map_err(|e| Rejection::malformed("text", e))?;
    if text.trim_start().starts_with(['{', '['])
        && let Ok(json) = serde_json::from_str(text)
    {
        return Ok(Body::Json(json));
    }
    Ok(Body::Text(text.to_owned()))
}

/// The events of a webhook request; `query` fields are merged under the body's (the body wins).
pub fn events(headers: &HeaderMap, query: Option<&str>, body: Body) -> Result<Vec<Event>, Rejection> {
    let query_fields: BTreeMap<String, String> = query
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let with_query = |fields: BTreeMap<String, String>| {
        let mut all = query_fields.clone();
        all.extend(fields);
        all
    };
    let mut events = match body {
        Body::Empty if query_fields.is_empty() => return Err(Rejection::malformed("webhook", "empty body")),
        Body::Empty => vec![from_fields(query_fields.clone())],
        Body::Json(Value::Array(items)) => {
            too_many(items.len())?;
            items
                .iter()
                .map(|item| aws_event(item).unwrap_or_else(|| from_fields(with_query(flatten(item)))))
                .collect()
        }
        Body::Json(value) => match lambda_sns_records(&value) {
            Some(events) => events?,
            None => vec![aws_event(&value).unwrap_or_else(|| from_fields(with_query(flatten(&value))))],
        },
        Body::Form(pairs) => vec![from_fields(with_query(pairs.into_iter().collect()))],
        Body::Text(text) => vec![from_fields(with_query(BTreeMap::from([(
            "text".to_owned(),
            text,
        )])))],
    };
    if let Some(key) = headers
        .get(ALERT_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        && !key.is_empty()
    {
        for event in &mut events {
            event.group_key = key.to_owned();
        }
    }
    Ok(events)
}

/// An EventBridge event or a CloudWatch alarm message posted as it is (an API destination, a forwarder).
fn aws_event(value: &Value) -> Option<Event> {
    eventbridge::from_event(value).or_else(|| cloudwatch::from_alarm(value))
}

/// Refuses a body of more than [`MAX_EVENTS`] events.
fn too_many(count: usize) -> Result<(), Rejection> {
    if count > MAX_EVENTS {
        return Err(Rejection::TooManyEvents {
            count,
            limit: MAX_EVENTS,
        });
    }
    Ok(())
}

/// SNS messages forwarded by a Lambda function as its event (`{"Records": [{"Sns": {...}}]}`), unsigned like
/// any webhook; `None` when the body is not that.
fn lambda_sns_records(value: &Value) -> Option<Result<Vec<Event>, Rejection>> {
    let records = value.get("Records")?.as_array()?;
    let envelopes: Vec<sns::Envelope> = records
        .iter()
        .filter_map(|r| r.get("Sns"))
        .filter_map(|s| sns::Envelope::from_json(s, None).ok())
        .filter(|e| e.message_type == sns::MessageType::Notification)
        .collect();
    if envelopes.is_empty() {
        return None;
    }
    let events: Vec<Event> = envelopes.iter().flat_map(sns::notification_events).collect();
    Some(too_many(events.len()).map(|()| events))
}

/// One event from flattened fields: a recognised sender, or the generic reading.
fn from_fields(fields: BTreeMap<String, String>) -> Event {
    newrelic::from_fields(&fields)
        .or_else(|| uptimerobot::from_fields(&fields))
        .unwrap_or_else(|| generic(fields))
}

fn generic(fields: BTreeMap<String, String>) -> Event {
    let status = match fields
        .get("status")
        .map(|s| s.trim().to_ascii_lowercase())
        .as_deref()
    {
        Some("resolved" | "ok" | "closed") => EventStatus::Resolved,
        _ => EventStatus::Firing,
    };
    let title_key = TITLE_KEYS
        .iter()
        .find(|k| fields.get(**k).is_some_and(|v| !v.trim().is_empty()));
    let title = title_key
        .and_then(|k| fields.get(*k))
        .map_or_else(|| "Webhook event".to_owned(), |t| one_line(t, 150));
    let text_keys: Vec<&str> = TEXT_KEYS
        .iter()
        .copied()
        .filter(|k| Some(k) != title_key)
        .collect();
    let text = match (first(&fields, &text_keys), title_key.and_then(|k| fields.get(*k))) {
        (Some(text), _) => text.to_owned(),
        // A multi-line title (plain text) keeps its full text as the description.
        (None, Some(t)) if t.trim() != title => t.clone(),
        _ => String::new(),
    };
    let severity = match status {
        EventStatus::Resolved => Severity::Info,
        EventStatus::Firing => first(&fields, SEVERITY_KEYS)
            .and_then(severity_from_word)
            .unwrap_or(Severity::Error),
    };
    let link = LINK_KEYS
        .iter()
        .filter_map(|k| fields.get(*k))
        .find(|v| v.starts_with("https://") || v.starts_with("http://"))
        .cloned();
    Event {
        title,
        text,
        severity,
        source: "webhook".to_owned(),
        account: first(&fields, &["account"]).map(str::to_owned),
        region: first(&fields, &["region"]).map(str::to_owned),
        resource: first(&fields, RESOURCE_KEYS).map(str::to_owned),
        link,
        group_key: group_key(&fields),
        status,
        kind: EventKind::Alert,
        fields,
    }
}

/// The `key` field, else the field names; a single-field body adds its value (else every plain-text message
/// would be one alert).
fn group_key(fields: &BTreeMap<String, String>) -> String {
    if let Some(key) = first(fields, &["key"]) {
        return key.to_owned();
    }
    match fields.iter().next() {
        Some((name, value)) if fields.len() == 1 => {
            let value: String = value.trim().chars().take(MAX_KEY_VALUE).collect();
            format!("webhook:{name}={value}")
        }
        _ => format!(
            "webhook:{}",
            fields.keys().map(String::as_str).collect::<Vec<_>>().join(",")
        ),
    }
}

/// A severity from the words senders use (`critical`, `P2`, `high`, `warning`, `info`...).
pub(crate) fn severity_from_word(word: &str) -> Option<Severity> {
    match word.trim().to_ascii_lowercase().as_str() {
        "critical" | "crit" | "fatal" | "emergency" | "disaster" | "p1" | "sev1" | "1" => {
            Some(Severity::Critical)
        }
        "error" | "err" | "high" | "major" | "p2" | "sev2" | "2" => Some(Severity::Error),
        "warning" | "warn" | "medium" | "moderate" | "minor" | "p3" | "sev3" | "3" => Some(Severity::Warning),
        "info" | "informational" | "notice" | "low" | "p4" | "p5" | "4" | "5" => Some(Severity::Info),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        h
    }

    fn one(h: &HeaderMap, query: Option<&str>, body: &str) -> Event {
        let mut events = events(h, query, decode(h, body.as_bytes()).unwrap()).unwrap();
        assert_eq!(events.len(), 1);
        events.remove(0)
    }

    #[test]
    fn nested_json_is_flattened_and_titled() {
        let h = headers(&[("content-type", "application/json")]);
        let e = one(
            &h,
            None,
            r#"{"title":"Disk full","severity":"warning","host":{"name":"db1"},"url":"https://grafana/x"}"#,
        );
        assert_eq!(e.title, "Disk full");
        assert_eq!(e.fields.get("host.name").map(String::as_str), Some("db1"));
        assert_eq!(e.group_key, "webhook:host.name,severity,title,url");
        assert_eq!(
            (e.severity, e.status, e.source.as_str()),
            (Severity::Warning, EventStatus::Firing, "webhook")
        );
        assert_eq!(e.link.as_deref(), Some("https://grafana/x"));
    }

    #[test]
    fn alert_key_header_beats_key_field_and_status_resolves() {
        let json = headers(&[("content-type", "application/json")]);
        let e = one(
            &json,
            None,
            r#"{"key":"db-disk","title":"ok now","status":"RESOLVED"}"#,
        );
        assert_eq!(
            (e.group_key.as_str(), e.status, e.severity),
            ("db-disk", EventStatus::Resolved, Severity::Info)
        );
        let keyed = headers(&[
            ("content-type", "application/json"),
            ("x-alert-key", "from-header"),
        ]);
        assert_eq!(
            one(&keyed, None, r#"{"key":"db-disk","status":"closed"}"#).group_key,
            "from-header"
        );
        for word in ["ok", "closed", "resolved"] {
            let e = one(&json, None, &format!(r#"{{"status":"{word}"}}"#));
            assert_eq!(e.status, EventStatus::Resolved, "{word}");
        }
        assert_eq!(
            one(&json, None, r#"{"status":"firing"}"#).status,
            EventStatus::Firing
        );
    }

    #[test]
    fn json_sent_as_a_form_is_json() {
        let form = headers(&[("content-type", "application/x-www-form-urlencoded")]);
        let e = one(&form, None, r#"{"title": "disk full", "key": "db1"}"#);
        assert_eq!((e.title.as_str(), e.group_key.as_str()), ("disk full", "db1"));
    }

    #[test]
    fn form_body_and_get_query() {
        let form = headers(&[("content-type", "application/x-www-form-urlencoded")]);
        let e = one(
            &form,
            Some("region=eu-west-1"),
            "subject=Backup+failed&status=open&text=job%2042",
        );
        assert_eq!((e.title.as_str(), e.text.as_str()), ("Backup failed", "job 42"));
        assert_eq!(e.region.as_deref(), Some("eu-west-1"));
        assert_eq!(e.group_key, "webhook:region,status,subject,text");
        let e = one(&HeaderMap::new(), Some("title=Ping&key=pinger"), "");
        assert_eq!((e.title.as_str(), e.group_key.as_str()), ("Ping", "pinger"));
        let payload = format!("payload={}", "%7B%22title%22%3A%22x%22%7D");
        assert_eq!(one(&form, None, &payload).title, "x");
    }

    #[test]
    fn plain_text_groups_by_its_value() {
        let text = headers(&[("content-type", "text/plain")]);
        let e = one(&text, None, "  Backup failed on db1\nexit code 3\n");
        assert_eq!(e.title, "Backup failed on db1");
        assert_eq!(e.text, "  Backup failed on db1\nexit code 3\n");
        assert_eq!(e.group_key, "webhook:text=Backup failed on db1\nexit code 3");
        // JSON posted as text/plain is still JSON.
        assert_eq!(one(&text, None, r#"{"title":"j"}"#).title, "j");
    }

    #[test]
    fn arrays_give_several_events_and_bad_input_is_rejected() {
        let json = headers(&[("content-type", "application/json")]);
        let body = Body::Json(serde_json::json!([{"title": "a"}, {"title": "b"}]));
        let titles: Vec<String> = events(&json, None, body)
            .unwrap()
            .into_iter()
            .map(|e| e.title)
            .collect();
        assert_eq!(titles, ["a", "b"]);
        assert_eq!(
            decode(&json, b"{nope").unwrap_err().reason(),
            super::super::Reason::MalformedBody
        );
        assert_eq!(
            decode(&HeaderMap::new(), b"\xff\xfe").unwrap_err().reason(),
            super::super::Reason::MalformedBody
        );
        let empty = events(&HeaderMap::new(), None, Body::Empty).unwrap_err();
        assert_eq!(empty.reason(), super::super::Reason::MalformedBody);
    }

    #[test]
    fn more_events_than_the_limit_are_refused_whole() {
        let json = headers(&[("content-type", "application/json")]);
        let items = |n: usize| {
            (0..n)
                .map(|i| serde_json::json!({"title": i}))
                .collect::<Vec<_>>()
        };
        let at_limit = events(&json, None, Body::Json(Value::Array(items(MAX_EVENTS)))).unwrap();
        assert_eq!(at_limit.len(), MAX_EVENTS);
        let err = events(&json, None, Body::Json(Value::Array(items(MAX_EVENTS + 1)))).unwrap_err();
        assert_eq!(
            err,
            Rejection::TooManyEvents {
                count: MAX_EVENTS + 1,
                limit: MAX_EVENTS
            }
        );
        assert_eq!(err.status(), http::StatusCode::PAYLOAD_TOO_LARGE);
        assert!(err.to_string().contains("limit of 100 events"), "{err}");
        // A Lambda's batch of SNS records counts the same way.
        let record = serde_json::json!({"Sns": {"Type": "Notification", "MessageId": "m", "TopicArn": "t",
            "Message": "x", "Timestamp": "2026-01-01T00:00:00Z", "SignatureVersion": "1", "Signature": "s",
            "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/c.pem"}});
        let records = |n: usize| serde_json::json!({"Records": vec![record.clone(); n]});
        assert_eq!(
            events(&json, None, Body::Json(records(MAX_EVENTS)))
                .unwrap()
                .len(),
            MAX_EVENTS
        );
        assert_eq!(
            events(&json, None, Body::Json(records(MAX_EVENTS + 1)))
                .unwrap_err()
                .reason(),
            super::super::Reason::TooManyEvents
        );
    }

    #[test]
    fn severity_words() {
        assert_eq!(severity_from_word("CRITICAL"), Some(Severity::Critical));
        assert_eq!(severity_from_word("P2"), Some(Severity::Error));
        assert_eq!(severity_from_word("medium"), Some(Severity::Warning));
        assert_eq!(severity_from_word("low"), Some(Severity::Info));
        assert_eq!(severity_from_word("whatever"), None);
    }
}

//! Amazon SNS over HTTP(S): the envelope ([`envelope`]), its signing certificates ([`certs`]) and signature
//! ([`verify`]), and the messages inside a `Notification`. A message's `Message` is recognised as a CloudWatch
//! alarm, an EventBridge event, or else shown as plain text (Subject as title, Message as text).
//!
//! Flow for the HTTP handler: [`crate::ingest::parse`] gives an [`Unverified`] message; [`verify`] checks the
//! topic against the endpoint's allowed topics and the signature, and only then yields its content.

pub mod certs;
pub mod envelope;
pub mod verify;

use std::collections::BTreeMap;

pub use certs::{CertSource, FetchError, Fetcher, HttpFetcher, SigningCert};
pub use envelope::{Envelope, MESSAGE_TYPE_HEADER, MessageType};
pub use verify::{
    Clock, ConfirmError, DEFAULT_CERT_HOSTS, HostPattern, MAX_FUTURE_SKEW, MAX_MESSAGE_AGE, SnsArgs,
    SnsConfigError, SnsVerifier,
};

use super::flatten::{MAX_TITLE_CHARS, cap_fields, flatten, one_line};
use super::{Incoming, SnsControl, SnsControlKind, arn_parts, check_topic, cloudwatch, eventbridge};
use crate::event::{Event, EventKind, EventStatus, Severity};
use crate::ingest::rejection::Rejection;

/// An SNS message as parsed: nothing in it is trusted yet. Get its content with [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unverified(Envelope);

impl Unverified {
    pub(crate) fn new(envelope: Envelope) -> Self {
        Unverified(envelope)
    }

    /// The envelope, for logging (`MessageId`, `TopicArn`) before verification.
    pub fn envelope(&self) -> &Envelope {
        &self.0
    }

    /// The content without checking the signature, for an endpoint whose signature checks are relaxed (moto
    /// leaves `Subject` out of what it signs). The topic is still checked.
    pub fn accept_unsigned(self, allowed_topics: &[String]) -> Result<Incoming, Rejection> {
        check_topic(&self.0.topic_arn, allowed_topics)?;
        Ok(into_incoming(self.0))
    }
}

/// Checks the topic and the `Timestamp` (before any certificate fetch: a foreign topic or a replay of an old
/// message costs nothing), the signature, and for a confirmation the `SubscribeURL` host; then returns the
/// control message or the events.
pub async fn verify(
    message: Unverified,
    verifier: &SnsVerifier,
    allowed_topics: &[String],
) -> Result<Incoming, Rejection> {
    let envelope = message.0;
    check_topic(&envelope.topic_arn, allowed_topics)?;
    verifier.check_timestamp(&envelope)?;
    verifier.verify_signature(&envelope).await?;
    if let Some(url) = &envelope.subscribe_url {
        verifier.check_subscribe_url(url)?;
    }
    Ok(into_incoming(envelope))
}

fn into_incoming(envelope: Envelope) -> Incoming {
    let kind = match envelope.message_type {
        MessageType::Notification => {
            return Incoming::Events {
                events: notification_events(&envelope),
                dedup_id: Some(envelope.message_id),
            };
        }
        MessageType::SubscriptionConfirmation => SnsControlKind::SubscriptionConfirmation,
        MessageType::UnsubscribeConfirmation => SnsControlKind::UnsubscribeConfirmation,
    };
    Incoming::SnsControl(SnsControl {
        kind,
        topic_arn: envelope.topic_arn,
        message_id: envelope.message_id,
        subscribe_url: envelope.subscribe_url.unwrap_or_default(),
        token: envelope.token.unwrap_or_default(),
        message: envelope.message,
    })
}

/// The events of a `Notification`: its `Message` as a CloudWatch alarm, an EventBridge event, or plain text.
pub fn notification_events(envelope: &Envelope) -> Vec<Event> {
    let json = serde_json::from_str::<serde_json::Value>(&envelope.message).ok();
    if let Some(value) = &json {
        if let Some(event) = cloudwatch::from_alarm(value) {
            return vec![event];
        }
        if let Some(event) = eventbridge::from_event(value) {
            return vec![event];
        }
    }
    vec![plain(envelope, json.as_ref())]
}

/// Any other message: Subject (or the message's first line) as title, the message as text.
fn plain(envelope: &Envelope, json: Option<&serde_json::Value>) -> Event {
    let (region, account, topic) = arn_parts(&envelope.topic_arn).unwrap_or_default();
    let mut fields: BTreeMap<String, String> = match json {
        Some(value) if value.is_object() || value.is_array() => flatten(value),
        _ => BTreeMap::from([("message".to_owned(), envelope.message.clone())]),
    };
    for (name, value) in &envelope.message_attributes {
        fields.insert(format!("attributes.{name}"), value.clone());
    }
    cap_fields(&mut fields);
    let title = match &envelope.subject {
        Some(subject) if !subject.trim().is_empty() => one_line(subject, MAX_TITLE_CHARS),
        _ if !envelope.message.trim().is_empty() && json.is_none() => {
            one_line(&envelope.message, MAX_TITLE_CHARS)
        }
        _ => one_line(
            &format!(
                "Message on SNS topic {}",
                if topic.is_empty() { "?" } else { topic }
            ),
            MAX_TITLE_CHARS,
        ),
    };
    // Same subject on the same topic is the same problem; without a subject every message stands alone.
    let group_key = match &envelope.subject {
        Some(subject) => format!("sns:{}:{subject}", envelope.topic_arn),
        None => format!("sns:{}:{}", envelope.topic_arn, envelope.message_id),
    };
    let link = (!region.is_empty()).then(|| {
        format!(
            "https://{region}.console.aws.amazon.com/sns/v3/home?region={region}#/topic/{}",
            envelope.topic_arn
        )
    });
    Event {
        title,
        text: envelope.message.clone(),
        severity: Severity::Warning,
        source: "sns".to_owned(),
        account: (!account.is_empty()).then(|| account.to_owned()),
        region: (!region.is_empty()).then(|| region.to_owned()),
        resource: Some(envelope.topic_arn.clone()),
        link,
        group_key,
        status: EventStatus::Firing,
        kind: EventKind::Alert,
        fields,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::rejection::Reason;
    use crate::ingest::sns::certs::tests::FakeFetcher;
    use crate::ingest::test_fixtures::{dir, fixture_json};
    use std::sync::Arc;

    fn unverified(rel: &str) -> Unverified {
        Unverified::new(Envelope::from_json(&fixture_json(rel), None).unwrap())
    }

    /// A minute after the test set was signed (its Timestamps are 2026-01-01T00:00:0xZ).
    const SIGNED_AT: time::OffsetDateTime = time::macros::datetime!(2026-01-01 00:01:00 UTC);

    fn verifier_at(now: time::OffsetDateTime) -> SnsVerifier {
        let dir = dir().join("sns-signed-test");
        SnsVerifier::new(
            HostPattern::default(),
            Some(dir),
            Arc::new(FakeFetcher::default()),
        )
        .with_clock(Clock::fixed(now))
    }

    fn verifier() -> SnsVerifier {
        verifier_at(SIGNED_AT)
    }

    #[tokio::test]
    async fn messages_older_than_the_horizon_or_from_the_future_are_refused() {
        let msg = || unverified("sns-signed-test/notification-v1-nosubject.json");
        let sent = time::macros::datetime!(2026-01-01 00:00:00 UTC);
        // Within the horizon, at both ends.
        for now in [sent, sent + MAX_MESSAGE_AGE, sent - MAX_FUTURE_SKEW] {
            assert!(verify(msg(), &verifier_at(now), &[]).await.is_ok(), "{now}");
        }
        let second = time::Duration::seconds(1);
        for now in [sent + MAX_MESSAGE_AGE + second, sent - MAX_FUTURE_SKEW - second] {
            let err = verify(msg(), &verifier_at(now), &[]).await.unwrap_err();
            assert_eq!(
                (err.reason(), err.status()),
                (Reason::TimestampOutOfRange, http::StatusCode::FORBIDDEN),
                "{now}: {err}"
            );
        }
        // Confirmations too: an old one must not make Klaxon GET its SubscribeURL again.
        let old = verify(
            unverified("sns-signed-test/subscription-confirmation-v2.json"),
            &verifier_at(sent + time::Duration::days(30)),
            &[],
        )
        .await
        .unwrap_err();
        assert_eq!(old.reason(), Reason::TimestampOutOfRange);
        assert!(old.to_string().contains("more than 7 days old"), "{old}");
        // A Timestamp that is not one is malformed, whatever the clock.
        let mut bad = msg();
        bad.0.timestamp = "yesterday".into();
        assert_eq!(
            verify(bad, &verifier(), &[]).await.unwrap_err().reason(),
            Reason::MalformedBody
        );
        // Unsigned reading (emulators) has no age rule: anyone may post such a message anyway.
        assert!(msg().accept_unsigned(&[]).is_ok());
    }

    #[tokio::test]
    async fn a_verified_confirmation_is_a_control_message() {
        let topic = "arn:aws:sns:us-east-1:123456789012:alerts".to_owned();
        let incoming = verify(
            unverified("sns-signed-test/subscription-confirmation-v2.json"),
            &verifier(),
            &[topic],
        )
        .await
        .unwrap();
        let Incoming::SnsControl(control) = incoming else {
            panic!("{incoming:?}")
        };
        assert_eq!(control.kind, SnsControlKind::SubscriptionConfirmation);
        assert!(
            control
                .subscribe_url
                .starts_with("https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription")
        );
        assert_eq!(control.message_id, "00000000-0000-0000-0000-000000000004");
        let unsub = verify(
            unverified("sns-signed-test/unsubscribe-confirmation-v2.json"),
            &verifier(),
            &[],
        )
        .await;
        assert!(matches!(
            unsub,
            Ok(Incoming::SnsControl(SnsControl {
                kind: SnsControlKind::UnsubscribeConfirmation,
                ..
            }))
        ));
    }

    #[tokio::test]
    async fn a_foreign_topic_is_refused_before_the_signature() {
        let other = vec!["arn:aws:sns:us-east-1:123456789012:other".to_owned()];
        let msg = unverified("sns-signed-test/notification-v1-nosubject.json");
        assert_eq!(
            verify(msg.clone(), &verifier(), &other)
                .await
                .unwrap_err()
                .reason(),
            Reason::ForeignTopic
        );
        assert_eq!(
            msg.accept_unsigned(&other).unwrap_err().reason(),
            Reason::ForeignTopic
        );
    }

    #[tokio::test]
    async fn a_verified_notification_gives_its_events_and_the_message_id() {
        let incoming = verify(
            unverified("sns-signed-test/notification-v1-nosubject.json"),
            &verifier(),
            &[],
        )
        .await
        .unwrap();
        let Incoming::Events { events, dedup_id } = incoming else {
            panic!()
        };
        assert_eq!(dedup_id.as_deref(), Some("00000000-0000-0000-0000-000000000001"));
        assert_eq!(
            (events[0].title.as_str(), events[0].group_key.as_str()),
            ("ALARM: x", "cw:::x")
        );
    }

    #[tokio::test]
    async fn plain_text_uses_subject_topic_and_attributes() {
        let incoming = verify(
            unverified("sns-signed-test/notification-v2-subject-unicode.json"),
            &verifier(),
            &[],
        )
        .await
        .unwrap();
        let Incoming::Events { events, .. } = incoming else {
            panic!()
        };
        let e = &events[0];
        assert_eq!(e.title, "ALARM: \"db\" in EU (Paris) – é✓");
        assert_eq!(e.text, "line1\nline2 ünïcode");
        assert_eq!(
            e.group_key,
            "sns:arn:aws:sns:us-east-1:123456789012:alerts:ALARM: \"db\" in EU (Paris) – é✓"
        );
        assert_eq!(
            (e.account.as_deref(), e.region.as_deref()),
            (Some("123456789012"), Some("us-east-1"))
        );
        assert_eq!(e.fields.get("attributes.sev").map(String::as_str), Some("high"));
        assert_eq!(
            (e.status, e.kind, e.severity),
            (EventStatus::Firing, EventKind::Alert, Severity::Warning)
        );
        assert_eq!(
            e.link.as_deref(),
            Some(
                "https://us-east-1.console.aws.amazon.com/sns/v3/home?region=us-east-1#/topic/arn:aws:sns:us-east-1:123456789012:alerts"
            )
        );
    }

    #[test]
    fn the_aws_doc_notification_is_plain_text_grouped_by_subject() {
        let env =
            Envelope::from_json(&fixture_json("payloads/sns-http-notification.awsdocs.json"), None).unwrap();
        let e = &notification_events(&env)[0];
        assert_eq!(
            (e.title.as_str(), e.text.as_str()),
            ("My First Message", "Hello world!")
        );
        assert_eq!(
            e.group_key,
            "sns:arn:aws:sns:us-west-2:123456789012:MyTopic:My First Message"
        );
        let mut no_subject = env;
        no_subject.subject = None;
        let e = &notification_events(&no_subject)[0];
        assert_eq!(e.title, "Hello world!");
        assert_eq!(
            e.group_key,
            "sns:arn:aws:sns:us-west-2:123456789012:MyTopic:22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"
        );
    }
}

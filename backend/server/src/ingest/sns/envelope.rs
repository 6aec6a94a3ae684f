//! The SNS HTTP(S) envelope: the JSON object SNS posts (as `text/plain`) for a `Notification`, a
//! `SubscriptionConfirmation` or an `UnsubscribeConfirmation`, and the canonical string its signature covers.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::ingest::rejection::Rejection;

/// The header SNS sets to the message type.
pub const MESSAGE_TYPE_HEADER: &str = "x-amz-sns-message-type";

/// What an SNS message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// A published message.
    Notification,
    /// Asks the endpoint to confirm a new subscription (GET `SubscribeURL`).
    SubscriptionConfirmation,
    /// Tells the endpoint it was unsubscribed.
    UnsubscribeConfirmation,
}

impl MessageType {
    /// The type as SNS spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Notification => "Notification",
            MessageType::SubscriptionConfirmation => "SubscriptionConfirmation",
            MessageType::UnsubscribeConfirmation => "UnsubscribeConfirmation",
        }
    }

    /// Parses the SNS spelling.
    pub fn parse(s: &str) -> Option<Self> {
        [
            MessageType::Notification,
            MessageType::SubscriptionConfirmation,
            MessageType::UnsubscribeConfirmation,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

/// A parsed SNS envelope. Nothing in it is trusted until [`super::verify`] has checked the signature.
#[derive(Clone, PartialEq, Eq)]
pub struct Envelope {
    /// `Type`.
    pub message_type: MessageType,
    /// `MessageId`: the same on every retry of one message, so the dedup key.
    pub message_id: String,
    /// `TopicArn`.
    pub topic_arn: String,
    /// `Subject`, absent when the publisher gave none.
    pub subject: Option<String>,
    /// `Message`: the published text (often JSON in a string).
    pub message: String,
    /// `Timestamp` (ISO 8601, UTC).
    pub timestamp: String,
    /// `SignatureVersion`: "1" (SHA1withRSA) or "2" (SHA256withRSA).
    pub signature_version: String,
    /// `Signature`, base64.
    pub signature: String,
    /// `SigningCertURL`.
    pub signing_cert_url: String,
    /// `SubscribeURL` (confirmations only).
    pub subscribe_url: Option<String>,
    /// `Token` (confirmations only).
    pub token: Option<String>,
    /// `UnsubscribeURL` (notifications).
    pub unsubscribe_url: Option<String>,
    /// `MessageAttributes`, name to value (not signed: display only).
    pub message_attributes: BTreeMap<String, String>,
}

/// Hides what lets its holder act on the subscription: the `Token` and `SubscribeURL` confirm it, the
/// `UnsubscribeURL` ends it (SNS needs no other credential for either).
impl std::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "***");
        f.debug_struct("Envelope")
            .field("message_type", &self.message_type)
            .field("message_id", &self.message_id)
            .field("topic_arn", &self.topic_arn)
            .field("subject", &self.subject)
            .field("message", &self.message)
            .field("timestamp", &self.timestamp)
            .field("signature_version", &self.signature_version)
            .field("signature", &self.signature)
            .field("signing_cert_url", &self.signing_cert_url)
            .field("subscribe_url", &hidden(&self.subscribe_url))
            .field("token", &hidden(&self.token))
            .field("unsubscribe_url", &hidden(&self.unsubscribe_url))
            .field("message_attributes", &self.message_attributes)
            .finish()
    }
}

impl Envelope {
    /// Whether a JSON body is an SNS envelope: a known `Type` with a `TopicArn` (what SNS always sends).
    pub fn looks_like(value: &Value) -> bool {
        value
            .get("Type")
            .and_then(Value::as_str)
            .and_then(MessageType::parse)
            .is_some()
            && value.get("TopicArn").is_some()
    }

    /// Parses an envelope, naming the first missing field. `header_type` is `x-amz-sns-message-type`, used
    /// only when the body has no `Type` (the body's is the signed one).
    pub fn from_json(value: &Value, header_type: Option<&str>) -> Result<Self, Rejection> {
        let Some(obj) = value.as_object() else {
            return Err(Rejection::malformed("SNS message", "not a JSON object"));
        };
        let type_str = match str_field(obj, "Type") {
            Some(t) => t,
            None => header_type.ok_or_else(|| missing("message", "Type"))?,
        };
        let message_type = MessageType::parse(type_str)
            .ok_or_else(|| Rejection::malformed("SNS message", format!("unknown Type {type_str:?}")))?;
        let kind = message_type.as_str();
        let required = |field: &'static str| -> Result<String, Rejection> {
            str_field(obj, field)
                .map(str::to_owned)
                .ok_or_else(|| missing(kind, field))
        };
        // Lambda's copy of the envelope spells these `...Url`; accepting both costs nothing.
        let either = |a: &str, b: &str| str_field(obj, a).or_else(|| str_field(obj, b)).map(str::to_owned);
        let confirmation = message_type != MessageType::Notification;
        let envelope = Envelope {
            message_type,
            message_id: required("MessageId")?,
            topic_arn: required("TopicArn")?,
            subject: str_field(obj, "Subject").map(str::to_owned),
            message: required("Message")?,
            timestamp: required("Timestamp")?,
            signature_version: required("SignatureVersion")?,
            signature: required("Signature")?,
            signing_cert_url: either("SigningCertURL", "SigningCertUrl")
                .ok_or_else(|| missing(kind, "SigningCertURL"))?,
            subscribe_url: if confirmation {
                Some(required("SubscribeURL")?)
            } else {
                None
            },
            token: if confirmation {
                Some(required("Token")?)
            } else {
                None
            },
            unsubscribe_url: either("UnsubscribeURL", "UnsubscribeUrl"),
            message_attributes: attributes(obj),
        };
        Ok(envelope)
    }

    /// The exact bytes SNS signed: each signed key present, in this order, as `Key\nValue\n`.
    pub fn string_to_sign(&self) -> String {
        let mut pairs: Vec<(&str, &str)> = vec![("Message", &self.message), ("MessageId", &self.message_id)];
        match self.message_type {
            MessageType::Notification => {
                if let Some(subject) = &self.subject {
                    pairs.push(("Subject", subject));
                }
            }
            MessageType::SubscriptionConfirmation | MessageType::UnsubscribeConfirmation => {
                pairs.push(("SubscribeURL", self.subscribe_url.as_deref().unwrap_or_default()));
            }
        }
        pairs.push(("Timestamp", &self.timestamp));
        if self.message_type != MessageType::Notification {
            pairs.push(("Token", self.token.as_deref().unwrap_or_default()));
        }
        pairs.push(("TopicArn", &self.topic_arn));
        pairs.push(("Type", self.message_type.as_str()));
        let mut out = String::new();
        for (key, value) in pairs {
            out.push_str(key);
            out.push('\n');
            out.push_str(value);
            out.push('\n');
        }
        out
    }
}

/// A string field; JSON `null` counts as absent (Lambda's copy has `"Subject": null`).
fn str_field<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key).and_then(Value::as_str)
}

fn missing(message_type: &str, field: &'static str) -> Rejection {
    Rejection::MissingSnsField {
        message_type: message_type.to_owned(),
        field,
    }
}

fn attributes(obj: &Map<String, Value>) -> BTreeMap<String, String> {
    let Some(Value::Object(attrs)) = obj.get("MessageAttributes") else {
        return BTreeMap::new();
    };
    attrs
        .iter()
        .filter_map(|(name, attr)| {
            let value = attr.get("Value")?;
            let text = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
            Some((name.clone(), text))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::test_fixtures::{fixture, fixture_json, fixture_names};

    #[test]
    fn debug_hides_what_confirms_or_ends_the_subscription() {
        for name in [
            "payloads/sns-http-subscription-confirmation.awsdocs.json",
            "payloads/sns-http-notification.awsdocs.json",
        ] {
            let e = Envelope::from_json(&fixture_json(name), None).unwrap();
            let shown = format!("{e:?}");
            for secret in [&e.token, &e.subscribe_url, &e.unsubscribe_url]
                .into_iter()
                .flatten()
            {
                assert!(!shown.contains(secret.as_str()), "{name}: {secret} in {shown}");
            }
            assert!(shown.contains(&e.message_id), "the rest is shown: {shown}");
        }
    }

    #[test]
    fn the_aws_doc_envelopes_parse() {
        let sub = Envelope::from_json(
            &fixture_json("payloads/sns-http-subscription-confirmation.awsdocs.json"),
            None,
        )
        .unwrap();
        assert_eq!(sub.message_type, MessageType::SubscriptionConfirmation);
        assert!(
            sub.subscribe_url
                .unwrap()
                .starts_with("https://sns.us-west-2.amazonaws.com/?Action=Confirm")
        );
        assert!(sub.token.is_some());
        let note =
            Envelope::from_json(&fixture_json("payloads/sns-http-notification.awsdocs.json"), None).unwrap();
        assert_eq!(
            (note.message_type, note.subject.as_deref(), note.message.as_str()),
            (
                MessageType::Notification,
                Some("My First Message"),
                "Hello world!"
            )
        );
        assert!(note.unsubscribe_url.is_some() && note.token.is_none());
        let unsub = Envelope::from_json(
            &fixture_json("payloads/sns-http-unsubscribe-confirmation.awsdocs.json"),
            None,
        )
        .unwrap();
        assert_eq!(unsub.message_type, MessageType::UnsubscribeConfirmation);
    }

    #[test]
    fn a_missing_required_field_is_named() {
        let full = fixture_json("payloads/sns-http-subscription-confirmation.awsdocs.json");
        for field in [
            "MessageId",
            "TopicArn",
            "Message",
            "Timestamp",
            "Signature",
            "SigningCertURL",
            "SubscribeURL",
            "Token",
        ] {
            let mut v = full.clone();
            v.as_object_mut().unwrap().remove(field);
            match Envelope::from_json(&v, None) {
                Err(Rejection::MissingSnsField {
                    field: f,
                    message_type,
                }) => {
                    assert_eq!((f, message_type.as_str()), (field, "SubscriptionConfirmation"));
                }
                other => panic!("{field}: {other:?}"),
            }
        }
        let mut no_type = full;
        no_type.as_object_mut().unwrap().remove("Type");
        // The header names the type when the body does not.
        let parsed = Envelope::from_json(&no_type, Some("SubscriptionConfirmation")).unwrap();
        assert_eq!(parsed.message_type, MessageType::SubscriptionConfirmation);
        assert!(matches!(
            Envelope::from_json(&no_type, None),
            Err(Rejection::MissingSnsField { field: "Type", .. })
        ));
    }

    #[test]
    fn string_to_sign_matches_each_signed_test_vector_byte_for_byte() {
        let names = fixture_names("sns-signed-test", ".string-to-sign.txt");
        assert_eq!(names.len(), 5);
        for name in names {
            let json = name.replace(".string-to-sign.txt", ".json");
            let envelope =
                Envelope::from_json(&fixture_json(&format!("sns-signed-test/{json}")), None).unwrap();
            assert_eq!(
                envelope.string_to_sign(),
                fixture(&format!("sns-signed-test/{name}")),
                "{name}"
            );
        }
    }

    #[test]
    fn message_attributes_are_kept_for_display() {
        let v2 = fixture_json("sns-signed-test/notification-v2-subject-unicode.json");
        let envelope = Envelope::from_json(&v2, None).unwrap();
        assert_eq!(
            envelope.message_attributes.get("sev").map(String::as_str),
            Some("high")
        );
    }
}

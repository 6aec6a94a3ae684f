//! Ingest: turning what arrives at `POST /ingest/{endpoint_token}` into [`Event`]s. Pure functions and one
//! verifier, no HTTP handler and no storage: the handler calls [`parse`], then for SNS [`sns::verify`], and
//! stores what comes out.
//!
//! Formats, one per module: SNS envelopes and signatures ([`sns`]), CloudWatch alarms ([`cloudwatch`]),
//! EventBridge events ([`eventbridge`]), generic webhooks ([`webhook`]: JSON, form, text, GET query) with two
//! recognised senders ([`newrelic`], [`uptimerobot`]). Refusals are [`Rejection`]s; [`rate_limit`] is the
//! per-endpoint limiter.
//!
//! ```text
//! match ingest::parse(&headers, &method, query, &body)? {
//!     Parsed::Webhook(incoming) => store(incoming),
//!     Parsed::Sns(message) => match ingest::sns::verify(message, &verifier, &endpoint.allowed_topic_arns).await? {
//!         Incoming::SnsControl(c) if c.kind == SnsControlKind::SubscriptionConfirmation =>
//!             verifier.confirm_subscription(&c.subscribe_url).await?,
//!         incoming => store(incoming),
//!     },
//! }
//! ```

pub mod cloudwatch;
pub mod eventbridge;
pub mod flatten;
pub mod newrelic;
pub mod rate_limit;
pub mod rejection;
pub mod sns;
pub mod uptimerobot;
pub mod webhook;

#[cfg(test)]
mod test_fixtures;

use http::{HeaderMap, Method};

pub use rejection::{Reason, Rejection};

use crate::event::Event;

/// Largest webhook body accepted.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Largest SNS body accepted: SNS allows 256 KiB of message, and the JSON envelope around it (escaping, the
/// other fields) makes the body larger, so SNS gets twice the webhook limit (the handler's body limit must
/// allow this much).
pub const MAX_SNS_BODY_BYTES: usize = 2 * MAX_BODY_BYTES;

/// What a request is, before any signature check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// A webhook: its content can be used as it is (the endpoint's secret URL is its only credential).
    Webhook(Incoming),
    /// An SNS message: pass it to [`sns::verify`] to get its content.
    Sns(sns::Unverified),
}

/// What a request asks Klaxon to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// An SNS subscription message: confirm (GET `subscribe_url` via [`sns::SnsVerifier::confirm_subscription`])
    /// or note the unsubscribe.
    SnsControl(SnsControl),
    /// Events to store.
    Events {
        /// The events (several for a JSON array body).
        events: Vec<Event>,
        /// SNS `MessageId`: the same on every retry of one message, so storing it once makes retries harmless.
        dedup_id: Option<String>,
    },
}

/// Which subscription message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnsControlKind {
    /// A new subscription waits for confirmation.
    SubscriptionConfirmation,
    /// The subscription was removed (its `SubscribeURL` would restore it).
    UnsubscribeConfirmation,
}

/// An SNS subscription message, verified.
#[derive(Clone, PartialEq, Eq)]
pub struct SnsControl {
    /// Which one.
    pub kind: SnsControlKind,
    /// The topic.
    pub topic_arn: String,
    /// `MessageId` (SNS retries confirmations too).
    pub message_id: String,
    /// `SubscribeURL` (host already checked by [`sns::verify`]).
    pub subscribe_url: String,
    /// `Token`, for `ConfirmSubscription` through the API instead of the GET.
    pub token: String,
    /// SNS's text for people.
    pub message: String,
}

/// Hides the `Token` and the `SubscribeURL` (which carries it): either confirms the subscription.
impl std::fmt::Debug for SnsControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnsControl")
            .field("kind", &self.kind)
            .field("topic_arn", &self.topic_arn)
            .field("message_id", &self.message_id)
            .field("subscribe_url", &"***")
            .field("token", &"***")
            .field("message", &self.message)
            .finish()
    }
}

/// Reads a request to an ingest endpoint. SNS is recognised by `x-amz-sns-message-type` or by the body's
/// `Type` (SNS posts JSON as `text/plain`); anything else is a webhook. `query` is the raw query string.
pub fn parse(
    headers: &HeaderMap,
    method: &Method,
    query: Option<&str>,
    body: &[u8],
) -> Result<Parsed, Rejection> {
    let query = query.filter(|q| !q.is_empty());
    if *method == Method::GET && query.is_some() && body.is_empty() {
        let events = bounded(webhook::events(headers, query, webhook::Body::Empty)?);
        return Ok(Parsed::Webhook(Incoming::Events {
            events,
            dedup_id: None,
        }));
    }
    if *method != Method::POST {
        return Err(Rejection::MethodNotAllowed(method.to_string()));
    }
    let sns_type = headers
        .get(sns::MESSAGE_TYPE_HEADER)
        .and_then(|v| v.to_str().ok());
    let limit = if sns_type.is_some() {
        MAX_SNS_BODY_BYTES
    } else {
        MAX_BODY_BYTES
    };
    if body.len() > limit {
        return Err(Rejection::TooLarge {
            size: body.len(),
            limit,
        });
    }
    if let Some(sns_type) = sns_type {
        let value = serde_json::from_slice(body).map_err(|e| Rejection::malformed("SNS message", e))?;
        return Ok(Parsed::Sns(sns::Unverified::new(sns::Envelope::from_json(
            &value,
            Some(sns_type),
        )?)));
    }
    let body = webhook::decode(headers, body)?;
    if let webhook::Body::Json(value) = &body
        && sns::Envelope::looks_like(value)
    {
        return Ok(Parsed::Sns(sns::Unverified::new(sns::Envelope::from_json(
            value, None,
        )?)));
    }
    let events = bounded(webhook::events(headers, query, body)?);
    Ok(Parsed::Webhook(Incoming::Events {
        events,
        dedup_id: None,
    }))
}

/// Events whose fields are capped: a form body or a query string can carry any number of fields, and an
/// alert shows at most [`flatten::MAX_FIELDS`] of them, as for JSON.
fn bounded(mut events: Vec<Event>) -> Vec<Event> {
    for event in &mut events {
        flatten::cap_fields(&mut event.fields);
    }
    events
}

/// Refuses a topic outside `allowed` (an endpoint's `allowed_topic_arns`); an empty set allows any topic.
pub fn check_topic(topic_arn: &str, allowed: &[String]) -> Result<(), Rejection> {
    if allowed.is_empty() || allowed.iter().any(|a| a == topic_arn) {
        Ok(())
    } else {
        Err(Rejection::ForeignTopic(topic_arn.to_owned()))
    }
}

/// Region, account and resource of an ARN (`arn:partition:service:region:account:resource`); empty parts stay
/// empty, as in global ARNs.
pub(crate) fn arn_parts(arn: &str) -> Option<(&str, &str, &str)> {
    let mut parts = arn.splitn(6, ':');
    if parts.next()? != "arn" {
        return None;
    }
    let (_partition, _service) = (parts.next()?, parts.next()?);
    Some((parts.next()?, parts.next()?, parts.next()?))
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;

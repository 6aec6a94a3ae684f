//! Why an ingest request is refused: one [`Rejection`] per failure, each with a stable [`Reason`] (the label of the
//! `IngestRejected` metric) and the HTTP status the caller gets.
//!
//! The statuses matter to SNS: it retries 5xx and 429 and drops everything else for good, so only a passing
//! problem on our side (a signing certificate we could not fetch, a rate limit) may answer a retryable status.

use http::StatusCode;

/// The reason of a rejection, without its details: a fixed set, for counting by reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// The body is not what its content type or its shape says (bad JSON, bad form encoding, not UTF-8).
    MalformedBody,
    /// An SNS envelope lacks a field that its type requires.
    MissingSnsField,
    /// An SNS `SignatureVersion` other than 1 and 2.
    UnsupportedSignatureVersion,
    /// The SNS signature does not verify with the signing certificate.
    BadSignature,
    /// A signed SNS message's `Timestamp` is too old (a replay) or too far in the future.
    TimestampOutOfRange,
    /// `SigningCertURL` is not `https`.
    CertUrlNotHttps,
    /// `SigningCertURL` names a host outside the allowed pattern.
    CertHostNotAllowed,
    /// The signing certificate cannot be used (not X.509, not RSA, outside its validity).
    BadCertificate,
    /// The signing certificate could not be fetched (network, timeout, 5xx): SNS retries.
    CertUnavailable,
    /// `SubscribeURL` is not `https` on an allowed host.
    SubscribeUrlNotAllowed,
    /// The `TopicArn` is not in the endpoint's allowed topics.
    ForeignTopic,
    /// The body is larger than the limit.
    TooLarge,
    /// The body holds more events than one request may carry.
    TooManyEvents,
    /// The endpoint sent more than its rate allows.
    RateLimited,
    /// An HTTP method other than `POST` (or `GET` with a query).
    MethodNotAllowed,
}

impl Reason {
    /// Every reason, for pre-registering metric labels.
    pub const ALL: [Reason; 15] = [
        Reason::MalformedBody,
        Reason::MissingSnsField,
        Reason::UnsupportedSignatureVersion,
        Reason::BadSignature,
        Reason::TimestampOutOfRange,
        Reason::CertUrlNotHttps,
        Reason::CertHostNotAllowed,
        Reason::BadCertificate,
        Reason::CertUnavailable,
        Reason::SubscribeUrlNotAllowed,
        Reason::ForeignTopic,
        Reason::TooLarge,
        Reason::TooManyEvents,
        Reason::RateLimited,
        Reason::MethodNotAllowed,
    ];

    /// The stable snake_case name (metric label, error code in responses).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::MalformedBody => "malformed_body",
            Reason::MissingSnsField => "missing_sns_field",
            Reason::UnsupportedSignatureVersion => "unsupported_signature_version",
            Reason::BadSignature => "bad_signature",
            Reason::TimestampOutOfRange => "timestamp_out_of_range",
            Reason::CertUrlNotHttps => "cert_url_not_https",
            Reason::CertHostNotAllowed => "cert_host_not_allowed",
            Reason::BadCertificate => "bad_certificate",
            Reason::CertUnavailable => "cert_unavailable",
            Reason::SubscribeUrlNotAllowed => "subscribe_url_not_allowed",
            Reason::ForeignTopic => "foreign_topic",
            Reason::TooLarge => "too_large",
            Reason::TooManyEvents => "too_many_events",
            Reason::RateLimited => "rate_limited",
            Reason::MethodNotAllowed => "method_not_allowed",
        }
    }

    /// The HTTP status the caller gets.
    pub fn status(self) -> StatusCode {
        match self {
            Reason::MalformedBody | Reason::MissingSnsField => StatusCode::BAD_REQUEST,
            Reason::UnsupportedSignatureVersion
            | Reason::BadSignature
            | Reason::TimestampOutOfRange
            | Reason::CertUrlNotHttps
            | Reason::CertHostNotAllowed
            | Reason::BadCertificate
            | Reason::SubscribeUrlNotAllowed
            | Reason::ForeignTopic => StatusCode::FORBIDDEN,
            // A certificate we could not get is our problem (or AWS's), not the sender's: ask SNS to retry.
            Reason::CertUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            // Cutting the body to the limit would store part of it while answering "stored": refuse it whole.
            Reason::TooLarge | Reason::TooManyEvents => StatusCode::PAYLOAD_TOO_LARGE,
            Reason::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Reason::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An ingest request refused, with what the caller may be told about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The body could not be decoded.
    #[error("malformed {format} body: {detail}")]
    MalformedBody {
        /// What it was read as (`JSON`, `form`, `SNS message`).
        format: &'static str,
        /// The decoder's message.
        detail: String,
    },
    /// An SNS envelope lacks a required field.
    #[error("SNS {message_type} lacks the field {field}")]
    MissingSnsField {
        /// The envelope's `Type`.
        message_type: String,
        /// The missing field, as SNS spells it.
        field: &'static str,
    },
    /// A `SignatureVersion` we do not know.
    #[error("unsupported SNS SignatureVersion {0:?} (expected \"1\" or \"2\")")]
    UnsupportedSignatureVersion(String),
    /// The signature does not verify.
    #[error("SNS signature does not verify: {0}")]
    BadSignature(String),
    /// `Timestamp` outside what a genuine delivery can have.
    #[error("SNS message refused: {0}")]
    TimestampOutOfRange(String),
    /// `SigningCertURL` is not https.
    #[error("SigningCertURL must be https: {0}")]
    CertUrlNotHttps(String),
    /// `SigningCertURL` host not allowed.
    #[error("SigningCertURL host {0:?} is not an allowed SNS host")]
    CertHostNotAllowed(String),
    /// The certificate is unusable.
    #[error("SNS signing certificate unusable: {0}")]
    BadCertificate(String),
    /// The certificate could not be fetched.
    #[error("SNS signing certificate unavailable: {0}")]
    CertUnavailable(String),
    /// `SubscribeURL` not allowed.
    #[error("SubscribeURL {0:?} is not https on an allowed SNS host")]
    SubscribeUrlNotAllowed(String),
    /// Topic outside the endpoint's allowed set.
    #[error("topic {0} is not allowed for this endpoint")]
    ForeignTopic(String),
    /// Body too large.
    #[error("body of {size} bytes is over the limit of {limit} bytes")]
    TooLarge {
        /// The body's size.
        size: usize,
        /// The limit that applied.
        limit: usize,
    },
    /// More events than one request may carry.
    #[error(
        "the body holds {count} events, over the limit of {limit} events per request; nothing was stored, \
        send them in several requests"
    )]
    TooManyEvents {
        /// How many events the body holds.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// Over the endpoint's rate.
    #[error("rate limited: retry after {retry_after_secs} s")]
    RateLimited {
        /// Seconds until a request would pass (the `Retry-After` header).
        retry_after_secs: u64,
    },
    /// Wrong HTTP method.
    #[error("method {0} not allowed: POST, or GET with a query")]
    MethodNotAllowed(String),
}

impl Rejection {
    /// The reason, for metrics and the error code.
    pub fn reason(&self) -> Reason {
        match self {
            Rejection::MalformedBody { .. } => Reason::MalformedBody,
            Rejection::MissingSnsField { .. } => Reason::MissingSnsField,
            Rejection::UnsupportedSignatureVersion(_) => Reason::UnsupportedSignatureVersion,
            Rejection::BadSignature(_) => Reason::BadSignature,
            Rejection::TimestampOutOfRange(_) => Reason::TimestampOutOfRange,
            Rejection::CertUrlNotHttps(_) => Reason::CertUrlNotHttps,
            Rejection::CertHostNotAllowed(_) => Reason::CertHostNotAllowed,
            Rejection::BadCertificate(_) => Reason::BadCertificate,
            Rejection::CertUnavailable(_) => Reason::CertUnavailable,
            Rejection::SubscribeUrlNotAllowed(_) => Reason::SubscribeUrlNotAllowed,
            Rejection::ForeignTopic(_) => Reason::ForeignTopic,
            Rejection::TooLarge { .. } => Reason::TooLarge,
            Rejection::TooManyEvents { .. } => Reason::TooManyEvents,
            Rejection::RateLimited { .. } => Reason::RateLimited,
            Rejection::MethodNotAllowed(_) => Reason::MethodNotAllowed,
        }
    }

    /// The HTTP status the caller gets.
    pub fn status(&self) -> StatusCode {
        self.reason().status()
    }

    /// The `Retry-After` value in seconds, for a rate-limited request.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Rejection::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        }
    }

    pub(crate) fn malformed(format: &'static str, detail: impl std::fmt::Display) -> Self {
        Rejection::MalformedBody {
            format,
            detail: detail.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_snake_case_and_statuses_are_as_documented() {
        let mut names: Vec<_> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        assert!(
            names
                .iter()
                .all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        );
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Reason::ALL.len());
        assert_eq!(Reason::MalformedBody.status(), 400);
        assert_eq!(Reason::MissingSnsField.status(), 400);
        for r in [
            Reason::BadSignature,
            Reason::CertHostNotAllowed,
            Reason::CertUrlNotHttps,
            Reason::ForeignTopic,
            Reason::TimestampOutOfRange,
        ] {
            assert_eq!(r.status(), 403, "{r}");
        }
        assert_eq!(Reason::TooLarge.status(), 413);
        assert_eq!(Reason::TooManyEvents.status(), 413);
        assert_eq!(Reason::RateLimited.status(), 429);
        let limited = Rejection::RateLimited { retry_after_secs: 3 };
        assert_eq!(
            (limited.reason(), limited.retry_after_secs()),
            (Reason::RateLimited, Some(3))
        );
    }
}

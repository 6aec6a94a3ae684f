//! Slack's request signatures: `X-Slack-Signature: v0=<hex>` is HMAC-SHA256, keyed with the app's signing
//! secret, of `v0:<X-Slack-Request-Timestamp>:<raw body>`. The body is hashed exactly as received, before
//! any parsing; a timestamp more than five minutes from now is refused (a replay); the comparison takes the
//! same time whatever the bytes (aws-lc's constant-time verify).

use aws_lc_rs::hmac;

/// How far a request's timestamp may be from now.
pub const WINDOW_SECS: i64 = 300;

/// Header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-slack-signature";
/// Header carrying the timestamp.
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";

/// Why a request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No signature or timestamp header.
    #[error("the request is not signed (X-Slack-Signature and X-Slack-Request-Timestamp are required)")]
    Missing,
    /// The timestamp is not a number, or too far from now.
    #[error("the request's timestamp is missing, malformed or more than five minutes from now")]
    Stale,
    /// The signature does not match.
    #[error("the request's signature does not match")]
    Mismatch,
}

/// A signing secret; its `Debug` does not show it.
#[derive(Clone)]
pub struct SigningSecret(hmac::Key);

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(***)")
    }
}

impl SigningSecret {
    /// The secret as Slack shows it on the app's page.
    pub fn new(secret: &str) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()))
    }

    /// Checks a request: its `timestamp` and `signature` headers (`None` when absent) and raw `body`, at Unix
    /// time `now_secs`.
    pub fn verify(
        &self,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now_secs: i64,
    ) -> Result<(), SignatureError> {
        let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
            return Err(SignatureError::Missing);
        };
        let ts: i64 = timestamp.trim().parse().map_err(|_| SignatureError::Stale)?;
        // `abs_diff`, not `(now - ts).abs()`: a timestamp near i64::MIN or MAX is the sender's to choose, and the
        // subtraction would overflow.
        if now_secs.abs_diff(ts) > WINDOW_SECS.unsigned_abs() {
            return Err(SignatureError::Stale);
        }
        let given = signature
            .strip_prefix("v0=")
            .and_then(|h| hex::decode(h).ok())
            .ok_or(SignatureError::Mismatch)?;
        hmac::verify(&self.0, &base_string(timestamp, body), &given).map_err(|_| SignatureError::Mismatch)
    }

    /// The `X-Slack-Signature` value for `timestamp` and `body` (for tests and tools that sign as Slack
    /// does).
    pub fn sign(&self, timestamp: &str, body: &[u8]) -> String {
        let tag = hmac::sign(&self.0, &base_string(timestamp, body));
        format!("v0={}", hex::encode(tag.as_ref()))
    }
}

fn base_string(timestamp: &str, body: &[u8]) -> Vec<u8> {
    let mut base = Vec::with_capacity(body.len() + timestamp.len() + 4);
    base.extend_from_slice(b"v0:");
    base.extend_from_slice(timestamp.as_bytes());
    base.push(b':');
    base.extend_from_slice(body);
    base
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Slack's own example (`fixtures/slack/slack_signing_vector.json`, from Slack's docs via
    /// python-slack-sdk).
    #[test]
    fn slacks_published_vector() {
        let v: serde_json::Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/slack/slack_signing_vector.json"
        ))
        .unwrap_or_default();
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
        let secret = SigningSecret::new(&s("signing_secret"));
        let ts = s("timestamp");
        let now: i64 = ts.parse().unwrap_or_default();
        assert_eq!(secret.sign(&ts, s("body").as_bytes()), s("expected_signature"));
        assert_eq!(
            secret.verify(
                Some(&ts),
                Some(&s("expected_signature")),
                s("body").as_bytes(),
                now + 10
            ),
            Ok(())
        );
    }

    #[test]
    fn refusals() {
        let secret = SigningSecret::new("s3cret");
        let body = b"payload=%7B%7D";
        let sig = secret.sign("1000", body);
        assert_eq!(secret.verify(Some("1000"), Some(&sig), body, 1000), Ok(()));
        assert_eq!(
            secret.verify(None, Some(&sig), body, 1000),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            secret.verify(Some("1000"), None, body, 1000),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            secret.verify(Some("1000"), Some(&sig), body, 1301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            secret.verify(Some("x"), Some(&sig), body, 1000),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            secret.verify(Some("1000"), Some(&sig), b"payload=%7B%7D ", 1000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            SigningSecret::new("other").verify(Some("1000"), Some(&sig), body, 1000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            secret.verify(Some("1000"), Some("v1=00"), body, 1000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(format!("{secret:?}"), "SigningSecret(***)");
    }

    #[test]
    fn an_extreme_timestamp_is_stale_not_an_overflow() {
        // Found by the Slack property tests (any timestamp at any clock): `now - ts` overflowed, a panic in debug.
        let secret = SigningSecret::new("s3cret");
        for ts in [i64::MIN, i64::MAX, i64::MIN + 1] {
            let ts = ts.to_string();
            let sig = secret.sign(&ts, b"x");
            assert_eq!(
                secret.verify(Some(&ts), Some(&sig), b"x", 1_700_000_000),
                Err(SignatureError::Stale),
                "{ts}"
            );
        }
        assert_eq!(
            secret.verify(Some("0"), Some("v0=00"), b"x", i64::MIN),
            Err(SignatureError::Stale)
        );
    }
}

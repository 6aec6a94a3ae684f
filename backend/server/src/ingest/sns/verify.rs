//! SNS signature verification: the checks on `SigningCertURL` (https, allowed host) made before anything is
//! fetched, then RSA PKCS#1 v1.5 over the envelope's string to sign, with SHA-1 (SignatureVersion 1) or SHA-256
//! (SignatureVersion 2). Also the check of `SubscribeURL` and the confirming GET, which use the same host rule.

use std::path::PathBuf;
use std::sync::Arc;

use aws_lc_rs::signature::{self, UnparsedPublicKey};
use base64::Engine;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use url::Url;

use super::certs::{CertSource, FetchError, Fetcher, HttpFetcher};
use super::envelope::Envelope;
use crate::ingest::rejection::Rejection;

/// Default of `KLAXON_SNS_CERT_HOSTS`: SNS's regional hosts, China included.
pub const DEFAULT_CERT_HOSTS: &str = r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$";

/// SNS settings of `klaxon serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct SnsArgs {
    /// Directory of pinned SNS signing certificates, named like the last path segment of `SigningCertURL`
    /// (e.g. `SimpleNotificationService-<hash>.pem`); used instead of fetching, never rejected for their age.
    #[arg(long, env = "KLAXON_SNS_CERT_DIR")]
    pub sns_cert_dir: Option<PathBuf>,
    /// Pattern (a regular expression, matched against the whole host) of the hosts allowed in `SigningCertURL`
    /// and `SubscribeURL`.
    #[arg(long, env = "KLAXON_SNS_CERT_HOSTS", default_value = DEFAULT_CERT_HOSTS)]
    pub sns_cert_hosts: String,
    /// PEM file of extra CA certificates trusted when fetching signing certificates and confirming
    /// subscriptions, for SNS-compatible services behind a private CA (and tests). The system's roots stay
    /// trusted.
    #[arg(long, env = "KLAXON_SNS_CA_FILE")]
    pub sns_ca_file: Option<PathBuf>,
    /// Check SNS signatures (`true`, the default). `false` accepts unsigned or unverifiable SNS messages, still
    /// checking their topic against the endpoint's `allowed_topic_arns`: only for local AWS emulators such as
    /// moto, whose signing certificates cannot be fetched. Logged as a warning at start-up.
    #[arg(long, env = "KLAXON_SNS_VERIFY_SIGNATURES", default_value_t = true, action = clap::ArgAction::Set)]
    pub sns_verify_signatures: bool,
}

/// The allowed SNS hosts, always matched against the whole host name.
#[derive(Debug, Clone)]
pub struct HostPattern(regex_lite::Regex);

impl HostPattern {
    /// Compiles `pattern`. It is anchored at both ends whatever it says, so a pattern written without `^...$`
    /// cannot let `sns.us-east-1.amazonaws.com.evil.example` through.
    pub fn new(pattern: &str) -> Result<Self, regex_lite::Error> {
        regex_lite::Regex::new(&format!("^(?:{pattern})$")).map(HostPattern)
    }

    /// Whether `host` is allowed.
    pub fn matches(&self, host: &str) -> bool {
        self.0.is_match(host)
    }
}

impl Default for HostPattern {
    fn default() -> Self {
        // The default is a constant known to compile; the test below proves it.
        #[allow(clippy::unwrap_used)]
        HostPattern::new(DEFAULT_CERT_HOSTS).unwrap()
    }
}

/// A setting of [`SnsArgs`] that is wrong.
#[derive(Debug, thiserror::Error)]
pub enum SnsConfigError {
    /// `KLAXON_SNS_CERT_HOSTS` does not compile.
    #[error("invalid --sns-cert-hosts / KLAXON_SNS_CERT_HOSTS pattern: {0}")]
    Pattern(#[from] regex_lite::Error),
    /// The HTTP client could not be built.
    #[error("cannot build the SNS HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    /// `KLAXON_SNS_CA_FILE` cannot be read or holds no certificate.
    #[error("cannot use --sns-ca-file / KLAXON_SNS_CA_FILE {path}: {message}")]
    CaFile {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// How old a signed SNS message may be (its `Timestamp`, the time it was published). SNS stops retrying a
/// delivery within an hour (its retry policy is capped at 3,600 s), so a week is far more than any genuine
/// delivery needs while leaving room for a clock that is off; an older message can only be a replay. The
/// message ids kept for de-duplication are purged after this (see `store::ingest::MESSAGE_ID_RETENTION`),
/// so refusing older messages is what keeps the purge from reopening replays.
pub const MAX_MESSAGE_AGE: time::Duration = time::Duration::days(7);
/// How far in the future a signed SNS message's `Timestamp` may be: clocks differ by seconds, and AWS itself
/// allows requests 15 minutes of skew. A later time could stretch a message's life past the ids' retention.
pub const MAX_FUTURE_SKEW: time::Duration = time::Duration::minutes(15);

/// The current time, injectable so tests can verify messages signed long ago.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> OffsetDateTime + Send + Sync>);

impl Clock {
    /// The system's clock.
    pub fn system() -> Self {
        Clock(Arc::new(OffsetDateTime::now_utc))
    }

    /// A clock that reads `now` (a test's).
    pub fn from_fn(now: impl Fn() -> OffsetDateTime + Send + Sync + 'static) -> Self {
        Clock(Arc::new(now))
    }

    /// A clock stopped at `at`.
    pub fn fixed(at: OffsetDateTime) -> Self {
        Clock::from_fn(move || at)
    }

    /// What the clock says.
    pub fn now(&self) -> OffsetDateTime {
        (self.0)()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({})", self.now())
    }
}

/// Checks SNS signatures and SNS URLs; holds the certificate cache. One per process, shared by all endpoints.
#[derive(Debug)]
pub struct SnsVerifier {
    hosts: HostPattern,
    certs: CertSource,
    fetcher: Arc<dyn Fetcher>,
    clock: Clock,
}

impl SnsVerifier {
    /// A verifier with the given hosts, pinned directory and fetcher (tests pass a fake).
    pub fn new(hosts: HostPattern, cert_dir: Option<PathBuf>, fetcher: Arc<dyn Fetcher>) -> Self {
        SnsVerifier {
            hosts,
            certs: CertSource::new(cert_dir, Arc::clone(&fetcher)),
            fetcher,
            clock: Clock::system(),
        }
    }

    /// The same verifier reading the time from `clock` (tests verify messages signed long ago).
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Refuses a message whose `Timestamp` is older than [`MAX_MESSAGE_AGE`] or further ahead than
    /// [`MAX_FUTURE_SKEW`]: its id may have been purged, so it could be a replay of a message already stored.
    pub fn check_timestamp(&self, envelope: &Envelope) -> Result<(), Rejection> {
        let at = timestamp(envelope)?;
        let now = self.clock.now();
        if at < now - MAX_MESSAGE_AGE {
            return Err(Rejection::TimestampOutOfRange(format!(
                "Timestamp {} is more than {} days old (now {now}): SNS stops retrying within an hour, so this \
                 is a replay",
                envelope.timestamp,
                MAX_MESSAGE_AGE.whole_days()
            )));
        }
        if at > now + MAX_FUTURE_SKEW {
            return Err(Rejection::TimestampOutOfRange(format!(
                "Timestamp {} is more than {} minutes ahead of this server's clock (now {now})",
                envelope.timestamp,
                MAX_FUTURE_SKEW.whole_minutes()
            )));
        }
        Ok(())
    }

    /// The verifier of `klaxon serve`, fetching over HTTPS.
    pub fn from_args(args: &SnsArgs) -> Result<Self, SnsConfigError> {
        let hosts = HostPattern::new(&args.sns_cert_hosts)?;
        let extra_roots = match &args.sns_ca_file {
            Some(path) => {
                let fail = |message: String| SnsConfigError::CaFile {
                    path: path.display().to_string(),
                    message,
                };
                let pem = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
                let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| fail(e.to_string()))?;
                if certs.is_empty() {
                    return Err(fail("no PEM certificate in the file".into()));
                }
                certs
            }
            None => Vec::new(),
        };
        Ok(SnsVerifier::new(
            hosts,
            args.sns_cert_dir.clone(),
            Arc::new(HttpFetcher::with_roots(extra_roots)?),
        ))
    }

    /// `SigningCertURL` as a URL, if it is https on an allowed host (checked before any fetch).
    pub fn check_cert_url(&self, raw: &str) -> Result<Url, Rejection> {
        let url = Url::parse(raw).map_err(|_| Rejection::CertUrlNotHttps(raw.to_owned()))?;
        if url.scheme() != "https" {
            return Err(Rejection::CertUrlNotHttps(raw.to_owned()));
        }
        let host = url.host_str().unwrap_or_default();
        if !self.hosts.matches(host) {
            return Err(Rejection::CertHostNotAllowed(host.to_owned()));
        }
        Ok(url)
    }

    /// `SubscribeURL` as a URL, if it is https on an allowed host.
    pub fn check_subscribe_url(&self, raw: &str) -> Result<Url, Rejection> {
        match Url::parse(raw) {
            Ok(url) if url.scheme() == "https" && self.hosts.matches(url.host_str().unwrap_or_default()) => {
                Ok(url)
            }
            _ => Err(Rejection::SubscribeUrlNotAllowed(raw.to_owned())),
        }
    }

    /// Confirms (or, for an unsubscribe, restores) a subscription: GET on `SubscribeURL` after checking its host.
    pub async fn confirm_subscription(&self, subscribe_url: &str) -> Result<(), ConfirmError> {
        let url = self.check_subscribe_url(subscribe_url)?;
        self.fetcher.get(&url).await?;
        Ok(())
    }

    /// Checks the envelope's signature: cert URL, certificate (validity at `Timestamp` unless pinned), then RSA.
    pub async fn verify_signature(&self, envelope: &Envelope) -> Result<(), Rejection> {
        let algorithm: &'static signature::RsaParameters = match envelope.signature_version.as_str() {
            // SHA-1 only because SNS still signs version 1 with it; it is what the message's sender chose.
            "1" => &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            "2" => &signature::RSA_PKCS1_2048_8192_SHA256,
            other => return Err(Rejection::UnsupportedSignatureVersion(other.to_owned())),
        };
        let url = self.check_cert_url(&envelope.signing_cert_url)?;
        let sig = base64::engine::general_purpose::STANDARD
            .decode(envelope.signature.trim())
            .map_err(|_| Rejection::BadSignature("Signature is not base64".to_owned()))?;
        let cert = self.certs.get(&url).await?;
        if !cert.pinned {
            cert.check_valid_at(timestamp(envelope)?)?;
        }
        UnparsedPublicKey::new(algorithm, &cert.spki)
            .verify(envelope.string_to_sign().as_bytes(), &sig)
            .map_err(|_| Rejection::BadSignature(format!("not signed by the key of {url}")))
    }
}

/// The envelope's `Timestamp`.
fn timestamp(envelope: &Envelope) -> Result<OffsetDateTime, Rejection> {
    OffsetDateTime::parse(&envelope.timestamp, &Rfc3339)
        .map_err(|e| Rejection::malformed("SNS message", format!("Timestamp: {e}")))
}

/// Why a subscription could not be confirmed.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    /// `SubscribeURL` is not allowed.
    #[error(transparent)]
    NotAllowed(#[from] Rejection),
    /// The GET failed.
    #[error("confirming the subscription failed: {0}")]
    Fetch(#[from] FetchError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::rejection::Reason;
    use crate::ingest::sns::certs::tests::FakeFetcher;
    use crate::ingest::test_fixtures::{dir, fixture_json, fixture_names};
    use std::sync::atomic::Ordering;

    fn envelope(rel: &str) -> Envelope {
        Envelope::from_json(&fixture_json(rel), None).unwrap()
    }

    fn pinned(sub: &str) -> (SnsVerifier, Arc<FakeFetcher>) {
        let fetcher = Arc::new(FakeFetcher::default());
        (
            SnsVerifier::new(HostPattern::default(), Some(dir().join(sub)), fetcher.clone()),
            fetcher,
        )
    }

    /// Every signed field, for the one-byte tamper test.
    fn tamper(env: &Envelope) -> Vec<(&'static str, Envelope)> {
        let flip = |s: &mut String| {
            let mut bytes = std::mem::take(s).into_bytes();
            bytes[0] ^= 0x01;
            *s = String::from_utf8(bytes).unwrap();
        };
        let mut out = Vec::new();
        let mut edit = |name: &'static str, f: &dyn Fn(&mut Envelope)| {
            let mut e = env.clone();
            f(&mut e);
            out.push((name, e));
        };
        edit("Message", &|e| flip(&mut e.message));
        edit("MessageId", &|e| flip(&mut e.message_id));
        edit("Timestamp", &|e| flip(&mut e.timestamp));
        edit("TopicArn", &|e| flip(&mut e.topic_arn));
        if env.subject.is_some() {
            edit("Subject", &|e| flip(e.subject.as_mut().unwrap()));
        }
        if env.token.is_some() {
            edit("Token", &|e| flip(e.token.as_mut().unwrap()));
            edit("SubscribeURL", &|e| e.subscribe_url.as_mut().unwrap().push('x'));
        }
        out
    }

    #[tokio::test]
    async fn real_aws_messages_verify_with_their_expired_pinned_certs_and_fail_when_touched() {
        let (verifier, fetcher) = pinned("sns-signed-real");
        let names = fixture_names("sns-signed-real", ".json");
        assert_eq!(names.len(), 10);
        for name in names {
            let env = envelope(&format!("sns-signed-real/{name}"));
            verifier
                .verify_signature(&env)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            for (field, bad) in tamper(&env) {
                let err = verifier.verify_signature(&bad).await.unwrap_err();
                assert_eq!(err.reason(), Reason::BadSignature, "{name} with {field} changed");
            }
        }
        assert_eq!(
            fetcher.calls.load(Ordering::SeqCst),
            0,
            "pinned certificates are never fetched"
        );
    }

    #[tokio::test]
    async fn the_self_signed_set_verifies_with_its_pinned_cert_and_fails_when_touched() {
        let (verifier, _) = pinned("sns-signed-test");
        for name in fixture_names("sns-signed-test", ".json") {
            let env = envelope(&format!("sns-signed-test/{name}"));
            verifier
                .verify_signature(&env)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            for (field, bad) in tamper(&env) {
                let err = verifier.verify_signature(&bad).await.unwrap_err();
                assert_eq!(err.reason(), Reason::BadSignature, "{name} with {field} changed");
            }
            // MessageAttributes and UnsubscribeURL are not signed: changing them changes nothing.
            let mut unsigned = env.clone();
            unsigned.message_attributes.insert("x".into(), "y".into());
            unsigned.unsubscribe_url = Some("https://example.com/".into());
            verifier.verify_signature(&unsigned).await.unwrap();
        }
    }

    #[tokio::test]
    async fn the_payload_fixtures_signed_by_aws_verify_and_badsig_is_rejected() {
        let (verifier, _) = pinned("sns-signed-real");
        for name in fixture_names("payloads", ".json")
            .into_iter()
            .filter(|n| n.contains(".signed."))
        {
            verifier
                .verify_signature(&envelope(&format!("payloads/{name}")))
                .await
                .unwrap();
        }
        let bad = envelope("payloads/eventbridge-aws-health.via-sns-http.BADSIG.cloudforet-5.json");
        assert_eq!(
            verifier.verify_signature(&bad).await.unwrap_err().reason(),
            Reason::BadSignature
        );
    }

    #[tokio::test]
    async fn a_fetched_cert_is_used_when_valid_at_the_message_time_and_cached() {
        let fetcher = Arc::new(FakeFetcher::serving(&[
            "sns-signed-real/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem",
        ]));
        let verifier = SnsVerifier::new(HostPattern::default(), None, fetcher.clone());
        for name in [
            "aws-php-2022-notification-1-sigv1.json",
            "aws-php-2022-notification-2-sigv2.json",
        ] {
            verifier
                .verify_signature(&envelope(&format!("sns-signed-real/{name}")))
                .await
                .unwrap();
        }
        assert_eq!(fetcher.calls.load(Ordering::SeqCst), 1);
        // The BADSIG message is dated inside the certificate's validity: it fails on the signature itself.
        let bad = envelope("payloads/eventbridge-aws-health.via-sns-http.BADSIG.cloudforet-5.json");
        assert_eq!(
            verifier.verify_signature(&bad).await.unwrap_err().reason(),
            Reason::BadSignature
        );
        // Dated after the fetched certificate expired.
        let mut late = envelope("sns-signed-real/aws-php-2022-notification-1-sigv1.json");
        late.timestamp = "2023-01-01T00:00:00.000Z".into();
        assert_eq!(
            verifier.verify_signature(&late).await.unwrap_err().reason(),
            Reason::BadCertificate
        );
    }

    #[tokio::test]
    async fn http_and_foreign_cert_urls_are_rejected_without_any_fetch() {
        let fetcher = Arc::new(FakeFetcher::default());
        let verifier = SnsVerifier::new(HostPattern::default(), None, fetcher.clone());
        let env = envelope("sns-signed-real/aws-php-2022-notification-1-sigv1.json");
        let cases = [
            (
                "http://sns.us-east-2.amazonaws.com/SimpleNotificationService-x.pem",
                Reason::CertUrlNotHttps,
            ),
            ("not a url", Reason::CertUrlNotHttps),
            (
                "https://evil.example.com/SimpleNotificationService-x.pem",
                Reason::CertHostNotAllowed,
            ),
            (
                "https://sns.us-east-2.amazonaws.com.evil.example/x.pem",
                Reason::CertHostNotAllowed,
            ),
            (
                "https://sns.us-east-2.amazonaws.com@evil.example/x.pem",
                Reason::CertHostNotAllowed,
            ),
            ("https://s3.amazonaws.com/x.pem", Reason::CertHostNotAllowed),
        ];
        for (url, reason) in cases {
            let mut e = env.clone();
            e.signing_cert_url = url.into();
            assert_eq!(
                verifier.verify_signature(&e).await.unwrap_err().reason(),
                reason,
                "{url}"
            );
        }
        let mut v3 = env;
        v3.signature_version = "3".into();
        assert_eq!(
            verifier.verify_signature(&v3).await.unwrap_err().reason(),
            Reason::UnsupportedSignatureVersion
        );
        assert_eq!(fetcher.calls.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn subscribe_url_must_be_https_on_an_allowed_host() {
        let fetcher = Arc::new(FakeFetcher::default());
        let verifier = SnsVerifier::new(HostPattern::default(), None, fetcher.clone());
        let good = "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&Token=x";
        assert!(verifier.check_subscribe_url(good).is_ok());
        assert!(
            verifier
                .check_subscribe_url("https://sns.cn-north-1.amazonaws.com.cn/?Action=x")
                .is_ok()
        );
        for bad in [
            "http://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription",
            "https://sns.us-west-2.amazonaws.com.evil.example/",
            "https://evil.example/?https://sns.us-west-2.amazonaws.com/",
            "/relative",
        ] {
            let err = verifier.confirm_subscription(bad).await.unwrap_err();
            assert!(
                matches!(
                    err,
                    ConfirmError::NotAllowed(Rejection::SubscribeUrlNotAllowed(_))
                ),
                "{bad}"
            );
        }
        assert_eq!(fetcher.calls.load(Ordering::SeqCst), 0);
        // An allowed URL is fetched (the fake answers 404: the error says so).
        assert!(matches!(
            verifier.confirm_subscription(good).await,
            Err(ConfirmError::Fetch(FetchError::Status(404)))
        ));
    }

    #[test]
    fn host_patterns_are_anchored_and_configurable() {
        let default = HostPattern::default();
        assert!(default.matches("sns.eu-west-1.amazonaws.com"));
        assert!(!default.matches("sns.eu-west-1.amazonaws.com.cn.evil"));
        let loose = HostPattern::new(r"sns\.local").unwrap();
        assert!(loose.matches("sns.local") && !loose.matches("xsns.local") && !loose.matches("sns.local.x"));
        assert!(HostPattern::new("(").is_err());
    }
}

//! SNS signing certificates: where they come from (a directory of pinned certificates, else an HTTPS fetch
//! through an injectable [`Fetcher`]), the in-memory cache, and the two facts we take from each: the RSA public
//! key and the validity period.
//!
//! Pinned certificates (`KLAXON_SNS_CERT_DIR`, file name = the URL's last path segment) are trusted as the
//! operator's choice and never rejected for their dates: air-gapped sites and tests verify old messages with
//! certificates that expired long ago. A fetched certificate must be valid at the message's `Timestamp`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};
use url::Url;

use crate::ingest::rejection::Rejection;

/// Fetches stay well under SNS's 15 s delivery timeout, so a slow certificate host cannot make SNS give up.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// A certificate is a few KiB; more is not a certificate.
const MAX_CERT_BYTES: usize = 64 * 1024;
/// AWS has a handful of signing certificates at a time; the cap only guards against a flood of made-up URLs.
const MAX_CACHED: usize = 64;

/// A failed GET.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The server answered with a non-2xx status.
    #[error("HTTP status {0}")]
    Status(u16),
    /// No answer: connection, TLS, timeout, or a body over the size limit.
    #[error("{0}")]
    Transport(String),
}

/// HTTP GETs, injectable so tests run offline. Used for signing certificates and for confirming subscriptions.
#[async_trait]
pub trait Fetcher: Send + Sync {
    /// GETs `url` and returns the body of a 2xx answer.
    async fn get(&self, url: &Url) -> Result<Vec<u8>, FetchError>;
}

// So that holders of a fetcher (the verifier) can derive Debug; a fetcher has nothing worth printing.
impl std::fmt::Debug for dyn Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fetcher")
    }
}

/// The real [`Fetcher`]: reqwest with a short timeout and no redirects (a redirect could leave the allowed hosts).
#[derive(Debug, Clone)]
pub struct HttpFetcher {
    client: reqwest::Client,
}

impl HttpFetcher {
    /// A fetcher with its own client, trusting the system's roots.
    pub fn new() -> Result<Self, reqwest::Error> {
        Self::with_roots(Vec::new())
    }

    /// A fetcher that also trusts `extra_roots` (a private CA of an SNS-compatible service).
    pub fn with_roots(extra_roots: Vec<reqwest::Certificate>) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .https_only(true)
            .tls_certs_merge(extra_roots)
            .build()?;
        Ok(HttpFetcher { client })
    }

    /// The client, for other SNS calls that need the same policy.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }
}

#[async_trait]
impl Fetcher for HttpFetcher {
    async fn get(&self, url: &Url) -> Result<Vec<u8>, FetchError> {
        let transport = |e: reqwest::Error| FetchError::Transport(e.without_url().to_string());
        let response = self.client.get(url.clone()).send().await.map_err(transport)?;
        if !response.status().is_success() {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        let body = response.bytes().await.map_err(transport)?;
        if body.len() > MAX_CERT_BYTES {
            return Err(FetchError::Transport(format!("body over {MAX_CERT_BYTES} bytes")));
        }
        Ok(body.to_vec())
    }
}

/// What verification needs of a signing certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningCert {
    /// The DER SubjectPublicKeyInfo (an RSA key).
    pub spki: Vec<u8>,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// Loaded from the pinned directory: dates are not checked.
    pub pinned: bool,
}

impl SigningCert {
    /// Reads a PEM or DER certificate and checks it holds an RSA key.
    pub fn parse(bytes: &[u8], pinned: bool) -> Result<Self, Rejection> {
        let bad = |what: &str| Rejection::BadCertificate(what.to_owned());
        let der = if bytes.first() == Some(&0x30) {
            CertificateDer::from(bytes.to_vec())
        } else {
            CertificateDer::from_pem_slice(bytes).map_err(|e| bad(&format!("not a PEM certificate: {e}")))?
        };
        let cert = webpki::EndEntityCert::try_from(&der).map_err(|e| bad(&format!("not X.509: {e}")))?;
        let spki = cert.subject_public_key_info().as_ref().to_vec();
        aws_lc_rs::rsa::PublicEncryptingKey::from_der(&spki).map_err(|_| bad("the key is not RSA"))?;
        let (not_before, not_after) = validity(&der).ok_or_else(|| bad("unreadable validity dates"))?;
        Ok(SigningCert {
            spki,
            not_before,
            not_after,
            pinned,
        })
    }

    /// Refuses a fetched certificate outside its validity at `at`; a pinned one always passes.
    pub fn check_valid_at(&self, at: OffsetDateTime) -> Result<(), Rejection> {
        if self.pinned || (self.not_before <= at && at <= self.not_after) {
            return Ok(());
        }
        Err(Rejection::BadCertificate(format!(
            "not valid at {at} (valid {} to {})",
            self.not_before, self.not_after
        )))
    }
}

/// Signing certificates by URL: pinned directory first, then the fetcher; both cached in memory.
pub struct CertSource {
    dir: Option<PathBuf>,
    fetcher: Arc<dyn Fetcher>,
    cache: Mutex<HashMap<String, Arc<SigningCert>>>,
}

impl std::fmt::Debug for CertSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertSource")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl CertSource {
    /// A source reading pinned certificates from `dir` (if any) and fetching the rest with `fetcher`.
    pub fn new(dir: Option<PathBuf>, fetcher: Arc<dyn Fetcher>) -> Self {
        CertSource {
            dir,
            fetcher,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The certificate at `url` (already checked against the allowed hosts).
    pub async fn get(&self, url: &Url) -> Result<Arc<SigningCert>, Rejection> {
        let key = url.as_str().to_owned();
        if let Some(cert) = self.lock().get(&key) {
            return Ok(Arc::clone(cert));
        }
        let cert = Arc::new(match self.pinned(url).await? {
            Some(cert) => cert,
            None => {
                let body = self
                    .fetcher
                    .get(url)
                    .await
                    .map_err(|e| Rejection::CertUnavailable(format!("GET {url}: {e}")))?;
                SigningCert::parse(&body, false)?
            }
        });
        let mut cache = self.lock();
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(key, Arc::clone(&cert));
        Ok(cert)
    }

    /// The pinned certificate named like the URL's last path segment, if the directory has one.
    async fn pinned(&self, url: &Url) -> Result<Option<SigningCert>, Rejection> {
        let Some(dir) = &self.dir else { return Ok(None) };
        let name = url
            .path_segments()
            .and_then(|mut s| s.next_back())
            .unwrap_or_default();
        // Only plain file names: the URL must not be able to reach outside the directory.
        let plain = !name.is_empty()
            && !name.starts_with('.')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if !plain {
            return Ok(None);
        }
        match tokio::fs::read(dir.join(name)).await {
            Ok(bytes) => SigningCert::parse(&bytes, true).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Rejection::CertUnavailable(format!("reading pinned {name}: {e}"))),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<SigningCert>>> {
        // A poisoned cache is still a valid cache.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The validity dates of a DER certificate. webpki checks dates only while building a chain to a root, which
/// pinned certificates have not; so this walks the few DER elements before `validity` itself.
fn validity(der: &[u8]) -> Option<(OffsetDateTime, OffsetDateTime)> {
    let (_, cert, _) = tlv(der)?;
    let (_, mut tbs, _) = tlv(cert)?;
    let (tag, _, rest) = tlv(tbs)?;
    if tag == 0xA0 {
        tbs = rest; // explicit version
    }
    for _ in 0..3 {
        tbs = tlv(tbs)?.2; // serialNumber, signature, issuer
    }
    let (_, validity, _) = tlv(tbs)?;
    let (tag1, before, rest) = tlv(validity)?;
    let (tag2, after, _) = tlv(rest)?;
    Some((der_time(tag1, before)?, der_time(tag2, after)?))
}

/// One DER element: (tag, content, rest).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// UTCTime (`YYMMDDHHMMSSZ`, years 1950-2049) or GeneralizedTime (`YYYYMMDDHHMMSSZ`).
fn der_time(tag: u8, content: &[u8]) -> Option<OffsetDateTime> {
    let text = std::str::from_utf8(content).ok()?.strip_suffix('Z')?;
    // Byte slicing below is only sound on ASCII: a certificate may say anything here, `é` included.
    if !text.is_ascii() {
        return None;
    }
    let (year, rest) = match tag {
        0x17 if text.len() == 12 => {
            let yy: i32 = text[..2].parse().ok()?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &text[2..])
        }
        0x18 if text.len() == 14 => (text[..4].parse().ok()?, &text[4..]),
        _ => return None,
    };
    let num = |i: usize| rest.get(i..i + 2)?.parse::<u8>().ok();
    let date = Date::from_calendar_date(year, Month::try_from(num(0)?).ok()?, num(2)?).ok()?;
    let time = Time::from_hms(num(4)?, num(6)?, num(8)?).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ingest::test_fixtures::{dir, fixture};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use time::macros::datetime;

    /// A fetcher serving fixture files by the URL's file name, counting calls.
    #[derive(Default)]
    pub(crate) struct FakeFetcher {
        pub(crate) files: HashMap<String, Vec<u8>>,
        pub(crate) calls: AtomicUsize,
    }

    impl FakeFetcher {
        pub(crate) fn serving(rel_paths: &[&str]) -> Self {
            let files = rel_paths
                .iter()
                .map(|p| (p.rsplit('/').next().unwrap().to_owned(), fixture(p).into_bytes()))
                .collect();
            FakeFetcher {
                files,
                calls: AtomicUsize::new(0),
            }
        }
    }

    #[async_trait]
    impl Fetcher for FakeFetcher {
        async fn get(&self, url: &Url) -> Result<Vec<u8>, FetchError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let name = url
                .path_segments()
                .and_then(|mut s| s.next_back())
                .unwrap_or_default();
            self.files.get(name).cloned().ok_or(FetchError::Status(404))
        }
    }

    const REAL_2022: &str = "sns-signed-real/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem";

    #[test]
    fn reads_validity_of_the_real_and_test_certificates() {
        let real = SigningCert::parse(fixture(REAL_2022).as_bytes(), false).unwrap();
        assert_eq!(real.not_before, datetime!(2021-09-07 00:00:00 UTC));
        assert_eq!(real.not_after, datetime!(2022-08-17 23:59:59 UTC));
        let test = SigningCert::parse(
            fixture("sns-signed-test/SimpleNotificationService-test.pem").as_bytes(),
            true,
        )
        .unwrap();
        assert_eq!(test.not_after, datetime!(2035-12-30 00:00:00 UTC));
        assert!(real.check_valid_at(datetime!(2022-02-18 08:34:39 UTC)).is_ok());
        let expired = real
            .check_valid_at(datetime!(2026-01-01 00:00:00 UTC))
            .unwrap_err();
        assert_eq!(expired.reason(), crate::ingest::rejection::Reason::BadCertificate);
        let pinned = SigningCert { pinned: true, ..real };
        assert!(pinned.check_valid_at(datetime!(2026-01-01 00:00:00 UTC)).is_ok());
    }

    #[test]
    fn a_time_with_non_ascii_text_is_unreadable_not_a_panic() {
        // Found by the ingest property tests: `1é...` is 12 bytes, and slicing its first two bytes split `é`.
        assert_eq!(der_time(0x17, "1é345678901Z".as_bytes()), None);
        assert_eq!(der_time(0x18, "20é2345678901Z".as_bytes()), None);
        assert!(der_time(0x17, b"220817235959Z").is_some());
    }

    #[test]
    fn garbage_is_a_bad_certificate() {
        for junk in [&b"not a cert"[..], b"\x30\x03\x02\x01\x00", b""] {
            assert!(matches!(
                SigningCert::parse(junk, true),
                Err(Rejection::BadCertificate(_))
            ));
        }
    }

    #[tokio::test]
    async fn fetched_once_then_cached_and_pinned_wins_without_fetch() {
        let fetcher = Arc::new(FakeFetcher::serving(&[REAL_2022]));
        let source = CertSource::new(None, fetcher.clone());
        let url = Url::parse("https://sns.us-east-2.amazonaws.com/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem")
            .unwrap();
        let first = source.get(&url).await.unwrap();
        let again = source.get(&url).await.unwrap();
        assert!(Arc::ptr_eq(&first, &again) && !first.pinned);
        assert_eq!(fetcher.calls.load(Ordering::SeqCst), 1);

        let missing =
            Url::parse("https://sns.us-east-2.amazonaws.com/SimpleNotificationService-nope.pem").unwrap();
        let err = source.get(&missing).await.unwrap_err();
        assert_eq!(err.reason(), crate::ingest::rejection::Reason::CertUnavailable);

        let fetcher = Arc::new(FakeFetcher::default());
        let pinned = CertSource::new(Some(dir().join("sns-signed-real")), fetcher.clone());
        assert!(pinned.get(&url).await.unwrap().pinned);
        assert_eq!(fetcher.calls.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_url_cannot_name_a_file_outside_the_pinned_directory() {
        let fetcher = Arc::new(FakeFetcher::default());
        let source = CertSource::new(Some(dir().join("sns-signed-real")), fetcher.clone());
        for url in [
            "https://sns.us-east-1.amazonaws.com/..",
            "https://sns.us-east-1.amazonaws.com/.hidden",
        ] {
            let err = source.get(&Url::parse(url).unwrap()).await.unwrap_err();
            assert_eq!(
                err.reason(),
                crate::ingest::rejection::Reason::CertUnavailable,
                "{url}"
            );
        }
    }
}

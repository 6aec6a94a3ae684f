//! SNS as a test peer: messages signed with the test signing key (as SNS signs, SignatureVersion 2), and a
//! local HTTPS stand-in for the host of `SubscribeURL` that records the confirmations it receives.

use std::{
    io::{Read as _, Write as _},
    net::TcpListener,
    path::Path,
    sync::{Arc, Mutex},
};

use aws_lc_rs::{rand::SystemRandom, signature};
use base64::Engine as _;

/// An SNS `Timestamp` (`2026-11-27T01:00:02.000Z`) `offset_ms` after now: Klaxon refuses signed messages
/// older than a week, so messages signed by tests carry the time they are sent.
pub fn timestamp_now(offset_ms: u64) -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_millis()
        + u128::from(offset_ms);
    let (days, ms_of_day) = (i64::try_from(ms / 86_400_000).expect("days"), ms % 86_400_000);
    // Days since 1970-01-01 to a civil date (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s, milli) = (
        ms_of_day / 3_600_000,
        ms_of_day / 60_000 % 60,
        ms_of_day / 1000 % 60,
        ms_of_day % 1000,
    );
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

/// Signs SNS messages with the test key of `tests/fixtures`.
#[derive(Debug)]
pub struct Signer {
    key: signature::RsaKeyPair,
}

/// The `SigningCertURL` of the test certificate (pin `tests/fixtures/SimpleNotificationService-test.pem`).
pub const TEST_CERT_URL: &str = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem";

impl Signer {
    /// Loads the test key.
    pub fn test_key() -> Self {
        let pem = std::fs::read(crate::workspace_root().join("tests/fixtures/signing-key.TEST-ONLY.pem"))
            .expect("test key");
        let der = rustls_pemfile::private_key(&mut pem.as_slice())
            .expect("PEM")
            .expect("a private key");
        let key = signature::RsaKeyPair::from_pkcs8(der.secret_der()).expect("PKCS#8 RSA key");
        Self { key }
    }

    /// A signed SNS message of `fields` (`Type` among them), with the SNS string to sign of its type.
    pub fn sign(&self, fields: &[(&str, &str)]) -> serde_json::Value {
        let get = |k: &str| fields.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
        let keys: &[&str] = match get("Type") {
            Some("Notification") => &["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
            _ => &[
                "Message",
                "MessageId",
                "SubscribeURL",
                "Timestamp",
                "Token",
                "TopicArn",
                "Type",
            ],
        };
        let mut to_sign = String::new();
        for k in keys {
            if let Some(v) = get(k) {
                to_sign.push_str(&format!("{k}\n{v}\n"));
            }
        }
        let mut sig = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                to_sign.as_bytes(),
                &mut sig,
            )
            .expect("sign");
        let mut msg: serde_json::Map<String, serde_json::Value> = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String((*v).to_owned())))
            .collect();
        msg.insert("SignatureVersion".into(), "2".into());
        msg.insert(
            "Signature".into(),
            base64::engine::general_purpose::STANDARD.encode(sig).into(),
        );
        msg.insert("SigningCertURL".into(), TEST_CERT_URL.into());
        serde_json::Value::Object(msg)
    }
}

/// A local HTTPS server standing in for SNS's `SubscribeURL` host; answers 200 to every GET and records the
/// request lines. Its CA certificate (PEM) is written to `ca_file` for `KLAXON_SNS_CA_FILE`.
#[derive(Debug)]
pub struct ConfirmStandIn {
    /// `https://127.0.0.1:PORT`.
    pub url: String,
    /// Request lines received (`GET /?Action=ConfirmSubscription&... HTTP/1.1`).
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl ConfirmStandIn {
    /// Starts it on a thread; it lives as long as the test process.
    pub fn start(ca_file: &Path) -> Self {
        let key = rcgen::KeyPair::generate().expect("key");
        let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("params");
        let cert = params.self_signed(&key).expect("self-signed cert");
        std::fs::write(ca_file, cert.pem()).expect("write CA file");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocols")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .expect("server config");
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!(
            "https://127.0.0.1:{}",
            listener.local_addr().expect("addr").port()
        );
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let Ok(conn) = rustls::ServerConnection::new(Arc::clone(&config)) else {
                    continue;
                };
                let mut tls = rustls::StreamOwned::new(conn, stream);
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && tls.read(&mut byte).map(|n| n == 1).unwrap_or(false) {
                    head.push(byte[0]);
                }
                let text = String::from_utf8_lossy(&head);
                if let Some(line) = text.lines().next() {
                    seen.lock().expect("lock").push(line.to_owned());
                }
                let body = "<ConfirmSubscriptionResponse><ConfirmSubscriptionResult><SubscriptionArn>arn:aws:sns:us-east-1:123456789012:alerts:1</SubscriptionArn></ConfirmSubscriptionResult></ConfirmSubscriptionResponse>";
                let _ = write!(
                    tls,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.flush();
                tls.conn.send_close_notify();
                let _ = tls.flush();
            }
        });
        Self { url, requests }
    }
}

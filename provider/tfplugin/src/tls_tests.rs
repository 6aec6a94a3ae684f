use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

/// A certificate like terraform's AutoMTLS client certificate: P-521, CA:TRUE, used as an end entity.
fn terraform_like_cert() -> (CertificateDer<'static>, PrivatePkcs8KeyDer<'static>, String) {
    use rcgen::{BasicConstraints, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose};
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyCertSign];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ClientAuth,
        ExtendedKeyUsagePurpose::ServerAuth,
    ];
    let cert = params.self_signed(&key).unwrap();
    (
        cert.der().clone(),
        PrivatePkcs8KeyDer::from(key.serialize_der()),
        cert.pem(),
    )
}

#[test]
fn pem_parsing() {
    let (der, _, pem) = terraform_like_cert();
    assert_eq!(parse_client_cert(&pem).unwrap(), der);
    assert!(matches!(
        parse_client_cert("nothing here"),
        Err(TlsError::NoClientCert)
    ));
}

#[test]
fn verifier_accepts_only_the_pinned_certificate() {
    let (pinned, _, _) = terraform_like_cert();
    let (other, _, _) = terraform_like_cert();
    let verifier = PinnedClientCertVerifier::new(pinned.clone(), &crypto_provider());
    assert!(verifier.client_auth_mandatory());
    assert!(verifier.verify_client_cert(&pinned, &[], UnixTime::now()).is_ok());
    assert!(verifier.verify_client_cert(&other, &[], UnixTime::now()).is_err());
    assert!(
        verifier
            .supported_verify_schemes()
            .contains(&SignatureScheme::ECDSA_NISTP521_SHA512)
    );
}

/// Test client side: trusts exactly the server certificate (as Go does with RootCAs = that certificate).
#[derive(Debug)]
struct PinnedServer(CertificateDer<'static>, WebPkiSupportedAlgorithms);

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        assert_eq!(end_entity.as_ref(), self.0.as_ref());
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.1)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.1)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.1.supported_schemes()
    }
}

async fn handshake(
    pinned: CertificateDer<'static>,
    presented: Option<(CertificateDer<'static>, PrivatePkcs8KeyDer<'static>)>,
) -> Result<Vec<u8>, String> {
    let identity = ServerIdentity::generate().unwrap();
    let server = tokio_rustls::TlsAcceptor::from(server_config(&identity, pinned).unwrap());
    let provider = crypto_provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedServer(
            identity.cert.clone(),
            provider.signature_verification_algorithms,
        )));
    let mut config = match presented {
        Some((cert, key)) => builder
            .with_client_auth_cert(vec![cert], PrivateKeyDer::Pkcs8(key))
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let client = tokio_rustls::TlsConnector::from(Arc::new(config));
    let (a, b) = tokio::io::duplex(64 * 1024);
    let server_side = tokio::spawn(async move {
        let mut stream = server.accept(a).await.map_err(|e| e.to_string())?;
        let alpn = stream
            .get_ref()
            .1
            .alpn_protocol()
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        let mut buf = [0u8; 4];
        stream.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
        Ok::<_, String>(alpn)
    });
    let name = ServerName::try_from("localhost").unwrap();
    let client_stream = match client.connect(name, b).await {
        Ok(mut stream) => {
            // TLS 1.3 reports client-auth failures only after the client's first write.
            let _ = stream.write_all(b"ping").await;
            let _ = stream.flush().await;
            Some(stream)
        }
        Err(_) => None,
    };
    // Keep the client open until the server is done (it still writes session tickets).
    let result = server_side.await.unwrap();
    drop(client_stream);
    result
}

#[tokio::test]
async fn handshake_with_the_pinned_p521_certificate_succeeds_with_alpn_h2() {
    let (cert, key, _) = terraform_like_cert();
    let alpn = handshake(cert.clone(), Some((cert, key))).await.unwrap();
    assert_eq!(alpn, b"h2");
}

#[tokio::test]
async fn handshake_with_another_certificate_fails() {
    let (pinned, _, _) = terraform_like_cert();
    let (other, other_key, _) = terraform_like_cert();
    let err = handshake(pinned, Some((other, other_key))).await.unwrap_err();
    assert!(err.contains("UnknownIssuer") || err.contains("unknown"), "{err}");
}

#[tokio::test]
async fn handshake_without_a_client_certificate_fails() {
    let (pinned, _, _) = terraform_like_cert();
    let err = handshake(pinned, None).await.unwrap_err();
    assert!(err.to_lowercase().contains("certificate"), "{err}");
}

/// Startup cost probe (run alone, in a fresh process): `cargo test -p tfplugin --lib startup_cost -- --ignored --nocapture`.
#[test]
#[ignore = "timing probe"]
fn startup_cost() {
    let t = std::time::Instant::now();
    let mut buf = [0u8; 32];
    crypto_provider().secure_random.fill(&mut buf).unwrap();
    let rand = t.elapsed();
    let t = std::time::Instant::now();
    let _ = ServerIdentity::generate().unwrap();
    let first = t.elapsed();
    let t = std::time::Instant::now();
    let _ = ServerIdentity::generate().unwrap();
    let second = t.elapsed();
    eprintln!("first RNG use {rand:?}, first cert {first:?}, second cert {second:?}");
}

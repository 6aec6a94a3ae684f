//! AutoMTLS: the server certificate printed in the handshake, and the client certificate pinned from
//! `PLUGIN_CLIENT_CERT`.
//!
//! Terraform makes a fresh self-signed ECDSA P-521 certificate per plugin process (CA:TRUE, used as an end-entity
//! certificate), hands it to the plugin in `PLUGIN_CLIENT_CERT`, and trusts exactly the certificate the plugin
//! prints. rustls' webpki verifier rejects a CA certificate used as an end entity, so client authentication uses
//! a verifier pinned to the exact DER terraform sent, which still checks the handshake signature with the crypto
//! provider (aws-lc-rs: ring lacks P-521, and with ring Go silently sends no client certificate at all).

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms, aws_lc_rs};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};

/// Setting up TLS failed.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// `PLUGIN_CLIENT_CERT` held no PEM certificate.
    #[error("PLUGIN_CLIENT_CERT holds no PEM certificate")]
    NoClientCert,
    /// `PLUGIN_CLIENT_CERT` was not valid PEM.
    #[error("PLUGIN_CLIENT_CERT is not valid PEM: {0}")]
    Pem(#[from] std::io::Error),
    /// Generating the server certificate failed.
    #[error("cannot generate the server certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    /// rustls rejected the configuration.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The server's self-signed certificate and key.
pub(crate) struct ServerIdentity {
    pub(crate) cert: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
}

impl ServerIdentity {
    /// Generates a certificate like go-plugin's (SAN `localhost`, CA:TRUE with certSign, serverAuth).
    ///
    /// The key is Ed25519 from an OS-random seed: Ed25519 signing is deterministic, so neither the key nor the
    /// certificate touches aws-lc's random generator, whose first use costs ~65 ms (CPU jitter entropy
    /// collection) and would otherwise sit between process start and the handshake line. Go accepts Ed25519
    /// certificates in TLS 1.2 and 1.3. Without an OS seed it falls back to P-256 from aws-lc's generator.
    pub(crate) fn generate() -> Result<Self, TlsError> {
        let key = match os_seed() {
            Some(seed) => {
                let pkcs8 = PrivatePkcs8KeyDer::from(ed25519_pkcs8(&seed));
                rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, &rcgen::PKCS_ED25519)?
            }
            None => rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?,
        };
        Self::self_signed(&key)
    }

    fn self_signed(key: &rcgen::KeyPair) -> Result<Self, TlsError> {
        use rcgen::{BasicConstraints, DnType, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose};
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()])?;
        params.distinguished_name.push(DnType::CommonName, "localhost");
        params
            .distinguished_name
            .push(DnType::OrganizationName, "tfplugin");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::KeyAgreement,
            KeyUsagePurpose::KeyCertSign,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = params.self_signed(key)?;
        Ok(Self {
            cert: cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
        })
    }
}

/// 32 bytes from the OS generator, read directly (cheap, no crypto library initialisation).
fn os_seed() -> Option<[u8; 32]> {
    use std::io::Read as _;
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .ok()?;
    Some(seed)
}

/// PKCS#8 v1 wrapping of an Ed25519 seed (RFC 8410): a fixed prefix, then the 32 seed bytes.
fn ed25519_pkcs8(seed: &[u8; 32]) -> Vec<u8> {
    const PREFIX: [u8; 16] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    ];
    let mut der = PREFIX.to_vec();
    der.extend_from_slice(seed);
    der
}

/// Starts aws-lc's random generator on another thread, so its one-time entropy initialisation overlaps with
/// printing the handshake and terraform dialling instead of delaying the first TLS handshake by its full cost.
pub(crate) fn warm_up_rng() {
    let _ = std::thread::Builder::new().name("rng-warm-up".into()).spawn(|| {
        let mut byte = [0u8; 1];
        let _ = aws_lc_rs::default_provider().secure_random.fill(&mut byte);
    });
}

/// Parses the first certificate of the PEM in `PLUGIN_CLIENT_CERT`.
pub(crate) fn parse_client_cert(pem: &str) -> Result<CertificateDer<'static>, TlsError> {
    let mut reader = pem.as_bytes();
    match rustls_pemfile::certs(&mut reader).next() {
        Some(cert) => Ok(cert?),
        None => Err(TlsError::NoClientCert),
    }
}

/// The crypto provider: aws-lc-rs, for P-521 client signatures.
pub(crate) fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(aws_lc_rs::default_provider())
}

/// Accepts exactly one client certificate (byte-equal to the pinned DER) and verifies the handshake signature
/// made with its key.
#[derive(Debug)]
pub(crate) struct PinnedClientCertVerifier {
    pinned: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedClientCertVerifier {
    pub(crate) fn new(pinned: CertificateDer<'static>, provider: &CryptoProvider) -> Self {
        Self {
            pinned,
            algorithms: provider.signature_verification_algorithms,
        }
    }
}

impl ClientCertVerifier for PinnedClientCertVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    // No CA hints: Go then offers its certificate whatever the issuer.
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        // Pinning replaces chain building and validity dates: terraform handed us this exact certificate.
        if end_entity.as_ref() == self.pinned.as_ref() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The rustls server configuration: mandatory pinned client auth, ALPN `h2` (newer grpc-go insists on it).
pub(crate) fn server_config(
    identity: &ServerIdentity,
    client_cert: CertificateDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = crypto_provider();
    let verifier = Arc::new(PinnedClientCertVerifier::new(client_cert, &provider));
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![identity.cert.clone()],
            PrivateKeyDer::Pkcs8(identity.key.clone_key()),
        )?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
#[path = "tls_tests.rs"]
mod tests;

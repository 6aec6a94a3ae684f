//! The go-plugin handshake: how terraform and a plugin process agree on a protocol and an address.
//!
//! Terraform starts the binary with `TF_PLUGIN_MAGIC_COOKIE` (so a user running it by hand gets a helpful
//! message instead of a hung process) and the protocol versions it speaks in `PLUGIN_PROTOCOL_VERSIONS`. The
//! plugin listens and prints one line, `1|6|unix|<path>|grpc|<base64 DER cert>`, on stdout; nothing else may ever
//! be written to stdout. In debug mode the plugin instead prints a `TF_REATTACH_PROVIDERS` value for the user to
//! export, and terraform connects to the running process.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use base64::Engine as _;

/// Environment variable terraform sets to prove the binary was started as a plugin.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
/// Its fixed value (terraform's, never changes).
pub const MAGIC_COOKIE_VALUE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// go-plugin's core protocol version (field 1 of the handshake line).
const CORE_PROTOCOL_VERSION: u32 = 1;
/// Terraform plugin protocol this crate speaks (field 2).
pub const PROTOCOL_VERSION: u32 = 6;

/// The handshake cannot proceed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// The binary was run by hand, not by terraform.
    #[error(
        "This binary is a Terraform provider plugin. It is not meant to be executed directly: run it through \
         terraform (e.g. `terraform plan`), which starts it automatically. To debug it, run it with --debug and \
         export the TF_REATTACH_PROVIDERS line it prints."
    )]
    NotAPlugin,
    /// Terraform does not speak protocol 6.
    #[error(
        "Terraform offered plugin protocol versions {0:?}, but this provider speaks only version 6 \
         (Terraform 1.0 or later is required)."
    )]
    UnsupportedProtocol(String),
}

/// Checks the magic cookie.
pub(crate) fn check_cookie(value: Option<&str>) -> Result<(), HandshakeError> {
    match value {
        Some(MAGIC_COOKIE_VALUE) => Ok(()),
        _ => Err(HandshakeError::NotAPlugin),
    }
}

/// Picks protocol 6 from `PLUGIN_PROTOCOL_VERSIONS` (comma list, any order). Absent means the client is an old
/// go-plugin that expects the server's own version, as go-plugin itself does.
pub(crate) fn negotiate_protocol(versions: Option<&str>) -> Result<u32, HandshakeError> {
    let Some(versions) = versions.filter(|v| !v.trim().is_empty()) else {
        return Ok(PROTOCOL_VERSION);
    };
    if versions
        .split(',')
        .any(|v| v.trim().parse::<u32>() == Ok(PROTOCOL_VERSION))
    {
        Ok(PROTOCOL_VERSION)
    } else {
        Err(HandshakeError::UnsupportedProtocol(versions.to_owned()))
    }
}

/// Where the plugin listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Address {
    Unix(PathBuf),
    #[cfg_attr(unix, allow(dead_code))]
    Tcp(SocketAddr),
}

impl Address {
    fn network(&self) -> &'static str {
        match self {
            Address::Unix(_) => "unix",
            Address::Tcp(_) => "tcp",
        }
    }

    fn address(&self) -> String {
        match self {
            Address::Unix(path) => path.display().to_string(),
            Address::Tcp(addr) => addr.to_string(),
        }
    }
}

/// The handshake line (with its newline): `1|6|<network>|<address>|grpc|<cert>`, the certificate as standard
/// base64 without padding (Go's `RawStdEncoding`), empty without TLS.
pub(crate) fn handshake_line(address: &Address, server_cert_der: Option<&[u8]>) -> String {
    let cert = server_cert_der.map(|der| base64::engine::general_purpose::STANDARD_NO_PAD.encode(der));
    let mut line = String::with_capacity(512);
    let _ = writeln!(
        line,
        "{CORE_PROTOCOL_VERSION}|{PROTOCOL_VERSION}|{}|{}|grpc|{}",
        address.network(),
        address.address(),
        cert.unwrap_or_default()
    );
    line
}

/// The `TF_REATTACH_PROVIDERS` JSON for debug mode. `Test: true` makes terraform reuse the process across
/// commands instead of shutting it down.
pub(crate) fn reattach_json(source_address: &str, pid: u32, address: &Address) -> String {
    serde_json::json!({
        source_address: {
            "Protocol": "grpc",
            "ProtocolVersion": PROTOCOL_VERSION,
            "Pid": pid,
            "Test": true,
            "Addr": { "Network": address.network(), "String": address.address() },
        }
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie() {
        assert!(check_cookie(Some(MAGIC_COOKIE_VALUE)).is_ok());
        assert_eq!(check_cookie(None), Err(HandshakeError::NotAPlugin));
        assert_eq!(check_cookie(Some("nope")), Err(HandshakeError::NotAPlugin));
    }

    #[test]
    fn protocol_negotiation() {
        assert_eq!(negotiate_protocol(Some("5,6")), Ok(6));
        assert_eq!(negotiate_protocol(Some("6, 5")), Ok(6));
        assert_eq!(negotiate_protocol(None), Ok(6));
        let err = negotiate_protocol(Some("4,5")).unwrap_err();
        assert!(err.to_string().contains("\"4,5\""), "{err}");
    }

    #[test]
    fn line_format() {
        let unix = Address::Unix(PathBuf::from("/tmp/plugin1/tf.sock"));
        let line = handshake_line(&unix, Some(&[0xff, 0xee, 0xdd, 0xcc]));
        // 4 bytes → "/+7dzA==" with padding; Go's RawStdEncoding drops the "==".
        assert_eq!(line, "1|6|unix|/tmp/plugin1/tf.sock|grpc|/+7dzA\n");
        let tcp = Address::Tcp("127.0.0.1:10000".parse().unwrap());
        assert_eq!(handshake_line(&tcp, None), "1|6|tcp|127.0.0.1:10000|grpc|\n");
        assert_eq!(line.matches('\n').count(), 1);
    }

    #[test]
    fn reattach_format() {
        let json = reattach_json(
            "example.local/acme/y",
            42,
            &Address::Unix(PathBuf::from("/tmp/s")),
        );
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        let entry = &parsed["example.local/acme/y"];
        assert_eq!(entry["ProtocolVersion"], 6);
        assert_eq!(entry["Pid"], 42);
        assert_eq!(entry["Test"], true);
        assert_eq!(entry["Addr"]["Network"], "unix");
        assert_eq!(entry["Addr"]["String"], "/tmp/s");
    }
}

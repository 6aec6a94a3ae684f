//! moto, the AWS API stand-in, started per test on a free port from the virtualenv `scripts/test` creates.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::free_port;

/// A running `moto_server`, killed on drop.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    /// Its base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
}

impl Moto {
    /// Starts moto, or returns `None` (outside CI) when `KLAXON_TEST_MOTO_SERVER` is not set.
    pub fn start() -> Option<Self> {
        let Ok(bin) = std::env::var("KLAXON_TEST_MOTO_SERVER") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "KLAXON_TEST_MOTO_SERVER is not set; run the suite with scripts/test, which installs moto"
            );
            eprintln!("skipping: KLAXON_TEST_MOTO_SERVER is not set (scripts/test sets it)");
            return None;
        };
        Self::spawn(&bin, free_port())
    }

    /// Starts moto again on the port of a moto that was stopped (its state starts empty).
    pub fn start_on(port: u16) -> Option<Self> {
        let bin = std::env::var("KLAXON_TEST_MOTO_SERVER").ok()?;
        Self::spawn(&bin, port)
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }

    fn spawn(bin: &str, port: u16) -> Option<Self> {
        let child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn moto_server");
        let moto = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(moto)
    }

    /// The environment an AWS SDK client needs to talk to this moto (fake credentials, region, endpoint).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "eu-west-1".into()),
            ("AWS_ENDPOINT_URL", self.url.clone()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

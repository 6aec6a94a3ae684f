//! Support for the end-to-end tests: finding the workspace's binaries, starting `klaxon serve` on a free port
//! against a throwaway database, and stopping it when the test ends (also when it fails).

pub mod moto;
pub mod rig;
pub mod slack;
pub mod sns;
pub mod terraform;

use std::{
    fs::OpenOptions,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::OnceLock,
    time::{Duration, Instant},
};

/// The workspace root.
///
/// Taken from `CARGO_MANIFEST_DIR` at run time (cargo and nextest set it for every test) before the value
/// compiled in: a test binary reused from another checkout sharing the target dir (as
/// `shared/scripts/fresh-clone-test` does) would otherwise look in that checkout, which may be gone.
pub fn workspace_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
            .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
        manifest
            .parent()
            .expect("tests/ lives in the workspace root")
            .to_owned()
    })
}

/// The path of a workspace binary, built (debug) on first use in this process.
///
/// Cargo only hands a test the binaries of its own package, and these live in other packages; building them
/// here keeps `cargo test` self-sufficient. After the first build it is a no-op that takes well under a second.
pub fn binary(package: &str, name: &str) -> PathBuf {
    static BUILT: OnceLock<std::sync::Mutex<Vec<String>>> = OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    let mut built = built.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let target = target_dir();
    if !built.iter().any(|b| b == name) {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", package, "--bin", name])
            .current_dir(workspace_root())
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build -p {package} --bin {name} failed");
        built.push(name.to_owned());
    }
    target.join("debug").join(name)
}

/// The path of a workspace example binary, built (debug) on first use in this process.
pub fn example(package: &str, name: &str) -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", package, "--example", name])
        .current_dir(workspace_root())
        .status()
        .expect("run cargo build");
    assert!(
        status.success(),
        "cargo build -p {package} --example {name} failed"
    );
    target_dir().join("debug").join("examples").join(name)
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| {
            if p.is_absolute() {
                p
            } else {
                workspace_root().join(p)
            }
        })
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// A free TCP port on 127.0.0.1 (bound, then released for the caller to bind).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A fresh temporary directory, removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates it.
    pub fn new(label: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "klaxon-{label}-{}-{:016x}",
            std::process::id(),
            rand_u64()
        ));
        std::fs::create_dir_all(&path).expect("create temp dir");
        Self(path)
    }
    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.finish()
}

/// A running `klaxon serve`, killed on drop.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    /// The database URL it serves.
    pub database_url: String,
    env: Vec<(String, String)>,
    _dir: TempDir,
}

impl Server {
    /// Starts a server on a fresh SQLite database in a temporary directory.
    pub fn start_sqlite() -> Self {
        Self::start_sqlite_with(&[])
    }

    /// Starts a server on a fresh SQLite database with extra environment variables.
    pub fn start_sqlite_with(env: &[(&str, &str)]) -> Self {
        let dir = TempDir::new("serve");
        let db = format!("sqlite://{}", dir.path().join("klaxon.db").display());
        Self::start(&db, dir, env)
    }

    /// Starts a server on the given database with extra environment variables.
    pub fn start(database_url: &str, dir: TempDir, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let mut env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .chain([
                ("KLAXON_LISTEN".to_owned(), format!("127.0.0.1:{port}")),
                ("KLAXON_DATABASE_URL".to_owned(), database_url.to_owned()),
            ])
            .collect();
        let keyed = env
            .iter()
            .any(|(k, _)| k == "KLAXON_MASTER_KEY_FILE" || k == "KLAXON_KMS_KEY_ID");
        if !keyed && !database_url.starts_with("sqlite") {
            // SQLite keeps its key beside the file; replicas of one PostgreSQL database share theirs.
            env.push((
                "KLAXON_MASTER_KEY_FILE".to_owned(),
                master_key_file(database_url).display().to_string(),
            ));
        }
        let child = Self::spawn(dir.path(), &env);
        let server = Self {
            child,
            url,
            database_url: database_url.to_owned(),
            env,
            _dir: dir,
        };
        server.wait_healthy();
        server
    }

    fn spawn(dir: &Path, env: &[(String, String)]) -> Child {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("serve.log"))
            .expect("open log");
        Command::new(binary("klaxon", "klaxon"))
            .arg("serve")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn klaxon serve")
    }

    /// Starts the process again after [`Server::kill`]: same address, database and settings (the log goes
    /// on in the same file).
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = Self::spawn(self._dir.path(), &self.env);
        self.wait_healthy();
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = self.url.trim_start_matches("http://").to_owned();
        while Instant::now() < deadline {
            if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
                use std::io::{Read, Write};
                let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                let mut buf = String::new();
                let _ = s.read_to_string(&mut buf);
                if buf.starts_with("HTTP/1.1 200") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "klaxon serve did not become healthy at {}; see {}",
            self.url,
            self._dir.path().display()
        );
    }

    /// Changes a setting for the next [`Server::restart`] (`None` removes it).
    pub fn set_env(&mut self, key: &str, value: Option<&str>) {
        self.env.retain(|(k, _)| k != key);
        if let Some(v) = value {
            self.env.push((key.to_owned(), v.to_owned()));
        }
    }

    /// The directory the server runs in (its SQLite file and default key live there).
    pub fn dir(&self) -> &Path {
        self._dir.path()
    }

    /// Runs `klaxon <args>` with the server's settings, in its directory (for `klaxon secrets rotate`, and
    /// for a `klaxon serve` that is expected to refuse to start); gives up after 60 s.
    pub fn command(&self, args: &[&str], extra: &[(&str, &str)]) -> std::process::Output {
        let mut child = Command::new(binary("klaxon", "klaxon"))
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .envs(extra.iter().copied())
            .current_dir(self._dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn klaxon");
        let deadline = Instant::now() + Duration::from_secs(60);
        while child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("klaxon {args:?} did not finish in 60 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        child.wait_with_output().expect("klaxon output")
    }

    /// Creates an account with the CLI against the same database; returns its token.
    pub fn create_account(&self, name: &str) -> String {
        let out = Command::new(binary("klaxon", "klaxon"))
            .args(["account", "create", "--name", name])
            .env("KLAXON_DATABASE_URL", &self.database_url)
            .output()
            .expect("run klaxon account create");
        assert!(
            out.status.success(),
            "account create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("utf-8 token")
            .trim()
            .to_owned()
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("serve.log")).unwrap_or_default()
    }

    /// Kills the process with SIGKILL (no graceful shutdown: a crash) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// The master key file of the servers of a PostgreSQL `database_url` (created by the first to start), so
/// replicas of one database share it as they would in production.
pub fn master_key_file(database_url: &str) -> PathBuf {
    let dir = std::env::temp_dir().join("klaxon-test-keys");
    let _ = std::fs::create_dir_all(&dir);
    let name: String = database_url
        .rsplit('/')
        .next()
        .unwrap_or("db")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    dir.join(format!("{name}.key"))
}

/// The variable naming the PostgreSQL server used by tests (the same as the backend's tests use).
pub const POSTGRES_URL_VAR: &str = "KLAXON_TEST_POSTGRES_URL";

/// The URL of a fresh, empty database on the PostgreSQL server named by `KLAXON_TEST_POSTGRES_URL`, created
/// with `psql`; `None` when the variable is unset (a failure instead when `CI` is set, so CI cannot pass on
/// SQLite alone).
pub fn postgres_database() -> Option<String> {
    let Ok(base) = std::env::var(POSTGRES_URL_VAR) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{POSTGRES_URL_VAR} is not set; run the suite with scripts/test, which starts PostgreSQL"
        );
        eprintln!("skipping: {POSTGRES_URL_VAR} is not set (scripts/test sets it)");
        return None;
    };
    let name = format!("e2e_{:016x}", rand_u64());
    let out = Command::new("psql")
        .arg(&base)
        .args([
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-c",
            &format!("CREATE DATABASE {name}"),
        ])
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "CREATE DATABASE failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (prefix, _) = base.rsplit_once('/').expect("postgres URL has a database path");
    Some(format!("{prefix}/{name}"))
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

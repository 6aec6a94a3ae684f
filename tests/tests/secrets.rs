//! Secrets at rest end to end, on SQLite and on PostgreSQL: what the database holds (read as a file and as a
//! `pg_dump`), tokens stored in clear by an earlier version sealed on first start, a wrong or missing key
//! refused at start-up with the setting named, `klaxon secrets rotate` to a new local key, and AWS KMS (moto)
//! as the key provider: restarts, a wrong encryption context, configuration secrets as KMS ciphertexts and
//! files, and rotation to a new KMS key after which the old one opens nothing.

#![allow(clippy::unwrap_used, clippy::needless_pass_by_value)] // Test code: a failed unwrap is a failed test.

use std::{path::PathBuf, process::Command, time::Duration};

use base64::Engine as _;
use klaxon_tests::{
    Server, TempDir, master_key_file,
    moto::Moto,
    postgres_database,
    slack::{FakeSlack, TEAM_ID},
};
use reqwest::blocking::Client;
use serde_json::{Value, json};

const TOKEN: &str = "xoxb-configured-secret-token";
const SECRET: &str = "secrets-test-signing-secret";
const CLIENT_ID: &str = "3333.4444";
const CLIENT_SECRET: &str = "secrets-test-client-secret";
const ACME: &str = "T0ACME0001";
const WAIT: Duration = Duration::from_secs(45);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Db {
    Sqlite,
    Postgres,
}

struct Rig {
    slack: FakeSlack,
    server: Server,
    http: Client,
    /// The account installed through OAuth, and its API token.
    token: String,
    /// Its endpoint's ingest URL.
    ingest_url: String,
    endpoint: String,
}

/// A server with the fake Slack, OAuth on, and `env`; ACME installed, with a team, policy and endpoint.
fn rig(db: Db, env: &[(&str, &str)]) -> Option<Rig> {
    let slack = FakeSlack::start(TOKEN);
    slack.set_app(CLIENT_ID, CLIENT_SECRET);
    let mut all = vec![
        ("KLAXON_SLACK_API_URL", slack.api_url.clone()),
        ("KLAXON_SLACK_CLIENT_ID", CLIENT_ID.to_owned()),
        ("KLAXON_SLACK_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
        ("KLAXON_SLACK_TIMEOUT_MS", "2000".to_owned()),
        ("KLAXON_LOG", "klaxon=debug,info".to_owned()),
    ];
    if !env
        .iter()
        .any(|(k, _)| k.starts_with("KLAXON_SLACK_SIGNING_SECRET"))
    {
        all.push(("KLAXON_SLACK_SIGNING_SECRET", SECRET.to_owned()));
    }
    if !env.iter().any(|(k, _)| k.starts_with("KLAXON_SLACK_BOT_TOKEN")) {
        all.push(("KLAXON_SLACK_BOT_TOKEN", TOKEN.to_owned()));
    }
    all.extend(env.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let all: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = match db {
        Db::Sqlite => Server::start_sqlite_with(&all),
        Db::Postgres => Server::start(&postgres_database()?, TempDir::new("secrets-pg"), &all),
    };
    let http = Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let token = install(&slack, &server);
    let post = |path: &str, body: Value| {
        let resp = http
            .post(format!("{}{path}", server.url))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json::<Value>().unwrap()
    };
    let team = post(
        "/v1/teams",
        json!({"name": "ops", "slack_channel": "C0OPS00001", "members": ["U0ALICE001"]}),
    );
    let policy = post(
        "/v1/escalation-policies",
        json!({"team_id": team["id"], "name": "p", "steps": [{"notify": "here"}]}),
    );
    let endpoint = post(
        "/v1/endpoints",
        json!({"team_id": team["id"], "name": "e", "escalation_policy_id": policy["id"]}),
    );
    Some(Rig {
        slack,
        server,
        http,
        token,
        ingest_url: endpoint["url"].as_str().unwrap().to_owned(),
        endpoint: endpoint["id"].as_str().unwrap().to_owned(),
    })
}

/// Installs Klaxon in ACME as a browser does; returns the new account's API token.
fn install(slack: &FakeSlack, server: &Server) -> String {
    let browser = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    slack.approve_next(ACME, "Acme");
    let resp = browser
        .get(format!("{}/slack/install", server.url))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 302, "{}", server.log());
    let cookie = resp.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let consent = resp.headers()["location"].to_str().unwrap().to_owned();
    let back = browser.get(consent).send().unwrap().headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    let html = browser
        .get(back)
        .header("cookie", cookie)
        .send()
        .unwrap()
        .text()
        .unwrap();
    let start = html.find("<pre id=\"token\">").expect("the token on the page") + "<pre id=\"token\">".len();
    html[start..start + html[start..].find("</pre>").unwrap()].to_owned()
}

impl Rig {
    /// The endpoint as the API shows it after a restart: same URL.
    fn endpoint_url(&self) -> String {
        let v: Value = self
            .http
            .get(format!("{}/v1/endpoints/{}", self.server.url, self.endpoint))
            .bearer_auth(&self.token)
            .send()
            .unwrap()
            .json()
            .unwrap();
        v["url"].as_str().unwrap_or_default().to_owned()
    }

    /// An alert through the ingest URL, posted in ACME with its bot token (so that token was opened).
    fn raise_and_see(&self, title: &str) {
        let resp = self
            .http
            .post(&self.ingest_url)
            .json(&json!({"title": title}))
            .send()
            .unwrap();
        assert!(resp.status().is_success(), "ingest: {}", resp.status());
        self.slack.wait(&format!("{title} posted in ACME"), WAIT, |s| {
            s.messages()
                .iter()
                .any(|m| m.team == ACME && m.content().contains(title))
        });
    }

    fn ingest_token(&self) -> String {
        self.ingest_url.rsplit('/').next().unwrap().to_owned()
    }

    fn db(&self) -> Db {
        if self.server.database_url.starts_with("sqlite") {
            Db::Sqlite
        } else {
            Db::Postgres
        }
    }

    /// Runs SQL on the database (python's sqlite3 for SQLite, psql for PostgreSQL); rows as `a|b` lines.
    fn sql(&self, statement: &str) -> String {
        let out = match self.db() {
            Db::Sqlite => Command::new("python3")
                .args([
                    "-c",
                    "import sqlite3,sys\nc=sqlite3.connect(sys.argv[1])\nr=c.execute(sys.argv[2]).fetchall()\nc.commit()\n\
                     print('\\n'.join('|'.join(map(str,x)) for x in r))",
                    &self.sqlite_path().display().to_string(),
                    statement,
                ])
                .output()
                .unwrap(),
            Db::Postgres => Command::new("psql")
                .args([&self.server.database_url, "-v", "ON_ERROR_STOP=1", "-Atqc", statement])
                .output()
                .unwrap(),
        };
        assert!(
            out.status.success(),
            "{statement}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    fn sqlite_path(&self) -> PathBuf {
        PathBuf::from(self.server.database_url.trim_start_matches("sqlite://"))
    }

    /// Everything the database holds, as an attacker with the file (or a dump) has it.
    fn database_bytes(&self) -> Vec<u8> {
        match self.db() {
            Db::Sqlite => {
                let mut all = Vec::new();
                for suffix in ["", "-wal", "-shm"] {
                    let path = format!("{}{suffix}", self.sqlite_path().display());
                    all.extend(std::fs::read(path).unwrap_or_default());
                }
                all
            }
            Db::Postgres => {
                let out = Command::new("pg_dump")
                    .arg(&self.server.database_url)
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "pg_dump: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                out.stdout
            }
        }
    }

    /// The master key file in use.
    fn key_file(&self) -> PathBuf {
        match self.db() {
            Db::Sqlite => self.sqlite_path().with_file_name("klaxon.key"),
            Db::Postgres => master_key_file(&self.server.database_url),
        }
    }

    /// `klaxon serve` with the current settings must refuse to start; returns what it said.
    fn refused(&self, extra: &[(&str, &str)]) -> String {
        let out = self.server.command(&["serve"], extra);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "serve started: {stderr}");
        stderr
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(super::Db::Sqlite) } )*
        }
        mod postgres {
            $( #[test] fn $name() { super::$name(super::Db::Postgres) } )*
        }
    };
}

on_both_stores!(
    the_database_holds_no_secret_in_clear,
    tokens_an_earlier_version_stored_in_clear_are_sealed_on_first_start,
    a_wrong_or_missing_key_is_refused_and_rotation_moves_to_a_new_one,
    kms_wraps_the_data_keys_and_rotation_moves_them_to_a_new_kms_key,
);

/// A bot token, an ingest token, an API token, the signing and client secrets: none can be found in the
/// database file (with its WAL) or in a `pg_dump`; the sealed values are there. The key file is 0600.
/// After a restart everything sealed opens again.
fn the_database_holds_no_secret_in_clear(db: Db) {
    let Some(mut r) = rig(db, &[]) else { return };
    r.raise_and_see("before the restart");
    let bot = r.slack.token_of(ACME).unwrap();
    let bytes = r.database_bytes();
    assert!(contains(&bytes, "ks1."), "sealed values are in what was read");
    for (what, secret) in [
        ("the installed workspace's bot token", bot.as_str()),
        ("the ingest token", r.ingest_token().as_str()),
        ("the API token", r.token.as_str()),
        ("the signing secret", SECRET),
        ("the client secret", CLIENT_SECRET),
        ("the configured bot token", TOKEN),
    ] {
        assert!(!contains(&bytes, secret), "{what} is readable in the database");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(r.key_file()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the master key is readable by its owner only");
    }
    let url = r.endpoint_url();
    r.server.restart();
    assert_eq!(r.endpoint_url(), url);
    r.raise_and_see("after the restart");
}

/// Rows written by a version that kept ingest tokens in clear are sealed at the first start: the URL and
/// ingest keep working, and the token is no longer in the database.
fn tokens_an_earlier_version_stored_in_clear_are_sealed_on_first_start(db: Db) {
    let Some(mut r) = rig(db, &[]) else { return };
    let token = r.ingest_token();
    r.server.kill();
    r.sql(&format!(
        "UPDATE endpoints SET ingest_token = '{token}', ingest_token_sealed = NULL WHERE id = '{}'",
        r.endpoint
    ));
    assert!(
        contains(&r.database_bytes(), &token),
        "the old version's row is in clear"
    );
    r.server.restart();
    assert!(
        r.server.log().contains("Sealed the ingest tokens"),
        "{}",
        r.server.log()
    );
    assert_eq!(r.endpoint_url(), r.ingest_url);
    r.raise_and_see("after sealing");
    assert!(!contains(&r.database_bytes(), &token), "sealed on start");
    assert!(r.sql("SELECT ingest_token FROM endpoints").starts_with("sha256:"));
}

/// Another key, no key, a file that is not a key: `klaxon serve` refuses to start and names the setting.
/// `klaxon secrets rotate` moves the data keys to a new local key; the old one can then be deleted.
fn a_wrong_or_missing_key_is_refused_and_rotation_moves_to_a_new_one(db: Db) {
    let Some(mut r) = rig(db, &[]) else { return };
    let url = r.endpoint_url();
    let old = r.key_file();
    r.server.kill();
    let dir = TempDir::new("keys");
    let other = dir.path().join("other.key");
    std::fs::write(&other, [7u8; 32]).unwrap();
    let short = dir.path().join("short.key");
    std::fs::write(&short, b"short").unwrap();
    let missing = dir.path().join("missing.key");
    let setting = "KLAXON_MASTER_KEY_FILE";
    for (key, says) in [
        (&other, "sealed with local:"),
        (&short, "exactly 32 bytes"),
        (&missing, "cannot read the master key"),
    ] {
        let said = r.refused(&[(setting, key.to_str().unwrap())]);
        assert!(said.contains(setting) && said.contains(says), "{key:?}: {said}");
    }
    assert!(
        !missing.exists(),
        "no key is made for a database that holds secrets"
    );

    // Rotation: the new key current, the old one given as the previous.
    let new = dir.path().join("new.key");
    std::fs::write(&new, [42u8; 32]).unwrap();
    let moved = r.server.command(
        &["secrets", "rotate", "--batch", "1"],
        &[
            (setting, new.to_str().unwrap()),
            ("KLAXON_PREVIOUS_MASTER_KEY_FILE", old.to_str().unwrap()),
        ],
    );
    let said = String::from_utf8_lossy(&moved.stderr);
    assert!(
        moved.status.success() && said.contains("no longer needed"),
        "{said}"
    );
    let old_copy = dir.path().join("old.key");
    std::fs::rename(&old, &old_copy).unwrap();
    let refs = r.sql("SELECT DISTINCT key_ref FROM secret_keys");
    assert!(!refs.contains('\n') && refs.starts_with("local:"), "{refs}");
    // Rotating again does nothing and is fine.
    let again = r
        .server
        .command(&["secrets", "rotate"], &[(setting, new.to_str().unwrap())]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    // The old key alone no longer opens anything.
    let said = r.refused(&[(setting, old_copy.to_str().unwrap())]);
    assert!(said.contains(setting), "{said}");
    r.server.set_env(setting, Some(new.to_str().unwrap()));
    r.server.restart();
    assert_eq!(r.endpoint_url(), url);
    r.raise_and_see("after the rotation");
}

fn kms(moto: &Moto, rt: &tokio::runtime::Runtime) -> aws_sdk_kms::Client {
    let config = rt.block_on(
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .endpoint_url(&moto.url)
            .credentials_provider(aws_sdk_kms::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .load(),
    );
    aws_sdk_kms::Client::new(&config)
}

fn new_key(client: &aws_sdk_kms::Client, rt: &tokio::runtime::Runtime) -> String {
    let out = rt.block_on(client.create_key().send()).unwrap();
    out.key_metadata().unwrap().key_id().to_owned()
}

/// With `KLAXON_KMS_KEY_ID`: data keys come from KMS, with the account as encryption context; secrets open
/// after a restart; a data key moved to another account is refused at start-up (the context does not match);
/// configuration secrets come from a file and from a KMS ciphertext; `klaxon secrets rotate` re-wraps every
/// data key under a new KMS key, after which the old key opens none of them.
fn kms_wraps_the_data_keys_and_rotation_moves_them_to_a_new_kms_key(db: Db) {
    let Some(moto) = Moto::start() else { return };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = kms(&moto, &rt);
    let (first, config_key) = (new_key(&client, &rt), new_key(&client, &rt));
    // The configured bot token as a KMS ciphertext, the signing secret in a file.
    let sealed_token = rt
        .block_on(
            client
                .encrypt()
                .key_id(&config_key)
                .plaintext(aws_sdk_kms::primitives::Blob::new(TOKEN.as_bytes()))
                .send(),
        )
        .unwrap();
    let sealed_token = format!(
        "kms:{}",
        base64::engine::general_purpose::STANDARD.encode(sealed_token.ciphertext_blob().unwrap().as_ref())
    );
    let files = TempDir::new("config-secrets");
    let secret_file = files.path().join("signing-secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let mut env: Vec<(&str, String)> = moto.env();
    env.extend([
        ("KLAXON_KMS_KEY_ID", first.clone()),
        ("KLAXON_SLACK_BOT_TOKEN", sealed_token),
        (
            "KLAXON_SLACK_SIGNING_SECRET_FILE",
            secret_file.display().to_string(),
        ),
    ]);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let Some(mut r) = rig(db, &env) else { return };
    r.raise_and_see("sealed with kms");
    assert_eq!(
        r.sql("SELECT DISTINCT key_ref FROM secret_keys"),
        format!("kms:{first}")
    );
    assert!(
        !r.key_file().exists() || db == Db::Postgres,
        "no local key is made when KMS is used"
    );
    // The configured workspace's token was decrypted from its ciphertext: auth.test with it succeeded.
    assert!(
        r.slack
            .calls_of("auth.test")
            .iter()
            .any(|c| c.team == TEAM_ID && c.error.is_none()),
        "{}",
        r.server.log()
    );
    let url = r.endpoint_url();
    r.server.restart();
    assert_eq!(r.endpoint_url(), url);
    r.raise_and_see("after a restart with kms");

    // A data key moved to another account does not decrypt: the encryption context is the account.
    r.server.kill();
    let rows = r.sql("SELECT id, account_id FROM secret_keys");
    r.sql("UPDATE secret_keys SET account_id = 'acct_elsewhere'");
    let said = r.refused(&[]);
    assert!(
        said.contains("KLAXON_KMS_KEY_ID")
            && said.contains("InvalidCiphertextException")
            && said.contains("acct_elsewhere"),
        "{said}"
    );
    for row in rows.lines() {
        let (id, account) = row.split_once('|').unwrap();
        r.sql(&format!(
            "UPDATE secret_keys SET account_id = '{account}' WHERE id = '{id}'"
        ));
    }

    // Rotation to a second KMS key.
    let second = new_key(&client, &rt);
    let moved = r
        .server
        .command(&["secrets", "rotate"], &[("KLAXON_KMS_KEY_ID", second.as_str())]);
    assert!(
        moved.status.success(),
        "{}",
        String::from_utf8_lossy(&moved.stderr)
    );
    assert_eq!(
        r.sql("SELECT DISTINCT key_ref FROM secret_keys"),
        format!("kms:{second}")
    );
    // Each wrapped data key now names the second key: the first one is needed by none of them.
    for row in r.sql("SELECT account_id, wrapped FROM secret_keys").lines() {
        let (account, wrapped) = row.split_once('|').unwrap();
        let blob = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(wrapped)
            .unwrap();
        let out = rt
            .block_on(
                client
                    .decrypt()
                    .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(blob))
                    .encryption_context("klaxon:account", account)
                    .send(),
            )
            .unwrap();
        assert!(
            out.key_id().unwrap_or_default().ends_with(&second),
            "{:?}",
            out.key_id()
        );
    }
    rt.block_on(client.disable_key().key_id(&first).send()).unwrap();
    r.server.set_env("KLAXON_KMS_KEY_ID", Some(&second));
    r.server.restart();
    assert_eq!(r.endpoint_url(), url);
    r.raise_and_see("after rotating kms keys");
}

//! The OpenAPI document tells the truth: Schemathesis generates requests from `/openapi.json` (valid ones and
//! invalid ones, then stateful sequences that follow the document's links from creates to reads, updates,
//! actions and deletes) against a real `klaxon serve`, on SQLite and on PostgreSQL, and checks every answer
//! against the document with all its checks. A failure fails the test with Schemathesis' report, which
//! prints the `curl` that reproduces it.
//!
//! The settings are `tests/contract/schemathesis.toml`, the hooks `tests/contract/klaxon_hooks.py`.
//! `scripts/test` installs Schemathesis into its virtualenv and sets `KLAXON_TEST_SCHEMATHESIS`.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use klaxon_tests::{Server, TempDir, postgres_database, slack::FakeSlack, workspace_root};
use serde_json::{Value, json};

/// Fixed, so a failure is reproduced by running the test again.
const SEED: &str = "20261201";
/// Test cases per operation and phase: about half a minute per store on a 2-core machine. (Not
/// `--max-time`: with it, fuzzing and stateful testing repeat until the budget is spent.)
const EXAMPLES: &str = "60";
/// A run that takes longer than this is stopped and fails: something hangs.
const DEADLINE: Duration = Duration::from_secs(600);

fn schemathesis() -> Option<String> {
    match std::env::var("KLAXON_TEST_SCHEMATHESIS") {
        Ok(bin) => Some(bin),
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "KLAXON_TEST_SCHEMATHESIS is not set; run the suite with scripts/test, which installs Schemathesis"
            );
            eprintln!("skipping: KLAXON_TEST_SCHEMATHESIS is not set (scripts/test sets it)");
            None
        }
    }
}

fn post(http: &reqwest::blocking::Client, url: &str, token: &str, body: &Value) -> Value {
    let resp = http.post(url).bearer_auth(token).json(body).send().unwrap();
    assert!(resp.status().is_success(), "{url}: {}", resp.status());
    resp.json().unwrap()
}

fn check(server: &Server, bin: &str) {
    let token = server.create_account("contract");
    // A team and an endpoint, so ingest has a real token to be tested with; everything else Schemathesis
    // creates itself by following the document's links.
    let http = reqwest::blocking::Client::new();
    let team = post(
        &http,
        &format!("{}/v1/teams", server.url),
        &token,
        &json!({"name": "contract", "slack_channel": "C0CONTRACT1"}),
    );
    let endpoint = post(
        &http,
        &format!("{}/v1/endpoints", server.url),
        &token,
        &json!({"name": "contract", "team_id": team["id"]}),
    );
    let ingest_token = endpoint["url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();

    let contract = workspace_root().join("tests/contract");
    let reports = TempDir::new("contract");
    let stdout_path = reports.path().join("stdout.txt");
    let mut child = Command::new(bin)
        .arg("--config-file")
        .arg(contract.join("schemathesis.toml"))
        .args(["run", &format!("{}/openapi.json", server.url)])
        .args(["--seed", SEED, "--max-examples", EXAMPLES])
        .args(["--workers", "1", "--no-color"])
        .arg("--report-dir")
        .arg(reports.path())
        .env("PYTHONPATH", &contract)
        .env("KLAXON_CONTRACT_TOKEN", &token)
        .env("KLAXON_CONTRACT_INGEST_TOKEN", &ingest_token)
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "Schemathesis ran past {DEADLINE:?} and was stopped; its output so far:\n{}",
                std::fs::read_to_string(&stdout_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let stdout = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    let summary = stdout
        .lines()
        .filter(|l| l.contains("generated") || l.contains("Tested:") || l.contains(" in ") && l.contains('='))
        .collect::<Vec<_>>()
        .join("\n");
    eprintln!("schemathesis against {}:\n{summary}", server.database_url);
    assert!(
        status.success(),
        "Schemathesis found contract failures (each with the curl that reproduces it):\n{stdout}\n--- server log\n{}",
        server.log()
    );
    assert!(
        stdout.contains("Tested:"),
        "no summary in Schemathesis' output:\n{stdout}"
    );
}

/// On SQLite with Slack on (the fake Slack, a configured workspace and OAuth installs), so the Slack routes and
/// the alerts' `delivery` answer as they do in production.
#[test]
fn contract_holds_on_sqlite() {
    let Some(bin) = schemathesis() else { return };
    let slack = FakeSlack::start("xoxb-contract");
    slack.set_app("1.2", "contract-client-secret");
    let server = Server::start_sqlite_with(&[
        ("KLAXON_SLACK_API_URL", &slack.api_url),
        ("KLAXON_SLACK_BOT_TOKEN", "xoxb-contract"),
        ("KLAXON_SLACK_SIGNING_SECRET", "contract-secret"),
        ("KLAXON_SLACK_CLIENT_ID", "1.2"),
        ("KLAXON_SLACK_CLIENT_SECRET", "contract-client-secret"),
    ]);
    check(&server, &bin);
}

#[test]
fn contract_holds_on_postgres() {
    let Some(bin) = schemathesis() else { return };
    let Some(db) = postgres_database() else { return };
    check(&Server::start(&db, TempDir::new("contract-pg"), &[]), &bin);
}

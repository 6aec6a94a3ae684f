//! The README's promises, checked against the real `klaxon` binary.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use std::process::Command;

use klaxon_tests::{Server, binary, workspace_root};

/// The shell block between the walk-through markers of README.md.
fn walkthrough() -> String {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let start = readme
        .find("<!-- walkthrough:start -->")
        .expect("README has the walk-through start marker");
    let end = readme
        .find("<!-- walkthrough:end -->")
        .expect("README has the walk-through end marker");
    let block = &readme[start..end];
    let code_start = block.find("```sh\n").expect("walk-through is a ```sh block") + "```sh\n".len();
    let code_end = code_start
        + block[code_start..]
            .find("```")
            .expect("walk-through block is closed");
    block[code_start..code_end].to_owned()
}

/// The curl walk-through runs as written against `klaxon serve`; only the address differs (the test's server
/// listens on a free port) and the account is created with the already-built debug binary instead of a
/// release build.
#[test]
fn curl_walkthrough_works() {
    let server = Server::start_sqlite();
    let script = walkthrough()
        .replace("http://127.0.0.1:8080", &server.url)
        .replace(
            "cargo run -q --release -p klaxon --",
            &binary("klaxon", "klaxon").display().to_string(),
        );
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .env("KLAXON_DATABASE_URL", &server.database_url)
        .current_dir(workspace_root())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "walk-through failed:\n--- stdout\n{stdout}\n--- stderr\n{}\n--- server\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    // The last call of the walk-through prints the endpoint with its ingest URL.
    assert!(
        stdout.contains(&format!("{}/ingest/ing_", server.url)),
        "{stdout}"
    );
}

/// `--help` explains every subcommand; a bad setting is named at start-up.
#[test]
fn cli_explains_and_validates() {
    let klaxon = binary("klaxon", "klaxon");
    let help = Command::new(&klaxon).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    for sub in ["serve", "migrate", "account"] {
        assert!(text.contains(sub), "--help mentions {sub}: {text}");
    }
    let serve_help = String::from_utf8_lossy(
        &Command::new(&klaxon)
            .args(["serve", "--help"])
            .output()
            .unwrap()
            .stdout,
    )
    .into_owned();
    for var in ["KLAXON_LISTEN", "KLAXON_DATABASE_URL", "KLAXON_PUBLIC_URL"] {
        assert!(serve_help.contains(var), "serve --help names {var}");
    }
    let bad = Command::new(&klaxon)
        .arg("migrate")
        .env("KLAXON_DATABASE_URL", "mysql://x")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("KLAXON_DATABASE_URL"),
        "names the setting"
    );
    let bad = Command::new(&klaxon)
        .arg("serve")
        .env("KLAXON_DATABASE_URL", "sqlite::memory:")
        .env("KLAXON_PUBLIC_URL", "ftp://x")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("KLAXON_PUBLIC_URL"),
        "names the setting"
    );
}

/// `klaxon serve` answers /healthz and /readyz, and migrates a PostgreSQL database too.
#[test]
fn serves_on_postgres() {
    let Ok(base) = std::env::var("KLAXON_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "KLAXON_TEST_POSTGRES_URL is required in CI"
        );
        return;
    };
    let name = format!("readme_{}", std::process::id());
    let psql = Command::new("psql")
        .args([&base, "-qc", &format!("CREATE DATABASE {name}")])
        .status()
        .unwrap();
    assert!(psql.success());
    let url = format!("{}/{name}", base.rsplit_once('/').unwrap().0);
    let server = Server::start(&url, klaxon_tests::TempDir::new("pg"), &[]);
    let token = server.create_account("pg");
    assert!(token.starts_with("klx_"));
    let client = reqwest::blocking::Client::new();
    assert_eq!(
        client
            .get(format!("{}/readyz", server.url))
            .send()
            .unwrap()
            .status(),
        200
    );
    let teams = client
        .get(format!("{}/v1/teams", server.url))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(teams.status(), 200);
}

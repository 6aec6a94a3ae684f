//! The queue's crash test, with real processes: a worker is killed with SIGKILL while it holds leases; after a
//! restart every job's effect exists exactly once (effects commit with the fenced completion, so a stale claim
//! writes nothing) and every timer that came due while no worker ran has fired. On SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use klaxon_tests::{TempDir, example, postgres_database};

const NOW: u32 = 300;
const TIMERS: u32 = 200;

fn tool(url: &str, args: &[&str]) -> String {
    let out = Command::new(example("klaxon-queue", "crash_worker"))
        .arg(url)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "crash_worker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn count(url: &str) -> (u64, u64, u64) {
    let out = tool(url, &["count"]);
    let v: Vec<u64> = out.split_whitespace().map(|x| x.parse().unwrap()).collect();
    (v[0], v[1], v[2])
}

fn worker(url: &str) -> Child {
    Command::new(example("klaxon-queue", "crash_worker"))
        .args([url, "work"])
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

fn crash_and_restart(url: &str) {
    tool(url, &["enqueue", &NOW.to_string(), &TIMERS.to_string(), "2000"]);
    let mut first = worker(url);
    // Kill it mid-run: some effects written, leases held on the jobs it is working through.
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(url).0 < 60 {
        assert!(Instant::now() < deadline, "the worker made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let (effects_at_kill, _, left) = count(url);
    assert!(left > 0, "the worker was killed before it finished");
    assert!(effects_at_kill < u64::from(NOW + TIMERS));

    // Nothing runs while the timers come due; then a new worker takes over, including the dead one's leases.
    std::thread::sleep(Duration::from_millis(2200));
    let mut second = worker(url);
    let status = second.wait().unwrap();
    assert!(status.success());
    let (effects, distinct, not_done) = count(url);
    assert_eq!(not_done, 0, "every job is done, every timer fired");
    assert_eq!(distinct, u64::from(NOW + TIMERS), "every job has its effect");
    assert_eq!(effects, distinct, "no effect was written twice");
}

#[test]
fn sqlite_worker_killed_while_holding_leases() {
    let dir = TempDir::new("queue-crash");
    crash_and_restart(&format!("sqlite://{}", dir.path().join("q.db").display()));
}

#[test]
fn postgres_worker_killed_while_holding_leases() {
    let Some(url) = postgres_database() else { return };
    crash_and_restart(&url);
}

/// A worker stalled past its lease (it pauses between jobs while holding claims, like a process the OS stopped)
/// resumes after another worker has redone its jobs: its late completions carry stale fences, are refused, and
/// its effects roll back, so each effect still exists once.
fn zombie_resumes_after_its_lease_expired(url: &str) {
    tool(url, &["enqueue", &NOW.to_string(), "0", "0"]);
    let dir = TempDir::new("zombie");
    let pause = dir.path().join("pause");
    let mut zombie = Command::new(example("klaxon-queue", "crash_worker"))
        .args([url, "work", pause.to_str().unwrap()])
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(url).0 < 40 {
        assert!(Instant::now() < deadline, "the worker made no progress");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::fs::write(&pause, b"").unwrap();
    while !pause.with_extension("paused").exists() {
        assert!(Instant::now() < deadline, "the worker never paused");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Past the 800 ms lease: the paused worker's claims are now stale.
    std::thread::sleep(Duration::from_millis(1200));
    let status = worker(url).wait().unwrap();
    assert!(status.success());
    std::fs::remove_file(&pause).unwrap();
    assert!(zombie.wait().unwrap().success());
    let (effects, distinct, not_done) = count(url);
    assert_eq!(
        (not_done, distinct),
        (0, u64::from(NOW)),
        "every job done with its effect"
    );
    assert_eq!(effects, distinct, "the zombie's late completions wrote nothing");
}

#[test]
fn sqlite_zombie_worker_is_fenced() {
    let dir = TempDir::new("queue-zombie");
    zombie_resumes_after_its_lease_expired(&format!("sqlite://{}", dir.path().join("q.db").display()));
}

#[test]
fn postgres_zombie_worker_is_fenced() {
    let Some(url) = postgres_database() else { return };
    zombie_resumes_after_its_lease_expired(&url);
}

//! System fault tests: real `klaxon serve` processes, real databases, and the faults they must survive: a
//! SIGKILL in the middle of a storm (one server, and one of two replicas), PostgreSQL stopped and started
//! under load, a full disk. Each test prints what it killed or broke and what it counted, so a CI log shows
//! the figures behind a pass.
//!
//! The promise under test: an event answered with a 2xx is stored (counted in an alert), every escalation
//! timer fires, a step is notified once (a SIGKILL may repeat at most the steps in flight when it hit), and
//! the service recovers by itself.
//!
//! Escalation steps are counted in the notification log (`KLAXON_NOTIFY_LOG`: one JSON line per step
//! delivered, appended with O_APPEND by every replica), the record Klaxon keeps when Slack is not configured.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::needless_pass_by_value)] // Test code: a failed unwrap is a failed test.

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
    process::Command,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use klaxon_tests::{Server, TempDir, postgres_database, workspace_root};
use serde_json::{Value, json};

/// Probes of one kind: when each was sent, its outcome, how long it took.
type Probes = Arc<Mutex<Vec<(Instant, Probe, Duration)>>>;

/// Escalation workers of each server (`KLAXON_WORKERS`): at most this many steps are in flight at a kill.
const WORKERS: usize = 16;
/// Concurrent senders of a storm.
const SENDERS: usize = 16;

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn api(
    http: &reqwest::blocking::Client,
    base: &str,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let mut req = http
        .request(method.clone(), format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().unwrap();
    let status = resp.status();
    let v: Value = resp.json().unwrap_or(Value::Null);
    assert!(status.is_success(), "{method} {path}: {status} {v}");
    v
}

/// A team, a two-step policy (`here`, then after `minutes` policy minutes `channel`) and an endpoint; returns
/// the endpoint's ingest URL path (`/ingest/...`, to be put after any replica's base URL).
fn setup(server: &Server, token: &str, minutes: u32) -> String {
    let http = http();
    let base = &server.url;
    let post = |path: &str, body: Value| api(&http, base, token, reqwest::Method::POST, path, Some(body));
    let team = post("/v1/teams", json!({"name": "sre", "slack_channel": "C0FAULT001"}));
    let policy = post(
        "/v1/escalation-policies",
        json!({"team_id": team["id"], "name": "faults", "steps": [
            {"notify": "here", "escalate_after_minutes": minutes},
            {"notify": "channel"}
        ]}),
    );
    let endpoint = post(
        "/v1/endpoints",
        json!({"team_id": team["id"], "escalation_policy_id": policy["id"], "name": "faults"}),
    );
    let url = endpoint["url"].as_str().unwrap();
    url[url.find("/ingest/").unwrap()..].to_owned()
}

/// Every alert of the account: `group_key -> (sum of counts, alert ids)`.
fn alerts(server_url: &str, token: &str) -> BTreeMap<String, (u64, Vec<String>)> {
    let http = http();
    let mut out: BTreeMap<String, (u64, Vec<String>)> = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/alerts?limit=1000&cursor={c}"),
            None => "/v1/alerts?limit=1000".to_owned(),
        };
        let page = api(&http, server_url, token, reqwest::Method::GET, &path, None);
        for a in page["items"].as_array().unwrap() {
            let e = out
                .entry(a["group_key"].as_str().unwrap().to_owned())
                .or_default();
            e.0 += a["count"].as_u64().unwrap();
            e.1.push(a["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

/// Notification log lines: `(alert, round, step) -> times notified`.
fn notified(log: &Path) -> HashMap<(String, u64, u64), usize> {
    let mut counts = HashMap::new();
    for line in std::fs::read_to_string(log).unwrap_or_default().lines() {
        // A line cut by a SIGKILL mid-write is no delivery.
        let Ok(n) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let key = (
            n["alert_id"].as_str().unwrap().to_owned(),
            n["round"].as_u64().unwrap(),
            n["step"].as_u64().unwrap(),
        );
        *counts.entry(key).or_default() += 1;
    }
    counts
}

/// What a storm's senders saw.
#[derive(Debug, Default)]
struct Tally {
    /// Events answered with a 2xx, by key.
    acked: HashMap<String, u64>,
    /// Requests that got no 2xx (refused connections while a server was down, 503s).
    failed: usize,
    /// Statuses other than 2xx seen, with how often.
    statuses: BTreeMap<u16, usize>,
}

/// A storm of webhook events: `events` events over `keys` group keys, sent by [`SENDERS`] threads
/// round-robin over `bases` (a load balancer: a sender whose replica refuses the connection tries the next
/// one). `progress` counts answered events, so the test can strike mid-storm; a sender that gets no 2xx from
/// any replica counts a failure and goes on with the next event (a caller that gave up).
fn storm(
    bases: Vec<String>,
    path: String,
    events: usize,
    keys: usize,
    progress: Arc<AtomicUsize>,
) -> std::thread::JoinHandle<Tally> {
    std::thread::spawn(move || {
        let tally = Arc::new(Mutex::new(Tally::default()));
        let threads: Vec<_> = (0..SENDERS)
            .map(|t| {
                let (bases, path, tally, progress) =
                    (bases.clone(), path.clone(), tally.clone(), progress.clone());
                std::thread::spawn(move || {
                    let http = http();
                    for i in (t..events).step_by(SENDERS) {
                        let key = format!("storm-{}", i % keys);
                        let body =
                            json!({"title": format!("storm {}", i % keys), "key": key, "severity": "error"});
                        let mut ok = false;
                        for attempt in 0..bases.len() {
                            let base = &bases[(i + attempt) % bases.len()];
                            match http.post(format!("{base}{path}")).json(&body).send() {
                                Ok(r) if r.status().is_success() => {
                                    ok = true;
                                    break;
                                }
                                Ok(r) => {
                                    *tally
                                        .lock()
                                        .unwrap()
                                        .statuses
                                        .entry(r.status().as_u16())
                                        .or_default() += 1;
                                    break;
                                }
                                // Refused or cut: the replica is down; the balancer tries the next.
                                Err(_) => {}
                            }
                        }
                        let mut tally = tally.lock().unwrap();
                        if ok {
                            *tally.acked.entry(key).or_default() += 1;
                        } else {
                            tally.failed += 1;
                            drop(tally);
                            // Nobody answered: the caller backs off a little before its next event.
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        progress.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        Arc::try_unwrap(tally).unwrap().into_inner().unwrap()
    })
}

/// The settings of the storm tests' servers: steps logged to `log`, a policy minute of 1 s, leases that
/// expire 2 s after a process dies, and no ingest rate limit (the storm is the point).
fn storm_env(log: &str) -> [(&str, &str); 6] {
    [
        ("KLAXON_NOTIFY_LOG", log),
        ("KLAXON_ESCALATION_MINUTE_MS", "1000"),
        ("KLAXON_JOB_LEASE_MS", "2000"),
        ("KLAXON_INGEST_RATE", "1000000"),
        ("KLAXON_INGEST_BURST", "1000000"),
        ("KLAXON_LOG", "warn"),
    ]
}

/// Webhook events with unique keys, one per request, from one thread; returns how many got a 2xx.
fn raise_unique(base: &str, path: &str, prefix: &str, n: usize) -> usize {
    let http = http();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (http, url, prefix) = (http.clone(), format!("{base}{path}"), prefix.to_owned());
            std::thread::spawn(move || {
                (t..n)
                    .step_by(4)
                    .filter(|i| {
                        let body = json!({"title": format!("{prefix} {i}"), "key": format!("{prefix}-{i}"), "severity": "error"});
                        http.post(&url).json(&body).send().is_ok_and(|r| r.status().is_success())
                    })
                    .count()
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).sum()
}

fn wait_for(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Checks a storm's outcome against what is stored: every event acknowledged to a sender is counted in an
/// alert of its key, and at most `in_flight` events were stored without their sender learning it.
fn check_stored(
    tally: &Tally,
    stored: &BTreeMap<String, (u64, Vec<String>)>,
    in_flight: usize,
) -> (u64, u64) {
    let mut lost = Vec::new();
    for (key, acked) in &tally.acked {
        let have = stored.get(key).map_or(0, |s| s.0);
        if have < *acked {
            lost.push((key.clone(), *acked, have));
        }
    }
    assert!(
        lost.is_empty(),
        "acknowledged events missing (key, acked, stored): {lost:?}"
    );
    let acked: u64 = tally.acked.values().sum();
    let kept: u64 = stored
        .iter()
        .filter(|(k, _)| k.starts_with("storm-"))
        .map(|(_, s)| s.0)
        .sum();
    assert!(
        kept >= acked && kept - acked <= in_flight as u64,
        "stored {kept} storm events for {acked} acknowledged: more than the {in_flight} in flight"
    );
    (acked, kept)
}

/// Every alert's two steps are logged, then the counts settle; returns the duplicates.
fn check_steps(
    log: &Path,
    alert_ids: &[String],
    max_duplicates: usize,
    server_log: impl Fn() -> String,
) -> usize {
    let expected = alert_ids.len() * 2;
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let n = notified(log);
        let done = alert_ids
            .iter()
            .filter(|id| n.contains_key(&((*id).clone(), 0, 0)) && n.contains_key(&((*id).clone(), 0, 1)))
            .count();
        if done == alert_ids.len() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{done} of {} alerts had both steps notified; server log:\n{}",
            alert_ids.len(),
            server_log()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let n = notified(log);
    let duplicates: usize = n.values().map(|c| c - 1).sum();
    assert!(
        duplicates <= max_duplicates,
        "{duplicates} steps notified twice; at most {max_duplicates} were in flight"
    );
    assert_eq!(n.len(), expected, "steps of unknown alerts were notified");
    duplicates
}

/// SIGKILL of the only server during a storm of 10,000 webhook events with 1,000 escalation timers pending,
/// then a restart: every event answered 2xx is counted in an alert, every timer fires, and a step is
/// notified twice only if the kill caught it in flight.
fn a_killed_server_keeps_every_acknowledged_event_and_timer(database_url: String, dir: TempDir) {
    let shared = TempDir::new("faults-notify");
    let log = shared.path().join("notifications.jsonl");
    let log_str = log.display().to_string();
    let env = storm_env(&log_str);
    let mut server = Server::start(&database_url, dir, &env);
    let token = server.create_account("faults");
    // The second step comes 45 policy minutes (seconds) after the first: pending through the kill.
    let path = setup(&server, &token, 45);

    let timers = raise_unique(&server.url, &path, "timer", 1000);
    assert_eq!(timers, 1000, "the timers' alerts were all stored");
    let started = Instant::now();

    let progress = Arc::new(AtomicUsize::new(0));
    let storm = storm(vec![server.url.clone()], path, 10_000, 500, progress.clone());
    wait_for("a third of the storm", Duration::from_secs(120), || {
        progress.load(Ordering::Relaxed) >= 3_300
    });
    let before = notified(&log);
    let pending = 1000usize.saturating_sub(before.keys().filter(|k| k.2 == 1).count());
    server.kill();
    let at = progress.load(Ordering::Relaxed);
    eprintln!(
        "SIGKILLed klaxon serve (pid {}) after {at} of 10000 storm events, {:.1} s after 1000 timers were set; \
         {pending} second steps still pending",
        server.pid(),
        started.elapsed().as_secs_f64()
    );
    assert!(pending > 0, "the kill came while timers were pending");
    // Down for a moment while senders keep sending (their requests are refused), then back.
    std::thread::sleep(Duration::from_millis(500));
    server.restart();
    let tally = storm.join().unwrap();
    eprintln!(
        "storm: {} events acknowledged, {} got no 2xx (statuses {:?})",
        tally.acked.values().sum::<u64>(),
        tally.failed,
        tally.statuses
    );
    assert!(
        tally.statuses.keys().all(|s| *s == 503),
        "only 503s besides refusals: {:?}",
        tally.statuses
    );

    let stored = alerts(&server.url, &token);
    let (acked, kept) = check_stored(&tally, &stored, SENDERS);
    let ids: Vec<String> = stored.values().flat_map(|s| s.1.iter().cloned()).collect();
    let duplicates = check_steps(&log, &ids, WORKERS, || server.log());
    eprintln!(
        "counted: {acked} storm events acknowledged, {kept} stored, {} alerts; {} steps notified, {duplicates} twice",
        ids.len(),
        ids.len() * 2
    );
}

#[test]
fn sqlite_a_killed_server_keeps_every_acknowledged_event_and_timer() {
    let dir = TempDir::new("faults-sqlite");
    let url = format!("sqlite://{}", dir.path().join("klaxon.db").display());
    a_killed_server_keeps_every_acknowledged_event_and_timer(url, dir);
}

#[test]
fn postgres_a_killed_server_keeps_every_acknowledged_event_and_timer() {
    let Some(url) = postgres_database() else { return };
    a_killed_server_keeps_every_acknowledged_event_and_timer(url, TempDir::new("faults-pg"));
}

/// Two replicas on one PostgreSQL database behind a round-robin balancer; one is SIGKILLed mid-storm and
/// not restarted: nothing acknowledged is lost, and every step of every alert is notified exactly once
/// (the dead replica's leased jobs run on the survivor after their lease).
#[test]
fn two_replicas_lose_nothing_when_one_dies_mid_storm() {
    let Some(database_url) = postgres_database() else {
        return;
    };
    let shared = TempDir::new("faults-replicas");
    let log = shared.path().join("notifications.jsonl");
    let log_str = log.display().to_string();
    let env = storm_env(&log_str);
    let mut victim = Server::start(&database_url, TempDir::new("faults-a"), &env);
    let survivor = Server::start(&database_url, TempDir::new("faults-b"), &env);
    let token = survivor.create_account("faults");
    let path = setup(&survivor, &token, 5);

    let progress = Arc::new(AtomicUsize::new(0));
    let storm = storm(
        vec![victim.url.clone(), survivor.url.clone()],
        path,
        6_000,
        600,
        progress.clone(),
    );
    wait_for("half the storm", Duration::from_secs(120), || {
        progress.load(Ordering::Relaxed) >= 3_000
    });
    victim.kill();
    eprintln!(
        "SIGKILLed replica pid {} after {} of 6000 storm events; {} steps notified so far",
        victim.pid(),
        progress.load(Ordering::Relaxed),
        notified(&log).len()
    );
    let tally = storm.join().unwrap();
    assert_eq!(
        tally.failed, 0,
        "the balancer found the survivor for every event: {:?}",
        tally.statuses
    );

    let stored = alerts(&survivor.url, &token);
    let (acked, kept) = check_stored(&tally, &stored, SENDERS);
    let ids: Vec<String> = stored.values().flat_map(|s| s.1.iter().cloned()).collect();
    check_steps(&log, &ids, 0, || survivor.log());
    eprintln!(
        "counted: {acked} events acknowledged, {kept} stored in {} alerts, every one of {} steps notified once",
        ids.len(),
        ids.len() * 2
    );
}

/// A PostgreSQL cluster of the test's own, which it can stop and start.
struct OwnPostgres {
    dir: TempDir,
    url: String,
}

impl OwnPostgres {
    fn start() -> Option<Self> {
        // Only where the shared server runs: the same binaries start this one.
        postgres_database()?;
        let dir = TempDir::new("faults-own-pg");
        let mut perms = std::fs::metadata(dir.path()).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(dir.path(), perms).unwrap();
        // Durable settings: the test crashes this server, and an acknowledged event must survive that (the
        // shared test server runs without fsync, which a crash may cost committed transactions).
        let out = Command::new(Self::script())
            .env("PG_DURABLE", "1")
            .args(["start"])
            .arg(dir.path().join("pg"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "scripts/pg start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        Some(Self { dir, url })
    }

    fn script() -> PathBuf {
        workspace_root().join("scripts/pg")
    }

    fn run(&self, cmd: &str) {
        let out = Command::new(Self::script())
            .arg(cmd)
            .arg(self.dir.path().join("pg"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "scripts/pg {cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = Command::new(Self::script())
            .arg("stop")
            .arg(self.dir.path().join("pg"))
            .output();
    }
}

/// One probe's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    Status(u16),
    /// No answer within the client's timeout.
    Hung,
}

/// PostgreSQL stopped (immediately, as a crash) and started again under load: while it is down, ingest
/// answers 503 rather than hang past its caller's timeout and `/readyz` answers 503 within a second; nothing
/// answered 2xx is lost; the service recovers by itself, and `/readyz` says so.
#[test]
fn postgres_down_and_up_under_load() {
    let Some(pg) = OwnPostgres::start() else { return };
    let env = [
        ("KLAXON_INGEST_RATE", "1000000"),
        ("KLAXON_INGEST_BURST", "1000000"),
        ("KLAXON_LOG", "warn"),
    ];
    let server = Server::start(&pg.url, TempDir::new("faults-pgdown"), &env);
    let token = server.create_account("faults");
    let path = setup(&server, &token, 30);

    // Load: webhook senders with the timeout SNS gives an HTTPS endpoint (15 s); probes of /readyz with the
    // second a health check allows.
    let stop = Arc::new(AtomicBool::new(false));
    let ingest: Probes = Arc::default();
    let acked: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
    let mut threads = Vec::new();
    for t in 0..4 {
        let (stop, ingest, acked, url) = (
            stop.clone(),
            ingest.clone(),
            acked.clone(),
            format!("{}{path}", server.url),
        );
        threads.push(std::thread::spawn(move || {
            let http = reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .unwrap();
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let key = format!("storm-{t}-{i}");
                i += 1;
                let at = Instant::now();
                let probe = match http.post(&url).json(&json!({"title": key, "key": key})).send() {
                    Ok(r) => Probe::Status(r.status().as_u16()),
                    Err(e) if e.is_timeout() => Probe::Hung,
                    Err(e) => panic!("ingest request failed without an answer: {e}"),
                };
                if probe == Probe::Status(200) || probe == Probe::Status(201) {
                    *acked.lock().unwrap().entry(key).or_default() += 1;
                }
                ingest.lock().unwrap().push((at, probe, at.elapsed()));
                if probe != Probe::Status(200) {
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }));
    }
    let ready: Probes = Arc::default();
    {
        let (stop, ready, url) = (stop.clone(), ready.clone(), format!("{}/readyz", server.url));
        threads.push(std::thread::spawn(move || {
            let http = reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(1))
                .build()
                .unwrap();
            while !stop.load(Ordering::Relaxed) {
                let at = Instant::now();
                let probe = match http.get(&url).send() {
                    Ok(r) => Probe::Status(r.status().as_u16()),
                    Err(e) if e.is_timeout() => Probe::Hung,
                    Err(e) => panic!("/readyz failed without an answer: {e}"),
                };
                ready.lock().unwrap().push((at, probe, at.elapsed()));
                std::thread::sleep(Duration::from_millis(100));
            }
        }));
    }

    let count = |v: &Probes, since: Instant, p: Probe| {
        v.lock()
            .unwrap()
            .iter()
            .filter(|(at, probe, _)| *at >= since && *probe == p)
            .count()
    };
    let t0 = Instant::now();
    wait_for("ingest under load", Duration::from_secs(30), || {
        count(&ingest, t0, Probe::Status(200)) >= 200
    });
    pg.run("stop");
    let down = Instant::now();
    eprintln!("stopped PostgreSQL (immediate) under load");
    wait_for(
        "503s from ingest while PostgreSQL is down",
        Duration::from_secs(30),
        || count(&ingest, down, Probe::Status(503)) >= 20 && count(&ready, down, Probe::Status(503)) >= 5,
    );
    pg.run("resume");
    let up = Instant::now();
    eprintln!(
        "started PostgreSQL again after {:.1} s",
        (up - down).as_secs_f64()
    );
    wait_for("ingest and /readyz to recover", Duration::from_secs(60), || {
        count(&ingest, up, Probe::Status(200)) >= 100
            && count(
                &ready,
                Instant::now() - Duration::from_secs(1),
                Probe::Status(200),
            ) >= 1
    });
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }

    let ingest = ingest.lock().unwrap().clone();
    let ready = ready.lock().unwrap().clone();
    let hung: Vec<_> = ingest.iter().filter(|p| p.1 == Probe::Hung).collect();
    assert!(hung.is_empty(), "ingest requests hung past 15 s: {}", hung.len());
    let others: Vec<_> = ingest
        .iter()
        .filter(|p| !matches!(p.1, Probe::Status(200 | 503)))
        .collect();
    assert!(others.is_empty(), "ingest answered only 200 or 503: {others:?}");
    let slowest_ready = ready.iter().map(|p| p.2).max().unwrap();
    let ready_bad: Vec<_> = ready
        .iter()
        .filter(|p| !matches!(p.1, Probe::Status(200 | 503)))
        .collect();
    assert!(
        ready_bad.is_empty(),
        "/readyz answered 200 or 503 within a second, always: {ready_bad:?}"
    );
    let slowest_503 = ingest
        .iter()
        .filter(|p| p.1 == Probe::Status(503))
        .map(|p| p.2)
        .max()
        .unwrap();

    let acked = acked.lock().unwrap().clone();
    let stored = alerts(&server.url, &token);
    let lost: Vec<_> = acked
        .keys()
        .filter(|k| stored.get(*k).map_or(0, |s| s.0) == 0)
        .collect();
    assert!(lost.is_empty(), "acknowledged events lost: {lost:?}");
    eprintln!(
        "counted: {} ingest requests ({} answered 200, {} answered 503, slowest 503 in {:.2} s, none hung); \
         {} /readyz probes ({} answered 503, slowest in {:.2} s); {} acknowledged events all stored",
        ingest.len(),
        ingest.iter().filter(|p| p.1 == Probe::Status(200)).count(),
        ingest.iter().filter(|p| p.1 == Probe::Status(503)).count(),
        slowest_503.as_secs_f64(),
        ready.len(),
        ready.iter().filter(|p| p.1 == Probe::Status(503)).count(),
        slowest_ready.as_secs_f64(),
        acked.len()
    );
}

/// A small tmpfs mounted for the test, unmounted on drop.
struct SmallDisk(TempDir);

impl SmallDisk {
    /// `None` (the test is skipped, and says so) where this process may not mount a file system.
    fn mount(megabytes: u32) -> Option<Self> {
        let dir = TempDir::new("faults-disk");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .output()
            .ok()?;
        if !out.status.success() {
            eprintln!(
                "skipping: cannot mount a tmpfs here (needs root): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return None;
        }
        Some(Self(dir))
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    /// Fills the disk with one file until writing fails.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let filler = self.path().join("filler");
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        // The last partial blocks, byte by byte in bigger steps than one.
        let small = vec![0u8; 512];
        while f.write_all(&small).is_ok() {}
        let _ = f.flush();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.path()).status();
    }
}

/// SQLite on a disk that fills up: ingest answers 503 with an error that says so, nothing of the refused
/// requests is stored (no half-written alert), and once space returns the service takes alerts again by
/// itself.
#[test]
fn a_full_disk_refuses_with_503_and_recovers() {
    let Some(disk) = SmallDisk::mount(16) else { return };
    let url = format!("sqlite://{}", disk.path().join("klaxon.db").display());
    let env = [
        ("KLAXON_INGEST_RATE", "1000000"),
        ("KLAXON_INGEST_BURST", "1000000"),
        ("KLAXON_LOG", "warn"),
    ];
    let server = Server::start(&url, TempDir::new("faults-full"), &env);
    let token = server.create_account("faults");
    let path = setup(&server, &token, 30);
    let http = http();
    let send = |title: &str| {
        let r = http
            .post(format!("{}{path}", server.url))
            .json(&json!({"title": title, "key": title, "severity": "error"}))
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json::<Value>().unwrap_or(Value::Null))
    };
    assert_eq!(send("before the disk filled").0, 200);

    let filler = disk.fill();
    eprintln!(
        "filled the disk under the SQLite database ({} bytes of filler)",
        std::fs::metadata(&filler).unwrap().len()
    );
    let mut refused = Vec::new();
    for i in 0..20 {
        let title = format!("while full {i}");
        let (status, body) = send(&title);
        assert_eq!(status, 503, "a full disk refuses: {body}");
        refused.push((title, body));
    }
    let message = refused[0].1["error"]["message"].as_str().unwrap().to_owned();
    assert!(message.contains("disk is full"), "the error says why: {message}");
    assert!(
        server.log().contains("disk is full"),
        "the log says why:\n{}",
        server.log()
    );
    // `/readyz` answers (it reads, which a full disk allows) and `/healthz` too: the process is fine.
    assert_eq!(
        http.get(format!("{}/healthz", server.url))
            .send()
            .unwrap()
            .status(),
        200
    );

    std::fs::remove_file(&filler).unwrap();
    eprintln!("freed the disk");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut after = send("after the disk freed");
    while after.0 != 200 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        after = send("after the disk freed");
    }
    assert_eq!(
        after.0,
        200,
        "ingest works again: {}\nlog:\n{}",
        after.1,
        server.log()
    );
    let stored = alerts(&server.url, &token);
    assert!(stored.contains_key("before the disk filled") && stored.contains_key("after the disk freed"));
    let half: Vec<_> = refused.iter().filter(|(t, _)| stored.contains_key(t)).collect();
    assert!(half.is_empty(), "refused events were stored: {half:?}");
    eprintln!(
        "counted: {} requests refused with 503 ({message:?}), none stored; {} alerts after recovery",
        refused.len(),
        stored.len()
    );
}

/// The resident set of a process, in MiB.
fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib / 1024.0
}

/// A sample of `/metrics`: the value of a metric without labels.
fn metric(base: &str, name: &str) -> f64 {
    let text = http()
        .get(format!("{base}/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} not on /metrics"))
}

/// The SQLite database's size on disk (the file and its write-ahead log), in MiB.
fn db_mib(dir: &Path) -> f64 {
    ["klaxon.db", "klaxon.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len() as f64)
        .sum::<f64>()
        / 1_048_576.0
}

/// A soak: webhook events at half the ingest capacity measured at the start, with Slack (the fake) and
/// escalations on, for `KLAXON_SOAK_SECS` (60 s in the test command; the 10 minutes with
/// `KLAXON_SOAK_SECS=600`). Alerts group over `KLAXON_SOAK_KEYS` keys (20 by default) and every 500th event resolves its alert (its key
/// opens a new alert with its next event, about one a second), so messages are posted, updated and escalated
/// all along, at a pace one channel of Slack can show. RSS, queue lag and database size are printed at the
/// start and the end; RSS and lag must stay flat.
#[test]
fn a_soak_at_half_capacity_stays_flat() {
    use klaxon_tests::slack::FakeSlack;
    let soak_keys: u64 = std::env::var("KLAXON_SOAK_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let secs: u64 = std::env::var("KLAXON_SOAK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let slack = FakeSlack::start("xoxb-soak");
    let env = [
        ("KLAXON_SLACK_API_URL", slack.api_url.as_str()),
        ("KLAXON_SLACK_BOT_TOKEN", "xoxb-soak"),
        ("KLAXON_SLACK_SIGNING_SECRET", "soak-secret"),
        ("KLAXON_ESCALATION_MINUTE_MS", "1000"),
        ("KLAXON_METRICS_INTERVAL", "1s"),
        ("KLAXON_INGEST_RATE", "1000000"),
        ("KLAXON_INGEST_BURST", "1000000"),
        ("KLAXON_LOG", "warn"),
    ];
    let server = Server::start_sqlite_with(&env);
    let token = server.create_account("soak");
    let http_ = http();
    let post = |path: &str, body: Value| {
        api(
            &http_,
            &server.url,
            &token,
            reqwest::Method::POST,
            path,
            Some(body),
        )
    };
    let team = post(
        "/v1/teams",
        json!({"name": "sre", "slack_channel": "C0SOAK0001", "members": ["U0SOAK0001", "U0SOAK0002", "U0SOAK0003", "U0SOAK0004"]}),
    );
    let policy = post(
        "/v1/escalation-policies",
        json!({"team_id": team["id"], "name": "soak", "steps": [
            {"notify": "next_member", "escalate_after_minutes": 2}, {"notify": "here"}
        ]}),
    );
    let endpoint = post(
        "/v1/endpoints",
        json!({"team_id": team["id"], "escalation_policy_id": policy["id"], "name": "soak"}),
    );
    let url = endpoint["url"].as_str().unwrap().to_owned();

    let send = move |http: &reqwest::blocking::Client, i: u64| {
        let key = format!("soak-{}", i % soak_keys);
        let mut body = json!({"title": key, "key": key, "severity": "error"});
        if i % 500 == 499 {
            body["status"] = json!("resolved");
        }
        http.post(&url)
            .json(&body)
            .send()
            .is_ok_and(|r| r.status().is_success())
    };
    // Capacity: as fast as 8 senders go, for 3 s.
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let capacity_window = Duration::from_secs(3);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                let http = http();
                while started.elapsed() < capacity_window {
                    let i = next.fetch_add(1, Ordering::Relaxed) as u64;
                    assert!(send(&http, i), "ingest failed while measuring capacity");
                }
            });
        }
    });
    let capacity = next.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    let rate = capacity / 2.0;

    // The soak: 4 senders, each on its own schedule, at half the capacity in all.
    let pid = server.pid();
    let total = Duration::from_secs(secs);
    let soak_started = Instant::now();
    let failures = AtomicUsize::new(0);
    let mut samples = Vec::new();
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let (next, failures) = (&next, &failures);
            let send = &send;
            s.spawn(move || {
                let http = http();
                let period = Duration::from_secs_f64(4.0 / rate);
                let mut due = Instant::now() + period.mul_f64(t as f64 / 4.0);
                while soak_started.elapsed() < total {
                    let now = Instant::now();
                    if due > now {
                        std::thread::sleep(due - now);
                    }
                    due += period;
                    let i = next.fetch_add(1, Ordering::Relaxed) as u64;
                    if !send(&http, i) {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
        // Samples: after a tenth of the soak (warm), and at its end.
        for at in [total / 10, total - Duration::from_secs(2).min(total / 10)] {
            std::thread::sleep(at.saturating_sub(soak_started.elapsed()));
            samples.push((
                soak_started.elapsed().as_secs_f64(),
                rss_mib(pid),
                metric(&server.url, "klaxon_queue_lag_seconds"),
                db_mib(server.dir()),
            ));
        }
    });
    let events = next.load(Ordering::Relaxed);
    let (start, end) = (samples[0], samples[1]);
    eprintln!(
        "soak: capacity {capacity:.0} events/s, soaked at {rate:.0}/s for {secs} s ({events} events in all, {} \
         failed); Slack got {} calls\n  at {:>5.1} s: RSS {:.1} MiB, queue lag {:.2} s, database {:.1} MiB\n  at \
         {:>5.1} s: RSS {:.1} MiB, queue lag {:.2} s, database {:.1} MiB",
        failures.load(Ordering::Relaxed),
        slack.calls().len(),
        start.0,
        start.1,
        start.2,
        start.3,
        end.0,
        end.1,
        end.2,
        end.3
    );
    // What waits, by kind: the first page of ready jobs (oldest first) that are due.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let ready = api(
        &http_,
        &server.url,
        &token,
        reqwest::Method::GET,
        "/v1/jobs?state=ready&limit=1000",
        None,
    );
    let mut due: BTreeMap<String, usize> = BTreeMap::new();
    let mut step_wait_ms = 0;
    for j in ready["items"].as_array().unwrap() {
        let run_at = j["run_at_ms"].as_i64().unwrap();
        if run_at <= now_ms {
            *due.entry(j["kind"].as_str().unwrap().to_owned()).or_default() += 1;
            if j["kind"] == "escalation.step" {
                step_wait_ms = step_wait_ms.max(now_ms - run_at);
            }
        }
    }
    eprintln!(
        "  due jobs waiting at the end (first 1,000 ready): {due:?}; the longest-waiting escalation step: {:.2} s",
        step_wait_ms as f64 / 1000.0
    );
    assert_eq!(failures.load(Ordering::Relaxed), 0, "every event was taken");
    // Escalation is what must never wait: a page late is a page missed. (Message updates wait for their
    // channel's pace by design, Slack showing one message a second per channel; an alert's next update
    // waiting behind one deferred to that pace is not counted as queue lag.)
    // Bounds with room for a loaded CI machine; a queue that falls behind shows lag growing with the soak's
    // length (it reached the soak's whole length before QueueLag stopped counting blocked updates).
    assert!(
        step_wait_ms < 20_000,
        "escalation steps keep up: one waited {step_wait_ms} ms past its time"
    );
    assert!(end.2 < 20.0, "the queue keeps up: lag {:.2} s at the end", end.2);
    assert!(
        end.1 <= (start.1 * 1.5).max(start.1 + 30.0),
        "RSS stays flat: {:.1} MiB -> {:.1} MiB",
        start.1,
        end.1
    );
}

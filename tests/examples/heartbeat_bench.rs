//! What a heartbeat ping costs (run by `bench/heartbeats.sh`, never by the tests): a release `klaxon serve` on
//! SQLite, then on PostgreSQL when given one, with N heartbeats, each pinged (`POST /heartbeat/{token}`) by 8
//! concurrent callers, alternating with as many `GET /healthz` (the cheapest request the service answers) in
//! three rounds, so a changing machine load weighs on both alike. Prints pings/s and `/healthz`/s (the median
//! round), the p50/p99 of both (all rounds), and the jobs written per ping (a count read from the queue's
//! table: a ping must write none; the sweep's own job is written by time, not by pings). Exits non-zero when a
//! ping wrote a job.
//!
//! Usage: `heartbeat_bench KLAXON_BIN [--postgres URL] [--heartbeats N]`; prints a table and one JSON line per
//! store.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)] // A measuring tool: it reports on stdout and fails loudly.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use klaxon_tests::{TempDir, free_port};
use serde_json::{Value, json};

/// Concurrent callers.
const CALLERS: usize = 8;
/// Rounds of pings and references.
const ROUNDS: usize = 3;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let klaxon = std::fs::canonicalize(PathBuf::from(
        args.get(1)
            .expect("usage: heartbeat_bench KLAXON_BIN [--postgres URL] [--heartbeats N]"),
    ))
    .expect("the klaxon binary");
    let opt = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let n: usize = opt("--heartbeats").map_or(2000, |v| v.parse().expect("--heartbeats N"));
    let pg = opt("--postgres");
    let mut failed = false;
    let mut rows = Vec::new();
    for store in ["sqlite", "postgres"] {
        if store == "postgres" && pg.is_none() {
            continue;
        }
        let k = start_klaxon(&klaxon, store, pg.as_deref());
        let row = measure(&k, store, n);
        failed |= row["jobs_per_ping"].as_f64() != Some(0.0);
        rows.push(row);
    }
    println!();
    println!(
        "| store | pings/s | /healthz/s | ratio | ping p50 | ping p99 | /healthz p50 | /healthz p99 | jobs per ping |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {:.0} | {:.0} | {:.2}x | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {} |",
            r["store"].as_str().unwrap(),
            r["pings_per_sec"].as_f64().unwrap(),
            r["healthz_per_sec"].as_f64().unwrap(),
            r["ratio"].as_f64().unwrap(),
            r["ping_p50_ms"].as_f64().unwrap(),
            r["ping_p99_ms"].as_f64().unwrap(),
            r["healthz_p50_ms"].as_f64().unwrap(),
            r["healthz_p99_ms"].as_f64().unwrap(),
            r["jobs_per_ping"],
        );
    }
    for r in &rows {
        println!("{r}");
    }
    assert!(!failed, "pings wrote jobs");
}

struct Klaxon {
    child: Child,
    url: String,
    token: String,
    db: String,
    _dir: TempDir,
}

impl Drop for Klaxon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_klaxon(bin: &Path, store: &str, pg: Option<&str>) -> Klaxon {
    let dir = TempDir::new("heartbeat-bench");
    let db = match (store, pg) {
        ("postgres", Some(base)) => {
            let name = format!("heartbeatbench_{}", std::process::id());
            let _ = Command::new("psql")
                .arg(base)
                .args(["-q", "-c", &format!("DROP DATABASE IF EXISTS {name}")])
                .status();
            let ok = Command::new("psql")
                .arg(base)
                .args(["-q", "-c", &format!("CREATE DATABASE {name}")])
                .status()
                .unwrap();
            assert!(ok.success());
            format!("{}/{name}", base.rsplit_once('/').unwrap().0)
        }
        _ => format!("sqlite://{}", dir.path().join("klaxon.db").display()),
    };
    let port = free_port();
    let env = [
        ("KLAXON_LISTEN", format!("127.0.0.1:{port}")),
        ("KLAXON_DATABASE_URL", db.clone()),
        ("KLAXON_LOG", "warn".into()),
    ];
    let log = std::fs::File::create(dir.path().join("serve.log")).unwrap();
    let child = Command::new(bin)
        .arg("serve")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "klaxon did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = Command::new(bin)
        .args(["account", "create", "--name", "bench"])
        .env("KLAXON_DATABASE_URL", &db)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    Klaxon {
        child,
        url,
        token,
        db,
        _dir: dir,
    }
}

fn post(http: &reqwest::blocking::Client, k: &Klaxon, path: &str, body: &Value) -> Value {
    let resp = http
        .post(format!("{}{path}", k.url))
        .bearer_auth(&k.token)
        .json(body)
        .send()
        .unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().unwrap()
}

fn measure(k: &Klaxon, store: &str, n: usize) -> Value {
    let http = reqwest::blocking::Client::new();
    let team = post(
        &http,
        k,
        "/v1/teams",
        &json!({"name": "sre", "slack_channel": "C0BENCH001"}),
    );
    let urls: Vec<String> = (0..n)
        .map(|i| {
            post(
                &http,
                k,
                "/v1/heartbeats",
                &json!({"team_id": team["id"], "name": format!("job-{i}"), "interval_minutes": 10080}),
            )["ping_url"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let healthz: Vec<String> = (0..n).map(|_| format!("{}/healthz", k.url)).collect();
    // Warm-up of both paths.
    run_requests(&urls[..n.min(200)], &reqwest::Method::POST);
    run_requests(&healthz[..n.min(200)], &reqwest::Method::GET);
    let jobs_before = pinged_jobs(k);
    let (mut ping_rates, mut ref_rates, mut ping_lat, mut ref_lat) = (vec![], vec![], vec![], vec![]);
    for _ in 0..ROUNDS {
        let (rate, lat) = run_requests(&urls, &reqwest::Method::POST);
        ping_rates.push(rate);
        ping_lat.extend(lat);
        let (rate, lat) = run_requests(&healthz, &reqwest::Method::GET);
        ref_rates.push(rate);
        ref_lat.extend(lat);
    }
    let jobs_after = pinged_jobs(k);
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    ping_lat.sort();
    ref_lat.sort();
    let pct =
        |l: &[Duration], p: f64| l[((l.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0;
    let (ping_rate, ref_rate) = (median(&mut ping_rates), median(&mut ref_rates));
    let row = json!({
        "store": store,
        "heartbeats": n,
        "rounds": ROUNDS,
        "callers": CALLERS,
        "pings_per_sec": ping_rate,
        "healthz_per_sec": ref_rate,
        "ratio": ping_rate / ref_rate,
        "ping_p50_ms": pct(&ping_lat, 0.5),
        "ping_p99_ms": pct(&ping_lat, 0.99),
        "healthz_p50_ms": pct(&ref_lat, 0.5),
        "healthz_p99_ms": pct(&ref_lat, 0.99),
        "jobs_per_ping": (jobs_after - jobs_before) as f64 / (n * ROUNDS) as f64,
    });
    eprintln!("{store}: {row}");
    row
}

/// Jobs in the queue's table other than the sweep's (which is written by time, not by pings).
fn pinged_jobs(k: &Klaxon) -> u64 {
    let statement = "SELECT count(*) FROM queue_jobs WHERE kind <> 'heartbeat.sweep'";
    let out = if k.db.starts_with("sqlite") {
        Command::new("python3")
            .args([
                "-c",
                "import sqlite3,sys\nprint(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])",
                k.db.trim_start_matches("sqlite://"),
                statement,
            ])
            .output()
            .unwrap()
    } else {
        Command::new("psql")
            .args([&k.db, "-v", "ON_ERROR_STOP=1", "-Atqc", statement])
            .output()
            .unwrap()
    };
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().parse().unwrap()
}

/// Sends every URL once from [`CALLERS`] threads; returns requests per second and the latencies.
fn run_requests(urls: &[String], method: &reqwest::Method) -> (f64, Vec<Duration>) {
    let started = Instant::now();
    let handles: Vec<_> = urls
        .chunks(urls.len().div_ceil(CALLERS))
        .map(|chunk| {
            let chunk = chunk.to_vec();
            let method = method.clone();
            std::thread::spawn(move || {
                let http = reqwest::blocking::Client::new();
                chunk
                    .iter()
                    .map(|u| {
                        let t = Instant::now();
                        let resp = http.request(method.clone(), u).send().unwrap();
                        assert!(resp.status().is_success(), "{}", resp.status());
                        let _ = resp.bytes();
                        t.elapsed()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let lat: Vec<Duration> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    (urls.len() as f64 / started.elapsed().as_secs_f64(), lat)
}

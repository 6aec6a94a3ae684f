//! Timer benchmark (run by hand or a script, never by the tests).
//!
//! For each store: inserts N pending timers (due a day from now, each with a dedup key, `--per-partition K`
//! consecutive ones sharing a partition: 1 by default, as escalation keeps them, one pending step per alert;
//! more stresses ordered partitions, whose later jobs wait for the earlier ones to finish), then moves the
//! queue's clock so that all of them fall due within a short burst window, runs a runner with no-op handlers
//! and measures the firing lag (handler start minus `run_at`), then measures plain throughput (enqueue + run
//! of due no-op jobs while the runner runs), and prints a table with the process's peak RSS (VmHWM).
//!
//! ```text
//! cargo run --release -p klaxon-queue --example queue_bench -- \
//!     [--count N] [--store sqlite|postgres|both] [--postgres-url URL] [--burst-secs S] [--workers W] \
//!     [--per-partition K]
//! ```
//! The PostgreSQL server comes from `--postgres-url`, else `KLAXON_BENCH_POSTGRES_URL`, else
//! `KLAXON_TEST_POSTGRES_URL`; a fresh database is created on it and dropped afterwards.
//!
//! With `BENCH_JSON=FILE`, each store's firing lag p99 and peak RSS are also appended to FILE as JSON lines
//! (`bench/emit.py`'s format), for `scripts/bench`; run one store per process there, as the RSS is the
//! process's peak.

// A benchmark prints its table; failures abort it with a message.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicI64, AtomicUsize, Ordering},
    },
    time::Instant,
};

use klaxon_db::{Database, PoolSettings};
use klaxon_queue::{BackgroundJob, Clock, JobError, NewJob, Queue, Runner, RunnerSettings, SystemClock};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The system clock shifted by an offset the benchmark moves, to make a day's timers due at once.
#[derive(Debug, Default)]
struct ShiftedClock {
    offset_ms: AtomicI64,
}

impl Clock for ShiftedClock {
    fn now_ms(&self) -> i64 {
        SystemClock.now_ms() + self.offset_ms.load(Ordering::SeqCst)
    }
}

struct Bench {
    clock: Arc<ShiftedClock>,
    lags: Mutex<Vec<i64>>,
    done: AtomicUsize,
    target: AtomicUsize,
    finished: Notify,
}

#[derive(Serialize, Deserialize)]
struct Tick {
    due: i64,
}

#[async_trait::async_trait]
impl BackgroundJob for Tick {
    const KIND: &'static str = "bench.tick";
    type Context = Arc<Bench>;
    async fn run(&self, ctx: &Arc<Bench>) -> Result<(), JobError> {
        let lag = ctx.clock.now_ms() - self.due;
        ctx.lags.lock().unwrap().push(lag);
        if ctx.done.fetch_add(1, Ordering::SeqCst) + 1 == ctx.target.load(Ordering::SeqCst) {
            ctx.finished.notify_one();
        }
        Ok(())
    }
}

struct Args {
    count: usize,
    stores: Vec<String>,
    postgres_url: Option<String>,
    burst_secs: f64,
    workers: usize,
    per_partition: usize,
}

fn args() -> Args {
    let mut a = Args {
        count: 1_000_000,
        stores: vec!["sqlite".into(), "postgres".into()],
        postgres_url: std::env::var("KLAXON_BENCH_POSTGRES_URL")
            .or_else(|_| std::env::var("KLAXON_TEST_POSTGRES_URL"))
            .ok(),
        burst_secs: 60.0,
        workers: 1024,
        per_partition: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--count" => a.count = value.replace('_', "").parse().expect("--count N"),
            "--store" if value == "both" => {}
            "--store" => a.stores = vec![value],
            "--postgres-url" => a.postgres_url = Some(value),
            "--burst-secs" => a.burst_secs = value.parse().expect("--burst-secs S"),
            "--workers" => a.workers = value.parse().expect("--workers W"),
            "--per-partition" => a.per_partition = value.parse::<usize>().expect("--per-partition K").max(1),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

fn vm_hwm_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

struct Row {
    store: String,
    count: usize,
    insert_s: f64,
    lag_p50: i64,
    lag_p99: i64,
    lag_max: i64,
    fire_rate: f64,
    throughput: f64,
    hwm_mb: f64,
}

async fn open(store: &str, pg: Option<&str>) -> (Database, Option<(Database, String)>) {
    let settings = PoolSettings {
        max_connections: 8,
        ..PoolSettings::default()
    };
    if store == "sqlite" {
        let path = std::env::temp_dir().join(format!("queue-bench-{}.db", uuid::Uuid::new_v4().simple()));
        return (
            Database::connect(&format!("sqlite://{}", path.display()), &settings)
                .await
                .unwrap(),
            None,
        );
    }
    let base = pg.expect("PostgreSQL URL: --postgres-url or KLAXON_BENCH_POSTGRES_URL");
    let admin = Database::connect(
        base,
        &PoolSettings {
            max_connections: 1,
            ..PoolSettings::default()
        },
    )
    .await
    .unwrap();
    let name = format!("queue_bench_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin.pool)
        .await
        .unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    let db = Database::connect(&format!("{prefix}/{name}"), &settings)
        .await
        .unwrap();
    (db, Some((admin, name)))
}

async fn bench(store: &str, a: &Args) -> Row {
    let (db, admin) = open(store, a.postgres_url.as_deref()).await;
    klaxon_queue::MIGRATOR.run(&db).await.unwrap();
    let clock = Arc::new(ShiftedClock::default());
    let queue = Queue::with_clock(db.clone(), clock.clone());
    let n = a.count;

    // 1. N pending timers, a day away, spread over the burst window.
    let base = clock.now_ms() + 86_400_000;
    let spread_ms = (a.burst_secs * 1000.0) as i64;
    let started = Instant::now();
    let chunk = 50_000;
    let k = a.per_partition;
    for start in (0..n).step_by(chunk) {
        let jobs: Vec<NewJob> = (start..(start + chunk).min(n))
            .map(|i| {
                let due = base + (i as i64 * spread_ms) / n as i64;
                NewJob::new(&Tick { due })
                    .unwrap()
                    .run_at_ms(due)
                    .partition(format!("alert:{}", i / k))
                    .dedup(format!("alert:{}:step:{}", i / k, i % k))
            })
            .collect();
        queue.enqueue_many(&jobs).await.unwrap();
    }
    let insert_s = started.elapsed().as_secs_f64();
    eprintln!("{store}: inserted {n} timers in {insert_s:.1} s");

    // 2. Jump the clock: the first timer is due in one second, the last one burst window later.
    let ctx = Arc::new(Bench {
        clock: clock.clone(),
        lags: Mutex::new(Vec::with_capacity(n)),
        done: AtomicUsize::new(0),
        target: AtomicUsize::new(n),
        finished: Notify::new(),
    });
    let settings = RunnerSettings {
        workers: a.workers,
        claim_batch: u32::try_from(a.workers).unwrap(),
        ..RunnerSettings::default()
    };
    let token = CancellationToken::new();
    let runner = Runner::new(queue.clone(), ctx.clone())
        .register::<Tick>()
        .with_settings(settings.clone());
    let handle = tokio::spawn(runner.run(token.clone()));
    clock
        .offset_ms
        .store(base - 1000 - SystemClock.now_ms(), Ordering::SeqCst);
    queue.notify();
    let fire_start = Instant::now();
    ctx.finished.notified().await;
    let fire_s = fire_start.elapsed().as_secs_f64() - 1.0;
    let mut lags = std::mem::take(&mut *ctx.lags.lock().unwrap());
    lags.sort_unstable();
    eprintln!(
        "{store}: fired {} timers, last one {fire_s:.1} s after the first was due",
        lags.len()
    );

    // 3. Throughput: enqueue due no-op jobs in batches while the runner drains them.
    let m = n.min(100_000);
    ctx.done.store(0, Ordering::SeqCst);
    ctx.target.store(m, Ordering::SeqCst);
    let started = Instant::now();
    for start in (0..m).step_by(1000) {
        let now = clock.now_ms();
        let jobs: Vec<NewJob> = (start..(start + 1000).min(m))
            .map(|_| NewJob::new(&Tick { due: now }).unwrap())
            .collect();
        queue.enqueue_many(&jobs).await.unwrap();
    }
    ctx.finished.notified().await;
    let throughput = m as f64 / started.elapsed().as_secs_f64();
    token.cancel();
    handle.await.unwrap().unwrap();

    db.pool.close().await;
    if let Some((admin, name)) = admin {
        sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .execute(&admin.pool)
            .await
            .unwrap();
    } else if let Some(path) = db.url.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or(path);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path}{suffix}"));
        }
    }
    Row {
        store: store.into(),
        count: n,
        insert_s,
        lag_p50: percentile(&lags, 0.50),
        lag_p99: percentile(&lags, 0.99),
        lag_max: lags.last().copied().unwrap_or(0),
        fire_rate: n as f64 / fire_s.max(a.burst_secs).max(1e-3),
        throughput,
        hwm_mb: vm_hwm_mb(),
    }
}

#[tokio::main]
async fn main() {
    let a = args();
    let mut rows = Vec::new();
    for store in &a.stores {
        rows.push(bench(store, &a).await);
    }
    println!(
        "\ntimers due within a {:.0} s burst, {} per partition; {} workers; targets: lag p99 < 1000 ms, peak RSS < 300 MB",
        a.burst_secs, a.per_partition, a.workers
    );
    println!(
        "{:<9} {:>9} {:>9} {:>11} {:>9} {:>9} {:>9} {:>10} {:>12} {:>9}",
        "store",
        "timers",
        "insert s",
        "insert/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "fired/s",
        "enq+run/s",
        "RSS MB"
    );
    if let Ok(path) = std::env::var("BENCH_JSON")
        && !path.is_empty()
    {
        append_json(&path, &a, &rows);
    }
    for r in rows {
        println!(
            "{:<9} {:>9} {:>9.1} {:>11.0} {:>9} {:>9} {:>9} {:>10.0} {:>12.0} {:>9.0}",
            r.store,
            r.count,
            r.insert_s,
            r.count as f64 / r.insert_s,
            r.lag_p50,
            r.lag_p99,
            r.lag_max,
            r.fire_rate,
            r.throughput,
            r.hwm_mb
        );
    }
    println!(
        "(RSS is the process's peak so far: with several stores in one run, later rows include earlier ones)"
    );
}

/// Appends each row's lag p99 and peak RSS as `bench/emit.py` JSON lines, against the targets.
fn append_json(path: &str, a: &Args, rows: &[Row]) {
    use std::io::Write as _;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for r in rows {
        let store = if r.store == "sqlite" {
            "SQLite"
        } else {
            "PostgreSQL"
        };
        let what = format!(
            "timers: {} pending, due over {:.0} s, {} per partition",
            thousands(r.count),
            a.burst_secs,
            a.per_partition
        );
        let note = format!(
            "insert {:.1} s, lag p50 {} ms, max {} ms, fired {:.0}/s, enqueue+run {:.0}/s",
            r.insert_s, r.lag_p50, r.lag_max, r.fire_rate, r.throughput
        );
        let lines = [
            serde_json::json!({"figure": format!("{what}: firing lag p99, {store}"), "klaxon": r.lag_p99,
                "reference": null, "reference_name": "the due time (lag is measured from it)", "unit": "ms",
                "target": "klaxon < 1000", "note": note}),
            serde_json::json!({"figure": format!("{what}: peak RSS, {store}"), "klaxon": r.hwm_mb,
                "reference": null, "reference_name": "", "unit": "MB", "target": "klaxon < 300"}),
        ];
        for line in lines {
            writeln!(file, "{line}").unwrap();
        }
    }
}

/// 1000000 as "1,000,000", as the table is read by people.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

//! A queue worker process for the crash test (`tests/tests/queue_crash.rs`): killed with SIGKILL while it holds
//! leases, then started again, it must leave every job's effect written exactly once and every due timer fired.
//!
//! Each job's effect is a row in `crash_effects`, written in the same transaction as the job's fenced
//! completion (`Queue::complete_in`): a worker whose claim went stale rolls its effect back, so duplicates can
//! only appear if fencing is broken. The table has no unique key on purpose: the test counts.
//!
//! ```text
//! crash_worker DB_URL enqueue NOW TIMERS DELAY_MS   # NOW jobs due at once, TIMERS due DELAY_MS from now
//! crash_worker DB_URL work [PAUSE_FILE]             # claim and run until no job is left, then exit 0
//! crash_worker DB_URL count                         # prints "<effects> <distinct jobs> <jobs not done>"
//! ```

#![allow(clippy::print_stdout)] // A test tool whose output is its answer.

use std::time::Duration;

use klaxon_db::{Database, Dialect, PoolSettings};
use klaxon_queue::{NewJob, Queue};
use sqlx::Row;

/// How long a claim lasts: short, so the restarted worker reclaims the dead one's jobs quickly.
const LEASE: Duration = Duration::from_millis(800);

#[derive(serde::Serialize)]
struct Effect {
    n: u32,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (url, mode) = (args.get(1).ok_or("DB_URL")?, args.get(2).ok_or("mode")?);
    let db = Database::connect(
        url,
        &PoolSettings {
            max_connections: 4,
            ..PoolSettings::default()
        },
    )
    .await?;
    klaxon_queue::MIGRATOR.run(&db).await?;
    sqlx::query("CREATE TABLE IF NOT EXISTS crash_effects (job_id BIGINT NOT NULL, fence BIGINT NOT NULL)")
        .execute(&db.pool)
        .await?;
    let queue = Queue::new(db.clone());
    match mode.as_str() {
        "enqueue" => {
            let now: u32 = args.get(3).ok_or("NOW")?.parse()?;
            let timers: u32 = args.get(4).ok_or("TIMERS")?.parse()?;
            let delay: u64 = args.get(5).ok_or("DELAY_MS")?.parse()?;
            let mut jobs = Vec::new();
            for n in 0..now + timers {
                let job = NewJob::raw("effect", &Effect { n })?;
                jobs.push(if n < now {
                    job
                } else {
                    job.delay(Duration::from_millis(delay))
                });
            }
            queue.enqueue_many(&jobs).await?;
        }
        "work" => work(&db, &queue, args.get(3).map(std::path::PathBuf::from)).await?,
        "count" => {
            let row = sqlx::query(
                "SELECT (SELECT COUNT(*) FROM crash_effects), (SELECT COUNT(DISTINCT job_id) FROM crash_effects), \
                 (SELECT COUNT(*) FROM queue_jobs WHERE state <> 'done')",
            )
            .fetch_one(&db.pool)
            .await?;
            println!(
                "{} {} {}",
                row.try_get::<i64, _>(0)?,
                row.try_get::<i64, _>(1)?,
                row.try_get::<i64, _>(2)?
            );
        }
        other => return Err(format!("unknown mode {other}").into()),
    }
    Ok(())
}

/// Runs jobs until none is left. While `pause` exists the worker stops before its next job, holding its
/// claims but no transaction (it writes `<pause>.paused` to say so): a zombie whose leases expire under it, like
/// a process stalled by the OS, without the open transaction a SIGSTOP could freeze.
async fn work(
    db: &Database,
    queue: &Queue,
    pause: Option<std::path::PathBuf>,
) -> Result<(), Box<dyn std::error::Error>> {
    let owner = format!("crash-worker-{}", std::process::id());
    let insert = db.dialect.pick(
        "INSERT INTO crash_effects (job_id, fence) VALUES (?, ?)",
        "INSERT INTO crash_effects (job_id, fence) VALUES ($1, $2)",
    );
    loop {
        // A dead worker's leases come back once they expire.
        queue.reclaim_expired().await?;
        let claimed = queue.claim(&owner, 8, LEASE).await?;
        if claimed.is_empty() {
            let stats = queue.stats().await?;
            if stats.ready == 0 && stats.running == 0 {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        for job in claimed {
            if let Some(pause) = &pause {
                while pause.exists() {
                    std::fs::write(pause.with_extension("paused"), b"")?;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            // Work takes a while, so a SIGKILL lands while leases are held and effects are half written.
            tokio::time::sleep(Duration::from_millis(15)).await;
            let mut tx = db.pool.begin().await?;
            sqlx::query(insert)
                .bind(job.id.0)
                .bind(job.fence)
                .execute(&mut *tx)
                .await?;
            if queue.complete_in(&mut tx, &job).await? {
                tx.commit().await?;
            } else {
                tx.rollback().await?;
            }
        }
        if db.dialect == Dialect::Sqlite {
            // Let the other process (the test's `count`) in between batches.
            tokio::task::yield_now().await;
        }
    }
}

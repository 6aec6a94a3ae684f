//! The gauges read from the database: `OpenAlerts`, `DeadJobs`, `QueueLag`, `PendingTimers`,
//! `SlackTeamsInstalled`, `SlackTeamsInactive`.
//!
//! They describe the shared database, not this process, so one replica at a time computes and exports them
//! (on `/metrics` and to CloudWatch): a sum over replicas is then not multiplied. On PostgreSQL the replica
//! holding a session advisory lock does, on a connection of its own, until that connection drops (the lock
//! goes with it and another replica takes over at its next refresh); SQLite has one process.

use std::{sync::Arc, time::Duration};

use klaxon_db::{Database, Dialect};
use sqlx::{Connection as _, Row};
use tokio_util::sync::CancellationToken;

use super::Metrics;

/// The advisory lock of the replica that computes the gauges ("klxgauge").
const LEADER_LOCK: i64 = 0x6b6c_7867_6175_6765;

/// Refreshes the gauges every `every` until `stop`, while this replica leads.
pub async fn run(db: Database, metrics: Arc<Metrics>, every: Duration, stop: CancellationToken) {
    let mut leader: Option<sqlx::AnyConnection> = None;
    let mut was_leader = false;
    loop {
        if db.dialect == Dialect::Postgres && leader.is_none() {
            leader = try_lead(&db).await;
        }
        let read = match (db.dialect, leader.as_mut()) {
            (Dialect::Postgres, Some(conn)) => read(&db, conn).await,
            (Dialect::Postgres, None) => Err(sqlx::Error::PoolClosed),
            (Dialect::Sqlite, _) => match db.pool.acquire().await {
                Ok(mut conn) => read(&db, &mut conn).await,
                Err(e) => Err(e),
            },
        };
        match read {
            Ok(values) => {
                if !was_leader {
                    tracing::debug!("This replica computes the database gauges.");
                }
                was_leader = true;
                for (name, v) in values {
                    metrics.set_gauge(name, Some(v));
                }
            }
            Err(e) => {
                if was_leader {
                    tracing::warn!(error = %e, "Stopped computing the database gauges; another replica may take over.");
                }
                was_leader = false;
                // The lock went with a broken connection; try again at the next refresh.
                if let Some(conn) = leader.take() {
                    let _ = conn.close().await;
                }
                clear(&metrics);
            }
        }
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(every) => {}
        }
    }
    if let Some(conn) = leader {
        let _ = conn.close().await;
    }
}

/// A connection holding the leader lock, when this replica gets it.
async fn try_lead(db: &Database) -> Option<sqlx::AnyConnection> {
    let mut conn = db.pool.acquire().await.ok()?.detach();
    let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(LEADER_LOCK)
        .fetch_one(&mut conn)
        .await
        .ok()?;
    if got {
        Some(conn)
    } else {
        let _ = conn.close().await;
        None
    }
}

fn clear(metrics: &Metrics) {
    for name in GAUGES {
        metrics.set_gauge(name, None);
    }
}

const GAUGES: [&str; 6] = [
    "OpenAlerts",
    "DeadJobs",
    "QueueLag",
    "PendingTimers",
    "SlackTeamsInstalled",
    "SlackTeamsInactive",
];

/// The gauges' values now, read on a connection of the pool (for tests and diagnostics; the leader reads
/// them on its own connection in [`run`]).
pub async fn snapshot(db: &Database) -> Result<Vec<(&'static str, f64)>, sqlx::Error> {
    let mut conn = db.pool.acquire().await?;
    read(db, &mut conn).await
}

#[allow(clippy::cast_precision_loss)] // Counts of rows and milliseconds are far below 2^52.
async fn read(
    db: &Database,
    conn: &mut sqlx::AnyConnection,
) -> Result<Vec<(&'static str, f64)>, sqlx::Error> {
    let now = crate::store::now_ms();
    let row = sqlx::query(klaxon_db::sql_tree!(db.dialect, "gauge_values"))
        .bind(now)
        .fetch_one(conn)
        .await?;
    let n = |i: usize| -> Result<f64, sqlx::Error> { Ok(row.try_get::<i64, _>(i)? as f64) };
    let oldest_due: Option<i64> = row.try_get(2)?;
    let lag = oldest_due.map_or(0.0, |at| (now - at).max(0) as f64 / 1000.0);
    Ok(vec![
        (GAUGES[0], n(0)?),
        (GAUGES[1], n(1)?),
        (GAUGES[2], lag),
        (GAUGES[3], n(3)?),
        (GAUGES[4], n(4)?),
        (GAUGES[5], n(5)?),
    ])
}

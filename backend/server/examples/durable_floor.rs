//! The durable floor for `bench/ingest.sh`: an HTTP server on the same stack as Klaxon (tokio, hyper, axum)
//! and the same database set-up (`klaxon_db::Database`: SQLite in WAL mode with full fsync, or PostgreSQL)
//! that stores each request's body as one row and answers 200 only after the row is committed. Concurrent
//! requests share a commit, as in Klaxon's ingest (one writer, up to 256 per transaction), and nothing else
//! happens: no parsing, grouping, escalation or jobs. What it sustains is the most any ingest that answers
//! only after a durable commit can on this machine and store; Klaxon's ingest is measured against it.
//!
//! `cargo run --release -p klaxon --example durable_floor -- 127.0.0.1:9000 sqlite:///tmp/floor.db`

use std::sync::Arc;

use axum::{Router, body::Bytes, extract::State, http::StatusCode, routing::post};
use klaxon_db::{Database, Dialect, PoolSettings};
use tokio::sync::{mpsc, oneshot};

/// A body to store and where to say it was.
type Pending = (Bytes, oneshot::Sender<bool>);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:9000".to_owned());
    let url = args
        .next()
        .unwrap_or_else(|| "sqlite:///tmp/klaxon-floor.db".to_owned());
    let db = Database::connect(&url, &PoolSettings::default()).await?;
    let table = match db.dialect {
        Dialect::Sqlite => "CREATE TABLE IF NOT EXISTS floor (id INTEGER PRIMARY KEY, body TEXT NOT NULL)",
        Dialect::Postgres => {
            "CREATE TABLE IF NOT EXISTS floor (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL)"
        }
    };
    sqlx::query(table).execute(&db.pool).await?;
    let (tx, rx) = mpsc::channel::<Pending>(1024);
    tokio::spawn(writer(db, rx));
    let app = Router::new()
        .route("/{*path}", post(store))
        .with_state(Arc::new(tx));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

async fn store(State(tx): State<Arc<mpsc::Sender<Pending>>>, body: Bytes) -> (StatusCode, &'static str) {
    let (reply, stored) = oneshot::channel();
    if tx.send((body, reply)).await.is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "{\"status\":\"unavailable\"}");
    }
    match stored.await {
        Ok(true) => (StatusCode::OK, "{\"status\":\"stored\"}"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "{\"status\":\"unavailable\"}"),
    }
}

/// Commits whatever is waiting, up to 256 bodies per transaction, one multi-row INSERT each.
async fn writer(db: Database, mut rx: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(256);
    while rx.recv_many(&mut batch, 256).await > 0 {
        let stored = commit(&db, &batch).await.is_ok();
        for (_, reply) in batch.drain(..) {
            let _ = reply.send(stored);
        }
    }
}

async fn commit(db: &Database, batch: &[Pending]) -> Result<(), sqlx::Error> {
    let rows: Vec<String> = (1..=batch.len())
        .map(|i| match db.dialect {
            Dialect::Sqlite => "(?)".to_owned(),
            Dialect::Postgres => format!("(${i})"),
        })
        .collect();
    let sql = format!("INSERT INTO floor (body) VALUES {}", rows.join(", "));
    let mut tx = db.begin_write().await?;
    let mut query = sqlx::query(&sql);
    for (body, _) in batch {
        query = query.bind(String::from_utf8_lossy(body).into_owned());
    }
    query.execute(&mut *tx).await?;
    tx.commit().await
}

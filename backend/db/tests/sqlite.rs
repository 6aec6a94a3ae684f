//! SQLite specifics of the pool: a write transaction holds the write lock from its BEGIN, and the
//! write-ahead log stays small under a stream of commits.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use klaxon_db::{Database, PoolSettings};
use sqlx::{Connection as _, Executor as _};

async fn open() -> (Database, std::path::PathBuf) {
    let path = std::env::temp_dir().join(format!("klaxon-db-test-{}.db", uuid::Uuid::new_v4().simple()));
    let db = Database::connect(&format!("sqlite://{}", path.display()), &PoolSettings::default())
        .await
        .unwrap();
    (db, path)
}

/// Thousands of commits, with reads between them, leave a log of a few megabytes: checkpoints keep up and
/// the log restarts from its beginning (with checkpoints left to a background task, it grew by every commit).
#[tokio::test]
async fn the_log_stays_small_under_many_commits() {
    let (db, path) = open().await;
    sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        .execute(&db.pool)
        .await
        .unwrap();
    for i in 0..2500 {
        sqlx::query("INSERT INTO t (id, body) VALUES (?1, ?2)")
            .bind(i)
            .bind("x".repeat(4000))
            .execute(&db.pool)
            .await
            .unwrap();
        if i % 10 == 0 {
            let _: i64 = sqlx::query_scalar("SELECT count(*) FROM t")
                .fetch_one(&db.pool)
                .await
                .unwrap();
        }
    }
    let wal = std::fs::metadata(format!("{}-wal", path.display())).map_or(0, |m| m.len());
    assert!(
        wal < 8_000_000,
        "the log holds {wal} bytes after about 10 MB of commits"
    );
    db.pool.close().await;
    let _ = std::fs::remove_file(&path);
}

/// A second write transaction waits at BEGIN for the first to end, instead of reading beside it and failing
/// to upgrade its lock later.
#[tokio::test]
async fn a_write_transaction_holds_the_lock_from_begin() {
    let (db, path) = open().await;
    sqlx::query("CREATE TABLE c (n INTEGER NOT NULL)")
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO c (n) VALUES (0)")
        .execute(&db.pool)
        .await
        .unwrap();
    // Two read-then-write increments, interleaved: the second one's read must see the first one's write.
    let first = db.begin_write().await.unwrap();
    // The first holds SQLite's write lock from its BEGIN, before it has read or written anything: a writer
    // outside this pool (another process) that will not wait is refused at once. With a deferred BEGIN it
    // would get the lock and this would fail, whatever the timing.
    let mut outsider = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    outsider.execute("PRAGMA busy_timeout = 0").await.unwrap();
    let refused = outsider.execute("BEGIN IMMEDIATE").await;
    let code = refused
        .as_ref()
        .err()
        .and_then(|e| e.as_database_error())
        .and_then(|e| e.code())
        .and_then(|c| c.parse::<i64>().ok());
    assert_eq!(
        code.map(|c| c & 0xff),
        Some(5),
        "another writer is refused (SQLITE_BUSY) while the first transaction is open: {refused:?}"
    );
    drop(outsider);
    let (started_tx, started) = tokio::sync::oneshot::channel();
    let (read_tx, read) = tokio::sync::oneshot::channel();
    let second = tokio::spawn({
        let db = db.clone();
        async move {
            started_tx.send(()).unwrap();
            let mut tx = db.begin_write().await.unwrap();
            let n: i64 = sqlx::query_scalar("SELECT n FROM c")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            read_tx.send(n).unwrap();
            sqlx::query("UPDATE c SET n = ?1")
                .bind(n + 1)
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
    });
    // The second has asked for its transaction before the first reads, writes and commits.
    started.await.unwrap();
    let mut first = first;
    let n: i64 = sqlx::query_scalar("SELECT n FROM c")
        .fetch_one(&mut *first)
        .await
        .unwrap();
    sqlx::query("UPDATE c SET n = ?1")
        .bind(n + 1)
        .execute(&mut *first)
        .await
        .unwrap();
    assert!(
        !second.is_finished(),
        "the second transaction cannot have finished while the first holds the lock"
    );
    first.commit().await.unwrap();
    assert_eq!(
        read.await.unwrap(),
        1,
        "the second read after the first committed"
    );
    second.await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT n FROM c")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(n, 2, "neither increment was lost");
    db.pool.close().await;
    let _ = std::fs::remove_file(&path);
}

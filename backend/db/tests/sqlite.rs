//! SQLite specifics of the pool: the write-ahead log is checkpointed in the background, and a write
//! transaction holds the write lock from its BEGIN.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use std::time::Duration;

use klaxon_db::{Database, PoolSettings};

async fn open() -> (Database, std::path::PathBuf) {
    let path = std::env::temp_dir().join(format!("klaxon-db-test-{}.db", uuid::Uuid::new_v4().simple()));
    let db = Database::connect(&format!("sqlite://{}", path.display()), &PoolSettings::default())
        .await
        .unwrap();
    (db, path)
}

/// Commits only append to the log (no commit checkpoints); the background task copies the log into the
/// database file soon after.
#[tokio::test]
async fn the_log_is_checkpointed_in_the_background() {
    let (db, path) = open().await;
    sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        .execute(&db.pool)
        .await
        .unwrap();
    let before = std::fs::metadata(&path).unwrap().len();
    // About 4 MB in 2,000 commits: past SQLite's own automatic threshold (1,000 pages) many times over.
    for i in 0..2000 {
        sqlx::query("INSERT INTO t (id, body) VALUES (?1, ?2)")
            .bind(i)
            .bind("x".repeat(2000))
            .execute(&db.pool)
            .await
            .unwrap();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let size = std::fs::metadata(&path).unwrap().len();
        if size > before + 2_000_000 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the database file stayed at {size} bytes: nothing checkpointed the log"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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
    let second = tokio::spawn({
        let db = db.clone();
        async move {
            let mut tx = db.begin_write().await.unwrap();
            let n: i64 = sqlx::query_scalar("SELECT n FROM c")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            sqlx::query("UPDATE c SET n = ?1")
                .bind(n + 1)
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !second.is_finished(),
        "the second transaction waits while the first holds the lock"
    );
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
    first.commit().await.unwrap();
    second.await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT n FROM c")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(n, 2, "neither increment was lost");
    db.pool.close().await;
    let _ = std::fs::remove_file(&path);
}

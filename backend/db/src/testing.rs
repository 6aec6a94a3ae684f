//! Throwaway databases for tests: a fresh SQLite file, or a fresh database on the PostgreSQL server named by
//! `KLAXON_TEST_POSTGRES_URL` (the README's test command starts one and sets it).
//!
//! [`dual_test!`] turns one `async fn(Database)` into a test per store, which is how every conformance suite
//! runs on both databases.

use crate::{Database, PoolSettings};

/// The variable naming the PostgreSQL server used by tests (any database on it; tests create their own).
pub const POSTGRES_URL_VAR: &str = "KLAXON_TEST_POSTGRES_URL";

/// A fresh, empty SQLite database in a new temporary file.
pub async fn sqlite() -> Database {
    let path = std::env::temp_dir().join(format!("klaxon-test-{}.db", uuid::Uuid::new_v4().simple()));
    let url = format!("sqlite://{}", path.display());
    Database::connect(&url, &PoolSettings::default())
        .await
        .expect("open test SQLite database")
}

/// The URL of a fresh, empty PostgreSQL database, or `None` when no server is configured.
///
/// Without a server the PostgreSQL half of a suite is skipped with a message, unless `CI` is set: there a
/// missing server is a failure, so CI can never pass on SQLite alone.
pub async fn postgres_url() -> Option<String> {
    let Ok(base) = std::env::var(POSTGRES_URL_VAR) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{POSTGRES_URL_VAR} is not set; run the suite with scripts/test, which starts PostgreSQL"
        );
        eprintln!("skipping the PostgreSQL case: {POSTGRES_URL_VAR} is not set (scripts/test sets it)");
        return None;
    };
    let admin = Database::connect(
        &base,
        &PoolSettings {
            max_connections: 1,
            ..PoolSettings::default()
        },
    )
    .await
    .expect("connect to the test PostgreSQL server");
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin.pool)
        .await
        .expect("create test database");
    admin.pool.close().await;
    let (prefix, _) = base.rsplit_once('/').expect("postgres URL has a database path");
    Some(format!("{prefix}/{name}"))
}

/// A fresh, empty PostgreSQL database, or `None` when no server is configured (see [`postgres_url`]).
pub async fn postgres() -> Option<Database> {
    let url = postgres_url().await?;
    Some(
        Database::connect(&url, &PoolSettings::default())
            .await
            .expect("open test PostgreSQL database"),
    )
}

/// Generates `<name>_sqlite` and `<name>_postgres` tokio tests from one `async fn <name>(db: Database)`.
#[macro_export]
macro_rules! dual_test {
    ($($name:ident),+ $(,)?) => {
        $(
            $crate::__paste_dual!($name);
        )+
    };
}

/// Implementation detail of [`dual_test!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __paste_dual {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::testing::sqlite().await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(db) = $crate::testing::postgres().await {
                    super::$name(db).await;
                }
            }
        }
    };
}

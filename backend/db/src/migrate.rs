//! Embedded migrations, run at start-up and by `klaxon migrate`.
//!
//! Each component (the queue, the server) owns a list of migrations per dialect, embedded with `include_str!`.
//! Applied ones are recorded in `_klaxon_migrations`; each pending one runs in its own transaction together
//! with its record, so a failure leaves nothing half-applied. On PostgreSQL an advisory lock serialises
//! replicas that start at the same moment.

use sqlx::{Acquire, Executor, Row};

use crate::{Database, Dialect, Error};

/// One migration: a name (its file name, which orders it) and its SQL text per dialect.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// File name, e.g. `0001_jobs.sql`; migrations run in the order given.
    pub name: &'static str,
    /// SQLite text.
    pub sqlite: &'static str,
    /// PostgreSQL text.
    pub postgres: &'static str,
}

/// The migrations of one component.
#[derive(Debug, Clone, Copy)]
pub struct Migrator {
    /// Component name, recorded with each applied migration.
    pub component: &'static str,
    /// The migrations, oldest first.
    pub migrations: &'static [Migration],
}

/// Arbitrary constant key of the PostgreSQL advisory lock held while migrating.
const PG_LOCK_KEY: i64 = 0x6b6c_6178_6f6e;

impl Migrator {
    /// Applies every migration not yet recorded; returns the names applied now.
    pub async fn run(&self, db: &Database) -> Result<Vec<&'static str>, Error> {
        let mut conn = db.pool.acquire().await?;
        if db.dialect == Dialect::Postgres {
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(PG_LOCK_KEY)
                .execute(&mut *conn)
                .await?;
        }
        let result = self.apply_pending(&mut conn, db.dialect).await;
        if db.dialect == Dialect::Postgres {
            sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(PG_LOCK_KEY)
                .execute(&mut *conn)
                .await?;
        }
        result
    }

    async fn apply_pending(
        &self,
        conn: &mut sqlx::AnyConnection,
        dialect: Dialect,
    ) -> Result<Vec<&'static str>, Error> {
        conn.execute(
            "CREATE TABLE IF NOT EXISTS _klaxon_migrations (
                component TEXT NOT NULL,
                name TEXT NOT NULL,
                applied_at_ms BIGINT NOT NULL,
                PRIMARY KEY (component, name)
            )",
        )
        .await?;
        let select = dialect.pick(
            "SELECT name FROM _klaxon_migrations WHERE component = ?",
            "SELECT name FROM _klaxon_migrations WHERE component = $1",
        );
        let applied: Vec<String> = sqlx::query(select)
            .bind(self.component)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|row| row.try_get::<String, _>(0))
            .collect::<Result<_, _>>()?;
        let insert = dialect.pick(
            "INSERT INTO _klaxon_migrations (component, name, applied_at_ms) VALUES (?, ?, ?)",
            "INSERT INTO _klaxon_migrations (component, name, applied_at_ms) VALUES ($1, $2, $3)",
        );
        let mut done = Vec::new();
        for m in self
            .migrations
            .iter()
            .filter(|m| !applied.iter().any(|a| a == m.name))
        {
            let fail = |source| Error::Migration {
                component: self.component,
                name: m.name,
                source,
            };
            let mut tx = conn.begin().await.map_err(fail)?;
            sqlx::raw_sql(dialect.pick(m.sqlite, m.postgres))
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
            sqlx::query(insert)
                .bind(self.component)
                .bind(m.name)
                .bind(now_ms())
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
            tx.commit().await.map_err(fail)?;
            tracing::info!(
                component = self.component,
                migration = m.name,
                "Applied migration."
            );
            done.push(m.name);
        }
        Ok(done)
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

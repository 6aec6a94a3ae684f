//! Database plumbing shared by the queue and the server, and nothing of either.
//!
//! Klaxon runs on SQLite (the embedded default) or PostgreSQL (scale-out). Both are reached through one
//! `sqlx::AnyPool`; what differs is the SQL text, which lives in `.sql` files in one tree per database with the
//! same file names, picked at run time by [`Dialect`]. So there is one Rust code path and two SQL trees, which is
//! what keeps the two stores from drifting apart: a query added for one database without its twin fails the
//! conformance suite on the other.
//!
//! Values cross the `Any` driver as `BIGINT`/`INTEGER` (times in Unix milliseconds, booleans as 0/1), `TEXT`
//! (ids, JSON) and `BLOB`/`BYTEA`, the types both drivers map the same way.

mod migrate;
#[cfg(feature = "testing")]
pub mod testing;

use std::{str::FromStr, sync::Arc, time::Duration};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use sqlx::{
    Any, AnyConnection, AnyPool, Executor,
    any::{AnyArguments, AnyConnectOptions, AnyPoolOptions},
    pool::PoolConnection,
    query::Query,
};

pub use migrate::{Migration, Migrator};

/// The database a pool talks to; it decides which SQL tree a query is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// SQLite in WAL mode, one file.
    Sqlite,
    /// PostgreSQL, shared by several replicas.
    Postgres,
}

impl Dialect {
    /// The dialect of a database URL (`sqlite://...` or `postgres://...`/`postgresql://...`).
    pub fn from_url(url: &str) -> Result<Self, Error> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(Error::UnsupportedUrl)
        }
    }

    /// The name used for the SQL tree of this dialect (`sql/<name>/...`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }

    /// Picks the SQL text for this dialect; used by the `sql!` macros of the crates that own SQL trees.
    pub fn pick(self, sqlite: &'static str, postgres: &'static str) -> &'static str {
        match self {
            Self::Sqlite => sqlite,
            Self::Postgres => postgres,
        }
    }
}

/// `sql_tree!(dialect, "name")`: the text of `sql/<dialect>/<name>.sql` under the *calling* crate's manifest
/// directory, for the given [`Dialect`]. Both twins are embedded, so a query missing from one tree fails the
/// build. Every crate that owns SQL files (the queue, the server) reads them through this one macro.
#[macro_export]
macro_rules! sql_tree {
    ($dialect:expr, $name:literal) => {
        $crate::Dialect::pick(
            $dialect,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/sql/sqlite/", $name, ".sql")),
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/sql/postgres/",
                $name,
                ".sql"
            )),
        )
    };
}

/// Errors of connecting and migrating.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The URL names neither SQLite nor PostgreSQL.
    #[error("database URL must start with sqlite:// or postgres://")]
    UnsupportedUrl,
    /// The driver refused the connection or a statement.
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    /// A migration failed; nothing of it was applied.
    #[error("migration {component}/{name} failed: {source}")]
    Migration {
        /// The component whose migration failed (`queue`, `klaxon`, ...).
        component: &'static str,
        /// The migration's file name.
        name: &'static str,
        /// What the database said.
        source: sqlx::Error,
    },
}

/// How a pool is sized and how long it waits.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Largest number of open connections.
    pub max_connections: u32,
    /// How long a caller waits for a free connection before the call fails.
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// SQLite's limit on the parameters of one statement.
pub const SQLITE_MAX_PARAMS: usize = 32_766;

/// A multi-row `INSERT` for `rows` rows from `template`, a statement whose last `VALUES` is followed by
/// one row's tuple of `?` parameters: the tuple is repeated once per row, so row `r`'s parameters are the
/// `r`-th run of the tuple's, and the text after the tuple (`ON CONFLICT`, `RETURNING`) is kept. `None` when
/// the template has no such tuple. The text depends on `rows`: run it with `.persistent(false)`, or every
/// batch size would keep a prepared statement. At most [`values_rows_max`] rows fit in one statement.
pub fn values_rows(template: &str, rows: usize) -> Option<String> {
    let (head, tuple, tail) = values_tuple(template)?;
    let mut sql = String::with_capacity(template.len() + (tuple.len() + 2) * rows.saturating_sub(1));
    sql.push_str(head);
    sql.push(' ');
    for r in 0..rows.max(1) {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push_str(tuple);
    }
    sql.push_str(tail);
    Some(sql)
}

/// Most rows one [`values_rows`] statement of `template` may carry: its tuple's parameters times the rows
/// stay within [`SQLITE_MAX_PARAMS`].
pub fn values_rows_max(template: &str) -> usize {
    let params = values_tuple(template).map_or(1, |(_, tuple, _)| tuple.matches('?').count().max(1));
    SQLITE_MAX_PARAMS / params
}

/// `template` split around the tuple after its last `VALUES`: the text up to `VALUES` included, the tuple
/// with its parentheses, and the rest.
fn values_tuple(template: &str) -> Option<(&str, &str, &str)> {
    let at = template.rfind("VALUES")? + "VALUES".len();
    let rest = &template[at..];
    let open = rest.find('(')?;
    let mut depth = 0usize;
    for (i, c) in rest.char_indices().skip(open) {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some((&template[..at], &rest[open..=i], &rest[i + 1..]));
                }
            }
            _ => {}
        }
    }
    None
}

/// An open pool and the dialect of its database.
#[derive(Debug, Clone)]
pub struct Database {
    /// The pool; every query of the process goes through it.
    pub pool: AnyPool,
    /// Which SQL tree the queries come from.
    pub dialect: Dialect,
    /// The URL the pool was opened with (PostgreSQL listeners open their own connection from it).
    pub url: String,
    /// SQLite only: the process's writers take turns here, first come first served, before asking SQLite
    /// for its one write lock (see [`Database::begin_write`]).
    write_gate: Option<Arc<Semaphore>>,
}

/// A write transaction ([`Database::begin_write`]): derefs to the connection (`&mut *tx` runs statements),
/// and holds the process's write turn on SQLite until it commits or rolls back.
#[derive(Debug)]
pub struct WriteTx {
    tx: sqlx::Transaction<'static, Any>,
    _turn: Option<OwnedSemaphorePermit>,
}

impl WriteTx {
    /// Commits.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    /// Rolls back.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

/// A pooled connection for writes outside a transaction ([`Database::acquire_write`]); holds the process's
/// write turn on SQLite while it lives.
#[derive(Debug)]
pub struct WriteConn {
    conn: PoolConnection<Any>,
    _turn: Option<OwnedSemaphorePermit>,
}

impl std::ops::Deref for WriteConn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for WriteConn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

impl Database {
    /// Opens a pool. A SQLite file is created when missing and put in WAL mode with full fsync, so a
    /// committed write survives a crash of the process or the machine.
    pub async fn connect(url: &str, settings: &PoolSettings) -> Result<Self, Error> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::from_url(url)?;
        let url = match dialect {
            Dialect::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            // A SQLite connection is a file handle in this process: it cannot go stale the way a network
            // connection can, and checking it costs a round trip to its thread on every transaction.
            .test_before_acquire(dialect != Dialect::Sqlite)
            // A transaction dropped without commit is rolled back when its connection next runs a command.
            // If that ROLLBACK fails (SQLite rolls back by itself on a full disk, and then refuses ROLLBACK
            // as "no transaction is active"), the connection still counts itself inside a transaction and
            // refuses every BEGIN from then on: reused, it would fail every write after the disk had room
            // again. So a SQLite connection released inside a transaction runs its pending rollback (the
            // ping queues behind it) and is closed instead of reused if it is still inside one. (PostgreSQL
            // rolls back on its own connection's terms and is checked before each use anyway.)
            .after_release(move |conn, _meta| {
                Box::pin(async move {
                    if dialect != Dialect::Sqlite || !sqlx::Connection::is_in_transaction(conn) {
                        return Ok(true);
                    }
                    sqlx::Connection::ping(conn).await?;
                    Ok(!sqlx::Connection::is_in_transaction(conn))
                })
            })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        // WAL lets readers run beside the one writer; FULL makes a commit durable before it
                        // returns, which is what "a 2xx means the event is stored" rests on. SQLite's own
                        // checkpoints stay: run in the background instead, they never caught up with a busy
                        // writer, and the log grew without bound (1.8 GB in a 30 s burst).
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let write_gate = (dialect == Dialect::Sqlite).then(|| Arc::new(Semaphore::new(1)));
        Ok(Self {
            pool,
            dialect,
            url,
            write_gate,
        })
    }

    /// The process's write turn on SQLite (none needed on PostgreSQL).
    async fn write_turn(&self) -> Result<Option<OwnedSemaphorePermit>, sqlx::Error> {
        match &self.write_gate {
            Some(gate) => gate
                .clone()
                .acquire_owned()
                .await
                .map(Some)
                .map_err(|_| sqlx::Error::PoolClosed),
            None => Ok(None),
        }
    }

    /// A connection for writes that need no transaction (one statement); on SQLite it waits for the
    /// process's write turn first (see [`Database::begin_write`]).
    pub async fn acquire_write(&self) -> Result<WriteConn, sqlx::Error> {
        let turn = self.write_turn().await?;
        let conn = self.pool.acquire().await?;
        Ok(WriteConn { conn, _turn: turn })
    }

    /// Begins a transaction that will write. On SQLite it takes the database's write lock at once
    /// (`BEGIN IMMEDIATE`): a transaction that reads first and writes later would have to upgrade its lock,
    /// which SQLite refuses at once (no busy wait) when another writer got there first, and every writer waits
    /// its turn at BEGIN instead. Before that, the process's writers take turns first come first served: left
    /// to SQLite's busy handler, a waiting writer sleeps in growing steps (up to 100 ms) and may lose the lock
    /// to a newcomer each time it wakes, which put ~100 ms on the slowest button presses under load. On
    /// PostgreSQL it is a plain `BEGIN`; rows and advisory locks serialise what must be.
    ///
    /// A task holding a write transaction must not ask for another write transaction or connection: on
    /// SQLite it would wait for itself.
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        let turn = self.write_turn().await?;
        let tx = match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => self.pool.begin().await?,
        };
        Ok(WriteTx { tx, _turn: turn })
    }

    /// A statement that joins a JSON batch parameter against a table (`json_to_recordset` on PostgreSQL).
    ///
    /// On PostgreSQL it is planned at each execution instead of kept as a prepared statement. A prepared
    /// statement soon runs a generic plan made once per connection, and nothing in a JSON parameter tells the
    /// planner how big the batch is, so that plan is chosen by the table's size when it was made: on a new
    /// database, a sequential scan and hash join that stayed in use while the table grew (5-9 ms per ingest
    /// batch at a few thousand alerts, growing with the table, until autovacuum's first analyze). Planning
    /// each time costs a fraction of a millisecond and follows the table. SQLite plans by its own rules
    /// (the statements name their index) and keeps its statements prepared.
    pub fn batch_query<'q>(&self, sql: &'q str) -> Query<'q, Any, AnyArguments<'q>> {
        sqlx::query(sql).persistent(self.dialect != Dialect::Postgres)
    }

    /// True when the database answers a trivial query within `within`. A health check must answer quickly
    /// whatever the pool is doing: with PostgreSQL down, taking a connection would retry connecting until
    /// the pool's acquire timeout.
    pub async fn ping_within(&self, within: Duration) -> bool {
        matches!(tokio::time::timeout(within, self.ping()).await, Ok(true))
    }

    /// True when the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}

/// Why a database error means the database cannot serve now (it is down, unreachable, restarting, out of
/// connections or out of disk), so the caller should answer "try again later" (503) rather than report a
/// fault of its own (500). `None` for every other error (a constraint, bad SQL, a decoding problem).
pub fn unavailable(e: &sqlx::Error) -> Option<&'static str> {
    match e {
        sqlx::Error::PoolTimedOut => Some("the database did not answer in time"),
        sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
            Some("the database connection pool is closed")
        }
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => {
            Some("the database cannot be reached")
        }
        sqlx::Error::Database(db) => {
            let code = db.code();
            let code = code.as_deref().unwrap_or_default();
            match code {
                // SQLite's primary result codes (extended codes keep them in the low byte): SQLITE_FULL,
                // SQLITE_IOERR, SQLITE_BUSY and SQLITE_LOCKED.
                _ if sqlite_primary(code) == Some(13) => Some("the database's disk is full"),
                _ if sqlite_primary(code) == Some(10) => Some("the database could not write to its disk"),
                _ if matches!(sqlite_primary(code), Some(5 | 6)) => Some("the database is busy"),
                // PostgreSQL's SQLSTATE classes 08 (connection exception), 53 (insufficient resources:
                // disk full, out of memory, too many connections) and 57P (operator intervention:
                // shutting down, not accepting connections yet).
                c if c.starts_with("08") => Some("the database cannot be reached"),
                "53100" => Some("the database's disk is full"),
                c if c.starts_with("53") => Some("the database is out of resources"),
                c if c.starts_with("57P") => Some("the database is restarting"),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The primary SQLite result code of a numeric code (SQLite's extended codes keep it in the low byte);
/// `None` for a PostgreSQL SQLSTATE, which is not a number in those ranges that matter.
fn sqlite_primary(code: &str) -> Option<u32> {
    if code.len() == 5 {
        // A five-character SQLSTATE ("53100") is PostgreSQL's, never SQLite's (whose codes are at most 4
        // digits in the ranges read here, extended ones included: 6410 is SQLITE_IOERR_* at most).
        return None;
    }
    code.parse::<u32>().ok().map(|c| c & 0xff)
}

#[cfg(test)]
mod tests {
    use super::{SQLITE_MAX_PARAMS, values_rows, values_rows_max};

    #[test]
    fn sqlite_codes_are_read_by_their_primary_code_and_sqlstates_are_not() {
        use super::sqlite_primary;
        assert_eq!(sqlite_primary("13"), Some(13));
        // SQLITE_IOERR_WRITE = SQLITE_IOERR | (3 << 8).
        assert_eq!(sqlite_primary("778"), Some(10));
        assert_eq!(sqlite_primary("53100"), None);
        assert_eq!(sqlite_primary("08006"), None);
        assert_eq!(sqlite_primary("57P01"), None);
    }

    #[test]
    fn values_rows_repeats_the_last_tuple_and_keeps_the_tail() {
        let sql = "-- note (VALUES)\nINSERT INTO t (a, b) VALUES (?, json(?))\nON CONFLICT (a) DO NOTHING RETURNING a";
        assert_eq!(
            values_rows(sql, 3).as_deref(),
            Some(
                "-- note (VALUES)\nINSERT INTO t (a, b) VALUES (?, json(?)), (?, json(?)), (?, json(?))\n\
                 ON CONFLICT (a) DO NOTHING RETURNING a"
            )
        );
        assert_eq!(
            values_rows("INSERT INTO t (a) VALUES (?)", 1).as_deref(),
            Some("INSERT INTO t (a) VALUES (?)")
        );
        assert_eq!(values_rows("SELECT 1", 2), None);
        assert_eq!(values_rows_max(sql), SQLITE_MAX_PARAMS / 2);
        assert_eq!(values_rows("INSERT INTO t (a) VALUES (?", 2), None);
    }
}

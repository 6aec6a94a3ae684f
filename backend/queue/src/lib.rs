//! Durable jobs and timers on SQLite and PostgreSQL.
//!
//! A *job* is a row: a kind (which handler runs it), a JSON payload, an optional partition key, an optional
//! tenant (whose job it is: an opaque id to list by), the time it is due (`run_at`), a count of attempts, a
//! state (`ready`, `running`, `done`, `dead`), a lease while it runs and the last error. A *timer* is nothing
//! more than a job whose `run_at` is in the future; cancelling a timer deletes its row before it fires.
//!
//! Guarantees:
//! - **At least once, never early.** A job runs after `run_at`; a worker that dies mid-job loses its lease and
//!   another worker runs the job again once the lease has expired.
//! - **Fenced completion.** Every claim bumps the row's fence; completing, failing or releasing a job must
//!   present the fence it was claimed with, so a worker whose lease expired cannot overwrite a newer attempt.
//! - **Partitions run in order, one at a time.** Jobs sharing a partition key run by `(first run_at, id)`,
//!   never two at once; different partitions (and jobs without a key) run concurrently. A dead job frees its
//!   partition.
//! - **Identity.** A job may carry a dedup key; see [`Dedup`] for when a key is free again.
//!
//! The pieces: [`Queue`] writes and reads jobs (enqueue, cancel, list, retry, stats, and the claim/complete
//! calls workers use); [`Runner`] runs registered [`BackgroundJob`] kinds with N concurrent workers;
//! [`RetryPolicy`] decides back-off; [`Clock`] is the time source. The schema is applied by [`MIGRATOR`].
//!
//! ```no_run
//! # async fn demo(db: klaxon_db::Database) -> Result<(), klaxon_queue::Error> {
//! use klaxon_queue::{BackgroundJob, JobError, NewJob, Queue, Runner};
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Ping { to: String }
//!
//! #[async_trait::async_trait]
//! impl BackgroundJob for Ping {
//!     const KIND: &'static str = "ping";
//!     type Context = ();
//!     async fn run(&self, _ctx: &()) -> Result<(), JobError> { Ok(()) }
//! }
//!
//! klaxon_queue::MIGRATOR.run(&db).await?;
//! let queue = Queue::new(db.clone());
//! let mut tx = db.pool.begin().await?;
//! queue.enqueue_in(&mut tx, NewJob::new(&Ping { to: "x".into() })?.partition("p1")).await?;
//! tx.commit().await?;
//! queue.notify();
//! let shutdown = tokio_util::sync::CancellationToken::new();
//! Runner::new(queue, ()).register::<Ping>().run(shutdown).await?;
//! # Ok(()) }
//! ```

// First, so its `sql!` macro is in scope in the modules below.
#[macro_use]
mod sql;
mod clock;
mod handler;
mod job;
mod lease;
mod queue;
mod retry;
mod runner;

pub use clock::{Clock, ManualClock, SystemClock};
pub use handler::{BackgroundJob, JobError};
pub use job::{ClaimedJob, Dedup, JobId, JobInfo, JobState, NewJob, Page, Stats};
pub use queue::Queue;
pub use retry::RetryPolicy;
pub use runner::{PURGE_EVERY, Runner, RunnerSettings};

/// The queue's schema, applied at start-up (component `queue`).
pub const MIGRATOR: klaxon_db::Migrator = klaxon_db::Migrator {
    component: "queue",
    migrations: &[
        klaxon_db::Migration {
            name: "0001_jobs.sql",
            sqlite: include_str!("../migrations/sqlite/0001_jobs.sql"),
            postgres: include_str!("../migrations/postgres/0001_jobs.sql"),
        },
        klaxon_db::Migration {
            name: "0002_job_tenant.sql",
            sqlite: include_str!("../migrations/sqlite/0002_job_tenant.sql"),
            postgres: include_str!("../migrations/postgres/0002_job_tenant.sql"),
        },
    ],
};

/// Errors of the queue's calls (a job's own failure is a [`JobError`], not this).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database refused a statement or the connection failed.
    #[error("queue database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// Applying the queue's migrations failed.
    #[error(transparent)]
    Db(#[from] klaxon_db::Error),
    /// A payload could not be turned into JSON, or a stored payload is not JSON.
    #[error("job payload is not valid JSON: {0}")]
    Payload(#[from] serde_json::Error),
    /// A stored row holds a value this version does not know (e.g. an unknown state).
    #[error("corrupt job row: {0}")]
    Corrupt(String),
}

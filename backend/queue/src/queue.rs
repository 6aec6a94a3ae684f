//! The queue: the calls that write and read jobs on behalf of callers (enqueue, cancel, list, retry, stats).
//! Workers' calls (claim, complete, heartbeat, ...) live in `lease.rs`.

use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

use klaxon_db::{Database, Dialect};
use sqlx::{AnyConnection, Row};
use tokio::sync::watch;

use crate::{Clock, Error, JobId, JobInfo, JobState, NewJob, Page, Stats, SystemClock, sql};

/// Largest page a listing returns, whatever the caller asks.
const MAX_PAGE: u32 = 1000;

/// A handle on the jobs table of one database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Queue {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: Database,
    clock: Arc<dyn Clock>,
    /// A counter bumped by every wake-up; runners wait for it to change, so a wake-up sent while a runner is
    /// busy claiming is not lost.
    wake: watch::Sender<u64>,
    /// The earliest due time of a job this process made claimable since its runner last claimed (enqueued,
    /// or unblocked by finishing the job before it in its partition): the runner's floor may not pass it.
    floor_hint: AtomicI64,
}

impl Queue {
    /// A queue on `db` using the system clock. Run [`crate::MIGRATOR`] on `db` first.
    pub fn new(db: Database) -> Self {
        Self::with_clock(db, Arc::new(SystemClock))
    }

    /// A queue on `db` using `clock` for every time it stores or compares.
    pub fn with_clock(db: Database, clock: Arc<dyn Clock>) -> Self {
        let (wake, _) = watch::channel(0);
        Self {
            inner: Arc::new(Inner {
                db,
                clock,
                wake,
                floor_hint: AtomicI64::new(i64::MAX),
            }),
        }
    }

    /// The migrations of the jobs table (the same as [`crate::MIGRATOR`]).
    pub fn migrator() -> klaxon_db::Migrator {
        crate::MIGRATOR
    }

    /// The database the queue uses.
    pub fn db(&self) -> &Database {
        &self.inner.db
    }

    /// The clock the queue uses.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The current time by the queue's clock, Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    pub(crate) fn dialect(&self) -> Dialect {
        self.inner.db.dialect
    }

    /// Wakes this process's workers, e.g. after committing a transaction that used [`Queue::enqueue_in`].
    /// (Other processes are woken by the NOTIFY that `enqueue_in` queued on PostgreSQL, or by polling.)
    pub fn notify(&self) {
        self.inner.wake.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Says a job due at `due_ms` may have become claimable, so the runner's next claim starts no later.
    pub(crate) fn lower_floor(&self, due_ms: i64) {
        self.inner.floor_hint.fetch_min(due_ms, Ordering::SeqCst);
    }

    /// The earliest due time passed to [`Self::lower_floor`] since the last call (`i64::MAX`: none).
    pub(crate) fn take_floor_hint(&self) -> i64 {
        self.inner.floor_hint.swap(i64::MAX, Ordering::SeqCst)
    }

    /// A receiver that changes whenever [`Queue::notify`] is called.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.wake.subscribe()
    }

    /// Enqueues a job in its own transaction and wakes workers. Returns `None` when the job's dedup key is
    /// taken (nothing was inserted).
    pub async fn enqueue(&self, job: NewJob) -> Result<Option<JobId>, Error> {
        let mut conn = self.inner.db.acquire_write().await?;
        let id = self.enqueue_in(&mut conn, job).await?;
        if id.is_some() {
            self.notify();
        }
        Ok(id)
    }

    /// Enqueues a job inside the caller's transaction (pass `&mut *tx`), so the job exists if and only if the
    /// transaction commits. On PostgreSQL a NOTIFY is queued in the same transaction; call
    /// [`Queue::notify`] after the commit to wake this process's workers at once. Returns `None` when the
    /// dedup key is taken.
    pub async fn enqueue_in(&self, conn: &mut AnyConnection, job: NewJob) -> Result<Option<JobId>, Error> {
        let now = self.now_ms();
        let forever = job.forever_flag();
        let due = job.due_ms(now);
        self.lower_floor(due);
        let row = sqlx::query(sql!(self.dialect(), "enqueue"))
            .bind(job.kind)
            .bind(job.payload)
            .bind(job.partition)
            .bind(job.dedup.map(|(key, _)| key))
            .bind(forever)
            .bind(due)
            .bind(now)
            .bind(job.tenant)
            .fetch_optional(conn)
            .await?;
        row.map(|r| r.try_get("id").map(JobId))
            .transpose()
            .map_err(Error::from)
    }

    /// Enqueues a batch in one transaction (one statement per [`Self::BATCH`] jobs) and wakes workers.
    /// Returns the ids inserted; jobs whose dedup key was taken are skipped.
    pub async fn enqueue_many(&self, jobs: &[NewJob]) -> Result<Vec<JobId>, Error> {
        let mut tx = self.inner.db.begin_write().await?;
        let ids = self.enqueue_many_in(&mut tx, jobs).await?;
        tx.commit().await?;
        if !ids.is_empty() {
            self.notify();
        }
        Ok(ids)
    }

    /// Largest number of jobs sent in one statement by [`Queue::enqueue_many`] on PostgreSQL (SQLite sends as
    /// many as its parameter limit allows).
    pub const BATCH: usize = 5000;

    /// [`Queue::enqueue_many`] inside the caller's transaction.
    pub async fn enqueue_many_in(
        &self,
        conn: &mut AnyConnection,
        jobs: &[NewJob],
    ) -> Result<Vec<JobId>, Error> {
        let now = self.now_ms();
        let mut ids = Vec::with_capacity(jobs.len());
        let template = sql!(self.dialect(), "enqueue_many");
        let chunk_size = match self.dialect() {
            Dialect::Postgres => Self::BATCH,
            Dialect::Sqlite => klaxon_db::values_rows_max(template),
        };
        for chunk in jobs.chunks(chunk_size) {
            if let Some(due) = chunk.iter().map(|j| j.due_ms(now)).min() {
                self.lower_floor(due);
            }
            let rows = match self.dialect() {
                Dialect::Postgres => {
                    let batch: Vec<serde_json::Value> = chunk
                        .iter()
                        .map(|j| {
                            serde_json::json!({
                                "kind": j.kind,
                                "payload": j.payload,
                                "partition": j.partition,
                                "dedup_key": j.dedup.as_ref().map(|(k, _)| k),
                                "forever": j.forever_flag(),
                                "run_at": j.due_ms(now),
                                "tenant": j.tenant,
                            })
                        })
                        .collect();
                    sqlx::query(template)
                        .bind(serde_json::to_string(&batch)?)
                        .bind(now)
                        .fetch_all(&mut *conn)
                        .await?
                }
                Dialect::Sqlite => {
                    let sql = klaxon_db::values_rows(template, chunk.len())
                        .ok_or_else(|| sqlx::Error::Protocol("enqueue_many has no VALUES tuple".into()))?;
                    let mut query = sqlx::query(&sql).persistent(false);
                    for j in chunk {
                        query = query
                            .bind(j.kind.clone())
                            .bind(j.payload.clone())
                            .bind(j.partition.clone())
                            .bind(j.dedup.as_ref().map(|(k, _)| k.clone()))
                            .bind(j.forever_flag())
                            .bind(j.due_ms(now))
                            .bind(j.due_ms(now))
                            .bind(now)
                            .bind(now)
                            .bind(j.tenant.clone());
                    }
                    query.fetch_all(&mut *conn).await?
                }
            };
            for row in &rows {
                ids.push(JobId(row.try_get("id")?));
            }
        }
        Ok(ids)
    }

    /// Cancels a pending (ready) job; false when it is running, finished or gone. Its dedup key is freed.
    pub async fn cancel(&self, id: JobId) -> Result<bool, Error> {
        let done = sqlx::query(sql!(self.dialect(), "cancel"))
            .bind(id.0)
            .execute(&mut *self.inner.db.acquire_write().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Cancels the pending job holding dedup key `key`; false when there is none.
    pub async fn cancel_by_key(&self, key: &str) -> Result<bool, Error> {
        let done = sqlx::query(sql!(self.dialect(), "cancel_key"))
            .bind(key)
            .execute(&mut *self.inner.db.acquire_write().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Frees dedup key `key` when a dead job holds it, inside the caller's transaction, so the same work can
    /// be enqueued afresh (a person asks again for work whose job ran out of attempts); false when no dead
    /// job holds it. The dead job keeps its row and its error, and can still be retried by id.
    pub async fn release_dead_key_in(&self, conn: &mut AnyConnection, key: &str) -> Result<bool, Error> {
        let done = sqlx::query(sql!(self.dialect(), "release_dead_key"))
            .bind(key)
            .bind(self.now_ms())
            .execute(conn)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Cancels every pending job of `partition` whose kind starts with `kind_prefix` (e.g. all timers of one
    /// alert); running jobs are left to finish. Returns how many were cancelled.
    pub async fn cancel_partition(&self, partition: &str, kind_prefix: &str) -> Result<u64, Error> {
        let mut conn = self.inner.db.acquire_write().await?;
        self.cancel_partition_in(&mut conn, partition, kind_prefix).await
    }

    /// [`Queue::cancel_partition`] inside the caller's transaction.
    pub async fn cancel_partition_in(
        &self,
        conn: &mut AnyConnection,
        partition: &str,
        kind_prefix: &str,
    ) -> Result<u64, Error> {
        let done = sqlx::query(sql!(self.dialect(), "cancel_partition"))
            .bind(partition)
            .bind(kind_prefix)
            .execute(conn)
            .await?;
        Ok(done.rows_affected())
    }

    /// [`Queue::cancel_partition_in`] for many partitions in one statement (e.g. the timers of every alert a
    /// batch of recoveries closed). Returns how many jobs were cancelled.
    pub async fn cancel_partitions_in(
        &self,
        conn: &mut AnyConnection,
        partitions: &[String],
        kind_prefix: &str,
    ) -> Result<u64, Error> {
        if partitions.is_empty() {
            return Ok(0);
        }
        let done = self
            .db()
            .batch_query(sql!(self.dialect(), "cancel_partitions"))
            .bind(serde_json::to_string(partitions)?)
            .bind(kind_prefix)
            .execute(conn)
            .await?;
        Ok(done.rows_affected())
    }

    /// One job, if it exists.
    pub async fn get(&self, id: JobId) -> Result<Option<JobInfo>, Error> {
        let row = sqlx::query(sql!(self.dialect(), "get"))
            .bind(id.0)
            .fetch_optional(&self.inner.db.pool)
            .await?;
        row.as_ref().map(sql::info).transpose()
    }

    /// A page of jobs in `state` (e.g. dead letters), oldest first, after `cursor` (from the previous page's
    /// `next_cursor`). `limit` is capped at 1000.
    pub async fn list(
        &self,
        state: JobState,
        limit: u32,
        cursor: Option<JobId>,
    ) -> Result<Page<JobInfo>, Error> {
        let limit = limit.clamp(1, MAX_PAGE);
        let rows = sqlx::query(sql!(self.dialect(), "list"))
            .bind(state.as_str())
            .bind(cursor.map_or(0, |c| c.0))
            .bind(i64::from(limit))
            .fetch_all(&self.inner.db.pool)
            .await?;
        let items = rows.iter().map(sql::info).collect::<Result<Vec<_>, _>>()?;
        let next_cursor = if items.len() == limit as usize {
            items.last().map(|j| j.id)
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// A page of tenant `tenant`'s jobs in `state`, oldest first, after `cursor`: one statement on an index
    /// of (tenant, state, id), so other tenants' jobs cost nothing. `limit` is capped at 1000.
    pub async fn list_tenant(
        &self,
        tenant: &str,
        state: JobState,
        limit: u32,
        cursor: Option<JobId>,
    ) -> Result<Page<JobInfo>, Error> {
        let limit = limit.clamp(1, MAX_PAGE);
        let rows = sqlx::query(sql!(self.dialect(), "list_tenant"))
            .bind(tenant)
            .bind(state.as_str())
            .bind(cursor.map_or(0, |c| c.0))
            .bind(i64::from(limit))
            .fetch_all(&self.inner.db.pool)
            .await?;
        let items = rows.iter().map(sql::info).collect::<Result<Vec<_>, _>>()?;
        let next_cursor = if items.len() == limit as usize {
            items.last().map(|j| j.id)
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// Gives a dead job a fresh set of attempts, due now; false when it is not dead. It keeps its place in
    /// its partition, so it runs before the partition's later jobs.
    pub async fn retry(&self, id: JobId) -> Result<bool, Error> {
        let done = sqlx::query(sql!(self.dialect(), "retry"))
            .bind(id.0)
            .bind(self.now_ms())
            .execute(&mut *self.inner.db.acquire_write().await?)
            .await?;
        if done.rows_affected() > 0 {
            self.notify();
        }
        Ok(done.rows_affected() > 0)
    }

    /// Job counts by state.
    pub async fn stats(&self) -> Result<Stats, Error> {
        let rows = sqlx::query(sql!(self.dialect(), "stats"))
            .fetch_all(&self.inner.db.pool)
            .await?;
        let mut stats = Stats::default();
        for row in &rows {
            let state: String = row.try_get("state")?;
            let n = u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0);
            match JobState::parse(&state) {
                Some(JobState::Ready) => stats.ready = n,
                Some(JobState::Running) => stats.running = n,
                Some(JobState::Done) => stats.done = n,
                Some(JobState::Dead) => stats.dead = n,
                None => return Err(Error::Corrupt(format!("unknown state {state:?}"))),
            }
        }
        Ok(stats)
    }

    /// Deletes done jobs that finished before `before_ms`, except those keeping a [`crate::Dedup::Forever`]
    /// key. Returns how many were deleted.
    pub async fn purge_done(&self, before_ms: i64) -> Result<u64, Error> {
        self.purge(before_ms, false).await
    }

    /// Deletes done jobs that finished before `before_ms`, [`crate::Dedup::Forever`] ones included: their
    /// keys are free again. Safe for work whose key cannot come back after that long (an escalation step is
    /// only ever enqueued by the step before it, minutes later); the runner does it for
    /// [`crate::RunnerSettings::retention`]. Returns how many were deleted.
    pub async fn purge_done_all(&self, before_ms: i64) -> Result<u64, Error> {
        self.purge(before_ms, true).await
    }

    /// Deletes in chunks, so a first purge of millions of rows holds no lock for long.
    async fn purge(&self, before_ms: i64, forever: bool) -> Result<u64, Error> {
        const CHUNK: i64 = 10_000;
        let mut total = 0;
        loop {
            let done = sqlx::query(sql!(self.dialect(), "purge_done"))
                .bind(before_ms)
                .bind(i64::from(forever))
                .bind(CHUNK)
                .execute(&mut *self.inner.db.acquire_write().await?)
                .await?
                .rows_affected();
            total += done;
            if done < CHUNK.unsigned_abs() {
                return Ok(total);
            }
            tokio::task::yield_now().await;
        }
    }
}

//! The worker side of the queue: claiming due jobs under a lease, keeping the lease alive, and reporting
//! the outcome, fenced by the claim's token. [`crate::Runner`] uses these; they are public for tests and for
//! callers that drive workers themselves.

use std::time::Duration;

use sqlx::{AnyConnection, Row};

use crate::{ClaimedJob, Error, JobId, JobState, Queue, clock::duration_ms, sql};

impl Queue {
    /// Claims up to `limit` due jobs for worker `owner`, leased for `lease`. Jobs come in `(run_at, id)` order;
    /// a partitioned job is skipped while another job of its partition runs or an earlier one is ready.
    pub async fn claim(&self, owner: &str, limit: u32, lease: Duration) -> Result<Vec<ClaimedJob>, Error> {
        let now = self.now_ms();
        self.claim_at(owner, limit, lease, now, i64::MIN).await
    }

    /// [`Queue::claim`] as of `now_ms` (the runner reuses that instant to ask what is due next), of jobs due
    /// at `floor_ms` or later (see the runner's floor).
    pub(crate) async fn claim_at(
        &self,
        owner: &str,
        limit: u32,
        lease: Duration,
        now_ms: i64,
        floor_ms: i64,
    ) -> Result<Vec<ClaimedJob>, Error> {
        let rows = sqlx::query(sql!(self.dialect(), "claim"))
            .bind(owner)
            .bind(now_ms.saturating_add(duration_ms(lease)))
            .bind(now_ms)
            .bind(i64::from(limit.max(1)))
            .bind(floor_ms)
            .fetch_all(&mut *self.db().acquire_write().await?)
            .await?;
        let mut jobs = rows.iter().map(sql::claimed).collect::<Result<Vec<_>, _>>()?;
        // RETURNING gives no order; hand jobs out in the order they were due.
        jobs.sort_by_key(|j| (j.run_at_ms, j.id));
        Ok(jobs)
    }

    /// The earliest due time after `after_ms` among ready jobs, if any.
    pub(crate) async fn next_due_after(&self, after_ms: i64) -> Result<Option<i64>, Error> {
        let row = sqlx::query(sql!(self.dialect(), "next_due"))
            .bind(after_ms)
            .fetch_one(&self.db().pool)
            .await?;
        Ok(row.try_get("next_run_at")?)
    }

    /// Marks a claimed job done. False when the claim is stale (its lease expired and the job was reclaimed,
    /// or it was released): the row is left as it is.
    pub async fn complete(&self, job: &ClaimedJob) -> Result<bool, Error> {
        Ok(!self.complete_many(&[(job.id, job.fence)]).await?.is_empty())
    }

    /// Marks a claimed job done inside the caller's transaction, so the job's own writes and its completion
    /// commit together or not at all. False when the claim is stale: the caller must then roll back, and its
    /// writes never land, which is what makes a job's effect happen exactly once even when a worker whose lease
    /// expired finishes late. The caller wakes workers ([`Queue::notify`]) after committing.
    pub async fn complete_in(&self, conn: &mut AnyConnection, job: &ClaimedJob) -> Result<bool, Error> {
        let pairs = serde_json::to_string(&[[job.id.0, job.fence]])?;
        let rows = self
            .db()
            .batch_query(sql!(self.dialect(), "complete_many"))
            .bind(pairs)
            .bind(self.now_ms())
            .fetch_all(conn)
            .await?;
        Ok(!rows.is_empty())
    }

    /// Marks many claimed jobs done in one statement, each given as `(id, fence)`; returns the ids whose claim
    /// was still current (the others are left as they are).
    pub async fn complete_many(&self, jobs: &[(JobId, i64)]) -> Result<Vec<JobId>, Error> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let pairs: Vec<[i64; 2]> = jobs.iter().map(|(id, fence)| [id.0, *fence]).collect();
        let rows = self
            .db()
            .batch_query(sql!(self.dialect(), "complete_many"))
            .bind(serde_json::to_string(&pairs)?)
            .bind(self.now_ms())
            .fetch_all(&mut *self.db().acquire_write().await?)
            .await?;
        // A completion may let the next job of a partition go.
        self.notify();
        rows.iter()
            .map(|r| r.try_get("id").map(JobId).map_err(Error::from))
            .collect()
    }

    /// Records a failed attempt: with `retry_at_ms` the job is ready again at that time, without it the job
    /// is dead. `error` is kept as the job's last error. False when the claim is stale.
    pub async fn fail(&self, job: &ClaimedJob, error: &str, retry_at_ms: Option<i64>) -> Result<bool, Error> {
        let (state, run_at) = match retry_at_ms {
            Some(at) => (JobState::Ready, at),
            None => (JobState::Dead, job.run_at_ms),
        };
        let done = sqlx::query(sql!(self.dialect(), "fail"))
            .bind(job.id.0)
            .bind(job.fence)
            .bind(state.as_str())
            .bind(run_at)
            .bind(error)
            .bind(self.now_ms())
            .execute(&mut *self.db().acquire_write().await?)
            .await?;
        // A dead job frees its partition; a retry may be due earlier than what workers wait for.
        self.notify();
        Ok(done.rows_affected() > 0)
    }

    /// Gives a claimed job back without counting the attempt (graceful shutdown): it is ready at once for any
    /// worker. False when the claim is stale.
    pub async fn release(&self, job: &ClaimedJob) -> Result<bool, Error> {
        let done = sqlx::query(sql!(self.dialect(), "release"))
            .bind(job.id.0)
            .bind(job.fence)
            .bind(self.now_ms())
            .execute(&mut *self.db().acquire_write().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Gives a claimed job back to run again at `run_at_ms`, without counting the attempt (a job that asked
    /// to be deferred). False when the claim is stale.
    pub async fn defer(&self, job: &ClaimedJob, run_at_ms: i64) -> Result<bool, Error> {
        let done = sqlx::query(sql!(self.dialect(), "defer"))
            .bind(job.id.0)
            .bind(job.fence)
            .bind(self.now_ms())
            .bind(run_at_ms)
            .execute(&mut *self.db().acquire_write().await?)
            .await?;
        // Its partition's later jobs still wait behind it; a defer into the past is due at once.
        self.notify();
        Ok(done.rows_affected() > 0)
    }

    /// Extends the leases of the given claims, `(id, fence)` of each job still being worked on, to `lease`
    /// from now; returns how many were extended (a stale claim is not). Only jobs in flight get extended, so a
    /// job whose completion failed to be recorded runs out its lease and is taken again.
    pub async fn heartbeat(&self, claims: &[(JobId, i64)], lease: Duration) -> Result<u64, Error> {
        if claims.is_empty() {
            return Ok(0);
        }
        let pairs: Vec<[i64; 2]> = claims.iter().map(|(id, fence)| [id.0, *fence]).collect();
        let done = self
            .db()
            .batch_query(sql!(self.dialect(), "heartbeat"))
            .bind(serde_json::to_string(&pairs)?)
            .bind(self.now_ms().saturating_add(duration_ms(lease)))
            .execute(&mut *self.db().acquire_write().await?)
            .await?;
        Ok(done.rows_affected())
    }

    /// Puts running jobs whose lease has expired back to ready (their attempt stays counted); returns how
    /// many. Any replica may call it; the runner does on every maintenance tick.
    pub async fn reclaim_expired(&self) -> Result<u64, Error> {
        let done = sqlx::query(sql!(self.dialect(), "reclaim"))
            .bind(self.now_ms())
            .execute(&mut *self.db().acquire_write().await?)
            .await?;
        if done.rows_affected() > 0 {
            self.notify();
        }
        Ok(done.rows_affected())
    }

    /// Sends a cross-process wake-up (PostgreSQL NOTIFY) and wakes this process's workers.
    pub async fn notify_all(&self) -> Result<(), Error> {
        if self.dialect() == klaxon_db::Dialect::Postgres {
            sqlx::query(sql!(self.dialect(), "notify"))
                .fetch_all(&self.db().pool)
                .await?;
        }
        self.notify();
        Ok(())
    }
}

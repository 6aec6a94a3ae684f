//! The job as data: what a caller enqueues ([`NewJob`]), what a worker holds ([`ClaimedJob`]) and what the
//! API shows ([`JobInfo`]).

use std::{fmt, time::Duration};

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::{BackgroundJob, Error, clock::duration_ms};

/// A job's row id; ids grow with insertion order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub i64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting to be claimed once `run_at` has passed (a pending timer is ready with a future `run_at`).
    Ready,
    /// Claimed by a worker holding an unexpired lease.
    Running,
    /// Finished successfully.
    Done,
    /// Failed fatally or ran out of attempts; kept with its last error until retried.
    Dead,
}

impl JobState {
    /// The name stored in the `state` column and used by the API (`ready`, `running`, `done`, `dead`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Running => "running",
            Self::Done => "done",
            Self::Dead => "dead",
        }
    }

    /// The state named `s`, if any.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ready" => Some(Self::Ready),
            "running" => Some(Self::Running),
            "done" => Some(Self::Done),
            "dead" => Some(Self::Dead),
            _ => None,
        }
    }
}

/// How long a dedup key stays taken.
///
/// The default is [`Dedup::Forever`]: a key names one piece of work (e.g. "alert 42, escalation step 2"), and
/// running that work twice (a second page, a second Slack message) cannot be undone, while a key kept too
/// long shows up at once as a job that did not run. Callers who want coalescing ("one refresh pending at a
/// time") ask for [`Dedup::UntilDone`] or [`Dedup::WhilePending`]. Cancelling a pending job frees its key in
/// every mode: the work never ran; a dead job gives its key up when asked
/// ([`crate::Queue::release_dead_key_in`]). The price of `Forever` is that its done rows are not removed by
/// [`crate::Queue::purge_done`], only by [`crate::Queue::purge_done_all`] (the runner's
/// [`crate::RunnerSettings::retention`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dedup {
    /// The key stays taken after the job is done: the key fires at most once, for as long as the done row is
    /// kept (forever, unless a retention is set).
    #[default]
    Forever,
    /// The key is free again once the job is done (while ready, running or dead it is taken).
    UntilDone,
    /// The key is taken only while the job waits to run: it is freed when a worker claims the job. A change
    /// that lands while the job runs enqueues exactly one more (later ones coalesce into it), and a job that
    /// dies never blocks the next. For "bring X up to date" work, where the run reads the latest state.
    WhilePending,
}

impl Dedup {
    /// The value stored in `dedup_forever` (0 until done, 1 forever, 2 while pending; an integer, as both
    /// drivers agree on those).
    pub(crate) fn flag(self) -> i64 {
        match self {
            Self::UntilDone => 0,
            Self::Forever => 1,
            Self::WhilePending => 2,
        }
    }
}

/// When a new job becomes due.
#[derive(Debug, Clone, Copy)]
enum When {
    Now,
    At(i64),
    After(Duration),
}

/// A job to enqueue: kind, payload and options, built with chained calls.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub(crate) kind: String,
    pub(crate) payload: String,
    pub(crate) partition: Option<String>,
    pub(crate) dedup: Option<(String, Dedup)>,
    pub(crate) tenant: Option<String>,
    when: When,
}

impl NewJob {
    /// A job of `J`'s kind carrying `job` as its payload, due now.
    pub fn new<J: BackgroundJob>(job: &J) -> Result<Self, Error> {
        Self::raw(J::KIND, job)
    }

    /// A job of any kind with any serializable payload, due now (for callers without a handler type).
    pub fn raw(kind: impl Into<String>, payload: &impl Serialize) -> Result<Self, Error> {
        Ok(Self {
            kind: kind.into(),
            payload: serde_json::to_string(payload)?,
            partition: None,
            dedup: None,
            tenant: None,
            when: When::Now,
        })
    }

    /// Puts the job in a partition: jobs of one partition run one at a time, in order.
    #[must_use]
    pub fn partition(mut self, key: impl Into<String>) -> Self {
        self.partition = Some(key.into());
        self
    }

    /// Says whose job it is: an opaque id (the server's account) that [`crate::Queue::list_tenant`] lists
    /// by. A job without one belongs to nobody in particular and is listed only by [`crate::Queue::list`].
    #[must_use]
    pub fn tenant(mut self, id: impl Into<String>) -> Self {
        self.tenant = Some(id.into());
        self
    }

    /// Makes the job due at `run_at_ms` (Unix milliseconds): a timer.
    #[must_use]
    pub fn run_at_ms(mut self, run_at_ms: i64) -> Self {
        self.when = When::At(run_at_ms);
        self
    }

    /// Makes the job due `delay` after it is enqueued, by the queue's clock.
    #[must_use]
    pub fn delay(mut self, delay: Duration) -> Self {
        self.when = When::After(delay);
        self
    }

    /// Gives the job an identity with the default [`Dedup::Forever`] lifetime.
    #[must_use]
    pub fn dedup(self, key: impl Into<String>) -> Self {
        self.dedup_with(key, Dedup::default())
    }

    /// Gives the job an identity: enqueueing while the key is taken is a no-op.
    #[must_use]
    pub fn dedup_with(mut self, key: impl Into<String>, mode: Dedup) -> Self {
        self.dedup = Some((key.into(), mode));
        self
    }

    /// The due time, given the clock's `now_ms`.
    pub(crate) fn due_ms(&self, now_ms: i64) -> i64 {
        match self.when {
            When::Now => now_ms,
            When::At(at) => at,
            When::After(d) => now_ms.saturating_add(duration_ms(d)),
        }
    }

    /// The key's lifetime as stored ([`Dedup::flag`]; 0 without a key).
    pub(crate) fn forever_flag(&self) -> i64 {
        self.dedup.as_ref().map_or(0, |(_, mode)| mode.flag())
    }
}

/// A job claimed by a worker: enough to run it and to report back (the fence proves the claim).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    /// The job.
    pub id: JobId,
    /// Which handler runs it.
    pub kind: String,
    /// The payload as JSON text.
    pub payload: String,
    /// The partition, if any.
    pub partition: Option<String>,
    /// This attempt's number, from 1 (counted against the retry policy).
    pub attempt: u32,
    /// The claim's fence token; completion with an older fence is rejected.
    pub fence: i64,
    /// When the job was due (Unix milliseconds).
    pub run_at_ms: i64,
    /// Its place in its partition (Unix milliseconds): the due time it was enqueued with.
    pub order_at_ms: i64,
}

impl ClaimedJob {
    /// The payload decoded as `T`.
    pub fn payload<T: DeserializeOwned>(&self) -> Result<T, Error> {
        Ok(serde_json::from_str(&self.payload)?)
    }
}

/// A job as the API shows it (`GET /v1/jobs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobInfo {
    /// The job's id.
    pub id: JobId,
    /// Its kind.
    pub kind: String,
    /// Its payload.
    pub payload: serde_json::Value,
    /// Its partition key, if any.
    pub partition: Option<String>,
    /// Its identity, while it holds one.
    pub dedup_key: Option<String>,
    /// Whether the identity is kept after completion.
    pub dedup_forever: bool,
    /// Where it is in its life.
    pub state: JobState,
    /// When it is (or was last) due, Unix milliseconds.
    pub run_at_ms: i64,
    /// Attempts counted so far.
    pub attempts: u32,
    /// Claims so far (the fence token of the latest claim).
    pub fence: i64,
    /// The worker holding it while running.
    pub lease_owner: Option<String>,
    /// When that lease expires, Unix milliseconds.
    pub lease_expires_at_ms: Option<i64>,
    /// The error of the latest failed attempt.
    pub last_error: Option<String>,
    /// When it was enqueued, Unix milliseconds.
    pub created_at_ms: i64,
    /// When its row last changed, Unix milliseconds.
    pub updated_at_ms: i64,
    /// Whose job it is ([`NewJob::tenant`]), if anyone's.
    pub tenant: Option<String>,
}

/// One page of a listing; pass `next_cursor` back to get the next page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items, oldest first.
    pub items: Vec<T>,
    /// The cursor of the next page; `None` on the last page.
    pub next_cursor: Option<JobId>,
}

/// Job counts by state (a `DeadJobs` gauge reads `dead`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Ready jobs, due or not.
    pub ready: u64,
    /// Running jobs.
    pub running: u64,
    /// Done jobs still stored.
    pub done: u64,
    /// Dead jobs.
    pub dead: u64,
}

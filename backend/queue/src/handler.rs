//! Job kinds: a payload type that knows how to run itself ([`BackgroundJob`]), and how its failures are told
//! apart ([`JobError`]).

use std::fmt::Display;

use futures::future::BoxFuture;
use serde::{Serialize, de::DeserializeOwned};

use crate::RetryPolicy;

/// A kind of job: the payload struct is the job, `run` does the work.
///
/// `run` must be safe to repeat: a job runs at least once, and again if its worker dies or its lease expires
/// before completion is recorded.
#[async_trait::async_trait]
pub trait BackgroundJob: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The kind stored with each job; unique per runner, stable across releases.
    const KIND: &'static str;
    /// How failures of this kind are retried.
    const RETRY_POLICY: RetryPolicy = RetryPolicy::DEFAULT;
    /// What every job of the runner shares (pools, clients, configuration).
    type Context: Clone + Send + Sync + 'static;

    /// Most jobs of this kind handed to one [`BackgroundJob::run_batch`]. With the default, 1, each job runs
    /// alone through [`BackgroundJob::run`].
    const BATCH: usize = 1;

    /// Does the work.
    async fn run(&self, ctx: &Self::Context) -> Result<(), JobError>;

    /// Does the work of several jobs of this kind claimed together (at most [`BackgroundJob::BATCH`]);
    /// returns one result per job, in order. A kind whose work shares statements across jobs overrides it
    /// (and `BATCH`): a burst of jobs then costs a few statements per batch instead of a few per job. The
    /// default runs them one after the other. Each job's outcome is recorded on its own, as with `run`;
    /// a panic fails the whole batch (each job retries).
    async fn run_batch(jobs: Vec<Self>, ctx: &Self::Context) -> Vec<Result<(), JobError>>
    where
        Self: Sized,
    {
        let mut results = Vec::with_capacity(jobs.len());
        for job in &jobs {
            results.push(job.run(ctx).await);
        }
        results
    }
}

/// Why an attempt failed, which decides what happens next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// A transient failure: try again after a back-off, until attempts run out.
    #[error("{0}")]
    Retryable(String),
    /// A permanent failure: the job is dead at once.
    #[error("{0}")]
    Fatal(String),
    /// A transient failure that says when to come back (a 429's `Retry-After`): tried again after `after`
    /// instead of the policy's back-off; it counts as an attempt like [`JobError::Retryable`].
    #[error("{message} (retry after {after:?})")]
    RetryAfter {
        /// What failed.
        message: String,
        /// How long to wait.
        after: std::time::Duration,
    },
    /// Not a failure: the job cannot do its work yet (a pace to keep, a wait to honour) and asks to run again
    /// after `after`. The attempt is given back, and the job keeps its place in its partition.
    #[error("deferred: {reason} (for {after:?})")]
    Defer {
        /// Why, for the log.
        reason: String,
        /// How long to wait.
        after: std::time::Duration,
    },
}

impl JobError {
    /// A retryable failure described by `e`.
    pub fn retryable(e: impl Display) -> Self {
        Self::Retryable(e.to_string())
    }

    /// A fatal failure described by `e`.
    pub fn fatal(e: impl Display) -> Self {
        Self::Fatal(e.to_string())
    }

    /// A transient failure described by `e`, to be retried after `after`.
    pub fn retry_after(e: impl Display, after: std::time::Duration) -> Self {
        Self::RetryAfter {
            message: e.to_string(),
            after,
        }
    }

    /// "Not yet": run again after `after` without counting an attempt.
    pub fn defer(reason: impl Display, after: std::time::Duration) -> Self {
        Self::Defer {
            reason: reason.to_string(),
            after,
        }
    }
}

/// A kind's entry in the runner: its policy, its batch size and its payload-decoding run function.
pub(crate) struct Handler<C> {
    pub(crate) policy: RetryPolicy,
    pub(crate) batch: usize,
    pub(crate) run: for<'a> fn(Vec<&'a str>, &'a C) -> BoxFuture<'a, Outcomes>,
}

/// One result per job of a batch, in order.
pub(crate) type Outcomes = Vec<Result<(), JobError>>;

impl<C> Handler<C> {
    /// The entry for job type `J`.
    pub(crate) fn of<J: BackgroundJob<Context = C>>() -> Self {
        Self {
            policy: J::RETRY_POLICY,
            batch: J::BATCH.max(1),
            run: run_typed::<J>,
        }
    }
}

/// Decodes the payloads and runs the jobs that decode: one result per payload, in order.
fn run_typed<'a, J: BackgroundJob>(payloads: Vec<&'a str>, ctx: &'a J::Context) -> BoxFuture<'a, Outcomes> {
    Box::pin(async move {
        let mut results: Vec<Option<Result<(), JobError>>> = Vec::with_capacity(payloads.len());
        let mut jobs = Vec::with_capacity(payloads.len());
        for payload in payloads {
            match serde_json::from_str::<J>(payload) {
                Ok(job) => {
                    jobs.push(job);
                    results.push(None);
                }
                // A payload that does not decode will not decode next time either.
                Err(e) => results.push(Some(Err(JobError::Fatal(format!(
                    "payload of kind {} does not decode: {e}",
                    J::KIND
                ))))),
            }
        }
        let ran = match jobs.len() {
            0 => Vec::new(),
            1 => match jobs.pop() {
                Some(job) => vec![job.run(ctx).await],
                None => Vec::new(),
            },
            _ => J::run_batch(jobs, ctx).await,
        };
        let mut ran = ran.into_iter();
        results
            .into_iter()
            .map(|r| {
                r.or_else(|| ran.next()).unwrap_or_else(|| {
                    Err(JobError::Retryable(format!(
                        "the batch of kind {} returned fewer results than jobs",
                        J::KIND
                    )))
                })
            })
            .collect()
    })
}

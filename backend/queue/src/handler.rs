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

    /// Does the work.
    async fn run(&self, ctx: &Self::Context) -> Result<(), JobError>;
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
}

/// A kind's entry in the runner: its policy and its payload-decoding run function.
pub(crate) struct Handler<C> {
    pub(crate) policy: RetryPolicy,
    pub(crate) run: for<'a> fn(&'a str, &'a C) -> BoxFuture<'a, Result<(), JobError>>,
}

impl<C> Handler<C> {
    /// The entry for job type `J`.
    pub(crate) fn of<J: BackgroundJob<Context = C>>() -> Self {
        Self {
            policy: J::RETRY_POLICY,
            run: run_typed::<J>,
        }
    }
}

fn run_typed<'a, J: BackgroundJob>(
    payload: &'a str,
    ctx: &'a J::Context,
) -> BoxFuture<'a, Result<(), JobError>> {
    Box::pin(async move {
        // A payload that does not decode will not decode next time either.
        let job: J = serde_json::from_str(payload)
            .map_err(|e| JobError::Fatal(format!("payload of kind {} does not decode: {e}", J::KIND)))?;
        job.run(ctx).await
    })
}

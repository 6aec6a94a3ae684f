//! Group commit of jobs recorded on a request's path (a button press): callers hand a job over and wait
//! for its commit; one task writes whatever has piled up meanwhile in one transaction. Under a burst, many
//! presses share one commit (one fsync) instead of paying one each; alone, a press is written at once.

use klaxon_queue::{NewJob, Queue};
use tokio::sync::{mpsc, oneshot};

/// Most jobs written in one transaction.
const MAX_BATCH: usize = 512;

/// Why a job could not be recorded.
#[derive(Debug, Clone, thiserror::Error)]
#[error("could not record the job: {0}")]
pub struct EnqueueError(String);

/// The handle callers use; cheap to clone.
#[derive(Debug, Clone)]
pub struct Enqueuer {
    tx: mpsc::Sender<(NewJob, oneshot::Sender<Result<(), EnqueueError>>)>,
}

impl Enqueuer {
    /// Starts the writer on the current runtime; it stops when every handle is dropped.
    pub fn spawn(queue: Queue) -> Self {
        let (tx, rx) = mpsc::channel(4096);
        tokio::spawn(write(queue, rx));
        Self { tx }
    }

    /// Records `job`; returns once it is committed.
    pub async fn enqueue(&self, job: NewJob) -> Result<(), EnqueueError> {
        let (done, rx) = oneshot::channel();
        self.tx
            .send((job, done))
            .await
            .map_err(|_| EnqueueError("the writer has stopped".into()))?;
        rx.await
            .map_err(|_| EnqueueError("the writer has stopped".into()))?
    }
}

async fn write(queue: Queue, mut rx: mpsc::Receiver<(NewJob, oneshot::Sender<Result<(), EnqueueError>>)>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (jobs, waiters): (Vec<NewJob>, Vec<_>) = batch.drain(..).unzip();
        let result = async {
            let mut tx = queue.db().begin_write().await?;
            queue.enqueue_many_in(&mut tx, &jobs).await?;
            tx.commit().await?;
            Ok::<_, klaxon_queue::Error>(())
        }
        .await;
        match &result {
            Ok(()) => queue.notify(),
            Err(e) => tracing::error!(jobs = jobs.len(), error = %e, "Could not record jobs."),
        }
        for waiter in waiters {
            let _ = waiter.send(
                result
                    .as_ref()
                    .map(|_| ())
                    .map_err(|e| EnqueueError(e.to_string())),
            );
        }
    }
}

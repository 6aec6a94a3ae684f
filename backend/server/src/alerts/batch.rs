//! Group commit for ingest: concurrent requests' events are written in one transaction, so a burst of
//! alerts costs a few fsyncs instead of one per request, and a request is held no longer than the batch
//! it joined takes to commit.
//!
//! A writer task takes the first waiting submission, then every other one already waiting (up to
//! `max_batch`), and commits them together. If the batch fails, it is rolled back and its submissions are
//! stored one by one, so one that fails is answered with its error and the others still commit. Nothing is
//! answered before the commit, so a 2xx at the HTTP edge always means stored. Events keep their arrival
//! order; `alerts::ingest` takes the batch's per-key locks in key order, so replicas on PostgreSQL cannot
//! deadlock each other.

use std::sync::Arc;

use klaxon_queue::Queue;
use tokio::sync::{Mutex, mpsc, oneshot};

use super::{AlertError, AlertKind, IngestAction, Ingested, ingest::ingest_in};
use crate::{
    event::Event,
    store::{IngestEndpoint, Store},
};

/// Events of one request.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The endpoint they arrived at.
    pub endpoint: Arc<IngestEndpoint>,
    /// The events, in arrival order.
    pub events: Vec<Event>,
    /// SNS `MessageId`: a submission whose id the endpoint already stored is a retry and stores nothing.
    pub dedup_id: Option<String>,
}

/// What storing a submission did.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Each event's effect, in order.
    Stored(Vec<Ingested>),
    /// The message was stored before (an SNS retry); nothing was written.
    Duplicate,
}

/// Why a submission was not stored; shared by every submission of a batch whose commit failed.
pub type BatchError = Arc<AlertError>;

/// Sizing of the writers.
#[derive(Debug, Clone, Copy)]
pub struct BatchSettings {
    /// Writer tasks. One, on both stores: a batch costs a fixed number of statements whatever its size, so one
    /// writer's bigger batches beat several writers' small ones (on PostgreSQL, notifications went from about
    /// 1,600/s with four writers to 2,300-5,000/s with one; SQLite has one writer at a time anyway).
    pub writers: usize,
    /// Most submissions in one transaction.
    pub max_batch: usize,
}

impl Default for BatchSettings {
    fn default() -> Self {
        Self {
            writers: 1,
            max_batch: 256,
        }
    }
}

struct Pending {
    submission: Submission,
    reply: oneshot::Sender<Result<Outcome, BatchError>>,
}

/// The handle requests submit through; cheap to clone. The writers stop when every handle is dropped.
#[derive(Debug, Clone)]
pub struct Batcher {
    tx: mpsc::Sender<Pending>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("submission", &self.submission)
            .finish_non_exhaustive()
    }
}

impl Batcher {
    /// Starts the writer tasks on the current tokio runtime.
    pub fn spawn(store: &Store, queue: &Queue, settings: BatchSettings) -> Self {
        let (tx, rx) = mpsc::channel::<Pending>(settings.max_batch.max(1) * 4);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..settings.writers.max(1) {
            tokio::spawn(writer(
                store.clone(),
                queue.clone(),
                Arc::clone(&rx),
                settings.max_batch.max(1),
            ));
        }
        Self { tx }
    }

    /// Stores a submission durably; returns once its batch has committed.
    pub async fn submit(&self, submission: Submission) -> Result<Outcome, BatchError> {
        let (reply, answer) = oneshot::channel();
        let closed = || Arc::new(AlertError::Conflict("the ingest writer has stopped".into()));
        self.tx
            .send(Pending { submission, reply })
            .await
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

async fn writer(store: Store, queue: Queue, rx: Arc<Mutex<mpsc::Receiver<Pending>>>, max_batch: usize) {
    loop {
        let mut batch = Vec::new();
        {
            let mut rx = rx.lock().await;
            let Some(first) = rx.recv().await else { return };
            batch.push(first);
            while batch.len() < max_batch {
                match rx.try_recv() {
                    Ok(p) => batch.push(p),
                    Err(_) => break,
                }
            }
        }
        commit(&store, &queue, batch).await;
    }
}

async fn commit(store: &Store, queue: &Queue, batch: Vec<Pending>) {
    let now = queue.now_ms();
    let started = std::time::Instant::now();
    // The fast path stores the whole batch in one transaction without savepoints (two more statements per
    // submission on a path bound by statement round trips). If anything fails, the batch is rolled back and
    // each submission is stored alone, so one bad submission fails only itself.
    let results = match store_batch(store, queue, &batch, now).await {
        Ok(results) => results.into_iter().map(Ok).collect(),
        // A database that cannot serve fails every submission alike: storing them one by one would only
        // make each caller wait for its own timeout in turn before hearing "retry".
        Err(e) if e.unavailable().is_some() => {
            let e = Arc::new(e);
            return reply_all(batch, &e);
        }
        Err(e) if batch.len() > 1 => {
            tracing::warn!(error = %e, submissions = batch.len(), "Ingest batch failed; storing its submissions one by one.");
            let mut results = Vec::with_capacity(batch.len());
            for p in &batch {
                results.push(
                    store_batch(store, queue, std::slice::from_ref(p), now)
                        .await
                        .map(|mut r| r.remove(0)),
                );
            }
            results
        }
        Err(e) => vec![Err(e)],
    };
    tracing::debug!(
        submissions = batch.len(),
        elapsed_us = started.elapsed().as_micros(),
        "Stored an ingest batch."
    );
    let created = results.iter().any(|r| {
        matches!(r, Ok(Outcome::Stored(done)) if done.iter().any(|d| d.action == IngestAction::Created && d.alert.kind == AlertKind::Alert))
    });
    if created {
        queue.notify();
    }
    for r in &results {
        if let Ok(Outcome::Stored(done)) = r {
            super::ingest::count(store, done, now);
        }
    }
    for (p, r) in batch.into_iter().zip(results) {
        if let Err(e) = &r {
            tracing::error!(endpoint = %p.submission.endpoint.endpoint.id, error = %e, "Could not store ingested events; nothing of them was kept.");
        }
        let _ = p.reply.send(r.map_err(Arc::new));
    }
}

/// Answers every submission of a batch with the same failure.
fn reply_all(batch: Vec<Pending>, e: &BatchError) {
    tracing::error!(error = %e, submissions = batch.len(), "Could not store an ingest batch; nothing of it was kept.");
    for p in batch {
        let _ = p.reply.send(Err(e.clone()));
    }
}

/// Stores submissions in one transaction; all or nothing. The statements are per batch, not per event:
/// the SNS message ids in one, then every event of the batch through [`ingest_in`].
async fn store_batch(
    store: &Store,
    queue: &Queue,
    batch: &[Pending],
    now: i64,
) -> Result<Vec<Outcome>, AlertError> {
    let mut tx = store.database().begin_write().await?;
    let messages: Vec<(&str, &str)> = batch
        .iter()
        .filter_map(|p| {
            let s = &p.submission;
            s.dedup_id
                .as_deref()
                .map(|id| (s.endpoint.endpoint.id.as_str(), id))
        })
        .collect();
    let mut new_messages = store.remember_messages_in(&mut tx, &messages, now).await?;
    // A submission is stored unless its message id was stored before (or earlier in this batch).
    let fresh: Vec<bool> = batch
        .iter()
        .map(|p| {
            let s = &p.submission;
            s.dedup_id
                .as_ref()
                .is_none_or(|id| new_messages.remove(&(s.endpoint.endpoint.id.clone(), id.clone())))
        })
        .collect();
    let events: Vec<(&IngestEndpoint, &Event)> = batch
        .iter()
        .zip(&fresh)
        .filter(|(_, fresh)| **fresh)
        .flat_map(|(p, _)| {
            let endpoint = p.submission.endpoint.as_ref();
            p.submission.events.iter().map(move |e| (endpoint, e))
        })
        .collect();
    let mut done = ingest_in(&mut tx, store, queue, &events, now).await?.into_iter();
    tx.commit().await?;
    Ok(batch
        .iter()
        .zip(fresh)
        .map(|(p, fresh)| {
            if fresh {
                Outcome::Stored(done.by_ref().take(p.submission.events.len()).collect())
            } else {
                Outcome::Duplicate
            }
        })
        .collect())
}

//! The HTTP edge: the router, the shared state handlers see, and the error and extractor types.

mod alerts;
mod endpoints;
mod error;
mod extract;
mod health;
mod jobs;
pub mod openapi;
mod policies;
mod simulate;
mod teams;

use std::sync::Arc;

use axum::{Router, extract::DefaultBodyLimit};
use tower_http::trace::TraceLayer;

pub use error::{AppError, AppResult};
pub use extract::{Account, AppJson, AppQuery, MAX_BODY_BYTES, parse_json};

use klaxon_queue::Queue;

use crate::store::Store;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// Base of the ingest URLs handed out (`KLAXON_PUBLIC_URL`), without a trailing slash.
    pub public_url: Arc<str>,
    /// The job queue (escalation timers); shared with the runner so enqueues wake its workers at once.
    pub queue: Queue,
}

impl AppState {
    /// State over `store` with a queue of its own on the same database (system clock); `serve` builds the
    /// state itself so the queue is the one its runner uses.
    pub fn new(store: Store, public_url: &str) -> Self {
        let queue = Queue::new(store.database().clone());
        Self {
            store,
            public_url: Arc::from(public_url),
            queue,
        }
    }
}

/// The whole HTTP surface; `serve` binds it and tests call it without a socket.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(health::routes())
        .merge(openapi::routes())
        .merge(teams::routes())
        .merge(policies::routes())
        .merge(endpoints::routes())
        .merge(simulate::routes())
        .merge(alerts::routes())
        .merge(jobs::routes())
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

//! The HTTP edge: the router, the shared state handlers see, and the error and extractor types.

mod alerts;
mod endpoints;
mod error;
mod extract;
mod health;
mod heartbeats;
pub mod ingest;
mod jobs;
mod maintenance;
pub mod oauth;
pub mod openapi;
mod policies;
mod simulate;
mod slack;
mod snooze;
mod teams;
mod workspace;

use std::sync::Arc;

use axum::{Router, extract::DefaultBodyLimit};
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;

pub use error::{AppError, AppResult};
use extract::optional_body;
pub use extract::{Account, AppJson, AppPath, AppQuery, Created, MAX_BODY_BYTES, parse_json};

use klaxon_queue::Queue;

use crate::{
    alerts::batch::{BatchSettings, Batcher},
    ingest::{
        rate_limit::RateLimit,
        sns::{FetchError, Fetcher, HostPattern, SnsVerifier},
    },
    jobs::enqueue::Enqueuer,
    store::Store,
};

/// The fetcher of [`AppState::new`]: state built without configuration never reaches out to the network.
#[derive(Debug)]
struct NoFetch;

#[async_trait::async_trait]
impl Fetcher for NoFetch {
    async fn get(&self, _url: &url::Url) -> Result<Vec<u8>, FetchError> {
        Err(FetchError::Transport(
            "fetching is disabled in this configuration".into(),
        ))
    }
}

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// Base of the ingest URLs handed out (`KLAXON_PUBLIC_URL`), without a trailing slash.
    pub public_url: Arc<str>,
    /// The job queue (escalation timers); shared with the runner so enqueues wake its workers at once.
    pub queue: Queue,
    /// Ingest's verifier, limiter, group-commit writer and counters.
    pub ingest: Arc<ingest::IngestState>,
    /// Slack, when configured.
    pub slack: Option<Arc<crate::slack::Slack>>,
    /// Group commit of jobs recorded on a request's path (button presses).
    pub jobs: Enqueuer,
    /// Group commit of heartbeat pings.
    pub pings: crate::store::PingWriter,
    /// The length of a policy minute (a snooze of `minutes`).
    pub engine: crate::escalation::EngineConfig,
}

impl AppState {
    /// State over `store` with a queue of its own on the same database (system clock); `serve` builds the
    /// state itself so the queue is the one its runner uses.
    ///
    /// Ingest gets the default SNS checks (AWS hosts, certificates fetched) and rate limit, and a group-commit
    /// writer on the current tokio runtime.
    pub fn new(store: Store, public_url: &str) -> Self {
        let queue = Queue::new(store.database().clone());
        let verifier = SnsVerifier::new(HostPattern::default(), None, Arc::new(NoFetch));
        let ingest = ingest::IngestState::new(
            verifier,
            true,
            RateLimit::default(),
            Batcher::spawn(&store, &queue, BatchSettings::default()),
        );
        let jobs = Enqueuer::spawn(queue.clone());
        let pings = crate::store::PingWriter::spawn(store.clone(), queue.clock().clone());
        Self {
            store,
            public_url: Arc::from(public_url),
            queue,
            ingest: Arc::new(ingest),
            slack: None,
            jobs,
            pings,
            engine: crate::escalation::EngineConfig::default(),
        }
    }

    /// This state with Slack on.
    #[must_use]
    pub fn with_slack(mut self, slack: Arc<crate::slack::Slack>) -> Self {
        self.slack = Some(slack);
        self
    }
}

/// The whole HTTP surface with its documentation: every route is added with `utoipa_axum::routes!`, which
/// takes the path from the handler's `#[utoipa::path]`, so what is served is what `openapi.json` says.
pub(crate) fn api() -> OpenApiRouter<AppState> {
    openapi::router()
        .merge(health::routes())
        .merge(openapi::routes())
        .merge(teams::routes())
        .merge(policies::routes())
        .merge(endpoints::routes())
        .merge(maintenance::routes())
        .merge(heartbeats::routes())
        .merge(simulate::routes())
        .merge(alerts::routes())
        .merge(snooze::routes())
        .merge(jobs::routes())
        .merge(ingest::routes())
        .merge(slack::routes())
        .merge(oauth::routes())
        .merge(workspace::routes())
}

/// The router `serve` binds and tests call without a socket.
pub fn router(state: AppState) -> Router {
    let (router, _) = api().split_for_parts();
    router
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// The span each request's log lines carry. Not the URI as it came: an ingest URL's last segment is the
/// endpoint's credential, and a query may hold one too (an OAuth callback's `code`), so the path is logged
/// with the ingest token hidden and without its query.
fn request_span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %req.method(),
        path = %loggable_path(req.uri().path()),
        version = ?req.version(),
    )
}

/// `path` as logs may show it: `/ingest/{token}` becomes `/ingest/***`, `/heartbeat/{token}` becomes
/// `/heartbeat/***`.
pub(crate) fn loggable_path(path: &str) -> &str {
    if path.starts_with("/ingest/") {
        "/ingest/***"
    } else if path.starts_with("/heartbeat/") {
        "/heartbeat/***"
    } else {
        path
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn logged_paths_hide_ingest_tokens() {
        assert_eq!(super::loggable_path("/ingest/ing_secret"), "/ingest/***");
        assert_eq!(super::loggable_path("/heartbeat/hb_secret"), "/heartbeat/***");
        assert_eq!(super::loggable_path("/v1/teams/tm_1"), "/v1/teams/tm_1");
    }
}

//! `/v1/jobs`: the account's background jobs by state (dead letters by default), and retrying a dead one.
//!
//! The jobs table is shared by every account; a job belongs to the account recorded as its tenant when it
//! was enqueued, and only those are shown to or retried by that account (jobs of nobody in particular, such
//! as a Slack delivery not yet matched to an account, are shown to none).

use axum::{Json, extract::State};
use klaxon_api::{ErrorBody, Page};
use klaxon_queue::{JobId, JobInfo, JobState};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{Account, AppError, AppPath, AppQuery, AppResult, AppState, extract::page_limit};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(retry))
}

/// A background job (an escalation timer, a Slack call).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub(super) struct Job {
    /// The job's id.
    pub id: String,
    /// Its kind (`escalation.step`, ...).
    pub kind: String,
    /// Its payload.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// `ready`, `running`, `done` or `dead`.
    pub state: String,
    /// When it is (or was last) due, Unix milliseconds.
    pub run_at_ms: i64,
    /// Attempts so far.
    pub attempts: u32,
    /// The error of the latest failed attempt.
    pub last_error: Option<String>,
    /// When it was enqueued, Unix milliseconds.
    pub created_at_ms: i64,
}

/// A job's state, as a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(super) enum JobStateFilter {
    /// Waiting for its time, or due.
    Ready,
    /// Claimed by a worker.
    Running,
    /// Finished.
    Done,
    /// Failed for good (a dead letter).
    Dead,
}

impl JobStateFilter {
    fn state(self) -> JobState {
        match self {
            Self::Ready => JobState::Ready,
            Self::Running => JobState::Running,
            Self::Done => JobState::Done,
            Self::Dead => JobState::Dead,
        }
    }
}

/// Filters of `GET /v1/jobs`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct JobQuery {
    /// `ready`, `running`, `done` or `dead` (default: `dead`, the dead letters).
    #[param(inline)]
    pub state: Option<JobStateFilter>,
    /// Page size, 1 to 1000; default 100.
    #[serde(default, deserialize_with = "klaxon_api::int::query_u32")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[0-9]{1,18}$")]
    pub cursor: Option<String>,
}

/// List the account's jobs in one state, oldest first; by default the dead ones.
#[utoipa::path(get, path = "/v1/jobs", tag = "jobs", operation_id = "list_jobs", params(JobQuery),
    responses((status = 200, body = Page<Job>)), security(("bearer" = [])))]
pub(super) async fn list(
    State(state): State<AppState>,
    Account(account): Account,
    AppQuery(q): AppQuery<JobQuery>,
) -> AppResult<Json<Page<Job>>> {
    let limit = page_limit(q.limit, None)?;
    let wanted = q.state.map_or(JobState::Dead, JobStateFilter::state);
    let cursor = match q.cursor.as_deref() {
        None => None,
        // What `next_cursor` hands out: a job id, at most 18 digits (the document's pattern).
        Some(c) => Some(JobId(
            c.parse()
                .ok()
                .filter(|_| c.len() <= 18 && c.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| AppError::BadRequest {
                    code: "invalid_query",
                    message: "cursor is not one this API handed out".to_owned(),
                    field: Some("cursor".to_owned()),
                })?,
        )),
    };
    // One indexed statement on (tenant, state, id): other accounts' jobs are never read.
    let page = state
        .queue
        .list_tenant(&account, wanted, limit, cursor)
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let items = page.items.iter().map(view).collect();
    let next_cursor = page.next_cursor.map(|c| c.to_string());
    Ok(Json(Page { items, next_cursor }))
}

/// Retry a dead job of the account now, with a fresh set of attempts. 409 when the job is not dead.
#[utoipa::path(post, path = "/v1/jobs/{id}/retry", tag = "jobs", operation_id = "retry_job",
    params(("id" = String, Path)),
    responses((status = 200, body = Job),
        (status = 409, body = ErrorBody, description = "The job is not dead.")),
    security(("bearer" = [])))]
pub(super) async fn retry(
    State(state): State<AppState>,
    Account(account): Account,
    AppPath(id): AppPath<String>,
) -> AppResult<Json<Job>> {
    let id = JobId(id.parse().map_err(|_| AppError::NotFound)?);
    let internal = |e: klaxon_queue::Error| AppError::Internal(e.into());
    let job = state.queue.get(id).await.map_err(internal)?;
    let job = job
        .filter(|j| j.tenant.as_deref() == Some(account.as_str()))
        .ok_or(AppError::NotFound)?;
    if job.state != JobState::Dead {
        return Err(AppError::Conflict {
            message: format!("job {id} is {}, not dead", job.state.as_str()),
            field: None,
        });
    }
    if !state.queue.retry(id).await.map_err(internal)? {
        return Err(AppError::Conflict {
            message: format!("job {id} is no longer dead"),
            field: None,
        });
    }
    tracing::info!(job = %id, kind = %job.kind, "Dead job retried.");
    let job = state
        .queue
        .get(id)
        .await
        .map_err(internal)?
        .ok_or(AppError::NotFound)?;
    Ok(Json(view(&job)))
}

fn view(job: &JobInfo) -> Job {
    Job {
        id: job.id.to_string(),
        kind: job.kind.clone(),
        payload: job.payload.clone(),
        state: job.state.as_str().to_owned(),
        run_at_ms: job.run_at_ms,
        attempts: job.attempts,
        last_error: job.last_error.clone(),
        created_at_ms: job.created_at_ms,
    }
}

//! Operations: liveness, readiness and the metrics scrape.

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::AppState;

/// The answer of `/healthz` and `/readyz`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct Health {
    /// `ok`, or what is wrong.
    pub(super) status: &'static str,
    /// `/readyz` only, when Slack is configured: `ok`, or why the workspace cannot be used (Klaxon still
    /// stores and escalates alerts; it is ready).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) slack: Option<String>,
}

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", operation_id = "healthz",
    responses((status = 200, body = Health)))]
pub(super) async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok",
        slack: None,
    })
}

/// The process can reach its database.
#[utoipa::path(get, path = "/readyz", tag = "operations", operation_id = "readyz",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub(super) async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let slack = state.slack.as_ref().map(|s| {
        let h = s.health();
        match (h.ok, h.reason) {
            (true, _) => "ok".to_owned(),
            (false, reason) => format!("unhealthy: {}", reason.unwrap_or_default()),
        }
    });
    if state.store.database().ping().await {
        (StatusCode::OK, Json(Health { status: "ok", slack }))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health {
                status: "database unreachable",
                slack,
            }),
        )
    }
}

/// Counters in the Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "operations", operation_id = "metrics",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4",
        content_type = "text/plain", body = String)))]
pub(super) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.ingest.metrics.render(),
    )
}

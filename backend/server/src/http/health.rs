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
    /// `/readyz` only, when Slack is configured: `ok`, or why the configured workspace
    /// (`KLAXON_SLACK_BOT_TOKEN`) cannot be used (Klaxon still stores and escalates alerts; it is ready).
    /// Installed workspaces are shown by `GET /v1/workspace` and `/metrics` (`klaxon_slack_teams_*`).
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
        let h = s.configured().map(|ws| ws.health());
        match h {
            Some(h) if !h.ok => format!("unhealthy: {}", h.reason.unwrap_or_default()),
            _ => "ok".to_owned(),
        }
    });
    // Within a second whatever the pool is doing: load balancers and operators give health checks little
    // time, and a database that does not answer in 800 ms is not ready to store an alert.
    if state
        .store
        .database()
        .ping_within(std::time::Duration::from_millis(800))
        .await
    {
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
    responses((status = 200, description = "Every metric of `klaxon_api::metrics::METRICS` in the OpenMetrics \
        text format, which Prometheus scrapes; the database gauges only on the replica that computes them.",
        content_type = "application/openmetrics-text", body = String)))]
pub(super) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.store.metrics().render(),
    )
}

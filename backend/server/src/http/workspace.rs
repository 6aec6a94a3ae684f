//! `/v1/workspace`: the Slack workspace the account's alerts go to, and whether it can be used.

use axum::{Json, extract::State};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{Account, AppResult, AppState};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(read))
}

/// The account's workspace.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct Workspace {
    /// Slack.
    pub slack: SlackStatus,
}

/// Slack as Klaxon sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct SlackStatus {
    /// Slack is configured: alerts are posted and escalated there.
    pub configured: bool,
    /// The workspace's Slack id, once Klaxon learnt it.
    pub team_id: Option<String>,
    /// Calls can be made. When not, alerts are still stored, grouped and escalated, and every message
    /// catches up once the workspace is usable again.
    pub healthy: bool,
    /// Why not (Slack's error, e.g. `token_revoked`).
    pub reason: Option<String>,
    /// Since when it is as it is (RFC 3339).
    pub since: Option<String>,
}

/// Read the account's Slack workspace and its health.
#[utoipa::path(get, path = "/v1/workspace", tag = "workspace", operation_id = "get_workspace",
    responses((status = 200, body = Workspace)), security(("bearer" = [])))]
pub(super) async fn read(
    State(state): State<AppState>,
    Account(account): Account,
) -> AppResult<Json<Workspace>> {
    let slack = match &state.slack {
        None => SlackStatus {
            configured: false,
            team_id: None,
            healthy: false,
            reason: Some(
                "Slack is not configured (KLAXON_SLACK_BOT_TOKEN, KLAXON_SLACK_SIGNING_SECRET)".into(),
            ),
            since: None,
        },
        Some(s) => {
            let h = s.health();
            SlackStatus {
                configured: true,
                team_id: s.team_of(&account),
                healthy: h.ok,
                reason: h.reason,
                since: time::OffsetDateTime::from_unix_timestamp(h.since_ms / 1000)
                    .ok()
                    .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()),
            }
        }
    };
    Ok(Json(Workspace { slack }))
}

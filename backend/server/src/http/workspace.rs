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
    /// Slack is configured on this Klaxon.
    pub configured: bool,
    /// How the account reaches its workspace: `installed` (the account is a workspace that installed
    /// Klaxon through OAuth), `configured` (the workspace of `KLAXON_SLACK_BOT_TOKEN`), or `none`.
    pub connection: Connection,
    /// The workspace's Slack id, once Klaxon learnt it.
    pub team_id: Option<String>,
    /// The workspace's name, for installs.
    pub team_name: Option<String>,
    /// The workspace takes Klaxon's calls: false once it uninstalled Klaxon or revoked its token (until it
    /// installs Klaxon again). Alerts are stored and escalated either way.
    pub active: bool,
    /// Calls can be made now. When not, alerts are still stored, grouped and escalated, and every message
    /// catches up once the workspace is usable again.
    pub healthy: bool,
    /// Why not (`app_uninstalled`, `tokens_revoked`, or Slack's error, e.g. `invalid_auth`).
    pub reason: Option<String>,
    /// Since when it is as it is (RFC 3339).
    pub since: Option<String>,
}

/// How an account reaches its Slack workspace.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(super) enum Connection {
    /// Installed through OAuth.
    Installed,
    /// The workspace of `KLAXON_SLACK_BOT_TOKEN`.
    Configured,
    /// No workspace.
    None,
}

/// Read the account's Slack workspace and its health.
#[utoipa::path(get, path = "/v1/workspace", tag = "workspace", operation_id = "get_workspace",
    responses((status = 200, body = Workspace)), security(("bearer" = [])))]
pub(super) async fn read(
    State(state): State<AppState>,
    Account(account): Account,
) -> AppResult<Json<Workspace>> {
    let rfc3339 = |ms: i64| {
        time::OffsetDateTime::from_unix_timestamp(ms / 1000)
            .ok()
            .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
    };
    let slack = match &state.slack {
        None => SlackStatus {
            configured: false,
            connection: Connection::None,
            team_id: None,
            team_name: None,
            active: false,
            healthy: false,
            reason: Some(
                "Slack is not configured (KLAXON_SLACK_SIGNING_SECRET with KLAXON_SLACK_BOT_TOKEN or \
                 KLAXON_SLACK_CLIENT_ID)"
                    .into(),
            ),
            since: None,
        },
        Some(s) => {
            let ws = s
                .workspace(&account)
                .await
                .map_err(|e| super::AppError::Internal(e.into()))?;
            let h = ws.health();
            let connection = match (&ws.account, ws.inactive.as_deref()) {
                (Some(_), _) => Connection::Installed,
                (None, Some("not_installed")) => Connection::None,
                (None, _) => Connection::Configured,
            };
            SlackStatus {
                configured: true,
                connection,
                team_id: ws.team_id(),
                team_name: ws.team_name.clone(),
                active: ws.inactive.is_none(),
                healthy: h.ok,
                reason: h.reason,
                since: rfc3339(h.since_ms),
            }
        }
    };
    Ok(Json(Workspace { slack }))
}

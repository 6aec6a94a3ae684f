//! `/slack/*`: what Slack calls, each checked against Slack's signature on the raw body first (a request
//! without a valid, recent signature is refused with 401 and changes nothing).
//!
//! - `POST /slack/interactions`: button presses, recorded durably (a job, group-committed with other
//!   presses) and answered 200 at once, well inside Slack's 3 seconds; the job applies the press and the
//!   message sync updates the messages (see `jobs::press`).
//! - `POST /slack/events`: the Events API. `url_verification` is answered with its challenge; events are
//!   recorded as jobs keyed by `event_id`, so a retried delivery is acted on once (see `jobs::slack_event`).
//! - `POST /slack/commands`: the `/klaxon` slash command, answered in the response itself, privately.
//!
//! The OAuth install pages are in `http::oauth`.

use std::time::Duration;

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{AppError, AppState};
use crate::{
    jobs::{EventJob, PressJob, slack_event},
    slack::{
        Slack,
        events::{self, Delivery},
        interactions, render, signing,
    },
};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(interactions))
        .routes(routes!(events))
        .routes(routes!(commands))
}

/// Slack, when the request is signed by it; else the answer to give (401, or 404 when Slack is off). An
/// unsigned request is refused as such, whatever else is true.
fn verified<'a>(state: &'a AppState, headers: &HeaderMap, body: &[u8]) -> Result<&'a Slack, AppError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header(signing::TIMESTAMP_HEADER).is_none() || header(signing::SIGNATURE_HEADER).is_none() {
        return Err(AppError::Unsigned(signing::SignatureError::Missing.to_string()));
    }
    let Some(slack) = &state.slack else {
        return Err(AppError::NotFound);
    };
    let now = crate::store::now_ms() / 1000;
    if let Err(e) = slack.signing.verify(
        header(signing::TIMESTAMP_HEADER),
        header(signing::SIGNATURE_HEADER),
        body,
        now,
    ) {
        tracing::warn!(reason = %e, "Refused a Slack request.");
        return Err(AppError::Unsigned(e.to_string()));
    }
    Ok(slack)
}

/// Receive a button press from Slack (the app's Interactivity Request URL). Signed by Slack; answered 200
/// as soon as the press is recorded.
#[utoipa::path(post, path = "/slack/interactions", tag = "slack", operation_id = "slack_interactions",
    params(
        ("X-Slack-Signature" = String, Header, description = "`v0=` and the HMAC-SHA256 of the request, keyed \
            with the app's signing secret."),
        ("X-Slack-Request-Timestamp" = String, Header, description = "Unix seconds; at most five minutes old."),
    ),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "`payload=` and the interaction as JSON (a `block_actions` of Klaxon's buttons)."),
    responses(
        (status = 200, description = "Recorded (or not a press of Klaxon's buttons: nothing to do)."),
        (status = 400, body = klaxon_api::ErrorBody, description = "The body is not an interaction."),
        (status = 401, body = klaxon_api::ErrorBody, description = "The signature is missing, stale or wrong; \
            nothing was recorded."),
        (status = 404, body = klaxon_api::ErrorBody, description = "Slack is not configured on this Klaxon."),
        (status = 413, body = klaxon_api::ErrorBody, description = "The body is too large."),
        (status = 503, body = klaxon_api::ErrorBody, description = "The press could not be recorded; press again."),
    ))]
pub(super) async fn interactions(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let started = std::time::Instant::now();
    if let Err(refused) = verified(&state, &headers, &body) {
        return refused.into_response();
    }
    let press = match interactions::parse(&body) {
        Ok(Some(press)) => press,
        Ok(None) => return StatusCode::OK.into_response(),
        Err(e) => {
            return AppError::BadRequest {
                code: "invalid_interaction",
                message: e.to_string(),
                field: None,
            }
            .into_response();
        }
    };
    // A snooze choice (`snooze:<choice>`) counts as `snooze`, whichever it was.
    let action = press.action.split(':').next().unwrap_or_default().to_owned();
    let job = match PressJob::of(press) {
        Ok(job) => job,
        Err(e) => return AppError::Internal(e.into()).into_response(),
    };
    match state.jobs.enqueue(job).await {
        Ok(()) => {
            state.store.metrics().button_press(&action, started.elapsed());
            StatusCode::OK.into_response()
        }
        Err(e) => AppError::Unavailable(e.to_string()).into_response(),
    }
}

/// Receive an Events API delivery from Slack (the app's Event Subscriptions Request URL). Signed by Slack.
/// `url_verification` is answered with its challenge; `app_uninstalled`, `tokens_revoked` and
/// `app_mention` are recorded (once per `event_id`, however often Slack retries) and answered 200 at once;
/// other events are answered 200 and ignored.
#[utoipa::path(post, path = "/slack/events", tag = "slack", operation_id = "slack_events",
    params(
        ("X-Slack-Signature" = String, Header, description = "`v0=` and the HMAC-SHA256 of the request, keyed \
            with the app's signing secret."),
        ("X-Slack-Request-Timestamp" = String, Header, description = "Unix seconds; at most five minutes old."),
        ("X-Slack-Retry-Num" = Option<String>, Header, description = "Set by Slack on a retried delivery; the \
            event is acted on once whatever the number."),
    ),
    request_body(content = Object, content_type = "application/json",
        description = "An Events API envelope (`url_verification` or `event_callback`)."),
    responses(
        (status = 200, body = EventAnswer, description = "Recorded, ignored, or (for `url_verification`) the \
            challenge."),
        (status = 400, body = klaxon_api::ErrorBody, description = "The body is not an Events API delivery."),
        (status = 401, body = klaxon_api::ErrorBody, description = "The signature is missing, stale or wrong; \
            nothing was recorded."),
        (status = 404, body = klaxon_api::ErrorBody, description = "Slack is not configured on this Klaxon."),
        (status = 413, body = klaxon_api::ErrorBody, description = "The body is too large."),
        (status = 503, body = klaxon_api::ErrorBody, description = "The event could not be recorded; Slack \
            retries it."),
    ))]
pub(super) async fn events(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(refused) = verified(&state, &headers, &body) {
        return refused.into_response();
    }
    let delivery = match events::parse(&body) {
        Ok(d) => d,
        Err(e) => {
            return AppError::BadRequest {
                code: "invalid_event",
                message: e.to_string(),
                field: None,
            }
            .into_response();
        }
    };
    let event = match delivery {
        Delivery::UrlVerification { challenge } => {
            return Json(EventAnswer {
                challenge: Some(challenge),
            })
            .into_response();
        }
        Delivery::Other => return Json(EventAnswer { challenge: None }).into_response(),
        Delivery::Event(event) => event,
    };
    if let Some(retry) = headers.get("x-slack-retry-num").and_then(|v| v.to_str().ok()) {
        tracing::debug!(event = %event.event_id, retry, "Slack retried an event delivery.");
    }
    let job = match EventJob::of(event) {
        Ok(job) => job,
        Err(e) => return AppError::Internal(e.into()).into_response(),
    };
    match state.jobs.enqueue(job).await {
        Ok(()) => Json(EventAnswer { challenge: None }).into_response(),
        Err(e) => AppError::Unavailable(e.to_string()).into_response(),
    }
}

/// The answer to an Events API delivery.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(super) struct EventAnswer {
    /// The challenge of a `url_verification`, echoed.
    #[serde(skip_serializing_if = "Option::is_none")]
    challenge: Option<String>,
}

/// How long the slash command may take to read its answer: Slack shows an error after 3 s.
const COMMAND_DEADLINE: Duration = Duration::from_millis(2500);

/// Receive the `/klaxon` slash command (the command's Request URL). Signed by Slack. Answered in the
/// response, visible only to the person who typed it: `open alerts` lists the workspace's alerts that are
/// not closed, `help` says what Klaxon understands.
#[utoipa::path(post, path = "/slack/commands", tag = "slack", operation_id = "slack_commands",
    params(
        ("X-Slack-Signature" = String, Header, description = "`v0=` and the HMAC-SHA256 of the request, keyed \
            with the app's signing secret."),
        ("X-Slack-Request-Timestamp" = String, Header, description = "Unix seconds; at most five minutes old."),
    ),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "The slash command as Slack posts it (`team_id`, `command`, `text`, `user_id`, ...)."),
    responses(
        (status = 200, body = Object, description = "The answer, as an ephemeral message (`response_type`, \
            `text`, `blocks`)."),
        (status = 400, body = klaxon_api::ErrorBody, description = "The body is not a slash command."),
        (status = 401, body = klaxon_api::ErrorBody, description = "The signature is missing, stale or wrong."),
        (status = 404, body = klaxon_api::ErrorBody, description = "Slack is not configured on this Klaxon."),
        (status = 413, body = klaxon_api::ErrorBody, description = "The body is too large."),
    ))]
pub(super) async fn commands(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let slack = match verified(&state, &headers, &body) {
        Ok(slack) => slack,
        Err(refused) => return refused.into_response(),
    };
    let command = match events::parse_command(&body) {
        Ok(c) => c,
        Err(e) => {
            return AppError::BadRequest {
                code: "invalid_command",
                message: e.to_string(),
                field: None,
            }
            .into_response();
        }
    };
    let how = if command.command.starts_with('/') {
        command.command.clone()
    } else {
        "/klaxon".to_owned()
    };
    let answer = async {
        let accounts = slack_event::accounts_of_team(&state.store, slack, &command.team_id)
            .await
            .map_err(|e| e.to_string())?;
        let Some(account) = accounts else {
            return Ok(render::notice(
                "Klaxon does not post to this workspace (it is not installed here, or was uninstalled). Install \
                 it again to see its alerts here.",
            ));
        };
        slack_event::answer_from(
            &state.store,
            account.as_deref(),
            &events::verb(&command.text),
            &how,
        )
        .await
        .map_err(|e| e.to_string())
    };
    let message = match tokio::time::timeout(COMMAND_DEADLINE, answer).await {
        Ok(Ok(message)) => message,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "Could not answer a slash command.");
            render::notice("Klaxon could not read its alerts just now; try again in a moment.")
        }
        Err(_) => render::notice("Klaxon is busy and could not answer in time; try again."),
    };
    (StatusCode::OK, Json(render::ephemeral_message(&message))).into_response()
}

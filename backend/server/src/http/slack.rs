//! `/slack/*`: what Slack calls. `POST /slack/interactions` receives button presses: it checks Slack's
//! signature on the raw body, records the press durably (a job, group-committed with other presses) and
//! answers 200 at once, well inside Slack's 3 seconds; the job applies it and the message sync updates the
//! messages (see `jobs::press`). A request without a valid, recent signature is refused with 401 and records
//! nothing.

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{AppError, AppState};
use crate::{
    jobs::PressJob,
    slack::{interactions, signing},
};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(interactions))
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
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    // An unsigned request is refused as such, whatever else is true.
    if header(signing::TIMESTAMP_HEADER).is_none() || header(signing::SIGNATURE_HEADER).is_none() {
        return AppError::Unsigned(signing::SignatureError::Missing.to_string()).into_response();
    }
    let Some(slack) = &state.slack else {
        return AppError::NotFound.into_response();
    };
    let now = crate::store::now_ms() / 1000;
    if let Err(e) = slack.signing.verify(
        header(signing::TIMESTAMP_HEADER),
        header(signing::SIGNATURE_HEADER),
        &body,
        now,
    ) {
        tracing::warn!(reason = %e, "Refused a Slack request.");
        return AppError::Unsigned(e.to_string()).into_response();
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
    let job = match PressJob::of(press) {
        Ok(job) => job,
        Err(e) => return AppError::Internal(e.into()).into_response(),
    };
    match state.jobs.enqueue(job).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => AppError::Unavailable(e.to_string()).into_response(),
    }
}

//! `POST /ingest/{endpoint_token}` (and `GET` with query parameters): where SNS and webhook callers deliver.
//!
//! The order of checks is the order of cost: the token (a read cached for a few seconds, see
//! `store::token_cache`; an unknown token is a bare 404 that says nothing of whether it ever existed), the
//! endpoint's rate, the body's size and shape, the SNS signature and topic, and only then a write. Every
//! refusal is counted by reason and stores nothing. A 2xx is sent only after the events are committed (group
//! commit, see `alerts::batch`).

use std::{sync::Arc, time::Instant};

use axum::{
    Json,
    body::Bytes,
    extract::{DefaultBodyLimit, RawQuery, State, rejection::BytesRejection},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use klaxon_api::{ErrorBody, ErrorDetail};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{AppError, AppPath, AppState};
use crate::{
    alerts::{
        AlertKind, IngestAction,
        batch::{Batcher, Outcome, Submission},
    },
    event::Event,
    ingest::{
        self, Incoming, MAX_SNS_BODY_BYTES, Parsed, Rejection, SnsControlKind,
        rate_limit::{RateLimit, RateLimiter},
        sns::{ConfirmError, SnsVerifier},
    },
    store::SubscriptionStatus,
};

/// What ingest needs besides the store: the SNS verifier, the per-endpoint limiter, the group-commit
/// writer and the counters.
#[derive(Debug)]
pub struct IngestState {
    /// Checks SNS signatures and URLs; holds the certificate cache.
    pub verifier: SnsVerifier,
    /// `false` only for local AWS emulators (see `KLAXON_SNS_VERIFY_SIGNATURES`).
    pub verify_signatures: bool,
    /// Token buckets per endpoint id.
    pub limiter: RateLimiter<String>,
    /// Group commit of events.
    pub batcher: Batcher,
}

impl IngestState {
    /// Ingest with the given verifier and rate.
    pub fn new(verifier: SnsVerifier, verify_signatures: bool, rate: RateLimit, batcher: Batcher) -> Self {
        Self {
            verifier,
            verify_signatures,
            limiter: RateLimiter::new(rate),
            batcher,
        }
    }
}

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(receive_query, receive_body))
        // SNS bodies may be up to twice the webhook limit (see `ingest::MAX_SNS_BODY_BYTES`); `parse` applies
        // the limit of each kind.
        .layer(DefaultBodyLimit::max(MAX_SNS_BODY_BYTES))
}

/// The answer to a stored or acknowledged delivery.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct Receipt {
    /// `stored`, `duplicate` (an SNS retry of a stored message), `confirmed`, `unsubscribed` or `ignored`.
    status: &'static str,
    /// What each event did.
    alerts: Vec<AlertReceipt>,
}

/// What one event did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct AlertReceipt {
    /// The alert (or notification) it created, joined or closed.
    id: String,
    /// `created`, `grouped` or `resolved`.
    action: &'static str,
    /// `alert` or `notification`.
    kind: &'static str,
}

impl Receipt {
    fn status(status: &'static str) -> Self {
        Self {
            status,
            alerts: Vec::new(),
        }
    }
}

/// Deliver an event as a `GET` with query parameters (monitors that can only call a URL): each parameter is a
/// field of the event. The URL is the credential; a 2xx is sent only once the event is stored.
#[utoipa::path(get, path = "/ingest/{token}", tag = "ingest", operation_id = "ingest_query",
    params(("token" = String, Path, description = "The endpoint's secret ingest token (from its `url`)."),
        ("fields" = Object, Query, style = Form, explode,
            description = "The event's fields (`title`, `key`, `status`, anything else); at least one.")),
    responses(
        (status = 200, body = Receipt, description = "Stored."),
        (status = 404, body = ErrorBody, description = "No endpoint has this token."),
        (status = 405, body = ErrorBody, description = "A `GET` without a query carries no event."),
        (status = 429, body = ErrorBody, description = "Over the endpoint's rate; `Retry-After` says when to \
            come back.", headers(("Retry-After" = u32, description = "Seconds to wait."))),
        (status = 503, body = ErrorBody, description = "The event could not be stored; nothing was kept: retry.",
            headers(("Retry-After" = u32, description = "Seconds to wait."))),
    ))]
pub(super) async fn receive_query(
    state: State<AppState>,
    token: AppPath<String>,
    method: Method,
    headers: HeaderMap,
    query: RawQuery,
) -> Response {
    receive(state, token, method, headers, query, Ok(Bytes::new())).await
}

/// Deliver events: an SNS message (a notification, or a subscription's confirmation), or a webhook (JSON,
/// form or plain text). The URL is the credential. A 2xx is sent only once the events are stored; an
/// `X-Alert-Key` header or a `key` field groups events, and `status: resolved|ok|closed` closes the open
/// alert. A JSON array delivers one event per item, at most 100 (a longer one is refused whole).
#[utoipa::path(post, path = "/ingest/{token}", tag = "ingest", operation_id = "ingest",
    params(("token" = String, Path, description = "The endpoint's secret ingest token (from its `url`).")),
    request_body(description = "The event: SNS JSON, webhook JSON (an object, or an array of them), a form or \
            text.",
        content(
            (serde_json::Value = "application/json"),
            (String = "application/x-www-form-urlencoded"),
            (String = "text/plain"),
        )),
    responses(
        (status = 200, body = Receipt, description = "Stored (or a duplicate, a confirmation, nothing to store)."),
        (status = 400, body = ErrorBody, description = "The body is malformed or lacks what its kind needs."),
        (status = 403, body = ErrorBody, description = "A bad SNS signature or certificate URL, a topic \
            the endpoint does not allow, or a signed SNS message dated more than 7 days ago or more than 15 \
            minutes ahead (`timestamp_out_of_range`: SNS retries for an hour at most, so it is a replay)."),
        (status = 404, body = ErrorBody, description = "No endpoint has this token."),
        (status = 413, body = ErrorBody, description = "The body is larger than the limit of its kind \
            (`too_large`), or holds more than 100 events (`too_many_events`); nothing of it was stored."),
        (status = 429, body = ErrorBody, description = "Over the endpoint's rate; `Retry-After` says when to \
            come back.", headers(("Retry-After" = u32, description = "Seconds to wait."))),
        (status = 502, body = ErrorBody, description = "Confirming an SNS subscription failed; SNS sends the \
            confirmation again."),
        (status = 503, body = ErrorBody, description = "The events could not be stored, or an SNS certificate \
            could not be fetched; nothing was kept: retry.",
            headers(("Retry-After" = u32, description = "Seconds to wait."))),
    ))]
pub(super) async fn receive_body(
    state: State<AppState>,
    token: AppPath<String>,
    method: Method,
    headers: HeaderMap,
    query: RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    receive(state, token, method, headers, query, body).await
}

async fn receive(
    State(state): State<AppState>,
    AppPath(token): AppPath<String>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let ingest = &state.ingest;
    let metrics = state.store.metrics();
    let started = Instant::now();
    let endpoint = match state.store.endpoint_by_token(&token).await {
        Ok(Some(e)) => e,
        Ok(None) => {
            metrics.ingest_rejected("unknown_endpoint");
            return AppError::NotFound.into_response();
        }
        Err(e) => return AppError::from(e).into_response(),
    };
    let refuse = |r: Rejection| {
        metrics.ingest_rejected(r.reason().as_str());
        tracing::info!(endpoint = %endpoint.endpoint.id, reason = %r.reason(), detail = %r, "Refused an ingest request.");
        rejection_response(&r)
    };
    if let Err(r) = ingest.limiter.check(&endpoint.endpoint.id, Instant::now()) {
        return refuse(r);
    }
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return refuse(Rejection::TooLarge {
                size: MAX_SNS_BODY_BYTES + 1,
                limit: MAX_SNS_BODY_BYTES,
            });
        }
        Err(e) => return refuse(Rejection::malformed("request", e.body_text())),
    };
    let parsed = match ingest::parse(&headers, &method, query.as_deref(), &body) {
        Ok(p) => p,
        Err(r) => return refuse(r),
    };
    let allowed = &endpoint.endpoint.allowed_topic_arns;
    let incoming = match parsed {
        Parsed::Webhook(incoming) => incoming,
        Parsed::Sns(message) if ingest.verify_signatures => {
            match ingest::sns::verify(message, &ingest.verifier, allowed).await {
                Ok(i) => i,
                Err(r) => return refuse(r),
            }
        }
        Parsed::Sns(message) => match message.accept_unsigned(allowed) {
            Ok(i) => i,
            Err(r) => return refuse(r),
        },
    };
    match incoming {
        Incoming::SnsControl(control) => {
            let (status, recorded) = match control.kind {
                SnsControlKind::SubscriptionConfirmation => {
                    match ingest.verifier.confirm_subscription(&control.subscribe_url).await {
                        Ok(()) => {}
                        Err(ConfirmError::NotAllowed(r)) => return refuse(r),
                        Err(ConfirmError::Fetch(e)) => {
                            tracing::warn!(endpoint = %endpoint.endpoint.id, topic = control.topic_arn, error = %e,
                                "Could not confirm an SNS subscription; SNS will send the confirmation again.");
                            return error_response(
                                StatusCode::BAD_GATEWAY,
                                "confirmation_failed",
                                &format!("confirming the subscription failed: {e}"),
                            );
                        }
                    }
                    ("confirmed", SubscriptionStatus::Confirmed)
                }
                SnsControlKind::UnsubscribeConfirmation => ("unsubscribed", SubscriptionStatus::Unsubscribed),
            };
            if let Err(e) = state
                .store
                .record_subscription(
                    &endpoint.endpoint.id,
                    &control.topic_arn.replace('\0', "\u{FFFD}"),
                    recorded,
                )
                .await
            {
                return AppError::from(e).into_response();
            }
            tracing::info!(endpoint = %endpoint.endpoint.id, topic = control.topic_arn, status, "SNS subscription changed.");
            Json(Receipt::status(status)).into_response()
        }
        Incoming::Events { events, .. } if events.is_empty() => {
            Json(Receipt::status("ignored")).into_response()
        }
        Incoming::Events { events, dedup_id } => {
            let count = events.len();
            match ingest
                .batcher
                .submit(Submission {
                    endpoint: Arc::clone(&endpoint),
                    events: events.into_iter().map(Event::without_nul).collect(),
                    dedup_id: dedup_id.map(|id| id.replace('\0', "\u{FFFD}")),
                })
                .await
            {
                Ok(Outcome::Stored(done)) => {
                    metrics.events_stored(count as u64);
                    metrics.ingest_answered(started.elapsed());
                    let alerts = done
                        .iter()
                        .map(|d| AlertReceipt {
                            id: d.alert.id.clone(),
                            action: match d.action {
                                IngestAction::Created => "created",
                                IngestAction::Grouped => "grouped",
                                IngestAction::Resolved => "resolved",
                            },
                            kind: match d.alert.kind {
                                AlertKind::Alert => "alert",
                                AlertKind::Notification => "notification",
                            },
                        })
                        .collect();
                    Json(Receipt {
                        status: "stored",
                        alerts,
                    })
                    .into_response()
                }
                Ok(Outcome::Duplicate) => {
                    metrics.sns_duplicate();
                    Json(Receipt::status("duplicate")).into_response()
                }
                Err(e) => {
                    tracing::error!(endpoint = %endpoint.endpoint.id, error = %e, "Could not store ingested events.");
                    // Say why when the database says why (a full disk, a database down): whoever reads the
                    // sender's log at 3 a.m. learns where to look.
                    let message = match e.unavailable() {
                        Some(reason) => format!(
                            "the events could not be stored ({reason}); nothing was kept, retry later"
                        ),
                        None => "the events could not be stored; nothing was kept, retry later".to_owned(),
                    };
                    let mut resp = error_response(StatusCode::SERVICE_UNAVAILABLE, "unavailable", &message);
                    resp.headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                    resp
                }
            }
        }
    }
}

fn rejection_response(r: &Rejection) -> Response {
    let mut resp = error_response(r.status(), r.reason().as_str(), &r.to_string());
    if let Some(secs) = r.retry_after_secs()
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            code: code.to_owned(),
            message: message.to_owned(),
            field: None,
        },
    };
    (status, Json(body)).into_response()
}

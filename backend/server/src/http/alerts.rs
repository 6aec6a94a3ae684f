//! `/v1/alerts`: list and read alerts, raise one by hand, and acknowledge, close or pass one (the same
//! actions as the Slack buttons).

use axum::{
    Json,
    body::Bytes,
    extract::State,
    response::{IntoResponse, Response},
};
use klaxon_api::{ErrorBody, Page, validate};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    Account, AppError, AppJson, AppPath, AppQuery, AppResult, AppState, Created, extract::page_limit,
    optional_body,
};
use crate::{
    alerts::{
        self, Action, ActionInput, Alert, AlertError, AlertQuery, AlertStatus, CreateAlertInput,
        IngestAction, StoredAlert,
    },
    event::{Event, EventKind, EventStatus, Severity},
    store::{IngestEndpoint, StoreError},
};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read))
        .routes(routes!(ack))
        .routes(routes!(close))
        .routes(routes!(pass))
}

/// The API views of `alerts` (of `account`): `delivery` when Slack is on, and the maintenance hold of each
/// alert not closed.
pub(super) async fn views(state: &AppState, account: &str, alerts: &[&StoredAlert]) -> AppResult<Vec<Alert>> {
    let unclosed: Vec<&str> = alerts
        .iter()
        .filter(|a| a.status != AlertStatus::Closed)
        .map(|a| a.id.as_str())
        .collect();
    let holds = alerts::maintenance::holds_of(&state.store, account, &unclosed).await?;
    Ok(alerts
        .iter()
        .map(|a| a.to_api_with(state.slack.is_some(), holds.get(&a.id)))
        .collect())
}

/// The API view of one alert of `account` (see [`views`]).
pub(super) async fn view(state: &AppState, account: &str, alert: &StoredAlert) -> AppResult<Alert> {
    views(state, account, &[alert])
        .await?
        .pop()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no view of alert {}", alert.id)))
}

impl From<AlertError> for AppError {
    fn from(e: AlertError) -> Self {
        match e {
            AlertError::NotFound => Self::NotFound,
            AlertError::Conflict(message) => Self::Conflict { message, field: None },
            AlertError::Store(e) => e.into(),
            e => match e.unavailable() {
                Some(reason) => Self::database_unavailable(reason, &e),
                None => Self::Internal(e.into()),
            },
        }
    }
}

/// Raise an alert by hand: the event goes through the same grouping and escalation as an ingested one.
/// Answers 201 with a new alert, 200 with the alert it joined.
#[utoipa::path(post, path = "/v1/alerts", tag = "alerts", operation_id = "create_alert",
    request_body = CreateAlertInput,
    responses((status = 201, body = Alert, description = "A new alert."),
        (status = 200, body = Alert, description = "The open alert the event joined, or closed.")),
    security(("bearer" = [])))]
pub(super) async fn create(
    State(state): State<AppState>,
    Account(account): Account,
    AppJson(input): AppJson<CreateAlertInput>,
) -> AppResult<Response> {
    let mut errs = Vec::new();
    validate::id(&mut errs, "endpoint_id", &input.endpoint_id);
    validate::title(&mut errs, "title", &input.title);
    for (field, text) in [("group_key", &input.group_key), ("text", &input.text)] {
        if let Some(text) = text {
            validate::no_nul(&mut errs, field, text);
        }
    }
    AppError::first_invalid(errs)?;
    let title = input.title.trim();
    let endpoint = match state.store.get_endpoint(&account, &input.endpoint_id).await {
        Ok(e) => e,
        Err(StoreError::NotFound) => {
            return Err(AppError::MissingReference {
                message: format!("no endpoint {:?} in this account", input.endpoint_id),
                field: "endpoint_id".to_owned(),
            });
        }
        Err(e) => return Err(e.into()),
    };
    let event = Event {
        title: title.to_owned(),
        text: input.text.unwrap_or_default(),
        severity: input.severity.unwrap_or(Severity::Error),
        source: "api".to_owned(),
        account: None,
        region: None,
        resource: None,
        link: None,
        group_key: input.group_key.unwrap_or_else(|| title.to_owned()),
        status: EventStatus::Firing,
        kind: EventKind::Alert,
        fields: Default::default(),
    };
    let endpoint = IngestEndpoint {
        account_id: account,
        endpoint,
    };
    let now = state.queue.now_ms();
    let done = alerts::ingest(&state.store, &state.queue, &endpoint, &event, now).await?;
    let alert = view(&state, &endpoint.account_id, &done.alert).await?;
    Ok(match done.action {
        IngestAction::Created => Created::at(format!("/v1/alerts/{}", alert.id), alert).into_response(),
        IngestAction::Grouped | IngestAction::Resolved => Json(alert).into_response(),
    })
}

/// List alerts and notifications, oldest first, optionally in one status.
#[utoipa::path(get, path = "/v1/alerts", tag = "alerts", operation_id = "list_alerts", params(AlertQuery),
    responses((status = 200, body = Page<Alert>)), security(("bearer" = [])))]
pub(super) async fn list(
    State(state): State<AppState>,
    Account(account): Account,
    AppQuery(q): AppQuery<AlertQuery>,
) -> AppResult<Json<Page<Alert>>> {
    let limit = page_limit(q.limit, q.cursor.as_deref())?;
    let page = alerts::list(&state.store, &account, q.status, q.cursor.as_deref(), limit).await?;
    let items: Vec<&StoredAlert> = page.items.iter().collect();
    Ok(Json(Page {
        items: views(&state, &account, &items).await?,
        next_cursor: page.next_cursor,
    }))
}

/// Read an alert.
#[utoipa::path(get, path = "/v1/alerts/{id}", tag = "alerts", operation_id = "get_alert",
    params(("id" = String, Path)), responses((status = 200, body = Alert)), security(("bearer" = [])))]
pub(super) async fn read(
    State(state): State<AppState>,
    Account(account): Account,
    AppPath(id): AppPath<String>,
) -> AppResult<Json<Alert>> {
    let alert = alerts::get(&state.store, &account, &id).await?;
    Ok(Json(view(&state, &account, &alert).await?))
}

/// Acknowledge an alert: escalation stops. Acknowledging twice is one acknowledgement; a notification
/// cannot be acknowledged (409).
#[utoipa::path(post, path = "/v1/alerts/{id}/ack", tag = "alerts", operation_id = "ack_alert",
    params(("id" = String, Path)),
    request_body(content = Option<ActionInput>, description = "Optional: who acknowledges"),
    responses((status = 200, body = Alert),
        (status = 409, body = ErrorBody, description = "A notification cannot be acknowledged.")),
    security(("bearer" = [])))]
pub(super) async fn ack(
    state: State<AppState>,
    account: Account,
    id: AppPath<String>,
    body: Bytes,
) -> AppResult<Json<Alert>> {
    apply(state, account, id, body, Action::Ack).await
}

/// Close an alert: escalation stops. Closing a closed alert changes nothing.
#[utoipa::path(post, path = "/v1/alerts/{id}/close", tag = "alerts", operation_id = "close_alert",
    params(("id" = String, Path)),
    request_body(content = Option<ActionInput>, description = "Optional: who closes"),
    responses((status = 200, body = Alert)), security(("bearer" = [])))]
pub(super) async fn close(
    state: State<AppState>,
    account: Account,
    id: AppPath<String>,
    body: Bytes,
) -> AppResult<Json<Alert>> {
    apply(state, account, id, body, Action::Close).await
}

/// Pass an open alert to its next escalation step at once. On an acknowledged or closed alert, or once the
/// chain has ended, it changes nothing.
#[utoipa::path(post, path = "/v1/alerts/{id}/pass", tag = "alerts", operation_id = "pass_alert",
    params(("id" = String, Path)),
    request_body(content = Option<ActionInput>, description = "Optional: who passes"),
    responses((status = 200, body = Alert)), security(("bearer" = [])))]
pub(super) async fn pass(
    state: State<AppState>,
    account: Account,
    id: AppPath<String>,
    body: Bytes,
) -> AppResult<Json<Alert>> {
    apply(state, account, id, body, Action::Pass).await
}

async fn apply(
    State(state): State<AppState>,
    Account(account): Account,
    AppPath(id): AppPath<String>,
    body: Bytes,
    action: Action,
) -> AppResult<Json<Alert>> {
    // The body is optional: an empty one (what a bare `curl -X POST` sends) or `null` means nobody in
    // particular.
    let input: ActionInput = optional_body(&body)?;
    if let Some(by) = &input.by
        && !validate::is_user_id(by)
    {
        return Err(AppError::field("by", validate::user_id_message(by)));
    }
    let now = state.queue.now_ms();
    let done = alerts::act(
        &state.store,
        &state.queue,
        &account,
        &id,
        action,
        input.by.as_deref(),
        now,
    )
    .await?;
    if done.changed {
        tracing::info!(alert = %id, action = action.as_str(), by = input.by.as_deref().unwrap_or("-"), "Alert action applied.");
    }
    Ok(Json(view(&state, &account, &done.alert).await?))
}

//! `/v1/heartbeats` (answers carry the ping URL, built from `KLAXON_PUBLIC_URL`) and the ping itself,
//! `GET`/`POST /heartbeat/{token}`: unauthenticated, the token is the credential (logged as `/heartbeat/***`).

use axum::{Json, extract::State, http::StatusCode};
use klaxon_api::{Beat, ErrorBody, Heartbeat, HeartbeatInput, HeartbeatQuery, Page, validate};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    Account, AppError, AppJson, AppPath, AppQuery, AppResult, AppState, Created, extract::page_limit,
};
use crate::alerts;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, update, delete))
        .routes(routes!(ping_get, ping_post))
}

/// Create a heartbeat; its clock starts now, and the answer carries its ping URL.
#[utoipa::path(post, path = "/v1/heartbeats", tag = "heartbeats", operation_id = "create_heartbeat",
    request_body = HeartbeatInput,
    responses((status = 201, body = Heartbeat),
        (status = 422, body = ErrorBody, description = "The team or the policy does not exist in the account."),
        (status = 409, body = ErrorBody, description = "The team has a heartbeat with this name, or the \
            policy belongs to another team.")),
    security(("bearer" = [])))]
pub(super) async fn create(
    State(state): State<AppState>,
    Account(account): Account,
    AppJson(input): AppJson<HeartbeatInput>,
) -> AppResult<Created<Heartbeat>> {
    AppError::first_invalid(validate::heartbeat(&input))?;
    let stored = state.store.create_heartbeat(&account, &input).await?;
    let heartbeat = stored.to_api(&state.public_url);
    Ok(Created::at(format!("/v1/heartbeats/{}", heartbeat.id), heartbeat))
}

/// Read a heartbeat.
#[utoipa::path(get, path = "/v1/heartbeats/{id}", tag = "heartbeats", operation_id = "get_heartbeat",
    params(("id" = String, Path)), responses((status = 200, body = Heartbeat)), security(("bearer" = [])))]
pub(super) async fn read(
    State(state): State<AppState>,
    Account(account): Account,
    AppPath(id): AppPath<String>,
) -> AppResult<Json<Heartbeat>> {
    Ok(Json(
        state
            .store
            .get_heartbeat(&account, &id)
            .await?
            .to_api(&state.public_url),
    ))
}

/// List heartbeats, optionally of one team and with one name.
#[utoipa::path(get, path = "/v1/heartbeats", tag = "heartbeats", operation_id = "list_heartbeats",
    params(HeartbeatQuery), responses((status = 200, body = Page<Heartbeat>)), security(("bearer" = [])))]
pub(super) async fn list(
    State(state): State<AppState>,
    Account(account): Account,
    AppQuery(q): AppQuery<HeartbeatQuery>,
) -> AppResult<Json<Page<Heartbeat>>> {
    let limit = page_limit(q.limit, q.cursor.as_deref())?;
    let page = state
        .store
        .list_heartbeats(
            &account,
            q.team_id.as_deref(),
            q.name.as_deref(),
            q.cursor.as_deref(),
            limit,
        )
        .await?;
    let items = page.items.iter().map(|h| h.to_api(&state.public_url)).collect();
    Ok(Json(Page {
        items,
        next_cursor: page.next_cursor,
    }))
}

/// Replace a heartbeat (its team and ping token stay); pausing one closes its open missed-alert (the thread
/// says why), resuming a paused one restarts its clock.
#[utoipa::path(put, path = "/v1/heartbeats/{id}", tag = "heartbeats", operation_id = "update_heartbeat",
    params(("id" = String, Path)), request_body = HeartbeatInput,
    responses((status = 200, body = Heartbeat),
        (status = 404, body = ErrorBody, description = "No such heartbeat."),
        (status = 422, body = ErrorBody, description = "The policy does not exist in the account."),
        (status = 409, body = ErrorBody, description = "Another heartbeat of the team has this name, the \
            policy belongs to another team, or the body names another team (a heartbeat cannot move).")),
    security(("bearer" = [])))]
pub(super) async fn update(
    State(state): State<AppState>,
    Account(account): Account,
    AppPath(id): AppPath<String>,
    AppJson(input): AppJson<HeartbeatInput>,
) -> AppResult<Json<Heartbeat>> {
    AppError::first_invalid(validate::heartbeat(&input))?;
    let mut updated = state.store.update_heartbeat(&account, &id, &input).await?;
    // A paused heartbeat has no miss (pausing takes it back), so this finds nothing to do once it is paused.
    if updated.missed && updated.paused && stand_down(&state, &account, &id, false).await? {
        // As it is now: the miss was taken back.
        updated = state.store.get_heartbeat(&account, &id).await?;
    }
    Ok(Json(updated.to_api(&state.public_url)))
}

/// A heartbeat paused or about to be deleted takes its miss back and closes its open missed-alert, saying
/// why; true when there was a miss to take back.
async fn stand_down(state: &AppState, account: &str, id: &str, deleted: bool) -> AppResult<bool> {
    let now = state.queue.now_ms();
    let done = alerts::heartbeat::stand_down(&state.store, &state.queue, account, id, deleted, now).await?;
    if let Some(Some(alert)) = &done {
        tracing::info!(heartbeat = %id, alert = %alert, deleted, "Heartbeat stood down: its missed-alert was closed.");
    }
    Ok(done.is_some())
}

/// Delete a heartbeat: its clock stops, its ping URL stops working, and its open missed-alert is closed (the
/// thread says the heartbeat was deleted).
#[utoipa::path(delete, path = "/v1/heartbeats/{id}", tag = "heartbeats", operation_id = "delete_heartbeat",
    params(("id" = String, Path)), responses((status = 204, description = "Deleted.")),
    security(("bearer" = [])))]
pub(super) async fn delete(
    State(state): State<AppState>,
    Account(account): Account,
    AppPath(id): AppPath<String>,
) -> AppResult<StatusCode> {
    // Before the delete: the heartbeat's row says which alert its miss opened.
    stand_down(&state, &account, &id, true).await?;
    state.store.delete_heartbeat(&account, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ping a heartbeat (for callers that can only `GET` a URL). The URL is the credential.
#[utoipa::path(get, path = "/heartbeat/{token}", tag = "heartbeats", operation_id = "ping_heartbeat_get",
    params(("token" = String, Path, description = "The heartbeat's secret token (from its `ping_url`).")),
    responses((status = 200, body = Beat, description = "Recorded."),
        (status = 404, body = ErrorBody, description = "No heartbeat has this token."),
        (status = 503, body = ErrorBody, description = "Not recorded: retry.")))]
pub(super) async fn ping_get(state: State<AppState>, token: AppPath<String>) -> AppResult<Json<Beat>> {
    ping(state, token).await
}

/// Ping a heartbeat; the body, if any, is ignored. The URL is the credential.
#[utoipa::path(post, path = "/heartbeat/{token}", tag = "heartbeats", operation_id = "ping_heartbeat",
    params(("token" = String, Path, description = "The heartbeat's secret token (from its `ping_url`).")),
    responses((status = 200, body = Beat, description = "Recorded."),
        (status = 404, body = ErrorBody, description = "No heartbeat has this token."),
        (status = 503, body = ErrorBody, description = "Not recorded: retry.")))]
pub(super) async fn ping_post(state: State<AppState>, token: AppPath<String>) -> AppResult<Json<Beat>> {
    ping(state, token).await
}

/// One indexed write of the last beat (shared with the pings arriving meanwhile); only the first ping after a
/// miss does more (closes the alert).
async fn ping(State(state): State<AppState>, AppPath(token): AppPath<String>) -> AppResult<Json<Beat>> {
    let now = state.queue.now_ms();
    let Some(beaten) = state.pings.beat(&state.store, &token, now).await? else {
        return Err(AppError::NotFound);
    };
    let mut recovered = false;
    if beaten.missed {
        let closed = alerts::heartbeat::recovered(&state.store, &state.queue, &beaten, now).await?;
        if let Some(closed) = closed {
            tracing::info!(heartbeat = %beaten.id, alert = %closed.alert.id, "Heartbeat is back: its alert was closed.");
            recovered = true;
        }
    }
    Ok(Json(Beat { ok: true, recovered }))
}

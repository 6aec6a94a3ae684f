//! `/v1/maintenance-windows`: times when a team's (or some endpoints') new alerts are posted without paging
//! anyone, and escalate from their first step when the window ends (see `alerts::maintenance`).

use axum::{Json, extract::State, http::StatusCode};
use klaxon_api::{
    ErrorBody, MaintenanceWindow, MaintenanceWindowInput, MaintenanceWindowQuery, Page, maintenance,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    Account, AppError, AppJson, AppPath, AppQuery, AppResult, AppState, Created, extract::page_limit,
};
use crate::{alerts, store::StoreError};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, update, delete))
}

/// Create a maintenance window: one-off (`starts_at`, `ends_at`) or recurring (`recurrence`), for a team
/// or for endpoints. Alerts that open while it is in effect are posted marked "in maintenance" without
/// paging anyone, and escalate from their first step when it ends if still open; alerts open before it
/// started keep escalating.
#[utoipa::path(post, path = "/v1/maintenance-windows", tag = "maintenance-windows",
    operation_id = "create_maintenance_window", request_body = MaintenanceWindowInput,
    responses((status = 201, body = MaintenanceWindow),
        (status = 409, body = ErrorBody, description = "The team was deleted meanwhile.")),
    security(("bearer" = [])))]
pub(super) async fn create(
    State(state): State<AppState>,
    Account(account): Account,
    AppJson(input): AppJson<MaintenanceWindowInput>,
) -> AppResult<Created<MaintenanceWindow>> {
    AppError::first_invalid(maintenance::validate(&input))?;
    let now = state.queue.now_ms();
    let window = state.store.create_window(&account, &input, now).await?.to_api();
    Ok(Created::at(
        format!("/v1/maintenance-windows/{}", window.id),
        window,
    ))
}

/// Read a maintenance window.
#[utoipa::path(get, path = "/v1/maintenance-windows/{id}", tag = "maintenance-windows",
    operation_id = "get_maintenance_window", params(("id" = String, Path)),
    responses((status = 200, body = MaintenanceWindow)), security(("bearer" = [])))]
pub(super) async fn read(
    State(state): State<AppState>,
    Account(account): Account,
    AppPath(id): AppPath<String>,
) -> AppResult<Json<MaintenanceWindow>> {
    Ok(Json(state.store.get_window(&account, &id).await?.to_api()))
}

/// List maintenance windows, optionally of one team.
#[utoipa::path(get, path = "/v1/maintenance-windows", tag = "maintenance-windows",
    operation_id = "list_maintenance_windows", params(MaintenanceWindowQuery),
    responses((status = 200, body = Page<MaintenanceWindow>)), security(("bearer" = [])))]
pub(super) async fn list(
    State(state): State<AppState>,
    Account(account): Account,
    AppQuery(q): AppQuery<MaintenanceWindowQuery>,
) -> AppResult<Json<Page<MaintenanceWindow>>> {
    let limit = page_limit(q.limit, q.cursor.as_deref())?;
    let page = state
        .store
        .list_windows(&account, q.team_id.as_deref(), q.cursor.as_deref(), limit)
        .await?;
    Ok(Json(Page {
        items: page.items.iter().map(|w| w.to_api()).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Replace a maintenance window. The alerts it holds are re-examined at once: while the window (as
/// changed) is in effect and covers them they stay held until its new end, otherwise they are released now
/// and escalate from their first step if still open.
#[utoipa::path(put, path = "/v1/maintenance-windows/{id}", tag = "maintenance-windows",
    operation_id = "update_maintenance_window", params(("id" = String, Path)),
    request_body = MaintenanceWindowInput,
    responses((status = 200, body = MaintenanceWindow),
        (status = 409, body = ErrorBody, description = "The team was deleted meanwhile.")),
    security(("bearer" = [])))]
pub(super) async fn update(
    State(state): State<AppState>,
    Account(account): Account,
    AppPath(id): AppPath<String>,
    AppJson(input): AppJson<MaintenanceWindowInput>,
) -> AppResult<Json<MaintenanceWindow>> {
    AppError::first_invalid(maintenance::validate(&input))?;
    // The window first: a window that is not there is a 404 whatever the body names.
    state.store.get_window(&account, &id).await?;
    state.store.check_window_refs(&account, &input).await?;
    let now = state.queue.now_ms();
    let mut tx = state
        .store
        .database()
        .begin_write()
        .await
        .map_err(StoreError::from)?;
    let window = state
        .store
        .update_window_in(&mut tx, &account, &id, &input, now)
        .await?;
    alerts::maintenance::window_changed_in(&mut tx, &state.store, &state.queue, &id, now).await?;
    tx.commit().await.map_err(StoreError::from)?;
    state.queue.notify();
    Ok(Json(window.to_api()))
}

/// Delete a maintenance window. The alerts it holds are released at once: those still open escalate from
/// their first step.
#[utoipa::path(delete, path = "/v1/maintenance-windows/{id}", tag = "maintenance-windows",
    operation_id = "delete_maintenance_window", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted.")), security(("bearer" = [])))]
pub(super) async fn delete(
    State(state): State<AppState>,
    Account(account): Account,
    AppPath(id): AppPath<String>,
) -> AppResult<StatusCode> {
    let now = state.queue.now_ms();
    let mut tx = state
        .store
        .database()
        .begin_write()
        .await
        .map_err(StoreError::from)?;
    state.store.delete_window_in(&mut tx, &account, &id).await?;
    alerts::maintenance::window_changed_in(&mut tx, &state.store, &state.queue, &id, now).await?;
    tx.commit().await.map_err(StoreError::from)?;
    state.queue.notify();
    Ok(StatusCode::NO_CONTENT)
}

//! `/v1/endpoints`. Answers carry the ingest URLs, built from `KLAXON_PUBLIC_URL`.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::get,
};
use klaxon_api::{Endpoint, EndpointInput, EndpointQuery, ErrorBody, Page, validate};

use super::{Account, AppError, AppJson, AppQuery, AppResult, AppState, extract::page_limit};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/endpoints", get(list).post(create))
        .route("/v1/endpoints/{id}", get(read).put(update).delete(delete))
}

/// Create an endpoint; the answer carries its ingest URLs.
#[utoipa::path(post, path = "/v1/endpoints", tag = "endpoints", request_body = EndpointInput,
    responses((status = 201, body = Endpoint), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(super) async fn create(
    State(state): State<AppState>,
    Account(account): Account,
    AppJson(input): AppJson<EndpointInput>,
) -> AppResult<(StatusCode, Json<Endpoint>)> {
    AppError::first_invalid(validate::endpoint(&input))?;
    let stored = state.store.create_endpoint(&account, &input).await?;
    Ok((StatusCode::CREATED, Json(stored.to_api(&state.public_url))))
}

/// Read an endpoint.
#[utoipa::path(get, path = "/v1/endpoints/{id}", tag = "endpoints", params(("id" = String, Path)),
    responses((status = 200, body = Endpoint), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub(super) async fn read(
    State(state): State<AppState>,
    Account(account): Account,
    Path(id): Path<String>,
) -> AppResult<Json<Endpoint>> {
    Ok(Json(
        state
            .store
            .get_endpoint(&account, &id)
            .await?
            .to_api(&state.public_url),
    ))
}

/// List endpoints, optionally of one team and with one name.
#[utoipa::path(get, path = "/v1/endpoints", tag = "endpoints", params(EndpointQuery),
    responses((status = 200, body = Page<Endpoint>), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub(super) async fn list(
    State(state): State<AppState>,
    Account(account): Account,
    AppQuery(q): AppQuery<EndpointQuery>,
) -> AppResult<Json<Page<Endpoint>>> {
    let limit = page_limit(q.limit)?;
    let page = state
        .store
        .list_endpoints(
            &account,
            q.team_id.as_deref(),
            q.name.as_deref(),
            q.cursor.as_deref(),
            limit,
        )
        .await?;
    let items = page.items.iter().map(|e| e.to_api(&state.public_url)).collect();
    Ok(Json(Page {
        items,
        next_cursor: page.next_cursor,
    }))
}

/// Replace an endpoint (its team and ingest token stay).
#[utoipa::path(put, path = "/v1/endpoints/{id}", tag = "endpoints", params(("id" = String, Path)),
    request_body = EndpointInput,
    responses((status = 200, body = Endpoint), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(super) async fn update(
    State(state): State<AppState>,
    Account(account): Account,
    Path(id): Path<String>,
    AppJson(input): AppJson<EndpointInput>,
) -> AppResult<Json<Endpoint>> {
    AppError::first_invalid(validate::endpoint(&input))?;
    Ok(Json(
        state
            .store
            .update_endpoint(&account, &id, &input)
            .await?
            .to_api(&state.public_url),
    ))
}

/// Delete an endpoint.
#[utoipa::path(delete, path = "/v1/endpoints/{id}", tag = "endpoints", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub(super) async fn delete(
    State(state): State<AppState>,
    Account(account): Account,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    state.store.delete_endpoint(&account, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

//! `/v1/endpoints`. Answers carry the ingest URLs, built from `KLAXON_PUBLIC_URL`.

use axum::{Json, extract::State, http::StatusCode};
use klaxon_api::{Endpoint, EndpointInput, EndpointQuery, ErrorBody, Page, validate};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    Account, AppError, AppJson, AppPath, AppQuery, AppResult, AppState, Created, extract::page_limit,
};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, update, delete))
}

/// Create an endpoint; the answer carries its ingest URLs.
#[utoipa::path(post, path = "/v1/endpoints", tag = "endpoints", operation_id = "create_endpoint",
    request_body = EndpointInput,
    responses((status = 201, body = Endpoint),
        (status = 409, body = ErrorBody, description = "The team has an endpoint with this name, or the \
            policy belongs to another team.")),
    security(("bearer" = [])))]
pub(super) async fn create(
    State(state): State<AppState>,
    Account(account): Account,
    AppJson(input): AppJson<EndpointInput>,
) -> AppResult<Created<Endpoint>> {
    AppError::first_invalid(validate::endpoint(&input))?;
    let stored = state.store.create_endpoint(&account, &input).await?;
    let endpoint = stored.to_api(&state.public_url);
    Ok(Created::at(format!("/v1/endpoints/{}", endpoint.id), endpoint))
}

/// Read an endpoint.
#[utoipa::path(get, path = "/v1/endpoints/{id}", tag = "endpoints", operation_id = "get_endpoint",
    params(("id" = String, Path)), responses((status = 200, body = Endpoint)), security(("bearer" = [])))]
pub(super) async fn read(
    State(state): State<AppState>,
    Account(account): Account,
    AppPath(id): AppPath<String>,
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
#[utoipa::path(get, path = "/v1/endpoints", tag = "endpoints", operation_id = "list_endpoints",
    params(EndpointQuery), responses((status = 200, body = Page<Endpoint>)), security(("bearer" = [])))]
pub(super) async fn list(
    State(state): State<AppState>,
    Account(account): Account,
    AppQuery(q): AppQuery<EndpointQuery>,
) -> AppResult<Json<Page<Endpoint>>> {
    let limit = page_limit(q.limit, q.cursor.as_deref())?;
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
#[utoipa::path(put, path = "/v1/endpoints/{id}", tag = "endpoints", operation_id = "update_endpoint",
    params(("id" = String, Path)), request_body = EndpointInput,
    responses((status = 200, body = Endpoint),
        (status = 409, body = ErrorBody, description = "Another endpoint of the team has this name, the \
            policy belongs to another team, or the body names another team (an endpoint cannot move).")),
    security(("bearer" = [])))]
pub(super) async fn update(
    State(state): State<AppState>,
    Account(account): Account,
    AppPath(id): AppPath<String>,
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

/// Delete an endpoint, and with it its ingest URL.
#[utoipa::path(delete, path = "/v1/endpoints/{id}", tag = "endpoints", operation_id = "delete_endpoint",
    params(("id" = String, Path)), responses((status = 204, description = "Deleted.")),
    security(("bearer" = [])))]
pub(super) async fn delete(
    State(state): State<AppState>,
    Account(account): Account,
    AppPath(id): AppPath<String>,
) -> AppResult<StatusCode> {
    state.store.delete_endpoint(&account, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

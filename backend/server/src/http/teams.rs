//! `/v1/teams`.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::get,
};
use klaxon_api::{ErrorBody, Page, Team, TeamInput, TeamQuery, validate};

use super::{Account, AppError, AppJson, AppQuery, AppResult, AppState, extract::page_limit};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/teams", get(list).post(create))
        .route("/v1/teams/{id}", get(read).put(update).delete(delete))
}

/// Create a team.
#[utoipa::path(post, path = "/v1/teams", tag = "teams", request_body = TeamInput,
    responses((status = 201, body = Team), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(super) async fn create(
    State(state): State<AppState>,
    Account(account): Account,
    AppJson(input): AppJson<TeamInput>,
) -> AppResult<(StatusCode, Json<Team>)> {
    AppError::first_invalid(validate::team(&input))?;
    Ok((
        StatusCode::CREATED,
        Json(state.store.create_team(&account, &input).await?),
    ))
}

/// Read a team.
#[utoipa::path(get, path = "/v1/teams/{id}", tag = "teams", params(("id" = String, Path)),
    responses((status = 200, body = Team), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub(super) async fn read(
    State(state): State<AppState>,
    Account(account): Account,
    Path(id): Path<String>,
) -> AppResult<Json<Team>> {
    Ok(Json(state.store.get_team(&account, &id).await?))
}

/// List teams, optionally the one with a name.
#[utoipa::path(get, path = "/v1/teams", tag = "teams", params(TeamQuery),
    responses((status = 200, body = Page<Team>), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub(super) async fn list(
    State(state): State<AppState>,
    Account(account): Account,
    AppQuery(q): AppQuery<TeamQuery>,
) -> AppResult<Json<Page<Team>>> {
    let limit = page_limit(q.limit)?;
    Ok(Json(
        state
            .store
            .list_teams(&account, q.name.as_deref(), q.cursor.as_deref(), limit)
            .await?,
    ))
}

/// Replace a team.
#[utoipa::path(put, path = "/v1/teams/{id}", tag = "teams", params(("id" = String, Path)), request_body = TeamInput,
    responses((status = 200, body = Team), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(super) async fn update(
    State(state): State<AppState>,
    Account(account): Account,
    Path(id): Path<String>,
    AppJson(input): AppJson<TeamInput>,
) -> AppResult<Json<Team>> {
    AppError::first_invalid(validate::team(&input))?;
    Ok(Json(state.store.update_team(&account, &id, &input).await?))
}

/// Delete a team (refused while policies or endpoints refer to it).
#[utoipa::path(delete, path = "/v1/teams/{id}", tag = "teams", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(super) async fn delete(
    State(state): State<AppState>,
    Account(account): Account,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    state.store.delete_team(&account, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

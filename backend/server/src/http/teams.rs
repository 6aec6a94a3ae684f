//! `/v1/teams`.

use axum::{Json, extract::State, http::StatusCode};
use klaxon_api::{ErrorBody, Page, Team, TeamInput, TeamQuery, validate};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    Account, AppError, AppJson, AppPath, AppQuery, AppResult, AppState, Created, extract::page_limit,
};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, update, delete))
}

/// Create a team.
#[utoipa::path(post, path = "/v1/teams", tag = "teams", operation_id = "create_team", request_body = TeamInput,
    responses((status = 201, body = Team),
        (status = 409, body = ErrorBody, description = "A team with this name exists.")),
    security(("bearer" = [])))]
pub(super) async fn create(
    State(state): State<AppState>,
    Account(account): Account,
    AppJson(input): AppJson<TeamInput>,
) -> AppResult<Created<Team>> {
    AppError::first_invalid(validate::team(&input))?;
    let team = state.store.create_team(&account, &input).await?;
    Ok(Created::at(format!("/v1/teams/{}", team.id), team))
}

/// Read a team.
#[utoipa::path(get, path = "/v1/teams/{id}", tag = "teams", operation_id = "get_team",
    params(("id" = String, Path)), responses((status = 200, body = Team)), security(("bearer" = [])))]
pub(super) async fn read(
    State(state): State<AppState>,
    Account(account): Account,
    AppPath(id): AppPath<String>,
) -> AppResult<Json<Team>> {
    Ok(Json(state.store.get_team(&account, &id).await?))
}

/// List teams, optionally the one with a name.
#[utoipa::path(get, path = "/v1/teams", tag = "teams", operation_id = "list_teams", params(TeamQuery),
    responses((status = 200, body = Page<Team>)), security(("bearer" = [])))]
pub(super) async fn list(
    State(state): State<AppState>,
    Account(account): Account,
    AppQuery(q): AppQuery<TeamQuery>,
) -> AppResult<Json<Page<Team>>> {
    let limit = page_limit(q.limit, q.cursor.as_deref())?;
    Ok(Json(
        state
            .store
            .list_teams(&account, q.name.as_deref(), q.cursor.as_deref(), limit)
            .await?,
    ))
}

/// Replace a team.
#[utoipa::path(put, path = "/v1/teams/{id}", tag = "teams", operation_id = "update_team",
    params(("id" = String, Path)), request_body = TeamInput,
    responses((status = 200, body = Team),
        (status = 409, body = ErrorBody, description = "Another team has this name.")),
    security(("bearer" = [])))]
pub(super) async fn update(
    State(state): State<AppState>,
    Account(account): Account,
    AppPath(id): AppPath<String>,
    AppJson(input): AppJson<TeamInput>,
) -> AppResult<Json<Team>> {
    AppError::first_invalid(validate::team(&input))?;
    Ok(Json(state.store.update_team(&account, &id, &input).await?))
}

/// Delete a team (refused while policies or endpoints refer to it).
#[utoipa::path(delete, path = "/v1/teams/{id}", tag = "teams", operation_id = "delete_team",
    params(("id" = String, Path)),
    responses((status = 204, description = "Deleted."),
        (status = 409, body = ErrorBody, description = "Policies or endpoints still refer to the team.")),
    security(("bearer" = [])))]
pub(super) async fn delete(
    State(state): State<AppState>,
    Account(account): Account,
    AppPath(id): AppPath<String>,
) -> AppResult<StatusCode> {
    state.store.delete_team(&account, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

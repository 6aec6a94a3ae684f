//! `/v1/escalation-policies`.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::get,
};
use klaxon_api::{ErrorBody, EscalationPolicy, EscalationPolicyInput, Page, PolicyQuery, validate};

use super::{Account, AppError, AppJson, AppQuery, AppResult, AppState, extract::page_limit};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/escalation-policies", get(list).post(create))
        .route(
            "/v1/escalation-policies/{id}",
            get(read).put(update).delete(delete),
        )
}

/// Create an escalation policy.
#[utoipa::path(post, path = "/v1/escalation-policies", tag = "escalation-policies",
    request_body = EscalationPolicyInput,
    responses((status = 201, body = EscalationPolicy), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(super) async fn create(
    State(state): State<AppState>,
    Account(account): Account,
    AppJson(input): AppJson<EscalationPolicyInput>,
) -> AppResult<(StatusCode, Json<EscalationPolicy>)> {
    AppError::first_invalid(validate::policy(&input))?;
    Ok((
        StatusCode::CREATED,
        Json(state.store.create_policy(&account, &input).await?),
    ))
}

/// Read an escalation policy.
#[utoipa::path(get, path = "/v1/escalation-policies/{id}", tag = "escalation-policies",
    params(("id" = String, Path)),
    responses((status = 200, body = EscalationPolicy), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(super) async fn read(
    State(state): State<AppState>,
    Account(account): Account,
    Path(id): Path<String>,
) -> AppResult<Json<EscalationPolicy>> {
    Ok(Json(state.store.get_policy(&account, &id).await?))
}

/// List escalation policies, optionally of one team and with one name.
#[utoipa::path(get, path = "/v1/escalation-policies", tag = "escalation-policies", params(PolicyQuery),
    responses((status = 200, body = Page<EscalationPolicy>), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub(super) async fn list(
    State(state): State<AppState>,
    Account(account): Account,
    AppQuery(q): AppQuery<PolicyQuery>,
) -> AppResult<Json<Page<EscalationPolicy>>> {
    let limit = page_limit(q.limit)?;
    let page = state
        .store
        .list_policies(
            &account,
            q.team_id.as_deref(),
            q.name.as_deref(),
            q.cursor.as_deref(),
            limit,
        )
        .await?;
    Ok(Json(page))
}

/// Replace an escalation policy (its team cannot change).
#[utoipa::path(put, path = "/v1/escalation-policies/{id}", tag = "escalation-policies",
    params(("id" = String, Path)), request_body = EscalationPolicyInput,
    responses((status = 200, body = EscalationPolicy), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(super) async fn update(
    State(state): State<AppState>,
    Account(account): Account,
    Path(id): Path<String>,
    AppJson(input): AppJson<EscalationPolicyInput>,
) -> AppResult<Json<EscalationPolicy>> {
    AppError::first_invalid(validate::policy(&input))?;
    Ok(Json(state.store.update_policy(&account, &id, &input).await?))
}

/// Delete an escalation policy (refused while endpoints use it).
#[utoipa::path(delete, path = "/v1/escalation-policies/{id}", tag = "escalation-policies",
    params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(super) async fn delete(
    State(state): State<AppState>,
    Account(account): Account,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    state.store.delete_policy(&account, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

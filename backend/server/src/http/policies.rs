//! `/v1/escalation-policies`.

use axum::{Json, extract::State, http::StatusCode};
use klaxon_api::{ErrorBody, EscalationPolicy, EscalationPolicyInput, Page, PolicyQuery, validate};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    Account, AppError, AppJson, AppPath, AppQuery, AppResult, AppState, Created, extract::page_limit,
};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, update, delete))
}

/// Create an escalation policy.
#[utoipa::path(post, path = "/v1/escalation-policies", tag = "escalation-policies",
    operation_id = "create_escalation_policy", request_body = EscalationPolicyInput,
    responses((status = 201, body = EscalationPolicy),
        (status = 409, body = ErrorBody, description = "The team has a policy with this name.")),
    security(("bearer" = [])))]
pub(super) async fn create(
    State(state): State<AppState>,
    Account(account): Account,
    AppJson(input): AppJson<EscalationPolicyInput>,
) -> AppResult<Created<EscalationPolicy>> {
    AppError::first_invalid(validate::policy(&input))?;
    let policy = state.store.create_policy(&account, &input).await?;
    Ok(Created::at(
        format!("/v1/escalation-policies/{}", policy.id),
        policy,
    ))
}

/// Read an escalation policy.
#[utoipa::path(get, path = "/v1/escalation-policies/{id}", tag = "escalation-policies",
    operation_id = "get_escalation_policy", params(("id" = String, Path)),
    responses((status = 200, body = EscalationPolicy)), security(("bearer" = [])))]
pub(super) async fn read(
    State(state): State<AppState>,
    Account(account): Account,
    AppPath(id): AppPath<String>,
) -> AppResult<Json<EscalationPolicy>> {
    Ok(Json(state.store.get_policy(&account, &id).await?))
}

/// List escalation policies, optionally of one team and with one name.
#[utoipa::path(get, path = "/v1/escalation-policies", tag = "escalation-policies",
    operation_id = "list_escalation_policies", params(PolicyQuery),
    responses((status = 200, body = Page<EscalationPolicy>)), security(("bearer" = [])))]
pub(super) async fn list(
    State(state): State<AppState>,
    Account(account): Account,
    AppQuery(q): AppQuery<PolicyQuery>,
) -> AppResult<Json<Page<EscalationPolicy>>> {
    let limit = page_limit(q.limit, q.cursor.as_deref())?;
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
    operation_id = "update_escalation_policy", params(("id" = String, Path)), request_body = EscalationPolicyInput,
    responses((status = 200, body = EscalationPolicy),
        (status = 409, body = ErrorBody, description = "Another policy of the team has this name, or the body \
            names another team (a policy cannot move).")),
    security(("bearer" = [])))]
pub(super) async fn update(
    State(state): State<AppState>,
    Account(account): Account,
    AppPath(id): AppPath<String>,
    AppJson(input): AppJson<EscalationPolicyInput>,
) -> AppResult<Json<EscalationPolicy>> {
    AppError::first_invalid(validate::policy(&input))?;
    Ok(Json(state.store.update_policy(&account, &id, &input).await?))
}

/// Delete an escalation policy (refused while endpoints use it).
#[utoipa::path(delete, path = "/v1/escalation-policies/{id}", tag = "escalation-policies",
    operation_id = "delete_escalation_policy", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted."),
        (status = 409, body = ErrorBody, description = "Endpoints still use the policy.")),
    security(("bearer" = [])))]
pub(super) async fn delete(
    State(state): State<AppState>,
    Account(account): Account,
    AppPath(id): AppPath<String>,
) -> AppResult<StatusCode> {
    state.store.delete_policy(&account, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

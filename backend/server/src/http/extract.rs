//! Extractors whose rejections are `AppError`s, so a bad request gets the same JSON error shape as every
//! other failure, with the offending field named.

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request},
    http::{StatusCode, request::Parts},
};
use serde::de::DeserializeOwned;

use super::{AppError, AppState};

/// Largest management API body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A JSON body; errors name the field (`steps[1].notify`).
#[derive(Debug, Clone)]
pub struct AppJson<T>(pub T);

impl<T, S> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge {
                    limit: MAX_BODY_BYTES,
                }
            } else {
                AppError::BadRequest {
                    code: "invalid_body",
                    message: rejection.body_text(),
                    field: None,
                }
            }
        })?;
        parse_json(&bytes).map(AppJson)
    }
}

/// Deserialises JSON with the path of the failing field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if !inner.is_data() {
            return AppError::BadRequest {
                code: "invalid_json",
                message: format!("request body is not valid JSON: {inner}"),
                field: None,
            };
        }
        let message = inner.to_string();
        // serde reports a missing or unknown field at its parent: name the field itself.
        let named = ["missing field `", "unknown field `"]
            .iter()
            .find_map(|p| message.strip_prefix(p))
            .and_then(|rest| rest.split('`').next());
        let field = match (named, path.as_str()) {
            (Some(name), "." | "") => name.to_owned(),
            (Some(name), parent) if !parent.ends_with(name) => format!("{parent}.{name}"),
            (_, p) => p.to_owned(),
        };
        let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
        AppError::field(field, message)
    })
}

/// Query parameters; errors name the parameter.
#[derive(Debug, Clone)]
pub struct AppQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for AppQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de).map(AppQuery).map_err(|err| {
            let path = err.path().to_string();
            let message = err.into_inner().to_string();
            let field = message
                .strip_prefix("unknown field `")
                .and_then(|rest| rest.split('`').next())
                .map_or(path, str::to_owned);
            AppError::BadRequest {
                code: "invalid_query",
                message,
                field: Some(field),
            }
        })
    }
}

/// The account of the caller, from `Authorization: Bearer <token>`.
#[derive(Debug, Clone)]
pub struct Account(pub String);

impl FromRequestParts<AppState> for Account {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AppError::Unauthorized)?;
        state
            .store
            .account_for_token(token)
            .await?
            .map(Account)
            .ok_or(AppError::Unauthorized)
    }
}

/// The page size of a list query, checked against its bounds.
pub(super) fn page_limit(limit: Option<u32>) -> Result<u32, AppError> {
    use klaxon_api::ListQuery;
    match limit {
        None => Ok(ListQuery::DEFAULT_LIMIT),
        Some(l) if (1..=ListQuery::MAX_LIMIT).contains(&l) => Ok(l),
        Some(_) => Err(AppError::BadRequest {
            code: "invalid_query",
            message: format!("limit must be between 1 and {}", ListQuery::MAX_LIMIT),
            field: Some("limit".into()),
        }),
    }
}

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
        object_json(&bytes).map(AppJson)
    }
}

/// [`parse_json`] of a body that must be a JSON object: serde would also read a struct from an array
/// (`[]`, `[null]`), which no client means.
fn object_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        // Let the parser name a syntax error first; then say what shape is expected.
        if serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_err() {
            return parse_json(bytes);
        }
        return Err(AppError::BadRequest {
            code: "invalid_json",
            message: "the body must be a JSON object".to_owned(),
            field: None,
        });
    }
    parse_json(bytes)
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

/// A path parameter; a segment that is not valid text (`%FF`) or holds NUL is a 404 like any unknown id, in
/// the same JSON shape as every error.
#[derive(Debug, Clone)]
pub struct AppPath<T>(pub T);

impl<T, S> FromRequestParts<S> for AppPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // No id holds NUL, and PostgreSQL could not even look one up.
        if parts.uri.path().to_ascii_lowercase().contains("%00") {
            return Err(AppError::NotFound);
        }
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Self(p.0))
            .map_err(|_| AppError::NotFound)
    }
}

/// An optional JSON body: empty (what a bare `curl -X POST` sends) or `null` means the default; anything
/// else must be a JSON object.
pub(super) fn optional_body<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, AppError> {
    let text = body.trim_ascii();
    if text.is_empty() || text == b"null" {
        return Ok(T::default());
    }
    object_json(body)
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
        // No text the API stores or filters by may hold NUL (PostgreSQL cannot): refuse it by name.
        if let Some((key, _)) =
            form_urlencoded::parse(query.as_bytes()).find(|(k, v)| k.contains('\0') || v.contains('\0'))
        {
            return Err(AppError::BadRequest {
                code: "invalid_query",
                message: "query parameters must not contain the NUL character (U+0000)".to_owned(),
                field: Some(key.replace('\0', "\u{FFFD}")),
            });
        }
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

/// The page size of a list query, checked against its bounds, and its cursor, which must look like the ids
/// lists hand out as `next_cursor`.
pub(super) fn page_limit(limit: Option<u32>, cursor: Option<&str>) -> Result<u32, AppError> {
    use klaxon_api::ListQuery;
    let mut errs = Vec::new();
    if let Some(c) = cursor {
        klaxon_api::validate::id(&mut errs, "cursor", c);
    }
    if let Some(e) = errs.into_iter().next() {
        return Err(AppError::BadRequest {
            code: "invalid_query",
            message: e.message,
            field: Some(e.field),
        });
    }
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

/// A 201 answer: the new object, and its URL in `Location`.
#[derive(Debug, Clone)]
pub struct Created<T> {
    location: String,
    body: T,
}

impl<T> Created<T> {
    /// The object `body`, to be found at `location` (a path such as `/v1/teams/team_...`).
    pub fn at(location: String, body: T) -> Self {
        Self { location, body }
    }
}

impl<T: serde::Serialize> axum::response::IntoResponse for Created<T> {
    fn into_response(self) -> axum::response::Response {
        let mut resp = (StatusCode::CREATED, axum::Json(self.body)).into_response();
        if let Ok(v) = http::HeaderValue::from_str(&self.location) {
            resp.headers_mut().insert(http::header::LOCATION, v);
        }
        resp
    }
}

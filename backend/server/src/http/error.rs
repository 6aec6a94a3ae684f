//! `AppError`: the one place that decides what a caller sees when a request fails, and logs it once.
//!
//! Internal failures (the database, a bug) answer 500 with a generic message; their detail goes to the log,
//! never to the caller. Everything else names its cause, and the field when there is one.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use klaxon_api::{ErrorBody, ErrorDetail};

use crate::store::StoreError;

/// A failed request.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The body or query is malformed or breaks a rule (400).
    #[error("{message}")]
    BadRequest {
        /// Stable code (`invalid_json`, `invalid_field`, `invalid_query`).
        code: &'static str,
        /// What is wrong.
        message: String,
        /// The offending field, when there is one.
        field: Option<String>,
    },
    /// No or an unknown API token (401).
    #[error("missing or invalid API token")]
    Unauthorized,
    /// A request that must be signed (by Slack) is not, or not validly (401).
    #[error("{0}")]
    Unsigned(String),
    /// The service cannot do it now (503); the caller may try again.
    #[error("{0}")]
    Unavailable(String),
    /// No such object in the caller's account (404), whether it never existed or belongs to another account.
    #[error("not found")]
    NotFound,
    /// The body refers to an object that does not exist in the caller's account (422, the field named). Not a
    /// 404: that answer means the object the URL names is gone, and a client that reads it so (as Terraform
    /// providers do) must never take "your team_id names nothing" for "this policy was deleted".
    #[error("{message}")]
    MissingReference {
        /// What is missing.
        message: String,
        /// The field that refers to it.
        field: String,
    },
    /// The request conflicts with stored state (409).
    #[error("{message}")]
    Conflict {
        /// What conflicts.
        message: String,
        /// The field that conflicts, when one does.
        field: Option<String>,
    },
    /// The body is larger than allowed (413).
    #[error("request body too large: at most {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// Anything else (500); the cause is logged, not shown.
    #[error("internal error: {0}")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    /// The first of a validation's errors as a 400, or `Ok` when there is none.
    pub fn first_invalid(errors: Vec<klaxon_api::validate::FieldError>) -> Result<(), Self> {
        errors.into_iter().next().map_or(Ok(()), |e| Err(e.into()))
    }

    /// A 503 for a database that cannot serve now (`reason` from [`klaxon_db::unavailable`]); logged here,
    /// once per refused request, because the caller only learns "try again".
    pub fn database_unavailable(reason: &str, error: &dyn std::fmt::Display) -> Self {
        tracing::warn!(error = %error, "Refused a request: {reason}.");
        Self::Unavailable(format!("{reason}; nothing was changed, retry later"))
    }

    /// A 400 about one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code: "invalid_field",
            message: message.into(),
            field: Some(field.into()),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound,
            StoreError::Conflict { message, field } => Self::Conflict {
                message,
                field: field.map(str::to_owned),
            },
            StoreError::MissingReference { message, field } => Self::MissingReference {
                message,
                field: field.to_owned(),
            },
            StoreError::Db(e) if klaxon_db::unavailable(&e).is_some() => {
                Self::database_unavailable(klaxon_db::unavailable(&e).unwrap_or_default(), &e)
            }
            e @ (StoreError::Db(_) | StoreError::Corrupt(_) | StoreError::Secret(_)) => {
                Self::Internal(e.into())
            }
        }
    }
}

impl From<klaxon_api::validate::FieldError> for AppError {
    fn from(e: klaxon_api::validate::FieldError) -> Self {
        Self::field(e.field, e.message)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code, message, field) = match self {
            Self::BadRequest { code, message, field } => (StatusCode::BAD_REQUEST, code, message, field),
            Self::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing or invalid API token".to_owned(),
                None,
            ),
            Self::Unsigned(message) => (StatusCode::UNAUTHORIZED, "bad_signature", message, None),
            Self::Unavailable(message) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", message, None),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "no such object".to_owned(),
                None,
            ),
            Self::MissingReference { message, field } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "missing_reference",
                message,
                Some(field),
            ),
            Self::Conflict { message, field } => (StatusCode::CONFLICT, "conflict", message, field),
            e @ Self::PayloadTooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                e.to_string(),
                None,
            ),
            Self::Internal(e) => {
                tracing::error!(error = ?e, "Request failed.");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; see the server log".to_owned(),
                    None,
                )
            }
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message,
                field,
            },
        };
        let mut resp = (status, Json(body)).into_response();
        if code == "unauthorized" {
            resp.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Bearer"),
            );
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut()
                .insert(http::header::RETRY_AFTER, http::HeaderValue::from_static("1"));
        }
        resp
    }
}

/// Handler results.
pub type AppResult<T> = Result<T, AppError>;

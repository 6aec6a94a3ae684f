//! The error body every non-2xx answer carries.

use serde::{Deserialize, Serialize};

/// `{"error": {...}}`: the shape of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// One error: a stable machine code, a sentence for people, and the offending field when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// Stable code: `invalid_json`, `invalid_field`, `unauthorized`, `not_found`, `missing_reference`, `conflict`,
    /// `payload_too_large`, `rate_limited`, `forbidden`, `internal`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// Path of the offending field in the request body (`steps[1].user`), when the error is about one.
    #[serde(default)]
    pub field: Option<String>,
}

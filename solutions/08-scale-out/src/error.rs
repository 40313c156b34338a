//! The contract's errors: a status and `{"error": "…"}`.
//!
//! axum's own extractors reject bad requests with the right status but a
//! plain-text body. A client that parses every error as JSON would choke on
//! it, so [`ApiJson`] wraps axum's `Json` and maps its rejections into
//! [`ApiError`], keeping their status:
//!
//! | rejection                | when                                 | status |
//! |--------------------------|--------------------------------------|--------|
//! | `MissingJsonContentType` | no `Content-Type: application/json`  | 415    |
//! | `JsonSyntaxError`        | the body is not JSON                 | 400    |
//! | `JsonDataError`          | JSON of the wrong shape (no `title`) | 422    |

use axum::Json;
use axum::extract::FromRequest;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::store::Unavailable;

/// Everything that can go wrong with a request, and the status it earns.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The board has no such task (or no tasks at all).
    #[error("board {board:?} has no task {task:?}")]
    TaskNotFound { board: String, task: String },
    /// The title is empty or only whitespace.
    #[error("a task needs a title that is not empty")]
    EmptyTitle,
    /// axum's `Json` refused the body; its status says why.
    #[error("{message}")]
    BadBody { status: StatusCode, message: String },
    /// Chapter 8: Redis is down or not answering. Nothing was changed (or
    /// the client cannot know that it was): try again later.
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::TaskNotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::EmptyTitle => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadBody { status, .. } => *status,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status(), Json(json!({ "error": self.to_string() }))).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        ApiError::BadBody { status: rejection.status(), message: rejection.body_text() }
    }
}

/// axum's `Json` extractor, with the contract's JSON errors.
#[derive(Debug, FromRequest)]
#[from_request(via(Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

//! The contract's errors: a status and `{"error": "…"}`.
//! Book: "Errors the client can act on".

use axum::Json;
use axum::extract::FromRequest;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Everything that can go wrong with a request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The board has no such task (or no tasks at all): 404.
    #[error("board {board:?} has no task {task:?}")]
    TaskNotFound { board: String, task: String },
    /// The title is empty or only whitespace: 422.
    #[error("a task needs a title that is not empty")]
    EmptyTitle,
    /// axum's `Json` refused the body (415, 400 or 422: its status says why).
    #[error("{message}")]
    BadBody { status: StatusCode, message: String },
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        todo!(
            "ApiError::into_response: the error's status and the body {{\"error\": \"…\"}} (\"Reading one task\")"
        )
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        todo!(
            "ApiError::from(JsonRejection): an error with axum's status and message for the body it refused (\"Errors the client can act on\")"
        )
    }
}

/// axum's `Json` extractor, answering rejections with [`ApiError`].
#[derive(Debug, FromRequest)]
#[from_request(via(Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

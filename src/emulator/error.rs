//! Error answers (`{"message": ...}`) and the other response shapes.

use std::borrow::Cow;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An error answered as JSON `{"message": ...}` with its status.
#[derive(Debug)]
pub(super) struct ApiError {
    status: StatusCode,
    message: Cow<'static, str>,
    /// The `Allow` header of a 405.
    allow: Option<String>,
    /// Sends `Connection: close` (the connection is closed after the answer).
    close: bool,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            allow: None,
            close: false,
        }
    }

    /// 400: the input is invalid.
    pub(super) fn bad_request(message: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401: credentials missing (or, except a v1 key, wrong).
    pub(super) fn unauthorized(message: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 403: a v1 `maven-api-key` that is present but wrong.
    pub(super) fn forbidden(message: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, message)
    }

    /// 404: no such property, document or endpoint.
    pub(super) fn not_found(message: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// 409: the request conflicts with the state (SEND to a closed conversation).
    pub(super) fn conflict(message: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message)
    }

    /// 405 with the methods the path accepts.
    pub(super) fn method_not_allowed(allow: String) -> ApiError {
        let mut error = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("method not allowed; allowed: {allow}"),
        );
        error.allow = Some(allow);
        error
    }

    /// 500: the emulator failed (a bug); nothing is known to be saved.
    pub(super) fn internal() -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }

    /// 413: the session document would be over the size limit.
    pub(super) fn document_too_large() -> ApiError {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "document too large")
    }

    /// 413 with a message: an upload is over its own limit.
    pub(super) fn too_large(message: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, message)
    }

    /// 413: the request body is over the body limit.
    pub(super) fn body_too_large() -> ApiError {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
    }

    /// 408: the request body did not arrive within the body read timeout
    /// (the connection is closed after this answer).
    pub(super) fn body_timed_out() -> ApiError {
        let mut error = ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request body not received in time",
        );
        error.close = true;
        error
    }

    /// The message this error answers.
    pub(super) fn message(&self) -> &str {
        &self.message
    }

    /// The status this error answers.
    pub(super) fn status(&self) -> StatusCode {
        self.status
    }

    /// 400: the request body could not be read (e.g. the connection closed).
    pub(super) fn unreadable_body() -> ApiError {
        ApiError::bad_request("could not read the request body")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "message": self.message }).to_string();
        let mut response = json(self.status, body.into_bytes());
        if let Some(allow) = self.allow.and_then(|a| HeaderValue::from_str(&a).ok()) {
            response.headers_mut().insert(header::ALLOW, allow);
        }
        if self.close {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

/// A response whose body is already serialized JSON.
pub(super) fn json(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// 204 with an empty body.
pub(super) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// The result of a handler.
pub(super) type ApiResult = Result<Response, ApiError>;

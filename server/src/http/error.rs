//! The HTTP face of errors: SPEC §4's `{"error": {"code", "message"}}` with a fitting status.

use app::api::ApiError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::service::ServiceError;

/// An error answer of the REST API.
#[derive(Debug)]
pub struct HttpError {
    pub status: StatusCode,
    pub error: ApiError,
    /// Seconds for `Retry-After` (429 and 503 answers).
    pub retry_after: Option<u64>,
}

impl HttpError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        HttpError {
            status,
            error: ApiError::new(code, message),
            retry_after: None,
        }
    }

    pub fn unauthenticated() -> Self {
        HttpError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Log in, or send HTTP Basic credentials or a bearer token.",
        )
    }
}

impl From<ServiceError> for HttpError {
    fn from(error: ServiceError) -> Self {
        let retry_after = error.retry_after();
        let error = error.to_api();
        HttpError {
            status: StatusCode::from_u16(error.status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            error,
            retry_after,
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a ApiError,
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(Body { error: &self.error })).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Basic realm=\"Uplift\", charset=\"UTF-8\""),
            );
        }
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

pub type HttpResult<T> = Result<T, HttpError>;

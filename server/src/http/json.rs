//! The one JSON body extractor of the REST API: a body that is not a JSON object of the
//! expected shape is a 400 in SPEC's error shape (`bad_body`, with serde's reason), never
//! axum's plain-text 415/422. An array is not an object, even where serde would read a
//! struct from one. `OptionalJson` is the same for bodies that may be left out.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

use super::error::HttpError;

/// A JSON object body parsed as `T`.
pub struct ApiJson<T>(pub T);

/// A JSON object body parsed as `T`, or `T::default()` when the body is empty.
pub struct OptionalJson<T>(pub T);

fn bad(message: impl Into<String>) -> HttpError {
    HttpError::new(StatusCode::BAD_REQUEST, "bad_body", message)
}

/// Parses `raw` as a JSON object of `T`'s shape.
fn object<T: DeserializeOwned>(raw: &[u8]) -> Result<T, HttpError> {
    let value: serde_json::Value =
        serde_json::from_slice(raw).map_err(|e| bad(format!("The body is not JSON: {e}")))?;
    if !value.is_object() {
        return Err(bad("The body must be a JSON object."));
    }
    serde_json::from_value(value).map_err(|e| bad(e.to_string()))
}

/// The REST API's body parsing on its own, for the fuzzers (`fuzz/`): the value, or the error
/// a handler would answer with.
pub fn api_body<T: DeserializeOwned>(raw: &[u8]) -> Result<T, app::api::ApiError> {
    object(raw).map_err(|e| e.error)
}

async fn bytes<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, HttpError> {
    Bytes::from_request(request, state)
        .await
        .map_err(|e| bad(format!("The body cannot be read: {e}")))
}

fn json_content(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let essence = v.split(';').next().unwrap_or_default().trim();
            essence.eq_ignore_ascii_case("application/json")
                || (essence.starts_with("application/") && essence.ends_with("+json"))
        })
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = HttpError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !json_content(&request) {
            return Err(bad(
                "The body must be JSON (Content-Type: application/json).",
            ));
        }
        object(&bytes(request, state).await?).map(ApiJson)
    }
}

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = HttpError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let raw = bytes(request, state).await?;
        if raw.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        object(&raw).map(OptionalJson)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, serde::Deserialize, PartialEq)]
    struct Shape {
        name: Option<String>,
        count: Option<u32>,
    }

    #[test]
    fn only_objects_of_the_shape_parse() {
        assert_eq!(
            object::<Shape>(br#"{"name": "a"}"#).unwrap(),
            Shape {
                name: Some("a".into()),
                count: None
            }
        );
        for bad in [
            &b"[null, null]"[..],
            b"null",
            b"7",
            b"{",
            br#"{"count": -1}"#,
        ] {
            let error = object::<Shape>(bad).unwrap_err();
            assert_eq!(error.status, StatusCode::BAD_REQUEST);
            assert_eq!(error.error.code, "bad_body");
        }
    }
}

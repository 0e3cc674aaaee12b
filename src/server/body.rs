//! JSON bodies. [`Body`]: a request body, refused with an [`ApiError`] that names what is wrong (415 not
//! JSON, 413 over the limit, 400 `bad_json` or `bad_field` with the field's path);
//! [`json_response`]: an answer.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A request body of type `T`, sent as `Content-Type: application/json` (or `application/*+json`).
pub struct Body<T>(pub T);

impl<T: DeserializeOwned> FromRequest<super::state::AppState> for Body<T> {
    type Rejection = ApiError;

    /// Reads the whole body within [`super::state::AppState::body_timeout`]: a client that stalls
    /// after its headers, or drips its body, gets a 408 and loses the connection.
    async fn from_request(req: Request, state: &super::state::AppState) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(ApiError::not_json());
        }
        let limit = state.body_timeout;
        let bytes = arrived(
            limit,
            tokio::time::timeout(limit, Bytes::from_request(req, state)).await,
        )?;
        parse(&bytes).map(Body)
    }
}

/// What a body read under `tokio::time::timeout(limit, …)` came to: its bytes, a 408 when the
/// limit passed first, or the error a failed read maps to. (A plain function rather than an `async`
/// wrapper around the timeout: the direct resolve path's future stays within glibc's thread cache.)
pub(super) fn arrived<E>(
    limit: std::time::Duration,
    read: Result<Result<Bytes, E>, tokio::time::error::Elapsed>,
) -> Result<Bytes, ApiError>
where
    ApiError: From<E>,
{
    match read {
        Ok(read) => Ok(read?),
        Err(_) => Err(ApiError::body_timeout(limit)),
    }
}

/// `bytes` as a `T`: the plain parse is the fast path; only a refused body is parsed again to name
/// the field at fault.
pub(super) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|_| explain::<T>(bytes))
}

/// `v` as an `application/json` response, written into one buffer sized for a typical answer (a
/// `Vec` takes serde_json's many small writes more cheaply than axum's `BytesMut` writer).
pub fn json_response(v: &impl serde::Serialize) -> Response {
    let mut body = Vec::with_capacity(768);
    match serde_json::to_writer(&mut body, v) {
        Ok(()) => json_bytes(body),
        Err(e) => {
            ApiError::internal(format!("the answer could not be written: {e}")).into_response()
        }
    }
}

/// A 200 answer whose body is the JSON text `body`.
pub fn json_bytes(body: Vec<u8>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// Whether the request says its body is JSON.
pub(super) fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    // What nearly every client sends, first.
    if value.eq_ignore_ascii_case("application/json") {
        return true;
    }
    let essence = value.split(';').next().unwrap_or("").trim();
    let Some((kind, sub)) = essence.split_once('/') else {
        return false;
    };
    let suffix = sub.len().checked_sub(5).and_then(|i| sub.get(i..));
    kind.eq_ignore_ascii_case("application")
        && (sub.eq_ignore_ascii_case("json")
            || suffix.is_some_and(|s| s.eq_ignore_ascii_case("+json")))
}

/// Why `bytes` is not a `T`, with the path of the field at fault.
fn explain<T: DeserializeOwned>(bytes: &[u8]) -> ApiError {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let err = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(_) => match de.end() {
            Ok(()) => return ApiError::bad_request("bad_json", "the body could not be read"),
            Err(e) => return ApiError::bad_request("bad_json", format!("invalid JSON body: {e}")),
        },
        Err(e) => e,
    };
    let path = err.path().to_string();
    let inner = err.into_inner();
    // `.` is the whole body, `?` a place serde_path_to_error could not name (a syntax error).
    let at = if path == "." || path == "?" {
        String::new()
    } else {
        format!("{path}: ")
    };
    if inner.is_data() {
        ApiError::bad_request(
            "bad_field",
            format!("wrong field in the JSON body: {at}{inner}"),
        )
    } else {
        ApiError::bad_request("bad_json", format!("invalid JSON body: {at}{inner}"))
    }
}

#[cfg(test)]
mod tests {
    use super::is_json;

    #[test]
    fn json_content_types_are_recognised() {
        let ok = |v: &str| {
            let mut h = axum::http::HeaderMap::new();
            h.insert("content-type", v.parse().unwrap());
            is_json(&h)
        };
        for yes in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/vnd.api+json",
        ] {
            assert!(ok(yes), "{yes}");
        }
        for no in [
            "text/plain",
            "application/jsonx",
            "application/+jso",
            "json",
            "application/",
        ] {
            assert!(!ok(no), "{no}");
        }
        assert!(!is_json(&axum::http::HeaderMap::new()));
    }
}

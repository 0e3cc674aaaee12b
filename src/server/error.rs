//! The one error type of the API: every failure is `{"error": {"code", "message"}}` with a status
//! that says whose fault it is. User input never yields a 500; no message holds key material.

use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::{AgentError, GatewayError, ReportError, StoreError};

/// A failed request.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    /// 400: the request is malformed (`code` names the problem, `message` the field).
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }

    /// 404: the thing named does not exist.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code,
            message: message.into(),
        }
    }

    /// An error with this status, code and message (for answers made outside the handlers).
    pub fn with_status(status: StatusCode, code: &'static str, message: String) -> ApiError {
        ApiError {
            status,
            code,
            message,
        }
    }

    /// 401: no or a wrong bearer token.
    pub fn unauthorized() -> ApiError {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthorized",
            message: "missing or wrong bearer token (Authorization: Bearer <contents of modelauth.token>)".into(),
        }
    }

    /// 415: the body is not sent as JSON.
    pub fn not_json() -> ApiError {
        ApiError {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "content_type",
            message: "send the body as JSON with Content-Type: application/json".into(),
        }
    }

    /// 413: the request body is, or says it is, over [`super::BODY_LIMIT`].
    pub fn body_too_large() -> ApiError {
        ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "body_too_large",
            message: "the request body is larger than 64 KiB".into(),
        }
    }

    /// 408: the request body did not arrive in time (the connection is closed after the answer).
    pub fn body_timeout(limit: std::time::Duration) -> ApiError {
        ApiError {
            status: StatusCode::REQUEST_TIMEOUT,
            code: "body_timeout",
            message: format!(
                "the request body did not arrive within {} (send it with the headers)",
                crate::short_duration(limit.as_millis() as i64)
            ),
        }
    }

    /// 500: the server failed on its own (never for anything a request holds).
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: message.into(),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = crate::redact_secret_like(&self.message);
        let body = json!({ "error": { "code": self.code, "message": message } });
        (self.status, Json(body)).into_response()
    }
}

/// A body that could not be read to its end (the client went away mid-body): 400 `bad_body`, in the
/// words of axum's own rejection for the same failure.
impl From<axum::Error> for ApiError {
    fn from(e: axum::Error) -> ApiError {
        ApiError::bad_request(
            "bad_body",
            format!("Failed to buffer the request body: {e}"),
        )
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> ApiError {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::body_too_large();
        }
        ApiError::bad_request("bad_body", r.body_text())
    }
}

/// A store error: a state file or database that cannot be read is the server's state, not the
/// request's: 503 with the file named (the server keeps serving other agents).
fn store(e: &StoreError) -> ApiError {
    let (status, code) = match e {
        StoreError::Id(_) => (StatusCode::BAD_REQUEST, "bad_id"),
        StoreError::LockTimeout { .. } | StoreError::Conflict { .. } => {
            (StatusCode::CONFLICT, "busy")
        }
        _ => (StatusCode::SERVICE_UNAVAILABLE, "state_unavailable"),
    };
    ApiError {
        status,
        code,
        message: e.to_string(),
    }
}

impl From<AgentError> for ApiError {
    fn from(e: AgentError) -> ApiError {
        match &e {
            AgentError::Store(s) => store(s),
            AgentError::Report(ReportError::Store(s)) => store(s),
            AgentError::Report(ReportError::UnknownProfile { .. }) => {
                ApiError::not_found("unknown_profile", e.to_string())
            }
            AgentError::Report(ReportError::WrongProvider { .. })
            | AgentError::WrongProvider { .. } => ApiError {
                status: StatusCode::CONFLICT,
                code: "wrong_provider",
                message: e.to_string(),
            },
            AgentError::Id(_) => ApiError::bad_request("bad_id", e.to_string()),
            AgentError::Refresh(_) => ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "refresh_unavailable",
                message: e.to_string(),
            },
            AgentError::NotShared => ApiError {
                status: StatusCode::CONFLICT,
                code: "not_shared",
                message: e.to_string(),
            },
            AgentError::Vault(_) => ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: e.code(),
                message: e.to_string(),
            },
        }
    }
}

impl From<GatewayError> for ApiError {
    fn from(e: GatewayError) -> ApiError {
        match &e {
            GatewayError::Store(s) => store(s),
            GatewayError::Id(_) => ApiError::bad_request("bad_id", e.to_string()),
            _ => ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "state_unavailable",
                message: e.to_string(),
            },
        }
    }
}

//! [`Front`]: the service hyper calls for every request. It checks the bearer token (TCP listeners),
//! refuses a declared body over the limit, counts the response by route template and status, and
//! hands the request to the direct resolve path ([`super::direct`]) or to the router.
//!
//! This is one plain service rather than two `axum::middleware::from_fn` layers: those clone and box
//! the inner service and its future for every request, a sixth of the cost of a whole `resolve`.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper::service::Service;
use hyper_util::service::TowerToHyperService;

use super::api::ROUTES;
use super::error::ApiError;
use super::state::AppState;

/// Refused requests logged at most once per [`RefusalLog::INTERVAL_MS`].
static REFUSALS: RefusalLog = RefusalLog::new();

/// A log-rate limit: one line per interval, with the number of events it did not log.
pub(crate) struct RefusalLog {
    last_ms: std::sync::atomic::AtomicU64,
    skipped: std::sync::atomic::AtomicU64,
}

impl RefusalLog {
    /// At most one line per 10 s.
    pub(crate) const INTERVAL_MS: u64 = 10_000;

    pub(crate) const fn new() -> RefusalLog {
        RefusalLog {
            last_ms: std::sync::atomic::AtomicU64::new(0),
            skipped: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// `Some(events skipped since the last line)` when this event may be logged now.
    #[allow(
        clippy::disallowed_methods,
        reason = "a log-rate interval on real time, not the injected clock"
    )]
    pub(crate) fn admit(&self) -> Option<u64> {
        use std::sync::atomic::Ordering::Relaxed;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let last = self.last_ms.load(Relaxed);
        if now.saturating_sub(last) >= Self::INTERVAL_MS
            && self
                .last_ms
                .compare_exchange(last, now, Relaxed, Relaxed)
                .is_ok()
        {
            return Some(self.skipped.swap(0, Relaxed));
        }
        self.skipped.fetch_add(1, Relaxed);
        None
    }
}

/// The token check, the request counter, the direct resolve path and the router, for one listener.
#[derive(Clone)]
pub struct Front {
    router: TowerToHyperService<Router>,
    token: Option<Arc<str>>,
    state: AppState,
}

impl Front {
    /// Serves `router` (built over `state`); every request needs `Authorization: Bearer <token>`
    /// when `token` is given.
    pub fn new(router: Router, token: Option<Arc<str>>, state: AppState) -> Front {
        Front {
            router: TowerToHyperService::new(router),
            token,
            state,
        }
    }

    fn authorized(&self, req: &hyper::Request<Incoming>) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        req.headers()
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim_start().split_once(' '))
            // The scheme is case-insensitive (RFC 9110 §11.1): `bearer`, `BEARER` work too.
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .is_some_and(|(_, g)| same(g.trim().as_bytes(), token.as_bytes()))
    }
}

impl Service<hyper::Request<Incoming>> for Front {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn call(&self, req: hyper::Request<Incoming>) -> Self::Future {
        let route = template(req.uri().path());
        let metrics = Arc::clone(&self.state.metrics);
        if !self.authorized(&req) {
            // The path is logged, never the token that was sent; at most one line per interval, so
            // a local process cannot flood the journal (every refusal is counted in /metrics).
            metrics.count(route, 401);
            if let Some(more) = REFUSALS.admit() {
                tracing::warn!(
                    path = %req.uri().path(),
                    "request without the right bearer token refused ({more} more refused since the last such line)"
                );
            }
            return Box::pin(std::future::ready(Ok(
                ApiError::unauthorized().into_response()
            )));
        }
        let length = super::direct::declared_length(&req);
        if length.is_some_and(|n| n > super::BODY_LIMIT) {
            // Refused before a byte of it is read, rather than after waiting for all of it.
            metrics.count(route, 413);
            return Box::pin(std::future::ready(Ok(
                ApiError::body_too_large().into_response()
            )));
        }
        if let Some(agent) = super::direct::takes(&req, length) {
            let state = self.state.clone();
            return Box::pin(async move {
                let response = super::direct::resolve(state, agent, req.into_body())
                    .await
                    .unwrap_or_else(IntoResponse::into_response);
                metrics.count(route, response.status().as_u16());
                Ok(response)
            });
        }
        let answer = self.router.call(req);
        Box::pin(async move {
            let response = match answer.await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            metrics.count(route, response.status().as_u16());
            Ok(as_json_error(response).await)
        })
    }
}

/// An error answer that is not the documented `{"error": {code, message}}` (axum's own refusals: a
/// path segment that is not UTF-8, a method the route does not take) made into one; every other
/// answer as it is.
async fn as_json_error(response: Response) -> Response {
    let status = response.status();
    let json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || json {
        return response;
    }
    let code = match status.as_u16() {
        405 => "method_not_allowed",
        404 => "no_route",
        s if s >= 500 => "internal",
        _ => "bad_request",
    };
    let body = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&body).trim().to_owned();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("refused").to_owned()
    } else {
        text
    };
    ApiError::with_status(status, code, message).into_response()
}

/// The route template `path` falls under (`/v1/agents/{agent}/resolve`), or `unmatched`: metric labels
/// never hold what a client sent.
pub fn template(path: &str) -> &'static str {
    ROUTES
        .iter()
        .map(|(_, t)| *t)
        .find(|t| matches(t, path))
        .unwrap_or("unmatched")
}

/// Whether `path` has `template`'s segments, a `{name}` matching any one non-empty segment (a byte
/// walk: every request is labelled, so this stays a few instructions per route).
fn matches(template: &str, path: &str) -> bool {
    let (t, p) = (template.as_bytes(), path.as_bytes());
    let (mut i, mut j) = (0, 0);
    while let Some(&want) = t.get(i) {
        if want == b'{' {
            i += t[i..]
                .iter()
                .position(|&b| b == b'}')
                .map_or(t.len(), |e| e + 1);
            let segment = p[j..]
                .iter()
                .position(|&b| b == b'/')
                .unwrap_or(p.len() - j);
            if segment == 0 {
                return false;
            }
            j += segment;
        } else if p.get(j) == Some(&want) {
            i += 1;
            j += 1;
        } else {
            return false;
        }
    }
    j == p.len()
}

/// Compares in time independent of where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::template;

    #[test]
    fn paths_map_to_their_route_templates_only() {
        assert_eq!(
            template("/v1/agents/main/resolve"),
            "/v1/agents/{agent}/resolve"
        );
        assert_eq!(
            template("/v1/agents/work/order/anthropic"),
            "/v1/agents/{agent}/order/{provider}"
        );
        assert_eq!(
            template("/v1/agents/main/sessions/agent:main:x"),
            "/v1/agents/{agent}/sessions/{session}"
        );
        assert_eq!(template("/healthz"), "/healthz");
        for other in [
            "/",
            "/healthz/x",
            "/v1/agents//resolve",
            "/v1/agents/main/resolve/x",
            "/v1/agents/main/secret-of-the-client",
        ] {
            assert_eq!(template(other), "unmatched", "{other}");
        }
    }
}

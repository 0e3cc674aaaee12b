//! Middleware: the bearer token of TCP listeners, and request counting by route template.

use std::sync::Arc;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::metrics::Metrics;

/// `router` answering 401 unless `Authorization: Bearer <token>` matches (the token is never logged).
pub fn require_token(router: Router, token: Arc<str>) -> Router {
    router.layer(middleware::from_fn(move |req: Request, next: Next| {
        let token = Arc::clone(&token);
        async move {
            let given = req
                .headers()
                .get(axum::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "));
            if given.is_some_and(|g| same(g.trim().as_bytes(), token.as_bytes())) {
                return next.run(req).await;
            }
            tracing::warn!(path = %req.uri().path(), "request without the right bearer token refused");
            ApiError::unauthorized().into_response()
        }
    }))
}

/// Compares in time independent of where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `router` counting each response by route template and status code.
pub fn counted(router: Router, metrics: Arc<Metrics>) -> Router {
    router.layer(middleware::from_fn(move |req: Request, next: Next| {
        let metrics = Arc::clone(&metrics);
        async move {
            // A route template is an `Arc<str>`: cloning it does not copy the text.
            let route = req.extensions().get::<MatchedPath>().cloned();
            let response: Response = next.run(req).await;
            let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
            metrics.count(route, response.status().as_u16());
            response
        }
    }))
}

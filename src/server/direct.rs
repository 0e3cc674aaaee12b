//! The direct path of `POST /v1/agents/{agent}/resolve`, the call a gateway makes before every model
//! request: [`super::front::Front`] hands such a request straight to [`super::resolve::answer`],
//! without the router's per-request boxing, extension maps and extractor layers (a fifth of the cost
//! of a whole resolve, docs/DECISIONS.md "As fast on the databases as on the files").
//!
//! It takes only the plain case — a JSON body of a declared length within [`super::BODY_LIMIT`] and an
//! agent segment without percent-escapes — and leaves every other request to the router, whose
//! answers (415, 413, a decoded agent id, …) are therefore the same whichever way a request goes.

use axum::response::Response;
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, TRANSFER_ENCODING};

use super::body::{arrived, is_json, parse};
use super::error::ApiError;
use super::resolve::{ResolveIn, answer};
use super::state::AppState;

/// The agent id of `req` (whose body declares `length`, see [`declared_length`]) when it is a
/// resolve request the direct path takes, `None` to leave it to the router.
pub(super) fn takes(req: &hyper::Request<Incoming>, length: Option<usize>) -> Option<String> {
    if req.method() != hyper::Method::POST {
        return None;
    }
    let agent = req
        .uri()
        .path()
        .strip_prefix("/v1/agents/")?
        .strip_suffix("/resolve")?;
    if agent.is_empty() || agent.bytes().any(|b| b == b'/' || b == b'%') {
        return None;
    }
    let headers = req.headers();
    let plain = length.is_some_and(|n| n <= super::BODY_LIMIT)
        && !headers.contains_key(TRANSFER_ENCODING)
        && is_json(headers);
    plain.then(|| agent.to_owned())
}

/// The body length `req` declares (`Content-Length`), if it declares one that can be read.
pub(super) fn declared_length(req: &hyper::Request<Incoming>) -> Option<usize> {
    req.headers()
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Reads `body` (within the body timeout, as the router's extractor does) and answers it.
pub(super) async fn resolve(
    state: AppState,
    agent: String,
    body: Incoming,
) -> Result<Response, ApiError> {
    let read = axum::body::to_bytes(axum::body::Body::new(body), super::BODY_LIMIT);
    let limit = state.body_timeout;
    let bytes = arrived(limit, tokio::time::timeout(limit, read).await)?;
    let r: ResolveIn = parse(&bytes)?;
    answer(&state, agent, r).await
}

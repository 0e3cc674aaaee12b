//! `POST /v1/agents/{agent}/probe`: [`crate::Agent::probe`] over HTTP (issue 30). Probes make network
//! calls, so they run on the blocking pool, never on a thread that answers requests.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

use super::body::{Body, json_response};
use super::error::ApiError;
use super::state::{AppState, with_agent};
use crate::ProbeOptions;

/// The longest probe timeout a request may ask for.
const MAX_TIMEOUT_MS: u64 = 60_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct ProbeIn {
    provider: Option<String>,
    profile: Option<String>,
    timeout_ms: Option<u64>,
    concurrency: Option<u16>,
    /// Reuse a profile's last probe younger than this, ms.
    max_age_ms: Option<u64>,
    /// Tier 2 for this model (billed).
    model: Option<String>,
    /// Tier 2 along the fallback chain (billed).
    #[serde(default)]
    chain: bool,
    /// Report the outcomes into the routing state.
    #[serde(default)]
    record: bool,
}

/// The handler: the agent's probe report.
pub(super) async fn probe(
    State(s): State<AppState>,
    Path(agent): Path<String>,
    Body(p): Body<ProbeIn>,
) -> Result<Response, ApiError> {
    let defaults = ProbeOptions::default();
    let timeout = match p.timeout_ms {
        Some(ms @ 1..=MAX_TIMEOUT_MS) => Duration::from_millis(ms),
        Some(_) => {
            return Err(ApiError::bad_request(
                "bad_field",
                format!("timeoutMs: between 1 and {MAX_TIMEOUT_MS}"),
            ));
        }
        None => defaults.timeout,
    };
    let opts = ProbeOptions {
        provider: p.provider,
        profile: p.profile,
        timeout,
        concurrency: p
            .concurrency
            .map_or(defaults.concurrency, |c| usize::from(c.clamp(1, 64))),
        max_age: p.max_age_ms.map(Duration::from_millis),
        model: p.model,
        chain: p.chain,
        record: p.record,
        ..defaults
    };
    let out = with_agent(&s, agent, move |a| Ok(a.probe(&opts)?)).await?;
    Ok(json_response(&out))
}

//! What every handler shares ([`AppState`]) and how a handler reaches an agent: here, or on the
//! blocking pool for calls that may wait.

use super::error::ApiError;
use super::metrics::Metrics;
use crate::{Agent, AgentError, Gateway};

/// What every handler shares: the gateway (one `Agent` and registry per agent id) and the metrics.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The gateway.
    pub gateway: Gateway,
    /// Request counters and latencies.
    pub metrics: std::sync::Arc<Metrics>,
    /// The agents known to exist, by id (a request for one is answered without validating its id
    /// or locking the gateway's agent table again).
    pub known: std::sync::Arc<dashmap::DashMap<String, Agent>>,
    /// How long a request body may take to arrive after its headers (the header timeout's value).
    pub body_timeout: std::time::Duration,
}

/// Agent `id`, or 404 when it does not exist (known agents are remembered).
pub(super) fn agent_of(state: &AppState, id: &str) -> Result<Agent, ApiError> {
    if let Some(a) = state.known.get(id) {
        return Ok(a.clone());
    }
    crate::AgentId::new(id).map_err(|e| ApiError::bad_request("bad_id", format!("agent: {e}")))?;
    if !state.gateway.knows_agent(id)? {
        return Err(ApiError::not_found(
            "unknown_agent",
            format!("no agent {id:?}"),
        ));
    }
    let agent = state.gateway.agent(id)?;
    state.known.insert(id.to_owned(), agent.clone());
    Ok(agent)
}

/// Runs `f` with agent `id` on the blocking pool: for calls that may wait on a lock or a transaction.
pub(super) async fn with_agent<T: Send + 'static>(
    state: &AppState,
    id: String,
    f: impl FnOnce(Agent) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let state = state.clone();
    tokio::task::spawn_blocking(move || f(agent_of(&state, &id)?))
        .await
        .map_err(|_| ApiError::bad_request("cancelled", "the request was cancelled"))?
}

/// Runs `f` with agent `id` right here, never waiting on a database lock (reads cost a few `stat`s;
/// a resolution's pin change stays in memory until the registry writes it); when a database is
/// locked and there is no last snapshot to answer from, on the blocking pool, which waits at most the
/// busy timeout (then 503).
pub(super) async fn with_agent_fast<T: Send + 'static>(
    state: &AppState,
    id: &str,
    f: impl Fn(Agent) -> Result<T, AgentError> + Send + 'static,
) -> Result<T, ApiError> {
    let agent = agent_of(state, id)?;
    let first = crate::gateway::without_waiting(|| f(agent));
    if !matches!(&first, Err(e) if e.is_busy()) {
        return Ok(first?);
    }
    // Neither the first answer nor the rare path's future is kept in the common path's future
    // (allocated for every request): the retry is boxed, and only when taken.
    drop(first);
    Box::pin(with_agent(state, id.to_owned(), move |a| Ok(f(a)?))).await
}

//! Waiting out OpenClaw's OAuth refresh fence: while OpenClaw refreshes a login, the store holds an
//! inert marker. modelauth never sends it anywhere and records nothing for it; it polls the store
//! until OpenClaw's refresh settles (within the OAuth timeout), then uses what OpenClaw stored.

use std::time::{Duration, Instant};

use super::{Agent, AgentError};
use crate::resolver::ResolveError;
use crate::store::ProviderId;

/// How often the store is read while a fence is pending.
const POLL: Duration = Duration::from_millis(50);

impl Agent {
    /// Waits until profile `id` holds no pending fence (OpenClaw's refresh stored its tokens, failed,
    /// or the profile went away). True when it settled within the OAuth timeout.
    #[allow(
        clippy::disallowed_methods,
        reason = "a deadline on real time, not the injected clock"
    )]
    pub(crate) fn await_fence(&self, id: &str) -> Result<bool, AgentError> {
        let deadline = Instant::now() + self.oauth_timeout();
        loop {
            let store = self.inner.profiles.snapshot()?.value;
            let pending = store
                .profiles
                .get(id)
                .and_then(|p| p.fence.as_ref())
                .is_some_and(|f| f.is_pending());
            if !pending {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            std::thread::sleep(POLL);
        }
    }
}

/// The answer when OpenClaw's refresh of `id` did not settle in time.
pub(crate) fn fence_error(id: &str, provider: &ProviderId) -> ResolveError {
    ResolveError::NoneUsable {
        provider: provider.to_string(),
        details: format!(
            "{id}: OpenClaw is refreshing this login (its refresh fence is in the store) and it did not \
             settle in time; try again shortly, or check the gateway's log"
        ),
    }
}

//! [`Agent::next`] and its refresh loop: resolution, the pin change it implies, and an OAuth login
//! refreshed on the way (in place or in the background).

use crate::config::Config;
use crate::resolver::{
    PinChange, PinView, QuotaAsk, Resolution, ResolveError, ResolveRequest, resolve,
};
use crate::session::Pin;
use crate::store::{AuthProfiles, OverrideSource, ProviderId, StoreError};

use super::super::decision::Decision;
use super::fence::fence_error;
use super::{Agent, AgentError};
use crate::oauth::{self, RefreshError};

impl Agent {
    /// Which credential session `session` should use next for `provider` (and `model`), SPEC §5.
    /// The session's pin follows the resolver (a new auto pin, a cleared pin), changed only if nobody
    /// changed it meanwhile. Without a session the answer ignores pins and changes nothing.
    ///
    /// An OAuth login whose access token expires within 5 minutes is refreshed first (one refresh per
    /// credential at a time, everywhere; see [`crate::oauth`]), which can take up to the gateway's
    /// OAuth timeout: on an async executor call [`Agent::next_cached`] and, when it answers
    /// [`Decision::NeedsRefresh`], this on a blocking thread. A refused refresh token disables the
    /// profile (`auth_permanent`, "re-auth needed") and the next profile is chosen; a failing endpoint
    /// leaves the still-valid old token in use.
    pub fn next(
        &self,
        session: Option<&str>,
        provider: &str,
        model: Option<&str>,
    ) -> Result<Decision, AgentError> {
        self.next_with(session, provider, model, Lanes::default(), true)
    }

    /// [`Agent::next`] with the lane options of the request: the session's kind (which the policy
    /// may allow to fall to metered billing) and the caller's explicit opt-in.
    pub fn next_in_lane(
        &self,
        session: Option<&str>,
        provider: &str,
        model: Option<&str>,
        lanes: Lanes<'_>,
    ) -> Result<Decision, AgentError> {
        self.next_with(session, provider, model, lanes, true)
    }

    /// [`Agent::next_cached`] with the lane options of [`Agent::next_in_lane`].
    pub fn next_cached_in_lane(
        &self,
        session: Option<&str>,
        provider: &str,
        model: Option<&str>,
        lanes: Lanes<'_>,
    ) -> Result<Decision, AgentError> {
        self.next_with(session, provider, model, lanes, false)
    }

    /// [`Agent::next`] without network calls or commands: a login due for a refresh whose access
    /// token is still valid is handed out while a background thread refreshes it; an expired one, one
    /// OpenClaw is refreshing, or a profile whose secret reference has no fresh resolved value is
    /// answered [`Decision::NeedsRefresh`]; then call [`Agent::next`] on a blocking thread. Never
    /// blocks on a token endpoint or a secret provider.
    pub fn next_cached(
        &self,
        session: Option<&str>,
        provider: &str,
        model: Option<&str>,
    ) -> Result<Decision, AgentError> {
        self.next_with(session, provider, model, Lanes::default(), false)
    }

    /// [`Agent::next`], refreshing due logins when `refresh`.
    fn next_with(
        &self,
        session: Option<&str>,
        provider: &str,
        model: Option<&str>,
        lanes: Lanes<'_>,
        refresh: bool,
    ) -> Result<Decision, AgentError> {
        let provider = ProviderId::new(provider)?;
        let mut rounds = 0;
        loop {
            rounds += 1;
            let store = self.inner.profiles.snapshot()?.value;
            let config = self.config()?;
            if self.end_rotated_disables(&store, &provider, &config, refresh)? && rounds < 4 {
                continue;
            }
            let unresolved = self.unresolved_refs(&store, &provider, &config, refresh);
            let ask = Ask {
                session,
                provider: &provider,
                model,
                lanes,
            };
            let resolution = match self.resolve_in(&store, ask, &config, &unresolved)? {
                Ok(r) => r,
                Err(e) => return Ok(Decision::from_error(e)),
            };
            let chosen = resolution
                .chosen_profile()
                .and_then(|id| store.profiles.get(id))
                .cloned();
            let Some(p) = chosen else {
                return Ok(Decision::from_resolution(resolution, None));
            };
            if p.fence.is_some() || self.ref_uncached(&p) {
                match self.settle_pending(&p, resolution, &config, refresh, rounds < 4)? {
                    Some(d) => return Ok(d),
                    None => continue,
                }
            }
            let now = self.now_ms();
            if oauth::due(&p, now) != oauth::Due::Refresh {
                let secret = self.secret_of(&p, &config);
                return Ok(Decision::from_resolution(resolution, secret));
            }
            // The old access token, while it is still valid.
            let old = p.secret.clone().filter(|_| !p.is_expired(now));
            if !refresh {
                // No waiting here: a still-valid token is handed out while the refresh runs on a
                // thread of its own (a slow endpoint delays nobody).
                if let Some(old) = old {
                    self.refresh_in_background(&p.id);
                    return Ok(Decision::ready(resolution, old));
                }
                return Ok(Decision::needs_refresh(resolution));
            }
            match (self.refresh(&p.id), old) {
                (Ok(r), _) => return Ok(Decision::ready(resolution, r.access().clone())),
                (Err(e), Some(old)) => {
                    tracing::debug!(profile = %p.id, "using the old access token: {e}");
                    return Ok(Decision::ready(resolution, old));
                }
                (Err(e @ RefreshError::Store { .. }), None) => {
                    return Err(AgentError::Refresh(Box::new(e)));
                }
                // The failure is recorded (a disable or a cooldown): resolve again for the next profile.
                (Err(e), None) if rounds < 4 => {
                    tracing::info!(profile = %p.id, "{e}; choosing again");
                }
                (Err(_), None) => {
                    return Ok(Decision::from_resolution(resolution, p.secret.clone()));
                }
            }
        }
    }

    /// The answer for a chosen profile that OpenClaw is refreshing (its fence) or whose secret
    /// reference has no fresh resolved value; `None` to choose again (`again`: rounds remain).
    fn settle_pending(
        &self,
        p: &crate::store::Profile,
        resolution: Resolution<'static>,
        config: &Config,
        refresh: bool,
        again: bool,
    ) -> Result<Option<Decision>, AgentError> {
        if !refresh {
            return Ok(Some(Decision::needs_refresh(resolution)));
        }
        if p.fence.is_none() {
            // A reference to resolve now (refresh: the caller may block).
            let secret = self.secret_of(p, config);
            if secret.is_none() && again {
                return Ok(None);
            }
            return Ok(Some(Decision::from_resolution(resolution, secret)));
        }
        // OpenClaw is refreshing it: wait for its answer, then choose again.
        if again && self.await_fence(&p.id)? {
            return Ok(None);
        }
        Ok(Some(Decision::from_error(fence_error(&p.id, &p.provider))))
    }

    /// Refreshes OAuth profile `id` on a thread of its own unless one already is.
    fn refresh_in_background(&self, id: &str) {
        let profile = id.to_owned();
        self.in_background(id.to_owned(), move |agent| {
            if let Err(e) = agent.refresh(&profile) {
                tracing::debug!(%profile, "background refresh: {e}");
            }
        });
    }

    /// Runs `job` on a thread of its own unless a job under the same `key` still runs.
    pub(super) fn in_background(&self, key: String, job: impl FnOnce(&Agent) + Send + 'static) {
        fn busy(agent: &Agent) -> std::sync::MutexGuard<'_, std::collections::HashSet<String>> {
            agent
                .inner
                .refreshing
                .lock()
                .unwrap_or_else(|e| e.into_inner())
        }
        if !busy(self).insert(key.clone()) {
            return;
        }
        let agent = self.clone();
        std::thread::spawn(move || {
            job(&agent);
            busy(&agent).remove(&key);
        });
    }

    /// How long one OAuth call (a refresh, a code exchange) may take.
    pub fn oauth_timeout(&self) -> std::time::Duration {
        self.inner.refresher.timeout()
    }

    /// Refreshes OAuth profile `id` now unless someone else just did (single flight, see
    /// [`crate::oauth::Refresher::refresh`]).
    pub fn refresh(&self, id: &str) -> Result<oauth::Refreshed, RefreshError> {
        let target = oauth::Target {
            store: &*self.inner.profiles,
            lock: &*self.inner.refresh_locks,
            env: &self.inner.env,
            clock: &*self.inner.clock,
        };
        self.inner.refresher.refresh(target, id)
    }

    /// The resolver's answer for `ask` over `store`, with the pin change committed.
    fn resolve_in(
        &self,
        store: &AuthProfiles,
        ask: Ask<'_>,
        config: &Config,
        unresolved: &[String],
    ) -> Result<Result<Resolution<'static>, ResolveError>, AgentError> {
        let now_ms = self.now_ms();
        let (pin, compaction_count, idle_ms) = match ask.session {
            Some(key) => self.inner.sessions.pin_for_resolve(key, now_ms)?,
            None => (None, 0, None),
        };
        let req = ResolveRequest {
            unresolved,
            provider: ask.provider,
            model: ask.model,
            pin: pin.as_ref().map(pin_view),
            compaction_count,
            now_ms,
            quota: QuotaAsk {
                idle_ms,
                ..self.quota_ask(ask.lanes)
            },
        };
        let resolution = match resolve(store, config, &self.inner.env, &req) {
            Ok(r) => r.into_owned(),
            Err(e) => return Ok(Err(e)),
        };
        if let Some(c) = resolution.crossing {
            self.note_crossing(ask.session, &resolution, c);
        }
        if let Some(key) = ask.session {
            self.apply_pin_change(key, pin.as_ref(), &resolution)?;
        }
        Ok(Ok(resolution))
    }

    /// A lane crossing handed out: logged and counted (see [`Agent::lane_crossings`]).
    fn note_crossing(
        &self,
        session: Option<&str>,
        r: &Resolution<'_>,
        c: crate::resolver::LaneCrossing,
    ) {
        self.inner
            .crossings
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::warn!(
            session = session.unwrap_or(""),
            profile = r.chosen_profile().unwrap_or(""),
            from = c.from.as_str(),
            to = c.to.as_str(),
            "lane crossing: a {} session billed to a {} profile (opted in)",
            c.from,
            c.to
        );
    }

    /// How many lane crossings (a subscription session handed a metered profile, opted in) this
    /// process has handed out.
    pub fn lane_crossings(&self) -> u64 {
        self.inner
            .crossings
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The quota side of a resolution with `lanes` (idle unknown): the agent's policy, and whether
    /// it or the request allows metered billing.
    pub(crate) fn quota_ask(&self, lanes: Lanes<'_>) -> QuotaAsk<'_> {
        let policy = &*self.inner.policy;
        let id = self.inner.id.as_str();
        QuotaAsk {
            policy,
            allow_metered: policy.metered_allowed(id, lanes.session_kind, lanes.allow_metered),
            idle_ms: None,
        }
    }

    /// The routing policy in effect (`modelauth.json`).
    pub fn policy(&self) -> &crate::config::QuotaPolicy {
        &self.inner.policy
    }

    /// Commits a resolution's pin change as a compare-and-set against the pin it was computed from:
    /// a pin changed meanwhile (a user's `/model x@p`) is never replaced.
    pub(crate) fn apply_pin_change(
        &self,
        key: &str,
        seen: Option<&Pin>,
        resolution: &Resolution<'_>,
    ) -> Result<bool, StoreError> {
        let new = match &resolution.pin_change {
            PinChange::Keep => return Ok(true),
            PinChange::SetAuto(id) => Some((&**id, OverrideSource::Auto, resolution.order_hash)),
            PinChange::Clear => None,
        };
        let applied = self.inner.sessions.compare_and_set_pin(key, seen, new)?;
        if !applied {
            tracing::debug!(
                session = key,
                "pin changed during resolution; kept the newer pin"
            );
        }
        Ok(applied)
    }
}

/// The lane options of one request ([`Agent::next_in_lane`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Lanes<'a> {
    /// The session's kind, as the gateway names it (`cron`, `group`, …): the policy may allow it
    /// metered billing.
    pub session_kind: Option<&'a str>,
    /// The caller opts this request in to a metered profile when the session's lane is used up.
    pub allow_metered: bool,
}

/// One resolution's question.
#[derive(Clone, Copy)]
struct Ask<'a> {
    session: Option<&'a str>,
    provider: &'a ProviderId,
    model: Option<&'a str>,
    lanes: Lanes<'a>,
}

/// The resolver's view of a stored pin.
fn pin_view(p: &Pin) -> PinView<'_> {
    PinView {
        profile: &p.profile,
        source: p.source,
        compaction_at_pin: p.compaction_at_pin,
        order_hash: (p.order_hash != 0).then_some(p.order_hash),
        rotate: p.rotate,
    }
}

//! [`Agent`]: everything an agent runtime needs in one cheap-to-clone handle: config, credentials,
//! sessions, the resolver and outcome reporting, over one agent of one state directory.

use std::sync::Arc;

use crate::config::{Config, Env, StateDir};
use crate::resolver::cache::Stamped;
use crate::resolver::{
    Applied, Choice, Outcome, PinChange, PinView, ReportError, Resolution, ResolveError,
    ResolveRequest, SharedClock, StoreCache, resolve,
};
use crate::session::{Registry, RegistryOptions};
use crate::store::{AgentId, AuthProfiles, OverrideSource, ProviderId, Secret, StoreError};

/// Why an agent operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// A state file could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No credential can be used.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// An outcome could not be recorded.
    #[error(transparent)]
    Report(#[from] ReportError),
}

/// What to use for the next request, with the full reasoning.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The resolution: candidates in order with reasons, and the choice.
    pub resolution: Resolution<'static>,
    secret: Option<Secret>,
}

impl Decision {
    /// The chosen profile id (`None` when an environment or config key was chosen).
    pub fn profile(&self) -> Option<&str> {
        self.resolution.chosen_profile()
    }

    /// The credential to send. Use it for the request only; never log it.
    pub fn secret(&self) -> Option<&Secret> {
        match &self.resolution.choice {
            Choice::Key { secret, .. } => Some(secret),
            Choice::Profile(_) => self.secret.as_ref(),
        }
    }
}

#[derive(Debug)]
struct Inner {
    state: StateDir,
    id: AgentId,
    env: Env,
    clock: SharedClock,
    store: StoreCache,
    config: Stamped<Config>,
    sessions: Registry,
}

/// One agent of a state directory. Clone it freely: clones share caches and sessions.
#[derive(Debug, Clone)]
pub struct Agent {
    inner: Arc<Inner>,
}

impl Agent {
    /// Opens agent `id` in `state`, reading its config and credential store now (corrupt files are errors).
    pub fn open(
        state: StateDir,
        id: AgentId,
        env: Env,
        clock: SharedClock,
    ) -> Result<Agent, StoreError> {
        Self::open_with(state, id, env, clock, RegistryOptions::default())
    }

    /// [`Agent::open`] with registry options.
    pub fn open_with(
        state: StateDir,
        id: AgentId,
        env: Env,
        clock: SharedClock,
        options: RegistryOptions,
    ) -> Result<Agent, StoreError> {
        let config_file = state.config_file();
        let config = Stamped::load(config_file.path(), || config_file.load())?;
        let store = StoreCache::open(state.auth_file(&id))?;
        let sessions = Registry::new(Some(state.sessions_file(&id)), Arc::clone(&clock), options);
        Ok(Agent {
            inner: Arc::new(Inner {
                state,
                id,
                env,
                clock,
                store,
                config,
                sessions,
            }),
        })
    }

    /// The agent id.
    pub fn id(&self) -> &AgentId {
        &self.inner.id
    }

    /// The state directory.
    pub fn state(&self) -> &StateDir {
        &self.inner.state
    }

    /// The lookup environment.
    pub fn env(&self) -> &Env {
        &self.inner.env
    }

    /// Now, from the injected clock.
    pub fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// The session registry.
    pub fn sessions(&self) -> &Registry {
        &self.inner.sessions
    }

    /// The credential store cache.
    pub fn store_cache(&self) -> &StoreCache {
        &self.inner.store
    }

    /// The current credential store (reloaded when the file changed).
    pub fn store(&self) -> Result<Arc<AuthProfiles>, StoreError> {
        self.inner.store.current()
    }

    /// The current config (reloaded when `openclaw.json` changed).
    pub fn config(&self) -> Result<Arc<Config>, StoreError> {
        self.inner
            .config
            .current(|| self.inner.state.config_file().load())
    }

    /// Which credential session `session` should use next for `provider` (and `model`), SPEC §5.
    ///
    /// The session's pin is updated as the resolver says (new auto pin, cleared pin). Without a session
    /// the answer ignores pins and changes nothing.
    pub fn resolve(
        &self,
        session: Option<&str>,
        provider: &ProviderId,
        model: Option<&str>,
    ) -> Result<Decision, AgentError> {
        let store = self.store()?;
        let config = self.config()?;
        let (pin, compaction) = match session {
            Some(key) => match self.inner.sessions.get(key)? {
                Some(s) => (s.pin, s.compaction_count),
                None => (None, 0),
            },
            None => (None, 0),
        };
        let pin_view = pin.as_ref().map(|p| PinView {
            profile: &p.profile,
            source: p.source,
            compaction_at_pin: p.compaction_at_pin,
            order_hash: (p.order_hash != 0).then_some(p.order_hash),
            rotate: p.rotate,
        });
        let req = ResolveRequest {
            provider,
            model,
            pin: pin_view,
            compaction_count: compaction,
            now_ms: self.now_ms(),
        };
        let resolution = resolve(&store, &config, &self.inner.env, &req)?;
        if let Some(key) = session {
            match &resolution.pin_change {
                PinChange::Keep => {}
                PinChange::SetAuto(id) => self.inner.sessions.set_pin(
                    key,
                    id,
                    OverrideSource::Auto,
                    resolution.order_hash,
                )?,
                PinChange::Clear => self.inner.sessions.clear_pin(key)?,
            }
        }
        let secret = resolution
            .chosen_profile()
            .and_then(|id| store.profiles.get(id)?.secret.clone());
        Ok(Decision {
            resolution: resolution.into_owned(),
            secret,
        })
    }

    /// Records the outcome of a request made with `profile` (for `model`), persisting it to the store.
    pub fn report(
        &self,
        profile: &str,
        model: Option<&str>,
        outcome: Outcome,
    ) -> Result<Applied, AgentError> {
        Ok(self
            .inner
            .store
            .report(profile, model, outcome, self.now_ms())?)
    }
}

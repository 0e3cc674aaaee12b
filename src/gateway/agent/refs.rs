//! Secret references of the agent's profiles, resolved when a credential is handed out.

use std::path::PathBuf;

use super::Agent;
use crate::config::Config;
use crate::secrets::{RefContext, SecretError};
use crate::store::{AuthProfiles, Profile, ProviderId, Secret};

impl Agent {
    /// `<state>/state/openclaw.sqlite`, where `store` references live.
    fn state_db_path(&self) -> Option<PathBuf> {
        let db = self
            .inner
            .state
            .as_ref()?
            .root()
            .join("state/openclaw.sqlite");
        db.exists().then_some(db)
    }

    /// Resolves the secret reference of `p` (from the cache while fresh). `None` for a profile that
    /// holds its value inline.
    pub fn resolve_ref(&self, p: &Profile) -> Option<Result<Secret, SecretError>> {
        let r = p.secret_ref.as_ref()?;
        let config = match self.config() {
            Ok(c) => c,
            Err(e) => {
                return Some(Err(SecretError::Provider {
                    reference: r.label(),
                    message: format!("the config cannot be read: {e}"),
                }));
            }
        };
        self.resolve_ref_in(p, &config)
    }

    /// [`Agent::resolve_ref`] with the config in hand.
    pub(crate) fn resolve_ref_in(
        &self,
        p: &Profile,
        config: &Config,
    ) -> Option<Result<Secret, SecretError>> {
        let r = p.secret_ref.as_ref()?;
        Some(self.with_ref_context(config, |ctx| self.inner.refs.resolve(r, ctx)))
    }

    /// Runs `f` with where this agent's references resolve: `config`'s providers, the agent's
    /// environment, its state database.
    pub(crate) fn with_ref_context<T>(
        &self,
        config: &Config,
        f: impl FnOnce(&RefContext<'_>) -> T,
    ) -> T {
        let db = self.state_db_path();
        f(&RefContext {
            config: &config.secrets,
            env: &self.inner.env,
            state_db: db.as_deref(),
        })
    }

    /// The ids of `provider`'s profiles whose reference does not resolve now: resolving each when
    /// `resolve`, else from the cache only (a reference not resolved lately counts as resolvable).
    pub(crate) fn unresolved_refs(
        &self,
        store: &AuthProfiles,
        provider: &ProviderId,
        config: &Config,
        resolve: bool,
    ) -> Vec<String> {
        store
            .provider_profiles(provider)
            .iter()
            .filter(|p| {
                let answer = match (&p.secret_ref, resolve) {
                    (None, _) => None,
                    (Some(_), true) => self.resolve_ref_in(p, config),
                    (Some(r), false) => self.inner.refs.cached(r),
                };
                matches!(answer, Some(Err(_)))
            })
            .map(|p| p.id.clone())
            .collect()
    }

    /// True when `p` holds a reference with no fresh answer in the cache (resolving it may run a
    /// command: do it off an async executor's threads).
    pub(crate) fn ref_uncached(&self, p: &Profile) -> bool {
        p.secret_ref
            .as_ref()
            .is_some_and(|r| self.inner.refs.cached(r).is_none())
    }

    /// The credential to hand out for `p`: its inline secret, or its reference's value.
    pub(crate) fn secret_of(&self, p: &Profile, config: &Config) -> Option<Secret> {
        match self.resolve_ref_in(p, config) {
            Some(r) => r.ok(),
            None => p.secret.clone(),
        }
    }
}

//! [`Agent`]: one agent's verbs over its backends. Reads are snapshots; every change is one atomic
//! commit through a backend.

use std::sync::{Arc, Mutex};

use crate::backend::{ConfigStore, ProfileStore, ReportError, SessionStore, StateLock};
use crate::config::{Config, Env, StateDir, file as config_file};
use crate::parser::Aliases;
use crate::resolver::SharedClock;
use crate::session::{Registry, RegistryOptions};
use crate::store::{
    AgentId, AuthProfiles, IdError, NewCredential, OverrideSource, ProfileId, ProviderId,
    StoreError,
};

use crate::oauth::{RefreshError, Refresher};

mod chat;
mod fence;
mod next;
mod report;
pub use next::Lanes;
mod refs;
mod rotation;

/// Why an agent operation failed. Everything a chat user can type wrong is a reply, not an error.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// A state file could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An outcome could not be recorded.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// An invalid provider or profile id was passed.
    #[error(transparent)]
    Id(#[from] IdError),
    /// An OAuth refresh could not be made (its lock, or the store, failed).
    #[error(transparent)]
    Refresh(Box<RefreshError>),
    /// A profile was named for a provider it does not belong to.
    #[error("Auth profile \"{id}\" is for {provider}, not {expected}; nothing was changed")]
    WrongProvider {
        /// The profile.
        id: String,
        /// Its provider.
        provider: String,
        /// The provider it was named for.
        expected: String,
    },
    /// A shared-state operation was asked of a gateway whose routing state is its own files.
    #[error(
        "no shared state: give the Redis server with --redis URL or MODELAUTH_REDIS_URL (state import|export move records between it and this agent's files)"
    )]
    NotShared,
    /// A secret store (keyring, systemd credentials, secrets file) could not be used.
    #[error(transparent)]
    Vault(#[from] crate::secrets::vault::VaultError),
}

impl AgentError {
    /// True when the error only says that a database is locked by another process right now (inside
    /// [`crate::gateway::without_waiting`]): the same call on a thread that may wait will get through.
    pub fn is_busy(&self) -> bool {
        match self {
            AgentError::Store(e) | AgentError::Report(ReportError::Store(e)) => {
                crate::backend::sqlite::is_busy(e)
            }
            _ => false,
        }
    }

    /// A stable machine-readable name of the error: [`StoreError::code`]'s, or `unknown_profile`,
    /// `wrong_provider`, `bad_id`, `refresh_failed`, `not_shared`, `secret_store_unavailable`,
    /// `secret_store_failed`.
    pub fn code(&self) -> &'static str {
        match self {
            AgentError::Store(s) | AgentError::Report(ReportError::Store(s)) => s.code(),
            AgentError::Report(ReportError::UnknownProfile { .. }) => "unknown_profile",
            AgentError::Report(ReportError::WrongProvider { .. })
            | AgentError::WrongProvider { .. } => "wrong_provider",
            AgentError::Id(_) => "bad_id",
            AgentError::Refresh(_) => "refresh_failed",
            AgentError::NotShared => "not_shared",
            AgentError::Vault(crate::secrets::vault::VaultError::Unavailable { .. }) => {
                "secret_store_unavailable"
            }
            AgentError::Vault(_) => "secret_store_failed",
        }
    }
}

/// What a session has chosen, as the agent keeps it ([`Agent::session_view`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    /// The session key.
    pub session: String,
    /// The model override as `provider/model`, if any.
    pub model_override: Option<String>,
    /// The pinned profile, if any.
    pub profile: Option<String>,
    /// Who pinned it: `user` (typed) or `auto` (the resolver).
    pub profile_source: Option<&'static str>,
    /// The runtime override, if any.
    pub runtime: Option<String>,
    /// Compactions so far.
    pub compaction_count: u32,
    /// Last change, ms since the epoch.
    pub updated_at: i64,
}

/// The backends of one agent.
#[derive(Debug)]
pub(crate) struct Parts {
    pub profiles: Arc<dyn ProfileStore>,
    pub sessions: Option<Arc<dyn SessionStore>>,
    pub config: Arc<dyn ConfigStore>,
    pub locks: Arc<dyn StateLock>,
    /// The locks that make one OAuth refresh of a credential at a time across processes (OpenClaw's
    /// `<state>/locks/oauth-refresh`).
    pub refresh_locks: Arc<dyn StateLock>,
    pub state: Option<StateDir>,
    pub layout: Option<super::StateLayout>,
    /// The shared state's link, when the routing state is shared.
    pub shared: Option<Arc<crate::backend::redis::SharedState>>,
    /// What `state import|export` moves between, when the routing state is shared.
    pub migration: Option<crate::backend::redis::MigrationParts>,
}

#[derive(Debug)]
struct Inner {
    id: AgentId,
    env: Env,
    clock: SharedClock,
    profiles: Arc<dyn ProfileStore>,
    config: Arc<dyn ConfigStore>,
    locks: Arc<dyn StateLock>,
    refresh_locks: Arc<dyn StateLock>,
    refresher: Arc<Refresher>,
    state: Option<StateDir>,
    layout: Option<super::StateLayout>,
    shared: Option<Arc<crate::backend::redis::SharedState>>,
    migration: Option<crate::backend::redis::MigrationParts>,
    sessions: Registry,
    /// The chat shortcuts of one config version (keyed by the version, which is never reused).
    aliases: Mutex<(u64, Arc<Aliases>)>,
    /// Resolved secret references, kept briefly ([`crate::secrets::RESOLVED_TTL`]).
    refs: crate::secrets::RefResolver,
    /// Profiles being refreshed in the background (one thread each at most).
    refreshing: Mutex<std::collections::HashSet<String>>,
    /// Quota thresholds, lanes, the prompt-cache lifetime (`modelauth.json`).
    policy: Arc<crate::config::QuotaPolicy>,
    /// Lane crossings handed out by this process (each also logged and counted in the ledger).
    crossings: std::sync::atomic::AtomicU64,
}

/// One agent of a gateway. Clone it freely: clones share caches and sessions.
#[derive(Debug, Clone)]
pub struct Agent {
    inner: Arc<Inner>,
}

/// The models `/model` can select.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ModelList {
    /// True when an allowlist limits the selection.
    pub restricted: bool,
    /// `provider/model` with its aliases, by provider.
    pub models: Vec<(String, Vec<String>)>,
}

/// The order that applies to a provider, and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderView {
    /// The agent's order override (`models auth order set`), if any.
    pub override_ids: Option<Vec<String>>,
    /// `auth.order[provider]` in config, if any.
    pub config_ids: Option<Vec<String>>,
}

impl Agent {
    /// Assembles an agent from its backends.
    pub(crate) fn from_parts(
        id: AgentId,
        env: Env,
        clock: SharedClock,
        options: RegistryOptions,
        refresher: Arc<Refresher>,
        parts: Parts,
        policy: Arc<crate::config::QuotaPolicy>,
    ) -> Agent {
        let sessions = Registry::new(parts.sessions, Arc::clone(&clock), options);
        let refs = secret_cache(&env);
        Agent {
            inner: Arc::new(Inner {
                id,
                env,
                clock,
                profiles: parts.profiles,
                config: parts.config,
                locks: parts.locks,
                refresh_locks: parts.refresh_locks,
                refresher,
                state: parts.state,
                layout: parts.layout,
                shared: parts.shared,
                migration: parts.migration,
                sessions,
                aliases: Mutex::new((0, Arc::new(Aliases::default()))),
                refs,
                refreshing: Mutex::new(Default::default()),
                policy,
                crossings: Default::default(),
            }),
        }
    }

    /// Where the routing state (pins, usage, orders) lives: `files` (this host's state), or the
    /// shared server's URL (password hidden) and key prefix.
    pub fn backend(&self) -> String {
        match &self.inner.shared {
            Some(l) => format!(
                "redis {} (prefix {})",
                l.link.settings().display_url(),
                l.link.settings().prefix
            ),
            None if self.inner.state.is_some() => "files".to_owned(),
            None => "memory".to_owned(),
        }
    }

    /// The shared state's server and how it is doing, when the routing state is shared.
    pub fn shared_health(&self) -> Option<crate::SharedHealth> {
        self.inner.shared.as_ref().map(|s| s.link.health())
    }

    /// Moves this agent's orders, lastGood, usage records and session pins from its files to the
    /// shared server (`to_shared`; records the server has are kept unless `overwrite`) or back to its
    /// files. Idempotent; `dry_run` only counts. Credentials never move.
    pub fn migrate(
        &self,
        to_shared: bool,
        overwrite: bool,
        dry_run: bool,
    ) -> Result<crate::backend::redis::Migration, AgentError> {
        let Some(parts) = &self.inner.migration else {
            return Err(AgentError::NotShared);
        };
        Ok(if to_shared {
            crate::backend::redis::migrate::import(parts, overwrite, dry_run, self.now_ms())?
        } else {
            crate::backend::redis::migrate::export(parts, dry_run)?
        })
    }

    /// The agent id.
    pub fn id(&self) -> &AgentId {
        &self.inner.id
    }

    /// The state directory (`None` in memory).
    pub fn state_dir(&self) -> Option<&std::path::Path> {
        self.inner.state.as_ref().map(StateDir::root)
    }

    /// The state generation this agent reads and writes (`None` in memory).
    pub fn layout(&self) -> Option<super::StateLayout> {
        self.inner.layout
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

    /// Session `key` as the agent keeps it (loaded from the state on first use), or `None` when the
    /// agent has never seen it.
    pub fn session_view(&self, key: &str) -> Result<Option<SessionView>, AgentError> {
        let Some(s) = self.inner.sessions.get(key)? else {
            return Ok(None);
        };
        Ok(Some(SessionView {
            session: key.to_owned(),
            model_override: s.model_override.as_deref().map(str::to_owned),
            profile: s.pin.as_ref().map(|p| p.profile.to_string()),
            profile_source: s.pin.as_ref().map(|p| p.source.as_str()),
            runtime: s.runtime_override.as_deref().map(str::to_owned),
            compaction_count: s.compaction_count,
            updated_at: s.updated_at,
        }))
    }

    /// How many sessions in memory hold a `user` pin and how many an `auto` pin (for metrics).
    pub fn pin_counts(&self) -> (usize, usize) {
        let sessions = self.inner.sessions.snapshot();
        let count = |src: OverrideSource| {
            sessions
                .iter()
                .filter(|(_, s)| s.pin.as_ref().is_some_and(|p| p.source == src))
                .count()
        };
        (count(OverrideSource::User), count(OverrideSource::Auto))
    }

    /// Named cross-process locks beside this agent's state.
    pub fn locks(&self) -> &dyn StateLock {
        &*self.inner.locks
    }

    /// Where the credentials live, for messages.
    pub fn store_location(&self) -> String {
        self.inner.profiles.location()
    }

    /// Where the config lives, for messages.
    pub fn config_location(&self) -> String {
        self.inner.config.location()
    }

    /// The current credential snapshot (reloaded when another process changed it).
    pub fn store(&self) -> Result<Arc<AuthProfiles>, StoreError> {
        Ok(self.inner.profiles.snapshot()?.value)
    }

    /// The current config (reloaded when it changed).
    pub fn config(&self) -> Result<Arc<Config>, StoreError> {
        Ok(self.inner.config.current()?.value)
    }

    /// The model (`provider/model`) the next request of `session` uses: its override, else the
    /// agent's default (SPEC §4).
    pub fn model_for(&self, session: Option<&str>) -> Result<String, AgentError> {
        let current = match session {
            Some(key) => self.inner.sessions.get(key)?,
            None => None,
        };
        Ok(match current.and_then(|s| s.model_override) {
            Some(m) => m.to_string(),
            None => crate::interpreter::models::normalise_ref(
                &self.config()?.primary_model(&self.inner.id),
            ),
        })
    }

    /// The order that applies to `provider`.
    pub fn order(&self, provider: &str) -> Result<OrderView, AgentError> {
        let provider = ProviderId::new(provider)?;
        let store = self.store()?;
        let config = self.config()?;
        Ok(OrderView {
            override_ids: store.order.get(&provider).cloned(),
            config_ids: config.auth_order.get(&provider).cloned(),
        })
    }

    /// Sets the order override of `provider`: ids are trimmed and kept once each; every id must be a
    /// stored profile of `provider` (checked atomically with the write; nothing changes otherwise).
    /// Returns the order as stored.
    pub fn set_order(&self, provider: &str, ids: &[String]) -> Result<Vec<String>, AgentError> {
        let provider = ProviderId::new(provider)?;
        let mut list: Vec<String> = Vec::with_capacity(ids.len());
        for id in ids {
            let id = ProfileId::new(id.trim())?;
            if !list.iter().any(|i| i == id.as_str()) {
                list.push(id.as_str().to_owned());
            }
        }
        let location = self.store_location();
        self.inner.profiles.edit(&mut |edit| {
            let view = edit.view();
            for id in &list {
                match view.profiles.get(id) {
                    None => {
                        return Err(ReportError::UnknownProfile {
                            id: id.clone(),
                            path: location.clone(),
                        });
                    }
                    Some(p) if p.provider != provider => {
                        return Err(ReportError::WrongProvider {
                            id: id.clone(),
                            provider: p.provider.to_string(),
                            expected: provider.to_string(),
                        });
                    }
                    Some(_) => {}
                }
            }
            edit.set_order(&provider, &list);
            Ok(())
        })?;
        Ok(list)
    }

    /// Clears the order override of `provider`; returns whether there was one.
    pub fn clear_order(&self, provider: &str) -> Result<bool, AgentError> {
        let provider = ProviderId::new(provider)?;
        Ok(self.inner.profiles.set_order(&provider, None)?)
    }

    /// Stores (or replaces the secret of) credential `id` without touching config.
    pub fn put_credential(&self, id: &str, cred: &NewCredential) -> Result<(), AgentError> {
        ProfileId::new(id)?;
        self.inner.profiles.put(id, cred)?;
        Ok(())
    }

    /// Adds credential `id` the way `models auth add|paste-token` does: the secret in the store and
    /// `auth.profiles[id] = {provider, mode}` in config, all or nothing (when the store write fails,
    /// the config entry this call made is removed again). Returns whether config comments were dropped.
    pub fn add_credential(&self, id: &str, cred: &NewCredential) -> Result<bool, AgentError> {
        let pid = ProfileId::new(id)?;
        if let Some(owner) = pid.provider_prefix().filter(|p| *p != cred.provider) {
            return Err(AgentError::WrongProvider {
                id: id.to_owned(),
                provider: owner.to_string(),
                expected: cred.provider.to_string(),
            });
        }
        // Fails now, before config is touched, when the store refuses writes (corrupt, other generation).
        self.inner.profiles.edit(&mut |_| Ok(()))?;
        let had_meta = self.config()?.auth_profiles.contains_key(id);
        let write = self
            .inner
            .config
            .update(&mut |doc| config_file::set_profile_meta(doc, id, &cred.provider, cred.kind))?;
        if let Err(e) = self.inner.profiles.put(id, cred) {
            if write.written && !had_meta {
                let undo = self
                    .inner
                    .config
                    .update(&mut |doc| config_file::remove_profile_meta(doc, id));
                if let Err(again) = undo {
                    tracing::warn!(profile = id, "cannot undo the config entry: {again}");
                }
            }
            return Err(e.into());
        }
        Ok(write.dropped_comments)
    }

    /// Removes credential `id` from the store (with its usage, order entries and `lastGood`
    /// mentions) and from config `auth.profiles`/`auth.order`; false when neither had it.
    pub fn remove_credential(&self, id: &str) -> Result<bool, AgentError> {
        ProfileId::new(id)?;
        let existed = self.inner.profiles.remove(id)?;
        let config_had = self
            .inner
            .config
            .update(&mut |doc| config_file::remove_profile_meta(doc, id))?
            .written;
        Ok(existed || config_had)
    }

    /// The state of every stored profile (of `provider`, when given), by id. Holds no secret.
    pub fn profile_states(
        &self,
        provider: Option<&str>,
    ) -> Result<Vec<crate::interpreter::status::ProfileStatus>, AgentError> {
        let only = provider.map(ProviderId::new).transpose()?;
        let store = self.store()?;
        let now = self.now_ms();
        let mut rows: Vec<_> = store
            .profiles
            .values()
            .filter(|p| only.as_ref().is_none_or(|o| *o == p.provider))
            .map(|p| {
                crate::interpreter::status::profile_status(
                    p,
                    &store.usage_of(&p.id),
                    now,
                    &self.inner.policy,
                )
            })
            .collect();
        rows.extend(
            store
                .invalid
                .iter()
                .filter(|(_, (p, _))| only.is_none() || p.as_ref() == only.as_ref())
                .map(|(id, (p, why))| {
                    crate::interpreter::status::invalid_status(id, p.as_ref(), why)
                }),
        );
        rows.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(rows)
    }

    /// The models `/model` can select, by provider, with their aliases (`provider` limits the list).
    pub fn models(&self, provider: Option<&str>) -> Result<ModelList, AgentError> {
        let only = provider.map(ProviderId::new).transpose()?;
        let config = self.config()?;
        let store = self.store()?;
        let rules_2026_9 = self.layout() == Some(super::StateLayout::Sqlite);
        let catalogue =
            crate::interpreter::models::Catalogue::build(&config, &store, self.env(), self.id())
                .with_alias_rules(rules_2026_9, &config);
        let models = catalogue
            .by_provider
            .iter()
            .filter(|(p, _)| only.as_ref().is_none_or(|o| o.as_str() == p.as_str()))
            .flat_map(|(_, refs)| refs.iter())
            .map(|r| {
                (
                    r.clone(),
                    catalogue.aliases.get(r).cloned().unwrap_or_default(),
                )
            })
            .collect();
        Ok(ModelList {
            restricted: catalogue.restricted,
            models,
        })
    }

    /// The credential store, for commands that add and remove credentials.
    pub fn profiles(&self) -> &dyn ProfileStore {
        &*self.inner.profiles
    }

    /// The config store, for commands that record `auth.profiles` entries.
    pub fn config_store(&self) -> &dyn ConfigStore {
        &*self.inner.config
    }

    /// The status view: providers, profiles in resolution order with their state, and the
    /// `--check` verdict.
    pub fn status(&self) -> Result<super::status::Status, AgentError> {
        super::status::build(self)
    }

    /// Writes changed sessions now.
    pub fn flush(&self) -> Result<usize, AgentError> {
        Ok(self.inner.sessions.flush()?)
    }
}

/// The cache of resolved secret references: values are reused for `MODELAUTH_SECRET_TTL` (a duration
/// such as `5s`; default 30 s), the longest a rotated secret goes unseen.
fn secret_cache(env: &Env) -> crate::secrets::RefResolver {
    match env
        .get_plain("MODELAUTH_SECRET_TTL")
        .and_then(|t| humantime::parse_duration(t).ok())
    {
        Some(ttl) => crate::secrets::RefResolver::with_ttl(ttl),
        None => crate::secrets::RefResolver::default(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::resolver::{ManualClock, PinChange, ResolveRequest, resolve};
    use crate::store::{OverrideSource, ProviderId};

    use super::super::Gateway;

    const STORE: &str = r#"{"version":1,"profiles":{
        "anthropic:a":{"type":"api_key","provider":"anthropic","key":"sk-a"},
        "anthropic:b":{"type":"api_key","provider":"anthropic","key":"sk-b"}}}"#;

    /// A resolution computed from the pin as it was must not replace a pin the user set meanwhile
    /// (the resolver used to read the pin, resolve, then set the auto pin unconditionally).
    #[test]
    fn a_resolution_racing_a_user_pin_keeps_the_user_pin() {
        let gateway = Gateway::builder()
            .in_memory("{}", &[("main", STORE)])
            .unwrap()
            .clock(Arc::new(ManualClock::at(1_800_000_000_000)))
            .open()
            .unwrap();
        let agent = gateway.agent("main").unwrap();
        let anthropic = ProviderId::new("anthropic").unwrap();
        // 1. The runtime reads the session (no pin yet) and resolves.
        let seen = agent.sessions().pin("s").unwrap();
        assert_eq!(seen, None);
        let store = agent.store().unwrap();
        let config = agent.config().unwrap();
        let req = ResolveRequest {
            unresolved: &[],
            provider: &anthropic,
            model: None,
            pin: None,
            compaction_count: 0,
            now_ms: agent.now_ms(),
            quota: Default::default(),
        };
        let resolution = resolve(&store, &config, agent.env(), &req)
            .unwrap()
            .into_owned();
        assert_eq!(
            resolution.pin_change,
            PinChange::SetAuto("anthropic:a".into())
        );
        // 2. Meanwhile the user pins another profile.
        let reply = agent
            .chat("s", "/model anthropic/claude-opus-4-6@anthropic:b")
            .unwrap();
        assert_eq!(
            reply.directive,
            crate::interpreter::DirectiveStatus::Applied
        );
        // 3. The runtime commits its pin change: refused, the user pin stays.
        assert!(
            !agent
                .apply_pin_change("s", seen.as_ref(), &resolution)
                .unwrap()
        );
        let pin = agent.sessions().pin("s").unwrap().unwrap();
        assert_eq!(
            (&*pin.profile, pin.source),
            ("anthropic:b", OverrideSource::User)
        );
        // With the pin it was computed from, the change applies.
        let fresh = agent.sessions().pin("t").unwrap();
        assert!(
            agent
                .apply_pin_change("t", fresh.as_ref(), &resolution)
                .unwrap()
        );
        assert_eq!(
            agent.sessions().pin("t").unwrap().map(|p| p.source),
            Some(OverrideSource::Auto)
        );
    }
}

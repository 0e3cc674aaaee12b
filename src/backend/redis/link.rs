//! The gateway's one link to the server: the pool, the agents whose caches listen to it, the changes
//! kept while it is out of reach, and what `status`/`doctor` say about it.

use std::collections::HashMap;
use std::any::Any;
use std::sync::{Arc, Mutex, Weak};

use crate::store::{ProviderId, StoreError};

use crate::backend::SessionWatch;

use super::conn::{Pool, RedisSettings};
use super::keys;
use super::script::Op;

/// A change made while the server was out of reach, written back when it returns.
#[derive(Debug, Clone)]
pub enum Pending {
    /// Writes (orders, lastGood, pins): written as they are, last writer wins.
    Ops {
        /// The agent.
        agent: String,
        /// The writes.
        ops: Vec<Op>,
    },
    /// A reported outcome: replayed through the server's atomic step at its own time, so the
    /// backoff schedule is the one the server would have applied.
    Outcome {
        /// The agent.
        agent: String,
        /// The profile.
        profile: String,
        /// Its provider.
        provider: ProviderId,
        /// The model, if any.
        model: Option<String>,
        /// What happened, with the provider's answer when it was passed.
        recording: crate::backend::Recording,
        /// When, ms.
        now_ms: i64,
    },
}

/// What the gateway knows about the shared state's server, for `status` and `doctor`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SharedHealth {
    /// The URL, password hidden.
    pub url: String,
    /// The key prefix.
    pub prefix: String,
    /// Reachable at the last call.
    pub up: bool,
    /// Why it is not, when it is not.
    pub problem: Option<String>,
    /// Changes kept locally, waiting to be written back.
    pub pending: usize,
}

/// The link to one server, shared by every agent of a gateway.
pub struct Link {
    /// The connections.
    pub pool: Pool,
    /// This instance's id in change notices (its own notices are not news to it).
    pub origin: String,
    /// The routing caches notified of changes, by agent (their type is `routing`'s business: the link
    /// only carries notices to them).
    agents: Mutex<HashMap<String, Weak<dyn Any + Send + Sync>>>,
    sessions: Mutex<HashMap<String, Weak<dyn SessionWatch>>>,
    pending: Mutex<Vec<Pending>>,
    /// The server's epoch as this instance last saw it.
    pub epoch: Mutex<Option<String>>,
    problem: Mutex<Option<String>>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("pool", &self.pool)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl Link {
    /// A link for `settings`. A bad URL (or a TLS URL) fails here; an unreachable server does not:
    /// the gateway starts from its local records and the watcher connects when it can.
    pub fn new(settings: RedisSettings) -> Result<Arc<Link>, StoreError> {
        Ok(Arc::new(Link {
            pool: Pool::new(settings)?,
            origin: uuid::Uuid::new_v4().to_string(),
            agents: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
            pending: Mutex::new(Vec::new()),
            epoch: Mutex::new(None),
            problem: Mutex::new(None),
        }))
    }

    /// The settings.
    pub fn settings(&self) -> &RedisSettings {
        self.pool.settings()
    }

    /// The change channel.
    pub fn channel(&self) -> String {
        keys::channel(&self.settings().prefix)
    }

    /// Registers the cache of an agent for change notices (see `routing`'s `Link::register`).
    pub(super) fn register_any(&self, agent: &str, cache: Weak<dyn Any + Send + Sync>) {
        lock(&self.agents).insert(agent.to_owned(), cache);
    }

    /// Registers the sessions of an agent for change notices.
    pub fn watch_sessions(&self, agent: &str, watch: Weak<dyn SessionWatch>) {
        lock(&self.sessions).insert(agent.to_owned(), watch);
    }

    /// The registered cache of `agent`, while it is open.
    pub(super) fn agent_any(&self, agent: &str) -> Option<Arc<dyn Any + Send + Sync>> {
        lock(&self.agents).get(agent).and_then(Weak::upgrade)
    }

    /// Every open registered cache.
    pub(super) fn agents_any(&self) -> Vec<Arc<dyn Any + Send + Sync>> {
        lock(&self.agents).values().filter_map(Weak::upgrade).collect()
    }

    /// The session watch of `agent`, while it is open.
    pub fn sessions_of(&self, agent: &str) -> Option<Arc<dyn SessionWatch>> {
        lock(&self.sessions).get(agent).and_then(Weak::upgrade)
    }

    /// Keeps `change` for writing back.
    pub fn keep(&self, change: Pending) {
        lock(&self.pending).push(change);
    }

    /// Takes every kept change (the watcher writes them back, and keeps what fails again).
    pub fn take_pending(&self) -> Vec<Pending> {
        std::mem::take(&mut *lock(&self.pending))
    }

    /// Puts changes back in front (a write-back failed half way).
    pub fn put_back(&self, mut changes: Vec<Pending>) {
        let mut pending = lock(&self.pending);
        changes.append(&mut pending);
        *pending = changes;
    }

    /// Records why the server is out of reach (`None`: it is back).
    pub fn set_problem(&self, problem: Option<String>) {
        *lock(&self.problem) = problem;
    }

    /// Asks the server now (even while it is marked down): `doctor`'s connection check.
    pub fn ping(&self) -> Result<(), StoreError> {
        self.pool
            .call_now(|con| redis::cmd("PING").query::<String>(con))
            .map(|_| ())
    }

    /// What `status` and `doctor` show.
    pub fn health(&self) -> SharedHealth {
        let s = self.settings();
        SharedHealth {
            url: s.display_url(),
            prefix: s.prefix.clone(),
            up: !self.pool.is_down(),
            problem: lock(&self.problem).clone().or_else(|| self.pool.problem()),
            pending: lock(&self.pending).len(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

//! The one entry point: a [`Gateway`] over a state directory (or an in-memory state) hands out cheap
//! [`Agent`] handles with the runtime's verbs (`next`, `report`, `chat`, `status`, orders,
//! credentials). The CLI and `serve` use nothing else.
//!
//! ```no_run
//! use modelauth::{Decision, Gateway, Outcome};
//! let gateway = Gateway::open("/home/me/.openclaw")?;
//! let agent = gateway.default_agent()?;
//! match agent.next(Some("telegram:42"), "anthropic", Some("claude-opus-4-6"))? {
//!     Decision::Ready { profile, secret, .. } => {
//!         // … call the provider with `secret` …
//!         if let Some(p) = profile {
//!             agent.report(&p, Some("claude-opus-4-6"), Outcome::Success)?;
//!         }
//!     }
//!     other => eprintln!("{}", other.problem().unwrap_or("refresh first")),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod agent;
mod builder;
pub use builder::GatewayBuilder;
mod decision;
pub mod doctor;
mod doctor_refs;
mod doctor_store;
mod finding;
mod generation;
pub(crate) mod json_out;
mod login;
pub mod probe;
pub mod probe_cache;
mod probe_models;
mod probe_types;
mod providers;
pub mod status;
pub mod vault;
mod vault_audit;
mod vault_dotenv;
mod vault_migrate;
pub use vault_audit::{AuditFinding, AuditReport};

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use agent::{Agent, AgentError, Lanes, ModelList, OrderView, SessionView};
pub use decision::{CandidatesJson, Decision, Explanation};
pub use login::{LoggedIn, Login, LoginError};

use crate::backend::json::{FileLocks, JsonConfig, JsonProfiles, JsonSessions};
use crate::backend::memory::{MemoryConfig, MemoryLocks, MemoryProfiles, MemorySessions};
use crate::backend::redis::{
    AgentRouting, Link, MigrationParts, RedisLocks, RedisProfiles, RedisSessions, RedisSettings,
    SharedHealth, SharedState,
};
use crate::backend::sqlite::{SqliteLayout, state_db_of};
use crate::backend::{ConfigStore, ProfileStore, SessionStore, StateLock};
use crate::config::{DotenvWarning, Env, StateDir};
use crate::oauth::Refresher;
use crate::resolver::{SharedClock, SystemClock};
use crate::session::RegistryOptions;
use crate::store::{AgentId, Document, IdError, StoreError};

/// Why a gateway or agent could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// A state file could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `modelauth.json` could not be used.
    #[error(transparent)]
    Policy(#[from] crate::config::PolicyError),
    /// An invalid agent id.
    #[error(transparent)]
    Id(#[from] IdError),
    /// The state directory path is not a directory.
    #[error("state directory {0} is not a directory; pass another one")]
    NotADirectory(PathBuf),
    /// No state directory was given and none can be found.
    #[error(transparent)]
    StateDir(#[from] crate::config::StateDirError),
    /// `--layout sqlite` was asked for a directory without OpenClaw's state database.
    #[error(
        "{0} does not exist, so this state directory is not of OpenClaw's SQLite generation; run OpenClaw 2026.9 or later on it first, or drop --layout sqlite"
    )]
    NoStateDatabase(PathBuf),
}

/// Which of OpenClaw's two state generations a state directory uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateLayout {
    /// The JSON files of the early-2026 releases (`auth-profiles.json`, `sessions.json`).
    Json,
    /// The SQLite databases of 2026.9 and later (`state/openclaw.sqlite`, `openclaw-agent.sqlite`).
    Sqlite,
}

impl StateLayout {
    /// `json` or `sqlite`.
    pub fn as_str(self) -> &'static str {
        match self {
            StateLayout::Json => "json",
            StateLayout::Sqlite => "sqlite",
        }
    }

    /// The layout of `root` when none is forced: SQLite when `state/openclaw.sqlite` exists (that is
    /// what OpenClaw 2026.9+ reads, even with JSON files beside it), else JSON.
    pub fn detect(root: &std::path::Path) -> StateLayout {
        if state_db_of(root).is_file() {
            StateLayout::Sqlite
        } else {
            StateLayout::Json
        }
    }
}

/// The OAuth refresh locks of a state directory: OpenClaw's `<state>/locks/oauth-refresh`, shared by
/// every agent (a credential has one lock wherever it is read from).
fn refresh_locks(state: &StateDir) -> Arc<dyn StateLock> {
    Arc::new(FileLocks::new(
        state.root().join("locks").join("oauth-refresh"),
    ))
}

/// A `.env` value: as it is when it needs no quoting, else in single quotes.
fn dotenv_value(v: &str) -> String {
    if v.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.:/+=@".contains(c))
    {
        v.to_owned()
    } else {
        format!("'{}'", v.replace('\'', ""))
    }
}

/// True when an `openclaw` executable is on `PATH` (OpenClaw is installed for this user).
fn openclaw_installed(env: &Env) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    let path = env.get_plain("PATH").unwrap_or_default();
    std::env::split_paths(path).any(|dir| {
        std::fs::metadata(dir.join("openclaw"))
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// Runs `f` without waiting on a database lock on this thread: what an async executor's thread
/// calls. A read of OpenClaw's databases then answers from the last snapshot while another process
/// holds a lock, or fails with an error whose [`AgentError::is_busy`] is true (call again on a thread
/// that may wait, e.g. `spawn_blocking`).
pub fn without_waiting<T>(f: impl FnOnce() -> T) -> T {
    crate::backend::sqlite::without_waiting(f)
}

/// Runs `f` waiting at most `wait` for a database lock, and not at all for a connection another call
/// of this process holds: for periodic background work (a session autosave) that tries again later
/// rather than keep a request waiting behind it.
pub fn waiting_at_most<T>(wait: std::time::Duration, f: impl FnOnce() -> T) -> T {
    crate::backend::sqlite::waiting_at_most(wait, f)
}

/// `<root>/state/openclaw.sqlite` when it exists (OpenClaw's SQLite generation).
pub(crate) fn sqlite_db_of(root: &std::path::Path) -> Option<PathBuf> {
    let db = state_db_of(root);
    db.is_file().then_some(db)
}

/// Where the state lives.
#[derive(Debug)]
enum Layout {
    /// OpenClaw's files in a state directory; its databases when it is of the SQLite generation.
    Files(StateDir, Option<SqliteLayout>),
    /// In memory: one config and one store per agent.
    Memory {
        config: Arc<MemoryConfig>,
        stores: Mutex<HashMap<AgentId, Arc<MemoryProfiles>>>,
        locks: Arc<MemoryLocks>,
    },
}

#[derive(Debug)]
struct Inner {
    layout: Layout,
    env: Env,
    clock: SharedClock,
    options: RegistryOptions,
    /// One OAuth refresher for all agents: the in-process gates of the single flight.
    refresher: Arc<Refresher>,
    agents: Mutex<HashMap<AgentId, Agent>>,
    /// The config store of a file gateway, shared by all agents (opened on first use: a config that
    /// cannot be read is an error of the call that needs it, and is tried again on the next one).
    config: once_cell::sync::OnceCell<Arc<dyn ConfigStore>>,
    dotenv_warnings: Vec<DotenvWarning>,
    /// True when the layout was chosen (`--layout`), not detected.
    layout_forced: bool,
    /// The shared routing state, when one is used (every agent holds it too).
    shared: Option<Arc<SharedState>>,
    /// What importing the login shell's environment did, when `env.shellEnv` is on.
    shell_env: Option<crate::config::ShellImport>,
    /// The routing policy (`modelauth.json`, or the builder's).
    policy: Arc<crate::config::QuotaPolicy>,
}

/// The credential layer of one gateway. Clone it freely; clones share agents and caches.
#[derive(Debug, Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

/// How long an OAuth refresh may take by default (OpenClaw's own token calls allow 30 s; a chat
/// message should not wait that long).
pub const DEFAULT_OAUTH_TIMEOUT: Duration = Duration::from_secs(15);

impl Gateway {
    /// Settings for a gateway; finish with [`GatewayBuilder::open`].
    pub fn builder() -> GatewayBuilder {
        GatewayBuilder::default()
    }

    /// The gateway over OpenClaw's files in `state_dir`, with the process environment plus
    /// `<state_dir>/.env` and the system clock.
    pub fn open(state_dir: impl Into<PathBuf>) -> Result<Gateway, GatewayError> {
        Gateway::builder().state_dir(state_dir).open()
    }

    /// The state directory (`None` for an in-memory gateway).
    pub fn state_dir(&self) -> Option<&std::path::Path> {
        self.state().map(StateDir::root)
    }

    /// The state directory and its paths.
    pub(crate) fn state(&self) -> Option<&StateDir> {
        match &self.inner.layout {
            Layout::Files(s, _) => Some(s),
            Layout::Memory { .. } => None,
        }
    }

    /// The generation this gateway reads and writes (`None` in memory).
    pub fn layout(&self) -> Option<StateLayout> {
        match &self.inner.layout {
            Layout::Files(_, Some(_)) => Some(StateLayout::Sqlite),
            Layout::Files(_, None) => Some(StateLayout::Json),
            Layout::Memory { .. } => None,
        }
    }

    /// The SQLite layout, when this gateway uses it.
    pub(crate) fn sqlite(&self) -> Option<&SqliteLayout> {
        match &self.inner.layout {
            Layout::Files(_, s) => s.as_ref(),
            Layout::Memory { .. } => None,
        }
    }

    /// OpenClaw's state database (`<state>/state/openclaw.sqlite`) when it exists (the SQLite
    /// generation, OpenClaw 2026.9 and later). Under a forced [`StateLayout::Json`] writes to the JSON
    /// files are then refused (they would make OpenClaw refuse the provider).
    pub fn sqlite_db(&self) -> Option<PathBuf> {
        sqlite_db_of(self.state()?.root())
    }

    /// Lines of `<state>/.env` that were skipped, with why.
    pub fn dotenv_warnings(&self) -> &[DotenvWarning] {
        &self.inner.dotenv_warnings
    }

    /// Now, from the gateway's clock.
    pub fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// The alias names the config defines (the chat shortcuts such as `/opus`).
    pub fn alias_names(&self) -> Result<Vec<String>, GatewayError> {
        let config = self.config_store()?.current()?.value;
        Ok(config.aliases().map(|(a, _)| a.to_owned()).collect())
    }

    /// The lookup environment.
    pub fn env(&self) -> &Env {
        &self.inner.env
    }

    /// The agent config names as default (`main` when none).
    pub fn default_agent_id(&self) -> Result<AgentId, GatewayError> {
        Ok(self.config_store()?.current()?.value.default_agent())
    }

    /// Whether agent `id` exists: the default agent, an agent the config lists, or one with state
    /// (a directory under `agents/`, or an in-memory store).
    pub fn knows_agent(&self, id: &str) -> Result<bool, GatewayError> {
        if self.default_agent_id()?.as_str() == id {
            return Ok(true);
        }
        let config = self.config_store()?.current()?.value;
        if config.agents.iter().any(|a| a.id == id) {
            return Ok(true);
        }
        Ok(match &self.inner.layout {
            Layout::Files(state, _) => AgentId::new(id).is_ok_and(|a| state.agent_dir(&a).is_dir()),
            Layout::Memory { stores, .. } => AgentId::new(id).is_ok_and(|a| {
                stores
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .contains_key(&a)
            }),
        })
    }

    /// Every agent that exists ([`Gateway::knows_agent`]), sorted: for "no agent `x` (known: …)".
    pub fn known_agents(&self) -> Result<Vec<String>, GatewayError> {
        let mut ids = std::collections::BTreeSet::new();
        ids.insert(self.default_agent_id()?.to_string());
        let config = self.config_store()?.current()?.value;
        ids.extend(config.agents.iter().map(|a| a.id.to_string()));
        match &self.inner.layout {
            Layout::Files(state, _) => {
                if let Ok(entries) = std::fs::read_dir(state.root().join("agents")) {
                    for e in entries.flatten() {
                        let name = e.file_name().to_string_lossy().into_owned();
                        if e.path().is_dir() && AgentId::new(&name).is_ok() {
                            ids.insert(name);
                        }
                    }
                }
            }
            Layout::Memory { stores, .. } => ids.extend(
                stores
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .keys()
                    .map(ToString::to_string),
            ),
        }
        Ok(ids.into_iter().collect())
    }

    /// The default agent.
    pub fn default_agent(&self) -> Result<Agent, GatewayError> {
        let id = self.default_agent_id()?;
        self.agent(id.as_str())
    }

    /// Agent `id` (opened on first use, then shared). Its credential store is read now: a corrupt
    /// file is an error here.
    pub fn agent(&self, id: &str) -> Result<Agent, GatewayError> {
        let id = AgentId::new(id)?;
        let mut agents = self.inner.agents.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(a) = agents.get(&id) {
            return Ok(a.clone());
        }
        let agent = self.open_agent(&id)?;
        agents.insert(id, agent.clone());
        Ok(agent)
    }

    /// Why a first credential or session written now would be refused ([`StoreError::FreshStateDir`]:
    /// the directory holds nothing yet and OpenClaw is installed), if it would: ask before asking the
    /// user for a secret.
    pub fn first_write_refusal(&self) -> Option<StoreError> {
        let state = self.state()?;
        match self.json_guard(state) {
            crate::backend::json::WriteGuard::UnlessFresh(root)
                if !crate::backend::json::json_generation_evidence(&root) =>
            {
                Some(StoreError::FreshStateDir { dir: root })
            }
            _ => None,
        }
    }

    /// When the JSON files of `state` may be written: never beside a state database; a first write
    /// into a directory holding nothing, while OpenClaw is installed (`openclaw` on `PATH`), only when
    /// `--layout json` chose the JSON generation (docs/DECISIONS.md).
    fn json_guard(&self, state: &StateDir) -> crate::backend::json::WriteGuard {
        use crate::backend::json::WriteGuard;
        match self.sqlite_db() {
            Some(db) => WriteGuard::SqliteGeneration(db),
            None if self.inner.layout_forced || !openclaw_installed(&self.inner.env) => {
                WriteGuard::Open
            }
            None => WriteGuard::UnlessFresh(state.root().to_owned()),
        }
    }

    /// Builds the backends of agent `id`.
    fn open_agent(&self, id: &AgentId) -> Result<Agent, GatewayError> {
        let inner = &self.inner;
        let parts = match &inner.layout {
            Layout::Files(state, Some(sqlite)) => {
                let (profiles, sessions) = sqlite.open_agent(id)?;
                agent::Parts {
                    profiles: Arc::new(profiles) as Arc<dyn ProfileStore>,
                    sessions: Some(Arc::new(sessions) as Arc<dyn SessionStore>),
                    config: self.config_store()?,
                    locks: Arc::new(FileLocks::new(state.agent_dir(id))) as Arc<dyn StateLock>,
                    refresh_locks: refresh_locks(state),
                    state: Some(state.clone()),
                    layout: Some(StateLayout::Sqlite),
                    shared: None,
                    migration: None,
                }
            }
            Layout::Files(state, None) => agent::Parts {
                profiles: Arc::new(
                    JsonProfiles::open(crate::backend::json::AuthFile::new(state.auth_path(id)))?
                        .guarded(self.json_guard(state)),
                ) as Arc<dyn ProfileStore>,
                sessions: Some(Arc::new(
                    JsonSessions::new(crate::backend::json::SessionsFile::new(
                        state.sessions_path(id),
                    ))
                    .guarded(self.json_guard(state)),
                ) as Arc<dyn SessionStore>),
                config: self.config_store()?,
                locks: Arc::new(FileLocks::new(state.agent_dir(id))) as Arc<dyn StateLock>,
                refresh_locks: refresh_locks(state),
                state: Some(state.clone()),
                layout: Some(StateLayout::Json),
                shared: None,
                migration: None,
            },
            Layout::Memory {
                config,
                stores,
                locks,
            } => {
                let store = stores
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(id.clone())
                    .or_insert_with(|| Arc::new(MemoryProfiles::new(Document::default())))
                    .clone();
                agent::Parts {
                    profiles: store,
                    sessions: Some(Arc::new(MemorySessions::default())),
                    config: Arc::clone(config) as Arc<dyn ConfigStore>,
                    locks: Arc::clone(locks) as Arc<dyn StateLock>,
                    refresh_locks: Arc::clone(locks) as Arc<dyn StateLock>,
                    state: None,
                    layout: None,
                    shared: None,
                    migration: None,
                }
            }
        };
        let parts = match &inner.shared {
            Some(shared) => builder::share(parts, shared, id, &inner.clock)?,
            None => parts,
        };
        Ok(Agent::from_parts(
            id.clone(),
            inner.env.clone(),
            Arc::clone(&inner.clock),
            inner.options.clone(),
            Arc::clone(&inner.refresher),
            parts,
            Arc::clone(&inner.policy),
        ))
    }

    /// The shared state's server and how it is doing, when one is used.
    pub fn shared_health(&self) -> Option<SharedHealth> {
        self.inner.shared.as_ref().map(|s| s.link.health())
    }

    /// Sets `name` in `<state>/.env` (the line of that name replaced, other lines kept; the file
    /// created 0600), where the CLI and a daemon started for this state directory read it. Returns
    /// whether the name was there before. Refused for an in-memory gateway.
    pub fn set_dotenv(&self, name: &str, value: &crate::Secret) -> Result<bool, GatewayError> {
        let Some(state) = self.state() else {
            return Err(GatewayError::Store(StoreError::Conflict {
                path: "memory".into(),
                what: "an in-memory gateway has no .env".into(),
            }));
        };
        let path = state.dotenv_path();
        let quoted = dotenv_value(value.expose_secret());
        let replaced = crate::store::atomic::update(&path, 1 << 20, |current| {
            let text = zeroize::Zeroizing::new(current.unwrap_or_default());
            let mut found = false;
            let mut out = String::with_capacity(text.len() + name.len() + quoted.len() + 2);
            for line in text.lines() {
                if crate::config::dotenv::line_assigns(line, name) {
                    if !found {
                        out.push_str(&format!("{name}={quoted}\n"));
                    }
                    found = true;
                } else {
                    out.push_str(line);
                    out.push('\n');
                }
            }
            if !found {
                out.push_str(&format!("{name}={quoted}\n"));
            }
            // Never write a file every later command would refuse to read.
            if out.len() as u64 > 1 << 20 {
                return Err(StoreError::TooLarge {
                    path: path.clone(),
                    size: out.len() as u64,
                    limit: 1 << 20,
                });
            }
            Ok::<_, StoreError>((Some(out), found))
        })?;
        Ok(replaced)
    }

    /// What importing the login shell's environment did (`None`: `env.shellEnv` is off, or an
    /// environment was given).
    pub fn shell_env_import(&self) -> Option<&crate::config::ShellImport> {
        self.inner.shell_env.as_ref()
    }

    /// Asks the shared state's server whether it answers now (`Ok` when no server is used): a
    /// one-shot command that changes state calls it first, since a change it cannot make durable
    /// before it exits would be lost.
    pub fn check_shared_reachable(&self) -> Result<(), GatewayError> {
        match self.shared_link() {
            Some(link) => link.ping().map_err(GatewayError::Store),
            None => Ok(()),
        }
    }

    /// The link to the shared state's server, when one is used.
    pub(crate) fn shared_link(&self) -> Option<&Arc<Link>> {
        self.inner.shared.as_ref().map(|s| &s.link)
    }

    /// The config store, one per gateway.
    fn config_store(&self) -> Result<Arc<dyn ConfigStore>, GatewayError> {
        let store = self.inner.config.get_or_try_init(|| {
            Ok::<_, GatewayError>(match &self.inner.layout {
                Layout::Files(state, _) => {
                    Arc::new(JsonConfig::open(state.config_file_followed()?)?)
                }
                Layout::Memory { config, .. } => Arc::clone(config) as Arc<dyn ConfigStore>,
            })
        })?;
        Ok(Arc::clone(store))
    }

    /// Writes every agent's changed sessions now (call at shutdown).
    pub fn flush(&self) -> Result<(), AgentError> {
        let agents: Vec<Agent> = self
            .inner
            .agents
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        for a in agents {
            a.flush()?;
        }
        Ok(())
    }
}

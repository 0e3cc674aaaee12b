//! The backend of OpenClaw's SQLite generation (2026.9 and later), as 2026.9.6 lays it out:
//!
//! - `<state>/state/openclaw.sqlite`: `config_machine_state` rows `auth.sharedStore` (where the shared
//!   credentials live), `authProfiles.store` (the main agent's credentials, inherited by every agent)
//!   and `authProfiles.state` (their `order`, `lastGood`, `usageStats`);
//! - `<state>/agents/<id>/agent/openclaw-agent.sqlite`: `auth_profile_store` / `auth_profile_state`
//!   row `primary` (the agent's own credentials and state: order overrides live here) and
//!   `session_nodes` (sessions; `entry_json` is the old `sessions.json` entry).
//!
//! Each agent gets one connection ([`db::Db`]) shared by its [`SqliteProfiles`] and [`SqliteSessions`].
//! Nothing here creates a database, a table, or a JSON file beside them.

pub mod db;
mod fresh;
pub mod merge;
pub mod nowait;
pub mod profiles;
pub mod sessions;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use db::SharedLocation;
pub use nowait::{is_busy, waiting_at_most, without_waiting};
pub use profiles::SqliteProfiles;
pub use sessions::SqliteSessions;

use crate::store::{AgentId, StoreError};

/// The agent whose credentials are the shared ones (OpenClaw's implicit legacy agent).
pub const MAIN_AGENT: &str = "main";

/// A state directory of the SQLite generation.
#[derive(Debug, Clone)]
pub struct SqliteLayout {
    root: PathBuf,
    state_db: PathBuf,
    location: SharedLocation,
}

impl SqliteLayout {
    /// The layout of `root`, whose `state/openclaw.sqlite` must exist.
    pub fn open(root: &Path) -> Result<SqliteLayout, StoreError> {
        let state_db = state_db_of(root);
        let location = db::shared_location(&state_db)?;
        Ok(SqliteLayout { root: root.to_owned(), state_db, location })
    }

    /// Where the shared credentials live.
    pub fn location(&self) -> SharedLocation {
        self.location
    }

    /// Agent `agent`'s database (which may not exist yet).
    pub fn agent_db(&self, agent: &AgentId) -> PathBuf {
        agent_db_of(&self.root, agent.as_str())
    }

    /// The stores of `agent`, sharing one connection.
    pub fn open_agent(&self, agent: &AgentId) -> Result<(SqliteProfiles, SqliteSessions), StoreError> {
        let is_main = agent.as_str() == MAIN_AGENT;
        let shared = (self.location == SharedLocation::LegacyMain && !is_main)
            .then(|| agent_db_of(&self.root, MAIN_AGENT));
        let db = db::Db::open(&self.state_db, &self.agent_db(agent), shared.as_deref())?;
        let db = Arc::new(Mutex::new(db));
        Ok((
            SqliteProfiles::new(Arc::clone(&db), agent.clone(), self.location, is_main),
            SqliteSessions::new(db, agent.clone()),
        ))
    }
}

/// `<root>/state/openclaw.sqlite`.
pub fn state_db_of(root: &Path) -> PathBuf {
    root.join("state").join("openclaw.sqlite")
}

/// `<root>/agents/<agent>/agent/openclaw-agent.sqlite`.
pub fn agent_db_of(root: &Path, agent: &str) -> PathBuf {
    root.join("agents").join(agent).join("agent").join("openclaw-agent.sqlite")
}

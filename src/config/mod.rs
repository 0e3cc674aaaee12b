//! The state directory, `openclaw.json` and the lookup environment (SPEC §2).

pub mod check;
pub mod dotenv;
pub mod env;
pub mod file;
pub mod policy;
pub mod secrets;
pub mod shape;
pub mod shell_env;

use std::path::{Path, PathBuf};

pub use env::{DotenvWarning, Env, KeySource};
pub use file::{
    AgentConfig, BUILTIN_DEFAULT_MODEL, Config, ConfigFile, ConfigWrite, ProfileMeta,
    ProviderConfig,
};
pub use policy::{DEFAULT_POLICY, POLICY_FILE, PolicyError, QuotaPolicy, Thresholds};
pub use shape::ConfigShape;
pub use shell_env::ShellImport;

use crate::store::AgentId;

/// Why no state directory could be chosen.
#[derive(Debug, thiserror::Error)]
pub enum StateDirError {
    /// No flag, no `OPENCLAW_STATE_DIR` and no `HOME`.
    #[error(
        "cannot find the state directory: pass --state-dir DIR or set OPENCLAW_STATE_DIR (HOME is not set)"
    )]
    NoHome,
}

/// A state directory (`~/.openclaw` or another) and the paths inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// A state directory at `root`.
    pub fn new(root: impl Into<PathBuf>) -> StateDir {
        StateDir { root: root.into() }
    }

    /// `flag` (from `--state-dir`), else `$OPENCLAW_STATE_DIR`, else `$HOME/.openclaw`.
    pub fn resolve(flag: Option<&Path>, env: &Env) -> Result<StateDir, StateDirError> {
        if let Some(dir) = flag {
            return Ok(StateDir::new(dir));
        }
        if let Some(dir) = env.get_plain("OPENCLAW_STATE_DIR") {
            return Ok(StateDir::new(dir));
        }
        let home = env.get_plain("HOME").ok_or(StateDirError::NoHome)?;
        Ok(StateDir::new(Path::new(home).join(".openclaw")))
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `openclaw.json`, followed when it is a symbolic link to a file of the state directory's owner
    /// ([`ConfigFile::following`]); a link to anything else is an error naming it.
    pub fn config_file_followed(&self) -> Result<ConfigFile, crate::store::StoreError> {
        ConfigFile::following(self.root.join("openclaw.json"))
    }

    /// `.env`.
    pub fn dotenv_path(&self) -> PathBuf {
        self.root.join(".env")
    }

    /// `agents/<id>/agent/`.
    pub fn agent_dir(&self, agent: &AgentId) -> PathBuf {
        self.root.join("agents").join(agent.as_str()).join("agent")
    }

    /// `agents/<id>/sessions/`.
    pub fn sessions_dir(&self, agent: &AgentId) -> PathBuf {
        self.root
            .join("agents")
            .join(agent.as_str())
            .join("sessions")
    }

    /// Where the agent's `auth-profiles.json` is (the JSON generation).
    pub fn auth_path(&self, agent: &AgentId) -> PathBuf {
        self.agent_dir(agent).join("auth-profiles.json")
    }

    /// Where the agent's `sessions.json` is (the JSON generation).
    pub fn sessions_path(&self, agent: &AgentId) -> PathBuf {
        self.sessions_dir(agent).join("sessions.json")
    }
}

//! The file backend: OpenClaw's early-2026 JSON layout (`auth-profiles.json`, `sessions.json`,
//! `openclaw.json`), every write under OpenClaw's sidecar lock and atomic (see [`crate::store::lock`]).

mod auth_file;
mod session_index;
mod session_layout;
mod sessions_file;

pub use auth_file::{AUTH_FILE_LIMIT, AuthFile};
pub use sessions_file::{SESSIONS_FILE_LIMIT, SessionsFile};

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{Config, ConfigFile, ConfigWrite};
use crate::store::lock::{FileLock, LockOptions, acquire};
use crate::store::{
    AuthEdit, AuthProfiles, Document, SessionRecord, StoreError,
};

use super::stamped::Stamped;
use super::{
    ConfigStore, LockGuard, ProfileStore, ReportError, SessionStore, StateLock, Versioned,
};

/// When the JSON files of a state directory may be written.
#[derive(Debug, Clone, Default)]
pub enum WriteGuard {
    /// Always (the layout was chosen with `--layout json`, or nothing is known of the directory).
    #[default]
    Open,
    /// Never: the directory has OpenClaw's state database (the SQLite generation).
    SqliteGeneration(PathBuf),
    /// Only once the directory shows it is of the JSON generation (see [`json_generation_evidence`]):
    /// a first write into a directory holding nothing is refused with [`StoreError::FreshStateDir`].
    UnlessFresh(PathBuf),
}

impl WriteGuard {
    /// Refuses a write of `path` when this guard says so.
    fn check(&self, path: &Path) -> Result<(), StoreError> {
        match self {
            WriteGuard::Open => Ok(()),
            WriteGuard::SqliteGeneration(db) => Err(StoreError::SqliteGeneration {
                path: path.to_owned(),
                db: db.clone(),
            }),
            WriteGuard::UnlessFresh(root) if !json_generation_evidence(root) => {
                Err(StoreError::FreshStateDir { dir: root.clone() })
            }
            WriteGuard::UnlessFresh(_) => Ok(()),
        }
    }
}

/// True when state directory `root` is of OpenClaw's JSON generation: an agent has an
/// `auth-profiles.json` or `sessions.json`, or `openclaw.json` was last written by a release before
/// 2026.9 (`meta.lastTouchedVersion`).
pub fn json_generation_evidence(root: &Path) -> bool {
    let agents = std::fs::read_dir(root.join("agents")).into_iter().flatten().flatten();
    for agent in agents {
        let dir = agent.path();
        if dir.join("agent/auth-profiles.json").exists() || dir.join("sessions/sessions.json").exists() {
            return true;
        }
    }
    let Ok(text) = std::fs::read_to_string(root.join("openclaw.json")) else {
        return false;
    };
    let version = text
        .split("\"lastTouchedVersion\"")
        .nth(1)
        .and_then(|rest| rest.split('"').nth(1))
        .map(str::to_owned);
    version.is_some_and(|v| v.as_str() < "2026.9")
}

/// One agent's `auth-profiles.json`, with a snapshot reloaded when the file changes on disk.
#[derive(Debug)]
pub struct JsonProfiles {
    file: AuthFile,
    cache: Stamped<AuthProfiles>,
    /// When writes are allowed.
    guard: WriteGuard,
}

impl JsonProfiles {
    /// Opens the store at `file`, reading it now (a corrupt file is an error here).
    pub fn open(file: AuthFile) -> Result<JsonProfiles, StoreError> {
        let cache = Stamped::load(file.path(), || file.load())?;
        Ok(JsonProfiles {
            file,
            cache,
            guard: WriteGuard::Open,
        })
    }

    /// Writes only as `guard` allows.
    pub fn guarded(mut self, guard: WriteGuard) -> JsonProfiles {
        self.guard = guard;
        self
    }
}

impl ProfileStore for JsonProfiles {
    fn location(&self) -> String {
        self.file.path().display().to_string()
    }

    fn snapshot(&self) -> Result<Versioned<AuthProfiles>, StoreError> {
        self.cache.current(|| self.file.load())
    }

    fn edit(
        &self,
        change: &mut dyn FnMut(&mut AuthEdit) -> Result<(), ReportError>,
    ) -> Result<(), ReportError> {
        if !self.file.path().exists() {
            self.guard.check(self.file.path())?;
        } else if let WriteGuard::SqliteGeneration(_) = self.guard {
            self.guard.check(self.file.path())?;
        }
        self.file.update(|e| change(e))
    }
}

/// One agent's `sessions.json`.
#[derive(Debug)]
pub struct JsonSessions {
    file: SessionsFile,
    guard: WriteGuard,
}

impl JsonSessions {
    /// The sessions at `file` (nothing is read until a session is asked for).
    pub fn new(file: SessionsFile) -> JsonSessions {
        JsonSessions {
            file,
            guard: WriteGuard::Open,
        }
    }

    /// Writes only as `guard` allows.
    pub fn guarded(mut self, guard: WriteGuard) -> JsonSessions {
        self.guard = guard;
        self
    }
}

impl SessionStore for JsonSessions {
    fn location(&self) -> String {
        self.file.path().display().to_string()
    }

    fn load_one(&self, key: &str) -> Result<Option<SessionRecord>, StoreError> {
        self.file.load_one(key)
    }

    fn load_all_unless_absent(
        &self,
        key: &str,
    ) -> Result<Option<Vec<(String, SessionRecord)>>, StoreError> {
        self.file.load_all_unless_absent(key)
    }

    fn load_all(&self) -> Result<Vec<(String, SessionRecord)>, StoreError> {
        self.file.load()
    }

    fn store(&self, records: &[(&str, &SessionRecord)]) -> Result<(), StoreError> {
        if !self.file.path().exists() || matches!(self.guard, WriteGuard::SqliteGeneration(_)) {
            self.guard.check(self.file.path())?;
        }
        self.file.store(records.iter().copied())
    }
}

/// `openclaw.json`, reloaded when it changes on disk.
#[derive(Debug)]
pub struct JsonConfig {
    file: ConfigFile,
    cache: Stamped<Config>,
}

impl JsonConfig {
    /// Opens the config at `file`, reading it now (a syntax error is an error here).
    pub fn open(file: ConfigFile) -> Result<JsonConfig, StoreError> {
        let cache = Stamped::load(file.path(), || file.load())?;
        Ok(JsonConfig { file, cache })
    }
}

impl ConfigStore for JsonConfig {
    fn location(&self) -> String {
        self.file.path().display().to_string()
    }

    fn current(&self) -> Result<Versioned<Config>, StoreError> {
        self.cache.current(|| self.file.load())
    }

    fn update(
        &self,
        change: &mut dyn FnMut(&mut Document) -> bool,
    ) -> Result<ConfigWrite, StoreError> {
        self.file.update(change)
    }
}

/// Named locks as sidecar lock files in one directory (`<dir>/<name>.lock`), OpenClaw's protocol: a
/// holder that died is detected by its pid at once; `lease` bounds a holder without a readable owner.
#[derive(Debug)]
pub struct FileLocks {
    dir: PathBuf,
}

impl FileLocks {
    /// Locks beside the files of `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> FileLocks {
        FileLocks { dir: dir.into() }
    }
}

impl LockGuard for FileLock {}

impl StateLock for FileLocks {
    fn acquire(
        &self,
        name: &str,
        lease: Duration,
        deadline: Duration,
    ) -> Result<Box<dyn LockGuard>, StoreError> {
        crate::store::atomic::ensure_dir(&self.dir)?;
        let options = LockOptions {
            deadline,
            stale_after: lease,
        };
        Ok(Box::new(acquire(&self.dir.join(name), options)?))
    }
}

//! The file backend: OpenClaw's early-2026 JSON layout (`auth-profiles.json`, `sessions.json`,
//! `openclaw.json`), every write under OpenClaw's sidecar lock and atomic (see [`crate::store::lock`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{Config, ConfigFile, ConfigWrite};
use crate::store::lock::{FileLock, LockOptions, acquire};
use crate::store::{
    AuthEdit, AuthFile, AuthProfiles, Document, SessionRecord, SessionsFile, StoreError,
};

use super::stamped::Stamped;
use super::{
    ConfigStore, LockGuard, ProfileStore, ReportError, SessionStore, StateLock, Versioned,
};

/// The write refusal of a JSON file in a directory of OpenClaw's SQLite generation (`db` set).
fn refuse_sqlite_generation(db: Option<&Path>, path: &Path) -> Result<(), StoreError> {
    match db {
        Some(db) => Err(StoreError::SqliteGeneration {
            path: path.to_owned(),
            db: db.to_owned(),
        }),
        None => Ok(()),
    }
}

/// One agent's `auth-profiles.json`, with a snapshot reloaded when the file changes on disk.
#[derive(Debug)]
pub struct JsonProfiles {
    file: AuthFile,
    cache: Stamped<AuthProfiles>,
    /// The SQLite state database that makes this directory read-only for the JSON backend, if any.
    sqlite: Option<PathBuf>,
}

impl JsonProfiles {
    /// Opens the store at `file`, reading it now (a corrupt file is an error here).
    pub fn open(file: AuthFile) -> Result<JsonProfiles, StoreError> {
        let cache = Stamped::load(file.path(), || file.load())?;
        Ok(JsonProfiles {
            file,
            cache,
            sqlite: None,
        })
    }

    /// Refuses every write with [`StoreError::SqliteGeneration`] naming `db`.
    pub fn read_only_for(mut self, db: Option<PathBuf>) -> JsonProfiles {
        self.sqlite = db;
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
        refuse_sqlite_generation(self.sqlite.as_deref(), self.file.path())?;
        self.file.update(|e| change(e))
    }
}

/// One agent's `sessions.json`.
#[derive(Debug)]
pub struct JsonSessions {
    file: SessionsFile,
    sqlite: Option<PathBuf>,
}

impl JsonSessions {
    /// The sessions at `file` (nothing is read until a session is asked for).
    pub fn new(file: SessionsFile) -> JsonSessions {
        JsonSessions { file, sqlite: None }
    }

    /// Refuses every write with [`StoreError::SqliteGeneration`] naming `db`.
    pub fn read_only_for(mut self, db: Option<PathBuf>) -> JsonSessions {
        self.sqlite = db;
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
        refuse_sqlite_generation(self.sqlite.as_deref(), self.file.path())?;
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

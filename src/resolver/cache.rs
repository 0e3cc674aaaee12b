//! A long-running resolver's view of `auth-profiles.json`: an in-memory snapshot that is reloaded when
//! the file's stamp (mtime, size, inode) changes, so edits from other processes are seen on the next
//! call and never clobbered: every write goes through the store's locked read–modify–write.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

pub use crate::store::FileStamp;
use crate::store::{AuthFile, AuthProfiles, StoreError};

use super::outcome::{Applied, Outcome, apply};

/// Why a report could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The store could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The profile is not in the store.
    #[error(
        "Auth profile \"{id}\" not found in {path}; list profiles with modelauth models auth list."
    )]
    UnknownProfile {
        /// The id.
        id: String,
        /// The store file.
        path: String,
    },
}

/// A value read from one file, read again when the file's stamp changes. Readers share the current
/// value (`Arc`); the lock is held only to compare the stamp or swap the value, never while reading.
#[derive(Debug)]
pub struct Stamped<T> {
    path: PathBuf,
    slot: RwLock<(Option<FileStamp>, Arc<T>)>,
}

impl<T> Stamped<T> {
    /// Reads `path` now with `load`.
    pub fn load<E>(path: &Path, load: impl FnOnce() -> Result<T, E>) -> Result<Self, E> {
        let stamp = FileStamp::of(path);
        let value = Arc::new(load()?);
        Ok(Stamped {
            path: path.to_owned(),
            slot: RwLock::new((stamp, value)),
        })
    }

    /// The current value, read again with `load` first when the file changed since it was read.
    ///
    /// When the changed file cannot be read (e.g. another tool left it corrupt) the error is returned and
    /// the old value stays in place for the next call.
    pub fn current<E>(&self, load: impl FnOnce() -> Result<T, E>) -> Result<Arc<T>, E> {
        // The stamp is taken before reading, so a write racing with the read is seen next time.
        let stamp = FileStamp::of(&self.path);
        {
            let guard = self.slot.read().unwrap_or_else(|e| e.into_inner());
            if guard.0 == stamp {
                return Ok(Arc::clone(&guard.1));
            }
        }
        let fresh = Arc::new(load()?);
        *self.slot.write().unwrap_or_else(|e| e.into_inner()) = (stamp, Arc::clone(&fresh));
        tracing::debug!(file = %self.path.display(), "reloaded after a change on disk");
        Ok(fresh)
    }
}

/// A reloading snapshot of one `auth-profiles.json`. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct StoreCache {
    file: AuthFile,
    snapshot: Stamped<AuthProfiles>,
}

impl StoreCache {
    /// Opens the store at `file`, loading it now (a corrupt file is an error here).
    pub fn open(file: AuthFile) -> Result<StoreCache, StoreError> {
        let snapshot = Stamped::load(file.path(), || file.load())?;
        Ok(StoreCache { file, snapshot })
    }

    /// The file this cache reads.
    pub fn file(&self) -> &AuthFile {
        &self.file
    }

    /// The current snapshot, reloaded first when the file changed on disk since it was read.
    ///
    /// When the changed file cannot be read (e.g. another tool left it corrupt) the error is returned and
    /// the old snapshot stays in place for the next call.
    pub fn current(&self) -> Result<Arc<AuthProfiles>, StoreError> {
        self.snapshot.current(|| self.file.load())
    }

    /// Records `outcome` for `profile` (used with `model`) at `now_ms`, under the store's lock, and sets
    /// `lastGood` on success. Returns what changed.
    pub fn report(
        &self,
        profile: &str,
        model: Option<&str>,
        outcome: Outcome,
        now_ms: i64,
    ) -> Result<Applied, ReportError> {
        let applied = self.file.update(|edit| {
            let view = edit.view();
            let Some(p) = view.profiles.get(profile) else {
                return Err(ReportError::UnknownProfile {
                    id: profile.to_owned(),
                    path: self.file.path().display().to_string(),
                });
            };
            let mut stats = view.usage_of(profile);
            let applied = apply(&mut stats, outcome, model, now_ms);
            if !matches!(applied, Applied::InsideActiveWindow(_)) {
                edit.set_usage(profile, &stats);
            }
            if applied == Applied::Succeeded {
                edit.set_last_good(&p.provider, profile);
            }
            Ok(applied)
        })?;
        tracing::debug!(profile, ?applied, "outcome reported");
        Ok(applied)
    }
}

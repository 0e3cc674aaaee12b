//! A value read from one file, read again when the file's stamp (mtime, size, inode) changes, so that
//! edits from other processes are seen on the next call.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::store::FileStamp;

use super::Versioned;

/// Versions handed out by every [`Stamped`] and memory store of the process: never reused.
static GENERATION: AtomicU64 = AtomicU64::new(1);

/// A fresh version number.
pub fn next_version() -> u64 {
    GENERATION.fetch_add(1, Ordering::Relaxed)
}

/// Readers share the current value (`Arc`); the lock is held only to compare the stamp or swap the
/// value, never while reading the file.
#[derive(Debug)]
pub struct Stamped<T> {
    path: PathBuf,
    slot: RwLock<(Option<FileStamp>, Versioned<T>)>,
}

impl<T> Stamped<T> {
    /// Reads `path` now with `load`.
    pub fn load<E>(path: &Path, load: impl FnOnce() -> Result<T, E>) -> Result<Self, E> {
        let stamp = FileStamp::of(path);
        let value = Versioned {
            version: next_version(),
            value: Arc::new(load()?),
        };
        Ok(Stamped {
            path: path.to_owned(),
            slot: RwLock::new((stamp, value)),
        })
    }

    /// The current value, read again with `load` first when the file changed since it was read.
    ///
    /// When the changed file cannot be read (e.g. another tool left it corrupt) the error is returned and
    /// the old value stays in place for the next call.
    pub fn current<E>(&self, load: impl FnOnce() -> Result<T, E>) -> Result<Versioned<T>, E> {
        // The stamp is taken before reading, so a write racing with the read is seen next time.
        let stamp = FileStamp::of(&self.path);
        {
            let guard = self.slot.read().unwrap_or_else(|e| e.into_inner());
            if guard.0 == stamp {
                return Ok(guard.1.clone());
            }
        }
        let fresh = Versioned {
            version: next_version(),
            value: Arc::new(load()?),
        };
        *self.slot.write().unwrap_or_else(|e| e.into_inner()) = (stamp, fresh.clone());
        tracing::debug!(file = %self.path.display(), "reloaded after a change on disk");
        Ok(fresh)
    }
}

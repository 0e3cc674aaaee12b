//! The in-memory backend: the same behaviour as the file backend without files, for tests, embedding
//! and `chat --demo`. Each store is one document behind a mutex, edited with the same code as the file.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::config::{Config, ConfigWrite};
use crate::store::{AuthEdit, AuthProfiles, Document, SessionRecord, StoreError};

use super::stamped::next_version;
use super::{
    ConfigStore, LockGuard, ProfileStore, ReportError, SessionStore, StateLock, Versioned,
};

/// One document and the typed view built from it, behind a mutex: what both memory stores keep.
#[derive(Debug)]
struct DocSlot<T> {
    slot: Mutex<(Document, Versioned<T>)>,
    build: fn(&Document) -> T,
}

impl<T> DocSlot<T> {
    fn new(doc: Document, build: fn(&Document) -> T) -> DocSlot<T> {
        let view = Versioned {
            version: next_version(),
            value: Arc::new(build(&doc)),
        };
        DocSlot {
            slot: Mutex::new((doc, view)),
            build,
        }
    }

    fn current(&self) -> Versioned<T> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner()).1.clone()
    }

    /// Atomically: `change` gets a copy of the document and returns the new one (`None`: unchanged).
    fn modify<R, E>(
        &self,
        change: impl FnOnce(Document) -> Result<(Option<Document>, R), E>,
    ) -> Result<R, E> {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        let (new, value) = change(slot.0.clone())?;
        if let Some(doc) = new {
            let view = Versioned {
                version: next_version(),
                value: Arc::new((self.build)(&doc)),
            };
            *slot = (doc, view);
        }
        Ok(value)
    }
}

/// Credentials and routing records in memory.
#[derive(Debug)]
pub struct MemoryProfiles {
    doc: DocSlot<AuthProfiles>,
}

impl MemoryProfiles {
    /// A store holding `doc` (an `auth-profiles.json` document).
    pub fn new(doc: Document) -> MemoryProfiles {
        MemoryProfiles {
            doc: DocSlot::new(doc, AuthProfiles::from_document),
        }
    }
}

impl ProfileStore for MemoryProfiles {
    fn location(&self) -> String {
        "memory".to_owned()
    }

    fn snapshot(&self) -> Result<Versioned<AuthProfiles>, StoreError> {
        Ok(self.doc.current())
    }

    fn edit(
        &self,
        change: &mut dyn FnMut(&mut AuthEdit) -> Result<(), ReportError>,
    ) -> Result<(), ReportError> {
        self.doc.modify(|doc| {
            let mut edit = AuthEdit::new(doc);
            edit.check_writable("memory")?;
            change(&mut edit)?;
            let (doc, changed) = edit.finish();
            Ok((changed.then_some(doc), ()))
        })
    }
}

/// Session entries in memory.
#[derive(Debug, Default)]
pub struct MemorySessions {
    map: Mutex<BTreeMap<String, SessionRecord>>,
}

impl SessionStore for MemorySessions {
    fn location(&self) -> String {
        "memory".to_owned()
    }

    fn load_one(&self, key: &str) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self
            .map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned())
    }

    fn load_all_unless_absent(
        &self,
        key: &str,
    ) -> Result<Option<Vec<(String, SessionRecord)>>, StoreError> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if !map.contains_key(key) {
            return Ok(None);
        }
        Ok(Some(
            map.iter().map(|(k, r)| (k.clone(), r.clone())).collect(),
        ))
    }

    fn load_all(&self) -> Result<Vec<(String, SessionRecord)>, StoreError> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        Ok(map.iter().map(|(k, r)| (k.clone(), r.clone())).collect())
    }

    fn store(&self, records: &[(&str, &SessionRecord)]) -> Result<(), StoreError> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        for (key, record) in records {
            let entry = map.entry((*key).to_owned()).or_default();
            let gateway_count = entry.compaction_count;
            *entry = (*record).clone();
            entry.compaction_count = gateway_count.max(record.compaction_count);
        }
        Ok(())
    }
}

/// A config in memory.
#[derive(Debug)]
pub struct MemoryConfig {
    doc: DocSlot<Config>,
}

impl MemoryConfig {
    /// A config holding `doc` (an `openclaw.json` document).
    pub fn new(doc: Document) -> MemoryConfig {
        MemoryConfig {
            doc: DocSlot::new(doc, Config::from_document),
        }
    }
}

impl ConfigStore for MemoryConfig {
    fn location(&self) -> String {
        "memory".to_owned()
    }

    fn current(&self) -> Result<Versioned<Config>, StoreError> {
        Ok(self.doc.current())
    }

    fn update(
        &self,
        change: &mut dyn FnMut(&mut Document) -> bool,
    ) -> Result<ConfigWrite, StoreError> {
        self.doc.modify(|mut doc| {
            let written = change(&mut doc);
            let result = ConfigWrite {
                dropped_comments: false,
                written,
            };
            Ok::<_, StoreError>((written.then_some(doc), result))
        })
    }
}

/// Named locks within one process.
#[derive(Debug, Default)]
pub struct MemoryLocks {
    held: Arc<(Mutex<HashSet<String>>, Condvar)>,
}

/// A held [`MemoryLocks`] lock.
#[derive(Debug)]
struct MemoryGuard {
    name: String,
    held: Arc<(Mutex<HashSet<String>>, Condvar)>,
}

impl Drop for MemoryGuard {
    fn drop(&mut self) {
        let (set, cv) = &*self.held;
        set.lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.name);
        cv.notify_all();
    }
}

impl LockGuard for MemoryGuard {}

impl StateLock for MemoryLocks {
    fn acquire(
        &self,
        name: &str,
        _lease: Duration,
        deadline: Duration,
    ) -> Result<Box<dyn LockGuard>, StoreError> {
        let (set, cv) = &*self.held;
        let guard = set.lock().unwrap_or_else(|e| e.into_inner());
        let (mut guard, timeout) = cv
            .wait_timeout_while(guard, deadline, |held| held.contains(name))
            .unwrap_or_else(|e| e.into_inner());
        if timeout.timed_out() && guard.contains(name) {
            return Err(StoreError::LockTimeout {
                path: name.into(),
                holder: format!("pid {} (this process)", std::process::id()),
                waited_ms: deadline.as_millis() as u64,
            });
        }
        guard.insert(name.to_owned());
        Ok(Box::new(MemoryGuard {
            name: name.to_owned(),
            held: Arc::clone(&self.held),
        }))
    }
}

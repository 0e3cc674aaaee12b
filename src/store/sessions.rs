//! `sessions.json`: the fields modelauth owns in each session entry (SPEC §2). Every other field and
//! every other entry is preserved on rewrite.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

use super::atomic;
use super::error::StoreError;
use super::hash::IdHasher;
use super::json::{Document, object_entry};
use super::stamp::FileStamp;

/// The largest `sessions.json` modelauth reads (256 MiB; gateways with many chats grow large files).
pub const SESSIONS_FILE_LIMIT: u64 = 256 << 20;

/// Who chose an override: the user (typed it) or the resolver (automatic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OverrideSource {
    /// Typed by the user.
    User,
    /// Chosen automatically.
    Auto,
}

impl OverrideSource {
    /// `user` or `auto`.
    pub fn as_str(self) -> &'static str {
        match self {
            OverrideSource::User => "user",
            OverrideSource::Auto => "auto",
        }
    }

    /// Reads `user`/`auto`; anything else is `None`.
    pub fn parse(s: &str) -> Option<OverrideSource> {
        match s {
            "user" => Some(OverrideSource::User),
            "auto" => Some(OverrideSource::Auto),
            _ => None,
        }
    }
}

/// The owned fields of one `sessions.json` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionRecord {
    /// `providerOverride`.
    pub provider_override: Option<String>,
    /// `modelOverride`.
    pub model_override: Option<String>,
    /// `modelOverrideSource`.
    pub model_override_source: Option<OverrideSource>,
    /// `modelOverrideSource: "default"` without an override: the configured default was chosen
    /// explicitly (OpenClaw 2026.9.6).
    pub model_default: bool,
    /// `authProfileOverride`: the pinned profile id.
    pub auth_profile_override: Option<String>,
    /// `authProfileOverrideSource`.
    pub auth_profile_override_source: Option<OverrideSource>,
    /// `authProfileOverrideCompactionCount`.
    pub auth_profile_override_compaction_count: Option<u32>,
    /// `runtimeOverride`.
    pub runtime_override: Option<String>,
    /// `sessionId` (a UUID v4).
    pub session_id: Option<String>,
    /// `updatedAt`, ms.
    pub updated_at: Option<i64>,
    /// The entry's `compactionCount` (written only upwards: the gateway counts compactions too).
    pub compaction_count: Option<u32>,
}

impl SessionRecord {
    /// Reads the owned fields of an entry; fields of the wrong type count as absent.
    pub fn from_entry(entry: &Map<String, Value>) -> SessionRecord {
        let text = |k: &str| entry.get(k).and_then(Value::as_str).map(str::to_owned);
        let source = |k: &str| {
            entry
                .get(k)
                .and_then(Value::as_str)
                .and_then(OverrideSource::parse)
        };
        let count = |k: &str| {
            entry
                .get(k)
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
        };
        SessionRecord {
            provider_override: text("providerOverride"),
            model_override: text("modelOverride"),
            model_override_source: source("modelOverrideSource"),
            model_default: entry.get("modelOverrideSource").and_then(Value::as_str) == Some("default"),
            // A pin whose source is neither user nor auto is not a pin (in files and Redis alike).
            auth_profile_override: text("authProfileOverride").filter(|_| {
                entry
                    .get("authProfileOverrideSource")
                    .is_none_or(|v| v.as_str().and_then(OverrideSource::parse).is_some())
            }),
            auth_profile_override_source: source("authProfileOverrideSource"),
            auth_profile_override_compaction_count: count("authProfileOverrideCompactionCount"),
            runtime_override: text("runtimeOverride"),
            session_id: text("sessionId"),
            updated_at: entry.get("updatedAt").and_then(Value::as_i64),
            compaction_count: count("compactionCount"),
        }
    }

    /// Writes the owned fields into `entry` (absent ones are removed), keeping every other field.
    pub fn write_into(&self, entry: &mut Map<String, Value>) {
        // A source modelauth does not know (OpenClaw 2026.9.6 writes `"default"` for an explicit
        // `/model default`) is the gateway's: kept unless modelauth sets its own.
        let foreign_source = entry
            .get("modelOverrideSource")
            .and_then(Value::as_str)
            .is_some_and(|s| OverrideSource::parse(s).is_none());
        let mut set = |k: &str, v: Option<Value>| match v {
            Some(v) => {
                entry.insert(k.to_owned(), v);
            }
            None if k == "modelOverrideSource" && foreign_source => {}
            None => {
                entry.shift_remove(k);
            }
        };
        set(
            "providerOverride",
            self.provider_override.as_ref().map(|v| json!(v)),
        );
        set(
            "modelOverride",
            self.model_override.as_ref().map(|v| json!(v)),
        );
        let source = match (self.model_override_source, self.model_default) {
            (Some(v), _) => Some(json!(v.as_str())),
            (None, true) => Some(json!("default")),
            (None, false) => None,
        };
        set("modelOverrideSource", source);
        set(
            "authProfileOverride",
            self.auth_profile_override.as_ref().map(|v| json!(v)),
        );
        set(
            "authProfileOverrideSource",
            self.auth_profile_override_source.map(|v| json!(v.as_str())),
        );
        set(
            "authProfileOverrideCompactionCount",
            self.auth_profile_override_compaction_count
                .map(|v| json!(v)),
        );
        set(
            "runtimeOverride",
            self.runtime_override.as_ref().map(|v| json!(v)),
        );
        set("sessionId", self.session_id.as_ref().map(|v| json!(v)));
        set("updatedAt", self.updated_at.map(|v| json!(v)));
        // The gateway counts compactions too: keep the larger count, never move it back.
        if let Some(ours) = self.compaction_count {
            let stored = entry.get("compactionCount").and_then(Value::as_u64);
            if stored.is_none_or(|s| u64::from(ours) > s) {
                entry.insert("compactionCount".to_owned(), json!(ours));
            }
        }
    }
}

/// One agent's `sessions.json`. Clones share one [`KeyIndex`].
#[derive(Debug, Clone)]
pub struct SessionsFile {
    path: PathBuf,
    index: Arc<Mutex<Option<KeyIndex>>>,
}

/// Which session keys one version of the file holds, as sorted 64-bit hashes (8 bytes a key), so that a
/// key that is not on disk — every new chat — is answered with one `stat` instead of a full read.
/// A hash collision only costs a read; the read decides.
struct KeyIndex {
    /// The version the hashes describe (`None`: the file did not exist).
    stamp: Option<FileStamp>,
    hashes: Vec<u64>,
}

impl fmt::Debug for KeyIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyIndex({} keys, {:?})", self.hashes.len(), self.stamp)
    }
}

impl KeyIndex {
    /// The index of `doc`'s session entries (those that are objects), for the version `stamp`.
    fn of(doc: &Document, stamp: Option<FileStamp>) -> KeyIndex {
        let mut hashes: Vec<u64> = doc
            .root
            .iter()
            .filter(|(_, v)| v.is_object())
            .map(|(k, _)| key_hash(k))
            .collect();
        hashes.sort_unstable();
        KeyIndex { stamp, hashes }
    }
}

/// The hash of one session key in a [`KeyIndex`].
fn key_hash(key: &str) -> u64 {
    IdHasher::of_ids([key])
}

/// The owned fields of every entry of `doc` that is an object.
fn records_of(doc: &Document) -> Vec<(String, SessionRecord)> {
    doc.root
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), SessionRecord::from_entry(v.as_object()?))))
        .collect()
}

impl SessionsFile {
    /// The file at `path` (usually `agents/<id>/sessions/sessions.json`).
    pub fn new(path: impl Into<PathBuf>) -> SessionsFile {
        SessionsFile {
            path: path.into(),
            index: Arc::default(),
        }
    }

    /// Where the file lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads every entry's owned fields; a missing file has no entries. Non-object entries are skipped.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // white-box tests read whole files
    pub fn load(&self) -> Result<Vec<(String, SessionRecord)>, StoreError> {
        Ok(records_of(&self.load_document()?))
    }

    /// Reads one entry's owned fields. A key the file does not hold costs one `stat` when the file is
    /// unchanged since this handle last read or wrote it; otherwise the file is read (and indexed).
    pub fn load_one(&self, key: &str) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self.read_unless_absent(key)?.and_then(|doc| {
            doc.root
                .get(key)
                .and_then(Value::as_object)
                .map(SessionRecord::from_entry)
        }))
    }

    /// Every entry's owned fields, or `None` without reading when the file is known not to hold `key`
    /// (as for [`SessionsFile::load_one`]). For a caller that, having to read the file for one key,
    /// keeps the others too.
    pub fn load_all_unless_absent(
        &self,
        key: &str,
    ) -> Result<Option<Vec<(String, SessionRecord)>>, StoreError> {
        Ok(self.read_unless_absent(key)?.as_ref().map(records_of))
    }

    /// The document, or `None` when the index shows the unchanged file does not hold `key`.
    fn read_unless_absent(&self, key: &str) -> Result<Option<Document>, StoreError> {
        let before = FileStamp::of(&self.path);
        if self.known_absent(key, before) {
            return Ok(None);
        }
        let doc = self.load_document()?;
        // Index only a version that did not change while it was read.
        if FileStamp::of(&self.path) == before {
            self.set_index(KeyIndex::of(&doc, before));
        }
        Ok(Some(doc))
    }

    /// True when the index describes version `stamp` and does not hold `key`.
    fn known_absent(&self, key: &str, stamp: Option<FileStamp>) -> bool {
        let index = self.index.lock().unwrap_or_else(|e| e.into_inner());
        index
            .as_ref()
            .is_some_and(|i| i.stamp == stamp && i.hashes.binary_search(&key_hash(key)).is_err())
    }

    /// Replaces the index.
    fn set_index(&self, index: KeyIndex) {
        *self.index.lock().unwrap_or_else(|e| e.into_inner()) = Some(index);
    }

    /// The raw document (empty when the file is missing).
    pub fn load_document(&self) -> Result<Document, StoreError> {
        match atomic::read_text(&self.path, SESSIONS_FILE_LIMIT)? {
            Some(text) => Document::parse_json(&self.path, &text),
            None => Ok(Document::default()),
        }
    }

    /// Under the lock: writes each record's owned fields into its entry (creating missing entries),
    /// keeping every other field and entry.
    pub fn store<'a>(
        &self,
        records: impl IntoIterator<Item = (&'a str, &'a SessionRecord)>,
    ) -> Result<(), StoreError> {
        let (index, stamp) = atomic::update_stamped(&self.path, SESSIONS_FILE_LIMIT, |current| {
            let mut doc = match current {
                Some(text) => Document::parse_json(&self.path, &text)?,
                None => Document::default(),
            };
            let mut any = false;
            for (key, record) in records {
                record.write_into(object_entry(&mut doc.root, key));
                any = true;
            }
            // The document as written (or found) is the next version's index: no read to rebuild it.
            let index = KeyIndex::of(&doc, None);
            Ok::<_, StoreError>((any.then(|| doc.to_text()), index))
        })?;
        self.set_index(KeyIndex { stamp, ..index });
        Ok(())
    }
}

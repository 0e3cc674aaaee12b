//! `sessions.json`: the fields modelauth owns in each session entry (SPEC §2). Every other field and
//! every other entry is preserved on rewrite.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::atomic;
use super::error::StoreError;
use super::json::{Document, object_entry};

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
    /// The entry's `compactionCount` as the gateway records it (read only).
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
            auth_profile_override: text("authProfileOverride"),
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
        let mut set = |k: &str, v: Option<Value>| match v {
            Some(v) => {
                entry.insert(k.to_owned(), v);
            }
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
        set(
            "modelOverrideSource",
            self.model_override_source.map(|v| json!(v.as_str())),
        );
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
    }
}

/// One agent's `sessions.json`.
#[derive(Debug, Clone)]
pub struct SessionsFile {
    path: PathBuf,
}

impl SessionsFile {
    /// The file at `path` (usually `agents/<id>/sessions/sessions.json`).
    pub fn new(path: impl Into<PathBuf>) -> SessionsFile {
        SessionsFile { path: path.into() }
    }

    /// Where the file lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads every entry's owned fields; a missing file has no entries. Non-object entries are skipped.
    pub fn load(&self) -> Result<Vec<(String, SessionRecord)>, StoreError> {
        let doc = self.load_document()?;
        Ok(doc
            .root
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), SessionRecord::from_entry(v.as_object()?))))
            .collect())
    }

    /// Reads one entry's owned fields.
    pub fn load_one(&self, key: &str) -> Result<Option<SessionRecord>, StoreError> {
        let doc = self.load_document()?;
        Ok(doc
            .root
            .get(key)
            .and_then(Value::as_object)
            .map(SessionRecord::from_entry))
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
        atomic::update(&self.path, SESSIONS_FILE_LIMIT, |current| {
            let mut doc = match current {
                Some(text) => Document::parse_json(&self.path, &text)?,
                None => Document::default(),
            };
            let mut any = false;
            for (key, record) in records {
                record.write_into(object_entry(&mut doc.root, key));
                any = true;
            }
            Ok::<_, StoreError>((any.then(|| doc.to_text()), ()))
        })
    }
}

//! The fields modelauth owns in each session entry (SPEC §2), as every backend stores them. The JSON
//! generation's `sessions.json` itself is in `backend::json`.


use serde_json::{Map, Value, json};



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

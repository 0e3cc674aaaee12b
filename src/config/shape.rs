//! The two shapes of `openclaw.json`: the early-2026 one (`agents.list`, `agents.defaults.models` as
//! the allowlist) and 2026.9's (`agents.entries.<id>`, `agents.defaults.modelPolicy.allow` with
//! `provider/*` wildcards; `agents.defaults.models` only holds aliases). Each file is read and written
//! in its own shape: a write never adds a key the other generation rejects.

use serde_json::{Map, Value, json};

use crate::store::json::object_entry;

/// One agent of `agents.list` or `agents.entries`.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The agent id as written (may be invalid; checked where used).
    pub id: String,
    /// `default: true`.
    pub default: bool,
    /// `model.primary`.
    pub primary: Option<String>,
    /// `model.fallbacks`.
    pub fallbacks: Vec<String>,
}

/// OpenClaw 2026.9.6's default model when the config names none.
pub const BUILTIN_DEFAULT_MODEL_2026_9: &str = "openai/gpt-6-astra";

/// Which generation a config document is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConfigShape {
    /// `agents.list`; `agents.defaults.models` is the allowlist.
    #[default]
    List,
    /// `agents.entries`; `agents.defaults.modelPolicy.allow` is the allowlist.
    Entries,
}

fn at<'v>(root: &'v Map<String, Value>, keys: &[&str]) -> Option<&'v Value> {
    let (last, init) = keys.split_last()?;
    let map = init.iter().try_fold(root, |m, k| m.get(*k)?.as_object())?;
    map.get(*last)
}

/// The shape of `root`: `agents.entries` or `agents.list` decide; else a file last written by OpenClaw
/// 2026.9 or later (`meta.lastTouchedVersion`, or its `modelPolicyAllowlist` migration marker) is of the
/// new shape; else the old one.
pub fn shape_of(root: &Map<String, Value>) -> ConfigShape {
    if at(root, &["agents", "entries"]).is_some() || at(root, &["agents", "defaults", "modelPolicy"]).is_some() {
        return ConfigShape::Entries;
    }
    if at(root, &["agents", "list"]).is_some() {
        return ConfigShape::List;
    }
    let migrated = at(root, &["meta", "migrations", "modelPolicyAllowlist"]).and_then(Value::as_bool) == Some(true);
    let touched = at(root, &["meta", "lastTouchedVersion"])
        .and_then(Value::as_str)
        .is_some_and(|v| version_at_least(v, (2026, 9)));
    if migrated || touched {
        ConfigShape::Entries
    } else {
        ConfigShape::List
    }
}

/// Whether a `YYYY.M.D` version is at least `(year, month)`.
fn version_at_least(v: &str, (year, month): (u32, u32)) -> bool {
    let mut parts = v.split(['.', '-']).map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(y), Some(m)) => (y, m) >= (year, month),
        _ => false,
    }
}

/// Reads `{primary, fallbacks}` from a model setting that may also be a bare string.
pub fn model_setting(v: Option<&Value>) -> (Option<String>, Vec<String>) {
    match v {
        Some(Value::String(s)) => (Some(s.clone()), Vec::new()),
        Some(Value::Object(m)) => (
            m.get("primary").and_then(Value::as_str).map(str::to_owned),
            strings(m.get("fallbacks")),
        ),
        _ => (None, Vec::new()),
    }
}

/// The strings of a JSON array (other items skipped).
pub fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// The agents of `root` in its shape. Under `agents.entries` the default is
/// `agents.defaults.systemAgent.agentId` (OpenClaw's operation owner), else none is marked (`main`).
pub fn agents(root: &Map<String, Value>, shape: ConfigShape) -> Vec<AgentConfig> {
    let entry = |id: &str, a: &Value, default: bool| {
        let (primary, fallbacks) = model_setting(a.get("model"));
        AgentConfig { id: id.to_owned(), default, primary, fallbacks }
    };
    match shape {
        ConfigShape::List => at(root, &["agents", "list"])
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| {
                let id = a.get("id")?.as_str()?;
                Some(entry(id, a, a.get("default").and_then(Value::as_bool).unwrap_or(false)))
            })
            .collect(),
        ConfigShape::Entries => {
            let system = at(root, &["agents", "defaults", "systemAgent", "agentId"]).and_then(Value::as_str);
            at(root, &["agents", "entries"])
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter(|(_, a)| a.is_object())
                .map(|(id, a)| entry(id, a, system == Some(id.as_str())))
                .collect()
        }
    }
}

/// The allowlist patterns of an `agents.entries` config (`agents.defaults.modelPolicy.allow`).
pub fn allow_patterns(root: &Map<String, Value>) -> Vec<String> {
    strings(at(root, &["agents", "defaults", "modelPolicy", "allow"]))
}

/// The object holding agent `id`'s settings in `agents` for `shape`, created when missing; `None`
/// when the stored value is not an object (it is left alone).
pub fn agent_holder<'d>(
    agents: &'d mut Map<String, Value>,
    id: &str,
    shape: ConfigShape,
) -> Option<&'d mut Map<String, Value>> {
    match shape {
        ConfigShape::Entries => object_entry(agents, "entries")
            .entry(id.to_owned())
            .or_insert_with(|| json!({}))
            .as_object_mut(),
        ConfigShape::List => {
            let list = agents.entry("list").or_insert_with(|| json!([]));
            if !list.is_array() {
                *list = json!([]);
            }
            let items = list.as_array_mut()?;
            let pos = match items
                .iter()
                .position(|a| a.get("id").and_then(Value::as_str) == Some(id))
            {
                Some(p) => p,
                None => {
                    items.push(json!({ "id": id }));
                    items.len() - 1
                }
            };
            items[pos].as_object_mut()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn the_file_decides_its_shape() {
        assert_eq!(shape_of(&obj(json!({"agents":{"list":[]}}))), ConfigShape::List);
        assert_eq!(shape_of(&obj(json!({"agents":{"entries":{}}}))), ConfigShape::Entries);
        assert_eq!(shape_of(&obj(json!({"meta":{"lastTouchedVersion":"2026.9.6"}}))), ConfigShape::Entries);
        assert_eq!(shape_of(&obj(json!({"meta":{"lastTouchedVersion":"2026.2.1"}}))), ConfigShape::List);
        assert_eq!(shape_of(&obj(json!({"meta":{"lastTouchedVersion":"2027.1.0"}}))), ConfigShape::Entries);
        assert_eq!(shape_of(&obj(json!({}))), ConfigShape::List);
    }

    #[test]
    fn entries_name_their_default_by_the_system_agent() {
        let root = obj(json!({"agents":{"defaults":{"systemAgent":{"agentId":"ops"}},
            "entries":{"main":{},"ops":{"model":"anthropic/claude-sonnet-4-6"}}}}));
        let a = agents(&root, ConfigShape::Entries);
        assert_eq!(a.len(), 2);
        let ops = a.iter().find(|a| a.id == "ops").unwrap();
        assert!(ops.default);
        assert_eq!(ops.primary.as_deref(), Some("anthropic/claude-sonnet-4-6"));
    }
}

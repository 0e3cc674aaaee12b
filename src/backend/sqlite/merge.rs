//! How OpenClaw 2026.9.6 composes an agent's view from two stores, and how a change to that view is
//! routed back to the store that owns each part. Pure: documents in, documents out.
//!
//! An agent sees the *shared* store (the main agent's credentials, kept in the state database) merged
//! with its *local* store (its own database): local profiles win over shared ones of the same id, and
//! `order`, `lastGood` and `usageStats` are merged key by key with the local entry winning — the rules
//! of OpenClaw's `mergeAuthProfileStores`. A provider with local profiles and only a shared order gets
//! the local profiles first, then the shared order.
//!
//! A change is routed as OpenClaw routes it: a credential, its usage and `lastGood` go to the store that
//! holds the credential (a new credential to [`Target`]'s choice); order overrides are per agent, so
//! they go to the local state (`models auth order set` writes there).

use serde_json::{Map, Value};

/// The four JSON cells behind one agent's view. `shared_*` are `None` when the agent's own store is
/// the shared one (the main agent under the `legacy-main` location).
#[derive(Debug, Default, Clone)]
pub struct Cells {
    /// The shared credentials document (`{version, profiles}`).
    pub shared_store: Option<Map<String, Value>>,
    /// The shared routing state (`{version, order?, lastGood?, usageStats?}`).
    pub shared_state: Option<Map<String, Value>>,
    /// The agent's own credentials.
    pub local_store: Map<String, Value>,
    /// The agent's own routing state.
    pub local_state: Map<String, Value>,
}

/// Which cells a change touched (only those are written).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Touched {
    /// `shared_store` changed.
    pub shared_store: bool,
    /// `shared_state` changed.
    pub shared_state: bool,
    /// `local_store` changed.
    pub local_store: bool,
    /// `local_state` changed.
    pub local_state: bool,
}

impl Touched {
    /// Whether anything changed.
    #[cfg(test)]
    pub fn any(self) -> bool {
        self.shared_store || self.shared_state || self.local_store || self.local_state
    }
}

/// Where a credential that neither store holds yet is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The shared store (the main agent's credentials, which every agent inherits).
    Shared,
    /// The agent's own store.
    Local,
}

/// The sections of the merged document.
const PROFILES: &str = "profiles";
const ORDER: &str = "order";
const LAST_GOOD: &str = "lastGood";
const USAGE: &str = "usageStats";

fn section<'a>(doc: &'a Map<String, Value>, key: &str) -> Option<&'a Map<String, Value>> {
    doc.get(key).and_then(Value::as_object)
}

fn section_mut<'a>(doc: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    crate::store::json::object_entry(doc, key)
}

/// Base entries overlaid by override entries (override wins), as OpenClaw's `mergeRecord`.
fn overlay(base: Option<&Map<String, Value>>, over: Option<&Map<String, Value>>) -> Option<Map<String, Value>> {
    if base.is_none() && over.is_none() {
        return None;
    }
    let mut out = base.cloned().unwrap_or_default();
    for (k, v) in over.into_iter().flatten() {
        out.insert(k.clone(), v.clone());
    }
    Some(out)
}

fn provider_of(profile: &Value) -> Option<&str> {
    profile.get("provider").and_then(Value::as_str)
}

/// The agent's view: one `auth-profiles.json`-shaped document.
pub fn merge(cells: &Cells) -> Map<String, Value> {
    let shared_store = cells.shared_store.as_ref();
    let shared_state = cells.shared_state.as_ref();
    let local_profiles = section(&cells.local_store, PROFILES);
    let mut profiles = local_profiles.cloned().unwrap_or_default();
    for (id, p) in shared_store.and_then(|s| section(s, PROFILES)).into_iter().flatten() {
        if !profiles.contains_key(id) {
            profiles.insert(id.clone(), p.clone());
        }
    }
    let shared_order = shared_state.and_then(|s| section(s, ORDER));
    let local_order = section(&cells.local_state, ORDER);
    let mut order = overlay(shared_order, local_order);
    if let (Some(order), Some(shared_order)) = (order.as_mut(), shared_order) {
        // A provider with local profiles but only a shared order: local profiles first.
        for (provider, ids) in shared_order {
            if local_order.is_some_and(|o| o.contains_key(provider)) {
                continue;
            }
            let mut merged: Vec<Value> = local_profiles
                .into_iter()
                .flatten()
                .filter(|(_, p)| provider_of(p) == Some(provider))
                .map(|(id, _)| Value::String(id.clone()))
                .collect();
            for id in ids.as_array().into_iter().flatten() {
                if !merged.contains(id) {
                    merged.push(id.clone());
                }
            }
            order.insert(provider.clone(), Value::Array(merged));
        }
    }
    let last_good = overlay(shared_state.and_then(|s| section(s, LAST_GOOD)), section(&cells.local_state, LAST_GOOD));
    let usage = overlay(shared_state.and_then(|s| section(s, USAGE)), section(&cells.local_state, USAGE));
    let mut doc = Map::new();
    doc.insert("version".into(), Value::from(1));
    doc.insert(PROFILES.into(), Value::Object(profiles));
    for (key, value) in [(ORDER, order), (LAST_GOOD, last_good), (USAGE, usage)] {
        if let Some(v) = value {
            doc.insert(key.into(), Value::Object(v));
        }
    }
    doc
}

/// The keys whose values differ between two optional sections, with the new value (`None`: removed).
fn changes<'a>(
    before: Option<&'a Map<String, Value>>,
    after: Option<&'a Map<String, Value>>,
) -> Vec<(&'a str, Option<&'a Value>)> {
    let mut out = Vec::new();
    for (k, v) in after.into_iter().flatten() {
        if before.and_then(|b| b.get(k)) != Some(v) {
            out.push((k.as_str(), Some(v)));
        }
    }
    for k in before.into_iter().flatten().map(|(k, _)| k) {
        if !after.is_some_and(|a| a.contains_key(k)) {
            out.push((k.as_str(), None));
        }
    }
    out
}

/// Sets or removes `key` in section `name` of `doc`; whether that changed it.
fn put(doc: &mut Map<String, Value>, name: &str, key: &str, value: Option<&Value>) -> bool {
    match value {
        Some(v) => {
            let s = section_mut(doc, name);
            if s.get(key) == Some(v) {
                return false;
            }
            s.insert(key.to_owned(), v.clone());
            true
        }
        None => {
            let Some(s) = doc.get_mut(name).and_then(Value::as_object_mut) else {
                return false;
            };
            let removed = s.shift_remove(key).is_some();
            if s.is_empty() && name != PROFILES {
                doc.shift_remove(name);
            }
            removed
        }
    }
}

/// Routes the difference between the merged view `before` and its edited form `after` into `cells`.
pub fn split(
    cells: &mut Cells,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    target: Target,
) -> Touched {
    let mut t = Touched::default();
    let local_ids: Vec<String> = section(&cells.local_store, PROFILES)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    let shared_has = |cells: &Cells, id: &str| {
        cells
            .shared_store
            .as_ref()
            .and_then(|s| section(s, PROFILES))
            .is_some_and(|p| p.contains_key(id))
    };
    // Which store owns profile `id` after the change.
    let owner_local = |cells: &Cells, id: &str| {
        cells.shared_store.is_none()
            || local_ids.iter().any(|l| l == id)
            || (!shared_has(cells, id) && target == Target::Local)
    };
    for (id, value) in changes(section(before, PROFILES), section(after, PROFILES)) {
        match value {
            Some(_) if owner_local(cells, id) => t.local_store |= put(&mut cells.local_store, PROFILES, id, value),
            Some(_) => {
                let store = cells.shared_store.get_or_insert_with(Map::new);
                t.shared_store |= put(store, PROFILES, id, value);
            }
            None => {
                t.local_store |= put(&mut cells.local_store, PROFILES, id, None);
                if let Some(store) = cells.shared_store.as_mut() {
                    t.shared_store |= put(store, PROFILES, id, None);
                }
            }
        }
    }
    for (provider, ids) in changes(section(before, ORDER), section(after, ORDER)) {
        t.local_state |= put(&mut cells.local_state, ORDER, provider, ids);
        if ids.is_none()
            && let Some(state) = cells.shared_state.as_mut()
        {
            t.shared_state |= put(state, ORDER, provider, None);
        }
    }
    for (name, owner_key) in [(LAST_GOOD, true), (USAGE, false)] {
        for (key, value) in changes(section(before, name), section(after, name)) {
            // lastGood is keyed by provider and names a profile; usageStats is keyed by profile.
            let profile = if owner_key { value.and_then(Value::as_str).unwrap_or(key) } else { key };
            match value {
                None => {
                    t.local_state |= put(&mut cells.local_state, name, key, None);
                    if let Some(state) = cells.shared_state.as_mut() {
                        t.shared_state |= put(state, name, key, None);
                    }
                }
                Some(_) if owner_local(cells, profile) => {
                    t.local_state |= put(&mut cells.local_state, name, key, value);
                }
                Some(_) => {
                    let state = cells.shared_state.get_or_insert_with(Map::new);
                    t.shared_state |= put(state, name, key, value);
                }
            }
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn cells() -> Cells {
        Cells {
            shared_store: Some(obj(json!({"version":1,"profiles":{
                "anthropic:work":{"type":"token","provider":"anthropic","token":"t1"},
                "anthropic:both":{"type":"token","provider":"anthropic","token":"shared"}}}))),
            shared_state: Some(obj(json!({"version":1,"order":{"openai":["openai:a"]},
                "usageStats":{"anthropic:work":{"errorCount":1}}}))),
            local_store: obj(json!({"version":1,"profiles":{
                "anthropic:both":{"type":"token","provider":"anthropic","token":"local"}}})),
            local_state: obj(json!({"version":1,"order":{"anthropic":["anthropic:both"]}})),
        }
    }

    #[test]
    fn local_wins_and_shared_fills_in() {
        let m = merge(&cells());
        assert_eq!(m["profiles"]["anthropic:both"]["token"], "local");
        assert_eq!(m["profiles"]["anthropic:work"]["token"], "t1");
        assert_eq!(m["order"]["anthropic"], json!(["anthropic:both"]));
        assert_eq!(m["order"]["openai"], json!(["openai:a"]));
        assert_eq!(m["usageStats"]["anthropic:work"]["errorCount"], 1);
    }

    #[test]
    fn local_profiles_lead_a_shared_order() {
        let mut c = cells();
        c.local_state = Map::new();
        c.shared_state = Some(obj(json!({"order":{"anthropic":["anthropic:work"]}})));
        let m = merge(&c);
        assert_eq!(m["order"]["anthropic"], json!(["anthropic:both", "anthropic:work"]));
    }

    #[test]
    fn changes_go_to_their_owners() {
        let mut c = cells();
        let before = merge(&c);
        let mut after = before.clone();
        after["usageStats"]["anthropic:work"] = json!({"errorCount": 2});
        after["usageStats"]["anthropic:both"] = json!({"errorCount": 5});
        after["order"]["anthropic"] = json!(["anthropic:work", "anthropic:both"]);
        section_mut(&mut after, "lastGood").insert("anthropic".into(), json!("anthropic:work"));
        section_mut(&mut after, "profiles").insert("anthropic:new".into(), json!({"provider":"anthropic"}));
        let t = split(&mut c, &before, &after, Target::Shared);
        assert_eq!(t, Touched { shared_store: true, shared_state: true, local_store: false, local_state: true });
        let shared_state = c.shared_state.as_ref().unwrap();
        assert_eq!(shared_state["usageStats"]["anthropic:work"]["errorCount"], 2);
        assert_eq!(shared_state["lastGood"]["anthropic"], "anthropic:work");
        assert_eq!(c.local_state["usageStats"]["anthropic:both"]["errorCount"], 5);
        assert_eq!(c.local_state["order"]["anthropic"], json!(["anthropic:work", "anthropic:both"]));
        assert!(c.shared_store.as_ref().unwrap()["profiles"].get("anthropic:new").is_some());
        assert_eq!(merge(&c), after, "the routed cells merge back to the edited view");
    }

    #[test]
    fn a_new_profile_of_an_agent_with_its_own_target_stays_local() {
        let mut c = cells();
        let before = merge(&c);
        let mut after = before.clone();
        section_mut(&mut after, "profiles").insert("anthropic:ops".into(), json!({"provider":"anthropic"}));
        let t = split(&mut c, &before, &after, Target::Local);
        assert!(t.local_store && !t.shared_store);
        assert_eq!(merge(&c), after);
    }

    #[test]
    fn removal_and_clear_reach_both_stores() {
        let mut c = cells();
        let before = merge(&c);
        let mut after = before.clone();
        section_mut(&mut after, "profiles").shift_remove("anthropic:both");
        after.get_mut("order").unwrap().as_object_mut().unwrap().shift_remove("openai");
        split(&mut c, &before, &after, Target::Shared);
        let m = merge(&c);
        assert!(m["profiles"].get("anthropic:both").is_none());
        assert!(m["order"].get("openai").is_none());
    }

    #[test]
    fn nothing_changed_touches_nothing() {
        let mut c = cells();
        let before = merge(&c);
        assert!(!split(&mut c, &before, &before.clone(), Target::Shared).any());
    }
}

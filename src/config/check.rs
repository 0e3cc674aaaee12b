//! Values of the wrong type at the config keys modelauth reads: each one is named (with the type it
//! has and the one it needs) instead of being ignored in silence.

use serde_json::{Map, Value};

use crate::store::error::kind_of;

/// What a key must hold.
#[derive(Clone, Copy)]
enum Want {
    Text,
    Object,
    TextList,
    TextOrObject,
}

impl Want {
    fn accepts(self, v: &Value) -> bool {
        match self {
            Want::Text => v.is_string(),
            Want::Object => v.is_object(),
            Want::TextList => v
                .as_array()
                .is_some_and(|a| a.iter().all(Value::is_string)),
            Want::TextOrObject => v.is_string() || v.is_object(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Want::Text => "a string",
            Want::Object => "an object",
            Want::TextList => "a list of strings",
            Want::TextOrObject => "a string or an object",
        }
    }
}

/// The problems of `root`, as `` `dotted.key` is a number, not a string `` (the caller adds the file).
pub fn type_problems(root: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |key: &str, v: Option<&Value>, want: Want| {
        if let Some(v) = v.filter(|v| !v.is_null() && !want.accepts(v)) {
            out.push(format!(
                "`{key}` is {}, not {}; modelauth ignores it",
                kind_of(v),
                want.name()
            ));
        }
    };
    let get = |keys: &[&str]| -> Option<&Value> {
        let (last, init) = keys.split_last()?;
        let mut m = root;
        for k in init {
            m = m.get(*k)?.as_object()?;
        }
        m.get(*last)
    };
    check("agents", get(&["agents"]), Want::Object);
    check("agents.defaults", get(&["agents", "defaults"]), Want::Object);
    let model = get(&["agents", "defaults", "model"]);
    check("agents.defaults.model", model, Want::TextOrObject);
    if let Some(Value::Object(m)) = model {
        check("agents.defaults.model.primary", m.get("primary"), Want::Text);
        check("agents.defaults.model.fallbacks", m.get("fallbacks"), Want::TextList);
    }
    let models = get(&["agents", "defaults", "models"]);
    check("agents.defaults.models", models, Want::Object);
    if let Some(Value::Object(m)) = models {
        for (id, v) in m {
            check(&format!("agents.defaults.models.{id}"), Some(v), Want::Object);
            check(&format!("agents.defaults.models.{id}.alias"), v.get("alias"), Want::Text);
        }
    }
    check("auth", get(&["auth"]), Want::Object);
    if let Some(Value::Object(p)) = get(&["auth", "profiles"]) {
        for (id, v) in p {
            check(&format!("auth.profiles.{id}"), Some(v), Want::Object);
            check(&format!("auth.profiles.{id}.provider"), v.get("provider"), Want::Text);
            check(&format!("auth.profiles.{id}.mode"), v.get("mode"), Want::Text);
        }
    } else {
        check("auth.profiles", get(&["auth", "profiles"]), Want::Object);
    }
    if let Some(Value::Object(o)) = get(&["auth", "order"]) {
        for (provider, ids) in o {
            check(&format!("auth.order.{provider}"), Some(ids), Want::TextList);
        }
    } else {
        check("auth.order", get(&["auth", "order"]), Want::Object);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_types_are_named_and_right_ones_pass() {
        let doc: Value = serde_json::json!({
            "agents": {"defaults": {"model": {"primary": 42, "fallbacks": ["a", 1]}}},
            "auth": {"order": {"anthropic": "anthropic:work"}, "profiles": {"x:y": {"provider": "x", "mode": "api_key"}}},
        });
        let p = type_problems(doc.as_object().unwrap());
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[0].contains("`agents.defaults.model.primary` is a number, not a string"), "{p:?}");
        assert!(p.iter().any(|m| m.contains("`auth.order.anthropic` is a string, not a list of strings")));
        let ok: Value = serde_json::json!({"agents": {"defaults": {"model": "anthropic/claude-opus-4-6"}}});
        assert!(type_problems(ok.as_object().unwrap()).is_empty());
    }
}

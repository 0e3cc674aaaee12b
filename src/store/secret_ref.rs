//! Secret references: a profile that holds `{source, provider, id}` instead of its key, exactly as
//! OpenClaw 2026.9.6 reads them (`keyRef` on `api_key`, `tokenRef` on `token` profiles, or the
//! `$NAME` / `${NAME}` shorthand in `key`/`token`). The reference names where the secret lives; the
//! value is read only when a credential is handed out (see `crate::secrets`).

use std::fmt;

use serde_json::Value;

/// Where a referenced secret lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RefSource {
    /// An environment variable (the process environment, then `<state>/.env`).
    Env,
    /// A private file: a JSON document read with a JSON pointer, or a single value.
    File,
    /// A command speaking OpenClaw's exec protocol v1 on stdin/stdout.
    Exec,
    /// OpenClaw's own secret store in `state/openclaw.sqlite` (team scope).
    Store,
}

impl RefSource {
    /// The name in OpenClaw's files: `env`, `file`, `exec`, `store`.
    pub fn as_str(self) -> &'static str {
        match self {
            RefSource::Env => "env",
            RefSource::File => "file",
            RefSource::Exec => "exec",
            RefSource::Store => "store",
        }
    }

    /// Reads a source name.
    pub fn parse(name: &str) -> Option<RefSource> {
        match name {
            "env" => Some(RefSource::Env),
            "file" => Some(RefSource::File),
            "exec" => Some(RefSource::Exec),
            "store" => Some(RefSource::Store),
            _ => None,
        }
    }
}

/// A secret reference. Holds no secret: showing it (`ref (exec:vault/anthropic/key)`) is safe.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretRef {
    /// Where the secret lives.
    pub source: RefSource,
    /// The provider alias under `secrets.providers`; `None` when the reference leaves it to
    /// `secrets.defaults.<source>` (a legacy reference without `provider`, or the env shorthand).
    pub provider: Option<String>,
    /// The variable name, JSON pointer, `value`, or exec id.
    pub id: String,
}

impl SecretRef {
    /// Reads a reference the way OpenClaw's `coerceSecretRef` does: the canonical object (exactly
    /// `source`, `provider` and `id`, non-blank), a legacy object without `provider`, or a `$NAME` /
    /// `${NAME}` string. Anything else is `None` (a plain value, or no reference).
    pub fn coerce(value: &Value) -> Option<SecretRef> {
        match value {
            Value::Object(o) => {
                let source = RefSource::parse(o.get("source")?.as_str()?)?;
                let id = o.get("id")?.as_str().filter(|s| !s.trim().is_empty())?;
                let provider = match o.get("provider") {
                    Some(Value::String(p)) if !p.trim().is_empty() && o.len() == 3 => {
                        Some(p.clone())
                    }
                    None => None,
                    _ => return None,
                };
                Some(SecretRef {
                    source,
                    provider,
                    id: id.to_owned(),
                })
            }
            Value::String(s) => env_shorthand(s.trim()).map(|name| SecretRef {
                source: RefSource::Env,
                provider: None,
                id: name.to_owned(),
            }),
            _ => None,
        }
    }

    /// The provider alias this reference uses, given `secrets.defaults.<source>` (`default` when unset).
    pub fn provider_or<'a>(&'a self, default: Option<&'a str>) -> &'a str {
        self.provider
            .as_deref()
            .or(default)
            .filter(|s| !s.trim().is_empty())
            .unwrap_or("default")
    }

    /// The canonical object OpenClaw writes: `{"source", "provider", "id"}` (`provider` omitted when
    /// the reference leaves it to the defaults).
    pub fn to_value(&self) -> Value {
        let mut o = serde_json::Map::new();
        o.insert("source".into(), Value::from(self.source.as_str()));
        if let Some(p) = &self.provider {
            o.insert("provider".into(), Value::from(p.as_str()));
        }
        o.insert("id".into(), Value::from(self.id.as_str()));
        Value::Object(o)
    }

    /// The label views print, OpenClaw's: `env:ANTHROPIC_API_KEY`, `exec:anthropic/key`,
    /// `file:/providers/anthropic/apiKey` (source and id; the provider alias is in errors).
    pub fn label(&self) -> String {
        format!("{}:{}", self.source.as_str(), self.id)
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// `NAME` of `$NAME` or `${NAME}` when NAME is an environment-variable id (`^[A-Z][A-Z0-9_]{0,127}$`).
fn env_shorthand(s: &str) -> Option<&str> {
    let name = s
        .strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .or_else(|| s.strip_prefix('$'))?;
    is_env_id(name).then_some(name)
}

/// True for an environment-variable id of OpenClaw's contract: `^[A-Z][A-Z0-9_]{0,127}$`.
pub fn is_env_id(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && b[0].is_ascii_uppercase()
        && b.iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_legacy_and_shorthand_forms() {
        let r = SecretRef::coerce(&json!({"source":"exec","provider":"vault","id":"a/b"})).unwrap();
        assert_eq!(r.label(), "exec:a/b");
        let r = SecretRef::coerce(&json!({"source":"file","id":"/x/y"})).unwrap();
        assert_eq!((r.provider.as_deref(), r.label()), (None, "file:/x/y".into()));
        let r = SecretRef::coerce(&json!("${OPENAI_API_KEY}")).unwrap();
        assert_eq!(r.label(), "env:OPENAI_API_KEY");
        assert_eq!(SecretRef::coerce(&json!("$OPENAI")).unwrap().id, "OPENAI");
        for not_ref in [
            json!("sk-ant-api03-x"),
            json!("$lower"),
            json!({"source":"env","provider":"default","id":"X","extra":1}),
            json!({"source":"vault","provider":"default","id":"X"}),
            json!({"source":"env","provider":" ","id":"X"}),
            json!({"source":"env","provider":"default","id":" "}),
        ] {
            assert_eq!(SecretRef::coerce(&not_ref), None, "{not_ref}");
        }
    }
}

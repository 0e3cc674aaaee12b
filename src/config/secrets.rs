//! `secrets` of `openclaw.json`: the providers secret references name (`secrets.providers.<alias>`)
//! and the default alias per source (`secrets.defaults`), as OpenClaw 2026.9.6 declares them.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::store::{RefSource, SecretRef};

/// One declared secret provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderDef {
    /// `source: "env"`, with an optional exact-name allowlist (`[]` denies every name).
    Env {
        /// `allowlist`.
        allowlist: Option<Vec<String>>,
    },
    /// `source: "file"`.
    File {
        /// `path` (a leading `~` is the home directory).
        path: String,
        /// `mode: "singleValue"` (else `json`).
        single_value: bool,
        /// `timeoutMs` (default 5000).
        timeout_ms: u64,
        /// `maxBytes` (default 1 MiB).
        max_bytes: u64,
    },
    /// `source: "exec"`.
    Exec(ExecDef),
    /// `source: "store"`.
    Store,
    /// A provider modelauth cannot run: a plugin integration, or a declaration it cannot read.
    Unsupported {
        /// The source it declares.
        source: RefSource,
        /// Why modelauth cannot use it.
        why: String,
    },
}

/// An exec provider's settings (OpenClaw's names and defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecDef {
    /// `command`: an absolute path, run directly (no shell).
    pub command: String,
    /// `args`.
    pub args: Vec<String>,
    /// `passEnv`: variables copied from modelauth's environment (nothing else is).
    pub pass_env: Vec<String>,
    /// `env`: variables set for the command.
    pub env: BTreeMap<String, String>,
    /// `jsonOnly` (default true).
    pub json_only: bool,
    /// `timeoutMs` (default 5000).
    pub timeout_ms: u64,
    /// `noOutputTimeoutMs` (default `timeoutMs`).
    pub no_output_timeout_ms: u64,
    /// `maxOutputBytes` (default 1 MiB).
    pub max_output_bytes: u64,
    /// `trustedDirs`: when set, the command must lie inside one of them.
    pub trusted_dirs: Vec<String>,
}

/// The `secrets` section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretsConfig {
    /// `secrets.providers`, by alias.
    pub providers: BTreeMap<String, ProviderDef>,
    /// `secrets.defaults.<source>`.
    pub defaults: BTreeMap<RefSource, String>,
}

/// OpenClaw's default timeouts and limits.
pub const DEFAULT_TIMEOUT_MS: u64 = 5_000;
/// The default byte limit of a file payload or an exec answer.
pub const DEFAULT_MAX_BYTES: u64 = 1 << 20;

impl SecretsConfig {
    /// Reads `root.secrets`; values of the wrong type count as absent.
    pub fn from_root(root: &Map<String, Value>) -> SecretsConfig {
        let Some(secrets) = root.get("secrets").and_then(Value::as_object) else {
            return SecretsConfig::default();
        };
        let providers = secrets
            .get("providers")
            .and_then(Value::as_object)
            .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), provider_def(v)?))).collect())
            .unwrap_or_default();
        let defaults = secrets
            .get("defaults")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| {
                        let alias = v.as_str()?.trim();
                        (!alias.is_empty()).then(|| (RefSource::parse(k), alias.to_owned()))
                    })
                    .filter_map(|(k, v)| Some((k?, v)))
                    .collect()
            })
            .unwrap_or_default();
        SecretsConfig {
            providers,
            defaults,
        }
    }

    /// The provider definition `r` uses, following OpenClaw's rules: an `env` or `store` reference to
    /// its source's default alias uses the built-in reader unless a same-source provider of that
    /// alias is declared; every other reference needs a declared provider of the same source.
    pub fn provider_for(&self, r: &SecretRef) -> Result<(String, ProviderDef), String> {
        let default = self.defaults.get(&r.source).map(String::as_str);
        let alias = r.provider_or(default).to_owned();
        let declared = self.providers.get(&alias);
        let builtin = matches!(r.source, RefSource::Env | RefSource::Store)
            && alias == default.unwrap_or("default")
            && declared.is_none_or(|d| source_of(d) != r.source);
        if builtin {
            let def = match r.source {
                RefSource::Env => ProviderDef::Env { allowlist: None },
                _ => ProviderDef::Store,
            };
            return Ok((alias, def));
        }
        match declared {
            None => Err(format!(
                "secret provider \"{alias}\" is not configured (add it under secrets.providers in openclaw.json)"
            )),
            Some(d) if source_of(d) != r.source => Err(format!(
                "secret provider \"{alias}\" has source \"{}\" but the reference asks for \"{}\"",
                source_of(d).as_str(),
                r.source.as_str()
            )),
            Some(d) => Ok((alias, d.clone())),
        }
    }
}

/// The source a definition declares.
fn source_of(d: &ProviderDef) -> RefSource {
    match d {
        ProviderDef::Env { .. } => RefSource::Env,
        ProviderDef::File { .. } => RefSource::File,
        ProviderDef::Exec(_) => RefSource::Exec,
        ProviderDef::Store => RefSource::Store,
        ProviderDef::Unsupported { source, .. } => *source,
    }
}

/// Reads one `secrets.providers` entry; `None` when it declares no known source.
pub(crate) fn provider_def(v: &Value) -> Option<ProviderDef> {
    let o = v.as_object()?;
    let source = RefSource::parse(o.get("source")?.as_str()?)?;
    let num = |k: &str, d: u64| o.get(k).and_then(Value::as_u64).filter(|n| *n > 0).unwrap_or(d);
    let strings = |k: &str| -> Vec<String> {
        o.get(k)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|s| Some(s.as_str()?.to_owned())).collect())
            .unwrap_or_default()
    };
    Some(match source {
        RefSource::Env => ProviderDef::Env {
            allowlist: o.get("allowlist").and_then(Value::as_array).map(|_| strings("allowlist")),
        },
        RefSource::Store => ProviderDef::Store,
        RefSource::File => match o.get("path").and_then(Value::as_str) {
            Some(path) => ProviderDef::File {
                path: path.to_owned(),
                single_value: o.get("mode").and_then(Value::as_str) == Some("singleValue"),
                timeout_ms: num("timeoutMs", DEFAULT_TIMEOUT_MS),
                max_bytes: num("maxBytes", DEFAULT_MAX_BYTES),
            },
            None => unsupported(source, "it has no \"path\""),
        },
        RefSource::Exec if o.contains_key("pluginIntegration") => unsupported(
            source,
            "it is a plugin integration, which only OpenClaw can run",
        ),
        RefSource::Exec => match o.get("command").and_then(Value::as_str) {
            Some(command) => {
                let timeout_ms = num("timeoutMs", DEFAULT_TIMEOUT_MS);
                ProviderDef::Exec(ExecDef {
                    command: command.to_owned(),
                    args: strings("args"),
                    pass_env: strings("passEnv"),
                    env: o
                        .get("env")
                        .and_then(Value::as_object)
                        .map(|m| {
                            m.iter()
                                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                                .collect()
                        })
                        .unwrap_or_default(),
                    json_only: o.get("jsonOnly").and_then(Value::as_bool).unwrap_or(true),
                    timeout_ms,
                    no_output_timeout_ms: num("noOutputTimeoutMs", timeout_ms),
                    max_output_bytes: num("maxOutputBytes", DEFAULT_MAX_BYTES),
                    trusted_dirs: strings("trustedDirs"),
                })
            }
            None => unsupported(source, "it has no \"command\""),
        },
    })
}

fn unsupported(source: RefSource, why: &str) -> ProviderDef {
    ProviderDef::Unsupported {
        source,
        why: why.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cfg(v: Value) -> SecretsConfig {
        SecretsConfig::from_root(v.as_object().unwrap())
    }

    fn r(source: RefSource, provider: Option<&str>) -> SecretRef {
        SecretRef {
            source,
            provider: provider.map(str::to_owned),
            id: "X".into(),
        }
    }

    #[test]
    fn builtin_env_declared_and_mismatched_providers() {
        let c = cfg(json!({"secrets":{"providers":{
            "vault":{"source":"exec","command":"/bin/v","args":["a"]},
            "default":{"source":"file","path":"/f"},
            "locked":{"source":"env","allowlist":[]}
        }}}));
        // `default` is declared as a file provider: an env ref to it uses the built-in reader.
        let (_, d) = c.provider_for(&r(RefSource::Env, Some("default"))).unwrap();
        assert_eq!(d, ProviderDef::Env { allowlist: None });
        let (_, d) = c.provider_for(&r(RefSource::Env, Some("locked"))).unwrap();
        assert_eq!(d, ProviderDef::Env { allowlist: Some(vec![]) });
        assert!(matches!(c.provider_for(&r(RefSource::Exec, Some("vault"))), Ok((_, ProviderDef::Exec(e))) if e.args == ["a"] && e.json_only));
        assert!(c.provider_for(&r(RefSource::File, Some("vault"))).unwrap_err().contains("has source \"exec\""));
        assert!(c.provider_for(&r(RefSource::Exec, Some("nope"))).unwrap_err().contains("not configured"));
        assert!(matches!(c.provider_for(&r(RefSource::File, None)), Ok((a, ProviderDef::File { .. })) if a == "default"));
    }
}

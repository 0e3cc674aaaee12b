//! `openclaw.json`: read as JSON5, typed access to the keys of SPEC §2, rewrites that keep every key
//! modelauth does not own.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::shape::{self, ConfigShape, model_setting, strings};
use crate::store::json::{Document, object_entry};
use crate::store::{AgentId, CredentialKind, ProviderId, Secret, StoreError, atomic};

/// The largest config file modelauth reads (16 MiB).
pub const CONFIG_FILE_LIMIT: u64 = 16 << 20;

/// The model used when config names none.
pub const BUILTIN_DEFAULT_MODEL: &str = "anthropic/claude-opus-4-6";

/// A custom provider or endpoint from `models.providers.<id>`.
#[derive(Debug, Clone, Default)]
pub struct ProviderConfig {
    /// `baseUrl`.
    pub base_url: Option<String>,
    /// `api` (wire protocol name).
    pub api: Option<String>,
    /// `apiKey`, a secret.
    pub api_key: Option<Secret>,
    /// Model ids listed for the provider.
    pub models: Vec<String>,
}

/// `auth.profiles[id]`: routing metadata of a profile (never a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileMeta {
    /// The provider.
    pub provider: ProviderId,
    /// The declared mode, when it is one modelauth knows.
    pub mode: Option<CredentialKind>,
}

pub use super::shape::AgentConfig;


/// The typed view of `openclaw.json`. Build it with [`ConfigFile::load`] or [`Config::from_document`].
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// `agents.defaults.model.primary`.
    pub default_primary: Option<String>,
    /// `agents.defaults.model.fallbacks`.
    pub default_fallbacks: Vec<String>,
    /// `agents.defaults.models`: model ref → alias (also the allowlist, when non-empty, in the
    /// [`ConfigShape::List`] shape).
    pub models: BTreeMap<String, Option<String>>,
    /// `agents.list` or `agents.entries`.
    pub agents: Vec<AgentConfig>,
    /// The file's shape (which generation of OpenClaw it is written for).
    pub shape: ConfigShape,
    /// `agents.defaults.modelPolicy.allow` (the allowlist of the [`ConfigShape::Entries`] shape).
    pub allow: Vec<String>,
    /// `auth.profiles`.
    pub auth_profiles: BTreeMap<String, ProfileMeta>,
    /// `auth.order`.
    pub auth_order: BTreeMap<ProviderId, Vec<String>>,
    /// `models.providers`.
    pub providers: BTreeMap<ProviderId, ProviderConfig>,
    /// `env.shellEnv`: import missing provider keys from the login shell (`enabled`, `timeoutMs`).
    pub shell_env: ShellEnvConfig,
    /// `secrets`: the providers secret references name.
    pub secrets: super::secrets::SecretsConfig,
    /// Values of the wrong type at keys modelauth reads (each ignored), e.g. `` `agents.defaults.model.primary`
    /// is a number, not a string; modelauth ignores it ``. Show them with the file's path.
    pub problems: Vec<String>,
}

/// `root.a.b.c` as an object, if every step is one.
fn path<'v>(root: &'v Map<String, Value>, keys: &[&str]) -> Option<&'v Map<String, Value>> {
    keys.iter().try_fold(root, |m, k| m.get(*k)?.as_object())
}

impl Config {
    /// The typed view of a parsed config document; values of the wrong type count as absent.
    pub fn from_document(doc: &Document) -> Config {
        let root = &doc.root;
        let defaults = path(root, &["agents", "defaults"]);
        let (default_primary, default_fallbacks) =
            model_setting(defaults.and_then(|d| d.get("model")));
        let models = defaults
            .and_then(|d| d.get("models"))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.get("alias").and_then(Value::as_str).map(str::to_owned),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let shape = shape::shape_of(root);
        let agents = shape::agents(root, shape);
        let allow = shape::allow_patterns(root);
        let auth = path(root, &["auth"]);
        let auth_profiles = auth
            .and_then(|a| a.get("profiles"))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(id, v)| {
                        let provider = ProviderId::new(v.get("provider")?.as_str()?).ok()?;
                        let mode = v
                            .get("mode")
                            .and_then(Value::as_str)
                            .and_then(CredentialKind::parse);
                        Some((id.clone(), ProfileMeta { provider, mode }))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let auth_order = auth
            .and_then(|a| a.get("order"))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(p, ids)| Some((ProviderId::new(p).ok()?, strings(Some(ids)))))
                    .collect()
            })
            .unwrap_or_default();
        let providers = path(root, &["models", "providers"])
            .map(|m| {
                m.iter()
                    .filter_map(|(id, v)| Some((ProviderId::new(id).ok()?, provider_config(v))))
                    .collect()
            })
            .unwrap_or_default();
        Config {
            default_primary,
            default_fallbacks,
            models,
            agents,
            shape,
            allow,
            auth_profiles,
            auth_order,
            providers,
            shell_env: ShellEnvConfig {
                enabled: path(root, &["env", "shellEnv"])
                    .and_then(|m| m.get("enabled"))
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                timeout_ms: path(root, &["env", "shellEnv"])
                    .and_then(|m| m.get("timeoutMs"))
                    .and_then(Value::as_u64),
            },
            secrets: super::secrets::SecretsConfig::from_root(root),
            problems: super::check::type_problems(root),
        }
    }

    /// The agent's default model: its own `model.primary`, else the defaults', else the built-in one
    /// of the file's generation.
    pub fn primary_model(&self, agent: &AgentId) -> String {
        self.agent(agent)
            .and_then(|a| a.primary.clone())
            .or_else(|| self.default_primary.clone())
            .unwrap_or_else(|| match self.shape {
                ConfigShape::List => BUILTIN_DEFAULT_MODEL.to_owned(),
                ConfigShape::Entries => shape::BUILTIN_DEFAULT_MODEL_2026_9.to_owned(),
            })
    }

    /// Whether an allowlist limits the models a user may select.
    pub fn restricted(&self) -> bool {
        match self.shape {
            ConfigShape::List => !self.models.is_empty(),
            ConfigShape::Entries => !self.allow.is_empty(),
        }
    }

    /// The allowlist entries as model refs or `provider/*` patterns.
    pub fn allowed(&self) -> Vec<String> {
        match self.shape {
            ConfigShape::List => self.models.keys().cloned().collect(),
            ConfigShape::Entries => self.allow.clone(),
        }
    }

    /// The agent's fallback models.
    pub fn fallbacks(&self, agent: &AgentId) -> Vec<String> {
        match self.agent(agent) {
            Some(a) if !a.fallbacks.is_empty() => a.fallbacks.clone(),
            _ => self.default_fallbacks.clone(),
        }
    }

    /// The `agents.list` / `agents.entries` entry of `agent`.
    pub fn agent(&self, agent: &AgentId) -> Option<&AgentConfig> {
        self.agents.iter().find(|a| a.id == agent.as_str())
    }

    /// The agent marked `default: true`, else the first listed, else `main`.
    pub fn default_agent(&self) -> AgentId {
        let pick = self
            .agents
            .iter()
            .find(|a| a.default)
            .or(self.agents.first());
        pick.and_then(|a| AgentId::new(&a.id).ok())
            .unwrap_or_else(AgentId::main)
    }

    /// Every configured alias, as (alias, model ref).
    pub fn aliases(&self) -> impl Iterator<Item = (&str, &str)> {
        self.models
            .iter()
            .filter_map(|(r, a)| Some((a.as_deref()?, r.as_str())))
    }
}

/// `env.shellEnv` of the config (OpenClaw's key names).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShellEnvConfig {
    /// `env.shellEnv.enabled`.
    pub enabled: bool,
    /// `env.shellEnv.timeoutMs`.
    pub timeout_ms: Option<u64>,
}

/// Reads one `models.providers` entry.
fn provider_config(v: &Value) -> ProviderConfig {
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    ProviderConfig {
        base_url: text("baseUrl"),
        api: text("api"),
        api_key: v
            .get("apiKey")
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(Secret::new),
        models: v
            .get("models")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|m| m.get("id")?.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// What a config rewrite did, for the caller to tell the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConfigWrite {
    /// The file held JSON5 comments, which a JSON writer cannot keep.
    pub dropped_comments: bool,
    /// The file was written.
    pub written: bool,
}

/// `openclaw.json` in a state directory.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    path: PathBuf,
    /// The symbolic link `path` was reached through (dotfile managers link `openclaw.json`).
    link: Option<PathBuf>,
}

impl ConfigFile {
    /// The config file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> ConfigFile {
        ConfigFile {
            path: path.into(),
            link: None,
        }
    }

    /// The config at `path`, following `path` when it is a symbolic link to a regular file owned by
    /// the state directory's owner (the link stays; writes replace its target atomically, under the locks of both the
    /// link's and the target's sidecar). A link to anything else is refused, naming both.
    pub fn following(path: impl Into<PathBuf>) -> Result<ConfigFile, StoreError> {
        let path = path.into();
        let is_link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
        if !is_link {
            return Ok(ConfigFile::new(path));
        }
        let refuse = |why: String| StoreError::LinkRefused {
            path: path.clone(),
            why,
        };
        let target = std::fs::canonicalize(&path).map_err(|e| {
            refuse(format!("its target cannot be reached ({e})"))
        })?;
        let meta = std::fs::metadata(&target)
            .map_err(|e| refuse(format!("its target {} cannot be read ({e})", target.display())))?;
        if !meta.is_file() {
            return Err(refuse(format!("its target {} is not a regular file", target.display())));
        }
        // The state directory's owner is the user the config belongs to.
        let owner = path
            .parent()
            .and_then(|d| std::fs::metadata(d).ok())
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m));
        let target_owner = std::os::unix::fs::MetadataExt::uid(&meta);
        if owner.is_some_and(|o| o != target_owner) {
            return Err(refuse(format!(
                "its target {} is owned by uid {target_owner}, not by the state directory's owner (uid {}); link a file of that user's",
                target.display(),
                owner.unwrap_or_default()
            )));
        }
        Ok(ConfigFile {
            path: target,
            link: Some(path),
        })
    }

    /// The symbolic link the file was reached through, if any.
    pub fn link(&self) -> Option<&Path> {
        self.link.as_deref()
    }

    /// Where it lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the config; a missing file is an empty config. Syntax errors name the line and column.
    pub fn load(&self) -> Result<Config, StoreError> {
        Ok(Config::from_document(&self.load_document()?))
    }

    /// The raw document.
    pub fn load_document(&self) -> Result<Document, StoreError> {
        match atomic::read_text(&self.path, CONFIG_FILE_LIMIT)? {
            Some(text) => Document::parse_json5(&self.path, &zeroize::Zeroizing::new(text)),
            None => Ok(Document::default()),
        }
    }

    /// Under the lock: re-reads, lets `change` edit the document (returning whether it changed anything)
    /// and rewrites it as JSON keeping every other key. Comments are lost; the result says so.
    pub fn update(
        &self,
        change: impl FnOnce(&mut Document) -> bool,
    ) -> Result<ConfigWrite, StoreError> {
        // A writer that locks the link's path (OpenClaw resolves the path, not the link) is excluded too.
        let _link_lock = match &self.link {
            Some(link) => Some(crate::store::lock::acquire(link, Default::default())?),
            None => None,
        };
        atomic::update(&self.path, CONFIG_FILE_LIMIT, |current| {
            let text = current.map(zeroize::Zeroizing::new);
            let mut doc = match &text {
                Some(t) => Document::parse_json5(&self.path, t)?,
                None => Document::default(),
            };
            if !change(&mut doc) {
                return Ok((None, ConfigWrite::default()));
            }
            if let Some((line, column, value)) =
                text.as_deref().and_then(|t| crate::store::json::unkeepable_value(t))
            {
                return Err(StoreError::CannotRewrite {
                    path: self.path.clone(),
                    line,
                    column,
                    value,
                });
            }
            let dropped_comments = text.as_deref().is_some_and(|t| has_comments(t));
            if dropped_comments {
                tracing::warn!(file = %self.path.display(), "rewriting config as JSON drops its comments");
            }
            Ok((
                Some(doc.to_text()),
                ConfigWrite {
                    dropped_comments,
                    written: true,
                },
            ))
        })
    }
}

/// Records `auth.profiles[id] = {provider, mode}` (other keys of the entry kept); true when it changed.
pub fn set_profile_meta(
    doc: &mut Document,
    id: &str,
    provider: &ProviderId,
    kind: CredentialKind,
) -> bool {
    let auth = doc.object_mut("auth");
    let entry = object_entry(object_entry(auth, "profiles"), id);
    let before = (entry.get("provider").cloned(), entry.get("mode").cloned());
    entry.insert("provider".into(), json!(provider.as_str()));
    entry.insert("mode".into(), json!(kind.as_str()));
    before != (Some(json!(provider.as_str())), Some(json!(kind.as_str())))
}

/// Removes `auth.profiles[id]` and the id from `auth.order`; true when anything was removed.
pub fn remove_profile_meta(doc: &mut Document, id: &str) -> bool {
    let Some(Value::Object(auth)) = doc.root.get_mut("auth") else {
        return false;
    };
    let mut changed = match auth.get_mut("profiles") {
        Some(Value::Object(p)) => p.shift_remove(id).is_some(),
        _ => false,
    };
    if let Some(Value::Object(order)) = auth.get_mut("order") {
        for (_, list) in order.iter_mut() {
            if let Value::Array(items) = list {
                let n = items.len();
                items.retain(|v| v.as_str() != Some(id));
                changed |= items.len() != n;
            }
        }
    }
    changed
}

/// Sets the default model: `agents.list[agent].model.primary` for `Some(agent)`, else
/// `agents.defaults.model.primary`. A bare-string `model` setting is turned into an object.
pub fn set_primary_model(doc: &mut Document, agent: Option<&AgentId>, model: &str) -> bool {
    let shape = shape::shape_of(&doc.root);
    let agents = doc.object_mut("agents");
    let holder: &mut Map<String, Value> = match agent {
        None => object_entry(agents, "defaults"),
        Some(id) => match shape::agent_holder(agents, id.as_str(), shape) {
            Some(m) => m,
            None => return false,
        },
    };
    let slot = holder.entry("model").or_insert_with(|| json!({}));
    if shape == ConfigShape::Entries
        && let Value::String(s) = slot
    {
        // 2026.9 writes a bare string here: keep the file's own form.
        let changed = s != model;
        *slot = json!(model);
        return changed;
    }
    if let Value::String(s) = slot {
        *slot = json!({ "primary": s.clone() });
    }
    if !slot.is_object() {
        *slot = json!({});
    }
    let m = slot.as_object_mut().expect("just made an object");
    let changed = m.get("primary").and_then(Value::as_str) != Some(model);
    m.insert("primary".into(), json!(model));
    changed
}

/// True when JSON5 text has `//` or `/* */` comments outside strings.
pub fn has_comments(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        match (quote, b[i]) {
            (Some(_), b'\\') => i += 1,
            (Some(q), c) if c == q => quote = None,
            (None, c @ (b'"' | b'\'')) => quote = Some(c),
            (None, b'/') if matches!(b.get(i + 1), Some(b'/' | b'*')) => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

//! Which models exist and are allowed, and how a typed model reference resolves (SPEC §4).

use std::collections::{BTreeMap, BTreeSet};

use crate::config::{Config, Env};
use crate::store::{AgentId, AuthProfiles, ProviderId};

/// Providers that are always known, even without config or credentials.
pub const WELL_KNOWN: [&str; 10] = [
    "anthropic",
    "openai",
    "openrouter",
    "google",
    "xai",
    "mistral",
    "groq",
    "deepseek",
    "ollama",
    "lmstudio",
];

/// A small built-in catalogue used by `/model list` and substring matching when config lists no models
/// (with the targets of the built-in aliases).
const CATALOGUE: [(&str, &[&str]); 6] = [
    (
        "anthropic",
        &[
            "claude-opus-5",
            "claude-sonnet-5",
            "claude-opus-4-6",
            "claude-sonnet-4-5",
            "claude-haiku-4-5",
        ],
    ),
    (
        "openai",
        &["gpt-5.4", "gpt-5.4-mini", "gpt-5.4-nano", "gpt-5", "gpt-5-mini", "gpt-4.1"],
    ),
    (
        "google",
        &[
            "gemini-3.1-pro-preview",
            "gemini-3-flash-preview",
            "gemini-3.1-flash-lite",
            "gemini-2.5-pro",
            "gemini-2.5-flash",
        ],
    ),
    ("xai", &["grok-4"]),
    ("mistral", &["mistral-large-latest"]),
    ("deepseek", &["deepseek-chat"]),
];

/// The aliases OpenClaw 2026.9.6 provides by itself (`DEFAULT_MODEL_ALIASES`): used when config has no
/// alias of that name, and, under an allowlist, only for an allowed target (docs/DECISIONS.md).
pub const BUILTIN_ALIASES: [(&str, &str); 8] = [
    ("opus", "anthropic/claude-opus-5"),
    ("sonnet", "anthropic/claude-sonnet-5"),
    ("gpt", "openai/gpt-5.4"),
    ("gpt-mini", "openai/gpt-5.4-mini"),
    ("gpt-nano", "openai/gpt-5.4-nano"),
    ("gemini", "google/gemini-3.1-pro-preview"),
    ("gemini-flash", "google/gemini-3-flash-preview"),
    ("gemini-flash-lite", "google/gemini-3.1-flash-lite"),
];

/// The built-in alias `raw` names (case-insensitively), unless config has an alias of that name or an
/// allowlist excludes its target: `(alias, ref)`.
pub fn builtin_alias(raw: &str, config: &Config, catalogue: &Catalogue) -> Option<(&'static str, &'static str)> {
    let (alias, target) = BUILTIN_ALIASES
        .iter()
        .find(|(a, _)| a.eq_ignore_ascii_case(raw))?;
    if config.aliases().any(|(a, _)| a.eq_ignore_ascii_case(alias)) {
        return None;
    }
    if catalogue.configured_builtins_only && !builtin_active_2026_9(target, config) {
        return None;
    }
    (!catalogue.restricted || catalogue.allows(target)).then_some((*alias, *target))
}

/// OpenClaw 2026.9.6's rule (`applyModelAliasDefaults`): a built-in alias is active only for a target
/// that has an entry in `agents.defaults.models` without an alias of its own.
fn builtin_active_2026_9(target: &str, config: &Config) -> bool {
    config
        .models
        .iter()
        .any(|(r, alias)| normalise_ref(r) == target && alias.is_none())
}

/// The models a chat user may select, grouped by provider, with their aliases.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    /// provider → model refs (`provider/model`), sorted.
    pub by_provider: BTreeMap<String, BTreeSet<String>>,
    /// ref → aliases.
    pub aliases: BTreeMap<String, Vec<String>>,
    /// True when config has an allowlist (`agents.defaults.models`, or 2026.9's `modelPolicy.allow`).
    pub restricted: bool,
    /// Providers an allowlist opens entirely (`provider/*`).
    pub wildcards: BTreeSet<String>,
    /// Providers that may be used with any model id (no allowlist).
    pub known_providers: BTreeSet<String>,
    /// OpenClaw 2026.9.6's rule: a built-in alias only for a target listed in
    /// `agents.defaults.models` without an alias (else every built-in alias, docs/DECISIONS.md).
    pub configured_builtins_only: bool,
}

/// Splits `provider/model`, normalising the provider; `None` without a `/` or with an invalid provider.
pub fn split_ref(r: &str) -> Option<(ProviderId, &str)> {
    let (p, m) = r.split_once('/')?;
    Some((ProviderId::new(p).ok()?, m))
}

/// `provider/model` with the provider normalised (model case kept); other text unchanged.
pub fn normalise_ref(r: &str) -> String {
    match split_ref(r) {
        Some((p, m)) => format!("{p}/{m}"),
        None => r.to_owned(),
    }
}

impl Catalogue {
    /// Builds the catalogue for `agent` from config, the store and the environment.
    pub fn build(config: &Config, store: &AuthProfiles, env: &Env, agent: &AgentId) -> Catalogue {
        let mut c = Catalogue {
            restricted: config.restricted(),
            ..Catalogue::default()
        };
        for (alias, r) in config.aliases() {
            c.aliases
                .entry(normalise_ref(r))
                .or_default()
                .push(alias.to_owned());
        }
        let configured: Vec<String> = config.aliases().map(|(a, _)| a.to_ascii_lowercase()).collect();
        let builtin: Vec<(&str, &str)> = BUILTIN_ALIASES
            .iter()
            .filter(|(a, _)| !configured.iter().any(|c| c == a))
            .copied()
            .collect();
        let add = |c: &mut Catalogue, r: &str| c.add_ref(r);
        if c.restricted {
            c.add_allowed(config, agent);
            c.add_builtin(&builtin);
            return c;
        }
        let mut known: BTreeSet<String> = WELL_KNOWN.iter().map(|s| s.to_string()).collect();
        known.extend(config.providers.keys().map(ToString::to_string));
        known.extend(store.profiles.values().map(|p| p.provider.to_string()));
        known.extend(
            config
                .auth_profiles
                .values()
                .map(|m| m.provider.to_string()),
        );
        let in_use = |p: &str| {
            let id = ProviderId::new(p).ok();
            config.providers.keys().any(|k| k.as_str() == p)
                || store.profiles.values().any(|x| x.provider.as_str() == p)
                || id.is_some_and(|id| !env.provider_keys(&id).is_empty())
        };
        for (p, models) in CATALOGUE {
            if in_use(p) {
                for m in models {
                    add(&mut c, &format!("{p}/{m}"));
                }
            }
        }
        for (p, pc) in &config.providers {
            for m in &pc.models {
                add(&mut c, &format!("{p}/{m}"));
            }
        }
        for p in known.iter().filter(|p| in_use(p)) {
            c.by_provider.entry(p.clone()).or_default();
        }
        let primary = config.primary_model(agent);
        add(&mut c, &primary);
        for r in config.fallbacks(agent) {
            add(&mut c, &r);
        }
        c.known_providers = known;
        c.add_builtin(&builtin);
        c
    }

    /// Lists `r` under its provider.
    fn add_ref(&mut self, r: &str) {
        if let Some((p, _)) = split_ref(r) {
            self.by_provider
                .entry(p.to_string())
                .or_default()
                .insert(normalise_ref(r));
        }
    }

    /// An allowlist's models (`provider/*` lists the provider's catalogue and allows any of its ids),
    /// the default and the fallbacks.
    fn add_allowed(&mut self, config: &Config, agent: &AgentId) {
        let mut refs = Vec::new();
        for r in config.allowed() {
            match r.strip_suffix("/*").map(ProviderId::new) {
                Some(Ok(p)) => {
                    let models = CATALOGUE.iter().filter(|(cp, _)| *cp == p.as_str());
                    refs.extend(models.flat_map(|(cp, ms)| ms.iter().map(move |m| format!("{cp}/{m}"))));
                    self.by_provider.entry(p.to_string()).or_default();
                    self.wildcards.insert(p.to_string());
                }
                Some(Err(_)) => {}
                None => refs.push(r),
            }
        }
        refs.push(config.primary_model(agent));
        refs.extend(config.fallbacks(agent));
        for r in refs {
            self.add_ref(&r);
        }
    }

    /// Under OpenClaw 2026.9.6's rules (`on`): built-in aliases only for targets with an entry in
    /// `agents.defaults.models` (the listed ones are dropped from the aliases shown).
    pub fn with_alias_rules(mut self, on: bool, config: &Config) -> Catalogue {
        self.configured_builtins_only = on;
        if on {
            for (alias, target) in BUILTIN_ALIASES {
                if !builtin_active_2026_9(target, config)
                    && let Some(list) = self.aliases.get_mut(target)
                {
                    list.retain(|a| a != alias || config.aliases().any(|(c, _)| c == alias));
                }
            }
            self.aliases.retain(|_, list| !list.is_empty());
        }
        self
    }

    /// Lists the built-in `aliases` whose targets are listed or allowed.
    fn add_builtin(&mut self, aliases: &[(&str, &str)]) {
        for (alias, target) in aliases {
            let listed = self.refs().any(|r| r == target);
            if listed || (!self.restricted && self.allows(target)) {
                if !listed && let Some((p, _)) = split_ref(target) && self.by_provider.contains_key(p.as_str()) {
                    self.by_provider.entry(p.to_string()).or_default().insert((*target).to_owned());
                }
                self.aliases.entry((*target).to_owned()).or_default().push((*alias).to_owned());
            }
        }
    }

    /// Every listed ref.
    pub fn refs(&self) -> impl Iterator<Item = &String> {
        self.by_provider.values().flatten()
    }

    /// True when `r` is a model modelauth knows (listed, or of a provider it has no list of), so a
    /// bare id that is neither is refused with a did-you-mean instead of being taken as typed.
    pub fn knows(&self, r: &str) -> bool {
        let listed = self.refs().any(|x| x == r);
        let provider_listed = split_ref(r).is_some_and(|(p, _)| {
            CATALOGUE.iter().any(|(cp, _)| *cp == p.as_str())
                || self.by_provider.get(p.as_str()).is_some_and(|s| !s.is_empty())
        });
        listed || !provider_listed
    }

    /// True when `r` (normalised) may be selected.
    pub fn allows(&self, r: &str) -> bool {
        match split_ref(r) {
            Some((p, _)) if !self.restricted => self.known_providers.contains(p.as_str()),
            Some((p, _)) if self.wildcards.contains(p.as_str()) => true,
            Some((p, _)) => self
                .by_provider
                .get(p.as_str())
                .is_some_and(|s| s.contains(r)),
            None => false,
        }
    }
}

/// How a typed model resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelMatch {
    /// A model ref, with the alias used (if any).
    Found {
        /// `provider/model`.
        model_ref: String,
        /// The alias that named it.
        alias: Option<String>,
        /// Typed in full, and not a model modelauth knows for its provider (taken as typed; the
        /// reply says so).
        unlisted: bool,
    },
    /// A bare model id that is no model modelauth knows for the default provider.
    Unknown {
        /// `provider/model` as understood.
        model_ref: String,
        /// A close known ref, if there is one.
        suggestion: Option<String>,
    },
    /// Several allowed models contain the text.
    Ambiguous(Vec<String>),
    /// Not allowed; the ref as understood, and a close allowed ref if there is one.
    NotAllowed {
        /// `provider/model` as understood.
        model_ref: String,
        /// A ref within edit distance 2.
        suggestion: Option<String>,
    },
}

/// Resolves `raw`: alias → exact ref → unique case-insensitive substring among allowed models.
pub fn match_model(
    raw: &str,
    catalogue: &Catalogue,
    config: &Config,
    default_provider: &str,
) -> ModelMatch {
    let lower = raw.to_ascii_lowercase();
    if let Some((alias, r)) = config.aliases().find(|(a, _)| a.eq_ignore_ascii_case(raw)) {
        return ModelMatch::Found {
            model_ref: normalise_ref(r),
            alias: Some(alias.to_owned()),
            unlisted: false,
        };
    }
    if let Some((alias, r)) = builtin_alias(raw, config, catalogue) {
        return ModelMatch::Found {
            model_ref: r.to_owned(),
            alias: Some(alias.to_owned()),
            unlisted: false,
        };
    }
    let explicit = raw.contains('/');
    let model_ref = if explicit {
        normalise_ref(raw)
    } else {
        format!("{default_provider}/{raw}")
    };
    let allowed = catalogue.allows(&model_ref);
    if allowed && (explicit || catalogue.knows(&model_ref)) {
        return ModelMatch::Found {
            unlisted: !catalogue.knows(&model_ref),
            model_ref,
            alias: None,
        };
    }
    let hits: Vec<&String> = catalogue
        .refs()
        .filter(|r| r.to_ascii_lowercase().contains(&lower))
        .collect();
    match hits.len() {
        1 => {
            // Named by its alias, as OpenClaw names a model it found by a fragment.
            let alias = catalogue.aliases.get(hits[0]).and_then(|a| a.first()).cloned();
            return ModelMatch::Found {
                model_ref: hits[0].clone(),
                alias,
                unlisted: false,
            };
        }
        n if n > 1 => return ModelMatch::Ambiguous(hits.into_iter().cloned().collect()),
        _ => {}
    }
    let target = model_ref.to_ascii_lowercase();
    let suggestion = catalogue
        .refs()
        .map(|r| {
            let r_lower = r.to_ascii_lowercase();
            let model_part = r_lower.split_once('/').map_or(r_lower.as_str(), |(_, m)| m);
            (
                edit_distance(&r_lower, &target).min(edit_distance(model_part, &lower)),
                r,
            )
        })
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, r)| r.clone());
    if allowed {
        return ModelMatch::Unknown {
            model_ref,
            suggestion,
        };
    }
    ModelMatch::NotAllowed {
        model_ref,
        suggestion,
    }
}


/// A found model, not flagged as unlisted.
pub(super) fn found(model_ref: String, alias: Option<String>) -> ModelMatch {
    ModelMatch::Found {
        model_ref,
        alias,
        unlisted: false,
    }
}

/// Levenshtein distance over chars.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::edit_distance;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("gpt-5", "gpt-5"), 0);
        assert_eq!(edit_distance("gpt-4", "gpt-5"), 1);
        assert_eq!(edit_distance("claude", "cluade"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}

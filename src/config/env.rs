//! The lookup environment: the process environment plus `<state>/.env`, which never overrides a
//! variable that is already set. Values are [`Secret`]s; tests build an [`Env`] from pairs.

use std::collections::BTreeMap;
use std::path::Path;

use crate::store::{ProviderId, Secret, StoreError, atomic};

pub use super::dotenv::DotenvWarning;

/// Variables visible to modelauth. Values never appear in `Debug`.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, Secret>,
    /// Variables imported from the login shell (named `shell env: NAME` in views).
    from_shell: std::collections::BTreeSet<String>,
    /// Variables read from `<state>/.env`.
    from_dotenv: std::collections::BTreeSet<String>,
    /// Which release's rules find provider keys.
    rules: KeyRules,
}

/// Which rules find a provider's keys in the environment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum KeyRules {
    /// SPEC §2 (the early-2026 releases): `<P>_API_KEY`, then each entry of `<P>_API_KEYS` (comma- or
    /// newline-separated).
    #[default]
    Spec,
    /// OpenClaw 2026.9.6 (its SQLite-generation directories): `<P>_API_KEY` only, plus
    /// `GOOGLE_API_KEY` for google; key lists do not count for status and resolution there.
    OpenClaw2026_9,
}

/// One provider key found in the environment or config, with where it came from.
#[derive(Debug, Clone)]
pub struct KeySource {
    /// `env: ANTHROPIC_API_KEY`, `env: OPENAI_API_KEYS[2]` or `config`.
    pub label: String,
    /// The key.
    pub secret: Secret,
}

impl Env {
    /// An environment with exactly these variables (for tests and embedding).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Env {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), Secret::new(v)))
                .collect(),
            from_shell: Default::default(),
            from_dotenv: Default::default(),
            rules: KeyRules::Spec,
        }
    }

    /// Finds provider keys by `rules` from now on (the gateway sets OpenClaw 2026.9.6's for a
    /// SQLite-generation directory).
    pub fn set_key_rules(&mut self, rules: KeyRules) {
        self.rules = rules;
    }

    /// The process environment (variables that are not UTF-8 are left out).
    pub fn process() -> Env {
        Env {
            vars: std::env::vars().map(|(k, v)| (k, Secret::new(v))).collect(),
            from_shell: Default::default(),
            from_dotenv: Default::default(),
            rules: KeyRules::Spec,
        }
    }

    /// Adds the variables of the `.env` file at `path` that are not set yet (a key written twice counts
    /// with its last value, as in OpenClaw). A missing file adds nothing; a line that defines nothing,
    /// or bytes that are not UTF-8, are warnings and the rest is read.
    pub fn load_dotenv(&mut self, path: &Path) -> Result<Vec<DotenvWarning>, StoreError> {
        let Some(bytes) = atomic::read_bytes(path, 1 << 20)? else {
            return Ok(Vec::new());
        };
        let bytes = zeroize::Zeroizing::new(bytes);
        let (pairs, warnings) = super::dotenv::parse(&bytes);
        for (k, v) in pairs {
            if !self.vars.contains_key(&k) {
                self.from_dotenv.insert(k.clone());
                self.vars.insert(k, v);
            }
        }
        Ok(warnings)
    }

    /// Sets `name` to `value` imported from the login shell ([`super::shell_env`]).
    pub(crate) fn set_from_shell(&mut self, name: &str, value: &str) {
        self.vars.insert(name.to_owned(), Secret::new(value));
        self.from_shell.insert(name.to_owned());
    }

    /// Every variable as plain pairs (to start the login shell with this environment).
    pub(crate) fn plain_vars(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.expose_secret()))
    }

    /// Where `name` came from, for views: `shell env` for an imported variable, else `env`.
    pub fn origin(&self, name: &str) -> &'static str {
        if self.from_shell.contains(name) {
            "shell env"
        } else {
            "env"
        }
    }

    /// Where `name` was found, for `doctor`: `the process environment`, `<state>/.env`, `the login
    /// shell`, or `None` when it is not set.
    pub fn source_of(&self, name: &str) -> Option<&'static str> {
        self.get(name)?;
        Some(if self.from_shell.contains(name) {
            "the login shell"
        } else if self.from_dotenv.contains(name) {
            "<state>/.env"
        } else {
            "the process environment"
        })
    }

    /// The variable names of every provider key modelauth looks for: `<P>_API_KEY` and
    /// `<P>_API_KEYS` of each of `providers`.
    pub fn key_names<'a>(providers: impl IntoIterator<Item = &'a ProviderId>) -> Vec<String> {
        providers
            .into_iter()
            .flat_map(|p| {
                let stem = p.env_stem();
                let google = (p.as_str() == "google").then(|| "GOOGLE_API_KEY".to_owned());
                [format!("{stem}_API_KEY"), format!("{stem}_API_KEYS")]
                    .into_iter()
                    .chain(google)
            })
            .collect()
    }

    /// The value of `name`, if set and not empty.
    pub fn get(&self, name: &str) -> Option<&Secret> {
        self.vars.get(name).filter(|s| !s.is_blank())
    }

    /// The value of `name` as plain text, for non-secret settings such as paths.
    pub fn get_plain(&self, name: &str) -> Option<&str> {
        self.get(name).map(Secret::expose_secret)
    }

    /// The environment keys for `provider` by the key rules in force: `<P>_API_KEY` (and
    /// `GOOGLE_API_KEY` for google under OpenClaw 2026.9.6's), then, under SPEC's, each entry of
    /// `<P>_API_KEYS` (comma- or newline-separated).
    pub fn provider_keys(&self, provider: &ProviderId) -> Vec<KeySource> {
        let stem = provider.env_stem();
        let mut out = Vec::new();
        let single = format!("{stem}_API_KEY");
        let mut singles = vec![single];
        if self.rules == KeyRules::OpenClaw2026_9 && provider.as_str() == "google" {
            singles.push("GOOGLE_API_KEY".to_owned());
        }
        for name in singles {
            if let Some(s) = self.get(&name) {
                out.push(KeySource {
                    label: format!("{}: {name}", self.origin(&name)),
                    secret: s.clone(),
                });
            }
        }
        if self.rules == KeyRules::OpenClaw2026_9 {
            return out;
        }
        let list = format!("{stem}_API_KEYS");
        if let Some(s) = self.get(&list) {
            let parts = s
                .expose_secret()
                .split([',', '\n'])
                .map(str::trim)
                .filter(|p| !p.is_empty());
            for (i, part) in parts.enumerate() {
                out.push(KeySource {
                    label: format!("{}: {list}[{}]", self.origin(&list), i + 1),
                    secret: Secret::new(part),
                });
            }
        }
        out
    }

    /// The variable name a user should set for `provider` (`ANTHROPIC_API_KEY`, `GEMINI_API_KEY`, …).
    pub fn key_name(provider: &ProviderId) -> String {
        format!("{}_API_KEY", provider.env_stem())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_keys_follow_naming_rules() {
        let env = Env::from_pairs([
            ("GEMINI_API_KEY", "g1"),
            ("OPENAI_API_KEYS", "a, b\nc"),
            ("AMAZON_BEDROCK_API_KEY", "x"),
        ]);
        let google = ProviderId::new("google").unwrap();
        assert_eq!(env.provider_keys(&google)[0].label, "env: GEMINI_API_KEY");
        let openai = ProviderId::new("openai").unwrap();
        let labels: Vec<_> = env
            .provider_keys(&openai)
            .into_iter()
            .map(|k| k.label)
            .collect();
        assert_eq!(
            labels,
            [
                "env: OPENAI_API_KEYS[1]",
                "env: OPENAI_API_KEYS[2]",
                "env: OPENAI_API_KEYS[3]"
            ]
        );
        let bedrock = ProviderId::new("bedrock").unwrap();
        assert_eq!(env.provider_keys(&bedrock).len(), 1);
    }
}

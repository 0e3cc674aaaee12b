//! modelauth's own routing policy (issue 29): quota thresholds, the prompt-cache lifetime, billing
//! lanes and who may cross from a subscription to a metered key. Read from `modelauth.json` in the
//! state directory (JSON5), beside OpenClaw's files and never inside them: OpenClaw's config schema is
//! its own.
//!
//! ```json5
//! {
//!   quota: {
//!     routing: true,                   // false: the reactive policy, windows only recorded
//!     promptCacheIdle: "5m",
//!     thresholds: { fiveHour: 0.9, sevenDay: 0.95, other: 0.95, wall: 0.98, minRequests: 2, minTokens: 2000 },
//!     providers: { anthropic: { fiveHour: 0.8 } },
//!   },
//!   lanes: {
//!     profiles: { "anthropic:ci": "free" },
//!     metered: "opt-in",                 // or "allow"
//!     agents: { main: "allow" },
//!     sessionKinds: { cron: "allow" },
//!   },
//! }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::store::{CredentialKind, Document, Lane, ProviderId, StoreError};

/// The policy file's name in the state directory.
pub const POLICY_FILE: &str = "modelauth.json";

/// When a profile counts as past its threshold (moved behind profiles with headroom, never blocked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Share of a 5-hour window, in millionths.
    pub five_hour_ppm: u32,
    /// Share of a 7-day window, in millionths.
    pub seven_day_ppm: u32,
    /// Share of any other window reported as a share, in millionths.
    pub other_ppm: u32,
    /// Share of a plan window at which even a warm session's automatic pin moves (the wall), in
    /// millionths. Between the threshold and the wall a profile takes no new sessions, but a session
    /// in the middle of a conversation finishes it there: moving breaks its prompt cache, and the new
    /// account's window pays for the whole context again.
    pub wall_ppm: u32,
    /// Fewer requests left than this in a request window.
    pub min_requests: u64,
    /// Fewer tokens left than this in a token window.
    pub min_tokens: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            five_hour_ppm: 900_000,
            seven_day_ppm: 950_000,
            other_ppm: 950_000,
            wall_ppm: 980_000,
            min_requests: 2,
            min_tokens: 2_000,
        }
    }
}

/// The routing policy of a gateway. `QuotaPolicy::default()` is what applies without a policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaPolicy {
    /// Thresholds for providers without their own.
    pub thresholds: Thresholds,
    /// Thresholds by provider.
    pub providers: BTreeMap<ProviderId, Thresholds>,
    /// How long a session may be idle before its prompt cache is cold, ms: an automatic pin moves
    /// for a soft reason (a sibling whose window resets sooner, a cheaper lane back) only after this.
    pub cache_idle_ms: i64,
    /// Lanes set by profile id (others follow their credential kind).
    pub lanes: BTreeMap<String, Lane>,
    /// Whether a subscription session may fall to a metered profile without asking, by default.
    pub allow_metered: bool,
    /// The same, by agent id.
    pub agents: BTreeMap<String, bool>,
    /// The same, by session kind (as the gateway names it: `cron`, `group`, …).
    pub session_kinds: BTreeMap<String, bool>,
    /// The longest cool-down a provider's reset may ask for, ms (a week and a day).
    pub max_reset_ms: i64,
    /// Route on quota windows and lanes (default). Off (`quota.routing: false`): the reactive policy
    /// of OpenClaw 2026.9.6 and of modelauth before quota windows — windows and the ledger are still
    /// recorded and shown, but ordering, pins and lanes ignore them.
    pub routing: bool,
}

impl Default for QuotaPolicy {
    fn default() -> Self {
        QuotaPolicy {
            thresholds: Thresholds::default(),
            providers: BTreeMap::new(),
            cache_idle_ms: 5 * 60_000,
            lanes: BTreeMap::new(),
            allow_metered: false,
            agents: BTreeMap::new(),
            session_kinds: BTreeMap::new(),
            max_reset_ms: 8 * 24 * 3_600_000,
            routing: true,
        }
    }
}

/// The default policy, shared.
pub static DEFAULT_POLICY: once_cell::sync::Lazy<QuotaPolicy> =
    once_cell::sync::Lazy::new(QuotaPolicy::default);

/// Why the policy file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read or parsed.
    #[error(transparent)]
    Read(#[from] StoreError),
    /// A value has the wrong type or range.
    #[error("{path}: `{field}` {problem}; fix or remove it (see docs/quota.md)")]
    Field {
        /// The file.
        path: PathBuf,
        /// The key, dotted.
        field: String,
        /// What is wrong.
        problem: String,
    },
}

impl QuotaPolicy {
    /// The thresholds of `provider`.
    pub fn thresholds_of(&self, provider: &ProviderId) -> &Thresholds {
        self.providers.get(provider).unwrap_or(&self.thresholds)
    }

    /// The lane of profile `id` holding a credential of `kind`.
    pub fn lane_of(&self, id: &str, kind: CredentialKind) -> Lane {
        self.lanes
            .get(id)
            .copied()
            .unwrap_or_else(|| Lane::of_kind(kind))
    }

    /// Whether a request may fall from a subscription to a metered profile: asked for by the caller
    /// (`opt_in`), or allowed for its session kind, its agent, or everyone (most specific first).
    pub fn metered_allowed(&self, agent: &str, session_kind: Option<&str>, opt_in: bool) -> bool {
        opt_in
            || session_kind
                .and_then(|k| self.session_kinds.get(k))
                .or_else(|| self.agents.get(agent))
                .copied()
                .unwrap_or(self.allow_metered)
    }

    /// Reads `modelauth.json` in `state_dir`; the default policy when there is none.
    pub fn load(state_dir: &Path) -> Result<QuotaPolicy, PolicyError> {
        let path = state_dir.join(POLICY_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(QuotaPolicy::default());
            }
            Err(source) => return Err(StoreError::Read { path, source }.into()),
        };
        let doc = Document::parse_json5(&path, &text)?;
        QuotaPolicy::from_root(&doc.root, &path)
    }

    /// The policy of a parsed file (`path` names it in errors).
    pub fn from_root(root: &Map<String, Value>, path: &Path) -> Result<QuotaPolicy, PolicyError> {
        let r = Reader { path };
        let mut p = QuotaPolicy::default();
        if let Some(quota) = r.object(root, "quota", "quota")? {
            if let Some(v) = quota.get("routing") {
                p.routing = v.as_bool().ok_or_else(|| r.bad("quota.routing", "is not true or false"))?;
            }
            if let Some(v) = quota.get("promptCacheIdle") {
                p.cache_idle_ms = r.duration_ms(v, "quota.promptCacheIdle")?;
            }
            if let Some(t) = r.object(quota, "thresholds", "quota.thresholds")? {
                p.thresholds = r.thresholds(t, Thresholds::default(), "quota.thresholds")?;
            }
            for (name, v) in r.object(quota, "providers", "quota.providers")?.into_iter().flatten() {
                let field = format!("quota.providers.{name}");
                let provider = ProviderId::new(name).map_err(|e| r.bad(&field, e.to_string()))?;
                let t = v.as_object().ok_or_else(|| r.bad(&field, "is not an object"))?;
                p.providers.insert(provider, r.thresholds(t, p.thresholds, &field)?);
            }
        }
        if let Some(lanes) = r.object(root, "lanes", "lanes")? {
            for (id, v) in r.object(lanes, "profiles", "lanes.profiles")?.into_iter().flatten() {
                let lane = v.as_str().and_then(Lane::parse).ok_or_else(|| {
                    r.bad(&format!("lanes.profiles.{id}"), "is not subscription, free or metered")
                })?;
                p.lanes.insert(id.clone(), lane);
            }
            if let Some(v) = lanes.get("metered") {
                p.allow_metered = r.metered(v, "lanes.metered")?;
            }
            for (key, target) in [("agents", &mut p.agents), ("sessionKinds", &mut p.session_kinds)] {
                let field = format!("lanes.{key}");
                for (name, v) in r.object(lanes, key, &field)?.into_iter().flatten() {
                    target.insert(name.clone(), r.metered(v, &format!("{field}.{name}"))?);
                }
            }
        }
        Ok(p)
    }
}

/// Typed reads with errors that name the file and key.
struct Reader<'p> {
    path: &'p Path,
}

impl Reader<'_> {
    fn bad(&self, field: &str, problem: impl Into<String>) -> PolicyError {
        PolicyError::Field {
            path: self.path.to_owned(),
            field: field.to_owned(),
            problem: problem.into(),
        }
    }

    fn object<'m>(
        &self,
        m: &'m Map<String, Value>,
        key: &str,
        field: &str,
    ) -> Result<Option<&'m Map<String, Value>>, PolicyError> {
        match m.get(key) {
            None => Ok(None),
            Some(Value::Object(o)) => Ok(Some(o)),
            Some(_) => Err(self.bad(field, "is not an object")),
        }
    }

    fn metered(&self, v: &Value, field: &str) -> Result<bool, PolicyError> {
        match v.as_str() {
            Some("allow") => Ok(true),
            Some("opt-in") => Ok(false),
            _ => Err(self.bad(field, "is not \"allow\" or \"opt-in\"")),
        }
    }

    fn duration_ms(&self, v: &Value, field: &str) -> Result<i64, PolicyError> {
        let ms = match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => humantime::parse_duration(s)
                .ok()
                .and_then(|d| u64::try_from(d.as_millis()).ok()),
            _ => None,
        };
        ms.and_then(|ms| i64::try_from(ms).ok())
            .ok_or_else(|| self.bad(field, "is not a duration (e.g. \"5m\", or milliseconds)"))
    }

    fn share(&self, v: &Value, field: &str) -> Result<u32, PolicyError> {
        match v.as_f64() {
            Some(f) if (0.0..=1.0).contains(&f) => Ok((f * 1_000_000.0).round() as u32),
            _ => Err(self.bad(field, "is not a share between 0 and 1 (e.g. 0.9)")),
        }
    }

    fn count(&self, v: &Value, field: &str) -> Result<u64, PolicyError> {
        v.as_u64()
            .ok_or_else(|| self.bad(field, "is not a whole number of requests or tokens"))
    }

    fn thresholds(
        &self,
        m: &Map<String, Value>,
        base: Thresholds,
        field: &str,
    ) -> Result<Thresholds, PolicyError> {
        let mut t = base;
        for (key, v) in m {
            let f = format!("{field}.{key}");
            match key.as_str() {
                "fiveHour" => t.five_hour_ppm = self.share(v, &f)?,
                "sevenDay" => t.seven_day_ppm = self.share(v, &f)?,
                "other" => t.other_ppm = self.share(v, &f)?,
                "wall" => t.wall_ppm = self.share(v, &f)?,
                "minRequests" => t.min_requests = self.count(v, &f)?,
                "minTokens" => t.min_tokens = self.count(v, &f)?,
                _ => return Err(self.bad(&f, "is not a threshold modelauth knows (fiveHour, sevenDay, other, wall, minRequests, minTokens)")),
            }
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<QuotaPolicy, PolicyError> {
        let path = Path::new("/s/modelauth.json");
        let doc = Document::parse_json5(path, text).map_err(PolicyError::Read)?;
        QuotaPolicy::from_root(&doc.root, path)
    }

    #[test]
    fn reads_every_setting() {
        let p = parse(
            r#"{quota: {routing: false, promptCacheIdle: "10m", thresholds: {fiveHour: 0.8, minTokens: 10, wall: 0.97},
                providers: {openai: {sevenDay: 0.5}}},
                lanes: {profiles: {"anthropic:ci": "free"}, metered: "allow",
                agents: {main: "opt-in"}, sessionKinds: {cron: "allow"}}}"#,
        )
        .unwrap();
        assert_eq!((p.cache_idle_ms, p.routing), (600_000, false));
        assert_eq!(p.thresholds.wall_ppm, 970_000);
        assert_eq!(p.thresholds.five_hour_ppm, 800_000);
        assert_eq!(p.thresholds.min_tokens, 10);
        let openai = p.thresholds_of(&ProviderId::new("openai").unwrap());
        assert_eq!((openai.five_hour_ppm, openai.seven_day_ppm), (800_000, 500_000));
        assert_eq!(p.lane_of("anthropic:ci", CredentialKind::Token), Lane::Free);
        assert_eq!(p.lane_of("anthropic:k", CredentialKind::ApiKey), Lane::Metered);
        assert!(!p.metered_allowed("main", None, false));
        assert!(p.metered_allowed("main", Some("cron"), false));
        assert!(p.metered_allowed("other", None, false));
        assert!(p.metered_allowed("main", None, true));
    }

    #[test]
    fn names_the_bad_key() {
        let e = parse(r#"{quota: {thresholds: {fiveHour: 90}}}"#).unwrap_err().to_string();
        assert!(e.contains("quota.thresholds.fiveHour") && e.contains("between 0 and 1"), "{e}");
        let e = parse(r#"{lanes: {profiles: {"a:b": "cheap"}}}"#).unwrap_err().to_string();
        assert!(e.contains("lanes.profiles.a:b"), "{e}");
        let e = parse(r#"{lanes: {metered: true}}"#).unwrap_err().to_string();
        assert!(e.contains("lanes.metered"), "{e}");
    }
}

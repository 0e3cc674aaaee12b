//! The typed view of `auth-profiles.json` (SPEC §2): profiles, order, lastGood and usage statistics.
//!
//! The view is computed from a [`Document`]; the document stays the source of truth for writes, so fields
//! this view does not know survive every rewrite.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::hash::IdHasher;
use super::ids::ProviderId;
use super::json::Document;
use super::fence::Fence;
use super::secret::Secret;
use super::secret_ref::SecretRef;

pub use super::failure::{FAILURE_REASONS, FailureReason};
pub use super::refresh_note::RefreshNote;

/// The kind of a stored credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CredentialKind {
    /// An API key (`type: "api_key"`).
    ApiKey,
    /// A long-lived bearer token, e.g. from `claude setup-token` (`type: "token"`).
    Token,
    /// An OAuth login: access + refresh token + expiry (`type: "oauth"`).
    OAuth,
}

impl CredentialKind {
    /// The on-disk name: `api_key`, `token` or `oauth`.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::ApiKey => "api_key",
            CredentialKind::Token => "token",
            CredentialKind::OAuth => "oauth",
        }
    }

    /// The entry fields of the kind's secret: the inline value and the reference (`key`/`keyRef`,
    /// `token`/`tokenRef`); `None` for an OAuth login, which holds no reference.
    pub fn secret_fields(self) -> Option<(&'static str, &'static str)> {
        match self {
            CredentialKind::ApiKey => Some(("key", "keyRef")),
            CredentialKind::Token => Some(("token", "tokenRef")),
            CredentialKind::OAuth => None,
        }
    }

    /// Reads a type name, accepting the legacy `apiKey` spelling.
    pub fn parse(name: &str) -> Option<CredentialKind> {
        match name {
            "api_key" | "apiKey" | "api-key" => Some(CredentialKind::ApiKey),
            "token" => Some(CredentialKind::Token),
            "oauth" => Some(CredentialKind::OAuth),
            _ => None,
        }
    }
}

impl fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One stored credential. Secrets are [`Secret`]s; `Debug` shows none of them.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The profile id, e.g. `anthropic:work`.
    pub id: String,
    /// The normalised provider.
    pub provider: ProviderId,
    /// The credential kind.
    pub kind: CredentialKind,
    /// The key (`api_key`), token (`token`) or access token (`oauth`), when present.
    pub secret: Option<Secret>,
    /// The refresh token of an `oauth` credential.
    pub refresh: Option<Secret>,
    /// Where the key (`keyRef`) or token (`tokenRef`) lives when the profile holds a reference
    /// instead of the value; it wins over an inline value, as in OpenClaw. Resolve it with
    /// `crate::secrets` at the point of use.
    pub secret_ref: Option<SecretRef>,
    /// OpenClaw's OAuth refresh fence, when the store holds its inert marker instead of the tokens.
    pub fence: Option<Fence>,
    /// Expiry in ms since the epoch; `None` for "does not expire".
    pub expires: Option<i64>,
    /// The account e-mail of an OAuth login, when recorded.
    pub email: Option<String>,
    /// What modelauth recorded of this OAuth login's last refresh (`modelauthRefresh`), if anything.
    pub refresh_note: Option<RefreshNote>,
    /// This profile's `usageStats` entry, shared with [`AuthProfiles::usage`] (set when the view is
    /// built, so the resolver reads it without a lookup).
    pub usage: Option<Arc<UsageStats>>,
}

impl Profile {
    /// True for an OAuth login whose refresh token the provider refused: only a new login
    /// (`models auth login`) helps. A refresh token changed since (a login elsewhere) clears it.
    pub fn needs_reauth(&self) -> bool {
        let Some(note) = self.refresh_note.as_ref().filter(|n| n.permanent) else {
            return false;
        };
        match (&self.refresh, &note.refresh_fingerprint) {
            (Some(r), Some(f)) => r.fingerprint() == *f,
            (None, _) => true,
            (Some(_), None) => true,
        }
    }

    /// True when the credential has an expiry at or before `now_ms`.
    pub fn is_expired(&self, now_ms: i64) -> bool {
        self.expires.is_some_and(|e| e <= now_ms)
    }

    /// True when the credential holds what its kind needs (a key, a token or a reference to one, or
    /// an access or refresh token). A fenced OAuth login holds only markers: no secret.
    #[inline]
    pub fn has_secret(&self) -> bool {
        let present = |s: &Option<Secret>| s.as_ref().is_some_and(|s| !s.is_blank());
        match self.kind {
            CredentialKind::OAuth => {
                self.fence.is_none() && (present(&self.secret) || present(&self.refresh))
            }
            _ => self.secret_ref.is_some() || present(&self.secret),
        }
    }
}

/// `usageStats[id]`: use and failure bookkeeping of one profile. Absent numbers are 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageStats {
    /// Last successful (or chosen) use, ms.
    pub last_used: i64,
    /// Failures in a row.
    pub error_count: u32,
    /// End of the current cooldown, ms.
    pub cooldown_until: i64,
    /// Why it cools down.
    pub cooldown_reason: Option<FailureReason>,
    /// The model the cooldown is scoped to, if any.
    pub cooldown_model: Option<String>,
    /// End of the current disable window (billing, auth_permanent), ms.
    pub disabled_until: i64,
    /// Why it is disabled.
    pub disabled_reason: Option<FailureReason>,
    /// End of a block written by other tools, ms (honoured, never written).
    pub blocked_until: i64,
    /// Failures per reason since the last reset.
    pub failure_counts: BTreeMap<FailureReason, u32>,
    /// Time of the last failure, ms.
    pub last_failure_at: i64,
    /// The provider's quota windows and the ledger (`modelauthQuota`), when any answer reported them.
    pub quota: Option<Box<super::QuotaState>>,
    /// For a profile holding a secret reference: the fingerprint ([`Secret::fingerprint`]) of the
    /// secret that earned the current auth-class disable (`modelauthSecretFp`). When the reference
    /// resolves to another secret, the disable no longer applies.
    pub secret_fp: Option<String>,
}

impl UsageStats {
    /// The end of the window a refused credential (`auth` cooldown, `auth`/`auth_permanent`
    /// disable) started, while it lasts at `now`.
    pub fn refused_until(&self, now: i64) -> Option<i64> {
        let auth = |r: Option<FailureReason>| {
            matches!(r, Some(FailureReason::Auth | FailureReason::AuthPermanent))
        };
        let disabled = (auth(self.disabled_reason) && self.disabled_until > now)
            .then_some(self.disabled_until);
        let cooling = (auth(self.cooldown_reason) && self.cooldown_until > now)
            .then_some(self.cooldown_until);
        disabled.max(cooling)
    }
}

/// The longest cooldown or disable window (24 h); longer stored windows are read as this long.
pub const MAX_WINDOW_MS: i64 = 24 * 3_600_000;

/// Usage statistics by profile id.
pub type UsageMap = HashMap<String, Arc<UsageStats>, super::hash::IdHashBuilder>;

/// The typed content of one agent's `auth-profiles.json`: a read-only view built by
/// [`AuthProfiles::from_document`]. Change credentials through a backend (`backend::json::AuthFile` for the files), never by editing
/// this view (its per-provider index is made once, when it is built).
#[derive(Debug, Clone, Default)]
pub struct AuthProfiles {
    /// Profiles by id.
    pub profiles: BTreeMap<String, Arc<Profile>>,
    /// Order overrides: provider → profile ids.
    pub order: BTreeMap<ProviderId, Vec<String>>,
    /// Last profile that worked, per provider.
    pub last_good: BTreeMap<ProviderId, String>,
    /// Usage statistics by profile id.
    pub usage: UsageMap,
    /// Entries that were skipped, each naming the entry and why (never a secret).
    pub warnings: Vec<String>,
    /// Profiles that exist but cannot be read (a field of the wrong type): id → (provider, if it can be
    /// told from the entry or the id, and why). They count as profiles: no silent fall back to a key
    /// from the environment.
    pub invalid: BTreeMap<String, (Option<ProviderId>, String)>,
    /// The profiles of each provider, in id order (the resolver walks these on every request).
    by_provider: HashMap<ProviderId, ProviderIndex, super::hash::IdHashBuilder>,
}

/// One provider's profiles and the hash of their ids, made once when the view is built.
#[derive(Debug, Clone, Default)]
struct ProviderIndex {
    /// The profiles, in id order.
    profiles: Vec<Arc<Profile>>,
    /// [`IdHasher::of_ids`] over their ids.
    ids_hash: u64,
}

impl AuthProfiles {
    /// Builds the view of a parsed document. Entries that cannot be understood are skipped with a warning.
    pub fn from_document(doc: &Document) -> AuthProfiles {
        let mut out = AuthProfiles::default();
        match doc.root.get("profiles") {
            Some(Value::Object(profiles)) => {
                for (id, entry) in profiles {
                    out.add_profile(id, entry, None);
                }
            }
            Some(other) => out.warnings.push(format!(
                "\"profiles\" is {}, not an object; ignored",
                kind(other)
            )),
            None => {
                // Legacy layout: provider → credential at the top level.
                for (key, entry) in &doc.root {
                    if entry.is_object()
                        && !matches!(key.as_str(), "order" | "lastGood" | "usageStats")
                    {
                        out.add_profile(key, entry, Some(key));
                    }
                }
            }
        }
        out.read_routing(doc);
        out.link();
        out
    }

    /// This view's credentials with the routing records (`order`, `lastGood`, `usageStats`) of
    /// `routing` instead of its own: what a shared routing backend (Redis) serves. Warnings about the
    /// routing records are the routing document's.
    pub fn with_routing(&self, routing: &Document) -> AuthProfiles {
        let mut out = AuthProfiles {
            profiles: self
                .profiles
                .iter()
                .map(|(id, p)| (id.clone(), Arc::new(Profile::clone(p))))
                .collect(),
            invalid: self.invalid.clone(),
            warnings: self.warnings.clone(),
            ..AuthProfiles::default()
        };
        out.read_routing(routing);
        out.link();
        out
    }

    /// Reads `order`, `lastGood` and `usageStats` of `doc`.
    fn read_routing(&mut self, doc: &Document) {
        let out = self;
        out.read_order(doc.root.get("order"));
        out.read_last_good(doc.root.get("lastGood"));
        if let Some(stats) = doc.root.get("usageStats") {
            match stats {
                Value::Object(map) => {
                    for (id, entry) in map {
                        match entry {
                            Value::Object(fields) => {
                                out.usage.insert(id.clone(), Arc::new(usage_from(fields)));
                            }
                            other => out.warnings.push(format!(
                                "usageStats entry {id:?} is {}; ignored",
                                kind(other)
                            )),
                        }
                    }
                }
                other => out.warnings.push(format!(
                    "\"usageStats\" is {}, not an object; ignored",
                    kind(other)
                )),
            }
        }
    }

    /// Links each profile to its usage and builds the per-provider index.
    fn link(&mut self) {
        let out = self;
        for (id, p) in &mut out.profiles {
            // Unique here: the view is being built.
            if let Some(p) = Arc::get_mut(p) {
                p.usage = out.usage.get(id).cloned();
            }
            let index = out.by_provider.entry(p.provider.clone()).or_default();
            index.profiles.push(Arc::clone(p));
        }
        for index in out.by_provider.values_mut() {
            index.ids_hash = IdHasher::of_ids(index.profiles.iter().map(|p| p.id.as_str()));
        }
    }

    /// Adds one profile entry, or a warning naming it.
    fn add_profile(&mut self, id: &str, entry: &Value, legacy_provider: Option<&str>) {
        match profile_from(id, entry, legacy_provider) {
            Ok(p) => {
                self.profiles.insert(id.to_owned(), Arc::new(p));
            }
            Err(why) => {
                self.warnings.push(format!("profile {id:?} skipped: {why}"));
                let provider = entry
                    .get("provider")
                    .and_then(Value::as_str)
                    .or(legacy_provider)
                    .or_else(|| id.split_once(':').map(|(p, _)| p))
                    .and_then(|p| ProviderId::new(p).ok());
                self.invalid.insert(id.to_owned(), (provider, why));
            }
        }
    }

    /// Reads `order`, skipping entries that are not lists of strings.
    fn read_order(&mut self, value: Option<&Value>) {
        let Some(Value::Object(map)) = value else {
            return;
        };
        for (provider, ids) in map {
            let Ok(p) = ProviderId::new(provider) else {
                self.warnings.push(format!(
                    "order entry {provider:?} skipped: not a valid provider id"
                ));
                continue;
            };
            match ids {
                Value::Array(items) => {
                    let list = items
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect();
                    self.order.insert(p, list);
                }
                other => self.warnings.push(format!(
                    "order entry {provider:?} is {}; ignored",
                    kind(other)
                )),
            }
        }
    }

    /// Reads `lastGood`.
    fn read_last_good(&mut self, value: Option<&Value>) {
        let Some(Value::Object(map)) = value else {
            return;
        };
        for (provider, id) in map {
            if let (Ok(p), Some(id)) = (ProviderId::new(provider), id.as_str()) {
                self.last_good.insert(p, id.to_owned());
            }
        }
    }

    /// The unreadable profiles of `provider`, as `(id, why)`.
    pub fn invalid_of<'a>(
        &'a self,
        provider: &'a ProviderId,
    ) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.invalid
            .iter()
            .filter(move |(_, (p, _))| p.as_ref() == Some(provider))
            .map(|(id, (_, why))| (id.as_str(), why.as_str()))
    }

    /// The usage statistics of `id` (all zero when none are stored).
    pub fn usage_of(&self, id: &str) -> UsageStats {
        self.usage
            .get(id)
            .map(|s| UsageStats::clone(s))
            .unwrap_or_default()
    }

    /// The profiles of one provider, by id.
    pub fn of_provider<'a>(
        &'a self,
        provider: &'a ProviderId,
    ) -> impl Iterator<Item = &'a Profile> + 'a {
        self.provider_profiles(provider).iter().map(|p| &**p)
    }

    /// The profiles of one provider, by id, as a slice (no search, no filtering).
    pub fn provider_profiles(&self, provider: &ProviderId) -> &[Arc<Profile>] {
        self.provider_profiles_hashed(provider).0
    }

    /// [`AuthProfiles::provider_profiles`] with [`IdHasher::of_ids`] over their ids, computed once when
    /// the view was built: the resolver fingerprints the stored order without hashing on every request.
    pub fn provider_profiles_hashed(&self, provider: &ProviderId) -> (&[Arc<Profile>], u64) {
        match self.by_provider.get(provider) {
            Some(i) => (&i.profiles, i.ids_hash),
            None => (&[], IdHasher::of_ids([])),
        }
    }
}

/// A JSON type's name for warnings.
fn kind(v: &Value) -> &'static str {
    super::error::kind_of(v)
}

/// Interprets one profile entry; the error text never contains a value.
fn profile_from(id: &str, entry: &Value, legacy_provider: Option<&str>) -> Result<Profile, String> {
    let Value::Object(fields) = entry else {
        return Err(format!("it is {}, not an object", kind(entry)));
    };
    let type_name = match fields.get("type").or_else(|| fields.get("mode")) {
        Some(Value::String(s)) => s.as_str(),
        Some(other) => return Err(format!("\"type\" is {}", kind(other))),
        None if legacy_provider.is_some() && fields.contains_key("key") => "api_key",
        None => return Err("no \"type\"".to_owned()),
    };
    let kind_ =
        CredentialKind::parse(type_name).ok_or_else(|| format!("unknown type {type_name:?}"))?;
    let provider_name = match fields.get("provider") {
        Some(Value::String(s)) => s.as_str(),
        Some(other) => return Err(format!("\"provider\" is {}", kind(other))),
        None => legacy_provider
            .or_else(|| id.split_once(':').map(|(p, _)| p))
            .ok_or("no \"provider\"")?,
    };
    let provider = ProviderId::new(provider_name)
        .map_err(|_| format!("invalid provider {provider_name:?}"))?;
    let text = |name: &str| -> Result<Option<Secret>, String> {
        match fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(Secret::new(s.as_str()))),
            Some(other) => Err(format!("\"{name}\" is {}", kind(other))),
        }
    };
    let secret_ref = reference(fields, kind_)?;
    let (secret, refresh) = match kind_ {
        // A reference wins over an inline value (OpenClaw's `resolveSecretInputString`).
        _ if secret_ref.is_some() => (None, None),
        // A blank `key` does not hide a valid legacy `apiKey`.
        CredentialKind::ApiKey => (
            text("key")?
                .filter(|k| !k.is_blank())
                .or(text("apiKey")?),
            None,
        ),
        CredentialKind::Token => (text("token")?, None),
        CredentialKind::OAuth => (text("access")?, text("refresh")?),
    };
    let fence = (kind_ == CredentialKind::OAuth)
        .then(|| Fence::of(fields))
        .flatten();
    let expires = match fields.get("expires") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)) {
            Some(0) => None,
            Some(ms) => Some(ms),
            None => return Err(format!("\"expires\" is {}, not a number", kind(v))),
        },
    };
    let email = fields
        .get("email")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(Profile {
        id: id.to_owned(),
        provider,
        kind: kind_,
        secret,
        refresh,
        secret_ref,
        fence,
        expires,
        email,
        refresh_note: fields.get("modelauthRefresh").and_then(RefreshNote::from_value),
        usage: None,
    })
}

/// The secret reference of an entry: `keyRef` (or the `$NAME` shorthand in `key`) of an `api_key`,
/// `tokenRef` (or `token`) of a `token` profile. An OAuth login with a reference is refused, as
/// OpenClaw 2026.9.6 refuses it (its material is rotated by refreshes and cannot live elsewhere).
fn reference(fields: &Map<String, Value>, kind: CredentialKind) -> Result<Option<SecretRef>, String> {
    let of = |explicit: &str, inline: &str| {
        fields
            .get(explicit)
            .and_then(SecretRef::coerce)
            .or_else(|| fields.get(inline).and_then(SecretRef::coerce))
    };
    match kind.secret_fields() {
        Some((inline, explicit)) => Ok(of(explicit, inline)),
        None => {
            let refs = ["keyRef", "tokenRef", "oauthRef", "access", "refresh"];
            match refs.iter().any(|k| {
                fields.get(*k).is_some_and(|v| v.is_object() && SecretRef::coerce(v).is_some())
            }) {
                true => Err("an OAuth login cannot hold a secret reference (OpenClaw refuses it too); log in again with modelauth models auth login".to_owned()),
                false => Ok(None),
            }
        }
    }
}

/// The usageStats field of [`UsageStats::secret_fp`].
pub const SECRET_FP_FIELD: &str = "modelauthSecretFp";

/// Interprets one usageStats entry; fields of the wrong type count as absent.
pub(crate) fn usage_from(fields: &Map<String, Value>) -> UsageStats {
    let num = |k: &str| {
        fields
            .get(k)
            .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
            .unwrap_or(0)
    };
    let reason = |k: &str| {
        fields
            .get(k)
            .and_then(Value::as_str)
            .and_then(FailureReason::parse)
    };
    let failure_counts = match fields.get("failureCounts") {
        Some(Value::Object(m)) => m
            .iter()
            .filter_map(|(k, v)| Some((FailureReason::parse(k)?, u32::try_from(v.as_u64()?).ok()?)))
            .collect(),
        _ => BTreeMap::new(),
    };
    // No window lasts longer than 24 h (the schedule's and Retry-After's maximum): a longer stored
    // window, written by another tool or an older version, ends 24 h after the failure that started it.
    let last_failure_at = num("lastFailureAt");
    let cap = |until: i64| {
        if last_failure_at > 0 {
            until.min(last_failure_at.saturating_add(MAX_WINDOW_MS))
        } else {
            until
        }
    };
    UsageStats {
        last_used: num("lastUsed"),
        error_count: u32::try_from(num("errorCount")).unwrap_or(0),
        cooldown_until: cap(num("cooldownUntil")),
        cooldown_reason: reason("cooldownReason"),
        cooldown_model: fields
            .get("cooldownModel")
            .and_then(Value::as_str)
            .map(str::to_owned),
        disabled_until: cap(num("disabledUntil")),
        disabled_reason: reason("disabledReason"),
        blocked_until: cap(num("blockedUntil")),
        failure_counts,
        last_failure_at,
        quota: fields
            .get(super::QUOTA_FIELD)
            .and_then(super::QuotaState::from_value)
            .map(Box::new),
        secret_fp: fields
            .get(SECRET_FP_FIELD)
            .and_then(Value::as_str)
            .map(str::to_owned),
    }
}

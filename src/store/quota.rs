//! What a provider last said about a profile's quota windows, and the ledger of what was spent in each
//! (issue 29). Kept in the profile's `usageStats` entry under `modelauthQuota`, so it lives wherever
//! the usage lives (the JSON file, OpenClaw 2026.9's databases, Redis) and OpenClaw keeps it: its usage
//! writers spread the existing entry and replace only their own fields.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::CredentialKind;

/// The key of the quota record inside a `usageStats` entry.
pub const QUOTA_FIELD: &str = "modelauthQuota";

/// Who pays for a profile's calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lane {
    /// A flat-rate plan (setup tokens, OAuth logins): its windows are paid for whether used or not.
    Subscription,
    /// A free tier or a credential someone else pays for.
    Free,
    /// Billed per token (API keys, environment keys).
    Metered,
}

impl Lane {
    /// `subscription`, `free` or `metered`.
    pub fn as_str(self) -> &'static str {
        match self {
            Lane::Subscription => "subscription",
            Lane::Free => "free",
            Lane::Metered => "metered",
        }
    }

    /// Reads a lane name; `None` for anything else.
    pub fn parse(name: &str) -> Option<Lane> {
        [Lane::Subscription, Lane::Free, Lane::Metered]
            .into_iter()
            .find(|l| l.as_str() == name)
    }

    /// The lane a credential of `kind` is in unless configured otherwise: setup tokens and OAuth
    /// logins are subscriptions, API keys are metered.
    pub fn of_kind(kind: CredentialKind) -> Lane {
        match kind {
            CredentialKind::ApiKey => Lane::Metered,
            CredentialKind::Token | CredentialKind::OAuth => Lane::Subscription,
        }
    }
}

impl std::fmt::Display for Lane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A window's state as the provider reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowStatus {
    /// Under the limit.
    Allowed,
    /// Under the limit, close to it.
    AllowedWarning,
    /// At the limit: requests are refused until the reset.
    Rejected,
}

impl WindowStatus {
    /// Reads Anthropic's `-status` value (`allowed`, `allowed_warning`, `rejected`).
    pub fn parse(text: &str) -> Option<WindowStatus> {
        match text {
            "allowed" => Some(WindowStatus::Allowed),
            "allowed_warning" => Some(WindowStatus::AllowedWarning),
            "rejected" => Some(WindowStatus::Rejected),
            _ => None,
        }
    }

    /// The name as providers write it.
    pub fn as_str(self) -> &'static str {
        match self {
            WindowStatus::Allowed => "allowed",
            WindowStatus::AllowedWarning => "allowed_warning",
            WindowStatus::Rejected => "rejected",
        }
    }
}

/// Tokens of one answer or summed over many, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Tokens {
    /// Input tokens.
    pub input: u64,
    /// Output tokens.
    pub output: u64,
    /// Input tokens read from the prompt cache.
    pub cache_read: u64,
    /// Input tokens written to the prompt cache.
    pub cache_write: u64,
}

impl Tokens {
    /// Adds `other`, saturating.
    pub fn add(&mut self, other: &Tokens) {
        self.input = self.input.saturating_add(other.input);
        self.output = self.output.saturating_add(other.output);
        self.cache_read = self.cache_read.saturating_add(other.cache_read);
        self.cache_write = self.cache_write.saturating_add(other.cache_write);
    }

    /// True when every count is zero.
    pub fn is_zero(&self) -> bool {
        *self == Tokens::default()
    }
}

/// What was spent: calls, failures by reason, tokens by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Ledger {
    /// Calls reported (successes and failures).
    pub calls: u64,
    /// Failures by reason (`rate_limit`, …).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub failures: BTreeMap<String, u64>,
    /// Tokens reported with the calls.
    #[serde(skip_serializing_if = "Tokens::is_zero")]
    pub tokens: Tokens,
}

/// For `skip_serializing_if`.
fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Ledger {
    /// Counts one call: its failure reason (`None` for a success) and its tokens.
    pub fn count(&mut self, failure: Option<&str>, tokens: Option<&Tokens>) {
        self.calls = self.calls.saturating_add(1);
        if let Some(reason) = failure {
            let n = self.failures.entry(reason.to_owned()).or_insert(0);
            *n = n.saturating_add(1);
        }
        if let Some(t) = tokens {
            self.tokens.add(t);
        }
    }

    /// All failures.
    pub fn failed(&self) -> u64 {
        self.failures.values().fold(0, |a, n| a.saturating_add(*n))
    }
}

/// One quota window of a profile, as last reported, with what was spent in it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Window {
    /// `5h`, `7d` (Anthropic's unified windows), `requests`, `tokens`, `input-tokens`, `output-tokens`.
    pub name: String,
    /// The model the window applies to (`None`: every model of the profile).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Share used, in millionths (950000 = 95 %).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utilization_ppm: Option<u32>,
    /// Requests or tokens left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u64>,
    /// The window's size in requests or tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// When the window resets, ms (0: not said).
    pub reset_at: i64,
    /// The provider's status for the window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<WindowStatus>,
    /// When this was last reported, ms.
    pub seen_at: i64,
    /// Spent since the window began (as far as modelauth saw it).
    pub ledger: Ledger,
}

impl Window {
    /// The share used in millionths: the utilization when reported, else from remaining and limit.
    pub fn used_ppm(&self) -> Option<u32> {
        self.utilization_ppm.or_else(|| {
            let (rem, lim) = (self.remaining?, self.limit?);
            if lim == 0 {
                return None;
            }
            let used = lim.saturating_sub(rem.min(lim));
            u32::try_from(used.saturating_mul(1_000_000) / lim).ok()
        })
    }

    /// True when the provider refuses calls in this window until its reset.
    pub fn exhausted(&self) -> bool {
        self.status == Some(WindowStatus::Rejected)
            || self.remaining == Some(0)
            || self.utilization_ppm.is_some_and(|u| u >= 1_000_000)
    }

    /// True when the window was reported and has not reset by `now`.
    pub fn current(&self, now: i64) -> bool {
        self.reset_at == 0 || self.reset_at > now
    }

    /// True when the window applies to a request for `model`.
    pub fn applies_to(&self, model: Option<&str>) -> bool {
        match (&self.model, model) {
            (None, _) => true,
            (Some(m), Some(req)) => m == req,
            (Some(_), None) => false,
        }
    }
}

/// A profile's quota record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct QuotaState {
    /// The windows last reported (at most one per name and model).
    pub windows: Vec<Window>,
    /// Anthropic's `representative-claim`: the window that binds now (`five_hour`, `seven_day`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim: Option<String>,
    /// The overall status (Anthropic's `anthropic-ratelimit-unified-status`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<WindowStatus>,
    /// When the provider last reported windows, ms.
    pub seen_at: i64,
    /// Header values that were malformed and ignored, in all.
    #[serde(skip_serializing_if = "is_zero")]
    pub ignored: u64,
    /// The profile's lane when it was last used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lane: Option<Lane>,
    /// Everything spent since modelauth started keeping the ledger.
    pub total: Ledger,
}

impl QuotaState {
    /// Reads a `modelauthQuota` value; anything that is not a well-formed record counts as none.
    pub fn from_value(v: &Value) -> Option<QuotaState> {
        QuotaState::deserialize(v).ok()
    }

    /// The record as stored.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The latest reset of a window still current at `now` (0: none), so a shared store keeps the
    /// record while it still steers routing.
    pub fn latest_reset(&self, now: i64) -> i64 {
        self.windows
            .iter()
            .filter(|w| w.reset_at > now)
            .map(|w| w.reset_at)
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_ignores_a_malformed_record() {
        let mut q = QuotaState::default();
        q.windows.push(Window {
            name: "5h".into(),
            utilization_ppm: Some(950_000),
            reset_at: 1_000,
            status: Some(WindowStatus::AllowedWarning),
            ..Window::default()
        });
        q.total.count(Some("rate_limit"), Some(&Tokens { input: 5, ..Tokens::default() }));
        let v = q.to_value();
        assert_eq!(v["windows"][0]["utilizationPpm"], 950_000);
        assert_eq!(v["windows"][0]["status"], "allowed_warning");
        assert_eq!(QuotaState::from_value(&v), Some(q));
        assert_eq!(QuotaState::from_value(&serde_json::json!({"windows": 3})), None);
    }

    #[test]
    fn used_share_from_remaining_and_limit() {
        let w = Window { remaining: Some(10), limit: Some(100), ..Window::default() };
        assert_eq!(w.used_ppm(), Some(900_000));
        assert!(!w.exhausted());
        let w = Window { remaining: Some(0), limit: Some(100), ..Window::default() };
        assert!(w.exhausted());
    }
}

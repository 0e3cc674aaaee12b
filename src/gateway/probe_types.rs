//! The types of [`crate::Agent::probe`]: what to probe, what each probe found, the report.

use std::time::Duration;

use serde::Serialize;

use crate::probe::Endpoint;
use crate::store::{CredentialKind, Secret};

/// What to probe, and how.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// Only this provider (`--probe-provider`).
    pub provider: Option<String>,
    /// Only this profile (`--probe-profile`).
    pub profile: Option<String>,
    /// The longest one probe may take (`--probe-timeout`).
    pub timeout: Duration,
    /// Probes at once (`--probe-concurrency`).
    pub concurrency: usize,
    /// Reuse a profile's last probe when it is younger than this (`--probe-max-age`); `None`: probe
    /// everything now.
    pub max_age: Option<Duration>,
    /// Tier 2 for this model (`provider/model`, or a model of the default model's provider): a
    /// one-token request with each probed profile of its provider (`--probe-model`). Billed.
    pub model: Option<String>,
    /// Tier 2 along the fallback chain: the default model and each fallback, with the profile the
    /// resolver would choose for it (`--probe-chain`). Billed.
    pub chain: bool,
    /// Output tokens a tier-2 request asks for (`--probe-max-tokens`).
    pub max_tokens: u32,
    /// Report the outcomes into the routing state like real traffic (`--probe-record`).
    pub record: bool,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            provider: None,
            profile: None,
            timeout: Duration::from_secs(8),
            concurrency: 4,
            max_age: None,
            model: None,
            chain: false,
            max_tokens: 1,
            record: false,
        }
    }
}

/// One profile's probe, as views print it (never a secret).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeResult {
    /// The profile.
    pub profile: String,
    /// The model of a tier-2 probe (`provider/model`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Its provider.
    pub provider: String,
    /// The highest tier that ran: 0 (local), 1 (the provider's unbilled check) or 2 (a one-token
    /// request for `model`).
    pub tier: u8,
    /// True when it works as far as the probe could tell.
    pub ok: bool,
    /// `ok`, a failure class (`auth`, `auth_permanent`, `billing`, `rate_limit`, `timeout`,
    /// `network`, …) or a local reason (`missing_credential`, `expired`, `unresolved_ref`,
    /// `excluded_by_auth_order`, `ineligible_profile`, `refreshing`, `no_probe`).
    pub reason: String,
    /// The provider's HTTP status (tier 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// A rate limit's end as the provider said it, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until_ms: Option<i64>,
    /// What to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<&'static str>,
    /// The next request of its provider would use it.
    pub chosen: bool,
    /// How long the probe took, ms.
    pub elapsed_ms: u64,
    /// When it was probed, ms (earlier than now when taken from the cache).
    pub at: i64,
    /// Taken from the last probe (`--probe-max-age`), not probed now.
    pub cached: bool,
}

/// A provider's line of the summary.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderProbe {
    /// The provider.
    pub provider: String,
    /// Profiles that work.
    pub ok: usize,
    /// Profiles that failed.
    pub failed: usize,
}

/// The answer of [`crate::Agent::probe`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeReport {
    /// Every profile probed, in resolution order per provider.
    pub results: Vec<ProbeResult>,
    /// One line per provider.
    pub providers: Vec<ProviderProbe>,
    /// `--check`'s code, raised to 1 when a profile that would be chosen failed its probe.
    pub check: u8,
}

/// One network probe to make: tier 1, or tier 2 with `model` (the model id the provider knows).
pub(super) struct Job {
    pub(super) at: usize,
    pub(super) endpoint: Endpoint,
    pub(super) kind: CredentialKind,
    pub(super) secret: Secret,
    pub(super) model: Option<String>,
}

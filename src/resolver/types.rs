//! What the resolver answers: candidates with the reason for their place, the choice, and pin changes.

use std::borrow::Cow;
use std::fmt;

use crate::config::{DEFAULT_POLICY, QuotaPolicy};
use crate::store::{CredentialKind, FailureReason, Lane, OverrideSource, ProviderId, Secret};

/// Where a candidate list came from (SPEC §5 step 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderSource {
    /// `order[provider]` in the agent's `auth-profiles.json` (`models auth order set`).
    OrderOverride,
    /// `auth.order[provider]` in config.
    ConfigOrder,
    /// The ids of config `auth.profiles` for the provider, round robin.
    ConfigProfiles,
    /// Every stored profile of the provider, round robin.
    Stored,
}

impl OrderSource {
    /// The name in JSON documents: `orderOverride`, `configOrder`, `configProfiles`, `stored`.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderSource::OrderOverride => "orderOverride",
            OrderSource::ConfigOrder => "configOrder",
            OrderSource::ConfigProfiles => "configProfiles",
            OrderSource::Stored => "stored",
        }
    }

    /// True for the two explicit orders (kept as given rather than sorted).
    pub fn is_explicit(self) -> bool {
        matches!(self, OrderSource::OrderOverride | OrderSource::ConfigOrder)
    }
}

/// Why a candidate stands where it does, or why it cannot be used now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The session's user pin (`/model …@id`); first even while cooling.
    PinnedByUser,
    /// The session's automatic pin, kept for prompt-cache stickiness.
    AutoPin,
    /// Position in the agent's order override.
    OrderOverride,
    /// Position in config `auth.order`.
    ConfigOrder,
    /// Round robin: least recently used first (`last_used` ms, 0 = never).
    RoundRobin {
        /// Last use, ms.
        last_used: i64,
    },
    /// Cooling down until `until` (ms).
    Cooldown {
        /// End of the window, ms.
        until: i64,
        /// Why.
        reason: Option<FailureReason>,
    },
    /// Disabled until `until` (ms), e.g. for billing.
    Disabled {
        /// End of the window, ms.
        until: i64,
        /// Why.
        reason: Option<FailureReason>,
    },
    /// The token or OAuth access token expired at `at` (ms).
    Expired {
        /// Expiry, ms.
        at: i64,
    },
    /// The profile holds no key or token.
    MissingKey,
    /// The profile's secret reference cannot be resolved now (a missing variable, an unreadable
    /// file, a failing command): skipped for this request, nothing recorded.
    UnresolvedRef,
    /// The order names an id that is not in the store.
    NotInStore,
    /// The stored profile is for another provider.
    ProviderMismatch,
    /// A metered profile, closed to a subscription session that did not opt in to per-token billing.
    LaneClosed,
    /// Config `auth.profiles[id].mode` disagrees with the stored credential type.
    ModeMismatch,
}

impl Reason {
    /// The text of a reason that carries nothing variable (all but a cooldown or a disable with its
    /// cause); `None` for those, whose text is their `Display`.
    pub fn fixed_text(&self) -> Option<&'static str> {
        Some(match self {
            Reason::Cooldown { reason: Some(_), .. } | Reason::Disabled { reason: Some(_), .. } => {
                return None;
            }
            Reason::PinnedByUser => "pinned by user",
            Reason::AutoPin => "auto pin",
            Reason::OrderOverride => "order override",
            Reason::ConfigOrder => "config order",
            Reason::RoundRobin { .. } => "round robin by last use",
            Reason::Cooldown { .. } => "cooldown",
            Reason::Disabled { .. } => "disabled",
            Reason::Expired { .. } => "expired",
            Reason::MissingKey => "missing key",
            Reason::UnresolvedRef => "secret reference does not resolve",
            Reason::NotInStore => "not in the store",
            Reason::ProviderMismatch => "profile is for another provider",
            Reason::LaneClosed => "metered: not used for a subscription session without an opt-in",
            Reason::ModeMismatch => "config mode differs from stored type",
        })
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Cooldown { reason: Some(r), .. } => write!(f, "cooldown ({r})"),
            Reason::Disabled { reason: Some(r), .. } => write!(f, "disabled for {r}"),
            other => f.write_str(other.fixed_text().unwrap_or_default()),
        }
    }
}

/// One profile in resolution order. Borrows its id from the store snapshot; see [`Candidate::into_owned`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate<'a> {
    /// The profile id.
    pub id: Cow<'a, str>,
    /// Its credential kind (`None` when it is not in the store).
    pub kind: Option<CredentialKind>,
    /// Usable now for this model.
    pub usable: bool,
    /// Ineligible (expired, no key, missing, mismatched): never chosen.
    pub eligible: bool,
    /// An OAuth access token that expired but can be refreshed: usable, after fresh ones.
    pub needs_refresh: bool,
    /// Why it stands here.
    pub place: Reason,
    /// Why it cannot be used now (`None` when usable).
    pub problem: Option<Reason>,
    /// End of its cooldown/disable window (0 when none applies).
    pub blocked_until: i64,
    /// Who pays for it.
    pub lane: Lane,
    /// Past a quota threshold: placed behind profiles with headroom.
    pub low: bool,
    /// At the wall of a quota window (see [`crate::config::Thresholds::wall_ppm`]).
    pub wall: bool,
    /// How soon its unused plan-window room is lost (seconds until the reset per share still free;
    /// 0: unknown): among profiles with headroom the smallest goes first (use it or lose it).
    pub lose_rank: u32,
}

impl Candidate<'_> {
    /// A copy that owns its id, to keep beyond the store snapshot.
    pub fn into_owned(self) -> Candidate<'static> {
        Candidate {
            id: Cow::Owned(self.id.into_owned()),
            ..self
        }
    }
}

/// What the agent runtime should use.
#[derive(Debug, Clone)]
pub enum Choice {
    /// A stored profile, by index into [`Resolution::candidates`].
    Profile(usize),
    /// A key from the environment or config, used because the provider has no profile at all.
    Key {
        /// `env: ANTHROPIC_API_KEY` or `config`.
        source: String,
        /// The key.
        secret: Secret,
    },
}

/// How the session's pin should change after this resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinChange<'a> {
    /// Keep it as it is.
    Keep,
    /// Pin this profile with source `auto` (borrowed from the store snapshot, like the candidates).
    SetAuto(Cow<'a, str>),
    /// Remove the pin (its profile was deleted or changed provider).
    Clear,
}

impl PinChange<'_> {
    /// A copy that owns its id.
    pub fn into_owned(self) -> PinChange<'static> {
        match self {
            PinChange::Keep => PinChange::Keep,
            PinChange::SetAuto(id) => PinChange::SetAuto(Cow::Owned(id.into_owned())),
            PinChange::Clear => PinChange::Clear,
        }
    }
}

/// The answer of [`crate::resolver::resolve`].
#[derive(Debug, Clone)]
pub struct Resolution<'a> {
    /// Every candidate in order, chosen first.
    pub candidates: Vec<Candidate<'a>>,
    /// What to use.
    pub choice: Choice,
    /// Where the candidate list came from.
    pub order_source: OrderSource,
    /// How to update the session pin.
    pub pin_change: PinChange<'a>,
    /// Fingerprint of the candidate order, to store with a new auto pin.
    pub order_hash: u32,
    /// Set when the choice crosses from a subscription (or free) lane to a metered one, opted in.
    pub crossing: Option<LaneCrossing>,
}

/// A choice that bills another lane than the session's own (always an opt-in: see
/// [`crate::Decision::LaneClosed`]). Log it, count it, show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaneCrossing {
    /// The session's lane.
    pub from: Lane,
    /// The chosen profile's lane.
    pub to: Lane,
}

impl<'a> Resolution<'a> {
    /// A copy that owns its ids, to keep beyond the store snapshot.
    pub fn into_owned(self) -> Resolution<'static> {
        Resolution {
            candidates: self
                .candidates
                .into_iter()
                .map(Candidate::into_owned)
                .collect(),
            choice: self.choice,
            order_source: self.order_source,
            pin_change: self.pin_change.into_owned(),
            order_hash: self.order_hash,
            crossing: self.crossing,
        }
    }

    /// The chosen profile id, or `None` when an environment/config key was chosen.
    pub fn chosen_profile(&self) -> Option<&str> {
        match &self.choice {
            Choice::Profile(i) => Some(&self.candidates[*i].id),
            Choice::Key { .. } => None,
        }
    }

    /// Where the credential comes from, as views print it: `profile <id>`, `env: NAME` or `config`.
    pub fn source_label(&self) -> String {
        match &self.choice {
            Choice::Profile(i) => format!("profile {}", self.candidates[*i].id),
            Choice::Key { source, .. } => source.clone(),
        }
    }
}

/// Why no credential can be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// Nothing stored, configured or in the environment.
    #[error("No credentials found for {provider}. Run modelauth models auth {command} --provider {provider}, or set {env_name}.")]
    NoCredentials {
        /// The provider.
        provider: String,
        /// The command that stores one: `paste-token` where a setup token exists (anthropic),
        /// `paste-api-key` elsewhere.
        command: &'static str,
        /// The environment variable that would work.
        env_name: String,
    },
    /// Every usable profile is cooling down or disabled.
    #[error(
        "All credentials for {provider} are {state}; the first becomes usable at {at} ({id})."
    )]
    AllCooling {
        /// The provider.
        provider: String,
        /// `cooling down`, `disabled`, or `cooling down or disabled`.
        state: &'static str,
        /// The soonest end of a window, formatted as RFC 3339.
        at: String,
        /// The soonest end, ms.
        until_ms: i64,
        /// The profile that frees first.
        id: String,
    },
    /// Profiles exist but none can be used (expired, no key, mismatched).
    #[error("No usable credential for {provider}: {details}. Run modelauth doctor.")]
    NoneUsable {
        /// The provider.
        provider: String,
        /// `id: why` for each profile.
        details: String,
    },
    /// The session's subscription lane has nothing usable and the only usable profiles are metered:
    /// the caller did not opt in to per-token billing, so none is handed out.
    #[error(
        "The {lane} credentials for {provider} are used up or cooling down; the first is usable again at {at} ({id}). {metered} bills per token and is not used for this session without an opt-in: pass allowMetered in the request (--allow-metered on the command line), allow it for this agent or session kind in modelauth.json (lanes.metered: \"allow\"), or wait."
    )]
    LaneClosed {
        /// The provider.
        provider: String,
        /// The session's lane.
        lane: Lane,
        /// The profile of that lane that frees first.
        id: String,
        /// When, ms.
        until_ms: i64,
        /// When, RFC 3339.
        at: String,
        /// The metered profile that would have been used.
        metered: String,
    },
    /// The user pinned a profile that cannot be used at all.
    #[error(
        "The pinned profile {id} cannot be used ({why}); pick another with /model <model>@<profile>."
    )]
    PinnedUnusable {
        /// The pinned profile.
        id: String,
        /// Why.
        why: String,
    },
}

/// One resolution request.
#[derive(Debug, Clone, Copy)]
pub struct ResolveRequest<'a> {
    /// The provider of the model about to be called.
    pub provider: &'a ProviderId,
    /// The model id (scopes rate-limit and timeout cooldowns), if known.
    pub model: Option<&'a str>,
    /// The session's pin, if any.
    pub pin: Option<PinView<'a>>,
    /// The session's compaction count now.
    pub compaction_count: u32,
    /// Now, ms.
    pub now_ms: i64,
    /// Profiles whose secret reference cannot be resolved now: ineligible for this request
    /// ([`Reason::UnresolvedRef`]); empty when every reference resolved or none is used.
    pub unresolved: &'a [String],
    /// Quota thresholds, lanes and the session's idle time ([`QuotaAsk::default`]: the default policy,
    /// no opt-in to metered billing).
    pub quota: QuotaAsk<'a>,
}

/// The quota and lane side of a request.
#[derive(Debug, Clone, Copy)]
pub struct QuotaAsk<'a> {
    /// Thresholds, lanes, the prompt-cache lifetime.
    pub policy: &'a QuotaPolicy,
    /// The caller opted in (or the policy allows) a fall from a subscription to a metered profile.
    pub allow_metered: bool,
    /// How long the session has been idle, ms (`None`: unknown, counted as warm).
    pub idle_ms: Option<i64>,
}

impl Default for QuotaAsk<'static> {
    fn default() -> Self {
        QuotaAsk {
            policy: &DEFAULT_POLICY,
            allow_metered: false,
            idle_ms: None,
        }
    }
}

/// The session pin as the resolver sees it.
#[derive(Debug, Clone, Copy)]
pub struct PinView<'a> {
    /// The pinned profile id.
    pub profile: &'a str,
    /// `user` or `auto`.
    pub source: OverrideSource,
    /// The session's compaction count when the pin was made.
    pub compaction_at_pin: u32,
    /// Fingerprint of the provider's order when an auto pin was made (`None`: unknown, not compared).
    pub order_hash: Option<u32>,
    /// Rotate to the next profile on the next resolution (set by `/new`, `/reset`).
    pub rotate: bool,
}

//! SPEC §5: which profile next. A pure function of the store snapshot, config, environment, session pin
//! and time.

use std::borrow::Cow;

use crate::config::{Config, Env};
use crate::store::{
    AuthProfiles, CredentialKind, FailureReason, FenceState, Lane, OverrideSource, Profile,
    ProviderId, UsageStats,
};

use super::order::{Fingerprint, candidate_ids, sort_candidates};
use super::lanes::{close_metered, crossing, home_lane, lane_closed, quota_moves, quota_place, session_lane};
use super::quota::exhausted_until;
pub use super::types::ResolveRequest;
use super::types::{
    Candidate, Choice, OrderSource, PinChange, PinView, Reason, Resolution, ResolveError,
};

/// Providers that do their own failover: their profiles never cool down.
pub const NEVER_COOL: [&str; 2] = ["openrouter", "kilocode"];

/// The end of the window that blocks `stats` for `model` at `now`, or 0 when it is usable.
pub fn blocked_until(
    stats: &UsageStats,
    provider: &ProviderId,
    model: Option<&str>,
    now: i64,
) -> (i64, Option<Reason>) {
    if NEVER_COOL.contains(&provider.as_str()) {
        return (0, None);
    }
    let (until, reason) = window(stats, model, now);
    if stats.quota.is_none() || reason.is_some_and(|r| matches!(r, Reason::Disabled { .. })) {
        return (until, reason);
    }
    // An exhausted quota window blocks past the stored cooldown (which holds at most a day).
    let exhausted = exhausted_until(stats, model, now);
    if exhausted > now && exhausted > until {
        let reason = Some(FailureReason::RateLimit);
        return (exhausted, Some(Reason::Cooldown { until: exhausted, reason }));
    }
    (until, reason)
}

/// [`blocked_until`] for a provider that does cool down.
fn window(stats: &UsageStats, model: Option<&str>, now: i64) -> (i64, Option<Reason>) {
    let scoped = matches!(
        stats.cooldown_reason,
        Some(FailureReason::RateLimit | FailureReason::Timeout | FailureReason::ModelNotFound)
    );
    let cooldown_applies = match (&stats.cooldown_model, model) {
        (Some(m), Some(req)) if scoped => m == req,
        _ => true,
    };
    let cooldown = if cooldown_applies {
        stats.cooldown_until
    } else {
        0
    };
    let disabled = stats.disabled_until.max(stats.blocked_until);
    if disabled > now && disabled >= cooldown {
        (
            disabled,
            Some(Reason::Disabled {
                until: disabled,
                reason: stats.disabled_reason,
            }),
        )
    } else if cooldown > now {
        (
            cooldown,
            Some(Reason::Cooldown {
                until: cooldown,
                reason: stats.cooldown_reason,
            }),
        )
    } else {
        (0, None)
    }
}

/// Where a candidate stands before the pin is applied; becomes its [`Reason`] in [`evaluate`].
///
/// Passed instead of a ready `Reason` so that building a candidate writes the tag (and `last_used`)
/// directly rather than copying a runtime `Reason` with its padding, which stalled store forwarding.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// [`Reason::OrderOverride`].
    OrderOverride,
    /// [`Reason::ConfigOrder`].
    ConfigOrder,
    /// [`Reason::RoundRobin`] with the profile's last use.
    RoundRobin,
    /// [`Reason::PinnedByUser`].
    PinnedByUser,
}

impl Place {
    /// The place of every candidate of a list from `source`.
    fn of(source: OrderSource) -> Place {
        match source {
            OrderSource::OrderOverride => Place::OrderOverride,
            OrderSource::ConfigOrder => Place::ConfigOrder,
            OrderSource::ConfigProfiles | OrderSource::Stored => Place::RoundRobin,
        }
    }
}

/// True when config `auth.profiles[id].mode` (if any) agrees with the stored credential's `kind`.
#[inline(always)]
fn mode_agrees(config: &Config, id: &str, kind: CredentialKind) -> bool {
    match config.auth_profiles.get(id).and_then(|m| m.mode) {
        None => true,
        Some(CredentialKind::OAuth) => matches!(kind, CredentialKind::OAuth | CredentialKind::Token),
        Some(mode) => mode == kind,
    }
}

/// Steps 2 and 3 for one id: eligibility, then the cooldown or disable window. `profile` comes with
/// whether it is already known to be of the requested provider.
#[inline(always)]
fn evaluate<'a>(
    id: &'a str,
    profile: Option<(&'a Profile, bool)>,
    config: &Config,
    req: &ResolveRequest<'_>,
    never_cool: bool,
    place: Place,
) -> Candidate<'a> {
    let mut c = Candidate {
        id: Cow::Borrowed(id),
        kind: None,
        usable: false,
        eligible: false,
        needs_refresh: false,
        place: match place {
            Place::OrderOverride => Reason::OrderOverride,
            Place::ConfigOrder => Reason::ConfigOrder,
            Place::RoundRobin => Reason::RoundRobin { last_used: 0 },
            Place::PinnedByUser => Reason::PinnedByUser,
        },
        problem: None,
        blocked_until: 0,
        lane: Lane::Metered,
        low: false,
        wall: false,
        lose_rank: 0,
    };
    let Some((p, same_provider)) = profile else {
        c.problem = Some(Reason::NotInStore);
        return c;
    };
    c.kind = Some(p.kind);
    c.lane = req.quota.policy.lane_of(id, p.kind);
    let mode_ok = mode_agrees(config, id, p.kind);
    let expired = p.is_expired(req.now_ms);
    // OpenClaw's refresh fence: a pending one waits for the refresh elsewhere (like a login due for a
    // refresh, after fresh ones); a failed one needs a new login.
    let fence = p.fence.as_ref().map(|f| f.state);
    c.needs_refresh = p.kind == CredentialKind::OAuth && expired && fence != Some(FenceState::Failed);
    c.problem = if !same_provider && &p.provider != req.provider {
        Some(Reason::ProviderMismatch)
    } else if !mode_ok {
        Some(Reason::ModeMismatch)
    } else if fence == Some(FenceState::Failed) {
        Some(Reason::Expired { at: 1 })
    } else if fence.is_none() && !p.has_secret() {
        Some(Reason::MissingKey)
    } else if p.secret_ref.is_some() && req.unresolved.iter().any(|u| u == id) {
        Some(Reason::UnresolvedRef)
    } else if (p.kind == CredentialKind::Token && expired)
        || (c.needs_refresh
            && fence.is_none()
            && (p.refresh.as_ref().is_none_or(|r| r.is_blank()) || p.needs_reauth()))
    {
        Some(Reason::Expired {
            at: p.expires.unwrap_or(0),
        })
    } else {
        None
    };
    c.eligible = c.problem.is_none();
    let usage = p.usage.as_deref();
    if c.eligible
        && !never_cool
        && let Some(stats) = usage
    {
        (c.blocked_until, c.problem) = window(stats, req.model, req.now_ms);
        if stats.quota.is_some() {
            quota_place(&mut c, stats, req);
        }
    }
    c.usable = c.problem.is_none();
    if place == Place::RoundRobin {
        c.place = Reason::RoundRobin {
            last_used: usage.map_or(0, |s| s.last_used),
        };
    }
    c
}



/// Every candidate of `req`'s provider, evaluated and sorted, with the order's source and hash.
fn evaluate_all<'a>(
    store: &'a AuthProfiles,
    config: &'a Config,
    req: &ResolveRequest<'a>,
    never_cool: bool,
) -> (Vec<Candidate<'a>>, OrderSource, u32, Option<Lane>) {
    let (ids, order_source) = candidate_ids(store, config, req.provider);
    let place = Place::of(order_source);
    let explicit = order_source.is_explicit();
    let known_hash = ids.known_hash();
    let mut fingerprint = Fingerprint::default();
    let room = ids.upper_bound().min(64);
    let mut candidates: Vec<Candidate<'a>> = Vec::with_capacity(room + 1);
    // Ids already placed, once an explicit order is long (a short one is checked by a scan).
    let mut placed: std::collections::HashSet<&'a str> = std::collections::HashSet::new();
    ids.for_each(|id, profile, same_provider| {
        if known_hash.is_none() {
            fingerprint.add(id);
        }
        if explicit {
            let seen = if candidates.len() < 32 {
                candidates.iter().any(|c| c.id == id)
            } else {
                if placed.is_empty() {
                    placed.extend(candidates.iter().map(|c| match &c.id {
                        Cow::Borrowed(b) => *b,
                        Cow::Owned(_) => "",
                    }));
                }
                !placed.insert(id)
            };
            if seen {
                return; // an order that names an id twice keeps its first place
            }
        }
        let profile = profile.map(|p| (p, same_provider));
        candidates.push(evaluate(id, profile, config, req, never_cool, place));
    });
    let order_hash = fingerprint.finish(order_source, known_hash);
    let home = home_lane(&candidates, explicit);
    sort_candidates(&mut candidates, explicit);
    (candidates, order_source, order_hash, home)
}

/// Resolves which profile `req`'s session should use next (SPEC §5).
///
/// Apply [`Resolution::pin_change`] to the session afterwards; the resolver itself changes nothing.
pub fn resolve<'a>(
    store: &'a AuthProfiles,
    config: &'a Config,
    env: &Env,
    req: &ResolveRequest<'a>,
) -> Result<Resolution<'a>, ResolveError> {
    let never_cool = NEVER_COOL.contains(&req.provider.as_str());
    let (mut candidates, order_source, order_hash, home) =
        evaluate_all(store, config, req, never_cool);
    if candidates.is_empty() {
        let invalid: Vec<String> = store
            .invalid_of(req.provider)
            .map(|(id, why)| format!("{id}: invalid ({why})"))
            .collect();
        if !invalid.is_empty() {
            // A profile that exists but cannot be read is a profile: never bill an environment key
            // instead of it (SPEC §5 "profiles exist").
            return Err(ResolveError::NoneUsable {
                provider: req.provider.to_string(),
                details: invalid.join("; "),
            });
        }
    }
    if candidates.is_empty()
        && !config
            .auth_profiles
            .values()
            .any(|m| &m.provider == req.provider)
    {
        return key_fallback(config, env, req.provider, order_source, order_hash);
    }

    // One pin per session, belonging to its profile's provider: resolving another provider (a fallback
    // model) neither uses nor replaces a user pin.
    let foreign_user_pin = req
        .pin
        .is_some_and(|p| p.source == OverrideSource::User && pin_provider_differs(store, p.profile, req.provider));
    let lane = session_lane(store, req, home, foreign_user_pin);
    let closed = close_metered(&mut candidates, lane, req);
    let (chosen, pin_change) = match req.pin {
        Some(_) if foreign_user_pin => (None, PinChange::Keep),
        Some(pin) => apply_pin(
            &mut candidates,
            pin,
            store,
            config,
            req,
            never_cool,
            order_hash,
        )?,
        None => (None, PinChange::Keep),
    };
    let (chosen, pin_change) = match chosen {
        Some(i) => (Some(i), pin_change),
        None => match candidates.iter().position(|c| c.usable) {
            Some(i) if foreign_user_pin => {
                to_front(&mut candidates, i);
                (Some(0), PinChange::Keep)
            }
            Some(i) => (
                Some(0),
                PinChange::SetAuto(to_front(&mut candidates, i).clone()),
            ),
            None => (None, pin_change),
        },
    };
    match chosen {
        Some(i) => Ok(Resolution {
            crossing: crossing(lane, candidates[i].lane),
            candidates,
            choice: Choice::Profile(i),
            order_source,
            pin_change,
            order_hash,
        }),
        None if closed => Err(lane_closed(req.provider, lane, &candidates)),
        None => Err(no_usable(req.provider, &candidates)),
    }
}





/// True when the pinned profile is stored for another provider than `provider` (a pin whose profile
/// was deleted belongs to nobody: the next resolution clears it).
fn pin_provider_differs(store: &AuthProfiles, profile: &str, provider: &ProviderId) -> bool {
    store
        .profiles
        .get(profile)
        .is_some_and(|p| &p.provider != provider)
}

/// Moves the candidate at `i` to the front, keeping the others in order; returns its id.
fn to_front<'c, 'a>(candidates: &'c mut [Candidate<'a>], i: usize) -> &'c Cow<'a, str> {
    candidates[..=i].rotate_right(1);
    &candidates[0].id
}

/// Steps 4 and 5: honours the session pin. Returns the chosen index (always 0) when the pin decided,
/// and how the pin should change.
fn apply_pin<'a>(
    candidates: &mut Vec<Candidate<'a>>,
    pin: PinView<'a>,
    store: &'a AuthProfiles,
    config: &Config,
    req: &ResolveRequest<'a>,
    never_cool: bool,
    order_hash: u32,
) -> Result<(Option<usize>, PinChange<'a>), ResolveError> {
    let stored = store.profiles.get(pin.profile);
    let at = candidates.iter().position(|c| c.id == pin.profile);
    match pin.source {
        OverrideSource::User => {
            if stored.is_none_or(|p| &p.provider != req.provider) {
                return Ok((None, PinChange::Clear));
            }
            let at = at.unwrap_or_else(|| {
                let place = Place::PinnedByUser;
                let profile = stored.map(|p| (&**p, true));
                let c = evaluate(pin.profile, profile, config, req, never_cool, place);
                candidates.push(c);
                candidates.len() - 1
            });
            let c = &mut candidates[at];
            c.place = Reason::PinnedByUser;
            if !c.eligible {
                let why = c.problem.as_ref().map(ToString::to_string);
                return Err(ResolveError::PinnedUnusable {
                    id: pin.profile.to_owned(),
                    why: why.unwrap_or_default(),
                });
            }
            to_front(candidates, at);
            Ok((Some(0), PinChange::Keep))
        }
        OverrideSource::Auto => {
            if stored.is_none() {
                return Ok((None, PinChange::Clear));
            }
            let moved_on = pin.rotate || req.compaction_count > pin.compaction_at_pin;
            let order_changed = pin.order_hash.is_some_and(|h| h != order_hash);
            let next = match at {
                Some(i) if moved_on => {
                    let n = candidates.len();
                    (1..=n).map(|k| (i + k) % n).find(|&j| candidates[j].usable)
                }
                Some(i) if !order_changed && candidates[i].usable && !quota_moves(candidates, i, req) => {
                    candidates[i].place = Reason::AutoPin;
                    to_front(candidates, i);
                    return Ok((Some(0), PinChange::Keep));
                }
                _ => candidates.iter().position(|c| c.usable),
            };
            Ok(match next {
                Some(j) => {
                    candidates[j].place = Reason::AutoPin;
                    (Some(0), PinChange::SetAuto(to_front(candidates, j).clone()))
                }
                None => (None, PinChange::Keep),
            })
        }
    }
}


/// The error when no candidate is usable: all cooling (with the soonest end) or none eligible.
fn no_usable(provider: &ProviderId, candidates: &[Candidate<'_>]) -> ResolveError {
    if let Some(c) = candidates
        .iter()
        .filter(|c| c.eligible)
        .min_by_key(|c| c.blocked_until)
    {
        let eligible = || candidates.iter().filter(|c| c.eligible);
        let disabled = |c: &Candidate<'_>| matches!(c.problem, Some(super::Reason::Disabled { .. }));
        let state = if eligible().all(disabled) {
            "disabled"
        } else if eligible().any(disabled) {
            "cooling down or disabled"
        } else {
            "cooling down"
        };
        return ResolveError::AllCooling {
            provider: provider.to_string(),
            state,
            at: super::format_time(c.blocked_until),
            until_ms: c.blocked_until,
            id: c.id.to_string(),
        };
    }
    let details = candidates
        .iter()
        .map(|c| {
            format!(
                "{}: {}",
                c.id,
                c.problem
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    ResolveError::NoneUsable {
        provider: provider.to_string(),
        details,
    }
}

/// Step 6: the provider has no profile at all; use an environment or config key if there is one.
fn key_fallback<'a>(
    config: &Config,
    env: &Env,
    provider: &ProviderId,
    order_source: OrderSource,
    order_hash: u32,
) -> Result<Resolution<'a>, ResolveError> {
    let from_env = env.provider_keys(provider).into_iter().next();
    let key = from_env.map(|k| (k.label, k.secret)).or_else(|| {
        let secret = config.providers.get(provider)?.api_key.clone()?;
        Some(("config".to_owned(), secret))
    });
    match key {
        Some((source, secret)) => Ok(Resolution {
            candidates: Vec::new(),
            choice: Choice::Key { source, secret },
            order_source,
            pin_change: PinChange::Keep,
            order_hash,
            crossing: None,
        }),
        None => Err(ResolveError::NoCredentials {
            provider: provider.to_string(),
            command: if provider.as_str() == "anthropic" { "paste-token" } else { "paste-api-key" },
            env_name: Env::key_name(provider),
        }),
    }
}

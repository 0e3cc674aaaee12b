//! SPEC §5: which profile next. A pure function of the store snapshot, config, environment, session pin
//! and time.

use std::borrow::Cow;

use crate::config::{Config, Env};
use crate::store::{
    AuthProfiles, CredentialKind, FailureReason, OverrideSource, Profile, ProviderId, UsageStats,
};

use super::types::{
    Candidate, Choice, OrderSource, PinChange, PinView, Reason, Resolution, ResolveError,
};

/// Providers that do their own failover: their profiles never cool down.
pub const NEVER_COOL: [&str; 2] = ["openrouter", "kilocode"];

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
}

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

/// Candidate ids with their stored profiles (`None`: not in the store).
type Ids<'a> = (Vec<&'a str>, Vec<Option<&'a Profile>>, OrderSource);

/// Step 1: the candidate ids and where they came from.
fn candidate_ids<'a>(
    store: &'a AuthProfiles,
    config: &'a Config,
    provider: &ProviderId,
) -> Ids<'a> {
    let explicit = match (store.order.get(provider), config.auth_order.get(provider)) {
        (Some(ids), _) if !ids.is_empty() => Some((ids, OrderSource::OrderOverride)),
        (_, Some(ids)) if !ids.is_empty() => Some((ids, OrderSource::ConfigOrder)),
        _ => None,
    };
    let stored = || -> Ids<'a> {
        let profiles: Vec<Option<&Profile>> = store
            .profiles
            .values()
            .filter(|p| &p.provider == provider)
            .map(Some)
            .collect();
        let ids = profiles.iter().flatten().map(|p| p.id.as_str()).collect();
        (ids, profiles, OrderSource::Stored)
    };
    let lookup = |ids: Vec<&'a str>, source| -> Ids<'a> {
        let profiles = ids.iter().map(|id| store.profiles.get(*id)).collect();
        (ids, profiles, source)
    };
    if let Some((ids, source)) = explicit {
        if ids.iter().any(|id| store.profiles.contains_key(id)) {
            return lookup(ids.iter().map(String::as_str).collect(), source);
        }
        return stored();
    }
    let configured: Vec<&str> = config
        .auth_profiles
        .iter()
        .filter(|(_, m)| &m.provider == provider)
        .map(|(id, _)| id.as_str())
        .collect();
    if !configured.is_empty() && configured.iter().any(|id| store.profiles.contains_key(*id)) {
        return lookup(configured, OrderSource::ConfigProfiles);
    }
    stored()
}

/// Step 2 and 3 for one id.
fn evaluate<'a>(
    id: &'a str,
    profile: Option<&'a Profile>,
    store: &'a AuthProfiles,
    config: &Config,
    req: &ResolveRequest<'_>,
    place: Reason,
) -> (Candidate<'a>, u8, bool, i64) {
    let mut c = Candidate {
        id: Cow::Borrowed(id),
        kind: None,
        usable: false,
        eligible: false,
        place,
        problem: None,
        blocked_until: 0,
    };
    let Some(p) = profile else {
        c.problem = Some(Reason::NotInStore);
        return (c, 9, false, 0);
    };
    c.kind = Some(p.kind);
    let mode_ok = match config.auth_profiles.get(id).and_then(|m| m.mode) {
        None => true,
        Some(CredentialKind::OAuth) => {
            matches!(p.kind, CredentialKind::OAuth | CredentialKind::Token)
        }
        Some(mode) => mode == p.kind,
    };
    let expired_oauth = p.kind == CredentialKind::OAuth && p.is_expired(req.now_ms);
    c.problem = if &p.provider != req.provider {
        Some(Reason::ProviderMismatch)
    } else if !mode_ok {
        Some(Reason::ModeMismatch)
    } else if !p.has_secret() {
        Some(Reason::MissingKey)
    } else if (p.kind == CredentialKind::Token && p.is_expired(req.now_ms))
        || (expired_oauth && p.refresh.as_ref().is_none_or(|r| r.is_blank()))
    {
        Some(Reason::Expired {
            at: p.expires.unwrap_or(0),
        })
    } else {
        None
    };
    c.eligible = c.problem.is_none();
    let rank = match p.kind {
        CredentialKind::OAuth => 0,
        CredentialKind::Token => 1,
        CredentialKind::ApiKey => 2,
    };
    let usage = store.usage.get(id);
    let last_used = usage.map_or(0, |s| s.last_used);
    if c.eligible {
        if let Some(stats) = usage {
            let (until, why) = blocked_until(stats, req.provider, req.model, req.now_ms);
            c.blocked_until = until;
            c.problem = why;
        }
        c.usable = c.problem.is_none();
    }
    if let Reason::RoundRobin { .. } = c.place {
        c.place = Reason::RoundRobin { last_used };
    }
    (c, rank, expired_oauth, last_used)
}

/// FNV-1a over the order source and ids: changes when `models auth order set` changes the order.
fn order_fingerprint(ids: &[&str], source: OrderSource) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ source as u64;
    let mut mix = |word: u64| {
        h = (h ^ word)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29)
    };
    for id in ids {
        let mut chunks = id.as_bytes().chunks_exact(8);
        for c in &mut chunks {
            mix(u64::from_le_bytes([
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
            ]));
        }
        let mut tail = [0u8; 8];
        tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        mix(u64::from_le_bytes(tail) ^ ((id.len() as u64) << 56));
    }
    (h ^ (h >> 32)) as u32 | 1
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
    let (ids, profiles, order_source) = candidate_ids(store, config, req.provider);
    let order_hash = order_fingerprint(&ids, order_source);
    let place = match order_source {
        OrderSource::OrderOverride => Reason::OrderOverride,
        OrderSource::ConfigOrder => Reason::ConfigOrder,
        _ => Reason::RoundRobin { last_used: 0 },
    };
    let explicit = order_source.is_explicit();
    let mut rows: Vec<_> = Vec::with_capacity(ids.len() + 1);
    for (pos, id) in ids.iter().enumerate() {
        if explicit && ids[..pos].contains(id) {
            continue; // an order that names an id twice keeps its first place
        }
        rows.push((
            evaluate(id, profiles[pos], store, config, req, place.clone()),
            pos,
        ));
    }
    rows.sort_unstable_by(|((a, ar, ax, al), ap), ((b, br, bx, bl), bp)| {
        let group = |c: &Candidate<'_>| {
            if c.usable {
                0
            } else if c.eligible {
                1
            } else {
                2
            }
        };
        group(a).cmp(&group(b)).then_with(|| {
            if !a.usable {
                a.blocked_until.cmp(&b.blocked_until).then(ap.cmp(bp))
            } else if explicit {
                ap.cmp(bp)
            } else {
                (ar, ax, al, ap).cmp(&(br, bx, bl, bp))
            }
        })
    });
    let mut candidates: Vec<Candidate<'a>> = rows.into_iter().map(|((c, ..), _)| c).collect();

    if candidates.is_empty()
        && !config
            .auth_profiles
            .values()
            .any(|m| &m.provider == req.provider)
    {
        return key_fallback(config, env, req.provider, order_source, order_hash);
    }

    let mut pin_change = PinChange::Keep;
    let mut chosen: Option<usize> = None;
    if let Some(pin) = req.pin {
        let stored = store
            .profiles
            .get(pin.profile)
            .filter(|p| &p.provider == req.provider);
        match (pin.source, stored) {
            (OverrideSource::User, None) => pin_change = PinChange::Clear,
            (OverrideSource::Auto, _) if !store.profiles.contains_key(pin.profile) => {
                pin_change = PinChange::Clear
            }
            (OverrideSource::User, Some(_)) => {
                let at = match candidates.iter().position(|c| c.id == pin.profile) {
                    Some(i) => i,
                    None => {
                        let (c, ..) = evaluate(
                            pin.profile,
                            store.profiles.get(pin.profile),
                            store,
                            config,
                            req,
                            Reason::PinnedByUser,
                        );
                        candidates.push(c);
                        candidates.len() - 1
                    }
                };
                let mut c = candidates.remove(at);
                c.place = Reason::PinnedByUser;
                if !c.eligible {
                    let why = c
                        .problem
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default();
                    return Err(ResolveError::PinnedUnusable {
                        id: pin.profile.to_owned(),
                        why,
                    });
                }
                candidates.insert(0, c);
                chosen = Some(0);
            }
            (OverrideSource::Auto, _) => {
                let at = candidates.iter().position(|c| c.id == pin.profile);
                let moved_on = pin.rotate || req.compaction_count > pin.compaction_at_pin;
                let order_changed = pin.order_hash.is_some_and(|h| h != order_hash);
                let next = match at {
                    Some(i) if moved_on => {
                        let n = candidates.len();
                        (1..=n).map(|k| (i + k) % n).find(|&j| candidates[j].usable)
                    }
                    Some(i) if !order_changed && candidates[i].usable => {
                        let mut c = candidates.remove(i);
                        c.place = Reason::AutoPin;
                        candidates.insert(0, c);
                        chosen = Some(0);
                        None
                    }
                    _ => candidates.iter().position(|c| c.usable),
                };
                if let Some(j) = next {
                    let mut c = candidates.remove(j);
                    c.place = Reason::AutoPin;
                    pin_change = PinChange::SetAuto(c.id.to_string());
                    candidates.insert(0, c);
                    chosen = Some(0);
                }
            }
        }
    }
    if chosen.is_none()
        && let Some(i) = candidates.iter().position(|c| c.usable)
    {
        let c = candidates.remove(i);
        pin_change = PinChange::SetAuto(c.id.to_string());
        candidates.insert(0, c);
        chosen = Some(0);
    }
    match chosen {
        Some(i) => Ok(Resolution {
            candidates,
            choice: Choice::Profile(i),
            order_source,
            pin_change,
            order_hash,
        }),
        None => Err(no_usable(req.provider, &candidates)),
    }
}

/// The error when no candidate is usable: all cooling (with the soonest end) or none eligible.
fn no_usable(provider: &ProviderId, candidates: &[Candidate<'_>]) -> ResolveError {
    if let Some(c) = candidates
        .iter()
        .filter(|c| c.eligible)
        .min_by_key(|c| c.blocked_until)
    {
        return ResolveError::AllCooling {
            provider: provider.to_string(),
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
        }),
        None => Err(ResolveError::NoCredentials {
            provider: provider.to_string(),
            env_name: Env::key_name(provider),
        }),
    }
}

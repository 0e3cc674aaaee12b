//! The quota and lane rules of resolution (issue 29): a candidate's place by its quota windows, the
//! session's billing lane, closing metered profiles to a subscription session that did not opt in,
//! and when an automatic pin moves for its quota.

use crate::store::{AuthProfiles, FailureReason, Lane, OverrideSource, ProviderId, UsageStats};

use super::quota::headroom;
use super::types::{Candidate, LaneCrossing, Reason, ResolveError, ResolveRequest};

/// A candidate's place by its quota windows: past a threshold (`low`), how soon its room is lost,
/// and a block until the provider's reset when a window is exhausted.
#[cold]
pub(super) fn quota_place(c: &mut Candidate<'_>, stats: &UsageStats, req: &ResolveRequest<'_>) {
    if !req.quota.policy.routing {
        return;
    }
    let t = req.quota.policy.thresholds_of(req.provider);
    let h = headroom(stats, t, req.model, req.now_ms);
    (c.low, c.wall) = (h.low, h.wall);
    c.lose_rank = h.lose_rank;
    if h.exhausted_until > req.now_ms && h.exhausted_until > c.blocked_until && c.problem.is_none_or(|p| matches!(p, Reason::Cooldown { .. })) {
        c.blocked_until = h.exhausted_until;
        c.problem = Some(Reason::Cooldown {
            until: h.exhausted_until,
            reason: Some(FailureReason::RateLimit),
        });
    }
}

/// The session's lane before any pin: the lane of the first eligible candidate of an explicit order
/// (as written), else the cheapest lane any eligible candidate is in; `None` when none is eligible.
pub(super) fn home_lane(candidates: &[Candidate<'_>], explicit: bool) -> Option<Lane> {
    let mut eligible = candidates.iter().filter(|c| c.eligible);
    if explicit {
        eligible.next().map(|c| c.lane)
    } else {
        eligible.map(|c| c.lane).min()
    }
}

/// The session's lane: a user pin's (its own choice, whatever it bills), else the provider's home lane.
pub(super) fn session_lane(
    store: &AuthProfiles,
    req: &ResolveRequest<'_>,
    home: Option<Lane>,
    foreign_user_pin: bool,
) -> Option<Lane> {
    match req.pin {
        Some(pin) if pin.source == OverrideSource::User && !foreign_user_pin => {
            match store.profiles.get(pin.profile) {
                Some(p) => Some(req.quota.policy.lane_of(pin.profile, p.kind)),
                None => home,
            }
        }
        _ => home,
    }
}

/// Closes the usable metered candidates to a session of another lane that did not opt in; true when
/// any was closed.
pub(super) fn close_metered(candidates: &mut [Candidate<'_>], lane: Option<Lane>, req: &ResolveRequest<'_>) -> bool {
    if req.quota.allow_metered || !req.quota.policy.routing || lane.is_none_or(|l| l == Lane::Metered) {
        return false;
    }
    let mut closed = false;
    for c in candidates.iter_mut().filter(|c| c.usable && c.lane == Lane::Metered) {
        c.usable = false;
        c.problem = Some(Reason::LaneClosed);
        closed = true;
    }
    closed
}

/// The crossing a choice in lane `to` makes for a session in lane `from`, if it bills per token.
pub(super) fn crossing(from: Option<Lane>, to: Lane) -> Option<LaneCrossing> {
    match from {
        Some(from) if from != to && to == Lane::Metered => Some(LaneCrossing { from, to }),
        _ => None,
    }
}

/// The error when the session's lane is used up and only metered profiles were left.
pub(super) fn lane_closed(provider: &ProviderId, lane: Option<Lane>, candidates: &[Candidate<'_>]) -> ResolveError {
    let lane = lane.unwrap_or(Lane::Subscription);
    let own = candidates
        .iter()
        .filter(|c| c.eligible && c.lane == lane && c.blocked_until > 0)
        .min_by_key(|c| c.blocked_until);
    let metered = candidates.iter().find(|c| c.problem == Some(Reason::LaneClosed));
    ResolveError::LaneClosed {
        provider: provider.to_string(),
        lane,
        id: own.map(|c| c.id.to_string()).unwrap_or_default(),
        until_ms: own.map_or(0, |c| c.blocked_until),
        at: super::format_time(own.map_or(0, |c| c.blocked_until)),
        metered: metered.map(|c| c.id.to_string()).unwrap_or_default(),
    }
}

/// True when an automatic pin on candidate `i` should move for its quota. A hard reason moves it even
/// mid-conversation: the wall (see [`crate::config::Thresholds::wall_ppm`]) while another usable profile
/// has headroom. Soft reasons move it only once the session has been idle longer than the
/// prompt-cache lifetime (an unknown idle time counts as warm): past a threshold, a cheaper lane
/// usable again, or a best profile in a lower use band (sessions spread out rather than all following
/// one account into its wall).
pub(super) fn quota_moves(candidates: &[Candidate<'_>], i: usize, req: &ResolveRequest<'_>) -> bool {
    if !req.quota.policy.routing {
        return false;
    }
    let pinned = &candidates[i];
    let headroom = candidates.iter().any(|c| c.usable && !c.low);
    if pinned.wall && headroom {
        return true;
    }
    let idle = req.quota.idle_ms.is_some_and(|ms| ms > req.quota.policy.cache_idle_ms);
    let Some(best) = candidates.iter().find(|c| c.usable).filter(|_| idle) else {
        return false;
    };
    let band = |c: &Candidate<'_>| c.lose_rank >> 30;
    (pinned.low && headroom) || best.lane < pinned.lane || band(best) < band(pinned)
}

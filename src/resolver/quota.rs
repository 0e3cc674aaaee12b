//! Quota windows in routing (issue 29): recording what a provider's answer said (windows, ledger, the
//! exact reset of an exhausted window) and judging a profile's headroom. Pure: state, answer and time in.

use crate::config::Thresholds;
use crate::store::{FailureReason, Lane, MAX_WINDOW_MS, QuotaState, Tokens, UsageStats, Window, WindowStatus};

use super::headers::{Parsed, claim_window};
use super::outcome::{Applied, Outcome, apply, count_failure};

/// The most windows kept per profile (the oldest reported are dropped beyond it).
const MAX_WINDOWS: usize = 16;

/// A window whose reset is this far past is forgotten.
const FORGET_AFTER_MS: i64 = 8 * 24 * 3_600_000;

/// A window reported without a reset counts for this long after it was seen.
const NO_RESET_FOR_MS: i64 = 3_600_000;

/// A provider's answer, as the gateway passes it to [`crate::Agent::report_answer`].
#[derive(Debug, Clone, Default)]
pub struct Answer {
    /// The HTTP status, when there was one.
    pub status: Option<u16>,
    /// The response headers (names in any case).
    pub headers: Vec<(String, String)>,
    /// The usage block of the answer.
    pub usage: Option<Tokens>,
}

impl Answer {
    /// The usage block of an answer as JSON (modelauth's names, Anthropic's or OpenAI's); `None`
    /// when it is not an object.
    pub fn usage_from_json(v: &serde_json::Value) -> Option<Tokens> {
        super::headers::usage_of(v)
    }

    /// Headers from a JSON map (text, numbers, arrays of those); with how many values were skipped.
    pub fn headers_from_json(
        map: Option<&serde_json::Map<String, serde_json::Value>>,
    ) -> (Vec<(String, String)>, u32) {
        super::headers::pairs_of(map)
    }
}

/// What one report did to a profile's quota record (for the caller's answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Observed {
    /// Windows the answer reported.
    pub windows: usize,
    /// Header values ignored as malformed.
    pub ignored: u32,
    /// The provider's own reset the profile now cools until (`None`: the ladder or no cooldown).
    pub provider_reset: Option<i64>,
}

/// How much room a profile has for a request, from its quota record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Headroom {
    /// Past a threshold in some window: behind profiles with headroom, never blocked for it.
    pub low: bool,
    /// At the wall: a plan window past `Thresholds::wall_ppm`, or a request or token window below its
    /// minimum. Even a warm session's automatic pin moves then.
    pub wall: bool,
    /// An exhausted window blocks the profile until then, ms (0: none).
    pub exhausted_until: i64,
    /// Use it or lose it, among profiles with headroom: the use band of its fullest plan window
    /// (quarters: 0 below 25 %, … 3 above 75 %) in the top bits, then the seconds until its
    /// soonest plan-window reset; the smallest goes first (0: nothing known). Bands keep one account
    /// from taking every new session until it reaches the threshold, which would move them all at once.
    pub lose_rank: u32,
}

/// Nothing known: full room.
pub const UNKNOWN: Headroom = Headroom {
    low: false,
    wall: false,
    exhausted_until: 0,
    lose_rank: 0,
};

/// True for the per-model request and token windows (short, minute-scale): the others are plan
/// windows (Anthropic's 5-hour and 7-day), the ones use-it-or-lose-it applies to.
fn per_model(name: &str) -> bool {
    matches!(name, "requests" | "tokens" | "input-tokens" | "output-tokens")
}

/// One reported answer, ready to record.
#[derive(Debug, Clone)]
pub struct Report<'a> {
    /// Success or the failure's reason.
    pub outcome: Outcome,
    /// The model used.
    pub model: Option<&'a str>,
    /// When, ms.
    pub now: i64,
    /// The answer's headers, read.
    pub parsed: Parsed,
    /// The answer's usage block.
    pub usage: Option<Tokens>,
    /// The profile's lane.
    pub lane: Lane,
}

/// Records `report` into `stats`: windows, ledger, and the outcome itself — a rate limit with an
/// exhausted window cools the profile until the provider's reset (at most `max_reset_ms` away), anything
/// else by the schedule.
pub fn apply_answer(stats: &mut UsageStats, report: Report<'_>, max_reset_ms: i64) -> (Applied, Observed) {
    let Report { outcome, model, now, mut parsed, usage, lane } = report;
    parsed.scope(model);
    let mut observed = Observed {
        windows: parsed.windows.len(),
        ignored: parsed.ignored,
        provider_reset: None,
    };
    let failure = match outcome {
        Outcome::Failure { reason, .. } => Some(reason),
        Outcome::Success => None,
    };
    let retry_after = parsed.retry_after_ms;
    let q = stats.quota.get_or_insert_with(Box::default);
    observe(q, parsed, now);
    count(q, failure.map(FailureReason::as_str), usage.as_ref(), lane, model, now);
    let outcome = match outcome {
        Outcome::Failure {
            reason,
            retry_after_ms: None,
        } => Outcome::Failure {
            reason,
            retry_after_ms: retry_after,
        },
        other => other,
    };
    let reset = match failure {
        Some(FailureReason::RateLimit) => exhausted_reset(q, model, now),
        _ => None,
    };
    let applied = match reset {
        Some((until, scoped)) => {
            let until = until.min(now.saturating_add(max_reset_ms));
            observed.provider_reset = Some(until);
            cool_until(stats, until, scoped.then_some(model).flatten(), now)
        }
        None => apply(stats, outcome, model, now),
    };
    (applied, observed)
}

/// A rate limit whose window the provider said ends at `until`: the cooldown ends exactly then (the
/// stored field holds at most a day, OpenClaw's own bound; the quota record holds the rest).
fn cool_until(stats: &mut UsageStats, until: i64, model: Option<&str>, now: i64) -> Applied {
    count_failure(stats, FailureReason::RateLimit, now);
    stats.cooldown_until = until.min(now.saturating_add(MAX_WINDOW_MS));
    stats.cooldown_reason = Some(FailureReason::RateLimit);
    stats.cooldown_model = model.map(str::to_owned);
    Applied::WindowStarted(until)
}

/// Merges an answer's windows into `q`: each replaces the one of the same name and model (keeping its
/// ledger unless the window reset meanwhile); old and surplus windows are dropped.
fn observe(q: &mut QuotaState, parsed: Parsed, now: i64) {
    let rejected_overall = parsed.status == Some(WindowStatus::Rejected);
    if let Some(claim) = &parsed.claim
        && rejected_overall
    {
        // The overall status names the binding window: it is the one exhausted.
        let name = claim_window(claim).to_owned();
        let mut w = parsed
            .windows
            .iter()
            .find(|w| w.name == name)
            .cloned()
            .unwrap_or(Window { name, ..Window::default() });
        w.status = Some(WindowStatus::Rejected);
        if w.reset_at == 0 {
            w.reset_at = parsed.unified_reset;
        }
        merge(q, w, now);
    }
    if parsed.claim.is_some() || parsed.status.is_some() {
        q.claim = parsed.claim.clone();
        q.status = parsed.status;
    }
    let any = !parsed.windows.is_empty();
    for w in parsed.windows {
        if rejected_overall && parsed.claim.as_deref().map(claim_window) == Some(&w.name) {
            continue; // merged above, as rejected
        }
        merge(q, w, now);
    }
    if any {
        q.seen_at = now;
    }
    q.ignored = q.ignored.saturating_add(u64::from(parsed.ignored));
    q.windows
        .retain(|w| w.reset_at == 0 || w.reset_at.saturating_add(FORGET_AFTER_MS) > now);
    if q.windows.len() > MAX_WINDOWS {
        q.windows.sort_by_key(|w| std::cmp::Reverse(w.seen_at));
        q.windows.truncate(MAX_WINDOWS);
    }
}

/// Puts observation `w` (seen at `now`) in place of its namesake.
fn merge(q: &mut QuotaState, mut w: Window, now: i64) {
    w.seen_at = now;
    match q
        .windows
        .iter_mut()
        .find(|old| old.name == w.name && old.model == w.model)
    {
        Some(old) => {
            let rolled = old.reset_at != 0 && old.reset_at <= now;
            w.ledger = if rolled { Default::default() } else { std::mem::take(&mut old.ledger) };
            *old = w;
        }
        None => q.windows.push(w),
    }
}

/// Counts one call in the ledger of every current window it belongs to, and in the total.
fn count(q: &mut QuotaState, failure: Option<&str>, usage: Option<&Tokens>, lane: Lane, model: Option<&str>, now: i64) {
    for w in &mut q.windows {
        if w.applies_to(model) && w.current(now) {
            w.ledger.count(failure, usage);
        }
    }
    q.total.count(failure, usage);
    q.lane = Some(lane);
}

/// The latest reset among the exhausted current windows that apply to `model`, with whether that
/// window is per model (the cooldown then scopes to the model).
fn exhausted_reset(q: &QuotaState, model: Option<&str>, now: i64) -> Option<(i64, bool)> {
    q.windows
        .iter()
        .filter(|w| w.applies_to(model) && w.exhausted() && w.reset_at > now)
        .map(|w| (w.reset_at, w.model.is_some()))
        .max_by_key(|(at, scoped)| (*at, !*scoped))
}

/// The end of the latest exhausted window of `stats` that applies to `model` at `now` (0: none).
pub fn exhausted_until(stats: &UsageStats, model: Option<&str>, now: i64) -> i64 {
    stats
        .quota
        .as_deref()
        .and_then(|q| exhausted_reset(q, model, now))
        .map_or(0, |(at, _)| at)
}

/// The headroom of a profile with `stats` for `model` at `now` under `t`.
pub fn headroom(stats: &UsageStats, t: &Thresholds, model: Option<&str>, now: i64) -> Headroom {
    let Some(q) = stats.quota.as_deref() else {
        return UNKNOWN;
    };
    let mut h = UNKNOWN;
    let (mut band_max, mut soonest) = (0u32, u32::MAX);
    for w in &q.windows {
        let live = if w.reset_at == 0 { w.seen_at.saturating_add(NO_RESET_FOR_MS) > now } else { w.reset_at > now };
        if !live || !w.applies_to(model) {
            continue;
        }
        if w.exhausted() {
            h.exhausted_until = h.exhausted_until.max(w.reset_at);
            (h.low, h.wall) = (true, true);
            continue;
        }
        let low = past(w, t);
        h.low |= low;
        h.wall |= low && (per_model(&w.name) || w.used_ppm().is_some_and(|u| u >= t.wall_ppm));
        if !low && !per_model(&w.name) && w.reset_at > 0 {
            let band = w.used_ppm().unwrap_or(0).min(999_999) / 250_000;
            let secs = u32::try_from(((w.reset_at - now) / 1000).clamp(1, (1 << 30) - 1)).unwrap_or(1);
            band_max = band_max.max(band);
            soonest = soonest.min(secs);
        }
    }
    if soonest != u32::MAX {
        h.lose_rank = (band_max << 30) | soonest;
    }
    if h.low {
        h.lose_rank = 0;
    }
    h
}

/// True when window `w` is past its threshold in `t`.
fn past(w: &Window, t: &Thresholds) -> bool {
    let share = |limit: u32| w.used_ppm().is_some_and(|u| u >= limit);
    match w.name.as_str() {
        "5h" => share(t.five_hour_ppm),
        "7d" => share(t.seven_day_ppm),
        "requests" => w.remaining.is_some_and(|r| r < t.min_requests),
        "tokens" | "input-tokens" | "output-tokens" => w.remaining.is_some_and(|r| r < t.min_tokens),
        _ => match w.used_ppm() {
            Some(u) => u >= t.other_ppm,
            None => w.status == Some(WindowStatus::AllowedWarning),
        },
    }
}

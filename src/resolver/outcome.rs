//! Reporting outcomes (SPEC §5): success clears error state; failures start cooldown or disable windows
//! by the backoff schedule. Pure functions of the stats and time; persistence is the caller's.

use crate::store::{FailureReason, UsageStats};

/// One second, in ms.
const SEC: i64 = 1000;
/// One minute, in ms.
const MIN: i64 = 60 * SEC;
/// One hour, in ms.
const HOUR: i64 = 60 * MIN;

/// Failure counters reset after this long without a failure.
pub const QUIET_RESET_MS: i64 = 24 * HOUR;

/// What happened when a profile was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The request succeeded.
    Success,
    /// The request failed.
    Failure {
        /// Why (see [`classify`]).
        reason: FailureReason,
        /// The provider's `Retry-After`, ms, honoured when longer than the schedule.
        retry_after_ms: Option<i64>,
    },
}

/// What recording an outcome changed ([`crate::Agent::report`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Success recorded.
    Succeeded,
    /// A new window was started, ending at this time (ms).
    WindowStarted(i64),
    /// The failure fell inside an active window, which was left as it was.
    InsideActiveWindow(i64),
    /// The credential was refused, but the profile's secret reference holds another secret now (it
    /// was rotated): nothing was recorded; use the profile again.
    SecretRotated,
}

impl Applied {
    /// The name of the result in JSON documents (`succeeded`, `windowStarted`,
    /// `insideActiveWindow`, `secretRotated`) and the end of its window, ms.
    pub fn wire(self) -> (&'static str, Option<i64>) {
        match self {
            Applied::Succeeded => ("succeeded", None),
            Applied::WindowStarted(t) => ("windowStarted", Some(t)),
            Applied::InsideActiveWindow(t) => ("insideActiveWindow", Some(t)),
            Applied::SecretRotated => ("secretRotated", None),
        }
    }
}

/// The transient cooldown for the `n`th failure in a row: 30 s, 60 s, then 5 min.
pub fn transient_window(n: u32) -> i64 {
    match n {
        0 | 1 => 30 * SEC,
        2 => 60 * SEC,
        _ => 5 * MIN,
    }
}

/// The disable window for the `n`th billing or auth_permanent failure: 10 min doubling, capped at
/// 24 h (billing) or 60 min (auth_permanent).
pub fn disable_window(reason: FailureReason, n: u32) -> i64 {
    let cap = if reason == FailureReason::Billing {
        24 * HOUR
    } else {
        HOUR
    };
    let doubled = 10 * MIN * (1i64 << n.saturating_sub(1).min(20));
    doubled.min(cap)
}

/// True for the reasons that disable (rather than cool down) a profile.
pub fn disables(reason: FailureReason) -> bool {
    matches!(
        reason,
        FailureReason::Billing | FailureReason::AuthPermanent
    )
}

/// The longest window a provider's Retry-After can ask for (24 h, the schedule's own maximum): a larger
/// value is treated as this, a negative one as none.
pub const MAX_RETRY_AFTER_MS: i64 = 24 * HOUR;

/// True for the reasons whose cooldown applies to one model only.
fn model_scoped(reason: FailureReason) -> bool {
    matches!(
        reason,
        FailureReason::RateLimit | FailureReason::Timeout | FailureReason::ModelNotFound
    )
}

/// True when the active cooldown of `stats` already covers a failure for `reason` with `model`: a
/// profile-wide window covers everything, a model-scoped one only model-scoped failures of its model.
fn cooldown_covers(stats: &UsageStats, reason: FailureReason, model: Option<&str>) -> bool {
    match stats.cooldown_model.as_deref() {
        None => true,
        Some(m) => model_scoped(reason) && model == Some(m),
    }
}

/// Applies `outcome` at `now` for `model` to `stats`.
///
/// An active window is never extended by a failure it already covers (same kind and scope): such a
/// failure changes nothing. A failure outside the window's scope (another model, or a profile-wide
/// reason while one model cools) starts a window that covers both. Retry-After is clamped to
/// [`MAX_RETRY_AFTER_MS`] and time arithmetic saturates.
pub fn apply(stats: &mut UsageStats, outcome: Outcome, model: Option<&str>, now: i64) -> Applied {
    let (reason, retry_after) = match outcome {
        Outcome::Success => {
            let quota = stats.quota.take();
            *stats = UsageStats {
                last_used: now,
                quota,
                ..UsageStats::default()
            };
            return Applied::Succeeded;
        }
        Outcome::Failure {
            reason,
            retry_after_ms,
        } => (
            reason,
            retry_after_ms.unwrap_or(0).clamp(0, MAX_RETRY_AFTER_MS),
        ),
    };
    let (active, covered) = if disables(reason) {
        (stats.disabled_until, true)
    } else {
        (stats.cooldown_until, cooldown_covers(stats, reason, model))
    };
    if active > now && covered {
        return Applied::InsideActiveWindow(active);
    }
    // Another scope's window is still running: the new one covers both scopes.
    let widen = active > now && !covered;
    let count = count_failure(stats, reason, now);
    if disables(reason) {
        let until = now.saturating_add(disable_window(reason, count).max(retry_after));
        stats.disabled_until = until;
        stats.disabled_reason = Some(reason);
        Applied::WindowStarted(until)
    } else {
        let until = now
            .saturating_add(transient_window(stats.error_count).max(retry_after))
            .max(if widen { active } else { 0 });
        stats.cooldown_until = until;
        stats.cooldown_reason = Some(reason);
        stats.cooldown_model = if model_scoped(reason) && !widen {
            model.map(str::to_owned)
        } else {
            None
        };
        Applied::WindowStarted(until)
    }
}

/// Counts a failure for `reason` at `now` (counters restart after a quiet day); returns the count
/// of `reason`.
pub(super) fn count_failure(stats: &mut UsageStats, reason: FailureReason, now: i64) -> u32 {
    if stats.last_failure_at > 0 && now.saturating_sub(stats.last_failure_at) >= QUIET_RESET_MS {
        stats.error_count = 0;
        stats.failure_counts.clear();
    }
    stats.error_count = stats.error_count.saturating_add(1);
    let count = stats.failure_counts.entry(reason).or_insert(0);
    *count = count.saturating_add(1);
    stats.last_failure_at = now;
    *count
}

/// The Anthropic error text of a Claude-Code-only credential used elsewhere.
pub const CLAUDE_CODE_ONLY: &str = "This credential is only authorized for use with Claude Code and cannot be used for other API requests.";

/// The hint shown wherever an `auth_permanent` failure is shown.
pub const AUTH_PERMANENT_HINT: &str =
    "Use an Anthropic API key instead (modelauth models auth add --provider anthropic).";

/// Maps a provider error (HTTP status, response body) to a failure reason.
pub fn classify(status: Option<u16>, body: &str) -> FailureReason {
    let lower = body.to_ascii_lowercase();
    let has = |needle: &str| lower.contains(needle);
    if body.contains(CLAUDE_CODE_ONLY) || has("only authorized for use with claude code") {
        return FailureReason::AuthPermanent;
    }
    match status {
        Some(402) => FailureReason::Billing,
        _ if has("insufficient credit") || has("insufficient_quota") || has("credit balance") => {
            FailureReason::Billing
        }
        Some(401 | 403) => FailureReason::Auth,
        Some(429) => FailureReason::RateLimit,
        Some(408 | 504) => FailureReason::Timeout,
        Some(503 | 529) => FailureReason::Overloaded,
        Some(404) if has("model") => FailureReason::ModelNotFound,
        Some(400) if has("invalid_request") || has("format") => FailureReason::Format,
        _ if has("overloaded") => FailureReason::Overloaded,
        _ if has("rate limit") || has("rate_limit") || has("too many requests") => {
            FailureReason::RateLimit
        }
        _ if has("timed out") || has("timeout") => FailureReason::Timeout,
        _ if body.trim().is_empty() && status.is_none() => FailureReason::EmptyResponse,
        Some(_) => FailureReason::Unclassified,
        None => FailureReason::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_common_errors() {
        assert_eq!(
            classify(Some(400), CLAUDE_CODE_ONLY),
            FailureReason::AuthPermanent
        );
        assert_eq!(classify(Some(401), ""), FailureReason::Auth);
        assert_eq!(classify(Some(403), "forbidden"), FailureReason::Auth);
        assert_eq!(classify(Some(402), ""), FailureReason::Billing);
        assert_eq!(
            classify(Some(400), "Your credit balance is too low"),
            FailureReason::Billing
        );
        assert_eq!(classify(Some(429), ""), FailureReason::RateLimit);
        assert_eq!(classify(Some(408), ""), FailureReason::Timeout);
        assert_eq!(classify(None, "request timed out"), FailureReason::Timeout);
        assert_eq!(classify(Some(529), ""), FailureReason::Overloaded);
        assert_eq!(classify(Some(503), "Overloaded"), FailureReason::Overloaded);
        assert_eq!(classify(Some(500), "boom"), FailureReason::Unclassified);
        assert_eq!(classify(None, ""), FailureReason::EmptyResponse);
    }

    #[test]
    fn schedules() {
        assert_eq!(
            [1, 2, 3, 9].map(transient_window),
            [30 * SEC, 60 * SEC, 5 * MIN, 5 * MIN]
        );
        let billing = [1, 2, 3, 20].map(|n| disable_window(FailureReason::Billing, n));
        assert_eq!(billing, [10 * MIN, 20 * MIN, 40 * MIN, 24 * HOUR]);
        let perm = [1, 2, 3, 4].map(|n| disable_window(FailureReason::AuthPermanent, n));
        assert_eq!(perm, [10 * MIN, 20 * MIN, 40 * MIN, HOUR]);
    }
}

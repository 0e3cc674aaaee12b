//! Which credential next (SPEC §5): candidate order, eligibility, cooldowns, session pins, and the
//! bookkeeping of reported outcomes. Time comes from an injected [`Clock`].

pub mod clock;
pub mod headers;
mod lanes;
mod order;
pub mod outcome;
pub mod quota;
pub mod resolve;
pub mod types;

pub use crate::backend::ReportError;
pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use quota::{Answer, Headroom, Observed, apply_answer, headroom};
pub use outcome::{AUTH_PERMANENT_HINT, Applied, CLAUDE_CODE_ONLY, Outcome, apply, classify};
pub use resolve::{NEVER_COOL, ResolveRequest, blocked_until, resolve};
pub use types::{
    Candidate, Choice, LaneCrossing, OrderSource, PinChange, PinView, QuotaAsk, Reason, Resolution,
    ResolveError,
};

/// The last instant RFC 3339 can write with four-digit years: 9999-12-31T23:59:59Z, in ms.
pub const LAST_FORMATTABLE_MS: i64 = 253_402_300_799_000;

/// Formats ms since the epoch as RFC 3339 (UTC, seconds). Total: any `i64` is accepted (a stored or
/// received value must never crash a view); times before 1970 print as the epoch, times after year 9999
/// as `after 9999-12-31T23:59:59Z`.
pub fn format_time(ms: i64) -> String {
    if ms > LAST_FORMATTABLE_MS {
        return "after 9999-12-31T23:59:59Z".to_owned();
    }
    let t =
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_seconds(t).to_string()
}

/// A short human duration (`45s`, `4m`, `2h`, `3d`) for `ms` (rounded up; 0 for the past).
pub fn short_duration(ms: i64) -> String {
    let s = (ms.max(0) as u64).div_ceil(1000);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s.div_ceil(60)),
        3600..86400 => format!("{}h", s.div_ceil(3600)),
        _ => format!("{}d", s.div_ceil(86400)),
    }
}

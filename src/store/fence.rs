//! OpenClaw 2026.9.6's OAuth refresh fence. While OpenClaw refreshes a login it replaces the tokens in
//! the store by an inert marker and releases its lock for the HTTP call:
//! `access` = `openclaw-oauth-refresh-fence:v1:<claim>:[failed:]access:<digest>`, `refresh` the same
//! with `refresh:`, and `expires: 1`. A pending marker means "a refresh is in progress elsewhere"; a
//! failed one means that refresh failed for good and only a new login helps. A marker is never a
//! token: it is never sent anywhere and never earns a failure.

use serde_json::{Map, Value};

const PREFIX: &str = "openclaw-oauth-refresh-fence:v1:";

/// The state of a fence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FenceState {
    /// The refresh owner may still settle it: wait, then use what it stores.
    Pending,
    /// The refresh failed: the login needs a new sign-in.
    Failed,
}

/// A parsed fence marker (holds no secret: a random claim id and digests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// The claim id (32 hex digits), the same in both markers.
    pub claim: String,
    /// Pending or failed.
    pub state: FenceState,
}

impl Fence {
    /// The fence of an OAuth entry, exactly as OpenClaw recognises it (`expires` is 1, both markers
    /// well formed with the same claim and the same state); `None` for anything else.
    pub fn of(fields: &Map<String, Value>) -> Option<Fence> {
        if fields.get("expires").and_then(Value::as_f64) != Some(1.0) {
            return None;
        }
        let access = marker(fields.get("access")?.as_str()?, "access")?;
        let refresh = marker(fields.get("refresh")?.as_str()?, "refresh")?;
        (access == refresh).then_some(access)
    }

    /// True for a pending fence.
    pub fn is_pending(&self) -> bool {
        self.state == FenceState::Pending
    }
}

/// True when `value` looks like a fence marker of any kind (never send such a string as a token).
pub fn is_marker(value: &str) -> bool {
    value.starts_with(PREFIX)
}

/// Parses `<claim>:[failed:]<kind>:<digest>` after the prefix.
fn marker(value: &str, kind: &str) -> Option<Fence> {
    let rest = value.strip_prefix(PREFIX)?;
    let (claim, rest) = rest.split_once(':')?;
    let (state, rest) = match rest.strip_prefix("failed:") {
        Some(r) => (FenceState::Failed, r),
        None => (FenceState::Pending, rest),
    };
    let digest = rest.strip_prefix(kind)?.strip_prefix(':')?;
    let hex = |s: &str, n: usize| {
        s.len() == n && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    (hex(claim, 32) && hex(digest, 64)).then(|| Fence {
        claim: claim.to_owned(),
        state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(access: &str, refresh: &str, expires: Value) -> Map<String, Value> {
        json!({"type":"oauth","access":access,"refresh":refresh,"expires":expires})
            .as_object()
            .unwrap()
            .clone()
    }

    #[test]
    fn pending_failed_and_lookalikes() {
        let c = "0123456789abcdef0123456789abcdef";
        let d = "a".repeat(64);
        let m = |k: &str, failed: bool| {
            format!("{PREFIX}{c}:{}{k}:{d}", if failed { "failed:" } else { "" })
        };
        let pending = Fence::of(&entry(&m("access", false), &m("refresh", false), json!(1)));
        assert_eq!(pending.unwrap().state, FenceState::Pending);
        let failed = Fence::of(&entry(&m("access", true), &m("refresh", true), json!(1)));
        assert_eq!(failed.unwrap().state, FenceState::Failed);
        // Mixed states, another expiry, a swapped kind or a short digest are not fences.
        assert!(Fence::of(&entry(&m("access", true), &m("refresh", false), json!(1))).is_none());
        assert!(Fence::of(&entry(&m("access", false), &m("refresh", false), json!(2))).is_none());
        assert!(Fence::of(&entry(&m("refresh", false), &m("refresh", false), json!(1))).is_none());
        let short = format!("{PREFIX}{c}:access:abc");
        assert!(Fence::of(&entry(&short, &m("refresh", false), json!(1))).is_none());
        assert!(is_marker(&m("access", false)));
    }
}

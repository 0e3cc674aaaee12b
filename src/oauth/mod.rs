//! OAuth logins: refreshing an access token when it is used ([`Refresher`], one refresh of a credential
//! at a time across tasks, processes and hosts), the login flow ([`login`]), and the table of
//! providers ([`providers`]).
//!
//! When a refresh is due ([`due`]): the access token expires within [`REFRESH_MARGIN_MS`] or has no
//! expiry, the login has a refresh token, the provider is in the table, its refresh token was not
//! refused, and no refresh failed in the last [`RETRY_AFTER_FAILURE_MS`].

pub mod callback;
pub mod login;
pub mod providers;
mod refresh;
pub mod token;

pub use providers::{BodyFormat, Endpoints, OAuthProvider, PROVIDERS, provider};
pub use refresh::{LOCK_LEASE, RefreshError, Refreshed, Refresher, Target, lock_name};
pub use token::{TokenError, TokenSet};

use crate::store::{CredentialKind, Profile, RefreshNote};

/// Refresh an access token that expires within 5 minutes.
pub const REFRESH_MARGIN_MS: i64 = 5 * 60_000;

/// After a refresh failed for a transient reason, wait this long (30 s) before calling the endpoint
/// again; the still-valid old token is used meanwhile.
pub const RETRY_AFTER_FAILURE_MS: i64 = 30_000;

/// Whether an OAuth login should be refreshed before use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    /// Not an OAuth login, or its access token is good for more than the margin.
    Fresh,
    /// Refresh it now.
    Refresh,
    /// A refresh failed moments ago for a transient reason: use the old token while it lasts.
    Backoff(RefreshNote),
    /// The provider refused the refresh token: only a new login helps.
    Reauth,
    /// It cannot be refreshed: no refresh token, or no token endpoint known for its provider.
    CannotRefresh,
    /// The store holds OpenClaw's refresh fence instead of tokens: OpenClaw is refreshing it (or its
    /// refresh failed). Never refreshed here: the marker is not a token.
    Fenced,
}

/// Whether modelauth has what a refresh of `p` needs: a refresh token and a token endpoint for its
/// provider (a refused refresh token is `Profile::needs_reauth`, checked apart).
pub fn can_refresh(p: &Profile) -> bool {
    p.fence.is_none()
        && p.refresh
            .as_ref()
            .is_none_or(|r| !crate::store::fence::is_marker(r.expose_secret()))
        && p.refresh.as_ref().is_some_and(|r| !r.is_blank())
        && provider(p.provider.as_str()).is_some()
}

/// Whether `p` should be refreshed at `now` (ms).
pub fn due(p: &Profile, now: i64) -> Due {
    if p.kind != CredentialKind::OAuth {
        return Due::Fresh;
    }
    if p.fence.is_some() {
        return Due::Fenced;
    }
    if p.expires
        .is_some_and(|e| e.saturating_sub(now) > REFRESH_MARGIN_MS)
    {
        return Due::Fresh;
    }
    if p.needs_reauth() {
        return Due::Reauth;
    }
    let Some(refresh) = p.refresh.as_ref().filter(|_| can_refresh(p)) else {
        return Due::CannotRefresh;
    };
    match &p.refresh_note {
        Some(n)
            if !n.ok
                && now.saturating_sub(n.at) < RETRY_AFTER_FAILURE_MS
                && n.refresh_fingerprint.as_deref() == Some(&refresh.fingerprint()) =>
        {
            Due::Backoff(n.clone())
        }
        _ => Due::Refresh,
    }
}

//! One refresh of a credential at a time, everywhere: an in-process gate per credential, then the
//! cross-process (or, with a shared backend, cross-host) lock OpenClaw itself takes for the same
//! credential, then a re-read of the store: whoever refreshed first wins and everyone else uses its
//! result without calling the endpoint.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dashmap::DashMap;

use super::providers::provider;
use super::token::{self, TokenError};
use super::{Due, due};
use crate::backend::{ProfileStore, ReportError, StateLock, record_in};
use crate::config::Env;
use crate::resolver::{Clock, Outcome};
use crate::store::{FailureReason, Profile, RefreshNote, Secret, StoreError};

/// How long a refresh lock outlives a holder that cannot be checked (OpenClaw's `stale`, 180 s). A
/// holder that died on this host is detected by its pid at once.
pub const LOCK_LEASE: Duration = Duration::from_secs(180);

/// What [`Refresher::refresh`] produced.
#[derive(Debug)]
pub enum Refreshed {
    /// This call refreshed the login at the token endpoint.
    Refreshed {
        /// The new access token.
        access: Secret,
        /// Its expiry, ms.
        expires: i64,
    },
    /// Another task, process or host refreshed it meanwhile: its result, read from the store.
    ByOther {
        /// The current access token.
        access: Secret,
        /// Its expiry, ms (`None`: none recorded).
        expires: Option<i64>,
    },
}

impl Refreshed {
    /// The access token to use.
    pub fn access(&self) -> &Secret {
        match self {
            Refreshed::Refreshed { access, .. } | Refreshed::ByOther { access, .. } => access,
        }
    }
}

/// Why a refresh did not produce a token. None of the variants holds a token.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// The token endpoint refused or failed.
    #[error("refreshing {id}: {source}")]
    Token {
        /// The profile.
        id: String,
        /// What the endpoint did.
        source: Box<TokenError>,
    },
    /// The store or the refresh lock failed (a lock held past the caller's deadline is `LockTimeout`).
    #[error("refreshing {id}: {source}")]
    Store {
        /// The profile.
        id: String,
        /// The store's error.
        source: Box<StoreError>,
    },
    /// The login cannot be refreshed: gone from the store, no refresh token, or refused before.
    #[error("{id} cannot be refreshed: {why}")]
    NotRefreshable {
        /// The profile.
        id: String,
        /// Why, and what to do.
        why: String,
    },
    /// A refresh failed moments ago (another caller's, whose result this is); try again later.
    #[error(
        "refreshing {id} failed moments ago ({code}); modelauth tries again after 30 s and uses the old token while it lasts"
    )]
    RecentFailure {
        /// The profile.
        id: String,
        /// The failure's code.
        code: String,
    },
}

impl RefreshError {
    /// True when only a new login helps.
    pub fn is_permanent(&self) -> bool {
        match self {
            RefreshError::Token { source, .. } => source.is_permanent(),
            RefreshError::NotRefreshable { .. } => true,
            RefreshError::Store { .. } | RefreshError::RecentFailure { .. } => false,
        }
    }
}

/// Where a refresh reads and writes: the agent's store, the lock that excludes other refreshers of
/// the same credential, the environment (endpoint overrides) and the clock.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The store holding the credential.
    pub store: &'a dyn ProfileStore,
    /// Cross-process (or cross-host) locks, named by [`lock_name`].
    pub lock: &'a dyn StateLock,
    /// Where `MODELAUTH_<PROVIDER>_TOKEN_URL` overrides are looked up.
    pub env: &'a Env,
    /// The clock expiries are compared with.
    pub clock: &'a dyn Clock,
}

/// The single-flight refresher of one process. Share one per process (a [`crate::Gateway`] holds one
/// for all its agents).
#[derive(Debug)]
pub struct Refresher {
    gates: DashMap<String, Arc<Mutex<()>>>,
    timeout: Duration,
}

impl Refresher {
    /// A refresher whose refreshes end (waiting included) after `timeout`.
    pub fn new(timeout: Duration) -> Refresher {
        Refresher {
            gates: DashMap::new(),
            timeout,
        }
    }

    /// The caller's deadline for one refresh.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Refreshes OAuth profile `id` unless someone else already did: at most one call to the token
    /// endpoint per credential at a time, in this process, on this host, and (with a shared lock)
    /// across hosts. Ends within the refresher's timeout; a failure leaves no lock held and is noted in
    /// the store (a refused refresh token disables the profile as `auth_permanent`).
    #[allow(
        clippy::disallowed_methods,
        reason = "a deadline on real time, not the injected clock"
    )]
    pub fn refresh(&self, t: Target<'_>, id: &str) -> Result<Refreshed, RefreshError> {
        let started = Instant::now();
        let left = || self.timeout.saturating_sub(started.elapsed());
        let gate = Arc::clone(
            &self
                .gates
                .entry(format!("{}\0{id}", t.store.location()))
                .or_default(),
        );
        let _in_process = gate.lock().unwrap_or_else(|e| e.into_inner());
        let profile = match check(t, id)? {
            Checked::Refresh(p) => p,
            Checked::Done(r) => return Ok(r),
        };
        let store_err = |source: StoreError| RefreshError::Store {
            id: id.to_owned(),
            source: Box::new(source),
        };
        let name = lock_name(profile.provider.as_str(), id);
        let _across = t
            .lock
            .acquire(&name, LOCK_LEASE, left())
            .map_err(store_err)?;
        // Another process may have refreshed while this one waited for the lock.
        let profile = match check(t, id)? {
            Checked::Refresh(p) => p,
            Checked::Done(r) => return Ok(r),
        };
        let remaining = left();
        if remaining.is_zero() {
            return Err(store_err(StoreError::LockTimeout {
                path: name.into(),
                holder: "the refresh lock was taken too late".into(),
                waited_ms: self.timeout.as_millis() as u64,
            }));
        }
        let answer = call_endpoint(t, &profile, remaining);
        settle(t, &profile, answer)
    }
}

/// The state of a credential under the gates.
enum Checked {
    /// Refresh this profile.
    Refresh(Box<Profile>),
    /// Nothing to call: the result is already there.
    Done(Refreshed),
}

/// Reads profile `id` now and decides whether it still needs a refresh.
fn check(t: Target<'_>, id: &str) -> Result<Checked, RefreshError> {
    let store = t.store.snapshot().map_err(|source| RefreshError::Store {
        id: id.to_owned(),
        source: Box::new(source),
    })?;
    let not = |why: &str| RefreshError::NotRefreshable {
        id: id.to_owned(),
        why: why.to_owned(),
    };
    let Some(p) = store.value.profiles.get(id) else {
        return Err(not("it is not in the store any more"));
    };
    match due(p, t.clock.now_ms()) {
        Due::Fresh => match &p.secret {
            Some(access) => Ok(Checked::Done(Refreshed::ByOther {
                access: access.clone(),
                expires: p.expires,
            })),
            None => Err(not("it holds no access token")),
        },
        Due::Refresh => Ok(Checked::Refresh(Box::new((**p).clone()))),
        Due::Backoff(note) => Err(RefreshError::RecentFailure {
            id: id.to_owned(),
            code: note.error.unwrap_or_else(|| "unknown".into()),
        }),
        Due::Reauth => Err(not(&format!(
            "{} refused its refresh token; log in again with `modelauth models auth login --provider {}`",
            p.provider, p.provider
        ))),
        Due::Fenced => Err(not(
            "OpenClaw is refreshing it (its refresh fence is in the store); modelauth waits for that refresh instead of sending the marker",
        )),
        Due::CannotRefresh => Err(not(&format!(
            "it has no refresh token, or modelauth knows no token endpoint for {} (it refreshes {}); log in again",
            p.provider,
            super::providers::provider_names()
        ))),
    }
}

/// POSTs the refresh grant of `p` to its provider's endpoint.
fn call_endpoint(
    t: Target<'_>,
    p: &Profile,
    timeout: Duration,
) -> Result<token::TokenSet, TokenError> {
    let table = provider(p.provider.as_str()).expect("due() checked the provider");
    let endpoints = table.endpoints(t.env);
    let refresh = p.refresh.as_ref().expect("due() checked the refresh token");
    let mut fields = vec![
        ("grant_type", "refresh_token"),
        ("client_id", table.client_id),
        ("refresh_token", refresh.expose_secret()),
    ];
    if let Some(secret) = table.client_secret {
        fields.push(("client_secret", secret));
    }
    tracing::info!(profile = %p.id, endpoint = %endpoints.token_url, "refreshing OAuth access token");
    token::request(
        table,
        &endpoints.token_url,
        &fields,
        timeout,
        t.clock.now_ms(),
    )
}

/// Writes the endpoint's answer to the store, in one change: new tokens and a success note, or a
/// failure note with its cooldown (a refused refresh token disables the profile as `auth_permanent`;
/// any other failure of an expired token cools it down so the resolver tries the next profile).
fn settle(
    t: Target<'_>,
    p: &Profile,
    answer: Result<token::TokenSet, TokenError>,
) -> Result<Refreshed, RefreshError> {
    let now = t.clock.now_ms();
    let old_fp = p.refresh.as_ref().map(Secret::fingerprint);
    let location = t.store.location();
    let id = p.id.as_str();
    let store_err = |e: ReportError| RefreshError::Store {
        id: id.to_owned(),
        source: Box::new(match e {
            ReportError::Store(s) => s,
            other => StoreError::Conflict {
                path: location.clone().into(),
                what: other.to_string(),
            },
        }),
    };
    match answer {
        Ok(tokens) => {
            let note = RefreshNote {
                at: now,
                ok: true,
                error: None,
                permanent: false,
                refresh_fingerprint: tokens.refresh.as_ref().map(Secret::fingerprint).or(old_fp),
            };
            let mut found = false;
            t.store
                .edit(&mut |e| {
                    found = e.set_oauth_tokens(
                        id,
                        &tokens.access,
                        tokens.refresh.as_ref(),
                        tokens.expires_ms,
                    );
                    if found {
                        e.set_refresh_note(id, &note);
                    }
                    Ok(())
                })
                .map_err(store_err)?;
            if !found {
                return Err(RefreshError::NotRefreshable {
                    id: id.to_owned(),
                    why: "it was removed while it was being refreshed".into(),
                });
            }
            tracing::info!(
                profile = id,
                expires = tokens.expires_ms,
                "OAuth access token refreshed"
            );
            Ok(Refreshed::Refreshed {
                access: tokens.access,
                expires: tokens.expires_ms,
            })
        }
        Err(source) => settle_failure(t, p, source, now, old_fp, &store_err),
    }
}

/// [`settle`] for a failed refresh: the failure note, and the cooldown it implies.
fn settle_failure(
    t: Target<'_>,
    p: &Profile,
    source: TokenError,
    now: i64,
    old_fp: Option<String>,
    store_err: &dyn Fn(ReportError) -> RefreshError,
) -> Result<Refreshed, RefreshError> {
    let id = p.id.as_str();
    let location = t.store.location();
    let note = RefreshNote {
        at: now,
        ok: false,
        error: Some(source.code()),
        permanent: source.is_permanent(),
        refresh_fingerprint: old_fp,
    };
    let cooldown = if source.is_permanent() {
        Some(FailureReason::AuthPermanent)
    } else {
        p.is_expired(now).then_some(FailureReason::Unknown)
    };
    t.store
        .edit(&mut |e| {
            if e.set_refresh_note(id, &note)
                && let Some(reason) = cooldown
            {
                let outcome = Outcome::Failure {
                    reason,
                    retry_after_ms: None,
                };
                record_in(e, &location, id, None, &outcome.into(), now)?;
            }
            Ok(())
        })
        .map_err(store_err)?;
    tracing::warn!(profile = id, error = %source, "OAuth refresh failed");
    Err(RefreshError::Token {
        id: id.to_owned(),
        source: Box::new(source),
    })
}

/// The name of the refresh lock of `profile` of `provider`: OpenClaw's own (`lock-` and two FNV-1a
/// 64-bit digests of the JSON `[provider, profile]`), so that modelauth and a running OpenClaw never
/// refresh the same credential at once. Its file is `<state>/locks/oauth-refresh/<name>.lock`.
pub fn lock_name(provider: &str, profile: &str) -> String {
    let key = serde_json::to_string(&[provider, profile]).expect("strings serialise");
    let prime: u64 = 1_099_511_628_211;
    let (mut left, mut right) = (
        14_695_981_039_346_656_037_u64,
        11_160_318_154_034_397_263_u64,
    );
    for byte in key.bytes() {
        let octet = u64::from(byte);
        left = (left ^ octet).wrapping_mul(prime);
        right = (right ^ octet.wrapping_add(11_400_714_819_323_198_485)).wrapping_mul(prime);
    }
    format!("lock-{left:016x}{right:016x}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_lock_name_is_openclaws() {
        // Computed with OpenClaw 2026.9.6's `resolveOAuthRefreshLockPath` digest under Node.
        assert_eq!(
            super::lock_name("anthropic", "anthropic:me@example.com"),
            "lock-6e2d316773af5b3040dd3dff1645207c"
        );
    }
}

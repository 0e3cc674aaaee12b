//! Per-profile and per-provider state for `/model status`, `models status`, `models auth list` and
//! `--check` (SPEC §6). Holds no secret: only ids, kinds, times and reasons.

use serde::Serialize;

use crate::config::{Config, Env};
use crate::resolver::{self, Choice, ResolveError, ResolveRequest, short_duration};
use crate::store::{AuthProfiles, CredentialKind, FailureReason, Profile, ProviderId, UsageStats};

/// 24 hours in ms: tokens expiring sooner are `expiring`.
pub const EXPIRING_MS: i64 = 24 * 3600 * 1000;

/// The state of one profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Usable.
    Ok,
    /// A token or OAuth login expiring within 24 h.
    Expiring,
    /// Expired (an OAuth access token counts even when a refresh token exists).
    Expired,
    /// No key or token stored.
    Missing,
    /// Cooling down.
    Cooldown,
    /// Disabled (billing, auth_permanent).
    Disabled,
    /// Stored but unreadable (a field of the wrong type); never used, and `--check` fails.
    Invalid,
    /// An OAuth login whose refresh token the provider refused: "re-auth needed" until a new login.
    Reauth,
    /// A secret reference that does not resolve now (skipped until it does; nothing recorded).
    Unresolved,
    /// OpenClaw is refreshing this login (its refresh fence is in the store): used once it settles.
    Refreshing,
}

impl State {
    /// The word views print: `ok`, `expiring`, `re-auth needed`, `unresolved ref`, …
    pub fn label(self) -> &'static str {
        match self {
            State::Ok => "ok",
            State::Expiring => "expiring",
            State::Expired => "expired",
            State::Missing => "missing",
            State::Invalid => "invalid",
            State::Reauth => "re-auth needed",
            State::Cooldown => "cooldown",
            State::Disabled => "disabled",
            State::Unresolved => "unresolved",
            State::Refreshing => "refreshing",
        }
    }
}

/// What to do about a login whose refresh OpenClaw recorded as failed (its failed fence).
pub const FENCE_FAILED_HINT: &str =
    "re-auth needed: OpenClaw's refresh of this login failed; log in again (openclaw models auth login, or modelauth models auth login --provider <provider>)";

/// What to do about a [`State::Reauth`] profile.
pub const REAUTH_HINT: &str =
    "re-auth needed: the provider refused the refresh token; log in again with modelauth models auth login --provider <provider>";

/// What modelauth noted of an OAuth login's last refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LastRefresh {
    /// When it ended, ms.
    pub at: i64,
    /// Whether it succeeded.
    pub ok: bool,
    /// Its error code, when it failed (`invalid_grant`, `HTTP 503`, `network`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl LastRefresh {
    /// The view of a stored refresh note.
    fn of(n: &crate::store::RefreshNote) -> LastRefresh {
        LastRefresh {
            at: n.at,
            ok: n.ok,
            error: n.error.clone(),
        }
    }
}

/// One profile's status, as views print it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileStatus {
    /// The id.
    pub id: String,
    /// The provider.
    pub provider: String,
    /// `api_key`, `token` or `oauth`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The state.
    pub state: State,
    /// Expiry, ms (absent: does not expire).
    pub expires: Option<i64>,
    /// End of the cooldown or disable window, ms.
    pub until: Option<i64>,
    /// Why it cools down or is disabled.
    pub reason: Option<&'static str>,
    /// Model a cooldown is scoped to.
    pub cooldown_model: Option<String>,
    /// Hint for the user (e.g. for `auth_permanent`).
    pub hint: Option<&'static str>,
    /// Why an `invalid` profile cannot be read (`field expires: …`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// For an OAuth login: whether modelauth can refresh it (a refresh token, a known token endpoint,
    /// not refused). An expired access token is still `expired` when it is refreshable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refreshable: Option<bool>,
    /// For an OAuth login: its last refresh by modelauth, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_refresh: Option<LastRefresh>,
    /// The secret reference the profile holds instead of its value (`exec:anthropic/key`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<String>,
    /// Why that reference does not resolve now (never a value), when it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ref_error: Option<String>,
    /// Who pays for its calls: `subscription`, `free` or `metered`.
    pub lane: &'static str,
    /// Its quota windows as the provider last reported them (current ones only) and its ledger.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<crate::store::QuotaState>,
    /// Its last probe (`models status --probe`), when one was kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_probe: Option<crate::gateway::probe_cache::LastProbe>,
}

/// The status of an unreadable stored profile `id` of `provider`.
pub fn invalid_status(id: &str, provider: Option<&ProviderId>, why: &str) -> ProfileStatus {
    ProfileStatus {
        id: id.to_owned(),
        provider: provider.map_or_else(|| "unknown".to_owned(), ToString::to_string),
        kind: "-",
        state: State::Invalid,
        expires: None,
        until: None,
        reason: None,
        cooldown_model: None,
        hint: None,
        problem: Some(why.to_owned()),
        refreshable: None,
        last_refresh: None,
        secret_ref: None,
        ref_error: None,
        lane: "-",
        quota: None,
        last_probe: None,
    }
}

/// True when modelauth's last refresh of this login failed (then its expiry matters again).
fn refresh_failed(p: &Profile) -> bool {
    p.refresh_note.as_ref().is_some_and(|n| !n.ok)
}

/// The status of profile `p` with `stats` at `now`. Windows are the resolver's
/// ([`resolver::blocked_until`]): providers that never cool down show none, and a cooldown scoped to
/// one model is shown with that model.
pub fn profile_status(
    p: &Profile,
    stats: &UsageStats,
    now: i64,
    policy: &crate::config::QuotaPolicy,
) -> ProfileStatus {
    let (until, blocked) = resolver::blocked_until(stats, &p.provider, None, now);
    let oauth = p.kind == CredentialKind::OAuth;
    let reauth = oauth && p.needs_reauth();
    let fence = p.fence.as_ref().map(|f| f.is_pending());
    let (state, until, reason) = if let Some(pending) = fence {
        let state = if pending { State::Refreshing } else { State::Reauth };
        (state, None, None)
    } else if !p.has_secret() {
        (State::Missing, None, None)
    } else if reauth {
        (State::Reauth, None, None)
    } else if p.is_expired(now) {
        (State::Expired, None, None)
    } else {
        match blocked {
            Some(resolver::Reason::Disabled { reason, .. }) => {
                (State::Disabled, Some(until), reason)
            }
            Some(resolver::Reason::Cooldown { reason, .. }) => {
                (State::Cooldown, Some(until), reason)
            }
            // A login modelauth refreshes by itself is not "expiring": its short-lived access
            // token would wake the monitoring timer after every refresh (docs/DECISIONS.md).
            _ if p.kind != CredentialKind::ApiKey
                && !(oauth && crate::oauth::can_refresh(p) && !refresh_failed(p))
                && p.expires
                    .is_some_and(|e| e.saturating_sub(now) < EXPIRING_MS) =>
            {
                (State::Expiring, None, None)
            }
            _ => (State::Ok, None, None),
        }
    };
    let refreshable = oauth.then(|| crate::oauth::can_refresh(p) && !reauth);
    let hint = if fence == Some(false) {
        Some(FENCE_FAILED_HINT)
    } else if state == State::Reauth {
        Some(REAUTH_HINT)
    } else if state == State::Expired && refreshable == Some(true) {
        Some("the access token has expired; modelauth refreshes it on its next use")
    } else {
        // Only the Claude-Code-only error (an Anthropic setup token or login used for the API)
        // is fixed by an API key; other permanent refusals are not.
        let claude_code_token =
            p.provider.as_str() == "anthropic" && p.kind != CredentialKind::ApiKey;
        (reason == Some(FailureReason::AuthPermanent) && claude_code_token)
            .then_some(resolver::AUTH_PERMANENT_HINT)
    };
    ProfileStatus {
        id: p.id.clone(),
        provider: p.provider.to_string(),
        kind: p.kind.as_str(),
        state,
        expires: p.expires,
        until,
        reason: reason.map(FailureReason::as_str),
        cooldown_model: if state == State::Cooldown {
            stats.cooldown_model.clone()
        } else {
            None
        },
        hint,
        problem: None,
        refreshable,
        last_refresh: p.refresh_note.as_ref().filter(|_| oauth).map(LastRefresh::of),
        secret_ref: p.secret_ref.as_ref().map(|r| r.label()),
        ref_error: None,
        lane: policy.lane_of(&p.id, p.kind).as_str(),
        quota: current_quota(stats, now),
        last_probe: None,
    }
}

/// The quota record of `stats` with only the windows that have not reset by `now`.
fn current_quota(stats: &UsageStats, now: i64) -> Option<crate::store::QuotaState> {
    let mut q = stats.quota.as_deref()?.clone();
    q.windows.retain(|w| w.reset_at > now);
    Some(q)
}

/// One line on a profile's quota and ledger for text views: `5h 95% (resets in 37m), 7d 40%;
/// 12 calls, 1 failed, 34000 in / 5000 out tokens`. `None` when nothing was reported.
pub fn quota_line(q: &crate::store::QuotaState, now: i64) -> Option<String> {
    let windows: Vec<String> = q
        .windows
        .iter()
        .filter(|w| w.reset_at > now)
        .map(|w| {
            let used = w.used_ppm().map_or_else(String::new, |u| format!(" {}%", u / 10_000));
            let status = match w.status {
                Some(crate::store::WindowStatus::Rejected) => " rejected",
                Some(crate::store::WindowStatus::AllowedWarning) => " warning",
                _ => "",
            };
            let model = w.model.as_deref().map_or_else(String::new, |m| format!(" ({m})"));
            let reset = short_duration(w.reset_at.saturating_sub(now));
            format!("{}{model}{used}{status}, resets in {reset}", w.name)
        })
        .collect();
    let t = &q.total;
    if windows.is_empty() && t.calls == 0 {
        return None;
    }
    let mut line = windows.join("; ");
    if t.calls > 0 {
        if !line.is_empty() {
            line.push_str(" — ");
        }
        line.push_str(&format!(
            "{} calls, {} failed, {} in / {} out tokens ({} cached)",
            t.calls,
            t.failed(),
            t.tokens.input,
            t.tokens.output,
            t.tokens.cache_read
        ));
    }
    Some(line)
}

/// The auth label of `/model status`: profiles in resolution order as `id=<type> (flags)`, or the
/// environment/config source, never key material.
pub fn auth_label(
    store: &AuthProfiles,
    config: &Config,
    env: &Env,
    provider: &ProviderId,
    session: Option<&crate::session::Session>,
    now: i64,
    quota: resolver::QuotaAsk<'_>,
) -> String {
    let pin_state = session.and_then(|s| s.pin.as_ref());
    let pin = pin_state.map(|p| &*p.profile);
    // "next" is what the session's next request uses: the resolver with the session's pin.
    let req = ResolveRequest {
        unresolved: &[],
        provider,
        model: None,
        pin: pin_state.map(|p| resolver::PinView {
            profile: &p.profile,
            source: p.source,
            compaction_at_pin: p.compaction_at_pin,
            order_hash: (p.order_hash != 0).then_some(p.order_hash),
            rotate: p.rotate,
        }),
        compaction_count: session.map_or(0, |s| s.compaction_count),
        now_ms: now,
        quota,
    };
    let candidates = match resolver::resolve(store, config, env, &req) {
        Ok(r) => match r.choice {
            Choice::Key { source, .. } => return source,
            Choice::Profile(_) => r.candidates,
        },
        Err(ResolveError::NoCredentials { .. }) => return "none".to_owned(),
        Err(_) => {
            // Nothing usable: still list every profile of the provider with its problem.
            let mut ids: Vec<&Profile> = store.of_provider(provider).collect();
            ids.sort_by_key(|p| &p.id);
            return ids
                .iter()
                .map(|p| profile_label(store, p, false, pin, now, provider, quota.policy))
                .collect::<Vec<_>>()
                .join(", ");
        }
    };
    candidates
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let p = store.profiles.get(&*c.id)?;
            Some(profile_label(
                store,
                p,
                i == 0 && c.usable,
                pin,
                now,
                provider,
                quota.policy,
            ))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `id=<type> (flags)` for one profile.
fn profile_label(
    store: &AuthProfiles,
    p: &Profile,
    next: bool,
    pin: Option<&str>,
    now: i64,
    provider: &ProviderId,
    policy: &crate::config::QuotaPolicy,
) -> String {
    let st = profile_status(p, &store.usage_of(&p.id), now, policy);
    let mut flags: Vec<String> = Vec::new();
    if next {
        flags.push("next".into());
    }
    if pin == Some(p.id.as_str()) {
        flags.push("pinned".into());
    }
    if store.last_good.get(provider).map(String::as_str) == Some(p.id.as_str()) {
        flags.push("lastGood".into());
    }
    if let Some(r) = &st.secret_ref {
        flags.push(format!("ref {r}"));
    }
    match st.state {
        State::Unresolved | State::Refreshing => flags.push(st.state.label().into()),
        State::Cooldown => flags.push(format!(
            "cooldown {}",
            short_duration(st.until.unwrap_or(now).saturating_sub(now))
        )),
        State::Disabled => flags.push(format!(
            "disabled {} {}",
            st.reason.unwrap_or("unknown"),
            short_duration(st.until.unwrap_or(now).saturating_sub(now))
        )),
        State::Expired => flags.push("expired".into()),
        State::Reauth => flags.push("re-auth needed".into()),
        State::Missing => flags.push("missing".into()),
        State::Invalid => flags.push("invalid".into()),
        State::Ok | State::Expiring => {
            if let Some(e) = p.expires {
                flags.push(format!("exp {}", short_duration(e.saturating_sub(now))));
            }
        }
    }
    if let Some(last) = st.last_refresh.as_ref().filter(|l| !l.ok && st.state != State::Reauth) {
        flags.push(format!(
            "refresh failed {} ago: {}",
            short_duration(now.saturating_sub(last.at)),
            last.error.as_deref().unwrap_or("unknown")
        ));
    }
    let id = crate::store::display_id(&p.id);
    if flags.is_empty() {
        format!("{id}={}", p.kind)
    } else {
        format!("{id}={} ({})", p.kind, flags.join(", "))
    }
}

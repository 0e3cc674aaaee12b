//! `doctor`'s checks of one agent's credential store (split from `doctor.rs`).

use crate::interpreter::status::{State, profile_status};
use crate::resolver::{format_time, short_duration};
use crate::store::{AgentId, AuthProfiles, CredentialKind, ProviderId};

use super::Gateway;
use super::finding::{Finding, Fix, Severity};

/// Checks one agent's store: its orders, each profile's state, and keys in the environment that
/// tools reading it would bill instead of a token or login.
pub(super) fn check_store(
    agent: &AgentId,
    store: &AuthProfiles,
    g: &Gateway,
    now: i64,
    out: &mut Vec<Finding>,
) {
    check_orders(agent, store, out);
    check_profiles(agent, store, now, out);
    check_env_shadow(agent, store, g, out);
}

/// Order entries that name missing profiles, another provider's, or one profile twice.
fn check_orders(agent: &AgentId, store: &AuthProfiles, out: &mut Vec<Finding>) {
    for (provider, ids) in &store.order {
        let dangling: Vec<String> = ids
            .iter()
            .filter(|id| !store.profiles.contains_key(*id))
            .cloned()
            .collect();
        if !dangling.is_empty() {
            out.push(Finding::new(
                Severity::Error,
                format!(
                    "agent {agent}: order for {provider} names missing profile(s) {}",
                    dangling.join(", ")
                ),
                Some(Fix::DropOrderEntries(
                    agent.clone(),
                    provider.clone(),
                    dangling,
                )),
            ));
        }
    }
    for (provider, ids) in &store.order {
        let foreign: Vec<&str> = ids
            .iter()
            .filter(|id| {
                store
                    .profiles
                    .get(*id)
                    .is_some_and(|p| &p.provider != provider)
            })
            .map(String::as_str)
            .collect();
        if !foreign.is_empty() {
            out.push(Finding::error(format!(
                "agent {agent}: order for {provider} names profile(s) of another provider: {}; they are never used for {provider} \
                 (modelauth models auth order set --provider {provider} <ids> or order clear)",
                foreign.join(", ")
            )));
        }
        let mut seen = std::collections::HashSet::new();
        let repeated: Vec<&str> = ids
            .iter()
            .filter(|id| !seen.insert(id.as_str()))
            .map(String::as_str)
            .collect();
        if !repeated.is_empty() {
            out.push(Finding::warning(format!(
                "agent {agent}: order for {provider} names {} more than once; only the first place counts",
                repeated.join(", ")
            )));
        }
    }
}

/// Each profile's state: windows past the maximum, expiry, a refused refresh, no secret.
fn check_profiles(agent: &AgentId, store: &AuthProfiles, now: i64, out: &mut Vec<Finding>) {
    for p in store.profiles.values() {
        let usage = store.usage_of(&p.id);
        let longest = usage
            .cooldown_until
            .max(usage.disabled_until)
            .max(usage.blocked_until);
        if longest > now.saturating_add(crate::store::MAX_WINDOW_MS) {
            out.push(Finding::warning(format!(
                "agent {agent}: {} has a cooldown/disable window ending {} — beyond the 24 h maximum; \
                 modelauth ends it 24 h after its failure (a success or `models auth report {} --outcome success` clears it)",
                p.id,
                format_time(longest),
                p.id
            )));
        }
        let st = profile_status(p, &usage, now, &crate::config::QuotaPolicy::default());
        match st.state {
            State::Expired if st.refreshable == Some(true) => out.push(Finding::warning(format!(
                "agent {agent}: {} has an expired access token; modelauth refreshes it on its next use",
                p.id
            ))),
            State::Expired => out.push(Finding::error(format!(
                "agent {agent}: {} ({}) expired at {}; paste a new one with modelauth models auth paste-token --provider {}",
                p.id,
                p.kind,
                format_time(p.expires.unwrap_or(0)),
                p.provider
            ))),
            State::Reauth if p.fence.is_none() => out.push(Finding::error(format!(
                "agent {agent}: {} needs a new login: {} refused its refresh token ({}); run modelauth models auth login --provider {} --agent {agent}",
                p.id,
                p.provider,
                p.refresh_note
                    .as_ref()
                    .and_then(|n| n.error.as_deref())
                    .unwrap_or("rejected"),
                p.provider
            ))),
            State::Missing => out.push(Finding::error(format!(
                "agent {agent}: {} has no secret; store one with modelauth models auth add --provider {} --profile-id {}",
                p.id, p.provider, p.id
            ))),
            State::Expiring => out.push(Finding::warning(format!(
                "agent {agent}: {} expires in {}",
                p.id,
                short_duration(p.expires.unwrap_or(now).saturating_sub(now))
            ))),
            State::Disabled if st.hint.is_some() => out.push(Finding::error(format!(
                "agent {agent}: {} is disabled (auth_permanent). {}",
                p.id,
                st.hint.unwrap_or_default()
            ))),
            _ => {}
        }
    }
}

/// An environment key beside token/OAuth profiles of the same provider.
fn check_env_shadow(agent: &AgentId, store: &AuthProfiles, g: &Gateway, out: &mut Vec<Finding>) {
    let providers: std::collections::BTreeSet<&ProviderId> = store
        .profiles
        .values()
        .filter(|p| p.kind != CredentialKind::ApiKey)
        .map(|p| &p.provider)
        .collect();
    for provider in providers {
        if let Some(k) = g.env().provider_keys(provider).first() {
            out.push(Finding::warning(format!(
                "agent {agent}: {} is set while {provider} has token/OAuth profiles; tools that read the environment would bill that key instead",
                k.label.trim_start_matches("env: ")
            )));
        }
    }
}

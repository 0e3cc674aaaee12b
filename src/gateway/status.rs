//! The status view of one agent (`models status`, `--check`, `GET /status`): every provider in use or
//! with credentials, its profiles in resolution order with their state, and the check verdict
//! (SPEC §6). Holds no secret.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::interpreter::models::{WELL_KNOWN, normalise_ref, split_ref};
use crate::interpreter::status::{ProfileStatus, State, profile_status};
use crate::resolver::{ResolveRequest, resolve};
use crate::store::{CredentialKind, ProviderId};

use super::{Agent, AgentError};

/// One provider in the status view.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderStatus {
    /// Provider id.
    pub provider: String,
    /// True when the default model or a fallback uses it.
    pub in_use: bool,
    /// Where the next credential comes from (`profile <id>`, `env: NAME`, `config`), or `None`.
    pub source: Option<String>,
    /// Why nothing can be used, when so.
    pub problem: Option<String>,
    /// Its profiles in resolution order.
    pub profiles: Vec<ProfileStatus>,
    /// Environment variables holding keys for it.
    pub env_keys: Vec<String>,
    /// Set when an environment key would shadow stored token/oauth profiles.
    pub env_shadow_warning: Option<String>,
    /// The order that applies: `orderOverride` (`models auth order set`), `configOrder`
    /// (`auth.order` in config) or `automatic` (every stored profile, round robin).
    pub order_source: &'static str,
    /// The explicit order's ids (absent for `automatic`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<Vec<String>>,
    /// Stored profiles the explicit order leaves out: never chosen for an unpinned session, and not
    /// counted by `--check` (docs/DECISIONS.md).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outside_order: Vec<String>,
    /// True when nothing in the explicit order can be used but a profile it leaves out could (the
    /// problem then says so, with the fix; `doctor` warns).
    #[serde(skip)]
    pub order_leaves_out_the_healthy: bool,
}

/// The whole status view.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// Agent id.
    pub agent: String,
    /// State directory.
    pub state_dir: String,
    /// Default model.
    pub default_model: String,
    /// Fallback models.
    pub fallbacks: Vec<String>,
    /// Aliases as `alias → ref`.
    pub aliases: Vec<(String, String)>,
    /// Providers.
    pub providers: Vec<ProviderStatus>,
    /// The `--check` code: 0 fine, 1 act now, 2 expiring soon.
    pub check: u8,
    /// What made the check code non-zero.
    pub findings: Vec<String>,
    /// Problems of profiles that do not change the check code (in OpenClaw 2026.9.6's state
    /// directories only the profile each provider in use would select counts).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<String>,
    /// The state generation read (`json`, `sqlite`; absent in memory).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layout: Option<String>,
    /// Where the credentials were read from.
    pub store: String,
    /// Set when `--layout json` reads the JSON files of a directory that has OpenClaw's state
    /// database: what this view shows is then not what OpenClaw uses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layout_problem: Option<String>,
    /// Config values of the wrong type that were ignored, each naming the file and key.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub config_warnings: Vec<String>,
    /// Where the routing state lives: `files`, `memory`, or `redis <url> (prefix …)`.
    pub backend: String,
    /// The shared state's server, when the routing state is shared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared: Option<crate::SharedHealth>,
}

/// The finding of a shared state server out of reach: what `status` prints and `--check` counts.
pub fn shared_down(h: &crate::SharedHealth) -> String {
    format!(
        "shared state at {} is unreachable ({}); this instance serves from its last known state and keeps {} change(s) to write back when it returns",
        h.url,
        h.problem.as_deref().unwrap_or("no answer"),
        h.pending
    )
}

/// When nothing in the explicit order can be used but a profile outside it could: the reason, and
/// the command that makes the healthy profile usable again.
fn healthy_outside(
    profiles: &[ProfileStatus],
    outside: &std::collections::HashSet<&str>,
    source: &str,
    provider: &str,
) -> Option<String> {
    let healthy: Vec<&str> = profiles
        .iter()
        .filter(|p| {
            matches!(p.state, State::Ok | State::Expiring) && outside.contains(p.id.as_str())
        })
        .map(|p| p.id.as_str())
        .collect();
    if healthy.is_empty() {
        return None;
    }
    let (what, fix) = if source == "orderOverride" {
        (
            "order override",
            format!("modelauth models auth order clear --provider {provider}"),
        )
    } else {
        (
            "configured order (auth.order)",
            "add it to auth.order in openclaw.json".to_owned(),
        )
    };
    Some(format!(
        "no profile in the {what} can be used now; {} {} healthy but not in the order ({fix})",
        healthy.join(", "),
        if healthy.len() == 1 { "is" } else { "are" }
    ))
}

/// What a profile's state adds to the check: `(1, line)` for a problem to act on now, `(2, line)` for
/// an expiry within 24 hours, `None` for nothing.
fn profile_finding(s: &ProfileStatus) -> Option<(u8, String)> {
    let line = match s.state {
        State::Expired if s.refreshable == Some(true) => format!(
            "profile {} is expired (modelauth will refresh it on its next use)",
            s.id
        ),
        State::Expired => format!("profile {} is expired", s.id),
        State::Missing => format!("profile {} is missing its secret", s.id),
        State::Reauth if s.hint == Some(crate::interpreter::status::FENCE_FAILED_HINT) => format!(
            "profile {} needs a new login (OpenClaw's refresh of it failed): modelauth models auth login --provider {}",
            s.id, s.provider
        ),
        State::Reauth => format!(
            "profile {} needs a new login ({} refused its refresh token): modelauth models auth login --provider {}",
            s.id, s.provider, s.provider
        ),
        State::Invalid => format!(
            "profile {} is invalid ({}); fix the entry in the store",
            s.id,
            s.problem.as_deref().unwrap_or("unreadable")
        ),
        State::Unresolved => format!(
            "profile {}: {}",
            s.id,
            s.ref_error
                .as_deref()
                .unwrap_or("its secret reference does not resolve")
        ),
        State::Expiring => {
            let line = match s.expires {
                Some(at) => format!(
                    "profile {} expires within 24 hours (at {})",
                    s.id,
                    crate::resolver::format_time(at)
                ),
                None => format!("profile {} expires within 24 hours", s.id),
            };
            return Some((2, line));
        }
        _ => return None,
    };
    Some((1, line))
}

/// Computes the status view of `agent`.
pub(crate) fn build(agent: &Agent) -> Result<Status, AgentError> {
    let config = agent.config()?;
    let store = agent.store()?;
    let now = agent.now_ms();
    let default_model = normalise_ref(&config.primary_model(agent.id()));
    let fallbacks: Vec<String> = config
        .fallbacks(agent.id())
        .iter()
        .map(|r| normalise_ref(r))
        .collect();
    let in_use: BTreeSet<String> = std::iter::once(&default_model)
        .chain(&fallbacks)
        .filter_map(|r| split_ref(r))
        .map(|(p, _)| p.to_string())
        .collect();
    let providers = providers_in_view(agent, &store, &config, &in_use);
    let mut report = header(agent, &config, default_model, fallbacks);
    let mut expiring: Vec<String> = Vec::new();
    for name in &providers {
        let Ok(pid) = ProviderId::new(name) else {
            continue;
        };
        let used = in_use.contains(name);
        let (provider, chosen) = provider_status(agent, &store, &config, &pid, used, now);
        // SPEC: any profile's problem counts for --check; OpenClaw 2026.9.6: only the selected one's.
        let expiry_counts = |id: &str| {
            agent.layout() != Some(super::StateLayout::Sqlite)
                || (used && chosen.as_deref() == Some(id))
        };
        let outside: std::collections::HashSet<&str> =
            provider.outside_order.iter().map(String::as_str).collect();
        for s in provider
            .profiles
            .iter()
            .filter(|s| !outside.contains(s.id.as_str()))
        {
            let Some((code, line)) = profile_finding(s) else {
                continue;
            };
            match (expiry_counts(&s.id), code) {
                // OpenClaw 2026.9.6 counts only the selected profile: a spare's problem is a notice.
                (false, _) => report.notices.push(line),
                (true, 1) => {
                    report.findings.push(line);
                    report.check = 1;
                }
                (true, _) => expiring.push(line),
            }
        }
        if used && let Some(problem) = &provider.problem {
            report.findings.push(format!("{name} (in use): {problem}"));
            report.check = 1;
        }
        report.providers.push(provider);
    }
    if report.check == 0 && !expiring.is_empty() {
        report.check = 2;
        report.findings.extend(expiring);
    }
    Ok(report)
}

/// Every provider the view shows: those in use, those with stored or configured profiles (valid or
/// not), and the well-known ones with a key in the environment.
fn providers_in_view(
    agent: &Agent,
    store: &crate::store::AuthProfiles,
    config: &crate::config::Config,
    in_use: &BTreeSet<String>,
) -> BTreeSet<String> {
    let mut providers: BTreeSet<String> = in_use.clone();
    providers.extend(store.profiles.values().map(|p| p.provider.to_string()));
    providers.extend(
        store
            .invalid
            .values()
            .filter_map(|(p, _)| p.as_ref().map(ToString::to_string)),
    );
    providers.extend(
        config
            .auth_profiles
            .values()
            .map(|m| m.provider.to_string()),
    );
    for p in WELL_KNOWN {
        if let Ok(id) = ProviderId::new(p)
            && !agent.env().provider_keys(&id).is_empty()
        {
            providers.insert(p.to_owned());
        }
    }
    providers
}

/// The view without providers: where it was read from, the models, and the findings that do not
/// belong to one provider (a layout problem, a shared state out of reach).
fn header(
    agent: &Agent,
    config: &crate::config::Config,
    default_model: String,
    fallbacks: Vec<String>,
) -> Status {
    let mut report = Status {
        agent: agent.id().to_string(),
        state_dir: agent
            .state_dir()
            .map_or_else(|| "memory".to_owned(), |s| s.display().to_string()),
        default_model,
        fallbacks,
        aliases: config
            .aliases()
            .map(|(a, r)| (a.to_owned(), r.to_owned()))
            .collect(),
        providers: Vec::new(),
        check: 0,
        findings: Vec::new(),
        notices: Vec::new(),
        layout: agent.layout().map(|l| l.as_str().to_owned()),
        store: agent.store_location(),
        config_warnings: config
            .problems
            .iter()
            .map(|p| format!("{}: {p}", agent.config_location()))
            .collect(),
        backend: agent.backend(),
        shared: agent.shared_health(),
        layout_problem: agent
            .state_dir()
            .filter(|_| agent.layout() == Some(super::StateLayout::Json))
            .and_then(super::sqlite_db_of)
            .map(|db| {
                format!(
                    "{} exists: OpenClaw 2026.9+ keeps this directory's credentials and sessions there, but --layout json reads the JSON files, so this view is not what OpenClaw uses (run modelauth doctor)",
                    db.display()
                )
            }),
    };
    if let Some(problem) = &report.layout_problem {
        report.findings.push(problem.clone());
        report.check = 1;
    }
    if let Some(h) = report.shared.as_ref().filter(|h| !h.up) {
        report.findings.push(shared_down(h));
        report.check = 1;
    }
    report
}

/// One provider's part of the view, and the profile it would choose now (if any).
fn provider_status(
    agent: &Agent,
    store: &crate::store::AuthProfiles,
    config: &crate::config::Config,
    pid: &ProviderId,
    used: bool,
    now: i64,
) -> (ProviderStatus, Option<String>) {
    let name = pid.as_str();
    let unresolved = agent.unresolved_refs(store, pid, config, true);
    let req = ResolveRequest {
        unresolved: &unresolved,
        provider: pid,
        model: None,
        pin: None,
        compaction_count: 0,
        now_ms: now,
        quota: agent.quota_ask(Default::default()),
    };
    let resolved = resolve(store, config, agent.env(), &req);
    let (source, problem, order): (Option<String>, Option<String>, Vec<String>) = match &resolved {
        Ok(r) => (
            Some(r.source_label()),
            None,
            r.candidates.iter().map(|c| c.id.to_string()).collect(),
        ),
        Err(e) => (None, Some(e.to_string()), Vec::new()),
    };
    let chosen = resolved
        .as_ref()
        .ok()
        .and_then(|r| r.chosen_profile())
        .map(str::to_owned);
    let (order_source, explicit) = match (store.order.get(pid), config.auth_order.get(pid)) {
        (Some(ids), _) => ("orderOverride", Some(ids.clone())),
        (None, Some(ids)) => ("configOrder", Some(ids.clone())),
        (None, None) => ("automatic", None),
    };
    let listed: std::collections::HashSet<&str> =
        explicit.iter().flatten().map(String::as_str).collect();
    let outside_order: Vec<String> = match &explicit {
        Some(_) => store
            .of_provider(pid)
            .filter(|p| !listed.contains(p.id.as_str()))
            .map(|p| p.id.clone())
            .collect(),
        None => Vec::new(),
    };
    let profiles = profiles_in_order(agent, store, config, pid, &order, now);
    let (env_keys, env_shadow_warning) = env_keys_of(agent, store, pid);
    let outside: std::collections::HashSet<&str> =
        outside_order.iter().map(String::as_str).collect();
    let left_out = problem
        .as_ref()
        .and_then(|_| healthy_outside(&profiles, &outside, order_source, name));
    let order_leaves_out_the_healthy = left_out.is_some();
    let status = ProviderStatus {
        provider: name.to_owned(),
        in_use: used,
        source,
        problem: left_out.or(problem),
        profiles,
        env_keys,
        env_shadow_warning,
        order_source,
        order: explicit,
        outside_order,
        order_leaves_out_the_healthy,
    };
    (status, chosen)
}

/// The environment variables holding keys for `pid`, and the warning when they would shadow its
/// token/OAuth profiles for tools that read the environment.
fn env_keys_of(
    agent: &Agent,
    store: &crate::store::AuthProfiles,
    pid: &ProviderId,
) -> (Vec<String>, Option<String>) {
    let name = pid.as_str();
    let env_keys: Vec<String> = agent
        .env()
        .provider_keys(pid)
        .into_iter()
        .map(|k| k.label.trim_start_matches("env: ").to_owned())
        .collect();
    let shadowed = store
        .of_provider(pid)
        .any(|p| p.kind != CredentialKind::ApiKey);
    let env_shadow_warning = (shadowed && !env_keys.is_empty()).then(|| {
        format!(
            "{} is set while {name} has token/OAuth profiles; modelauth uses the profiles, but tools that read the environment directly would bill the API key instead",
            env_keys.join(", ")
        )
    });
    (env_keys, env_shadow_warning)
}

/// The provider's profiles (and unreadable entries) with their state, in resolution `order` (those
/// it does not name last).
fn profiles_in_order(
    agent: &Agent,
    store: &crate::store::AuthProfiles,
    config: &crate::config::Config,
    pid: &ProviderId,
    order: &[String],
    now: i64,
) -> Vec<ProfileStatus> {
    let probes = agent
        .state_dir()
        .map(|d| super::probe_cache::read(&super::probe_cache::path_in(d), agent.id().as_str()))
        .unwrap_or_default();
    let mut profiles: Vec<ProfileStatus> = store
        .of_provider(pid)
        .map(|p| {
            let mut st = profile_status(p, &store.usage_of(&p.id), now, agent.policy());
            st.last_probe = probes.get(&p.id).cloned();
            if let Some(Err(e)) = agent.resolve_ref_in(p, config) {
                st.ref_error = Some(e.to_string());
                if matches!(st.state, State::Ok | State::Expiring) {
                    st.state = State::Unresolved;
                }
            }
            st
        })
        .chain(
            store
                .invalid_of(pid)
                .map(|(id, why)| crate::interpreter::status::invalid_status(id, Some(pid), why)),
        )
        .collect();
    // Positions by id: sorting thousands of profiles stays linear-logarithmic.
    let place: std::collections::HashMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    profiles.sort_by_cached_key(|s| place.get(s.id.as_str()).copied().unwrap_or(usize::MAX));
    profiles
}

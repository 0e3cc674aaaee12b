//! `models status [--check]` and `models list`.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::interpreter::models::{Catalogue, WELL_KNOWN, normalise_ref, split_ref};
use crate::interpreter::status::{ProfileStatus, State, profile_status};
use crate::resolver::{ResolveRequest, resolve};
use crate::store::{CredentialKind, ProviderId};

use super::CliError;
use super::context::Context;
use super::output::{self, paint};

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
}

/// The whole status view.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
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
}

/// Computes the status view of the context's agent.
pub fn build_status(ctx: &Context) -> Result<StatusReport, CliError> {
    let agent = ctx.agent()?;
    let config = agent.config()?;
    let store = agent.store()?;
    let now = ctx.now();
    let default_model = normalise_ref(&config.primary_model(&ctx.agent_id));
    let fallbacks: Vec<String> = config
        .fallbacks(&ctx.agent_id)
        .iter()
        .map(|r| normalise_ref(r))
        .collect();
    let in_use: BTreeSet<String> = std::iter::once(&default_model)
        .chain(&fallbacks)
        .filter_map(|r| split_ref(r))
        .map(|(p, _)| p.to_string())
        .collect();
    let mut providers: BTreeSet<String> = in_use.clone();
    providers.extend(store.profiles.values().map(|p| p.provider.to_string()));
    providers.extend(
        config
            .auth_profiles
            .values()
            .map(|m| m.provider.to_string()),
    );
    for p in WELL_KNOWN {
        if let Ok(id) = ProviderId::new(p)
            && !ctx.env.provider_keys(&id).is_empty()
        {
            providers.insert(p.to_owned());
        }
    }
    let mut report = StatusReport {
        agent: ctx.agent_id.to_string(),
        state_dir: ctx.state.root().display().to_string(),
        default_model,
        fallbacks,
        aliases: config
            .aliases()
            .map(|(a, r)| (a.to_owned(), r.to_owned()))
            .collect(),
        providers: Vec::new(),
        check: 0,
        findings: Vec::new(),
    };
    let mut expiring = false;
    for name in &providers {
        let Ok(pid) = ProviderId::new(name) else {
            continue;
        };
        let req = ResolveRequest {
            provider: &pid,
            model: None,
            pin: None,
            compaction_count: 0,
            now_ms: now,
        };
        let resolved = resolve(&store, &config, &ctx.env, &req);
        let (source, problem, order): (Option<String>, Option<String>, Vec<String>) =
            match &resolved {
                Ok(r) => (
                    Some(r.source_label()),
                    None,
                    r.candidates.iter().map(|c| c.id.to_string()).collect(),
                ),
                Err(e) => (None, Some(e.to_string()), Vec::new()),
            };
        let mut profiles: Vec<ProfileStatus> = store
            .of_provider(&pid)
            .map(|p| profile_status(p, &store.usage_of(&p.id), now))
            .collect();
        profiles.sort_by_key(|s| {
            order
                .iter()
                .position(|id| *id == s.id)
                .unwrap_or(usize::MAX)
        });
        let env_keys: Vec<String> = ctx
            .env
            .provider_keys(&pid)
            .into_iter()
            .map(|k| k.label.trim_start_matches("env: ").to_owned())
            .collect();
        let shadowed = store
            .of_provider(&pid)
            .any(|p| p.kind != CredentialKind::ApiKey);
        let env_shadow_warning = (shadowed && !env_keys.is_empty()).then(|| {
            format!(
                "{} is set while {name} has token/OAuth profiles; modelauth uses the profiles, but tools that read the environment directly would bill the API key instead",
                env_keys.join(", ")
            )
        });
        let used = in_use.contains(name);
        for s in &profiles {
            match s.state {
                State::Expired | State::Missing => {
                    report.findings.push(format!(
                        "profile {} is {}",
                        s.id,
                        if s.state == State::Expired {
                            "expired"
                        } else {
                            "missing its secret"
                        }
                    ));
                    report.check = 1;
                }
                State::Expiring => expiring = true,
                _ => {}
            }
        }
        if used && let Some(problem) = &problem {
            report.findings.push(format!("{name} (in use): {problem}"));
            report.check = 1;
        }
        report.providers.push(ProviderStatus {
            provider: name.clone(),
            in_use: used,
            source,
            problem,
            profiles,
            env_keys,
            env_shadow_warning,
        });
    }
    if report.check == 0 && expiring {
        report.check = 2;
        report
            .findings
            .push("a credential expires within 24 hours".to_owned());
    }
    Ok(report)
}

/// The state word, colored on a terminal.
pub fn state_word(s: State) -> String {
    let (text, color) = match s {
        State::Ok => ("ok", 32),
        State::Expiring => ("expiring", 33),
        State::Expired => ("expired", 31),
        State::Missing => ("missing", 31),
        State::Cooldown => ("cooldown", 33),
        State::Disabled => ("disabled", 31),
    };
    paint(text, color)
}

/// One profile as a text line (no secrets).
pub fn profile_line(s: &ProfileStatus, now: i64) -> String {
    let mut line = format!("  {:<32} {:<8} {}", s.id, s.kind, state_word(s.state));
    if let Some(until) = s.until {
        line.push_str(&format!(
            " until {} ({})",
            crate::resolver::format_time(until),
            output::relative(until, now)
        ));
    }
    if let Some(r) = s.reason {
        line.push_str(&format!(" reason {r}"));
    }
    if let Some(m) = &s.cooldown_model {
        line.push_str(&format!(" model {m}"));
    }
    if let Some(e) = s.expires {
        line.push_str(&format!(
            " expires {} ({})",
            crate::resolver::format_time(e),
            output::relative(e, now)
        ));
    }
    if let Some(h) = s.hint {
        line.push_str(&format!("\n    hint: {h}"));
    }
    line
}

/// `models status [--check]`.
pub fn status(ctx: &Context, check: bool) -> Result<u8, CliError> {
    let report = build_status(ctx)?;
    if ctx.json {
        output::json(&report);
    } else {
        let now = ctx.now();
        println!("Agent: {}", report.agent);
        println!("State dir: {}", report.state_dir);
        println!("Default model: {}", report.default_model);
        if !report.fallbacks.is_empty() {
            println!("Fallbacks: {}", report.fallbacks.join(", "));
        }
        if !report.aliases.is_empty() {
            let list: Vec<String> = report
                .aliases
                .iter()
                .map(|(a, r)| format!("{a} → {r}"))
                .collect();
            println!("Aliases: {}", list.join(", "));
        }
        for p in &report.providers {
            let used = if p.in_use { " (in use)" } else { "" };
            let source = match (&p.source, &p.problem) {
                (Some(s), _) => format!("next: {s}"),
                (None, Some(problem)) => paint(problem, 31),
                (None, None) => String::new(),
            };
            println!("\n[{}]{used} {source}", p.provider);
            for s in &p.profiles {
                println!("{}", profile_line(s, now));
            }
            if !p.env_keys.is_empty() {
                println!("  env keys: {}", p.env_keys.join(", "));
            }
            if let Some(w) = &p.env_shadow_warning {
                println!("  {} {w}", paint("warning:", 33));
            }
        }
        if check {
            let verdict = match report.check {
                0 => "ok".to_owned(),
                _ => report.findings.join("; "),
            };
            println!("\nCheck: {verdict}");
        }
    }
    Ok(if check { report.check } else { 0 })
}

/// `models list [--provider P]`.
pub fn list(ctx: &Context, provider: Option<&str>) -> Result<u8, CliError> {
    let only = provider.map(super::context::provider_arg).transpose()?;
    let agent = ctx.agent()?;
    let config = agent.config()?;
    let store = agent.store()?;
    let catalogue = Catalogue::build(&config, &store, &ctx.env, &ctx.agent_id);
    let rows: Vec<(String, Vec<String>)> = catalogue
        .by_provider
        .iter()
        .filter(|(p, _)| only.as_ref().is_none_or(|o| o.as_str() == p.as_str()))
        .flat_map(|(_, refs)| refs.iter())
        .map(|r| {
            (
                r.clone(),
                catalogue.aliases.get(r).cloned().unwrap_or_default(),
            )
        })
        .collect();
    if ctx.json {
        let items: Vec<_> = rows
            .iter()
            .map(|(r, a)| serde_json::json!({ "model": r, "aliases": a }))
            .collect();
        output::json(&serde_json::json!({ "restricted": catalogue.restricted, "models": items }));
        return Ok(0);
    }
    if rows.is_empty() {
        println!(
            "No models listed{}.",
            only.map(|p| format!(" for {p}")).unwrap_or_default()
        );
    }
    for (r, aliases) in rows {
        if aliases.is_empty() {
            println!("{r}");
        } else {
            println!("{r} ({})", aliases.join(", "));
        }
    }
    if !catalogue.restricted {
        println!("\nNo allowlist is configured: any model of a known provider may be selected.");
    }
    Ok(0)
}

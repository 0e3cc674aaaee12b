//! `doctor [--fix]`: checks files, permissions, orders, expiry, shadowing environment keys and
//! `auth_permanent` profiles; `--fix` repairs permissions and dangling order entries after saying so.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::interpreter::status::{State, profile_status};
use crate::store::atomic::{DIR_MODE, FILE_MODE};
use crate::store::{AgentId, AuthProfiles, CredentialKind, ProviderId};

use super::CliError;
use super::context::Context;
use super::output::{self, paint};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Needs action; makes `doctor` exit 1.
    Error,
    /// Worth knowing.
    Warning,
}

/// A repair `--fix` can make.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fix {
    Chmod(PathBuf, u32),
    DropOrderEntries(AgentId, ProviderId, Vec<String>),
}

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Severity.
    pub severity: Severity,
    /// What is wrong and what to do.
    pub message: String,
    /// True when `--fix` can repair it.
    pub fixable: bool,
    #[serde(skip)]
    fix: Option<Fix>,
}

impl Finding {
    fn error(message: String) -> Finding {
        Finding {
            severity: Severity::Error,
            message,
            fixable: false,
            fix: None,
        }
    }
    fn warning(message: String) -> Finding {
        Finding {
            severity: Severity::Warning,
            message,
            fixable: false,
            fix: None,
        }
    }
    fn fixable(message: String, fix: Fix) -> Finding {
        Finding {
            severity: Severity::Error,
            message,
            fixable: true,
            fix: Some(fix),
        }
    }
}

/// Checks the mode of `path` (when it exists) against `want`.
fn check_mode(path: &Path, want: u32, out: &mut Vec<Finding>) {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        out.push(Finding::fixable(
            format!(
                "{} has mode {mode:o}; it should be {want:o} (others can read it)",
                path.display()
            ),
            Fix::Chmod(path.to_owned(), want),
        ));
    }
}

/// The agents to check: the selected one plus every directory under `agents/`.
fn agents(ctx: &Context) -> Vec<AgentId> {
    let mut ids = vec![ctx.agent_id.clone()];
    if let Ok(dir) = std::fs::read_dir(ctx.state.root().join("agents")) {
        for e in dir.flatten() {
            if let Some(id) = e.file_name().to_str().and_then(|n| AgentId::new(n).ok())
                && !ids.contains(&id)
            {
                ids.push(id);
            }
        }
    }
    ids
}

/// Runs every check.
pub fn diagnose(ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    let root = ctx.state.root();
    if !root.exists() {
        out.push(Finding::warning(format!(
            "state directory {} does not exist yet",
            root.display()
        )));
        return out;
    }
    check_mode(root, DIR_MODE, &mut out);
    let config_path = ctx.state.config_file().path().to_owned();
    check_mode(&config_path, FILE_MODE, &mut out);
    check_mode(&ctx.state.dotenv_path(), FILE_MODE, &mut out);
    let config = match ctx.state.config_file().load() {
        Ok(c) => c,
        Err(e) => {
            out.push(Finding::error(e.to_string()));
            Default::default()
        }
    };
    let now = ctx.now();
    for agent in agents(ctx) {
        for dir in [ctx.state.agent_dir(&agent), ctx.state.sessions_dir(&agent)] {
            check_mode(&dir, DIR_MODE, &mut out);
        }
        let auth = ctx.state.auth_file(&agent);
        let sessions = ctx.state.sessions_file(&agent);
        check_mode(auth.path(), FILE_MODE, &mut out);
        check_mode(sessions.path(), FILE_MODE, &mut out);
        if let Err(e) = sessions.load_document() {
            out.push(Finding::error(e.to_string()));
        }
        let store = match auth.load() {
            Ok(s) => s,
            Err(e) => {
                out.push(Finding::error(e.to_string()));
                continue;
            }
        };
        for w in &store.warnings {
            out.push(Finding::warning(format!("{}: {w}", auth.path().display())));
        }
        check_store(&agent, &store, ctx, now, &mut out);
    }
    for (provider, ids) in &config.auth_order {
        for id in ids
            .iter()
            .filter(|id| !config.auth_profiles.contains_key(*id))
        {
            let in_store = ctx
                .state
                .auth_file(&ctx.agent_id)
                .load()
                .map(|s| s.profiles.contains_key(id))
                .unwrap_or(true);
            if !in_store {
                out.push(Finding::warning(format!(
                    "config auth.order.{provider} names {id}, which no store or auth.profiles entry defines; edit {}",
                    config_path.display()
                )));
            }
        }
    }
    out
}

/// Checks one agent's store.
fn check_store(
    agent: &AgentId,
    store: &AuthProfiles,
    ctx: &Context,
    now: i64,
    out: &mut Vec<Finding>,
) {
    for (provider, ids) in &store.order {
        let dangling: Vec<String> = ids
            .iter()
            .filter(|id| !store.profiles.contains_key(*id))
            .cloned()
            .collect();
        if !dangling.is_empty() {
            out.push(Finding::fixable(
                format!(
                    "agent {agent}: order for {provider} names missing profile(s) {}",
                    dangling.join(", ")
                ),
                Fix::DropOrderEntries(agent.clone(), provider.clone(), dangling),
            ));
        }
    }
    for p in store.profiles.values() {
        let st = profile_status(p, &store.usage_of(&p.id), now);
        match st.state {
            State::Expired => out.push(Finding::error(format!(
                "agent {agent}: {} ({}) expired at {}; paste a new one with modelauth models auth paste-token --provider {}",
                p.id,
                p.kind,
                crate::resolver::format_time(p.expires.unwrap_or(0)),
                p.provider
            ))),
            State::Missing => out.push(Finding::error(format!(
                "agent {agent}: {} has no secret; store one with modelauth models auth add --provider {} --profile-id {}",
                p.id, p.provider, p.id
            ))),
            State::Expiring => out.push(Finding::warning(format!(
                "agent {agent}: {} expires {}",
                p.id,
                output::relative(p.expires.unwrap_or(now), now)
            ))),
            State::Disabled if st.hint.is_some() => out.push(Finding::error(format!(
                "agent {agent}: {} is disabled (auth_permanent). {}",
                p.id,
                st.hint.unwrap_or_default()
            ))),
            _ => {}
        }
    }
    let providers: std::collections::BTreeSet<&ProviderId> = store
        .profiles
        .values()
        .filter(|p| p.kind != CredentialKind::ApiKey)
        .map(|p| &p.provider)
        .collect();
    for provider in providers {
        let keys = ctx.env.provider_keys(provider);
        if let Some(k) = keys.first() {
            out.push(Finding::warning(format!(
                "agent {agent}: {} is set while {provider} has token/OAuth profiles; tools that read the environment would bill that key instead",
                k.label.trim_start_matches("env: ")
            )));
        }
    }
}

/// Applies one repair.
fn apply(ctx: &Context, fix: &Fix) -> Result<(), CliError> {
    match fix {
        Fix::Chmod(path, mode) => {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(*mode)).map_err(
                |source| CliError::Io {
                    what: format!("changing the mode of {}", path.display()),
                    source,
                },
            )
        }
        Fix::DropOrderEntries(agent, provider, ids) => ctx.state.auth_file(agent).update(|edit| {
            let view = edit.view();
            if let Some(current) = view.order.get(provider) {
                let kept: Vec<String> = current
                    .iter()
                    .filter(|i| !ids.contains(i))
                    .cloned()
                    .collect();
                if kept.is_empty() {
                    edit.clear_order(provider);
                } else {
                    edit.set_order(provider, &kept);
                }
            }
            Ok::<_, CliError>(())
        }),
    }
}

/// `doctor [--fix]`.
pub fn run(ctx: &Context, fix: bool) -> Result<u8, CliError> {
    let findings = diagnose(ctx);
    let mut fixed = Vec::new();
    if fix {
        for f in findings.iter().filter(|f| f.fix.is_some()) {
            eprintln!("fixing: {}", f.message);
            if let Some(x) = &f.fix {
                apply(ctx, x)?;
                fixed.push(f.message.clone());
            }
        }
    }
    let remaining = findings
        .iter()
        .filter(|f| f.severity == Severity::Error && !(fix && f.fixable))
        .count();
    if ctx.json {
        output::json(
            &serde_json::json!({ "findings": findings, "fixed": fixed, "ok": remaining == 0 }),
        );
    } else {
        if findings.is_empty() {
            println!(
                "{} no problems found in {}",
                paint("✓", 32),
                ctx.state.root().display()
            );
        }
        for f in &findings {
            let mark = match (f.severity, fix && f.fixable) {
                (_, true) => paint("fixed", 32),
                (Severity::Error, _) => paint("✗", 31),
                (Severity::Warning, _) => paint("!", 33),
            };
            let tail = if f.fixable && !fix {
                " (modelauth doctor --fix repairs this)"
            } else {
                ""
            };
            println!("{mark} {}{tail}", f.message);
        }
    }
    Ok(u8::from(remaining > 0))
}

//! `doctor`: checks the state directory (modes, links, corrupt files), every agent's store (dangling
//! order entries, expired or secret-less profiles, `auth_permanent`), and environment keys that shadow
//! token/OAuth profiles; repairs what can be repaired safely. Holds no secret.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::{Config, StateDir};
use crate::store::atomic::{DIR_MODE, FILE_MODE};
use crate::store::{AgentId, AuthProfiles, ProviderId, StoreError};

use super::{AgentError, Gateway, GatewayError};

pub use super::finding::{Finding, Severity};
use super::finding::{Fix, check_mode};

/// What `doctor` found (and, with `fix`, repaired).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DoctorReport {
    /// Where the state lives.
    pub state_dir: String,
    /// Every finding, in the order checked.
    pub findings: Vec<Finding>,
    /// True when no error remains (after repairs).
    pub ok: bool,
}

impl Gateway {
    /// Runs every check for the state (agent `selected` and every agent directory); with `fix`,
    /// repairs file modes (never through links) and dangling order entries, saying what it changed.
    pub fn doctor(&self, selected: &str, fix: bool) -> Result<DoctorReport, GatewayError> {
        let selected = AgentId::new(selected)?;
        let mut findings = Vec::new();
        let state_dir = match self.state() {
            Some(state) => {
                super::generation::findings(
                    self,
                    state,
                    &agent_ids(state, &selected),
                    &mut findings,
                );
                check_files(state, &selected, &mut findings);
                state.root().display().to_string()
            }
            None => "memory".to_owned(),
        };
        let agents = match self.state() {
            Some(state) => agent_ids(state, &selected),
            None => vec![selected.clone()],
        };
        let mut refresh_copies = Vec::new();
        for id in &agents {
            match self.agent(id.as_str()) {
                Ok(agent) => match agent.store() {
                    Ok(store) => {
                        for w in &store.warnings {
                            findings
                                .push(Finding::warning(format!("{}: {w}", agent.store_location())));
                        }
                        super::doctor_store::check_store(
                            id,
                            &store,
                            self,
                            agent.now_ms(),
                            &mut findings,
                        );
                        check_outside_order(id, &agent, &mut findings);
                        super::doctor_refs::check_refs(id, &agent, &store, &mut findings);
                        refresh_copies.extend(refresh_fingerprints(id, &store));
                    }
                    Err(e) => findings.push(Finding::error(e.to_string())),
                },
                Err(e) => findings.push(Finding::error(e.to_string())),
            }
        }
        findings.push(self.check_shared());
        findings.extend(self.check_daemon_env());
        let inherited = self.layout() == Some(super::StateLayout::Sqlite);
        check_refresh_copies(&refresh_copies, inherited, &mut findings);
        if let Ok(store) = self.config_store()
            && let Ok(config) = store.current().map(|c| c.value)
        {
            for p in &config.problems {
                findings.push(Finding::warning(format!("{}: {p}", store.location())));
            }
            check_config_order(self, &selected, &config, &mut findings);
        }
        if fix {
            for f in findings.iter_mut() {
                if let Some(x) = f.fix.clone() {
                    f.fixed = Some(self.apply_fix(&x).map_err(store_of)?);
                }
            }
        }
        let ok = !findings
            .iter()
            .any(|f| f.severity == Severity::Error && f.fixed.is_none());
        Ok(DoctorReport {
            state_dir,
            findings,
            ok,
        })
    }

    /// Which provider keys a daemon sees, from where, and what the login shell import did.
    fn check_daemon_env(&self) -> Vec<Finding> {
        let providers: Vec<ProviderId> = crate::interpreter::models::WELL_KNOWN
            .iter()
            .filter_map(|p| ProviderId::new(p).ok())
            .collect();
        let env = self.env();
        let found: Vec<String> = crate::config::Env::key_names(&providers)
            .into_iter()
            .filter_map(|k| env.source_of(&k).map(|s| format!("{k} from {s}")))
            .collect();
        let seen = if found.is_empty() {
            "no provider keys in the environment".to_owned()
        } else {
            format!("provider keys: {}", found.join(", "))
        };
        let mut out = Vec::new();
        match self.shell_env_import() {
            None => out.push(Finding::info(format!(
                "{seen}. A daemon (systemd, launchd) sees only the environment its unit gives it and <state>/.env, not what your login shell exports; set env.shellEnv.enabled: true in openclaw.json to import the missing keys from it"
            ))),
            Some(import) => {
                let shell = import.shell.as_ref().map_or("the login shell".to_owned(), |s| s.display().to_string());
                out.push(Finding::info(format!("{seen} (env.shellEnv is on: keys missing from the environment are imported from {shell})")));
                if let Some(e) = &import.error {
                    out.push(Finding::warning(format!(
                        "importing from {shell} failed: {e}; a daemon will not see the keys it exports (put them in <state>/.env instead)"
                    )));
                }
            }
        }
        out
    }

    /// Which backend holds the routing state, and whether the shared server answers now.
    fn check_shared(&self) -> Finding {
        let Some(link) = self.shared_link() else {
            return Finding::info(
                "routing state (pins, cooldowns, orders): this host's files; to share it with other gateway instances use --redis URL or MODELAUTH_REDIS_URL".to_owned(),
            );
        };
        let s = link.settings();
        match link.ping() {
            Ok(()) => Finding::info(format!(
                "routing state (pins, cooldowns, orders): shared through Redis at {} (prefix {}), reachable; credentials stay in this host's store",
                s.display_url(),
                s.prefix
            )),
            Err(e) => Finding::error(format!(
                "{e}; this instance serves from its last known state and writes back what it records when the server returns ({} change(s) kept)",
                link.health().pending
            )),
        }
    }

    /// Applies one repair; returns what it did.
    fn apply_fix(&self, fix: &Fix) -> Result<String, AgentError> {
        match fix {
            Fix::Chmod(path, was, want) => {
                // Re-checked without following links: a link planted meanwhile is left alone.
                let meta = std::fs::symlink_metadata(path).map_err(|source| StoreError::Read {
                    path: path.clone(),
                    source,
                })?;
                if meta.file_type().is_symlink() {
                    return Ok(format!(
                        "not fixed: {} became a symbolic link",
                        path.display()
                    ));
                }
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(*want)).map_err(
                    |source| StoreError::Write {
                        path: path.clone(),
                        source,
                    },
                )?;
                Ok(format!(
                    "{}: mode was {was:o}, now {want:o}",
                    path.display()
                ))
            }
            Fix::RemoveStaleLock(path) => {
                let stale_after = crate::store::lock::LockOptions::default().stale_after;
                Ok(if crate::store::lock::remove_stale(path, stale_after)? {
                    format!("{}: removed the stale lock", path.display())
                } else {
                    format!("{}: not removed, the lock is held again", path.display())
                })
            }
            Fix::DropOrderEntries(agent, provider, ids) => {
                let agent = self.agent(agent.as_str()).map_err(|e| match e {
                    GatewayError::Store(e) => AgentError::Store(e),
                    other => AgentError::Store(StoreError::Conflict {
                        path: PathBuf::from(agent.as_str()),
                        what: other.to_string(),
                    }),
                })?;
                let current = agent
                    .store()?
                    .order
                    .get(provider)
                    .cloned()
                    .unwrap_or_default();
                let kept: Vec<String> = current.into_iter().filter(|i| !ids.contains(i)).collect();
                if kept.is_empty() {
                    agent.clear_order(provider.as_str())?;
                } else {
                    agent.profiles().set_order(provider, Some(&kept))?;
                }
                Ok(format!(
                    "agent {}: removed {} from the order of {provider}",
                    agent.id(),
                    ids.join(", ")
                ))
            }
        }
    }
}

/// A repair error as a gateway error.
fn store_of(e: AgentError) -> GatewayError {
    match e {
        AgentError::Store(e) => GatewayError::Store(e),
        other => GatewayError::Store(StoreError::Conflict {
            path: PathBuf::from("doctor --fix"),
            what: other.to_string(),
        }),
    }
}

/// Modes and readability of the files of a state directory.
fn check_files(state: &StateDir, selected: &AgentId, out: &mut Vec<Finding>) {
    let root = state.root();
    if !root.exists() {
        out.push(Finding::warning(format!(
            "state directory {} does not exist yet",
            root.display()
        )));
        return;
    }
    let owner = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(root).ok().map(|m| m.uid())
    };
    check_mode(root, DIR_MODE, None, out);
    match state.config_file_followed() {
        Ok(config) => {
            if let Some(link) = config.link() {
                out.push(Finding::info(format!(
                    "{} is a symbolic link to {}; modelauth reads it and writes the target in place (the link stays)",
                    link.display(),
                    config.path().display()
                )));
            }
            check_mode(config.path(), FILE_MODE, owner, out);
            check_lock(config.path(), out);
            if let Err(e) = config.load() {
                out.push(Finding::error(e.to_string()));
            }
        }
        Err(e) => out.push(Finding::error(e.to_string())),
    }
    check_mode(&state.dotenv_path(), FILE_MODE, owner, out);
    // `serve`'s bearer token: private, and long enough to be a secret.
    let token = root.join("modelauth.token");
    check_mode(&token, FILE_MODE, owner, out);
    if let Ok(text) = std::fs::read_to_string(&token)
        && text.trim().len() < 32
    {
        out.push(Finding::error(format!(
            "{} holds a token shorter than 32 characters; delete it and start modelauth serve again to have a strong one generated",
            token.display()
        )));
    }
    for agent in agent_ids(state, selected) {
        for dir in [state.agent_dir(&agent), state.sessions_dir(&agent)] {
            check_mode(&dir, DIR_MODE, owner, out);
        }
        let auth = crate::backend::json::AuthFile::new(state.auth_path(&agent));
        let sessions = crate::backend::json::SessionsFile::new(state.sessions_path(&agent));
        check_mode(auth.path(), FILE_MODE, owner, out);
        check_mode(sessions.path(), FILE_MODE, owner, out);
        check_lock(auth.path(), out);
        check_lock(sessions.path(), out);
        if let Err(e) = sessions.load_document() {
            out.push(Finding::error(e.to_string()));
        }
    }
}

/// A lock file left beside `path`: held by a live writer (warning), or stale (repairable).
fn check_lock(path: &Path, out: &mut Vec<Finding>) {
    let lock = crate::store::lock::lock_path(path);
    check_mode(&lock, FILE_MODE, None, out);
    let stale_after = crate::store::lock::LockOptions::default().stale_after;
    match crate::store::lock::inspect(path, stale_after) {
        None => {}
        Some((holder, true)) => out.push(Finding::new(
            Severity::Error,
            format!(
                "{} is a stale lock ({holder}); OpenClaw and modelauth wait on it until it is removed",
                lock.display()
            ),
            Some(Fix::RemoveStaleLock(path.to_owned())),
        )),
        Some((holder, false)) => out.push(Finding::warning(format!(
            "{} is held by {holder}; if that process is hung, stop it (writes wait for it)",
            lock.display()
        ))),
    }
}

/// The agents to check: the selected one plus every directory under `agents/`.
fn agent_ids(state: &StateDir, selected: &AgentId) -> Vec<AgentId> {
    let mut ids = vec![selected.clone()];
    if let Ok(dir) = std::fs::read_dir(state.root().join("agents")) {
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

/// Config `auth.order` entries that nothing defines.
fn check_config_order(g: &Gateway, selected: &AgentId, config: &Config, out: &mut Vec<Finding>) {
    let store = g.agent(selected.as_str()).ok().and_then(|a| a.store().ok());
    for (provider, ids) in &config.auth_order {
        for id in ids
            .iter()
            .filter(|id| !config.auth_profiles.contains_key(*id))
        {
            if store.as_ref().is_some_and(|s| !s.profiles.contains_key(id)) {
                out.push(Finding::warning(format!(
                    "config auth.order.{provider} names {id}, which no store or auth.profiles entry defines; edit the config"
                )));
            }
        }
    }
}

/// One OAuth login's refresh token, by fingerprint: (agent, profile id, fingerprint).
type RefreshCopy = (AgentId, String, String);

/// The refresh-token fingerprints of agent `agent`'s OAuth logins.
fn refresh_fingerprints(agent: &AgentId, store: &AuthProfiles) -> Vec<RefreshCopy> {
    store
        .profiles
        .values()
        .filter_map(|p| {
            let r = p.refresh.as_ref().filter(|r| !r.is_blank())?;
            Some((agent.clone(), p.id.clone(), r.fingerprint()))
        })
        .collect()
}

/// Finds one refresh token held in several places: each refresh rotates it and invalidates the other
/// copies (`refresh_token_reused`). With `inherited` (OpenClaw's SQLite generation, where every agent
/// sees the main agent's credentials), the same profile id seen by several agents is one credential.
fn check_refresh_copies(copies: &[RefreshCopy], inherited: bool, out: &mut Vec<Finding>) {
    let mut by_token: std::collections::BTreeMap<&str, Vec<&RefreshCopy>> = Default::default();
    for c in copies {
        by_token.entry(c.2.as_str()).or_default().push(c);
    }
    for holders in by_token.values() {
        let mut places: Vec<&RefreshCopy> = Vec::new();
        for h in holders {
            if !(inherited && places.iter().any(|p| p.1 == h.1)) {
                places.push(h);
            }
        }
        if places.len() < 2 {
            continue;
        }
        let names: Vec<String> = places
            .iter()
            .map(|(agent, id, _)| format!("{id} (agent {agent})"))
            .collect();
        let (keep_agent, keep_id, _) = places[0];
        let provider = keep_id.split_once(':').map_or(keep_id.as_str(), |(p, _)| p);
        out.push(Finding::error(format!(
            "one OAuth refresh token is stored {} times: {}; a refresh by one rotates it and the others fail with refresh_token_reused. Keep it in one place ({keep_id} of agent {keep_agent}) and give each other agent its own login (modelauth models auth login --provider {provider} --agent <agent>) or remove the copies (modelauth models auth remove <id> --agent <agent>)",
            places.len(),
            names.join(", ")
        )));
    }
}

/// A provider whose explicit order leaves out the only healthy profiles (`models status` says the
/// same, with the command that fixes it).
fn check_outside_order(id: &AgentId, agent: &super::Agent, out: &mut Vec<Finding>) {
    let Ok(status) = agent.status() else {
        return;
    };
    for p in status
        .providers
        .iter()
        .filter(|p| p.order_leaves_out_the_healthy)
    {
        if let Some(problem) = &p.problem {
            out.push(Finding::warning(format!(
                "agent {id}, {}: {problem}",
                p.provider
            )));
        }
    }
}

//! [`Agent::probe`]: `models status --probe` (issue 30). Tier 0 is local (what the status view
//! knows: expiry, a missing credential, a reference that does not resolve, an order that leaves the
//! profile out); tier 1 asks the provider with an unbilled check ([`crate::probe`]), at most
//! `concurrency` at once, each bounded by `timeout`, never retried.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::interpreter::status::State;
use crate::probe::{self, Verdict};
use crate::store::ProviderId;

use super::agent::{Agent, AgentError};
use super::probe_types::Job;
pub use super::probe_types::{ProbeOptions, ProbeReport, ProbeResult, ProviderProbe};
use super::status::Status;

impl Agent {
    /// Probes the agent's profiles (those of `opts.provider`, or `opts.profile` alone): tier 0 for
    /// every one, tier 1 where the provider has an unbilled check and the profile could be used.
    /// Returns within about `opts.timeout` per `opts.concurrency` profiles; a hung endpoint never
    /// holds it past one timeout. Nothing is recorded.
    pub fn probe(&self, opts: &ProbeOptions) -> Result<ProbeReport, AgentError> {
        let status = self.status()?;
        let store = self.store()?;
        let config = self.config()?;
        let (mut results, mut jobs) = self.plan(&status, &store, &config, opts);
        super::probe_models::add(&mut results, &mut jobs, &status, opts);
        let now = self.now_ms();
        let cache = self.state_dir().map(super::probe_cache::path_in);
        if let (Some(path), Some(age)) = (&cache, opts.max_age) {
            reuse(&mut results, &mut jobs, path, self.id().as_str(), now, age);
        }
        let probed: Vec<usize> = jobs
            .iter()
            .filter(|j| j.model.is_none())
            .map(|j| j.at)
            .collect();
        let asked: Vec<usize> = jobs.iter().map(|j| j.at).collect();
        run_jobs(&mut results, jobs, opts, now);
        if opts.record {
            self.record_probes(&results, &asked);
        }
        if let Some(path) = &cache {
            let fresh: Vec<(String, super::probe_cache::LastProbe)> = probed
                .iter()
                .map(|&i| (results[i].profile.clone(), last_of(&results[i])))
                .collect();
            if let Err(e) = super::probe_cache::write(path, self.id().as_str(), &fresh) {
                tracing::warn!("probe results not kept: {e}");
            }
        }
        let chosen_failed = results.iter().any(|r| r.chosen && !r.ok && r.tier >= 1);
        let mut providers: Vec<ProviderProbe> = Vec::new();
        for r in results.iter().filter(|r| r.model.is_none()) {
            let i = match providers.iter().position(|p| p.provider == r.provider) {
                Some(i) => i,
                None => {
                    providers.push(ProviderProbe {
                        provider: r.provider.clone(),
                        ok: 0,
                        failed: 0,
                    });
                    providers.len() - 1
                }
            };
            if r.ok {
                providers[i].ok += 1
            } else {
                providers[i].failed += 1
            }
        }
        let check = if chosen_failed { 1 } else { status.check };
        Ok(ProbeReport {
            results,
            providers,
            check,
        })
    }

    /// Tier 0 for each selected profile, and the tier-1 probes to make.
    fn plan(
        &self,
        status: &Status,
        store: &crate::store::AuthProfiles,
        config: &crate::config::Config,
        opts: &ProbeOptions,
    ) -> (Vec<ProbeResult>, Vec<Job>) {
        let (mut results, mut jobs) = (Vec::new(), Vec::new());
        for p in &status.providers {
            if opts
                .provider
                .as_deref()
                .is_some_and(|want| want != p.provider)
            {
                continue;
            }
            let chosen = p.source.as_deref().and_then(|s| s.strip_prefix("profile "));
            let base = ProviderId::new(&p.provider)
                .ok()
                .and_then(|id| config.providers.get(&id))
                .and_then(|c| c.base_url.clone());
            let env_name = format!(
                "MODELAUTH_{}_BASE_URL",
                p.provider.to_ascii_uppercase().replace('-', "_")
            );
            let env_base = self.env().get_plain(&env_name).map(str::to_owned);
            let endpoint = probe::endpoint(&p.provider, base.as_deref(), env_base.as_deref());
            for st in &p.profiles {
                if opts.profile.as_deref().is_some_and(|want| want != st.id) {
                    continue;
                }
                let local = if p.outside_order.contains(&st.id) {
                    Some("excluded_by_auth_order")
                } else {
                    local_reason(st.state, st.problem.as_deref())
                };
                let mut r = ProbeResult {
                    profile: st.id.clone(),
                    model: None,
                    provider: p.provider.clone(),
                    tier: 0,
                    ok: local.is_none(),
                    reason: local.unwrap_or("ok").to_owned(),
                    http_status: None,
                    until_ms: None,
                    hint: None,
                    chosen: chosen == Some(st.id.as_str()),
                    elapsed_ms: 0,
                    at: self.now_ms(),
                    cached: false,
                };
                let stored = store.profiles.get(&st.id);
                match (&endpoint, local, stored) {
                    (Some(e), None, Some(profile)) => match self.secret_of(profile, config) {
                        Some(secret) => jobs.push(Job {
                            at: results.len(),
                            endpoint: e.clone(),
                            kind: profile.kind,
                            secret,
                            model: None,
                        }),
                        None => (r.ok, r.reason) = (false, "unresolved_ref".to_owned()),
                    },
                    (None, None, _) => r.reason = "no_probe".to_owned(),
                    _ => {}
                }
                results.push(r);
            }
        }
        (results, jobs)
    }
}

/// Takes from the cache at `path` the tier-1 results younger than `age`, dropping their jobs.
fn reuse(
    results: &mut [ProbeResult],
    jobs: &mut Vec<Job>,
    path: &std::path::Path,
    agent: &str,
    now: i64,
    age: Duration,
) {
    let last = super::probe_cache::read(path, agent);
    let age_ms = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
    jobs.retain(|j| {
        let r = &mut results[j.at];
        match last
            .get(&r.profile)
            .filter(|p| p.tier == 1 && now.saturating_sub(p.at) < age_ms)
        {
            Some(p) => {
                (r.tier, r.ok, r.reason, r.http_status) =
                    (1, p.ok, p.reason.clone(), p.http_status);
                (r.at, r.cached) = (p.at, true);
                false
            }
            None => true,
        }
    });
}

/// What the cache keeps of a result.
fn last_of(r: &ProbeResult) -> super::probe_cache::LastProbe {
    super::probe_cache::LastProbe {
        at: r.at,
        tier: r.tier,
        ok: r.ok,
        reason: r.reason.clone(),
        http_status: r.http_status,
    }
}

/// The tier-0 reason of a profile in `state` (an unreadable one with `problem`), `None` when it may be
/// probed.
fn local_reason(state: State, problem: Option<&str>) -> Option<&'static str> {
    match state {
        State::Invalid if problem.is_some_and(|p| p.contains("\"expires\"")) => {
            Some("invalid_expires")
        }
        State::Ok | State::Expiring | State::Cooldown | State::Disabled => None,
        State::Missing => Some("missing_credential"),
        State::Expired | State::Reauth => Some("expired"),
        State::Invalid => Some("ineligible_profile"),
        State::Unresolved => Some("unresolved_ref"),
        State::Refreshing => Some("refreshing"),
    }
}

/// Runs `jobs` on at most `opts.concurrency` threads, writing each verdict into `results`.
fn run_jobs(results: &mut [ProbeResult], jobs: Vec<Job>, opts: &ProbeOptions, now_ms: i64) {
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<(usize, Verdict, u64)>> = Mutex::new(Vec::with_capacity(jobs.len()));
    let workers = opts.concurrency.clamp(1, 64).min(jobs.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    #[allow(
                        clippy::disallowed_methods,
                        reason = "a probe's elapsed time is real time"
                    )]
                    let started = std::time::Instant::now();
                    let model = job.model.as_deref().map(|m| (m, opts.max_tokens));
                    let verdict = probe::check(
                        &job.endpoint,
                        (job.kind, &job.secret),
                        model,
                        opts.timeout,
                        now_ms,
                    );
                    let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                    out.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((job.at, verdict, ms));
                }
            });
        }
    });
    for (at, verdict, ms) in out.into_inner().unwrap_or_else(|e| e.into_inner()) {
        let r = &mut results[at];
        (r.tier, r.elapsed_ms) = (if r.model.is_some() { 2 } else { 1 }, ms);
        match verdict {
            Verdict::Ok { status } => (r.ok, r.http_status) = (true, Some(status)),
            Verdict::Refused {
                status,
                reason,
                until_ms,
            } => {
                (r.ok, r.http_status, r.until_ms) = (false, Some(status), until_ms);
                r.reason = reason.as_str().to_owned();
                let claude_code = reason == crate::store::FailureReason::AuthPermanent
                    && r.provider == "anthropic";
                r.hint = claude_code.then_some(crate::resolver::AUTH_PERMANENT_HINT);
            }
            Verdict::Timeout => (r.ok, r.reason) = (false, "timeout".to_owned()),
            Verdict::Network(_) => (r.ok, r.reason) = (false, "network".to_owned()),
        }
    }
}

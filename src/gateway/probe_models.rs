//! Tier 2 of the probes (issue 30): a one-token request per model — `--probe-model` with each probed
//! profile of the model's provider, `--probe-chain` along the default model and its fallbacks with
//! the profile the resolver would choose for each — and `--probe-record`.

use crate::resolver::Outcome;
use crate::store::FailureReason;

use super::agent::Agent;
use super::probe_types::{Job, ProbeOptions, ProbeResult};
use super::status::Status;

/// `provider/model` split; a bare model is of `default`'s provider.
fn split<'a>(model: &'a str, default: &'a str) -> (&'a str, &'a str) {
    match model.split_once('/') {
        Some((p, m)) => (p, m),
        None => (
            default.split_once('/').map_or("anthropic", |(p, _)| p),
            model,
        ),
    }
}

/// Adds the tier-2 probes `opts` asks for: a result (and a job where the profile can be asked) per
/// model and profile.
pub(super) fn add(
    results: &mut Vec<ProbeResult>,
    jobs: &mut Vec<Job>,
    status: &Status,
    opts: &ProbeOptions,
) {
    let mut wanted: Vec<(String, Option<String>)> = Vec::new(); // (model ref, only this profile)
    if let Some(m) = &opts.model {
        wanted.push((m.clone(), None));
    }
    if opts.chain {
        for m in std::iter::once(&status.default_model).chain(&status.fallbacks) {
            let (provider, _) = split(m, &status.default_model);
            let chosen = status
                .providers
                .iter()
                .find(|p| p.provider == provider)
                .and_then(|p| {
                    p.source
                        .as_deref()?
                        .strip_prefix("profile ")
                        .map(str::to_owned)
                });
            wanted.push((m.clone(), Some(chosen.unwrap_or_default())));
        }
    }
    for (model_ref, only) in wanted {
        let (provider, model) = split(&model_ref, &status.default_model);
        let full = format!("{provider}/{model}");
        let before = results.len();
        for i in 0..before {
            let r = &results[i];
            let wanted_here = match &only {
                Some(id) => &r.profile == id,
                None => r.provider == provider,
            };
            if r.provider != provider || r.model.is_some() || !wanted_here {
                continue;
            }
            let mut entry = r.clone();
            entry.model = Some(full.clone());
            entry.chosen = r.chosen || only.is_some();
            if let Some(job) = jobs.iter().find(|j| j.at == i && j.model.is_none()) {
                jobs.push(Job {
                    at: results.len(),
                    endpoint: job.endpoint.clone(),
                    kind: job.kind,
                    secret: job.secret.clone(),
                    model: Some(model.to_owned()),
                });
            }
            results.push(entry);
        }
        if only.as_deref() == Some("") || results.len() == before {
            results.push(missing(provider, &full));
        }
    }
}

/// The result for a model whose provider has no profile to ask.
fn missing(provider: &str, model: &str) -> ProbeResult {
    ProbeResult {
        profile: "-".to_owned(),
        model: Some(model.to_owned()),
        provider: provider.to_owned(),
        tier: 0,
        ok: false,
        reason: "missing_credential".to_owned(),
        http_status: None,
        until_ms: None,
        hint: None,
        chosen: true,
        elapsed_ms: 0,
        at: 0,
        cached: false,
    }
}

impl Agent {
    /// `--probe-record`: reports the network probes at `asked` into the routing state as real traffic
    /// would (a network error says nothing of the credential and is not recorded).
    pub(super) fn record_probes(&self, results: &[ProbeResult], asked: &[usize]) {
        for &i in asked {
            let r = &results[i];
            let model = r
                .model
                .as_deref()
                .and_then(|m| m.split_once('/'))
                .map(|(_, m)| m);
            let outcome = match r.reason.as_str() {
                _ if r.ok => Outcome::Success,
                "network" => continue,
                "timeout" => failure(FailureReason::Timeout, None, r.at),
                other => match FailureReason::parse(other) {
                    Some(reason) => failure(reason, r.until_ms, r.at),
                    None => continue,
                },
            };
            if let Err(e) = self.report(&r.profile, model, outcome) {
                tracing::warn!(profile = %r.profile, "probe outcome not recorded: {e}");
            }
        }
    }
}

/// A failure for `reason`, with the provider's end of a rate limit as its Retry-After.
fn failure(reason: FailureReason, until_ms: Option<i64>, at: i64) -> Outcome {
    Outcome::Failure {
        reason,
        retry_after_ms: until_ms.map(|u| u.saturating_sub(at).max(0)),
    }
}

//! `doctor` on secret references and OpenClaw's refresh fences: which references resolve now, how to
//! fix one that does not, and never a suggestion to store the plaintext beside a reference.

use super::Agent;
use super::finding::Finding;
use crate::store::{AgentId, AuthProfiles};

/// Findings about the references and fences of `agent`'s profiles.
pub(crate) fn check_refs(
    id: &AgentId,
    agent: &Agent,
    store: &AuthProfiles,
    out: &mut Vec<Finding>,
) {
    let Ok(config) = agent.config() else {
        return;
    };
    for p in store.profiles.values() {
        if let Some(f) = &p.fence {
            out.push(if f.is_pending() {
                Finding::warning(format!(
                    "agent {id}: {} is being refreshed by OpenClaw (its refresh fence is in the store); \
                     modelauth waits for that refresh and uses its result",
                    p.id
                ))
            } else {
                Finding::error(format!(
                    "agent {id}: OpenClaw's refresh of {} failed (a failed refresh fence is in the store); \
                     log in again: openclaw models auth login --provider {} (or modelauth models auth login --provider {})",
                    p.id, p.provider, p.provider
                ))
            });
        }
        let Some(r) = &p.secret_ref else { continue };
        match agent.resolve_ref_in(p, &config) {
            Some(Ok(_)) => out.push(Finding::info(format!(
                "agent {id}: {} uses the secret reference {r}, which resolves",
                p.id
            ))),
            Some(Err(e)) => out.push(Finding::error(format!(
                "agent {id}: {}: {e}. Fix the reference's source (set the variable, repair the file or \
                 command, or the provider under secrets.providers in openclaw.json); keep the key out of \
                 the store, the reference is what OpenClaw uses too",
                p.id
            ))),
            None => {}
        }
    }
}

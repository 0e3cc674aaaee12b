//! Rotated secrets behind references: a refused credential whose reference holds another secret now is
//! not held against the profile, and a disable earned by an old secret ends once the reference
//! resolves to a new one (compared by fingerprint, [`crate::Secret::fingerprint`]).

use super::{Agent, AgentError};
use crate::config::Config;
use crate::resolver::Outcome;
use crate::store::{AuthProfiles, FailureReason, Profile, ProviderId};

/// The verdict on a refusal of a referenced secret.
pub(super) enum Refusal {
    /// Not a refusal of a referenced secret: record as usual.
    Plain,
    /// The secret with this fingerprint was refused and is still the one the store holds.
    Held(String),
    /// The store holds another secret now: record nothing.
    Rotated,
}

fn is_refusal(outcome: &Outcome) -> bool {
    matches!(
        outcome,
        Outcome::Failure {
            reason: FailureReason::Auth | FailureReason::AuthPermanent,
            ..
        }
    )
}

impl Agent {
    /// For an auth-class failure of profile `id` holding a reference: reads the store again once
    /// (single flight) and compares it with the secret that was handed out. Blocks like a resolution.
    pub(super) fn refusal_of(&self, id: &str, outcome: &Outcome) -> Result<Refusal, AgentError> {
        if !is_refusal(outcome) {
            return Ok(Refusal::Plain);
        }
        let store = self.store()?;
        let Some(p) = store.profiles.get(id) else {
            return Ok(Refusal::Plain);
        };
        let Some(r) = &p.secret_ref else {
            return Ok(Refusal::Plain);
        };
        let config = self.config()?;
        let handed_out = match self.inner.refs.last(r) {
            Some(s) => s.fingerprint(),
            // Nothing handed out lately: the value read now is the one to hold against the profile.
            _ => match self.resolve_ref_in(p, &config) {
                Some(Ok(s)) => return Ok(Refusal::Held(s.fingerprint())),
                _ => return Ok(Refusal::Plain),
            },
        };
        let reread =
            self.with_ref_context(&config, |ctx| self.inner.refs.reread(r, ctx, &handed_out));
        Ok(match reread {
            Ok(now) if now.fingerprint() != handed_out => {
                tracing::info!(
                    profile = id,
                    "the refused secret was rotated; nothing recorded"
                );
                Refusal::Rotated
            }
            _ => Refusal::Held(handed_out),
        })
    }

    /// Ends the auth-class disables of `provider`'s profiles whose reference resolves to another
    /// secret than the one that earned them. With `blocking` false nothing is resolved here: a check
    /// that needs a resolution runs on a thread of its own and the next call sees its result.
    /// Returns whether something was ended.
    pub(super) fn end_rotated_disables(
        &self,
        store: &AuthProfiles,
        provider: &ProviderId,
        config: &Config,
        blocking: bool,
    ) -> Result<bool, AgentError> {
        let now = self.now_ms();
        let mut ended = false;
        for p in store.provider_profiles(provider) {
            let Some(fp) = disabled_by_secret(p, now) else {
                continue;
            };
            if !blocking {
                // Only when there is something to learn: no fresh value (at most once per cache
                // lifetime), or a fresh value that is another secret.
                let learn = match p
                    .secret_ref
                    .as_ref()
                    .and_then(|r| self.inner.refs.cached(r))
                {
                    None => true,
                    Some(Ok(s)) => s.fingerprint() != fp,
                    Some(Err(_)) => false,
                };
                if learn {
                    self.rotation_check_in_background(p.id.clone());
                }
                continue;
            }
            if let Some(Ok(s)) = self.resolve_ref_in(p, config)
                && s.fingerprint() != fp
            {
                let mut cleared = false;
                self.inner.profiles.edit(&mut |e| {
                    cleared = e.clear_rotated_refusal(&p.id, fp);
                    Ok(())
                })?;
                if cleared {
                    tracing::info!(profile = %p.id, "its secret was rotated: the disable is over");
                }
                ended |= cleared;
            }
        }
        Ok(ended)
    }

    /// [`Agent::end_rotated_disables`] for one profile on a thread of its own, unless one runs.
    fn rotation_check_in_background(&self, id: String) {
        self.in_background(format!("rotation:{id}"), move |agent| {
            let run = || -> Result<(), AgentError> {
                let store = agent.store()?;
                let config = agent.config()?;
                if let Some(p) = store.profiles.get(&id) {
                    agent.end_rotated_disables(&store, &p.provider, &config, true)?;
                }
                Ok(())
            };
            if let Err(e) = run() {
                tracing::debug!(profile = %id, "rotation check: {e}");
            }
        });
    }
}

/// The fingerprint of the secret that earned `p`'s active auth-class disable, for a profile holding a
/// reference.
fn disabled_by_secret(p: &Profile, now: i64) -> Option<&str> {
    p.secret_ref.as_ref()?;
    let u = p.usage.as_deref()?;
    u.refused_until(now)?;
    u.secret_fp.as_deref()
}

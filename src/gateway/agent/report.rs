//! [`Agent::report`] and [`Agent::report_answer`]: what happened when a profile was used, and what the
//! provider's answer said about its quota windows (issue 29).

use crate::backend::{AnswerRecord, Recording};
use crate::resolver::{Answer, Applied, Observed, Outcome, headers};

use super::rotation::Refusal;
use super::{Agent, AgentError};

impl Agent {
    /// Records the outcome of a request made with `profile` (for `model`).
    pub fn report(
        &self,
        profile: &str,
        model: Option<&str>,
        outcome: Outcome,
    ) -> Result<Applied, AgentError> {
        let secret_fp = match self.refusal_of(profile, &outcome)? {
            Refusal::Rotated => return Ok(Applied::SecretRotated),
            Refusal::Held(fp) => Some(fp),
            Refusal::Plain => None,
        };
        let recording = Recording {
            outcome,
            answer: None,
            secret_fp,
        };
        let now = self.now_ms();
        Ok(self
            .inner
            .profiles
            .record_answer(profile, model, &recording, now)?
            .0)
    }

    /// Records the outcome of a request made with `profile` (for `model`) with the provider's
    /// `answer`: its rate-limit headers (windows: utilization, remaining, reset, status) and its usage
    /// block go into the profile's quota record and ledger, shared like the rest of its usage. Pass
    /// every answer, successes too: that is how a profile close to its limit is moved behind one with
    /// headroom before it hits the wall. A rate limit whose window is exhausted cools the profile
    /// until the provider's own reset. Malformed header values are ignored and counted
    /// ([`Observed::ignored`]).
    pub fn report_answer(
        &self,
        profile: &str,
        model: Option<&str>,
        outcome: Outcome,
        answer: &Answer,
    ) -> Result<(Applied, Observed), AgentError> {
        let secret_fp = match self.refusal_of(profile, &outcome)? {
            Refusal::Rotated => return Ok((Applied::SecretRotated, Observed::default())),
            Refusal::Held(fp) => Some(fp),
            Refusal::Plain => None,
        };
        let now = self.now_ms();
        let pairs = answer.headers.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let parsed = headers::parse(pairs, now);
        let policy = &self.inner.policy;
        let kind = self.store()?.profiles.get(profile).map(|p| p.kind);
        let lane = match kind {
            Some(kind) => policy.lane_of(profile, kind),
            None => crate::store::Lane::Metered, // an unknown profile: the record refuses it
        };
        let recording = Recording {
            outcome,
            answer: Some(Box::new(AnswerRecord {
                parsed,
                usage: answer.usage,
                lane,
                max_reset_ms: policy.max_reset_ms,
            })),
            secret_fp,
        };
        Ok(self
            .inner
            .profiles
            .record_answer(profile, model, &recording, now)?)
    }
}

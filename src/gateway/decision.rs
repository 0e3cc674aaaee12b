//! [`Decision`]: what the agent runtime should do for its next model request.

use crate::resolver::{Candidate, Choice, LaneCrossing, OrderSource, Resolution, ResolveError};
use crate::store::{CredentialKind, Secret};

/// Why the candidates stand where they do: the resolver's full answer, without secrets.
#[derive(Debug, Clone)]
pub struct Explanation {
    /// Every candidate in order, the chosen one first, each with its place and problem.
    pub candidates: Vec<Candidate<'static>>,
    /// Where the candidate list came from.
    pub order_source: OrderSource,
    /// The choice bills another lane than the session's (opted in): say so to the user.
    pub crossing: Option<LaneCrossing>,
}

/// What to do for the next request of a provider. Match on it: only [`Decision::Ready`] carries a
/// credential, and an expired OAuth access token is never handed out as usable.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Send the request with `secret`.
    Ready {
        /// The chosen profile (`None` when a key from the environment or config was chosen).
        profile: Option<String>,
        /// `profile <id>`, `env: NAME` or `config`.
        source: String,
        /// The credential's kind (`None` for environment and config keys, which are API keys).
        kind: Option<CredentialKind>,
        /// The credential. Put it in the provider request only; never log it.
        secret: Secret,
        /// The reasoning.
        explanation: Explanation,
    },
    /// The chosen profile is an OAuth login whose access token has expired: refresh it (with the
    /// refresh token) before use, then ask again.
    NeedsRefresh {
        /// The profile to refresh.
        profile: String,
        /// The reasoning.
        explanation: Explanation,
    },
    /// The provider has no credential at all.
    NoCredentials {
        /// The provider.
        provider: String,
        /// What to do, e.g. which command to run or variable to set.
        hint: String,
    },
    /// Every usable profile is cooling down or disabled; retry at `until_ms` or use another provider.
    AllCooling {
        /// The provider.
        provider: String,
        /// When the first profile becomes usable, ms since the epoch.
        until_ms: i64,
        /// That profile.
        profile: String,
        /// The full message.
        message: String,
    },
    /// The session's lane (a subscription) is used up and only metered profiles are left: none is
    /// handed out without an opt-in. Tell the user what ran out, when it resets, how to opt in.
    LaneClosed {
        /// The provider.
        provider: String,
        /// The profile of the session's lane that frees first.
        profile: String,
        /// When it frees, ms since the epoch.
        until_ms: i64,
        /// The metered profile an opt-in would use.
        metered: String,
        /// The full message.
        message: String,
    },
    /// Profiles exist but none can be used (expired, no key, a pinned profile that cannot work).
    Unusable {
        /// The provider.
        provider: String,
        /// The full message, naming each profile and why.
        message: String,
    },
}

impl Decision {
    /// The answer for a resolution whose chosen OAuth login was just refreshed (or is still valid):
    /// ready with `secret`, whatever the resolver said of its old expiry.
    pub(crate) fn ready(r: Resolution<'static>, secret: Secret) -> Decision {
        Decision::answer(r, Some(secret), false)
    }

    /// The answer for a resolution whose chosen OAuth login must be refreshed before use.
    pub(crate) fn needs_refresh(r: Resolution<'static>) -> Decision {
        Decision::answer(r, None, true)
    }

    /// The answer for a resolution, with the secret of the chosen stored profile.
    pub(crate) fn from_resolution(r: Resolution<'static>, stored: Option<Secret>) -> Decision {
        let refresh = matches!(r.choice, Choice::Profile(i) if r.candidates[i].needs_refresh);
        Decision::answer(r, stored, refresh)
    }

    /// The answer for a resolution: [`Decision::NeedsRefresh`] when `refresh`, else ready with `stored`.
    fn answer(r: Resolution<'static>, stored: Option<Secret>, refresh: bool) -> Decision {
        let explanation = |r: Resolution<'static>| Explanation {
            candidates: r.candidates,
            order_source: r.order_source,
            crossing: r.crossing,
        };
        match &r.choice {
            Choice::Key { source, secret } => Decision::Ready {
                profile: None,
                source: source.clone(),
                kind: None,
                secret: secret.clone(),
                explanation: explanation(r.clone()),
            },
            Choice::Profile(i) => {
                let chosen = &r.candidates[*i];
                let profile = chosen.id.to_string();
                let kind = chosen.kind;
                if refresh {
                    return Decision::NeedsRefresh {
                        profile,
                        explanation: explanation(r),
                    };
                }
                match stored {
                    Some(secret) => Decision::Ready {
                        // Not `format!`: this is on every resolve's path.
                        source: ["profile ", profile.as_str()].concat(),
                        profile: Some(profile),
                        kind,
                        secret,
                        explanation: explanation(r),
                    },
                    None => Decision::Unusable {
                        message: format!("profile {profile} holds no credential"),
                        provider: String::new(),
                    },
                }
            }
        }
    }

    /// The answer when the resolver found nothing to use.
    pub(crate) fn from_error(e: ResolveError) -> Decision {
        let message = e.to_string();
        match e {
            ResolveError::NoCredentials { provider, .. } => Decision::NoCredentials {
                provider,
                hint: message,
            },
            ResolveError::AllCooling {
                provider,
                until_ms,
                id,
                ..
            } => Decision::AllCooling {
                provider,
                until_ms,
                profile: id,
                message,
            },
            ResolveError::NoneUsable { provider, .. } => Decision::Unusable { provider, message },
            ResolveError::LaneClosed {
                provider,
                id,
                until_ms,
                metered,
                ..
            } => Decision::LaneClosed {
                provider,
                profile: id,
                until_ms,
                metered,
                message,
            },
            ResolveError::PinnedUnusable { .. } => Decision::Unusable {
                provider: String::new(),
                message,
            },
        }
    }

    /// The chosen profile of a [`Decision::Ready`] or [`Decision::NeedsRefresh`].
    pub fn profile(&self) -> Option<&str> {
        match self {
            Decision::Ready { profile, .. } => profile.as_deref(),
            Decision::NeedsRefresh { profile, .. } => Some(profile),
            _ => None,
        }
    }

    /// The credential of a [`Decision::Ready`].
    pub fn secret(&self) -> Option<&Secret> {
        match self {
            Decision::Ready { secret, .. } => Some(secret),
            _ => None,
        }
    }

    /// The reasoning, when candidates were considered.
    pub fn explanation(&self) -> Option<&Explanation> {
        match self {
            Decision::Ready { explanation, .. } | Decision::NeedsRefresh { explanation, .. } => {
                Some(explanation)
            }
            _ => None,
        }
    }

    /// The message of a decision that carries no credential.
    pub fn problem(&self) -> Option<&str> {
        match self {
            Decision::Ready { .. } | Decision::NeedsRefresh { .. } => None,
            Decision::NoCredentials { hint, .. } => Some(hint),
            Decision::AllCooling { message, .. }
            | Decision::Unusable { message, .. }
            | Decision::LaneClosed { message, .. } => Some(message),
        }
    }
}

impl Explanation {
    /// The candidates as the `resolve` JSON documents show them (CLI and server): an array of
    /// `{id, type, usable, place, problem, blockedUntil, lane, pastThreshold}`. Serialize it where a document needs them;
    /// it writes straight to the output, with no intermediate `Value`.
    pub fn candidates_json(&self) -> CandidatesJson<'_> {
        CandidatesJson(&self.candidates)
    }
}

/// [`Explanation::candidates_json`]: serializes a candidate list without copying it.
#[derive(Debug, Clone, Copy)]
pub struct CandidatesJson<'a>(&'a [Candidate<'static>]);

impl CandidatesJson<'_> {
    /// Appends the array to `out` (what `serve` writes into its answer).
    pub fn write(&self, out: &mut Vec<u8>) {
        out.push(b'[');
        for (i, c) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let mut o = super::json_out::Obj::new(out);
            o.str("id", &c.id)
                .opt_str("type", c.kind.map(|k| k.as_str()))
                .bool("usable", c.usable)
                .reason("place", Some(&c.place))
                .reason("problem", c.problem.as_ref())
                .opt_i64(
                    "blockedUntil",
                    (c.blocked_until > 0).then_some(c.blocked_until),
                )
                .str("lane", c.lane.as_str())
                .bool("pastThreshold", c.low);
            o.end();
        }
        out.push(b']');
    }
}

impl serde::Serialize for CandidatesJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = Vec::with_capacity(256 * self.0.len());
        self.write(&mut out);
        let text = String::from_utf8(out).map_err(serde::ser::Error::custom)?;
        serde_json::value::RawValue::from_string(text)
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }
}

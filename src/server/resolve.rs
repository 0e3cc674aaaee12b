//! `POST /v1/agents/{agent}/resolve`: the profile to use next, every candidate with its reasons, and
//! the credential only when asked for. This is the hot call of a gateway, so the answer is serialized
//! straight from the [`Decision`], with no intermediate JSON tree.

use std::time::Instant;

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

use super::body::Body;
use super::error::ApiError;
use super::state::{AppState, with_agent, with_agent_fast};
use crate::Decision;
use crate::gateway::json_out::Obj;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct ResolveIn {
    session: Option<String>,
    provider: String,
    model: Option<String>,
    #[serde(default)]
    include_secret: bool,
    /// The session's kind (`cron`, `group`, …), for the lane policy.
    session_kind: Option<String>,
    /// Opt in to a metered profile when the session's subscription lane is used up.
    #[serde(default)]
    allow_metered: bool,
}

impl ResolveIn {
    /// The lane options of the request.
    fn lanes(&self) -> crate::Lanes<'_> {
        crate::Lanes {
            session_kind: self.session_kind.as_deref(),
            allow_metered: self.allow_metered,
        }
    }
}

/// The handler: the cached answer in place; a login due for a refresh on the blocking pool (a token
/// endpoint may take seconds).
pub(super) async fn resolve(
    State(s): State<AppState>,
    Path(agent): Path<String>,
    Body(r): Body<ResolveIn>,
) -> Result<Response, ApiError> {
    answer(&s, agent, r).await
}

/// The answer to request `r` for agent `agent` (the route's handler and the direct path of
/// [`super::direct`] both end here).
pub(super) async fn answer(
    s: &AppState,
    agent: String,
    r: ResolveIn,
) -> Result<Response, ApiError> {
    #[allow(
        clippy::disallowed_methods,
        reason = "a latency metric measures real elapsed time"
    )]
    let started = Instant::now();
    let r = std::sync::Arc::new(r);
    let ask = std::sync::Arc::clone(&r);
    let cached = with_agent_fast(s, &agent, move |a| {
        let lanes = ask.lanes();
        a.next_cached_in_lane(
            ask.session.as_deref(),
            &ask.provider,
            ask.model.as_deref(),
            lanes,
        )
    })
    .await?;
    let d = if matches!(cached, Decision::NeedsRefresh { .. }) {
        // Not kept across the wait: the future of the common path stays small.
        drop(cached);
        let ask = std::sync::Arc::clone(&r);
        // Boxed, as the rare path: see `with_agent_fast`.
        Box::pin(with_agent(s, agent, move |a| {
            let lanes = ask.lanes();
            Ok(a.next_in_lane(
                ask.session.as_deref(),
                &ask.provider,
                ask.model.as_deref(),
                lanes,
            )?)
        }))
        .await?
    } else {
        cached
    };
    let body = Answer {
        d: &d,
        provider: &r.provider,
        model: r.model.as_deref(),
        include_secret: r.include_secret,
    }
    .write();
    let out = super::body::json_bytes(body);
    s.metrics.observe_resolve(started.elapsed());
    Ok(out)
}

/// The answer document: `provider, model, profile, candidates, orderSource, decision`, then what the
/// decision carries (`source, type[, secret]` when ready; `message` and for `allCooling` `untilMs`).
struct Answer<'a> {
    d: &'a Decision,
    provider: &'a str,
    model: Option<&'a str>,
    include_secret: bool,
}

impl Answer<'_> {
    /// The document's text, written straight from the decision (the hot path of a gateway).
    fn write(&self) -> Vec<u8> {
        let d = self.d;
        let mut out = Vec::with_capacity(768);
        let mut m = Obj::new(&mut out);
        m.str("provider", self.provider)
            .opt_str("model", self.model)
            .opt_str("profile", d.profile());
        let candidates = m.key("candidates");
        match d.explanation() {
            Some(e) => e.candidates_json().write(candidates),
            None => candidates.extend_from_slice(b"[]"),
        }
        m.opt_str(
            "orderSource",
            d.explanation().map(|e| e.order_source.as_str()),
        );
        if let Some(c) = d.explanation().and_then(|e| e.crossing) {
            let mut o = Obj::new(m.key("laneCrossing"));
            o.str("from", c.from.as_str()).str("to", c.to.as_str());
            o.end();
        }
        self.decision(&mut m);
        m.end();
        out
    }

    /// `decision` and what it carries.
    fn decision(&self, m: &mut Obj<'_>) {
        match self.d {
            Decision::Ready {
                source,
                kind,
                secret,
                ..
            } => {
                m.str("decision", "ready")
                    .str("source", source)
                    .opt_str("type", kind.map(|k| k.as_str()));
                if self.include_secret {
                    m.str("secret", secret.expose_secret());
                }
            }
            Decision::NeedsRefresh { .. } => {
                m.str("decision", "needsRefresh");
            }
            Decision::NoCredentials { hint, .. } => {
                m.str("decision", "noCredentials").str("message", hint);
            }
            Decision::AllCooling {
                until_ms, message, ..
            } => {
                m.str("decision", "allCooling")
                    .opt_i64("untilMs", Some(*until_ms))
                    .str("message", message);
            }
            Decision::LaneClosed {
                profile,
                until_ms,
                metered,
                message,
                ..
            } => {
                m.str("decision", "laneClosed")
                    .str("exhausted", profile)
                    .opt_i64("untilMs", Some(*until_ms))
                    .str("metered", metered)
                    .str("optIn", "allowMetered")
                    .str("message", message);
            }
            other => {
                m.str("decision", "unusable")
                    .opt_str("message", other.problem());
            }
        }
    }
}

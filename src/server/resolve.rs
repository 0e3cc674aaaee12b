//! `POST /v1/agents/{agent}/resolve`: the profile to use next, every candidate with its reasons, and
//! the credential only when asked for. This is the hot call of a gateway, so the answer is serialized
//! straight from the [`Decision`], with no intermediate JSON tree.

use std::time::Instant;

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use serde::ser::{Serialize, SerializeMap, Serializer};

use super::body::{Body, json_response};
use super::error::ApiError;
use super::state::{AppState, with_agent, with_agent_fast};
use crate::Decision;

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
    #[allow(
        clippy::disallowed_methods,
        reason = "a latency metric measures real elapsed time"
    )]
    let started = Instant::now();
    let r = std::sync::Arc::new(r);
    let ask = std::sync::Arc::clone(&r);
    let cached = with_agent_fast(&s, agent.clone(), move |a| {
        let lanes = ask.lanes();
        a.next_cached_in_lane(
            ask.session.as_deref(),
            &ask.provider,
            ask.model.as_deref(),
            lanes,
        )
    })
    .await?;
    let d = match cached {
        Decision::NeedsRefresh { .. } => {
            let ask = std::sync::Arc::clone(&r);
            with_agent(&s, agent, move |a| {
                let lanes = ask.lanes();
                Ok(a.next_in_lane(
                    ask.session.as_deref(),
                    &ask.provider,
                    ask.model.as_deref(),
                    lanes,
                )?)
            })
            .await?
        }
        ready => ready,
    };
    let out = json_response(&Answer {
        d: &d,
        provider: &r.provider,
        model: r.model.as_deref(),
        include_secret: r.include_secret,
    });
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

impl Serialize for Answer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.d;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("provider", self.provider)?;
        m.serialize_entry("model", &self.model)?;
        m.serialize_entry("profile", &d.profile())?;
        match d.explanation() {
            Some(e) => m.serialize_entry("candidates", &e.candidates_json())?,
            None => m.serialize_entry("candidates", &[(); 0])?,
        }
        m.serialize_entry(
            "orderSource",
            &d.explanation().map(|e| e.order_source.as_str()),
        )?;
        if let Some(c) = d.explanation().and_then(|e| e.crossing) {
            m.serialize_entry(
                "laneCrossing",
                &serde_json::json!({ "from": c.from.as_str(), "to": c.to.as_str() }),
            )?;
        }
        match d {
            Decision::Ready {
                source,
                kind,
                secret,
                ..
            } => {
                m.serialize_entry("decision", "ready")?;
                m.serialize_entry("source", source)?;
                m.serialize_entry("type", &kind.map(|k| k.as_str()))?;
                if self.include_secret {
                    m.serialize_entry("secret", secret.expose_secret())?;
                }
            }
            Decision::NeedsRefresh { .. } => m.serialize_entry("decision", "needsRefresh")?,
            Decision::NoCredentials { hint, .. } => {
                m.serialize_entry("decision", "noCredentials")?;
                m.serialize_entry("message", hint)?;
            }
            Decision::AllCooling {
                until_ms, message, ..
            } => {
                m.serialize_entry("decision", "allCooling")?;
                m.serialize_entry("untilMs", until_ms)?;
                m.serialize_entry("message", message)?;
            }
            Decision::LaneClosed {
                profile,
                until_ms,
                metered,
                message,
                ..
            } => {
                m.serialize_entry("decision", "laneClosed")?;
                m.serialize_entry("exhausted", profile)?;
                m.serialize_entry("untilMs", until_ms)?;
                m.serialize_entry("metered", metered)?;
                m.serialize_entry("optIn", "allowMetered")?;
                m.serialize_entry("message", message)?;
            }
            other => {
                m.serialize_entry("decision", "unusable")?;
                m.serialize_entry("message", &other.problem())?;
            }
        }
        m.end()
    }
}

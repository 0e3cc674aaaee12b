//! API v1: small handlers over the [`Gateway`]/[`Agent`](crate::Agent) API. JSON in and out, `camelCase` field
//! names everywhere, unknown fields refused (400 naming the field). Reads (`resolve`, `status`, a message
//! without `/`) are answered in place; calls that may wait on a file lock, a SQLite transaction or a
//! token endpoint run on the blocking pool.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use crate::{FailureReason, Gateway, Outcome, classify};

pub use super::body::Body;
use super::body::json_response;
pub use super::state::AppState;
use super::state::{with_agent, with_agent_fast};

/// The routes of API v1 (method, path), as the OpenAPI document lists them.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("get", "/v1/openapi.json"),
    ("post", "/v1/agents/{agent}/messages"),
    ("post", "/v1/agents/{agent}/resolve"),
    ("post", "/v1/agents/{agent}/outcomes"),
    ("get", "/v1/agents/{agent}/status"),
    ("post", "/v1/agents/{agent}/probe"),
    ("get", "/v1/agents/{agent}/order/{provider}"),
    ("put", "/v1/agents/{agent}/order/{provider}"),
    ("delete", "/v1/agents/{agent}/order/{provider}"),
    ("get", "/v1/agents/{agent}/sessions/{session}"),
];

/// The OpenAPI 3.1 document of this API.
pub const OPENAPI: &str = include_str!("../../docs/openapi.json");

/// The router (without authentication: [`super::Server::run`] adds the token check on TCP).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/healthz",
            routing::get(|| async { Json(json!({"ok": true})) }),
        )
        .route("/metrics", routing::get(metrics))
        .route(
            "/v1/openapi.json",
            routing::get(|| async {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    OPENAPI,
                )
            }),
        )
        .route("/v1/agents/{agent}/messages", routing::post(messages))
        .route(
            "/v1/agents/{agent}/resolve",
            routing::post(super::resolve::resolve),
        )
        .route("/v1/agents/{agent}/outcomes", routing::post(outcomes))
        .route("/v1/agents/{agent}/status", routing::get(status))
        .route(
            "/v1/agents/{agent}/probe",
            routing::post(super::probe::probe),
        )
        .route(
            "/v1/agents/{agent}/order/{provider}",
            routing::get(order_get).put(order_put).delete(order_delete),
        )
        .route(
            "/v1/agents/{agent}/sessions/{session}",
            routing::get(session),
        )
        .fallback(|| async {
            ApiError::not_found("no_route", "no such route; see GET /v1/openapi.json")
        })
        .layer(axum::extract::DefaultBodyLimit::max(super::BODY_LIMIT))
        .with_state(state)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MessageIn {
    session: String,
    text: String,
}

async fn messages(
    State(s): State<AppState>,
    Path(agent): Path<String>,
    Body(m): Body<MessageIn>,
) -> Result<Response, ApiError> {
    // Only a directive (which needs a `/`) can write: plain chat text is answered in place.
    let out = if m.text.contains('/') {
        with_agent(&s, agent, move |a| Ok(a.chat(&m.session, &m.text)?)).await?
    } else {
        with_agent_fast(&s, &agent, move |a| a.chat(&m.session, &m.text)).await?
    };
    Ok(json_response(&out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct OutcomeIn {
    profile: String,
    model: Option<String>,
    outcome: String,
    retry_after_s: Option<u64>,
    status: Option<u16>,
    body: Option<String>,
    /// The provider's response headers (names in any case).
    headers: Option<serde_json::Map<String, Value>>,
    /// The answer's usage block (`input`, `output`, `cacheRead`, `cacheWrite`, or the provider's
    /// own names).
    usage: Option<Value>,
}

impl OutcomeIn {
    /// The provider's answer, when headers or usage were sent (values that are not text or numbers
    /// are ignored and counted).
    fn answer(&self) -> Option<(crate::Answer, u32)> {
        if self.headers.is_none() && self.usage.is_none() {
            return None;
        }
        let (headers, ignored) = crate::Answer::headers_from_json(self.headers.as_ref());
        let answer = crate::Answer {
            status: self.status,
            headers,
            usage: self.usage.as_ref().and_then(crate::Answer::usage_from_json),
        };
        Some((answer, ignored))
    }
}

/// `success`, a failure reason (`rate_limit`, …), or `failure` (classified from `status` and `body`).
fn outcome_of(o: &OutcomeIn) -> Result<Outcome, ApiError> {
    let retry_after_ms = o
        .retry_after_s
        .map(|s| i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX));
    let reason = match o.outcome.as_str() {
        "success" => return Ok(Outcome::Success),
        "failure" => classify(o.status, o.body.as_deref().unwrap_or("")),
        name => FailureReason::parse(name).ok_or_else(|| {
            ApiError::bad_request(
                "bad_field",
                format!(
                    "outcome: {name:?} is not success, failure or one of {}",
                    crate::store::FAILURE_REASONS
                        .map(FailureReason::as_str)
                        .join(", ")
                ),
            )
        })?,
    };
    Ok(Outcome::Failure {
        reason,
        retry_after_ms,
    })
}

async fn outcomes(
    State(s): State<AppState>,
    Path(agent): Path<String>,
    Body(o): Body<OutcomeIn>,
) -> Result<Response, ApiError> {
    let outcome = outcome_of(&o)?;
    let out = with_agent(&s, agent, move |a| {
        let (applied, observed) = match o.answer() {
            Some((answer, ignored)) => {
                let (applied, mut seen) =
                    a.report_answer(&o.profile, o.model.as_deref(), outcome, &answer)?;
                seen.ignored = seen.ignored.saturating_add(ignored);
                (applied, Some(seen))
            }
            None => (a.report(&o.profile, o.model.as_deref(), outcome)?, None),
        };
        let (applied, until) = applied.wire();
        let state = a
            .profile_states(None)?
            .into_iter()
            .find(|p| p.id == o.profile);
        let mut out =
            json!({ "profile": o.profile, "applied": applied, "untilMs": until, "state": state });
        if let Some(seen) = observed {
            out["windows"] = json!(seen.windows);
            out["ignoredHeaders"] = json!(seen.ignored);
            out["providerReset"] = json!(seen.provider_reset);
        }
        Ok(out)
    })
    .await?;
    Ok(json_response(&out))
}

async fn status(
    State(s): State<AppState>,
    Path(agent): Path<String>,
) -> Result<Response, ApiError> {
    // Resolving secret references and every provider's order: never on the answering thread.
    let out = with_agent(&s, agent, |a| Ok(a.status()?)).await?;
    Ok(json_response(&out))
}

fn order_json(provider: &str, v: &crate::OrderView) -> Value {
    json!({ "provider": provider, "override": v.override_ids, "config": v.config_ids })
}

async fn order_get(
    State(s): State<AppState>,
    Path((agent, provider)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let out = with_agent(&s, agent, move |a| {
        Ok(order_json(&provider, &a.order(&provider)?))
    })
    .await?;
    Ok(json_response(&out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct OrderIn {
    profiles: Vec<String>,
}

async fn order_put(
    State(s): State<AppState>,
    Path((agent, provider)): Path<(String, String)>,
    Body(o): Body<OrderIn>,
) -> Result<Response, ApiError> {
    // The CLI's rule: an order names at least one profile; DELETE drops the override.
    if o.profiles.is_empty() {
        return Err(ApiError::bad_request(
            "empty_order",
            "an order names at least one profile; to drop the override send DELETE to this route",
        ));
    }
    let out = with_agent(&s, agent, move |a| {
        a.set_order(&provider, &o.profiles)?;
        Ok(order_json(&provider, &a.order(&provider)?))
    })
    .await?;
    Ok(json_response(&out))
}

async fn order_delete(
    State(s): State<AppState>,
    Path((agent, provider)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let out = with_agent(&s, agent, move |a| {
        let existed = a.clear_order(&provider)?;
        Ok(json!({ "provider": provider, "cleared": existed }))
    })
    .await?;
    Ok(json_response(&out))
}

async fn session(
    State(s): State<AppState>,
    Path((agent, key)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let out = with_agent(&s, agent, move |a| {
        a.session_view(&key)?
            .ok_or_else(|| ApiError::not_found("unknown_session", format!("no session {key:?}")))
    })
    .await?;
    Ok(json_response(&out))
}

async fn metrics(State(s): State<AppState>) -> Response {
    let mut text = s.metrics.render();
    let agents: Vec<String> = s.known.iter().map(|e| e.key().clone()).collect();
    let gateway = s.gateway.clone();
    let gauges = tokio::task::spawn_blocking(move || agent_gauges(&gateway, &agents))
        .await
        .unwrap_or_default();
    text.push_str(&gauges);
    (
        StatusCode::OK,
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        text,
    )
        .into_response()
}

/// Per-agent gauges: profiles cooling or disabled, and pins by source. The agent label is the agent id
/// (an operator's name from config or a directory, never a client's text: unknown agents are 404).
fn agent_gauges(gateway: &Gateway, agents: &[String]) -> String {
    let mut out = String::from(
        "# HELP modelauth_profiles_blocked Profiles in a cooldown or disabled window.\n# TYPE modelauth_profiles_blocked gauge\n",
    );
    let mut quota = String::from(super::metrics::QUOTA_HELP);
    let mut pins = String::from(
        "# HELP modelauth_session_pins Sessions in memory with a pin, by source.\n# TYPE modelauth_session_pins gauge\n",
    );
    for id in agents {
        let Ok(agent) = gateway.agent(id) else {
            continue;
        };
        if let Ok(states) = agent.profile_states(None) {
            quota.push_str(&super::metrics::quota_gauges(
                id,
                &states,
                agent.lane_crossings(),
            ));
            for (state, name) in [
                (crate::State::Cooldown, "cooldown"),
                (crate::State::Disabled, "disabled"),
            ] {
                let n = states.iter().filter(|p| p.state == state).count();
                out.push_str(&format!(
                    "modelauth_profiles_blocked{{agent=\"{id}\",state=\"{name}\"}} {n}\n"
                ));
            }
        }
        let (user, auto) = agent.pin_counts();
        pins.push_str(&format!("modelauth_session_pins{{agent=\"{id}\",source=\"user\"}} {user}\nmodelauth_session_pins{{agent=\"{id}\",source=\"auto\"}} {auto}\n"));
    }
    out + &pins + &quota
}

//! Probes (issue 30): does a credential work, asked of the provider without spending anything.
//!
//! Tier 1 is an unbilled authentication check: `GET {base}/v1/models` with the credential
//! (Anthropic and OpenAI list models for any valid key or token; listing is not billed). Each call is
//! bounded by the probe timeout (connect and whole exchange), reads at most [`BODY_LIMIT`] of the
//! answer, is never retried, and is classified with the failure classes of `report`.

use std::io::Read;
use std::time::Duration;

use crate::resolver::headers;
use crate::store::{CredentialKind, FailureReason, Secret};

/// The most of an answer a probe reads (a provider's error is far smaller; a huge body is cut).
pub const BODY_LIMIT: u64 = 64 * 1024;

/// Where and how a provider is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The URL probed at tier 1 (the model list).
    pub url: String,
    /// The URL of a one-token request at tier 2 (messages, chat completions).
    pub completion_url: String,
    /// The provider family (`anthropic`, `openai`), which sets the headers.
    pub family: Family,
}

/// The header conventions of a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `x-api-key` for keys; `Authorization: Bearer` with the OAuth beta header for tokens and logins.
    Anthropic,
    /// `Authorization: Bearer`.
    OpenAi,
}

/// The public endpoint of a provider family.
fn public_base(family: Family) -> &'static str {
    match family {
        Family::Anthropic => "https://api.anthropic.com",
        Family::OpenAi => "https://api.openai.com",
    }
}

/// The family of provider `id`, if modelauth knows an unbilled check for it.
pub fn family_of(provider: &str) -> Option<Family> {
    match provider {
        "anthropic" => Some(Family::Anthropic),
        "openai" => Some(Family::OpenAi),
        _ => None,
    }
}

/// The endpoint of `provider`: `models.providers.<provider>.baseUrl` when configured (as OpenClaw
/// does), else `MODELAUTH_<PROVIDER>_BASE_URL` (`env`), else the public endpoint.
pub fn endpoint(
    provider: &str,
    config_base: Option<&str>,
    env_base: Option<&str>,
) -> Option<Endpoint> {
    let family = family_of(provider)?;
    let base = config_base
        .or(env_base)
        .unwrap_or_else(|| public_base(family))
        .trim_end_matches('/');
    let v1 = if base.ends_with("/v1") {
        base.to_owned()
    } else {
        format!("{base}/v1")
    };
    let completion = match family {
        Family::Anthropic => "messages",
        Family::OpenAi => "chat/completions",
    };
    Some(Endpoint {
        url: format!("{v1}/models"),
        completion_url: format!("{v1}/{completion}"),
        family,
    })
}

/// What one tier-1 probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The provider accepted the credential.
    Ok {
        /// The HTTP status.
        status: u16,
    },
    /// The provider refused it, for `reason`.
    Refused {
        /// The HTTP status.
        status: u16,
        /// The failure class.
        reason: FailureReason,
        /// For a rate limit, when the provider said it ends, ms.
        until_ms: Option<i64>,
    },
    /// No answer within the timeout.
    Timeout,
    /// The endpoint could not be reached (the text names the cause, never a secret).
    Network(String),
}

/// Probes `endpoint` with `secret` of `kind`, bounded by `timeout`, at `now_ms`: tier 1 (the model
/// list) without `model`, tier 2 (a request for `max_tokens` output tokens of `model`) with it.
pub fn check(
    endpoint: &Endpoint,
    cred: (CredentialKind, &Secret),
    model: Option<(&str, u32)>,
    timeout: Duration,
    now_ms: i64,
) -> Verdict {
    let (kind, secret) = cred;
    let agent = crate::http::agent_for(&endpoint.url, timeout, timeout);
    let url = if model.is_some() {
        &endpoint.completion_url
    } else {
        &endpoint.url
    };
    let headers = auth_headers(endpoint.family, kind, secret);
    let sent = match model {
        None => {
            let mut req = agent.get(url);
            for (k, v) in &headers {
                req = req.header(*k, v.as_str());
            }
            req.call()
        }
        Some((model, max_tokens)) => {
            let mut req = agent.post(url).header("content-type", "application/json");
            for (k, v) in &headers {
                req = req.header(*k, v.as_str());
            }
            req.send(one_token_body(endpoint.family, model, max_tokens).as_bytes())
        }
    };
    match sent {
        Ok(resp) => verdict_of(resp, now_ms),
        Err(ureq::Error::Timeout(_)) => Verdict::Timeout,
        Err(e) => Verdict::Network(e.to_string()),
    }
}

/// The authentication headers of a credential of `kind` for `family`.
fn auth_headers(
    family: Family,
    kind: CredentialKind,
    secret: &Secret,
) -> Vec<(&'static str, String)> {
    let bearer = format!("Bearer {}", secret.expose_secret());
    match (family, kind) {
        (Family::Anthropic, CredentialKind::ApiKey) => vec![
            ("x-api-key", secret.expose_secret().to_owned()),
            ("anthropic-version", "2023-06-01".to_owned()),
        ],
        (Family::Anthropic, _) => vec![
            ("authorization", bearer),
            ("anthropic-version", "2023-06-01".to_owned()),
            ("anthropic-beta", "oauth-2025-04-20".to_owned()),
        ],
        (Family::OpenAi, _) => vec![("authorization", bearer)],
    }
}

/// The smallest request that exercises `model`: one user word, `max_tokens` of output.
fn one_token_body(family: Family, model: &str, max_tokens: u32) -> String {
    let messages = serde_json::json!([{ "role": "user", "content": "ping" }]);
    match family {
        Family::Anthropic => serde_json::json!({ "model": model, "max_tokens": max_tokens, "messages": messages }),
        Family::OpenAi => serde_json::json!({ "model": model, "max_completion_tokens": max_tokens, "messages": messages }),
    }
    .to_string()
}

/// Classifies an answer (at most [`BODY_LIMIT`] of its body is read).
fn verdict_of(mut resp: ureq::http::Response<ureq::Body>, now_ms: i64) -> Verdict {
    let status = resp.status().as_u16();
    let pairs: Vec<(String, String)> = resp
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let mut body = String::new();
    let read = resp
        .body_mut()
        .as_reader()
        .take(BODY_LIMIT)
        .read_to_string(&mut body);
    if let Err(e) = read
        && (200..300).contains(&status)
    {
        return if e.kind() == std::io::ErrorKind::TimedOut {
            Verdict::Timeout
        } else {
            Verdict::Network(e.to_string())
        };
    }
    if (200..300).contains(&status) {
        return Verdict::Ok { status };
    }
    let reason = crate::resolver::classify(Some(status), &body);
    let until_ms = (reason == FailureReason::RateLimit)
        .then(|| {
            let p = headers::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())), now_ms);
            let reset = p
                .windows
                .iter()
                .filter(|w| w.exhausted())
                .map(|w| w.reset_at)
                .max();
            reset.or_else(|| p.retry_after_ms.map(|ms| now_ms.saturating_add(ms)))
        })
        .flatten();
    Verdict::Refused {
        status,
        reason,
        until_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let e = endpoint("anthropic", None, None).unwrap();
        assert_eq!(e.url, "https://api.anthropic.com/v1/models");
        assert_eq!(e.completion_url, "https://api.anthropic.com/v1/messages");
        let e = endpoint("openai", Some("http://127.0.0.1:1/v1/"), Some("http://x")).unwrap();
        assert_eq!(
            e.url, "http://127.0.0.1:1/v1/models",
            "config wins, /v1 not doubled"
        );
        let e = endpoint("anthropic", None, Some("http://127.0.0.1:9")).unwrap();
        assert_eq!(e.url, "http://127.0.0.1:9/v1/models");
        assert_eq!(endpoint("ollama", None, None), None);
    }
}

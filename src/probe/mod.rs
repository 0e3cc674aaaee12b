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
    /// The URL probed.
    pub url: String,
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
    let url = if base.ends_with("/v1") {
        format!("{base}/models")
    } else {
        format!("{base}/v1/models")
    };
    Some(Endpoint { url, family })
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

/// Probes `endpoint` with `secret` of `kind`, bounded by `timeout`, at `now_ms`.
pub fn check(
    endpoint: &Endpoint,
    kind: CredentialKind,
    secret: &Secret,
    timeout: Duration,
    now_ms: i64,
) -> Verdict {
    let agent = agent_for(&endpoint.url, timeout);
    let mut req = agent.get(&endpoint.url);
    req = match (endpoint.family, kind) {
        (Family::Anthropic, CredentialKind::ApiKey) => req
            .header("x-api-key", secret.expose_secret())
            .header("anthropic-version", "2023-06-01"),
        (Family::Anthropic, _) => req
            .header(
                "authorization",
                &format!("Bearer {}", secret.expose_secret()),
            )
            .header("anthropic-version", "2023-06-01")
            .header("anthropic-beta", "oauth-2025-04-20"),
        (Family::OpenAi, _) => req.header(
            "authorization",
            &format!("Bearer {}", secret.expose_secret()),
        ),
    };
    let mut resp = match req.call() {
        Ok(r) => r,
        Err(ureq::Error::Timeout(_)) => return Verdict::Timeout,
        Err(e) => return Verdict::Network(e.to_string()),
    };
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

/// A ureq agent for one probe: the timeout bounds the connection and the whole exchange; no proxy
/// for loopback endpoints; HTTP errors are answers.
fn agent_for(url: &str, timeout: Duration) -> ureq::Agent {
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| url.starts_with(p));
    let mut config = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .timeout_connect(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(concat!("modelauth/", env!("CARGO_PKG_VERSION")));
    if loopback {
        config = config.proxy(None);
    }
    config.build().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let e = endpoint("anthropic", None, None).unwrap();
        assert_eq!(e.url, "https://api.anthropic.com/v1/models");
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

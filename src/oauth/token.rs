//! One call to a provider's token endpoint: the request in the provider's format, with a connect and a
//! whole-call timeout, and an answer that never carries a token into an error.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use super::providers::{BodyFormat, OAuthProvider};
use crate::store::Secret;

/// The largest token response read (1 MiB).
const BODY_LIMIT: u64 = 1 << 20;

/// What a token endpoint handed out.
#[derive(Debug)]
pub struct TokenSet {
    /// The new access token.
    pub access: Secret,
    /// The new refresh token when the server rotated it (else keep the old one).
    pub refresh: Option<Secret>,
    /// When the access token expires, ms since the epoch.
    pub expires_ms: i64,
    /// The account e-mail, when the answer names one.
    pub email: Option<String>,
}

/// Why a token request failed. No variant holds a token or a response body: only the provider, the
/// endpoint, the status and an error code from a fixed list.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// The endpoint refused the grant (400/401/403, `invalid_grant`, `refresh_token_reused`, …): the
    /// login is dead and only a new one helps.
    #[error(
        "{provider} token endpoint {url} refused the refresh token ({code}, HTTP {status}{}); log in again with `modelauth models auth login --provider {provider}`",
        said(description)
    )]
    Rejected {
        /// The provider.
        provider: String,
        /// The endpoint.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The OAuth error code (`invalid_grant`, …) or `rejected`.
        code: String,
        /// The provider's `error_description`: one line of at most 200 printable characters, with
        /// anything that looks like a secret removed.
        description: Option<String>,
    },
    /// The endpoint failed (5xx, 429): try again later.
    #[error("{provider} token endpoint {url} answered HTTP {status}; modelauth retries later")]
    Server {
        /// The provider.
        provider: String,
        /// The endpoint.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The endpoint could not be reached or did not answer in time.
    #[error(
        "{provider} token endpoint {url} could not be reached: {detail}; modelauth retries later"
    )]
    Network {
        /// The provider.
        provider: String,
        /// The endpoint.
        url: String,
        /// What went wrong (a timeout, a refused connection).
        detail: String,
    },
    /// A success answer without what it must hold.
    #[error("{provider} token endpoint {url} answered without {missing}; modelauth retries later")]
    BadResponse {
        /// The provider.
        provider: String,
        /// The endpoint.
        url: String,
        /// What was missing or malformed.
        missing: String,
    },
}

/// `: <description>` when the provider said something.
fn said(description: &Option<String>) -> String {
    description
        .as_ref()
        .map_or_else(String::new, |d| format!(": {d}"))
}

impl TokenError {
    /// The same failure worded for a login's code exchange (an authorization code, not a refresh
    /// token, and nothing retries a login).
    pub fn login_wording(&self) -> String {
        match self {
            TokenError::Rejected {
                provider,
                url,
                status,
                code,
                description,
            } => format!(
                "{provider} token endpoint {url} refused the authorization code ({code}, HTTP {status}{}); run the login again (a code works once and expires within minutes)",
                said(description)
            ),
            TokenError::Server {
                provider,
                url,
                status,
            } => format!(
                "{provider} token endpoint {url} answered HTTP {status}; run the login again in a moment"
            ),
            TokenError::Network {
                provider,
                url,
                detail,
            } => format!(
                "{provider} token endpoint {url} could not be reached: {detail}; check the network (or MODELAUTH_<PROVIDER>_TOKEN_URL) and run the login again"
            ),
            TokenError::BadResponse {
                provider,
                url,
                missing,
            } => format!(
                "{provider} token endpoint {url} answered without {missing}; run the login again"
            ),
        }
    }

    /// True when only a new login helps (the refresh token is dead).
    pub fn is_permanent(&self) -> bool {
        matches!(self, TokenError::Rejected { .. })
    }

    /// A short code for the status views: `invalid_grant`, `HTTP 503`, `network`, `bad_response`.
    pub fn code(&self) -> String {
        match self {
            TokenError::Rejected { code, .. } => code.clone(),
            TokenError::Server { status, .. } => format!("HTTP {status}"),
            TokenError::Network { .. } => "network".to_owned(),
            TokenError::BadResponse { .. } => "bad_response".to_owned(),
        }
    }
}

/// The OAuth error codes shown as they are; any other refusal is shown as `rejected`.
const KNOWN_CODES: [&str; 8] = [
    "invalid_grant",
    "invalid_request",
    "invalid_client",
    "unauthorized_client",
    "refresh_token_reused",
    "refresh_token_expired",
    "refresh_token_invalidated",
    "invalid_refresh_token",
];

/// POSTs `fields` to `url` in `provider`'s format and reads the token answer at `now_ms`. The whole
/// call, connect included, ends after `timeout`.
pub fn request(
    provider: &OAuthProvider,
    url: &str,
    fields: &[(&str, &str)],
    timeout: Duration,
    now_ms: i64,
) -> Result<TokenSet, TokenError> {
    let network = |detail: String| TokenError::Network {
        provider: provider.id.to_owned(),
        url: url.to_owned(),
        detail,
    };
    let agent = crate::http::agent_for(url, timeout, timeout.min(Duration::from_secs(5)));
    let request = agent.post(url).header("Accept", "application/json");
    let sent = match provider.format {
        BodyFormat::Json => {
            let body: serde_json::Map<String, Value> = fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
                .collect();
            request
                .header("Content-Type", "application/json")
                .send(Value::Object(body).to_string())
        }
        BodyFormat::Form => request.send_form(fields.iter().copied()),
    };
    let mut response = sent.map_err(|e| network(describe(&e)))?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .with_config()
        .limit(BODY_LIMIT)
        .read_to_string()
        .map_err(|e| network(describe(&e)))?;
    let text = zeroize::Zeroizing::new(text);
    if !(200..300).contains(&status) {
        return Err(refusal(provider, url, status, &text));
    }
    parse_tokens(provider, url, &text, now_ms)
}

/// A transport error as text (ureq's messages name the host and the cause, never a body).
fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "timed out".to_owned(),
        other => other.to_string(),
    }
}

/// The error for a non-2xx answer.
fn refusal(provider: &OAuthProvider, url: &str, status: u16, body: &str) -> TokenError {
    let code = error_code(body);
    let refused = matches!(status, 400 | 401 | 403)
        || code
            .as_deref()
            .is_some_and(|c| c == "invalid_grant" || c.starts_with("refresh_token"));
    if refused && status != 429 && status < 500 {
        TokenError::Rejected {
            provider: provider.id.to_owned(),
            url: url.to_owned(),
            status,
            code: code.unwrap_or_else(|| "rejected".to_owned()),
            description: description(body),
        }
    } else {
        TokenError::Server {
            provider: provider.id.to_owned(),
            url: url.to_owned(),
            status,
        }
    }
}

/// The `error_description` (or `error.message`) of an error body, made safe to show: one line, at
/// most 200 printable characters, secret-looking words removed.
fn description(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    let text = v
        .get("error_description")
        .and_then(Value::as_str)
        .or_else(|| v.get("error")?.get("message")?.as_str())?;
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    let line = crate::redact_secret_like(line.trim());
    (!line.is_empty()).then_some(line)
}

/// The OAuth `error` code of an error body (`{"error": "invalid_grant"}` or `{"error": {"code": …}}`),
/// when it is one of [`KNOWN_CODES`].
fn error_code(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    let code = match v.get("error")? {
        Value::String(s) => s.as_str(),
        Value::Object(o) => o.get("code").or_else(|| o.get("type"))?.as_str()?,
        _ => return None,
    };
    KNOWN_CODES
        .iter()
        .find(|k| k.eq_ignore_ascii_case(code))
        .map(|k| (*k).to_owned())
}

/// True for a token that can go into a header as it is: 1 to 16 KiB of visible ASCII.
fn token_shaped(t: &str) -> bool {
    !t.is_empty() && t.len() <= 16 * 1024 && t.bytes().all(|b| b.is_ascii_graphic())
}

/// Reads a success answer: `access_token`, optional `refresh_token`, `expires_in` seconds.
fn parse_tokens(
    provider: &OAuthProvider,
    url: &str,
    text: &str,
    now_ms: i64,
) -> Result<TokenSet, TokenError> {
    let bad = |missing: &str| TokenError::BadResponse {
        provider: provider.id.to_owned(),
        url: url.to_owned(),
        missing: missing.to_owned(),
    };
    let v: Value = serde_json::from_str(text).map_err(|_| bad("a JSON body"))?;
    let text_field = |name: &str| {
        v.get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
    };
    let access = text_field("access_token").ok_or_else(|| bad("access_token"))?;
    // A token goes into an HTTP header: control characters (header injection) or an absurd length
    // make the answer bad; the old token stays in use.
    if !token_shaped(access) {
        return Err(bad(
            "an access_token of printable characters, at most 16 KiB",
        ));
    }
    if text_field("refresh_token").is_some_and(|r| !token_shaped(r)) {
        return Err(bad(
            "a refresh_token of printable characters, at most 16 KiB",
        ));
    }
    let expires_in = v
        .get("expires_in")
        .and_then(|e| e.as_f64().or_else(|| e.as_str()?.parse().ok()))
        .filter(|s| s.is_finite() && *s > 0.0)
        .ok_or_else(|| bad("a positive expires_in"))?;
    let lifetime_ms = (expires_in * 1000.0).min(i64::MAX as f64 / 4.0) as i64;
    Ok(TokenSet {
        access: Secret::new(access),
        refresh: text_field("refresh_token").map(Secret::new),
        expires_ms: now_ms.saturating_add(lifetime_ms),
        email: email_of(&v),
    })
}

/// The account e-mail a token answer names: Anthropic's `account.email_address`, else the `email`
/// claim of an OpenID `id_token` (read, not verified: it only names the profile).
pub fn email_of(answer: &Value) -> Option<String> {
    if let Some(e) = answer
        .pointer("/account/email_address")
        .and_then(Value::as_str)
    {
        return Some(e.to_owned());
    }
    let id_token = answer.get("id_token")?.as_str()?;
    let payload = id_token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims
        .get("email")
        .and_then(Value::as_str)
        .filter(|e| e.contains('@'))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_error_codes_are_repeated() {
        assert_eq!(
            error_code(r#"{"error":"invalid_grant","error_description":"sk-ant-secret"}"#),
            Some("invalid_grant".to_owned())
        );
        assert_eq!(
            error_code(r#"{"error":{"code":"refresh_token_reused","message":"x"}}"#),
            Some("refresh_token_reused".to_owned())
        );
        assert_eq!(error_code(r#"{"error":"sk-ant-oat01-leak"}"#), None);
        assert_eq!(error_code("<html>"), None);
    }

    #[test]
    fn statuses_are_classified() {
        let p = &super::super::providers::PROVIDERS[0];
        assert!(refusal(p, "u", 400, r#"{"error":"invalid_grant"}"#).is_permanent());
        assert!(refusal(p, "u", 401, "").is_permanent());
        assert!(!refusal(p, "u", 500, r#"{"error":"invalid_grant"}"#).is_permanent());
        assert!(!refusal(p, "u", 429, "").is_permanent());
        assert!(!refusal(p, "u", 503, "").is_permanent());
    }

    #[test]
    fn a_refusals_description_is_one_safe_line() {
        let body = r#"{"error":"invalid_grant","error_description":"Invalid code sk-ant-api03-abcdefghijklmnop\nsee docs"}"#;
        assert_eq!(
            super::description(body).as_deref(),
            Some("Invalid code [REDACTED] see docs")
        );
        assert_eq!(super::description(r#"{"error":"x"}"#), None);
        let long = format!(r#"{{"error_description":"{}"}}"#, "a b ".repeat(200));
        assert!(super::description(&long).unwrap().chars().count() <= 200);
    }

    #[test]
    fn a_success_answer_needs_an_access_token_and_a_lifetime() {
        let p = &super::super::providers::PROVIDERS[1];
        let t = parse_tokens(
            p,
            "u",
            r#"{"access_token":"a1","refresh_token":"r2","expires_in":3600}"#,
            1_000,
        )
        .unwrap();
        assert_eq!(t.access.expose_secret(), "a1");
        assert_eq!(t.refresh.unwrap().expose_secret(), "r2");
        assert_eq!(t.expires_ms, 3_601_000);
        for bad in [
            r#"{"access_token":"a1\r\nX-Evil: 1","expires_in":3600}"#.to_owned(),
            format!(
                r#"{{"access_token":"{}","expires_in":3600}}"#,
                "a".repeat(900_000)
            ),
            r#"{"access_token":"a1","refresh_token":"r 2","expires_in":3600}"#.to_owned(),
        ] {
            assert!(parse_tokens(p, "u", &bad, 0).is_err(), "{}", &bad[..40]);
        }
        let e = parse_tokens(p, "u", r#"{"access_token":"a1"}"#, 0).unwrap_err();
        assert_eq!(e.code(), "bad_response");
        assert!(!e.to_string().contains("a1"));
    }
}

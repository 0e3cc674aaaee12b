//! The authorization-code + PKCE login: the verifier and challenge, the authorization URL, reading the
//! code from a redirect or a paste, and the code exchange.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::providers::{Endpoints, OAuthProvider};
use super::token::{self, TokenError, TokenSet};
use crate::store::Secret;

/// A PKCE pair (RFC 7636, S256) and the `state` of one login.
#[derive(Debug)]
pub struct LoginRequest {
    /// The verifier, sent with the code exchange only.
    pub verifier: Secret,
    /// `BASE64URL(SHA256(verifier))`, sent in the authorization URL.
    pub challenge: String,
    /// The anti-forgery state, echoed by the provider.
    pub state: String,
}

/// 32 bytes from the operating system's generator (two v4 UUIDs, 244 random bits).
fn random_bytes() -> [u8; 32] {
    let mut out = [0u8; 32];
    out[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    out[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    out
}

impl LoginRequest {
    /// A fresh verifier, challenge and state.
    pub fn new() -> LoginRequest {
        let verifier = URL_SAFE_NO_PAD.encode(random_bytes());
        let challenge = challenge_of(&verifier);
        let state = URL_SAFE_NO_PAD.encode(&random_bytes()[..16]);
        LoginRequest {
            verifier: Secret::new(verifier),
            challenge,
            state,
        }
    }

    /// The URL to open in a browser.
    pub fn authorize_url(&self, provider: &OAuthProvider, endpoints: &Endpoints) -> String {
        let mut params: Vec<(&str, &str)> = vec![
            ("response_type", "code"),
            ("client_id", provider.client_id),
            ("redirect_uri", &endpoints.redirect_uri),
            ("scope", provider.scopes),
            ("code_challenge", &self.challenge),
            ("code_challenge_method", "S256"),
            ("state", &self.state),
        ];
        params.extend_from_slice(provider.extra_authorize);
        let sep = if endpoints.authorize_url.contains('?') {
            '&'
        } else {
            '?'
        };
        format!("{}{sep}{}", endpoints.authorize_url, form_encode(&params))
    }

    /// Exchanges `code` for tokens at the token endpoint.
    pub fn exchange(
        &self,
        provider: &OAuthProvider,
        endpoints: &Endpoints,
        code: &str,
        timeout: Duration,
        now_ms: i64,
    ) -> Result<TokenSet, TokenError> {
        let mut fields = vec![
            ("grant_type", "authorization_code"),
            ("client_id", provider.client_id),
            ("code", code),
            ("redirect_uri", endpoints.redirect_uri.as_str()),
            ("code_verifier", self.verifier.expose_secret()),
        ];
        if provider.state_in_exchange {
            fields.push(("state", &self.state));
        }
        if let Some(secret) = provider.client_secret {
            fields.push(("client_secret", secret));
        }
        token::request(provider, &endpoints.token_url, &fields, timeout, now_ms)
    }
}

impl Default for LoginRequest {
    fn default() -> Self {
        LoginRequest::new()
    }
}

/// `BASE64URL(SHA256(verifier))` without padding.
pub fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// `application/x-www-form-urlencoded` of `pairs`.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes a percent-encoded query component (`+` is a space; a malformed escape is kept as it is).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match (bytes[i], escaped) {
            (_, Some(v)) => {
                out.push(v);
                i += 3;
                continue;
            }
            (b'+', None) => out.push(b' '),
            (other, None) => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of query parameter `name` in `query` (`a=1&b=2`).
pub fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k) == name).then(|| percent_decode(v))
    })
}

/// What a user pasted: a full redirect URL (`…?code=C&state=S`), Anthropic's `C#S`, or the bare code.
/// Returns the code and the state when one was given.
pub fn parse_pasted(input: &str) -> Option<(String, Option<String>)> {
    let input = input.trim();
    if input.is_empty() {
        return None;
    }
    if let Some((_, query)) = input.split_once('?') {
        let query = query.split('#').next().unwrap_or(query);
        let code = query_param(query, "code").filter(|c| !c.is_empty())?;
        return Some((code, query_param(query, "state")));
    }
    if let Some((code, state)) = input.split_once('#') {
        return Some((code.to_owned(), Some(state.to_owned())));
    }
    Some((input.to_owned(), None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_rfc_7636s() {
        // RFC 7636 appendix B.
        assert_eq!(
            challenge_of("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let r = LoginRequest::new();
        assert_eq!(r.verifier.expose_secret().len(), 43);
        assert_eq!(challenge_of(r.verifier.expose_secret()), r.challenge);
        assert_ne!(LoginRequest::new().state, r.state);
    }

    #[test]
    fn pasted_codes_in_every_shape() {
        assert_eq!(
            parse_pasted("http://localhost:1455/auth/callback?code=ab%2Fc&state=s1"),
            Some(("ab/c".to_owned(), Some("s1".to_owned())))
        );
        assert_eq!(
            parse_pasted(" abc#st \n"),
            Some(("abc".to_owned(), Some("st".to_owned())))
        );
        assert_eq!(parse_pasted("abc"), Some(("abc".to_owned(), None)));
        assert_eq!(parse_pasted("  "), None);
        assert_eq!(parse_pasted("http://x/cb?state=s"), None);
    }

    #[test]
    fn the_url_carries_the_challenge_and_encodes_scopes() {
        let p = &super::super::providers::PROVIDERS[2];
        let env = crate::config::Env::from_pairs::<String, String>([]);
        let r = LoginRequest::new();
        let url = r.authorize_url(p, &p.endpoints(&env));
        assert!(url.starts_with("https://accounts.google.com/o/oauth2/v2/auth?"));
        assert!(url.contains(&format!("code_challenge={}", r.challenge)));
        assert!(url.contains("scope=https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fcloud-platform%20"));
        assert!(url.contains("access_type=offline"));
        let query = url.split_once('?').unwrap().1;
        assert_eq!(query_param(query, "redirect_uri").unwrap(), p.redirect_uri);
    }

    #[test]
    fn emails_from_account_or_id_token() {
        let claims = URL_SAFE_NO_PAD.encode(br#"{"email":"me@example.com"}"#);
        let v = serde_json::json!({"id_token": format!("h.{claims}.s")});
        assert_eq!(token::email_of(&v).as_deref(), Some("me@example.com"));
        let v = serde_json::json!({"account": {"email_address": "a@b.c"}});
        assert_eq!(token::email_of(&v).as_deref(), Some("a@b.c"));
        assert_eq!(
            token::email_of(&serde_json::json!({"id_token": "garbage"})),
            None
        );
    }
}

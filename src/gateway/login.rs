//! [`Login`]: an OAuth login of one agent, from the authorization URL to the stored profile. The
//! caller shows the URL (and opens a browser), then hands over the code from the loopback redirect
//! ([`Login::wait_for_redirect`]) or from what the user pasted.

use std::net::TcpListener;
use std::time::Duration;

use super::agent::{Agent, AgentError};
use crate::oauth::callback::{self, Callback};
use crate::oauth::login::{LoginRequest, parse_pasted};
use crate::oauth::{Endpoints, OAuthProvider, TokenError, provider};
use crate::store::{CredentialKind, NewCredential, ProviderId};

/// Why a login failed. Holds no token or code.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The provider has no login modelauth knows.
    #[error("modelauth cannot log in to {provider}; it knows {known}")]
    UnknownProvider {
        /// The provider asked for.
        provider: String,
        /// The providers it knows.
        known: String,
    },
    /// The redirect or the pasted URL carried another login's state (a stale tab, or forgery).
    #[error("the login's state does not match (a stale browser tab?); run the login again")]
    StateMismatch,
    /// Nothing usable was pasted.
    #[error("no authorization code was given; paste the code or the whole redirect URL")]
    NoCode,
    /// The provider reported an error on the redirect.
    #[error("{provider} refused the login ({error}); run the login again")]
    Denied {
        /// The provider.
        provider: String,
        /// Its error code (`access_denied`, …).
        error: String,
    },
    /// The code exchange failed.
    #[error("{}", .0.login_wording())]
    Token(#[from] TokenError),
    /// Storing the new profile failed.
    #[error(transparent)]
    Agent(#[from] AgentError),
}

/// One login in progress. Its PKCE verifier never leaves it.
#[derive(Debug)]
pub struct Login {
    provider: &'static OAuthProvider,
    endpoints: Endpoints,
    request: LoginRequest,
    agent: Agent,
}

/// A stored login.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    /// The profile id it was stored as (`<provider>:<email>` or `<provider>:default`).
    pub profile: String,
    /// When its access token expires, ms.
    pub expires: i64,
    /// The account e-mail, when the provider named it.
    pub email: Option<String>,
}

impl Agent {
    /// Starts an OAuth login for `provider` (`anthropic`, `openai-codex`, `google-gemini-cli`); the
    /// endpoints honour `MODELAUTH_<PROVIDER>_{AUTHORIZE_URL,TOKEN_URL,REDIRECT_URI}`.
    pub fn begin_login(&self, provider_id: &str) -> Result<Login, LoginError> {
        let table = provider(provider_id).ok_or_else(|| LoginError::UnknownProvider {
            provider: provider_id.to_owned(),
            known: crate::oauth::providers::provider_names(),
        })?;
        Ok(Login {
            provider: table,
            endpoints: table.endpoints(self.env()),
            request: LoginRequest::new(),
            agent: self.clone(),
        })
    }
}

impl Login {
    /// The provider.
    pub fn provider(&self) -> &'static str {
        self.provider.id
    }

    /// The URL the user opens to log in.
    pub fn url(&self) -> String {
        self.request.authorize_url(self.provider, &self.endpoints)
    }

    /// The registered redirect URI.
    pub fn redirect_uri(&self) -> &str {
        &self.endpoints.redirect_uri
    }

    /// Listens where the redirect arrives, when it is a loopback address: `None` when the redirect
    /// goes elsewhere (then the code must be pasted) or the port cannot be bound (say so, then paste).
    pub fn listen(&self) -> Option<Result<TcpListener, std::io::Error>> {
        let (addr, _) = callback::loopback_of(&self.endpoints.redirect_uri)?;
        Some(TcpListener::bind(addr))
    }

    /// Waits up to `timeout` on `listener` for the redirect; `None` when it did not come.
    pub fn wait_for_redirect(
        &self,
        listener: &TcpListener,
        timeout: Duration,
    ) -> Option<Result<(String, Option<String>), LoginError>> {
        let (_, path) = callback::loopback_of(&self.endpoints.redirect_uri)?;
        Some(match callback::wait(listener, &path, timeout)? {
            Callback::Code { code, state } => Ok((code, state)),
            Callback::Denied(error) => Err(LoginError::Denied {
                provider: self.provider.id.to_owned(),
                error,
            }),
        })
    }

    /// Reads what the user pasted: the code, `code#state`, or the whole redirect URL.
    pub fn parse_pasted(input: &str) -> Result<(String, Option<String>), LoginError> {
        parse_pasted(input).ok_or(LoginError::NoCode)
    }

    /// Exchanges `code` (checking `state` when given), stores the login as `profile_id` (default
    /// `<provider>:<email>` when the provider names the account, else `<provider>:default`) in the
    /// agent's store and `auth.profiles` in config, like `models auth add`.
    pub fn finish(
        &self,
        code: &str,
        state: Option<&str>,
        profile_id: Option<&str>,
    ) -> Result<LoggedIn, LoginError> {
        let timeout = self.agent.oauth_timeout();
        if state.is_some_and(|s| s != self.request.state) {
            return Err(LoginError::StateMismatch);
        }
        let now = self.agent.now_ms();
        let tokens = self
            .request
            .exchange(self.provider, &self.endpoints, code, timeout, now)?;
        let profile = match (profile_id, &tokens.email) {
            (Some(id), _) => id.to_owned(),
            (None, Some(email)) => format!("{}:{email}", self.provider.id),
            (None, None) => format!("{}:default", self.provider.id),
        };
        let cred = NewCredential {
            provider: ProviderId::new(self.provider.id).map_err(AgentError::from)?,
            kind: CredentialKind::OAuth,
            secret: tokens.access,
            expires: Some(tokens.expires_ms),
            refresh: tokens.refresh,
            email: tokens.email.clone(),
            reference: None,
        };
        self.agent.add_credential(&profile, &cred)?;
        Ok(LoggedIn {
            profile,
            expires: tokens.expires_ms,
            email: tokens.email,
        })
    }
}

//! The OAuth providers modelauth can refresh and log into, in one table, with the environment overrides
//! that point an endpoint at a proxy or a test server.
//!
//! Values as the providers' own command-line clients use them (checked against OpenClaw 2026.9.6's
//! bundled login code and Google's gemini-cli): Anthropic's Claude subscription login and OpenAI's
//! Codex (ChatGPT) login are public PKCE clients; Google's installed-app client comes with a client
//! secret that Google documents as not secret for installed applications.

use crate::config::Env;

/// How a token endpoint wants its request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// `application/json`.
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
}

/// One provider's OAuth client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OAuthProvider {
    /// The provider id, as in profile ids (`anthropic`, `openai-codex`, `google-gemini-cli`).
    pub id: &'static str,
    /// Token endpoint (`grant_type=refresh_token` and `authorization_code`).
    pub token_url: &'static str,
    /// Authorization endpoint of the login flow.
    pub authorize_url: &'static str,
    /// The redirect URI registered for the client.
    pub redirect_uri: &'static str,
    /// The public client id.
    pub client_id: &'static str,
    /// The client secret of an installed-app client, when the provider requires one.
    pub client_secret: Option<&'static str>,
    /// Space-separated scopes asked for at login.
    pub scopes: &'static str,
    /// Request body format of the token endpoint.
    pub format: BodyFormat,
    /// Extra authorization-URL parameters the provider's own client sends.
    pub extra_authorize: &'static [(&'static str, &'static str)],
    /// Whether the token request repeats the `state` (Anthropic's endpoint wants it).
    pub state_in_exchange: bool,
}

/// Every provider whose OAuth logins modelauth refreshes.
pub const PROVIDERS: [OAuthProvider; 3] = [
    OAuthProvider {
        id: "anthropic",
        token_url: "https://platform.claude.com/v1/oauth/token",
        authorize_url: "https://claude.ai/oauth/authorize",
        redirect_uri: "http://localhost:53692/callback",
        client_id: "9d1c250a-e61b-44d9-88ed-5944d1962f5e",
        client_secret: None,
        scopes: "org:create_api_key user:profile user:inference user:sessions:claude_code",
        format: BodyFormat::Json,
        extra_authorize: &[("code", "true")],
        state_in_exchange: true,
    },
    OAuthProvider {
        id: "openai-codex",
        token_url: "https://auth.openai.com/oauth/token",
        authorize_url: "https://auth.openai.com/oauth/authorize",
        redirect_uri: "http://localhost:1455/auth/callback",
        client_id: "app_EMoamEEZ73f0CkXaXp7hrann",
        client_secret: None,
        scopes: "openid profile email offline_access",
        format: BodyFormat::Form,
        extra_authorize: &[
            ("id_token_add_organizations", "true"),
            ("codex_cli_simplified_flow", "true"),
            ("originator", "codex_cli_rs"),
        ],
        state_in_exchange: false,
    },
    OAuthProvider {
        id: "google-gemini-cli",
        token_url: "https://oauth2.googleapis.com/token",
        authorize_url: "https://accounts.google.com/o/oauth2/v2/auth",
        redirect_uri: "http://localhost:8085/oauth2callback",
        client_id: "681255809395-oo8ft2oprdrnp9e3aqf6av3hmdib135j.apps.googleusercontent.com",
        client_secret: Some("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"),
        scopes: "https://www.googleapis.com/auth/cloud-platform https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/userinfo.profile",
        format: BodyFormat::Form,
        extra_authorize: &[("access_type", "offline"), ("prompt", "consent")],
        state_in_exchange: false,
    },
];

/// The table entry of `provider`, if modelauth can refresh its logins.
pub fn provider(provider: &str) -> Option<&'static OAuthProvider> {
    PROVIDERS.iter().find(|p| p.id == provider)
}

/// The ids of [`PROVIDERS`], for messages (`anthropic, openai-codex, google-gemini-cli`).
pub fn provider_names() -> String {
    PROVIDERS.map(|p| p.id).join(", ")
}

/// The endpoints of one provider after the environment overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Token endpoint: `MODELAUTH_<PROVIDER>_TOKEN_URL` or the table's.
    pub token_url: String,
    /// Authorization endpoint: `MODELAUTH_<PROVIDER>_AUTHORIZE_URL` or the table's.
    pub authorize_url: String,
    /// Redirect URI: `MODELAUTH_<PROVIDER>_REDIRECT_URI` or the table's.
    pub redirect_uri: String,
}

impl OAuthProvider {
    /// The environment-variable stem of this provider: `MODELAUTH_OPENAI_CODEX`.
    pub fn env_stem(&self) -> String {
        format!(
            "MODELAUTH_{}",
            self.id.to_ascii_uppercase().replace(['-', '.'], "_")
        )
    }

    /// The endpoints to use, with the overrides of `env` applied.
    pub fn endpoints(&self, env: &Env) -> Endpoints {
        let stem = self.env_stem();
        let pick = |suffix: &str, default: &str| {
            env.get_plain(&format!("{stem}_{suffix}"))
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .unwrap_or(default)
                .to_owned()
        };
        Endpoints {
            token_url: pick("TOKEN_URL", self.token_url),
            authorize_url: pick("AUTHORIZE_URL", self.authorize_url),
            redirect_uri: pick("REDIRECT_URI", self.redirect_uri),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provider_is_found_and_has_an_override_stem() {
        for p in &PROVIDERS {
            assert_eq!(provider(p.id), Some(p));
            assert!(p.token_url.starts_with("https://"), "{}", p.id);
        }
        assert_eq!(
            provider("openai-codex").unwrap().env_stem(),
            "MODELAUTH_OPENAI_CODEX"
        );
        assert_eq!(provider("openai"), None);
    }

    #[test]
    fn an_override_replaces_only_its_endpoint() {
        let env = Env::from_pairs([(
            "MODELAUTH_GOOGLE_GEMINI_CLI_TOKEN_URL",
            "http://127.0.0.1:9/token",
        )]);
        let e = provider("google-gemini-cli").unwrap().endpoints(&env);
        assert_eq!(e.token_url, "http://127.0.0.1:9/token");
        assert_eq!(e.authorize_url, PROVIDERS[2].authorize_url);
    }
}

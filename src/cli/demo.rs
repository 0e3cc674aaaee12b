//! The demo state directory of `chat --demo`: a few providers, aliases, and four profiles with fake
//! keys, one cooling down and one expiring, built with the same safe writers as real state.

use std::path::Path;

use crate::config::StateDir;
use crate::store::{
    AgentId, CredentialKind, FailureReason, NewCredential, ProviderId, Secret, UsageStats,
};

use super::CliError;

/// The demo config (JSON5, as users write it).
const DEMO_CONFIG: &str = r#"{
  // modelauth demo configuration (JSON5: comments and unquoted keys are fine)
  agents: {
    defaults: {
      model: { primary: "anthropic/claude-opus-4-6", fallbacks: ["openai/gpt-5"] },
      models: {
        "anthropic/claude-opus-4-6": { alias: "opus" },
        "anthropic/claude-sonnet-4-5": { alias: "sonnet" },
        "openai/gpt-5": { alias: "gpt" },
        "openai/gpt-5-mini": {},
        "google/gemini-2.5-flash": { alias: "flash" },
      },
    },
    list: [{ id: "main", default: true }],
  },
  auth: {
    profiles: {
      "anthropic:work": { provider: "anthropic", mode: "api_key" },
      "anthropic:manual": { provider: "anthropic", mode: "token" },
      "anthropic:backup": { provider: "anthropic", mode: "api_key" },
      "openai:default": { provider: "openai", mode: "api_key" },
    },
  },
}
"#;

/// Writes the demo state into `root` (which must be empty) with times relative to `now`.
pub fn build(root: &Path, now: i64) -> Result<StateDir, CliError> {
    let state = StateDir::new(root);
    crate::store::atomic::ensure_dir(root)?;
    crate::store::atomic::replace(state.config_file().path(), DEMO_CONFIG.as_bytes())?;
    let agent = AgentId::main();
    let anthropic = ProviderId::new("anthropic")?;
    let openai = ProviderId::new("openai")?;
    let hour = 3_600_000;
    let creds = [
        (
            "anthropic:work",
            &anthropic,
            CredentialKind::ApiKey,
            "sk-ant-api03-DEMO-work-not-a-real-key",
            None,
        ),
        (
            "anthropic:manual",
            &anthropic,
            CredentialKind::Token,
            "sk-ant-oat01-DEMO-manual-not-a-real-token",
            Some(now + 20 * hour),
        ),
        (
            "anthropic:backup",
            &anthropic,
            CredentialKind::ApiKey,
            "sk-ant-api03-DEMO-backup-not-a-real-key",
            None,
        ),
        (
            "openai:default",
            &openai,
            CredentialKind::ApiKey,
            "sk-DEMO-openai-not-a-real-key",
            None,
        ),
    ];
    state.auth_file(&agent).update(|edit| {
        for (id, provider, kind, secret, expires) in &creds {
            let cred = NewCredential {
                provider: (*provider).clone(),
                kind: *kind,
                secret: Secret::new(*secret),
                expires: *expires,
            };
            edit.put_profile(id, &cred);
        }
        let cooling = UsageStats {
            last_used: now - 60_000,
            error_count: 3,
            cooldown_until: now + 4 * 60_000,
            cooldown_reason: Some(FailureReason::RateLimit),
            failure_counts: [(FailureReason::RateLimit, 3)].into_iter().collect(),
            last_failure_at: now - 60_000,
            ..UsageStats::default()
        };
        edit.set_usage("anthropic:backup", &cooling);
        edit.set_order(
            &anthropic,
            &[
                "anthropic:work".into(),
                "anthropic:backup".into(),
                "anthropic:manual".into(),
            ],
        );
        Ok::<_, CliError>(())
    })?;
    Ok(state)
}

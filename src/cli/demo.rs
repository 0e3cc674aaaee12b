//! The demo state of `chat --demo`, kept in memory: a few providers, aliases, and four profiles with
//! fake keys, one cooling down and one expiring. Nothing is written to disk.

use modelauth::{Env, Gateway};

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

/// The demo credential store (fake keys) with times relative to `now`: one profile cooling down, one
/// token expiring.
fn demo_store(now: i64) -> String {
    let hour = 3_600_000;
    serde_json::json!({
        "version": 1,
        "profiles": {
            "anthropic:work": { "type": "api_key", "provider": "anthropic", "key": "sk-ant-api03-DEMO-work-not-a-real-key" },
            "anthropic:manual": { "type": "token", "provider": "anthropic", "token": "sk-ant-oat01-DEMO-manual-not-a-real-token", "expires": now + 20 * hour },
            "anthropic:backup": { "type": "api_key", "provider": "anthropic", "key": "sk-ant-api03-DEMO-backup-not-a-real-key" },
            "openai:default": { "type": "api_key", "provider": "openai", "key": "sk-DEMO-openai-not-a-real-key" },
        },
        "order": { "anthropic": ["anthropic:work", "anthropic:backup", "anthropic:manual"] },
        "usageStats": {
            "anthropic:backup": {
                "lastUsed": now - 60_000,
                "errorCount": 3,
                "cooldownUntil": now + 4 * 60_000,
                "cooldownReason": "rate_limit",
                "failureCounts": { "rate_limit": 3 },
                "lastFailureAt": now - 60_000,
            },
        },
    })
    .to_string()
}

/// The demo gateway: config and credentials in memory, nothing written to disk.
pub fn gateway(now: i64) -> Result<Gateway, CliError> {
    Gateway::builder()
        .in_memory(DEMO_CONFIG, &[("main", &demo_store(now))])
        .and_then(|b| b.env(Env::default()).open())
        .map_err(super::context::gateway_err)
}

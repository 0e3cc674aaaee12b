//! How an agent runtime uses modelauth: open an agent, resolve a credential for a session, report a 429,
//! and resolve again to get the next profile. Runs on a throw-away state directory.
//!
//! `cargo run --example runtime`

use std::sync::Arc;

use modelauth::config::{Env, StateDir};
use modelauth::interpreter::Agent;
use modelauth::resolver::{Outcome, SystemClock, classify};
use modelauth::store::{AgentId, CredentialKind, NewCredential, ProviderId, Secret, StoreError};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A state directory with two Anthropic API keys (a real gateway points at ~/.openclaw instead).
    let dir = tempfile::tempdir()?;
    let state = StateDir::new(dir.path());
    let anthropic = ProviderId::new("anthropic")?;
    state.auth_file(&AgentId::main()).update(|edit| {
        for (id, key) in [
            ("anthropic:work", "sk-ant-api03-work"),
            ("anthropic:backup", "sk-ant-api03-backup"),
        ] {
            let cred = NewCredential {
                provider: anthropic.clone(),
                kind: CredentialKind::ApiKey,
                secret: Secret::new(key),
                expires: None,
            };
            edit.put_profile(id, &cred);
        }
        Ok::<_, StoreError>(())
    })?;

    // The runtime's part: a few lines.
    let agent = Agent::open(
        state,
        AgentId::main(),
        Env::process(),
        Arc::new(SystemClock),
    )?;
    let session = "agent:main:telegram:12345";
    let first = agent.resolve(Some(session), &anthropic, Some("claude-opus-4-6"))?;
    println!(
        "use {} ({})",
        first.profile().unwrap_or("-"),
        first.resolution.source_label()
    );
    let _header = first.secret().map(Secret::expose_secret); // goes into the request, nowhere else

    let reason = classify(Some(429), "rate limited");
    agent.report(
        first.profile().unwrap_or_default(),
        Some("claude-opus-4-6"),
        Outcome::Failure {
            reason,
            retry_after_ms: None,
        },
    )?;

    let next = agent.resolve(Some(session), &anthropic, Some("claude-opus-4-6"))?;
    println!("after a 429: use {}", next.profile().unwrap_or("-"));
    for c in &next.resolution.candidates {
        println!(
            "  {} — {}{}",
            c.id,
            c.place,
            c.problem
                .as_ref()
                .map(|p| format!("; {p}"))
                .unwrap_or_default()
        );
    }
    agent.sessions().flush()?;
    Ok(())
}
